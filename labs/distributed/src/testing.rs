//! Small helpers that labs' public tests, the hidden suites and the benchmarks share.

use std::sync::Arc;

use crate::rng::lab_seed;
use crate::storage::{Entry, Index, Term};
use crate::vfs::{FsRef, SimFs};

/// A proptest configuration seeded from [`lab_seed`], so a property test finds the same
/// cases every run and `LAB_SEED` replays a failure. `PROPTEST_CASES` still overrides `cases`.
pub fn proptest_config(default_seed: u64, cases: u32) -> proptest::test_runner::Config {
    let seed = lab_seed(default_seed);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    proptest::test_runner::Config {
        cases,
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// A fresh simulated disk as the `FsRef` labs take, and the `SimFs` to crash it with.
pub fn sim_disk(seed: u64) -> (SimFs, FsRef) {
    let sim = SimFs::new(seed);
    let fs: FsRef = Arc::new(sim.clone());
    (sim, fs)
}

/// Entries `first..=last` in `term`, each carrying data that names its index and term, so a
/// misplaced entry is visible in a failure message.
pub fn entries(first: Index, last: Index, term: Term) -> Vec<Entry> {
    (first..=last).map(|index| Entry::new(index, term, payload(index, term, 16))).collect()
}

/// `len` bytes of data that begin with `"i{index}t{term}:"` and are filled deterministically.
pub fn payload(index: Index, term: Term, len: usize) -> Vec<u8> {
    let mut data = format!("i{index}t{term}:").into_bytes();
    let mut x = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ term;
    while data.len() < len {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        data.push(b'a' + (x >> 59) as u8 % 26);
    }
    data
}
