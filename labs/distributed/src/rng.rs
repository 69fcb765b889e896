//! Seeds and a small deterministic random number generator.
//!
//! Every random choice in the course's tests (workloads, torn writes, garbage bytes) comes
//! from a [`TestRng`] built from a seed. The seed is fixed by default so a test passes or fails
//! the same way every run; `LAB_SEED` overrides it to replay a failure or to explore others.
//!
//! The generator is SplitMix64, written here rather than taken from `rand`, so that a seed
//! printed today replays the same run after any dependency update.

use std::cell::Cell;

thread_local! {
    static CURRENT_SEED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The seed a test should use: `LAB_SEED` if set (decimal, or hex with `0x`), else `default`.
///
/// It is also remembered for this thread, so that an invariant failure (see
/// [`invariant!`](crate::invariant)) can print how to replay the run.
///
/// # Panics
///
/// If `LAB_SEED` is set but is not a number: a typo should not silently run another seed.
pub fn lab_seed(default: u64) -> u64 {
    let seed = match std::env::var("LAB_SEED") {
        Ok(text) => {
            parse_seed(&text).unwrap_or_else(|| panic!("LAB_SEED={text:?} is not a number (use decimal or 0x-hex)"))
        }
        Err(_) => default,
    };
    CURRENT_SEED.with(|current| current.set(Some(seed)));
    seed
}

/// The seed this thread's test is running with, if it asked for one with [`lab_seed`].
pub fn current_seed() -> Option<u64> {
    CURRENT_SEED.with(Cell::get)
}

fn parse_seed(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// A seeded SplitMix64 generator: fast, small, and the same sequence on every platform.
#[derive(Clone, Debug)]
pub struct TestRng {
    state: u64,
}

impl TestRng {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        TestRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`. `n` must not be zero.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "TestRng::below(0) has no possible value");
        // Multiply-shift keeps the bias negligible for the small ranges tests use.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn in_range(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability one half.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// True with probability `numerator / denominator`.
    pub fn ratio(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.fill(&mut buf);
        buf
    }

    /// A new generator whose sequence is independent of this one's continuation.
    pub fn fork(&mut self) -> TestRng {
        TestRng::new(self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let a: Vec<u64> = {
            let mut rng = TestRng::new(42);
            (0..8).map(|_| rng.next_u64()).collect()
        };
        let mut rng = TestRng::new(42);
        let b: Vec<u64> = (0..8).map(|_| rng.next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(TestRng::new(43).next_u64(), a[0]);
    }

    #[test]
    fn below_stays_in_range_and_reaches_both_ends() {
        let mut rng = TestRng::new(7);
        let draws: Vec<u64> = (0..1000).map(|_| rng.below(5)).collect();
        assert!(draws.iter().all(|&d| d < 5));
        assert!(draws.contains(&0) && draws.contains(&4));
    }

    #[test]
    fn seeds_parse_as_decimal_or_hex() {
        assert_eq!(parse_seed("17"), Some(17));
        assert_eq!(parse_seed("0x1f"), Some(31));
        assert_eq!(parse_seed("seventeen"), None);
    }
}
