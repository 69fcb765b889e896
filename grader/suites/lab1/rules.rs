//! Rules every lab 1 must follow, checked on every case rather than one example:
//!
//! - a refusal (a typed error that says nothing was done) leaves the log's directory
//!   byte-identical: names, lengths and contents, sealed segments included;
//! - the decoders and `open` never panic, whatever bytes they are given.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::{DirSnapshot, entries, proptest_config, sim_disk};
use distributed::vfs::OpenMode;
use lab1::format::{self, MAX_ENTRY_DATA, SegmentHeader};
use lab1::{Entry, SyncPolicy, Wal, WalError};

use crate::{DIR, open_on, options};

/// Runs `refuse` on a log of ten entries across four segments, some of them buffered or
/// unsynced under `policy`, and checks that it fails and that the directory is unchanged.
fn refusal_changes_nothing(what: &str, policy: SyncPolicy, refuse: impl Fn(&Wal) -> Result<(), WalError>) {
    let (_, fs) = sim_disk(lab_seed(1));
    let wal = open_on(Arc::clone(&fs), options(144, policy));
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 10, 2)), "wal.append(..)");
    if policy == SyncPolicy::Never {
        distributed::invariant_ok!("durability", wal.sync(), "wal.sync(..)");
        distributed::invariant_ok!("append-only", wal.append(&entries(11, 11, 2)), "wal.append(..)");
    }
    let before = DirSnapshot::take(fs.as_ref(), DIR).expect("setup: snapshot the directory");
    let result = refuse(&wal);
    invariant!("append-only", result.is_err(), "{what} under {policy:?} was accepted");
    let changes = before.differences(&DirSnapshot::take(fs.as_ref(), DIR).expect("setup: snapshot the directory"));
    invariant!(
        "append-only",
        changes.is_empty(),
        "{what} under {policy:?} was refused ({result:?}), but the directory changed: {changes:?}"
    );
}

#[test]
fn every_refusal_leaves_the_directory_byte_identical() {
    for policy in [SyncPolicy::EveryAppend, SyncPolicy::GroupCommit, SyncPolicy::Never] {
        refusal_changes_nothing("a gap", policy, |wal| {
            wal.append(&entries(wal.last_index() + 2, wal.last_index() + 2, 2))
        });
        refusal_changes_nothing("a gap inside a batch", policy, |wal| {
            let next = wal.last_index() + 1;
            wal.append(&[entries(next, next, 2), entries(next + 2, next + 2, 2)].concat())
        });
        refusal_changes_nothing("a stale index", policy, |wal| wal.append(&entries(3, 3, 2)));
        refusal_changes_nothing("a lower term", policy, |wal| {
            wal.append(&entries(wal.last_index() + 1, wal.last_index() + 1, 1))
        });
        refusal_changes_nothing("an oversized entry after a good one", policy, |wal| {
            let next = wal.last_index() + 1;
            wal.append(&[Entry::new(next, 2, vec![1; 8]), Entry::new(next + 1, 2, vec![0; MAX_ENTRY_DATA + 1])])
        });
    }
}

#[test]
fn a_truncation_below_the_first_index_leaves_the_directory_byte_identical() {
    let (_, fs) = sim_disk(lab_seed(1));
    let wal = open_on(Arc::clone(&fs), options(144, SyncPolicy::EveryAppend));
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 10, 2)), "wal.append(..)");
    distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(4), "wal.compact_prefix(..)");
    let before = DirSnapshot::take(fs.as_ref(), DIR).expect("setup: snapshot the directory");
    let result = wal.truncate_suffix(2);
    invariant!(
        "prefix-compaction",
        matches!(result, Err(WalError::TruncateCompacted { .. })),
        "truncating from 2 after compacting up to 4: {result:?}"
    );
    let changes = before.differences(&DirSnapshot::take(fs.as_ref(), DIR).expect("setup: snapshot the directory"));
    invariant!("prefix-compaction", changes.is_empty(), "a refused truncation changed the directory: {changes:?}");
}

/// A log of nine entries in three sealed-and-active segments, as bytes per file.
fn three_segments() -> Vec<(String, Vec<u8>)> {
    let (sim, fs) = sim_disk(7);
    let wal = open_on(Arc::clone(&fs), options(144, SyncPolicy::EveryAppend));
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 9, 1)), "wal.append(..)");
    drop(wal);
    let names = fs.read_dir(Path::new(DIR)).expect("setup: list the directory");
    names
        .into_iter()
        .map(|name| (name.clone(), sim.contents(Path::new(DIR).join(&name)).expect("setup: read the file")))
        .collect()
}

proptest! {
    #![proptest_config(proptest_config(0x1B01, 256))]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200), first in any::<u64>()) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = SegmentHeader::decode(&bytes);
            let _ = format::decode_record(first, &bytes);
            if let Ok(footer) = format::SegmentFooter::decode(&bytes) {
                let _ = footer.verify(&bytes);
            }
        }));
        invariant!("on-disk-format", outcome.is_ok(), "a decoder panicked on {bytes:?}: bad bytes are a typed error");
    }

    #[test]
    fn open_never_panics_on_mutated_segments(
        file in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let files = three_segments();
        let (_, fs) = sim_disk(3);
        fs.create_dir_all(Path::new(DIR)).expect("setup: create the directory");
        for (k, (name, bytes)) in files.iter().enumerate() {
            let mut bytes = bytes.clone();
            if k == file {
                for (at, value) in &edits {
                    let at = at.index(bytes.len());
                    bytes[at] = *value;
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut.index(bytes.len() + 1));
                }
            }
            let handle = fs.open(&Path::new(DIR).join(name), OpenMode::Create).expect("setup: create the file");
            handle.write_all_at(0, &bytes).expect("setup: write the file");
        }
        // Open may refuse, but must not panic; whatever it opens reads back or errs cleanly.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Ok(wal) = Wal::open(Arc::clone(&fs), DIR, options(144, SyncPolicy::EveryAppend)) {
                for index in wal.first_index()..=wal.last_index() {
                    let _ = wal.entry(index);
                }
            }
        }));
        invariant!(
            "checksum",
            outcome.is_ok(),
            "open or a read panicked on segment {} with bytes {edits:?} changed (cut at {cut:?}): \
             bad bytes on disk are a typed error, never a panic",
            files[file].0
        );
    }
}
