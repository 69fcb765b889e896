//! Lab 4's hidden suite: what the grader checks beyond the public tests.
//!
//! - `crash`: longer workloads (leader changes that cut a suffix, snapshots, installs) with a
//!   power cut after every step, strict and torn images, under every sync policy;
//! - `adversarial`: disks no crash of a correct replica leaves (a damaged hard state, a
//!   snapshot older than the log's start, a commit index past the log, a log that contradicts
//!   the snapshot), each refused with the directory left byte-identical;
//! - `workloads`: repeated crashes and reopens, large values, many segments, every refusal of
//!   the API leaving the files as they were;
//! - `model`: a property test of random appends, conflicts, commits, applies, snapshots and
//!   reopens against a model in memory;
//! - `determinism`: one log replayed on fresh replicas in two separate processes gives the
//!   same snapshot digests and outputs.
//!
//! Every expectation here comes from the stub's documentation or the book's chapter. Set
//! `LAB4_DEEP=1` to explore more seeds and torn images than the graded run does.

mod adversarial;
mod crash;
mod determinism;
mod model;
mod workloads;

use std::collections::BTreeMap;
use std::sync::Arc;

use distributed::invariant;
use distributed::rng::TestRng;
use distributed::storage::StateMachineStorage;
use distributed::vfs::{FsRef, SimFs};
use lab1::{SyncPolicy, WalOptions};
use lab4::{Command, Entry, Index, KvStore, Op, Output, Replica, ReplicaError, ReplicaOptions, Write};

pub const DIR: &str = "replica";

pub type Kv = Replica<KvStore>;

pub const POLICIES: [SyncPolicy; 3] = [SyncPolicy::EveryAppend, SyncPolicy::GroupCommit, SyncPolicy::Never];

/// Whether to explore more than the graded run (`LAB4_DEEP=1`).
pub fn deep() -> bool {
    std::env::var_os("LAB4_DEEP").is_some_and(|v| v != "0")
}

/// Small segments, so that a few dozen entries fill several and compaction removes whole ones.
pub fn options(sync: SyncPolicy) -> ReplicaOptions {
    ReplicaOptions { wal: WalOptions { segment_size: 400, sync }, ..ReplicaOptions::default() }
}

pub fn open_on(fs: FsRef, sync: SyncPolicy) -> Result<Kv, ReplicaError> {
    Replica::open(fs, DIR, options(sync), KvStore::new())
}

pub fn open(fs: &FsRef, sync: SyncPolicy) -> Kv {
    open_on(Arc::clone(fs), sync)
        .unwrap_or_else(|e| distributed::fail!("recovery-equivalence", "opening the replica failed: {e}",))
}

/// Fails the test naming `invariant`, where a value is expected.
#[macro_export]
macro_rules! fail {
    ($invariant:expr, $($detail:tt)+) => {{
        distributed::invariant!($invariant, false, $($detail)+);
        unreachable!()
    }};
}

/// Opens the replica on a crashed disk: a commit index past the log is [monotonic], any other
/// refusal [recovery-equivalence].
pub fn reopen(disk: &SimFs, sync: SyncPolicy) -> Kv {
    match open_on(Arc::new(disk.clone()), sync) {
        Ok(replica) => replica,
        Err(e @ ReplicaError::Inconsistent { commit, log_last, snapshot, .. })
            if commit > log_last.max(snapshot.last_index) =>
        {
            fail!("monotonic", "after the crash the persisted commit index passes the durable log: {e}")
        }
        Err(e) => fail!("recovery-equivalence", "the replica does not open after the crash: {e}"),
    }
}

/// A seeded workload of `count` commands over a few keys; increments make a double apply
/// visible, timestamps increase with a few steps back (a new leader's clock behind).
pub fn commands(seed: u64, count: usize) -> Vec<Command> {
    let mut rng = TestRng::new(seed);
    (0..count)
        .map(|i| {
            let key = format!("k{}", rng.below(8));
            let op = match rng.below(12) {
                0..=2 => {
                    let len = 1 + rng.below(24) as usize;
                    Op::Put { key, value: rng.bytes(len) }
                }
                3 => Op::Delete { key },
                4..=8 => Op::Increment { key: format!("c{}", rng.below(3)), delta: rng.in_range(1, 1000) as i64 - 500 },
                9 => Op::Batch(vec![
                    Write::Put { key: key.clone(), value: rng.bytes(5) },
                    Write::Delete { key: format!("k{}", rng.below(8)) },
                    Write::Put { key: format!("b{}", rng.below(4)), value: vec![b'v'; 2] },
                ]),
                10 => Op::Increment { key, delta: 1 },
                _ => Op::Noop,
            };
            let timestamp = 10_000 + 7 * i as u64 - rng.below(20);
            Command::new(timestamp, op)
        })
        .collect()
}

/// Entries `first..` of `term` carrying `commands`.
pub fn entries_from(first: Index, term: u64, commands: &[Command]) -> Vec<Entry> {
    commands.iter().enumerate().map(|(i, c)| Entry::new(first + i as Index, term, c.encode())).collect()
}

/// A leader's log in `term`: its no-op entry at index 1, then `commands`.
pub fn log_of(commands: &[Command], term: u64) -> Vec<Entry> {
    let mut log = vec![Entry::new(1, term, Vec::new())];
    log.extend(entries_from(2, term, commands));
    log
}

/// Entries `1..=upto` of `log` applied in memory to an empty state, and their outputs.
pub fn model_at(log: &[Entry], upto: Index) -> (KvStore, Vec<Vec<u8>>) {
    let mut kv = KvStore::new();
    let outputs = log[..upto as usize]
        .iter()
        .map(|e| distributed::invariant_ok!("recovery-equivalence", kv.apply(&e.data), "the model applies"))
        .collect();
    (kv, outputs)
}

/// `snapshot.last_index ≤ last_applied ≤ commit_index ≤ last_log_index`.
pub fn check_indexes(replica: &Kv, when: &str) {
    let (snap, applied, commit, last) =
        (replica.snapshot_meta().last_index, replica.last_applied(), replica.commit_index(), replica.last_log_index());
    invariant!(
        "monotonic",
        snap <= applied && applied <= commit && commit <= last,
        "{when}: snapshot.last_index ({snap}) ≤ last_applied ({applied}) ≤ commit_index ({commit}) ≤ last_log_index \
         ({last}) does not hold"
    );
}

/// What a workload was told.
#[derive(Clone, Debug)]
pub enum Ack {
    /// `commit(index)` returned `Ok`.
    Committed(Index),
    /// Entry `index` was applied and returned `output`.
    Applied(Index, Vec<u8>),
}

/// After a crash: the replica opens, its indexes are ordered, its commit index is at least the
/// last one acknowledged, replay applies each committed entry once, in order, returning what
/// it returned the first time, and the state is the model's at the commit index. `log` is the
/// log every committed entry comes from (the last leader's).
pub fn check_recovery(disk: &SimFs, sync: SyncPolicy, log: &[Entry], acks: &[Ack]) -> Kv {
    let mut replica = reopen(disk, sync);
    check_indexes(&replica, "after reopening");
    let acked_commit =
        acks.iter().filter_map(|a| if let Ack::Committed(i) = a { Some(*i) } else { None }).max().unwrap_or(0);
    invariant!(
        "persisted-commit",
        replica.commit_index() >= acked_commit,
        "commit({acked_commit}) returned Ok before the crash, but the reopened replica's commit index is {}",
        replica.commit_index()
    );
    let first: BTreeMap<Index, &Vec<u8>> =
        acks.iter().filter_map(|a| if let Ack::Applied(i, o) = a { Some((*i, o)) } else { None }).collect();
    let start = replica.last_applied();
    let replayed = replica.apply_committed().unwrap_or_else(|e| fail!("recovery-equivalence", "replay failed: {e}"));
    for (position, applied) in replayed.iter().enumerate() {
        let expected = start + 1 + position as Index;
        invariant!(
            "in-order-apply",
            applied.index == expected,
            "replay from {start} returned entry {} in position {position}, expected {expected}",
            applied.index
        );
        if let Some(output) = first.get(&applied.index) {
            invariant!(
                "idempotent-replay",
                &applied.output == *output,
                "entry {} returned {:?} on replay but {:?} the first time (replay started after entry {start})",
                applied.index,
                Output::decode(&applied.output),
                Output::decode(output)
            );
        }
    }
    invariant!(
        "monotonic",
        replica.last_applied() == replica.commit_index(),
        "after apply_committed, last_applied {} but commit index {}",
        replica.last_applied(),
        replica.commit_index()
    );
    let (model, _) = model_at(log, replica.commit_index());
    invariant!(
        "recovery-equivalence",
        *replica.state() == model,
        "after replay to {} the state differs from the model's: {} keys, log time {}; expected {} keys, log time {}",
        replica.commit_index(),
        replica.state().len(),
        replica.state().log_time(),
        model.len(),
        model.log_time()
    );
    replica
}
