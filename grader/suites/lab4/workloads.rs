//! More workloads: repeated crashes and reopens under every sync policy, large values over
//! many segments, reads across the snapshot boundary, another snapshot store, and every
//! refusal of the API leaving the files as they were.

use std::sync::Arc;

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::{InMemorySnapshot, SnapshotStorage};
use distributed::testing::{DirSnapshot, sim_disk};
use distributed::vfs::{CrashMode, FsRef};
use lab1::SyncPolicy;
use lab4::{Command, Entry, Index, KvStore, Op, Replica, ReplicaError, SnapshotMeta};

use crate::{DIR, POLICIES, check_indexes, check_recovery, commands, log_of, model_at, open, open_on, options, reopen};

#[test]
fn the_commit_index_never_moves_back_across_many_crashes() {
    let seed = lab_seed(0x4301);
    let log = log_of(&commands(seed, 120), 1);
    for sync in POLICIES {
        let mut rng = TestRng::new(seed);
        let (mut sim, fs) = sim_disk(seed);
        let mut replica = open(&fs, sync);
        let mut acked: Index = 0;
        for round in 0..12 {
            let from = replica.last_log_index() + 1;
            let to = (from + rng.below(12)).min(log.len() as Index);
            if from <= to {
                distributed::invariant_ok!(
                    "persisted-commit",
                    replica.append(&log[from as usize - 1..to as usize]),
                    "append"
                );
            }
            let target = replica.last_log_index().saturating_sub(rng.below(3));
            distributed::invariant_ok!("persisted-commit", replica.commit(target), "commit");
            acked = acked.max(target);
            for _ in 0..rng.below(8) {
                distributed::invariant_ok!("persisted-commit", replica.apply_next(), "apply_next");
            }
            if rng.coin() {
                distributed::invariant_ok!("persisted-commit", replica.take_snapshot(), "take_snapshot");
            }
            drop(replica);
            let mode = if rng.coin() { CrashMode::Strict } else { CrashMode::Torn { seed: rng.next_u64() } };
            sim = sim.crash(mode);
            replica = reopen(&sim, sync);
            check_indexes(&replica, &format!("after crash {round} ({mode})"));
            invariant!(
                "persisted-commit",
                replica.commit_index() >= acked,
                "{sync:?}, crash {round} ({mode}): commit({acked}) returned, the reopened commit index is {}",
                replica.commit_index()
            );
            distributed::invariant_ok!("persisted-commit", replica.apply_committed(), "replay");
            let (model, _) = model_at(&log, replica.commit_index());
            invariant!(
                "recovery-equivalence",
                *replica.state() == model,
                "{sync:?}, crash {round}: the state after replay to {} is not the model's",
                replica.commit_index()
            );
        }
    }
}

#[test]
fn large_values_over_many_segments_replay_exactly() {
    let seed = lab_seed(0x4302);
    let mut rng = TestRng::new(seed);
    let commands: Vec<Command> = (0..50)
        .map(|i| {
            let len = 500 + rng.below(3000) as usize;
            Command::new(i, Op::Put { key: format!("big{}", rng.below(10)), value: rng.bytes(len) })
        })
        .collect();
    let log = log_of(&commands, 3);
    for sync in [SyncPolicy::EveryAppend, SyncPolicy::Never] {
        let (sim, fs) = sim_disk(seed);
        let mut replica = open(&fs, sync);
        let mut acks = Vec::new();
        for (round, chunk) in log.chunks(9).enumerate() {
            distributed::invariant_ok!("recovery-equivalence", replica.append(chunk), "append");
            let last = chunk[chunk.len() - 1].index;
            distributed::invariant_ok!("recovery-equivalence", replica.commit(last), "commit");
            acks.push(crate::Ack::Committed(last));
            for applied in distributed::invariant_ok!("recovery-equivalence", replica.apply_committed(), "apply") {
                acks.push(crate::Ack::Applied(applied.index, applied.output));
            }
            if round == 2 {
                distributed::invariant_ok!("recovery-equivalence", replica.take_snapshot(), "snapshot");
            }
        }
        drop(replica);
        check_recovery(&sim.crash(CrashMode::Strict), sync, &log, &acks);
    }
}

#[test]
fn terms_and_entries_are_read_across_the_snapshot_boundary() {
    let seed = lab_seed(0x4303);
    let (sim, fs) = sim_disk(seed);
    let mut log = log_of(&commands(seed, 19), 1);
    log.extend((21..=30).map(|i| Entry::new(i, 2, Vec::new())));
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    distributed::invariant_ok!("prefix-compaction", replica.append(&log), "append");
    distributed::invariant_ok!("prefix-compaction", replica.commit(30), "commit");
    for _ in 0..24 {
        distributed::invariant_ok!("prefix-compaction", replica.apply_next(), "apply");
    }
    let meta = distributed::invariant_ok!("prefix-compaction", replica.take_snapshot(), "snapshot");
    invariant!("recovery-equivalence", meta == SnapshotMeta { last_index: 24, last_term: 2 }, "snapshot {meta:?}");
    let check = |replica: &crate::Kv| {
        invariant!("prefix-compaction", replica.term(24).ok() == Some(2), "term(24) is {:?}", replica.term(24).ok());
        let read = replica.entries(25, 31);
        invariant!(
            "prefix-compaction",
            read.as_ref().ok().map(Vec::as_slice) == Some(&log[24..30]),
            "entries(25, 31) after a snapshot at 24: {:?}",
            read.map(|e| e.iter().map(|e| (e.index, e.term)).collect::<Vec<_>>())
        );
        invariant!("prefix-compaction", replica.first_log_index() <= 25, "first {}", replica.first_log_index());
        let latest =
            distributed::invariant_ok!("prefix-compaction", replica.latest_snapshot(), "latest").map(|s| s.meta);
        invariant!("prefix-compaction", latest == Some(meta), "latest_snapshot is {latest:?}, expected {meta:?}");
        invariant!("prefix-compaction", replica.snapshot_meta() == meta, "snapshot_meta {:?}", replica.snapshot_meta());
    };
    check(&replica);
    drop(replica);
    check(&reopen(&sim.crash(CrashMode::Strict), SyncPolicy::EveryAppend));
}

#[test]
fn another_snapshot_store_recovers_the_same_way() {
    let seed = lab_seed(0x4304);
    let (sim, fs) = sim_disk(seed);
    let log = log_of(&commands(seed, 30), 1);
    let store = InMemorySnapshot::<()>::new();
    let mut replica = distributed::invariant_ok!(
        "idempotent-replay",
        Replica::open_with_snapshots(Arc::clone(&fs), DIR, options(SyncPolicy::EveryAppend), KvStore::new(), store),
        "open with an in-memory store"
    );
    distributed::invariant_ok!("idempotent-replay", replica.append(&log), "append");
    distributed::invariant_ok!("idempotent-replay", replica.commit(20), "commit");
    distributed::invariant_ok!("idempotent-replay", replica.apply_committed(), "apply");
    let meta = distributed::invariant_ok!("idempotent-replay", replica.take_snapshot(), "snapshot");
    distributed::invariant_ok!("idempotent-replay", replica.commit(31), "commit");
    let snapshot = distributed::invariant_ok!("idempotent-replay", replica.latest_snapshot(), "latest")
        .unwrap_or_else(|| distributed::fail!("idempotent-replay", "a snapshot: expected Some, seen None"));
    drop(replica);
    let mut store = InMemorySnapshot::<()>::new();
    distributed::invariant_ok!("idempotent-replay", store.save(&snapshot), "save");
    let disk = sim.crash(CrashMode::Strict);
    let mut replica = Replica::open_with_snapshots(
        Arc::new(disk) as FsRef,
        DIR,
        options(SyncPolicy::EveryAppend),
        KvStore::new(),
        store,
    )
    .unwrap_or_else(|e| distributed::fail!("recovery-equivalence", "reopening with the in-memory store failed: {e}"));
    invariant!(
        "idempotent-replay",
        replica.last_applied() == meta.last_index && *replica.state() == model_at(&log, 20).0,
        "restored from the store's snapshot {meta:?}: last_applied {}",
        replica.last_applied()
    );
    let replayed = distributed::invariant_ok!("idempotent-replay", replica.apply_committed(), "replay");
    invariant!(
        "recovery-equivalence",
        replayed.len() == 11 && *replica.state() == model_at(&log, 31).0,
        "replay from 21 to 31 applied {} entries",
        replayed.len()
    );
}

/// An operation that the replica must refuse.
type Attempt = Box<dyn Fn(&mut crate::Kv) -> Result<(), ReplicaError>>;

#[test]
fn every_refusal_leaves_the_files_as_they_were() {
    let seed = lab_seed(0x4305);
    let (sim, fs) = sim_disk(seed);
    let log = log_of(&commands(seed, 14), 2);
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    distributed::invariant_ok!("persisted-commit", replica.set_term(4, Some(1)), "term");
    distributed::invariant_ok!("persisted-commit", replica.append(&log), "append");
    distributed::invariant_ok!("persisted-commit", replica.commit(6), "commit");
    distributed::invariant_ok!("persisted-commit", replica.apply_committed(), "apply");
    distributed::invariant_ok!("persisted-commit", replica.take_snapshot(), "snapshot");
    distributed::invariant_ok!("persisted-commit", replica.commit(9), "commit");
    let attempts: Vec<(&str, Attempt)> = vec![
        ("a conflict at the commit index", Box::new(|r| r.append(&[Entry::new(9, 3, Vec::new())]))),
        ("a conflict below the commit index", Box::new(|r| r.append(&[Entry::new(7, 3, Vec::new())]))),
        ("a gap", Box::new(|r| r.append(&[Entry::new(17, 2, Vec::new())]))),
        ("a commit past the log", Box::new(|r| r.commit(16))),
        ("a lower term", Box::new(|r| r.set_term(3, None))),
        ("another vote in the same term", Box::new(|r| r.set_term(4, Some(2)))),
    ];
    for (what, attempt) in attempts {
        let before = DirSnapshot::take(&sim, DIR).expect("setup: list");
        let (commit, applied, last) = (replica.commit_index(), replica.last_applied(), replica.last_log_index());
        let result = attempt(&mut replica);
        let after = DirSnapshot::take(&sim, DIR).expect("setup: list");
        let refused = matches!(
            result,
            Err(ReplicaError::TruncateCommitted { .. }
                | ReplicaError::Gap { .. }
                | ReplicaError::CommitBeyondLog { .. }
                | ReplicaError::TermRegression { .. })
        );
        invariant!("persisted-commit", refused, "{what} was not refused: {result:?}");
        invariant!(
            "persisted-commit",
            before == after
                && (commit, applied, last)
                    == (replica.commit_index(), replica.last_applied(), replica.last_log_index()),
            "{what} was refused but changed something: {:?}",
            before.differences(&after)
        );
    }
    drop(replica);
    let replica = distributed::invariant_ok!(
        "persisted-commit",
        open_on(Arc::new(sim.crash(CrashMode::Strict)), SyncPolicy::EveryAppend),
        "reopen"
    );
    invariant!("persisted-commit", replica.commit_index() == 9, "commit {}", replica.commit_index());
}
