//! Lab 3's public tests, in the order of the chapter's tasks: the format, saving and reading,
//! crashes, retention, recovery, fail-stop, typed states.
//!
//! Run them with `cargo test -p lab3`; one task at a time with, for example,
//! `cargo test -p lab3 format::`. A failure starts with the invariant it broke, in brackets,
//! and ends with the command that replays it.

use std::path::Path;
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::{payload, sim_disk};
use distributed::vfs::{CrashMode, FsRef, OpenMode, SimFs, Vfs};
use lab3::{Snapshot, SnapshotError, SnapshotMeta, SnapshotStore, StoreOptions};

const DIR: &str = "snap";

fn meta(last_index: u64, last_term: u64) -> SnapshotMeta {
    SnapshotMeta { last_index, last_term }
}

/// A snapshot of `len` bytes whose data names its index and term.
fn snapshot(last_index: u64, last_term: u64, len: usize) -> Snapshot {
    Snapshot { meta: meta(last_index, last_term), data: payload(last_index, last_term, len) }
}

fn open(fs: &FsRef, keep: usize) -> SnapshotStore {
    distributed::invariant_ok!(
        "on-disk-format",
        SnapshotStore::open(Arc::clone(fs), DIR, StoreOptions { keep }),
        "open the store"
    )
}

/// Opens the store on the disk a crash left, as a restarted node would.
fn reopen_after(sim: &SimFs, mode: CrashMode, keep: usize) -> (SimFs, SnapshotStore) {
    let disk = sim.crash(mode);
    let store = SnapshotStore::open(Arc::new(disk.clone()), DIR, StoreOptions { keep })
        .unwrap_or_else(|e| distributed::fail!("atomic-write", "reopening after a {mode} crash failed: {e}"));
    (disk, store)
}

fn latest(store: &SnapshotStore) -> Option<Snapshot> {
    store.latest().unwrap_or_else(|e| distributed::fail!("durability", "latest() failed: {e}"))
}

fn files(fs: &SimFs) -> Vec<String> {
    fs.read_dir(Path::new(DIR)).expect("setup: list the directory")
}

mod format {
    use super::*;
    use lab3::format::{self as snap_format, FormatError, SnapshotHeader};

    #[test]
    fn a_snapshot_file_follows_the_byte_table() {
        let snap = Snapshot { meta: meta(7, 2), data: b"state".to_vec() };
        let bytes = snap_format::encode_snapshot(&snap);
        distributed::invariant_eq!("on-disk-format", bytes.len(), 36 + 5 + 4, "header, data, footer");
        distributed::invariant_eq!("on-disk-format", &bytes[0..8], b"RSMSNP01", "the file starts with the magic");
        distributed::invariant_eq!("on-disk-format", &bytes[8..16], &7u64.to_le_bytes(), "then the last index");
        distributed::invariant_eq!("on-disk-format", &bytes[16..24], &2u64.to_le_bytes(), "then the last term");
        distributed::invariant_eq!("on-disk-format", &bytes[24..32], &5u64.to_le_bytes(), "then the data's length");
        distributed::invariant_eq!(
            "on-disk-format",
            &bytes[32..36],
            &crc32fast::hash(&bytes[..32]).to_le_bytes(),
            "header CRC",
        );
        distributed::invariant_eq!("on-disk-format", &bytes[36..41], b"state", "then the data");
        distributed::invariant_eq!(
            "on-disk-format",
            &bytes[41..],
            &crc32fast::hash(&bytes[..41]).to_le_bytes(),
            "file CRC",
        );
        distributed::invariant_eq!(
            "on-disk-format",
            snap_format::decode_snapshot(&bytes),
            Ok(snap),
            "snap_format::decode_snapshot(&bytes)",
        );
        let header =
            distributed::invariant_ok!("on-disk-format", SnapshotHeader::decode(&bytes), "SnapshotHeader::decode(..)");
        distributed::invariant_eq!(
            "on-disk-format",
            (header.meta, header.data_len),
            (meta(7, 2), 5),
            "(header.meta, header.data_len)",
        );
    }

    #[test]
    fn damage_at_every_byte_and_every_cut_is_detected() {
        let bytes = snap_format::encode_snapshot(&snapshot(40, 3, 100));
        for byte in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[byte] ^= 0x10;
            invariant!(
                "checksum",
                snap_format::decode_snapshot(&damaged).is_err(),
                "a flipped bit in byte {byte} of {} went unnoticed",
                bytes.len()
            );
        }
        for cut in 0..bytes.len() {
            distributed::invariant_matches!(
                "checksum",
                snap_format::decode_snapshot(&bytes[..cut]),
                Err(FormatError::Truncated { .. }),
                "a file cut at byte {cut} is reported as truncated",
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        distributed::invariant_matches!(
            "checksum",
            snap_format::decode_snapshot(&longer),
            Err(FormatError::TrailingBytes { extra: 1 }),
            "snap_format::decode_snapshot(&longer)",
        );
    }

    #[test]
    fn names_sort_by_term_then_index() {
        distributed::invariant_eq!(
            "on-disk-format",
            snap_format::snapshot_file_name(meta(0x2a, 3)),
            "0000000000000003-000000000000002a.snap",
            "snap_format::snapshot_file_name(meta(0x2a, 3))",
        );
        distributed::invariant_eq!(
            "on-disk-format",
            snap_format::parse_snapshot_file_name("0000000000000003-000000000000002a.snap"),
            Some(meta(42, 3)),
            "snap_format::parse_snapshot_file_name(\"0000000000000003-000000000000002a.snap\")",
        );
        for not_a_snapshot in ["3-2a.snap", "0000000000000003-000000000000002a.snap.tmp", "x.snap.broken", "snap"] {
            distributed::invariant_eq!(
                "on-disk-format",
                snap_format::parse_snapshot_file_name(not_a_snapshot),
                None,
                "{not_a_snapshot:?}",
            );
        }
        let order = [meta(9, 1), meta(10, 1), meta(3, 2), meta(0x100, 2)];
        for pair in order.windows(2) {
            distributed::invariant!(
                "on-disk-format",
                snap_format::snapshot_file_name(pair[0]) < snap_format::snapshot_file_name(pair[1]),
                "{:?} sorts before {:?}",
                pair[0],
                pair[1],
            );
        }
    }
}

mod save {
    use super::*;

    #[test]
    fn an_empty_store_has_no_snapshot() {
        let (_, fs) = sim_disk(lab_seed(1));
        let store = open(&fs, 2);
        distributed::invariant_eq!("durability", latest(&store), None, "latest(&store)");
        distributed::invariant_eq!("durability", store.list(), vec![], "store.list()");
    }

    #[test]
    fn a_saved_snapshot_reads_back_exactly_and_survives_a_reopen() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let store = open(&fs, 2);
        let first = snapshot(10, 1, 700);
        let second = snapshot(25, 2, 1500);
        distributed::invariant_ok!("durability", store.save(&first), "store.save(..)");
        distributed::invariant_ok!("durability", store.save(&second), "store.save(..)");
        invariant!("durability", latest(&store) == Some(second.clone()), "latest() is not the last snapshot saved");
        distributed::invariant_eq!("durability", store.list(), vec![second.meta, first.meta], "newest first");
        let (_, after) = reopen_after(&sim, CrashMode::Strict, 2);
        invariant!("durability", latest(&after) == Some(second), "the snapshot saved last is lost after a power cut");
    }

    #[test]
    fn an_outdated_snapshot_is_refused() {
        let (_, fs) = sim_disk(lab_seed(1));
        let store = open(&fs, 2);
        distributed::invariant_ok!("prefix-compaction", store.save(&snapshot(10, 2, 64)), "store.save(..)");
        for stale in [snapshot(10, 2, 64), snapshot(9, 2, 64), snapshot(12, 1, 64)] {
            let refused = store.save(&stale);
            distributed::invariant_matches!(
                "prefix-compaction",
                refused,
                Err(SnapshotError::OutOfDate { .. }),
                "saving {:?} after {:?}: {refused:?}",
                stale.meta,
                meta(10, 2),
            );
        }
        distributed::invariant_eq!(
            "prefix-compaction",
            store.list(),
            vec![meta(10, 2)],
            "a refused save changes nothing",
        );
    }
}

mod crash {
    use super::*;

    #[test]
    fn a_power_cut_at_every_step_of_a_save_leaves_the_old_or_the_new_snapshot() {
        let old = snapshot(10, 1, 900);
        let new = snapshot(20, 1, 1300);
        let report = CrashExplorer::new(lab_seed(3)).explore(
            |sim, acked: &mut Vec<Snapshot>| -> Result<(), SnapshotError> {
                let store = SnapshotStore::open(Arc::new(sim.clone()), DIR, StoreOptions { keep: 2 })?;
                store.save(&old)?;
                acked.push(old.clone());
                store.save(&new)?;
                acked.push(new.clone());
                Ok(())
            },
            |disk, acked| {
                let store = SnapshotStore::open(Arc::new(disk.clone()), DIR, StoreOptions { keep: 2 })
                    .unwrap_or_else(|e| distributed::fail!("atomic-write", "recovery failed: {e}"));
                let found = latest(&store);
                match acked.last() {
                    Some(last) if *last == new => {
                        invariant!("durability", found.as_ref() == Some(&new), "the acknowledged snapshot is lost")
                    }
                    Some(_) => invariant!(
                        "atomic-write",
                        found.as_ref() == Some(&old) || found.as_ref() == Some(&new),
                        "during the second save, latest() is {:?}: neither the old snapshot nor the new one",
                        found.map(|s| s.meta)
                    ),
                    None => invariant!(
                        "atomic-write",
                        found.is_none() || found.as_ref() == Some(&old),
                        "during the first save, latest() is {:?}",
                        found.map(|s| s.meta)
                    ),
                }
            },
        );
        distributed::invariant!("atomic-write", report.crash_points > 8, "the workload has {} steps", report.steps);
    }

    #[test]
    fn retention_never_leaves_the_store_without_the_newest_acknowledged_snapshot() {
        // Keep one: every save replaces the only snapshot. Removing the old one is safe only
        // once the new one's name is durable, in a directory sync of its own: a filesystem
        // that reorders directory operations (the reordered images) may otherwise keep the
        // removal and lose the rename.
        let saves = [snapshot(10, 1, 500), snapshot(20, 1, 700), snapshot(30, 2, 300)];
        let report = CrashExplorer::new(lab_seed(5)).reordered_variants(3).explore(
            |sim, acked: &mut Vec<Snapshot>| -> Result<(), SnapshotError> {
                let store = SnapshotStore::open(Arc::new(sim.clone()), DIR, StoreOptions { keep: 1 })?;
                for save in &saves {
                    store.save(save)?;
                    acked.push(save.clone());
                }
                Ok(())
            },
            |disk, acked| {
                let store = SnapshotStore::open(Arc::new(disk.clone()), DIR, StoreOptions { keep: 1 })
                    .unwrap_or_else(|e| distributed::fail!("atomic-write", "recovery failed: {e}"));
                let found = latest(&store).map(|s| s.meta);
                let in_flight = saves.get(acked.len()).map(|s| s.meta);
                match acked.last() {
                    None => invariant!(
                        "atomic-write",
                        found.is_none() || found == in_flight,
                        "during the first save, latest() is {found:?}"
                    ),
                    Some(last) => invariant!(
                        "atomic-write",
                        found == Some(last.meta) || found == in_flight,
                        "snapshot {:?} was acknowledged, but after the crash latest() is {found:?} \
                         (the save in flight was {in_flight:?})",
                        last.meta
                    ),
                }
                if let Some(found) = found {
                    let whole = saves.iter().find(|s| s.meta == found);
                    invariant!(
                        "atomic-write",
                        latest(&store).as_ref() == whole,
                        "snapshot {found:?} reads back with other data"
                    );
                }
            },
        );
        distributed::invariant!("atomic-write", report.images_checked > 3 * report.crash_points, "{report:?}");
    }
}

mod retention {
    use super::*;

    #[test]
    fn only_the_newest_n_are_kept() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let store = open(&fs, 3);
        for k in 1..=6 {
            distributed::invariant_ok!("prefix-compaction", store.save(&snapshot(10 * k, 1, 100)), "store.save(..)");
        }
        distributed::invariant_eq!(
            "prefix-compaction",
            store.list(),
            vec![meta(60, 1), meta(50, 1), meta(40, 1)],
            "newest three",
        );
        let (disk, _) = reopen_after(&sim, CrashMode::Strict, 3);
        let names = files(&disk);
        distributed::invariant_eq!("prefix-compaction", names.len(), 3, "older snapshot files are removed: {names:?}");
    }
}

mod recovery {
    use super::*;
    use lab3::format::snapshot_file_name;

    #[test]
    fn a_damaged_newest_snapshot_is_set_aside_and_the_previous_one_used() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let store = open(&fs, 2);
        let older = snapshot(10, 1, 300);
        distributed::invariant_ok!("checksum", store.save(&older), "store.save(..)");
        distributed::invariant_ok!("checksum", store.save(&snapshot(20, 1, 300)), "store.save(..)");
        let newest = Path::new(DIR).join(snapshot_file_name(meta(20, 1)));
        sim.flip_bit(&newest, 8 * 100 + 3).expect("setup: sim.flip_bit(..)");
        invariant!("checksum", latest(&store) == Some(older.clone()), "a damaged snapshot was not refused");
        let names = files(&sim);
        invariant!(
            "checksum",
            names.contains(&format!("{}.broken", snapshot_file_name(meta(20, 1)))),
            "the damaged snapshot was not set aside as .snap.broken (never delete it): {names:?}"
        );
        distributed::invariant_ok!("checksum", store.save(&snapshot(30, 2, 50)), "saving after a fallback works");
    }

    #[test]
    fn leftover_temporary_files_are_removed_on_open() {
        let (sim, fs) = sim_disk(lab_seed(1));
        distributed::invariant_ok!("atomic-write", open(&fs, 2).save(&snapshot(10, 1, 64)), "open(..).save(..)");
        let tmp = format!("{}.tmp", snapshot_file_name(meta(20, 1)));
        let file = sim.open(&Path::new(DIR).join(&tmp), OpenMode::Create).expect("setup: sim.open(..)");
        file.write_all_at(0, b"half a snapshot").expect("setup: file.write_all_at(..)");
        drop(file);
        let store = open(&fs, 2);
        invariant!("atomic-write", latest(&store) == Some(snapshot(10, 1, 64)), "a temporary file was used");
        invariant!("atomic-write", !files(&sim).contains(&tmp), "the leftover {tmp} is still there after open");
    }
}

mod faults {
    use super::*;

    #[test]
    fn a_failed_fsync_poisons_the_store() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let store = open(&fs, 2);
        distributed::invariant_ok!("fail-stop", store.save(&snapshot(10, 1, 200)), "store.save(..)");
        sim.fail_next_syncs(1);
        invariant!("fail-stop", store.save(&snapshot(20, 1, 200)).is_err(), "a save whose fsync failed succeeded");
        let next = store.save(&snapshot(30, 1, 200));
        invariant!("fail-stop", next.is_err(), "after a failed fsync, a later save was acknowledged");
        let (_, after) = reopen_after(&sim, CrashMode::Strict, 2);
        invariant!("durability", latest(&after) == Some(snapshot(10, 1, 200)), "the old snapshot did not survive");
    }
}

mod verify {
    use super::*;

    #[test]
    fn a_save_whose_bytes_read_back_differently_is_refused() {
        // The disk stores one bit other than was written (faulty memory, a faulty controller)
        // and reports success. Only the save's read-back can notice before the snapshot is
        // published under its final name.
        let (sim, fs) = sim_disk(lab_seed(1));
        let store = open(&fs, 2);
        let old = snapshot(10, 1, 400);
        distributed::invariant_ok!("checksum", store.save(&old), "store.save(..)");
        sim.store_wrong_bytes(true);
        let saved = store.save(&snapshot(20, 1, 400));
        sim.store_wrong_bytes(false);
        invariant!(
            "checksum",
            matches!(saved, Err(SnapshotError::VerifyFailed { .. })),
            "the disk stored other bytes than were written, but save returned {saved:?}: \
             read the temporary file back and compare before renaming it"
        );
        let (_, after) = reopen_after(&sim, CrashMode::Strict, 2);
        invariant!("durability", latest(&after) == Some(old), "the previous snapshot did not survive a refused save");
    }
}

mod typed {
    use super::*;
    use distributed::storage::{InMemorySnapshot, SnapshotStorage};

    #[test]
    fn a_typed_state_round_trips_like_in_memory_snapshot() {
        let state: Vec<(String, u64)> = vec![("x".into(), 1), ("y".into(), 2)];
        let at = meta(9, 2);
        let mut memory = InMemorySnapshot::<Vec<(String, u64)>>::new();
        memory.capture(at, &state).expect("setup: memory.capture(..)");

        let (sim, fs) = sim_disk(lab_seed(1));
        let mut store = open(&fs, 2);
        distributed::invariant_ok!("recovery-equivalence", store.save_state(at, &state), "store.save_state(..)");
        invariant!(
            "recovery-equivalence",
            distributed::invariant_ok!(
                "recovery-equivalence",
                SnapshotStorage::latest(&store),
                "SnapshotStorage::latest(..)"
            ) == memory.latest().expect("setup: memory.latest()"),
            "the stored snapshot differs from the one InMemorySnapshot captured for the same state"
        );
        let next = memory
            .latest()
            .expect("setup: memory.latest()")
            .map(|s| Snapshot { meta: meta(12, 2), data: s.data })
            .expect("setup: memory holds a snapshot");
        distributed::invariant_ok!(
            "recovery-equivalence",
            SnapshotStorage::save(&mut store, &next),
            "SnapshotStorage::save(..)"
        );
        let (_, after) = reopen_after(&sim, CrashMode::Strict, 2);
        let loaded: Option<(SnapshotMeta, Vec<(String, u64)>)> =
            distributed::invariant_ok!("recovery-equivalence", after.load_state(), "after.load_state()");
        invariant!(
            "recovery-equivalence",
            loaded == Some((meta(12, 2), state)),
            "the state loaded after a power cut differs: {loaded:?}"
        );
    }
}
