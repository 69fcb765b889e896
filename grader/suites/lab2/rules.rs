//! Rules every lab 2 must follow, checked on every case rather than one example:
//!
//! - a refused recovery leaves the directory byte-identical, earlier `.broken` copies and
//!   sealed segments included;
//! - everything a peer returns (count, indexes, terms, the boundary entry) is checked before
//!   anything on disk changes, and a refused repair leaves the directory byte-identical;
//! - `scan` and `recover` never panic, whatever bytes the segments hold.

use proptest::prelude::*;

use distributed::invariant;
use distributed::storage::Entry;
use distributed::testing::{DirSnapshot, proptest_config};
use lab1::WalOptions;
use lab2::{Peer, PeerError, RecoveryMode, RepairError, recover, repair_from_peer, scan};

use crate::{DIR, disk_with, log_entries, name, three_segments};

/// A disk whose sealed segment 4-6 has a flipped bit in entry 5, after an earlier recovery
/// left a `.broken` copy beside the segments.
fn damaged_with_an_earlier_copy() -> (distributed::vfs::SimFs, distributed::vfs::FsRef) {
    let mut files = three_segments();
    files.get_mut(&name(4)).expect("setup: segment 4")[70] ^= 1;
    files.insert(format!("{}.broken", name(7)), b"bytes an earlier recovery cut".to_vec());
    disk_with(&files)
}

#[test]
fn a_refused_recovery_leaves_the_directory_byte_identical() {
    for mode in [RecoveryMode::TolerateTailCorruption, RecoveryMode::AbsoluteConsistency] {
        let (_, fs) = damaged_with_an_earlier_copy();
        let before = DirSnapshot::take(fs.as_ref(), DIR).expect("setup: snapshot the directory");
        let result = recover(&fs, DIR, mode);
        invariant!(
            "checksum",
            matches!(result, Err(RepairError::Refused { .. })),
            "{mode:?} must refuse corruption in a sealed segment, got {result:?}"
        );
        let changes = before.differences(&DirSnapshot::take(fs.as_ref(), DIR).expect("setup: snapshot the directory"));
        invariant!("checksum", changes.is_empty(), "{mode:?} refused, but the directory changed: {changes:?}");
    }
}

struct Liar(Box<dyn Fn(u64, u64) -> Result<Vec<Entry>, PeerError>>);

impl Peer for Liar {
    fn entries(&self, low: u64, high: u64) -> Result<Vec<Entry>, PeerError> {
        (self.0)(low, high)
    }
}

fn honest(low: u64, high: u64) -> Vec<Entry> {
    log_entries().into_iter().filter(|e| (low..high).contains(&e.index)).collect()
}

#[test]
fn every_peer_answer_is_checked_before_anything_changes() {
    type Answer = Box<dyn Fn(u64, u64) -> Result<Vec<Entry>, PeerError>>;
    let liars: Vec<(&str, Answer)> = vec![
        ("answers with nothing", Box::new(|_, _| Ok(Vec::new()))),
        ("sends one entry too few", Box::new(|low, high| Ok(honest(low, high - 1)))),
        (
            "sends one entry too many",
            Box::new(|low, high| {
                let mut out = honest(low, high);
                out.push(Entry::new(high, 3, b"extra".to_vec()));
                Ok(out)
            }),
        ),
        (
            "repeats an entry",
            Box::new(|low, high| {
                let mut out = honest(low, high - 1);
                out.push(out[out.len() - 1].clone());
                Ok(out)
            }),
        ),
        (
            "shifts every index by one",
            Box::new(|low, high| {
                Ok(honest(low, high).into_iter().map(|e| Entry::new(e.index + 1, e.term, e.data)).collect())
            }),
        ),
        (
            "lowers the last term",
            Box::new(|low, high| {
                let mut out = honest(low, high);
                let last = out.len() - 1;
                out[last].term = 1;
                Ok(out)
            }),
        ),
        (
            "changes the boundary entry's term",
            Box::new(|low, high| {
                let mut out = honest(low, high);
                out[0].term += 1;
                Ok(out)
            }),
        ),
        ("fails", Box::new(|_, _| Err(PeerError("unreachable".into())))),
    ];
    for (what, answer) in liars {
        let (_, fs) = damaged_with_an_earlier_copy();
        let report = distributed::invariant_ok!("matching", scan(&fs, DIR), "scan(..)");
        let before = DirSnapshot::take(fs.as_ref(), DIR).expect("setup: snapshot the directory");
        let result = repair_from_peer(&fs, DIR, &report, &Liar(answer), WalOptions::default());
        invariant!("matching", result.is_err(), "a peer that {what} was accepted: {result:?}");
        let changes = before.differences(&DirSnapshot::take(fs.as_ref(), DIR).expect("setup: snapshot the directory"));
        invariant!(
            "matching",
            changes.is_empty(),
            "a peer that {what} was refused ({}), but the directory changed first: {changes:?}",
            result.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
}

proptest! {
    #![proptest_config(proptest_config(0x2B01, 192))]

    #[test]
    fn scan_and_recover_never_panic_on_mutated_segments(
        file in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut files = three_segments();
        let target = name([1, 4, 7][file]);
        let bytes = files.get_mut(&target).expect("setup: the target segment");
        for (at, value) in &edits {
            let at = at.index(bytes.len());
            bytes[at] = *value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let (_, fs) = disk_with(&files);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = scan(&fs, DIR);
            let _ = recover(&fs, DIR, RecoveryMode::TolerateAnyCorruption);
        }));
        invariant!(
            "checksum",
            outcome.is_ok(),
            "scan or recover panicked on {target} with bytes {edits:?} changed (cut at {cut:?}): \
             bad bytes on disk are a typed error, never a panic"
        );
    }
}
