//! Rules every lab 3 must follow, checked on every case rather than one example:
//!
//! - a refusal leaves the store's directory byte-identical;
//! - a save verifies what the disk stored before it publishes it: with a disk that stores
//!   other bytes than were written, no save is acknowledged and the previous snapshot stays
//!   the newest, for every size;
//! - the decoder and `open` never panic, whatever bytes they are given.

use std::sync::Arc;

use proptest::prelude::*;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::{DirSnapshot, proptest_config, sim_disk};
use distributed::vfs::{CrashMode, OpenMode};
use lab3::format::{decode_snapshot, encode_snapshot, snapshot_file_name};
use lab3::{SnapshotError, SnapshotStore, StoreOptions};

use crate::{DIR, latest, meta, names, open_on, reopen_after, snapshot};

#[test]
fn every_refusal_leaves_the_directory_byte_identical() {
    let (_, fs) = sim_disk(lab_seed(1));
    let store = open_on(Arc::clone(&fs), 2);
    distributed::invariant_ok!("monotonic", store.save(&snapshot(10, 2, 300)), "store.save(..)");
    distributed::invariant_ok!("monotonic", store.save(&snapshot(20, 2, 300)), "store.save(..)");
    let before = DirSnapshot::take(fs.as_ref(), DIR).expect("setup: DirSnapshot::take(..)");
    for (what, refused) in [
        ("the same (term, index)", snapshot(20, 2, 10)),
        ("an older index", snapshot(15, 2, 10)),
        ("a lower term", snapshot(30, 1, 10)),
    ] {
        let result = store.save(&refused);
        invariant!(
            "monotonic",
            matches!(result, Err(SnapshotError::OutOfDate { .. })),
            "saving {what} after (20, 2): {result:?}"
        );
        let changes = before.differences(&DirSnapshot::take(fs.as_ref(), DIR).expect("setup: DirSnapshot::take(..)"));
        invariant!(
            "monotonic",
            changes.is_empty(),
            "saving {what} was refused, but the directory changed: {changes:?}"
        );
    }
    let invalid = SnapshotStore::open(Arc::clone(&fs), DIR, StoreOptions { keep: 0 });
    invariant!("prefix-compaction", invalid.is_err(), "keep = 0 was accepted");
    let changes = before.differences(&DirSnapshot::take(fs.as_ref(), DIR).expect("setup: DirSnapshot::take(..)"));
    invariant!(
        "prefix-compaction",
        changes.is_empty(),
        "open with keep = 0 was refused, but the directory changed: {changes:?}"
    );
}

#[test]
fn a_save_the_disk_stores_wrongly_is_never_acknowledged_whatever_its_size() {
    for len in [0usize, 1, 100, 511, 512, 513, 4096, 9000] {
        let (sim, fs) = sim_disk(lab_seed(len as u64 + 1));
        let store = open_on(Arc::clone(&fs), 2);
        let old = snapshot(10, 1, 200);
        distributed::invariant_ok!("checksum", store.save(&old), "store.save(..)");
        sim.store_wrong_bytes(true);
        let saved = store.save(&snapshot(20, 1, len));
        sim.store_wrong_bytes(false);
        invariant!(
            "checksum",
            saved.is_err(),
            "with {len} bytes of data, the disk stored one bit wrong and save still returned Ok"
        );
        invariant!(
            "checksum",
            !names(fs.as_ref()).contains(&snapshot_file_name(meta(20, 1))),
            "a save that failed its verification published {}",
            snapshot_file_name(meta(20, 1))
        );
        for mode in [CrashMode::Strict, CrashMode::Torn { seed: 1 }] {
            let (_, after) = reopen_after(&sim, mode, 2);
            invariant!(
                "durability",
                latest(&after) == Some(old.clone()),
                "after a {mode} crash the old snapshot is gone"
            );
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(0x3B01, 256))]

    #[test]
    fn the_decoder_and_open_never_panic_on_mutated_files(
        len in 0usize..600,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let original = snapshot(40, 3, len);
        let mut bytes = encode_snapshot(&original);
        for (at, value) in &edits {
            let at = at.index(bytes.len());
            bytes[at] = *value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let decoded = std::panic::catch_unwind(|| decode_snapshot(&bytes).ok());
        invariant!("checksum", decoded.is_ok(), "decode_snapshot panicked on mutated bytes: a typed error, never a panic");
        let (_, fs) = sim_disk(5);
        let store = open_on(Arc::clone(&fs), 2);
        distributed::invariant_ok!("checksum", store.save(&snapshot(10, 1, 50)), "store.save(..)");
        drop(store);
        let path = std::path::Path::new(DIR).join(snapshot_file_name(original.meta));
        let file = fs.open(&path, OpenMode::Create).expect("setup: fs.open(..)");
        file.write_all_at(0, &bytes).expect("setup: file.write_all_at(..)");
        drop(file);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            SnapshotStore::open(Arc::clone(&fs), DIR, StoreOptions { keep: 2 }).map(|s| s.latest().ok().flatten())
        }));
        let opened = outcome.unwrap_or_else(|_| distributed::fail!(
            "checksum",
            "open or latest panicked on a mutated snapshot file",
        ));
        if let Ok(found) = opened {
            invariant!(
                "checksum",
                found.as_ref().is_none_or(|s| *s == original || s.meta == meta(10, 1)),
                "a mutated file was returned as snapshot {:?} with other data",
                found.map(|s| s.meta)
            );
        }
    }
}
