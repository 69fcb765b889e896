//! Damage and failures: bit rot and truncation at every position of the newest snapshot,
//! damage everywhere, a failed fsync, a full disk.

use std::sync::Arc;

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::testing::sim_disk;
use distributed::vfs::{CrashMode, FsRef, SimFs, SimFsConfig};
use lab3::{SnapshotError, SnapshotStore, StoreOptions};

use crate::{DIR, latest, meta, name_of, names, open_on, path_of, reopen_after, snapshot};

/// A store holding snapshots 10 and 20 (keep 2), returned with its disk.
fn two_snapshots(seed: u64, len: usize) -> (SimFs, FsRef) {
    let (sim, fs) = sim_disk(seed);
    let store = open_on(Arc::clone(&fs), 2);
    distributed::invariant_ok!("checksum", store.save(&snapshot(10, 1, len)), "store.save(..)");
    distributed::invariant_ok!("checksum", store.save(&snapshot(20, 1, len)), "store.save(..)");
    (sim, fs)
}

/// After damaging the newest file: the previous snapshot is used, and the damaged one is set
/// aside under `.broken` with its bytes intact.
fn assert_falls_back(sim: &SimFs, fs: FsRef, damage: &str, len: usize) {
    let newest = name_of(meta(20, 1));
    let damaged = sim.contents(path_of(&newest)).expect("setup: sim.contents(..)");
    let store = SnapshotStore::open(fs, DIR, StoreOptions { keep: 2 })
        .unwrap_or_else(|e| distributed::fail!("checksum", "open failed after {damage}: {e}"));
    let found = latest(&store);
    invariant!(
        "checksum",
        found == Some(snapshot(10, 1, len)),
        "after {damage} of the newest snapshot, latest() is {:?}, expected the previous one",
        found.map(|s| s.meta)
    );
    let broken = format!("{newest}.broken");
    invariant!(
        "checksum",
        names(sim).contains(&broken) && !names(sim).contains(&newest),
        "after {damage}, the damaged file was not set aside as {broken}: {:?}",
        names(sim)
    );
    invariant!(
        "checksum",
        sim.contents(path_of(&broken)).ok() == Some(damaged),
        "the set-aside file's bytes changed: set aside means renamed, never rewritten or deleted"
    );
    invariant!("checksum", store.list() == vec![meta(10, 1)], "list() still names the damaged snapshot");
}

#[test]
fn a_flipped_bit_anywhere_in_the_newest_snapshot_falls_back_to_the_previous() {
    let seed = lab_seed(0x41);
    let mut rng = TestRng::new(seed);
    let len = 90;
    for byte in 0..(40 + len as u64) {
        let (sim, fs) = two_snapshots(seed, len);
        sim.flip_bit(path_of(&name_of(meta(20, 1))), byte * 8 + rng.below(8)).expect("setup: sim.flip_bit(..)");
        assert_falls_back(&sim, fs, &format!("a flipped bit in byte {byte}"), len);
    }
}

#[test]
fn a_newest_snapshot_cut_at_every_length_falls_back_to_the_previous() {
    let len = 60;
    for cut in 0..(40 + len as u64) {
        let (sim, fs) = two_snapshots(lab_seed(0x42), len);
        sim.truncate_durable(path_of(&name_of(meta(20, 1))), cut).expect("setup: sim.truncate_durable(..)");
        assert_falls_back(&sim, fs, &format!("a cut at byte {cut}"), len);
    }
}

#[test]
fn damage_found_after_open_is_caught_on_the_next_read() {
    let (sim, fs) = sim_disk(lab_seed(0x43));
    let store = open_on(Arc::clone(&fs), 3);
    for k in 1..=3 {
        distributed::invariant_ok!("checksum", store.save(&snapshot(10 * k, 1, 2000)), "store.save(..)");
    }
    // Bit rot in the middle of the data, after the store verified it.
    sim.flip_bit(path_of(&name_of(meta(30, 1))), 8 * 1000).expect("setup: sim.flip_bit(..)");
    sim.overwrite(path_of(&name_of(meta(20, 1))), 600, &[0; 512]).expect("setup: sim.overwrite(..)");
    let found = latest(&store);
    invariant!(
        "checksum",
        found == Some(snapshot(10, 1, 2000)),
        "two damaged snapshots: latest() is {:?}, expected the oldest intact one",
        found.map(|s| s.meta)
    );
    distributed::invariant_ok!("checksum", store.save(&snapshot(40, 2, 10)), "a save after two fallbacks works");
}

#[test]
fn when_every_snapshot_is_damaged_the_store_says_so_instead_of_none() {
    let (sim, fs) = two_snapshots(lab_seed(0x44), 100);
    sim.flip_bit(path_of(&name_of(meta(10, 1))), 8 * 50).expect("setup: sim.flip_bit(..)");
    sim.flip_bit(path_of(&name_of(meta(20, 1))), 8 * 50).expect("setup: sim.flip_bit(..)");
    let store = SnapshotStore::open(Arc::clone(&fs), DIR, StoreOptions { keep: 2 });
    let outcome = store.and_then(|s| s.latest());
    invariant!(
        "checksum",
        matches!(outcome, Err(SnapshotError::NoValidSnapshot { .. })),
        "every snapshot is damaged: expected NoValidSnapshot (None would mean replaying a compacted log from 1), got \
         {outcome:?}"
    );
    // And still after a reopen: the set-aside files are the evidence.
    let again = SnapshotStore::open(fs, DIR, StoreOptions { keep: 2 }).and_then(|s| s.latest());
    invariant!(
        "checksum",
        matches!(again, Err(SnapshotError::NoValidSnapshot { .. })),
        "after a reopen, a store whose snapshots were all set aside answered {again:?}"
    );
    let kept = names(&sim).iter().filter(|n| n.ends_with(".snap.broken")).count();
    invariant!("checksum", kept == 2, "both damaged files are kept as .snap.broken, found {kept}");
}

#[test]
fn a_snapshot_under_another_snapshots_name_is_refused() {
    let (sim, fs) = two_snapshots(lab_seed(0x45), 100);
    // A valid file for (10, 1) copied under the newest's name: intact bytes, wrong identity.
    let older = sim.contents(path_of(&name_of(meta(10, 1)))).expect("setup: sim.contents(..)");
    sim.truncate_durable(path_of(&name_of(meta(20, 1))), 0).expect("setup: sim.truncate_durable(..)");
    sim.overwrite(path_of(&name_of(meta(20, 1))), 0, &older).expect("setup: sim.overwrite(..)");
    let store = open_on(fs, 2);
    let found = latest(&store);
    invariant!(
        "checksum",
        found.as_ref().map(|s| s.meta) == Some(meta(10, 1)) && store.list() == vec![meta(10, 1)],
        "a file whose header names (10, 1) under the name of (20, 1) was accepted as {:?}",
        found.map(|s| s.meta)
    );
}

#[test]
fn a_failed_fsync_stops_every_later_save() {
    // The failing sync is the temporary file's (the only file sync of a save).
    let (sim, fs) = sim_disk(lab_seed(0x46));
    let store = open_on(fs, 2);
    distributed::invariant_ok!("fail-stop", store.save(&snapshot(10, 1, 800)), "store.save(..)");
    sim.fail_next_syncs(1);
    let failed = store.save(&snapshot(20, 1, 800));
    invariant!("fail-stop", failed.is_err(), "a save whose fsync failed was acknowledged");
    let retry = store.save(&snapshot(20, 1, 800));
    invariant!("fail-stop", retry.is_err(), "after a failed fsync, a retried save was acknowledged: {retry:?}");
    let later = store.save(&snapshot(30, 1, 800));
    invariant!("fail-stop", later.is_err(), "after a failed fsync, a later save was acknowledged: {later:?}");
    let (disk, after) = reopen_after(&sim, CrashMode::Strict, 2);
    invariant!("durability", latest(&after) == Some(snapshot(10, 1, 800)), "the acknowledged snapshot was lost");
    crate::assert_clean_after_crash(&disk);
    distributed::invariant_ok!("fail-stop", after.save(&snapshot(20, 1, 800)), "a reopened store saves again");
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_old_snapshot_survives() {
    let sim = SimFs::with_config(SimFsConfig { seed: lab_seed(0x47), capacity: None });
    let fs: FsRef = Arc::new(sim.clone());
    let store = open_on(Arc::clone(&fs), 2);
    distributed::invariant_ok!("durability", store.save(&snapshot(10, 1, 3000)), "store.save(..)");
    let used: u64 = sim.listing().iter().map(|(_, b)| b.len() as u64).sum();
    sim.set_capacity(Some(used + 1000));
    let full = store.save(&snapshot(20, 1, 3000));
    invariant!("durability", full.is_err(), "a snapshot larger than the free space was acknowledged");
    invariant!(
        "durability",
        latest(&store) == Some(snapshot(10, 1, 3000)),
        "after a failed save on a full disk the old snapshot is not the latest"
    );
    sim.set_capacity(None);
    let (disk, after) = reopen_after(&sim, CrashMode::Strict, 2);
    invariant!("durability", latest(&after) == Some(snapshot(10, 1, 3000)), "the old snapshot did not survive");
    crate::assert_clean_after_crash(&disk);
    distributed::invariant_ok!("durability", after.save(&snapshot(20, 1, 3000)), "the store saves once there is space");
}

#[test]
fn short_writes_still_produce_complete_snapshots() {
    let (sim, fs) = sim_disk(lab_seed(0x48));
    let store = open_on(fs, 2);
    sim.short_next_writes(5);
    distributed::invariant_ok!("atomic-write", store.save(&snapshot(10, 1, 4000)), "store.save(..)");
    let (_, after) = reopen_after(&sim, CrashMode::Strict, 2);
    invariant!("atomic-write", latest(&after) == Some(snapshot(10, 1, 4000)), "a short write was not completed");
}
