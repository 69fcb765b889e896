//! Damage and failures: bit rot, torn and zeroed tails, a failed fsync, a full disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::Entry;
use distributed::testing::{entries, sim_disk};
use distributed::vfs::{CrashMode, FsRef, SimFs, SimFsConfig};
use lab1::format::segment_file_name;
use lab1::{SyncPolicy, Wal, WalError};

use crate::{DIR, Model, assert_matches_model, open_on, options, reopen_after};

fn segment_path(first_index: u64) -> PathBuf {
    Path::new(DIR).join(segment_file_name(first_index))
}

/// Offset of record `k` (0-based) in a segment of 40-byte records.
fn record_offset(k: u64) -> u64 {
    24 + 40 * k
}

#[test]
fn bit_rot_in_a_synced_record_is_never_returned() {
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, options(1 << 20, SyncPolicy::EveryAppend));
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 6, 1)), "wal.append(..)");
    // A bit inside the data of entry 3.
    sim.flip_bit(segment_path(1), (record_offset(2) + 30) * 8 + 2).expect("setup: flip a bit");
    if let Ok(entry) = wal.entry(3) {
        invariant!("checksum", false, "entry 3 was damaged on disk but read back as {entry:?}");
    }
    invariant!("checksum", wal.entries(1, 7).is_err(), "a range over a damaged entry read back without an error");
    distributed::invariant_eq!(
        "checksum",
        distributed::invariant_ok!("matching", wal.entry(4), "wal.entry(..)"),
        entries(4, 4, 1)[0],
        "undamaged entries still read"
    );
}

#[test]
fn damage_anywhere_in_a_sealed_segment_is_refused_on_open() {
    let seed = lab_seed(2);
    let mut rng = TestRng::new(seed);
    // Segments 1-3, 4-6, 7: the first two are sealed.
    for byte in (0..record_offset(3)).step_by(3) {
        let (sim, fs) = sim_disk(seed);
        let wal = open_on(fs, options(144, SyncPolicy::EveryAppend));
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 7, 1)), "wal.append(..)");
        drop(wal);
        sim.flip_bit(segment_path(1), byte * 8 + rng.below(8)).expect("setup: flip a bit");
        let fs: FsRef = Arc::new(sim.clone());
        match Wal::open(fs, DIR, options(144, SyncPolicy::EveryAppend)) {
            Err(WalError::Corrupt { .. }) => {}
            Err(other) => distributed::fail!(
                "checksum",
                "a flipped bit at byte {byte} of a sealed segment gave {other:?}, expected WalError::Corrupt",
            ),
            Ok(wal) => distributed::fail!(
                "checksum",
                "a flipped bit at byte {byte} of a sealed segment went unnoticed: the log opened with {}..={}",
                wal.first_index(),
                wal.last_index(),
            ),
        }
    }
}

#[test]
fn a_last_record_torn_at_every_byte_is_cut_and_the_log_continues() {
    for cut in 1..40u64 {
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open_on(fs, options(1 << 20, SyncPolicy::EveryAppend));
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 5, 1)), "wal.append(..)");
        drop(wal);
        sim.truncate_durable(segment_path(1), record_offset(5) - cut).expect("setup: cut the durable file");
        let (_, wal) = reopen_after(&sim, CrashMode::Strict, options(1 << 20, SyncPolicy::EveryAppend));
        assert_matches_model(&wal, &Model::of(entries(1, 4, 1)));
        wal.append(&entries(5, 6, 2))
            .unwrap_or_else(|e| distributed::fail!("torn-tail", "appending after a tail torn {cut} bytes short: {e}"));
    }
}

fn tail_damage(fill: impl Fn(&mut TestRng) -> Vec<u8>) {
    let seed = lab_seed(3);
    let mut rng = TestRng::new(seed);
    for variant in 0..10 {
        let (sim, fs) = sim_disk(seed + variant);
        let wal = open_on(fs, options(1 << 20, SyncPolicy::EveryAppend));
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 5, 1)), "wal.append(..)");
        drop(wal);
        sim.overwrite(segment_path(1), record_offset(5), &fill(&mut rng))
            .expect("setup: sim.overwrite(segment_path(1),");
        let (disk, wal) = reopen_after(&sim, CrashMode::Strict, options(1 << 20, SyncPolicy::EveryAppend));
        let mut model = Model::of(entries(1, 5, 1));
        assert_matches_model(&wal, &model);
        wal.append(&entries(6, 7, 1))
            .unwrap_or_else(|e| distributed::fail!("torn-tail", "appending after a damaged tail: {e}",));
        model.append(&entries(6, 7, 1));
        let (_, again) = reopen_after(&disk, CrashMode::Strict, options(1 << 20, SyncPolicy::EveryAppend));
        assert_matches_model(&again, &model);
    }
}

#[test]
fn a_zero_filled_tail_is_not_mistaken_for_records() {
    tail_damage(|rng| vec![0; 16 + rng.below(4096) as usize]);
}

#[test]
fn a_garbage_tail_is_cut() {
    tail_damage(|rng| {
        let len = 1 + rng.below(2000) as usize;
        rng.bytes(len)
    });
}

fn fail_stop(policy: SyncPolicy) {
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, options(1 << 20, policy));
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 3, 1)), "wal.append(..)");
    sim.fail_next_syncs(1);
    invariant!("fail-stop", wal.append(&entries(4, 4, 1)).is_err(), "an append whose fsync failed was acknowledged");
    let retry = wal.append(&entries(4, 4, 1));
    invariant!("fail-stop", retry.is_err(), "after a failed fsync, a retried append was acknowledged: {retry:?}");
    let next = wal.append(&entries(5, 5, 1));
    invariant!("fail-stop", next.is_err(), "after a failed fsync, a later append was acknowledged: {next:?}");
    invariant!("fail-stop", wal.sync().is_err(), "after a failed fsync, sync() reported success");
    let (_, after) = reopen_after(&sim, CrashMode::Strict, options(1 << 20, policy));
    assert_matches_model(&after, &Model::of(entries(1, 3, 1)));
}

#[test]
fn a_failed_fsync_stops_every_later_acknowledgement() {
    fail_stop(SyncPolicy::EveryAppend);
}

#[test]
fn a_failed_fsync_stops_group_commit_too() {
    fail_stop(SyncPolicy::GroupCommit);
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    let sim = SimFs::with_config(SimFsConfig { seed: lab_seed(1), capacity: None });
    let fs: FsRef = Arc::new(sim.clone());
    let wal = open_on(fs, options(1000, SyncPolicy::EveryAppend));
    let mut model = Model::default();
    model.append(&entries(1, 10, 1));
    distributed::invariant_ok!("append-only", wal.append(&model.entries), "wal.append(..)");
    sim.set_capacity(Some(sim.listing().iter().map(|(_, b)| b.len() as u64).sum::<u64>() + 500));
    let mut failed = false;
    for i in 11..60 {
        let entry = Entry::new(i, 1, vec![b'x'; 100]);
        match wal.append(std::slice::from_ref(&entry)) {
            Ok(()) => model.append(&[entry]),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    invariant!("durability", failed, "the disk filled up but every append succeeded");
    sim.set_capacity(None);
    let (_, after) = reopen_after(&sim, CrashMode::Strict, options(1000, SyncPolicy::EveryAppend));
    assert_matches_model(&after, &model);
    let next = model.last() + 1;
    distributed::invariant_ok!(
        "durability",
        after.append(&[Entry::new(next, 1, b"space again".to_vec())]),
        "the log works once there is space"
    );
}
