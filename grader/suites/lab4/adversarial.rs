//! Disks that no crash of a correct replica leaves. Each is refused with a typed error, and
//! the refusal leaves the directory byte-identical: the replica's documentation says that
//! nothing changed on disk when an error naming an invariant is returned.

use std::path::Path;
use std::sync::Arc;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::StateMachineStorage;
use distributed::testing::{DirSnapshot, sim_disk};
use distributed::vfs::{CrashMode, FsRef, SimFs, Vfs, write_atomic};
use lab1::SyncPolicy;
use lab4::format::encode_hard_state;
use lab4::{HARD_STATE_FILE, HardState, KvStore, Replica, ReplicaError, SNAPSHOT_DIR, Snapshot, SnapshotMeta};

use crate::{DIR, commands, log_of, open, open_on};

/// A replica with 41 entries committed and applied, a snapshot at 12 and one at 41 (which
/// restarts the log at 42), then a clean shutdown.
fn with_two_snapshots(seed: u64) -> (SimFs, FsRef) {
    let (sim, fs) = sim_disk(seed);
    let log = log_of(&commands(seed, 40), 1);
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    distributed::invariant_ok!("persisted-commit", replica.append(&log), "append");
    distributed::invariant_ok!("persisted-commit", replica.commit(12), "commit");
    distributed::invariant_ok!("persisted-commit", replica.apply_committed(), "apply");
    distributed::invariant_ok!("persisted-commit", replica.take_snapshot(), "snapshot at 12");
    distributed::invariant_ok!("persisted-commit", replica.commit(41), "commit");
    distributed::invariant_ok!("persisted-commit", replica.apply_committed(), "apply");
    distributed::invariant_ok!("persisted-commit", replica.take_snapshot(), "snapshot at 41");
    drop(replica);
    let disk = sim.crash(CrashMode::Strict);
    let fs: FsRef = Arc::new(disk.clone());
    (disk, fs)
}

/// Opens `fs`, expecting a refusal that `accept` recognises and no change to any file.
fn refused(sim: &SimFs, fs: &FsRef, invariant: &str, what: &str, accept: impl Fn(&ReplicaError) -> bool) {
    let before = DirSnapshot::take(sim, DIR).expect("setup: list");
    let opened = open_on(Arc::clone(fs), SyncPolicy::EveryAppend);
    let after = DirSnapshot::take(sim, DIR).expect("setup: list");
    match opened {
        Ok(replica) => distributed::invariant!(
            invariant,
            false,
            "{what}: the replica opened (commit {}, log {}..={}, snapshot {:?})",
            replica.commit_index(),
            replica.first_log_index(),
            replica.last_log_index(),
            replica.snapshot_meta()
        ),
        Err(e) => invariant!(invariant, accept(&e), "{what}: refused with the wrong error: {e}"),
    }
    invariant!(invariant, before == after, "{what}: the refusal changed files: {:?}", before.differences(&after));
}

#[test]
fn a_hard_state_damaged_anywhere_is_refused_and_left_as_it_is() {
    let seed = lab_seed(0x4201);
    let (sim, fs) = sim_disk(seed);
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    distributed::invariant_ok!("persisted-commit", replica.append(&log_of(&commands(seed, 9), 1)), "append");
    distributed::invariant_ok!("persisted-commit", replica.set_term(3, Some(2)), "term");
    distributed::invariant_ok!("persisted-commit", replica.commit(7), "commit");
    drop(replica);
    let path = Path::new(DIR).join(HARD_STATE_FILE);
    let good = sim.contents(&path).expect("setup: the hard state");
    let is_corrupt = |e: &ReplicaError| matches!(e, ReplicaError::HardStateCorrupt { .. });
    for byte in 0..good.len() as u64 {
        sim.flip_bit(&path, byte * 8 + (byte % 8)).expect("setup: flip");
        refused(&sim, &fs, "persisted-commit", &format!("a flipped bit in byte {byte} of the hard state"), is_corrupt);
        sim.flip_bit(&path, byte * 8 + (byte % 8)).expect("setup: flip back");
    }
    for len in [0, 1, 8, 36, 39] {
        write_atomic(&sim, &path, &good[..len]).expect("setup: cut");
        refused(&sim, &fs, "persisted-commit", &format!("a hard state cut to {len} bytes"), is_corrupt);
    }
    let mut longer = good.clone();
    longer.push(0);
    write_atomic(&sim, &path, &longer).expect("setup: extend");
    refused(&sim, &fs, "persisted-commit", "a hard state with a byte too many", is_corrupt);
    write_atomic(&sim, &path, &good).expect("setup: restore");
    let replica = open(&fs, SyncPolicy::EveryAppend);
    invariant!(
        "persisted-commit",
        replica.hard_state() == HardState { term: 3, vote: Some(2), commit: 7 },
        "the intact hard state reads {:?}",
        replica.hard_state()
    );
}

#[test]
fn a_snapshot_older_than_the_log_s_start_is_not_taken_to_cover_the_gap() {
    let (sim, fs) = with_two_snapshots(lab_seed(0x4202));
    // The newest snapshot is lost (an operator removed it): the one at 12 remains, and the log
    // starts at 42.
    let snapshots = Path::new(DIR).join(SNAPSHOT_DIR);
    let newest = sim
        .read_dir(&snapshots)
        .expect("setup: list")
        .into_iter()
        .filter(|n| n.ends_with(".snap"))
        .max()
        .expect("setup: two");
    sim.remove_file(&snapshots.join(newest)).expect("setup: remove");
    sim.sync_dir(&snapshots).expect("setup: sync");
    refused(&sim, &fs, "recovery-equivalence", "a snapshot at 12 and a log from 42", |e| {
        matches!(e, ReplicaError::Inconsistent { .. })
    });
}

#[test]
fn a_commit_index_past_everything_held_is_refused() {
    let seed = lab_seed(0x4203);
    let (sim, fs) = sim_disk(seed);
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    distributed::invariant_ok!("monotonic", replica.append(&log_of(&commands(seed, 19), 1)), "append");
    distributed::invariant_ok!("monotonic", replica.commit(15), "commit");
    drop(replica);
    let path = Path::new(DIR).join(HARD_STATE_FILE);
    write_atomic(&sim, &path, &encode_hard_state(&HardState { term: 1, vote: None, commit: 21 }))
        .expect("setup: write");
    refused(&sim, &fs, "monotonic", "a commit index of 21 with a log ending at 20", |e| {
        matches!(e, ReplicaError::Inconsistent { commit: 21, .. })
    });
    write_atomic(&sim, &path, &encode_hard_state(&HardState { term: 1, vote: None, commit: 20 }))
        .expect("setup: write");
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    let applied = distributed::invariant_ok!("monotonic", replica.apply_committed(), "replay").len();
    invariant!("monotonic", applied == 20, "a commit index of 20 with 20 entries replays {applied}");
}

#[test]
fn a_log_that_contradicts_the_snapshot_is_refused() {
    let seed = lab_seed(0x4204);
    let (sim, fs) = sim_disk(seed);
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    distributed::invariant_ok!("recovery-equivalence", replica.append(&log_of(&commands(seed, 11), 1)), "append");
    distributed::invariant_ok!("recovery-equivalence", replica.commit(5), "commit");
    drop(replica);
    // A snapshot at (8, term 2) appears, while the log holds entry 8 of term 1.
    let store = distributed::invariant_ok!(
        "recovery-equivalence",
        lab3::SnapshotStore::open(Arc::clone(&fs), Path::new(DIR).join(SNAPSHOT_DIR), Default::default()),
        "the store"
    );
    let image = distributed::invariant_ok!(
        "recovery-equivalence",
        lab4::StateMachineStorage::snapshot(&KvStore::new()),
        "image"
    );
    distributed::invariant_ok!(
        "recovery-equivalence",
        store.save(&Snapshot { meta: SnapshotMeta { last_index: 8, last_term: 2 }, data: image }),
        "save"
    );
    drop(store);
    refused(&sim, &fs, "recovery-equivalence", "a snapshot (8, 2) over a log holding 8 of term 1", |e| {
        matches!(e, ReplicaError::Inconsistent { .. })
    });
}

#[test]
fn a_leftover_temporary_hard_state_is_ignored() {
    let seed = lab_seed(0x4205);
    let (sim, fs) = sim_disk(seed);
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    distributed::invariant_ok!("persisted-commit", replica.append(&log_of(&commands(seed, 5), 1)), "append");
    distributed::invariant_ok!("persisted-commit", replica.commit(4), "commit");
    drop(replica);
    let tmp = Path::new(DIR).join(format!("{HARD_STATE_FILE}.tmp"));
    let file = sim.open(&tmp, distributed::vfs::OpenMode::Create).expect("setup: create");
    file.write_all_at(0, &[0xee; 17]).expect("setup: write");
    let replica = open(&fs, SyncPolicy::EveryAppend);
    invariant!(
        "persisted-commit",
        replica.commit_index() == 4,
        "with a torn hardstate.tmp beside it, the hard state reads commit {}",
        replica.commit_index()
    );
}

#[test]
fn a_snapshot_image_that_cannot_be_restored_is_refused_on_install() {
    let seed = lab_seed(0x4206);
    let (sim, fs) = sim_disk(seed);
    let mut replica = distributed::invariant_ok!(
        "recovery-equivalence",
        Replica::open(Arc::clone(&fs), DIR, crate::options(SyncPolicy::EveryAppend), KvStore::new()),
        "open"
    );
    let log = log_of(&commands(seed, 9), 1);
    distributed::invariant_ok!("recovery-equivalence", replica.append(&log), "append");
    distributed::invariant_ok!("recovery-equivalence", replica.commit(3), "commit");
    distributed::invariant_ok!("recovery-equivalence", replica.apply_committed(), "apply");
    let state = replica.state().clone();
    let before = DirSnapshot::take(&sim, DIR).expect("setup: list");
    let bad = Snapshot { meta: SnapshotMeta { last_index: 8, last_term: 1 }, data: vec![0xff; 9] };
    let result = replica.install_snapshot(&bad);
    let after = DirSnapshot::take(&sim, DIR).expect("setup: list");
    invariant!(
        "recovery-equivalence",
        matches!(result, Err(ReplicaError::StateMachine { .. })),
        "installing an image the state machine cannot restore returned {result:?}"
    );
    invariant!(
        "recovery-equivalence",
        before == after && *replica.state() == state && replica.commit_index() == 3,
        "a refused install changed something: {:?}",
        before.differences(&after)
    );
}

#[test]
fn a_leaders_snapshot_of_an_older_term_is_refused_and_one_of_the_same_term_installed() {
    let seed = lab_seed(0x4207);
    let (sim, fs) = sim_disk(seed);
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    let leader = log_of(&commands(seed, 16), 3);
    let snapshot_at = |last_index: u64, last_term: u64| Snapshot {
        meta: SnapshotMeta { last_index, last_term },
        data: distributed::invariant_ok!("matching", crate::model_at(&leader, last_index).0.snapshot(), "image"),
    };
    let first = distributed::invariant_ok!("matching", replica.install_snapshot(&snapshot_at(8, 3)), "install (8, 3)");
    // The same term, further on: a leader's next snapshot.
    let second =
        distributed::invariant_ok!("matching", replica.install_snapshot(&snapshot_at(12, 3)), "install (12, 3)");
    invariant!(
        "matching",
        first && second && replica.snapshot_meta() == SnapshotMeta { last_index: 12, last_term: 3 },
        "installing (8, 3) then (12, 3) returned {first} and {second} and left the snapshot {:?}",
        replica.snapshot_meta()
    );
    let state = replica.state().clone();
    invariant!(
        "recovery-equivalence",
        state == crate::model_at(&leader, 12).0 && replica.commit_index() == 12,
        "after installing (12, 3), commit {} and the state is not the leader's at 12",
        replica.commit_index()
    );
    // Further on but of an older term: from a leader deposed before term 3 began.
    let before = DirSnapshot::take(&sim, DIR).expect("setup: list");
    let result = replica.install_snapshot(&snapshot_at(16, 2));
    let after = DirSnapshot::take(&sim, DIR).expect("setup: list");
    invariant!(
        "matching",
        matches!(result, Err(ReplicaError::Snapshot(lab3::SnapshotError::OutOfDate { .. }))),
        "installing (16, 2) over the snapshot (12, 3) returned {result:?}"
    );
    invariant!(
        "matching",
        before == after && *replica.state() == state && replica.commit_index() == 12,
        "the refused install of (16, 2) changed something: commit {}, the state {}, files {:?}",
        replica.commit_index(),
        if *replica.state() == state { "as before" } else { "replaced" },
        before.differences(&after)
    );
    let next = crate::entries_from(13, 3, &commands(seed ^ 0x13, 1));
    distributed::invariant_ok!("matching", replica.append(&next), "append entry 13 after the refusal");
}
