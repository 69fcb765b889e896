//! Lab 4's public tests, in the order of the chapter's tasks: the state machine, the hard-state
//! format, the replica's operations, the order of commit's steps, snapshots, recovery and
//! installing a leader's snapshot.
//!
//! Run them with `cargo test -p lab4`; one task at a time with, for example,
//! `cargo test -p lab4 kv::`. A failure starts with the invariant it broke, in brackets, and
//! ends with the command that replays it.
//!
//! The crash tests run a workload on a simulated disk, cut the power after each of its steps
//! in turn, reopen the replica on what the disk kept, replay, and compare with a model: the
//! same entries applied in memory, with no disk and no crash.

// `drop(replica)` stands for the process ending: your `Replica` may hold types with a `Drop`
// (open files, a lock), even though the stub's does not.
#![allow(clippy::drop_non_drop)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use distributed::explore::CrashExplorer;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::{SnapshotStorage, StateMachineStorage};
use distributed::testing::{DirSnapshot, sim_disk};
use distributed::vfs::{FsRef, SimFs, Vfs};
use distributed::{invariant, invariant_matches};
use lab1::{SyncPolicy, WalOptions};
use lab3::{SnapshotError, SnapshotStore, StoreOptions};
use lab4::{
    Command, Entry, HARD_STATE_FILE, Index, KvError, KvStore, Op, Output, Replica, ReplicaError, ReplicaOptions,
    SNAPSHOT_DIR, Snapshot, SnapshotMeta, Write,
};

const DIR: &str = "replica";

type Kv = Replica<KvStore>;

/// Small segments, so that a few dozen entries fill several and compaction removes whole ones.
fn options(sync: SyncPolicy) -> ReplicaOptions {
    ReplicaOptions { wal: WalOptions { segment_size: 512, sync }, ..ReplicaOptions::default() }
}

fn open(fs: &FsRef, sync: SyncPolicy) -> Kv {
    Replica::open(Arc::clone(fs), DIR, options(sync), KvStore::new())
        .unwrap_or_else(|e| distributed::fail!("recovery-equivalence", "opening the replica failed: {e}"))
}

/// Fails the test naming `invariant`, where a value is expected (a `match` arm).
macro_rules! fail {
    ($invariant:expr, $($detail:tt)+) => {{
        invariant!($invariant, false, $($detail)+);
        unreachable!()
    }};
}

/// Opens the replica on the disk a crash left, failing with the invariant a refusal breaks:
/// a commit index past the log is [monotonic]; any other refusal is [recovery-equivalence].
fn reopen(disk: &SimFs, sync: SyncPolicy) -> Kv {
    match Replica::open(Arc::new(disk.clone()), DIR, options(sync), KvStore::new()) {
        Ok(replica) => replica,
        Err(e @ ReplicaError::Inconsistent { commit, log_last, snapshot, .. })
            if commit > log_last.max(snapshot.last_index) =>
        {
            fail!("monotonic", "after the crash the persisted commit index passes the durable log: {e}")
        }
        Err(e) => fail!("recovery-equivalence", "the replica does not open after the crash: {e}"),
    }
}

fn put(key: &str, value: &[u8]) -> Op {
    Op::Put { key: key.into(), value: value.to_vec() }
}

fn incr(key: &str, delta: i64) -> Op {
    Op::Increment { key: key.into(), delta }
}

/// Applies `op` at log time `timestamp` and decodes the output.
fn run(kv: &mut KvStore, timestamp: u64, op: Op) -> Output {
    let bytes =
        distributed::invariant_ok!("determinism", kv.apply(&Command::new(timestamp, op).encode()), "apply a command");
    distributed::invariant_ok!("determinism", Output::decode(&bytes), "apply returns an encoded Output")
}

/// A seeded workload of `count` commands: puts and deletes on `k0..k5`, increments of
/// `c0..c2` (applying one twice is visible), batches and no-ops, with increasing timestamps.
fn commands(seed: u64, count: usize) -> Vec<Command> {
    let mut rng = TestRng::new(seed);
    (0..count)
        .map(|i| {
            let key = format!("k{}", rng.below(6));
            let op = match rng.below(10) {
                0..=2 => {
                    let len = 1 + rng.below(12) as usize;
                    Op::Put { key, value: rng.bytes(len) }
                }
                3 => Op::Delete { key },
                4..=7 => Op::Increment { key: format!("c{}", rng.below(3)), delta: rng.in_range(1, 100) as i64 },
                8 => Op::Batch(vec![
                    Write::Put { key: key.clone(), value: vec![b'b'; 3] },
                    Write::Delete { key: format!("k{}", rng.below(6)) },
                ]),
                _ => Op::Noop,
            };
            Command::new(1_000 + 10 * i as u64, op)
        })
        .collect()
}

/// The log of a leader in `term`: a no-op entry (empty data) at index 1, then `commands`.
fn log_of(commands: &[Command], term: u64) -> Vec<Entry> {
    std::iter::once(Entry::new(1, term, Vec::new()))
        .chain(commands.iter().enumerate().map(|(i, c)| Entry::new(i as Index + 2, term, c.encode())))
        .collect()
}

/// The model: entries `1..=upto` applied in memory to an empty state, and their outputs.
fn model_at(entries: &[Entry], upto: Index) -> (KvStore, Vec<Vec<u8>>) {
    let mut kv = KvStore::new();
    let outputs = entries[..upto as usize]
        .iter()
        .map(|e| distributed::invariant_ok!("determinism", kv.apply(&e.data), "the model applies"))
        .collect();
    (kv, outputs)
}

/// `snapshot.last_index ≤ last_applied ≤ commit_index ≤ last_log_index`.
fn check_indexes(replica: &Kv, when: &str) {
    let (snap, applied, commit, last) =
        (replica.snapshot_meta().last_index, replica.last_applied(), replica.commit_index(), replica.last_log_index());
    invariant!(
        "monotonic",
        snap <= applied && applied <= commit && commit <= last,
        "{when}: snapshot.last_index ({snap}) ≤ last_applied ({applied}) ≤ commit_index ({commit}) ≤ last_log_index ({last}) does not hold"
    );
}

/// What a workload was told, in order.
#[derive(Clone, Debug)]
enum Ack {
    /// `commit(index)` returned `Ok`.
    Committed(Index),
    /// Entry `index` was applied and returned `output` to its client.
    Applied(Index, Vec<u8>),
}

/// After a crash: the replica opens; the indexes are ordered; the commit index is at least
/// the last one acknowledged; replay applies every committed entry once, in order, returning
/// to each client what it returned the first time; and the state equals the model's at the
/// commit index.
fn check_recovery(disk: &SimFs, sync: SyncPolicy, entries: &[Entry], acks: &[Ack]) {
    let mut replica = reopen(disk, sync);
    check_indexes(&replica, "after reopening");
    let acked_commit = acks.iter().filter_map(|a| if let Ack::Committed(i) = a { Some(*i) } else { None }).max();
    let acked_commit = acked_commit.unwrap_or(0);
    invariant!(
        "persisted-commit",
        replica.commit_index() >= acked_commit,
        "commit({acked_commit}) returned Ok before the crash, but the reopened replica's commit index is {}",
        replica.commit_index()
    );
    let first_outputs: BTreeMap<Index, &Vec<u8>> =
        acks.iter().filter_map(|a| if let Ack::Applied(i, o) = a { Some((*i, o)) } else { None }).collect();
    let start = replica.last_applied();
    let replayed = replica
        .apply_committed()
        .unwrap_or_else(|e| fail!("recovery-equivalence", "replay after reopening failed: {e}"));
    for (position, applied) in replayed.iter().enumerate() {
        let expected = start + 1 + position as Index;
        invariant!(
            "in-order-apply",
            applied.index == expected,
            "replay from last_applied {start} returned entry {} in position {position}, expected entry {expected}",
            applied.index
        );
        if let Some(first) = first_outputs.get(&applied.index) {
            invariant!(
                "idempotent-replay",
                &applied.output == *first,
                "entry {} returned {:?} on replay but {:?} the first time: an effect was applied twice, or one is \
                 missing (replay started after entry {start})",
                applied.index,
                Output::decode(&applied.output),
                Output::decode(first)
            );
        }
    }
    invariant!(
        "monotonic",
        replica.last_applied() == replica.commit_index(),
        "after apply_committed, last_applied is {} but the commit index is {}",
        replica.last_applied(),
        replica.commit_index()
    );
    let (model, _) = model_at(entries, replica.commit_index());
    invariant!(
        "recovery-equivalence",
        *replica.state() == model,
        "after replay to commit index {} the state differs from entries 1..={0} applied in memory: {} keys, log time \
         {}; expected {} keys, log time {}",
        replica.commit_index(),
        replica.state().len(),
        replica.state().log_time(),
        model.len(),
        model.log_time()
    );
    check_indexes(&replica, "after replay");
}

/// Appends `entries` in batches of `batch`, committing and applying after each, and taking a
/// snapshot every `snapshot_every` batches; records every acknowledgement.
fn drive(
    replica: &mut Kv,
    entries: &[Entry],
    batch: usize,
    snapshot_every: usize,
    acks: &mut Vec<Ack>,
) -> Result<(), ReplicaError> {
    for (round, chunk) in entries.chunks(batch).enumerate() {
        replica.append(chunk)?;
        let last = chunk.last().expect("setup: chunks are not empty").index;
        replica.commit(last)?;
        acks.push(Ack::Committed(last));
        for applied in replica.apply_committed()? {
            acks.push(Ack::Applied(applied.index, applied.output));
        }
        if snapshot_every > 0 && round % snapshot_every == snapshot_every - 1 {
            replica.take_snapshot()?;
        }
    }
    Ok(())
}

mod kv {
    use super::*;

    #[test]
    fn commands_return_the_outputs_their_documentation_gives() {
        let mut kv = KvStore::new();
        distributed::invariant_eq!(
            "determinism",
            run(&mut kv, 1, put("a", b"1")),
            Output::Previous(None),
            "a put returns the previous value",
        );
        distributed::invariant_eq!(
            "determinism",
            run(&mut kv, 2, put("a", b"2")),
            Output::Previous(Some(b"1".to_vec())),
            "put",
        );
        distributed::invariant_eq!(
            "determinism",
            run(&mut kv, 3, Op::Delete { key: "a".into() }),
            Output::Previous(Some(b"2".to_vec())),
            "run(&mut kv, 3, Op::Delete {{ key: \"a\".into() }})",
        );
        distributed::invariant_eq!(
            "determinism",
            run(&mut kv, 4, Op::Delete { key: "a".into() }),
            Output::Previous(None),
            "delete",
        );
        distributed::invariant_eq!(
            "determinism",
            run(&mut kv, 5, incr("n", 5)),
            Output::Counter(5),
            "a missing counter counts as 0",
        );
        distributed::invariant_eq!(
            "determinism",
            run(&mut kv, 6, incr("n", -7)),
            Output::Counter(-2),
            "increment adds",
        );
        distributed::invariant_eq!(
            "determinism",
            kv.get("n"),
            Some(&(-2i64).to_le_bytes()[..]),
            "a counter is 8 bytes, little-endian",
        );
        distributed::invariant_eq!("determinism", run(&mut kv, 7, Op::Noop), Output::Done, "a no-op returns Done");
        let batch = Op::Batch(vec![
            Write::Put { key: "x".into(), value: b"1".to_vec() },
            Write::Put { key: "y".into(), value: b"2".to_vec() },
            Write::Delete { key: "x".into() },
        ]);
        distributed::invariant_eq!("determinism", run(&mut kv, 8, batch), Output::Done, "a batch returns Done");
        distributed::invariant_eq!(
            "determinism",
            (kv.get("x"), kv.get("y")),
            (None, Some(&b"2"[..])),
            "a batch's writes, in order",
        );
        let entries: Vec<(&str, &[u8])> = kv.iter().collect();
        distributed::invariant_eq!(
            "determinism",
            entries,
            [("n", &(-2i64).to_le_bytes()[..]), ("y", &b"2"[..])],
            "iter is in key order",
        );
        distributed::invariant_eq!("determinism", kv.len(), 2, "kv.len()");

        // Refusals are answers: deterministic, and nothing changes.
        run(&mut kv, 9, put("s", b"not a counter"));
        let before = distributed::invariant_ok!("determinism", kv.snapshot(), "snapshot");
        for op in [incr("s", 1), incr("n", i64::MIN)] {
            let out = run(&mut kv, 9, op.clone());
            invariant!("determinism", matches!(out, Output::Rejected(_)), "{op:?} returned {out:?}, not Rejected");
        }
        invariant!(
            "determinism",
            distributed::invariant_ok!("determinism", kv.snapshot(), "snapshot") == before,
            "a rejected command changed the state"
        );
        // The leader's no-op entry has empty data.
        let done = distributed::invariant_ok!("determinism", kv.apply(&[]), "empty data is a no-op entry");
        distributed::invariant_eq!(
            "determinism",
            Output::decode(&done),
            Ok(Output::Done),
            "an empty entry returns Done",
        );
    }

    #[test]
    fn equal_states_give_equal_images_whatever_the_order_of_writes() {
        let keys: Vec<String> = (0..64).map(|i| format!("key{i:02}")).collect();
        let mut forward = KvStore::new();
        let mut backward = KvStore::new();
        for key in &keys {
            run(&mut forward, 1, put(key, key.as_bytes()));
        }
        for key in keys.iter().rev() {
            run(&mut backward, 1, put(key, key.as_bytes()));
        }
        invariant!("determinism", forward == backward, "the same writes in another order gave another state");
        let (a, b) = (
            distributed::invariant_ok!("determinism", forward.snapshot(), "snapshot"),
            distributed::invariant_ok!("determinism", backward.snapshot(), "snapshot"),
        );
        invariant!(
            "determinism",
            a == b,
            "two equal states gave different images ({} and {} bytes): replicas comparing digests would think they diverged",
            a.len(),
            b.len()
        );
        let listed: Vec<&str> = forward.iter().map(|(k, _)| k).collect();
        invariant!("determinism", listed.windows(2).all(|w| w[0] < w[1]), "iter is not in key order: {listed:?}");
        let mut restored = KvStore::new();
        distributed::invariant_ok!("determinism", restored.restore(&a), "restore an image");
        invariant!("determinism", restored == forward, "restoring an image gave another state");
        invariant!(
            "determinism",
            distributed::invariant_ok!("determinism", restored.snapshot(), "snapshot") == a,
            "an image does not round-trip"
        );
    }

    #[test]
    fn log_time_comes_from_the_entries_and_never_goes_back() {
        let mut kv = KvStore::new();
        distributed::invariant_eq!("determinism", kv.log_time(), 0, "log time starts at 0");
        run(&mut kv, 500, put("a", b"1"));
        invariant!("determinism", kv.log_time() == 500, "log time is {} after a command stamped 500", kv.log_time());
        run(&mut kv, 300, put("a", b"2"));
        invariant!(
            "determinism",
            kv.log_time() == 500,
            "log time is {} after a command stamped 300 followed one stamped 500: it must not move back, nor read \
             a clock",
            kv.log_time()
        );
        run(&mut kv, 900, Op::Noop);
        invariant!("determinism", kv.log_time() == 900, "log time is {} after a no-op stamped 900", kv.log_time());
        let mut restored = KvStore::new();
        distributed::invariant_ok!(
            "determinism",
            restored.restore(&distributed::invariant_ok!("determinism", kv.snapshot(), "snapshot")),
            "restore"
        );
        invariant!("determinism", restored.log_time() == 900, "log time is not part of the image");
    }

    #[test]
    fn a_bad_entry_or_image_is_an_error_and_changes_nothing() {
        let mut kv = KvStore::new();
        run(&mut kv, 7, put("a", b"1"));
        let before = kv.clone();
        distributed::invariant_matches!(
            "determinism",
            kv.apply(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            Err(KvError::BadCommand(_)),
            "data that is not a command is BadCommand",
        );
        distributed::invariant_matches!(
            "determinism",
            kv.restore(b"\xff\xff\xff"),
            Err(KvError::BadImage(_)),
            "a bad image is BadImage",
        );
        invariant!("determinism", kv == before, "a refused entry or image changed the state");
    }
}

mod format {
    use super::*;
    use lab4::HardState;
    use lab4::format::{HardStateFormatError, decode_hard_state, encode_hard_state};

    #[test]
    fn a_record_follows_the_byte_table() {
        let state = HardState { term: 7, vote: Some(3), commit: 42 };
        let bytes = encode_hard_state(&state);
        distributed::invariant_eq!("on-disk-format", &bytes[0..8], b"RSMHST01", "the record starts with the magic");
        distributed::invariant_eq!("on-disk-format", &bytes[8..16], &7u64.to_le_bytes(), "then the term");
        distributed::invariant_eq!("on-disk-format", &bytes[16..20], &1u32.to_le_bytes(), "then the vote flag");
        distributed::invariant_eq!("on-disk-format", &bytes[20..28], &3u64.to_le_bytes(), "then the vote");
        distributed::invariant_eq!("on-disk-format", &bytes[28..36], &42u64.to_le_bytes(), "then the commit index");
        distributed::invariant_eq!(
            "on-disk-format",
            &bytes[36..40],
            &crc32fast::hash(&bytes[..36]).to_le_bytes(),
            "then the CRC",
        );
        distributed::invariant_eq!("on-disk-format", decode_hard_state(&bytes), Ok(state), "the record decodes");
        let none = encode_hard_state(&HardState { term: 1, vote: None, commit: 0 });
        distributed::invariant_eq!("on-disk-format", &none[16..28], &[0u8; 12], "no vote: flag 0 and vote 0");
        distributed::invariant_eq!(
            "on-disk-format",
            decode_hard_state(&none),
            Ok(HardState { term: 1, vote: None, commit: 0 }),
            "decode_hard_state(&none)",
        );
    }

    #[test]
    fn damage_at_every_byte_and_every_cut_is_detected() {
        let bytes = encode_hard_state(&HardState { term: 3, vote: Some(2), commit: 9 });
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes;
            damaged[bit / 8] ^= 1 << (bit % 8);
            invariant!("checksum", decode_hard_state(&damaged).is_err(), "a flipped bit {bit} went unnoticed");
        }
        for cut in 0..bytes.len() {
            distributed::invariant_eq!(
                "checksum",
                decode_hard_state(&bytes[..cut]),
                Err(HardStateFormatError::Length(cut)),
                "cut at {cut}",
            );
        }
        let mut flag = bytes;
        flag[16] = 2;
        let crc = crc32fast::hash(&flag[..36]);
        flag[36..].copy_from_slice(&crc.to_le_bytes());
        distributed::invariant_eq!(
            "checksum",
            decode_hard_state(&flag),
            Err(HardStateFormatError::VoteFlag(2)),
            "a bad vote flag",
        );
    }
}

mod replica {
    use super::*;

    #[test]
    fn a_new_replica_is_empty() {
        let (_, fs) = sim_disk(lab_seed(1));
        let replica = open(&fs, SyncPolicy::EveryAppend);
        let got = (replica.commit_index(), replica.last_applied(), replica.last_log_index(), replica.first_log_index());
        invariant!("monotonic", got == (0, 0, 0, 1), "(commit, applied, last, first) of a new replica are {got:?}");
        distributed::invariant_eq!(
            "persisted-commit",
            replica.hard_state(),
            lab4::HardState::default(),
            "a new replica's hard state",
        );
        distributed::invariant_eq!("monotonic", replica.snapshot_meta(), SnapshotMeta::default(), "no snapshot");
        distributed::invariant!("recovery-equivalence", replica.state().is_empty(), "a new replica's state is empty");
    }

    #[test]
    fn committed_entries_are_applied_in_order_with_their_outputs() {
        let seed = lab_seed(2);
        let (_, fs) = sim_disk(seed);
        let entries = log_of(&commands(seed, 30), 1);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("in-order-apply", replica.append(&entries), "append");
        invariant!(
            "append-only",
            replica.last_log_index() == 31,
            "31 entries appended, last index {}",
            replica.last_log_index()
        );
        distributed::invariant_eq!(
            "append-only",
            distributed::invariant_ok!("in-order-apply", replica.entries(5, 8), "entries"),
            entries[4..7],
            "entries read back",
        );
        distributed::invariant_eq!(
            "in-order-apply",
            distributed::invariant_ok!("in-order-apply", replica.term(31), "term"),
            1,
            "replica.term(31).expect(\"term\")",
        );
        distributed::invariant_ok!("in-order-apply", replica.commit(10), "commit 10");
        let first = distributed::invariant_ok!("in-order-apply", replica.apply_next(), "apply_next")
            .unwrap_or_else(|| distributed::fail!("in-order-apply", "entry 1 is committed: expected Some, seen None"));
        invariant!("in-order-apply", first.index == 1, "apply_next applied entry {} first", first.index);
        let rest = distributed::invariant_ok!("in-order-apply", replica.apply_committed(), "apply_committed");
        let indexes: Vec<Index> = rest.iter().map(|a| a.index).collect();
        invariant!("in-order-apply", indexes == (2..=10).collect::<Vec<_>>(), "apply_committed applied {indexes:?}");
        distributed::invariant_ok!("in-order-apply", replica.commit(31), "commit 31");
        let all: Vec<_> = [first]
            .into_iter()
            .chain(rest)
            .chain(distributed::invariant_ok!("in-order-apply", replica.apply_committed(), "apply"))
            .collect();
        let (model, outputs) = model_at(&entries, 31);
        for (applied, expected) in all.iter().zip(&outputs) {
            invariant!(
                "in-order-apply",
                &applied.output == expected,
                "entry {} returned {:?}, but applying entries in order in memory gives {:?}",
                applied.index,
                Output::decode(&applied.output),
                Output::decode(expected)
            );
        }
        invariant!("in-order-apply", all.len() == 31 && *replica.state() == model, "the state is not the model's");
        invariant!(
            "in-order-apply",
            distributed::invariant_ok!("in-order-apply", replica.apply_next(), "apply_next").is_none(),
            "nothing left to apply"
        );
        check_indexes(&replica, "after applying everything");
    }

    #[test]
    fn nothing_past_the_commit_index_is_applied() {
        let seed = lab_seed(3);
        let (_, fs) = sim_disk(seed);
        let entries = log_of(&commands(seed, 9), 1);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("monotonic", replica.append(&entries), "append");
        invariant!(
            "monotonic",
            distributed::invariant_ok!("monotonic", replica.apply_committed(), "apply").is_empty(),
            "applied before any commit"
        );
        distributed::invariant_ok!("monotonic", replica.commit(4), "commit 4");
        let applied = distributed::invariant_ok!("monotonic", replica.apply_committed(), "apply");
        invariant!(
            "monotonic",
            applied.len() == 4 && replica.last_applied() == 4,
            "commit index 4, but apply_committed applied {} entries, last_applied {}",
            applied.len(),
            replica.last_applied()
        );
        invariant!(
            "monotonic",
            distributed::invariant_ok!("monotonic", replica.apply_next(), "apply_next").is_none(),
            "apply_next passed the commit index"
        );
        check_indexes(&replica, "after applying up to the commit index");
    }

    #[test]
    fn a_conflicting_suffix_is_replaced_but_committed_entries_are_not() {
        let seed = lab_seed(4);
        let (sim, fs) = sim_disk(seed);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        let old = log_of(&commands(seed, 9), 1);
        distributed::invariant_ok!("persisted-commit", replica.append(&old), "append");
        distributed::invariant_ok!("persisted-commit", replica.commit(4), "commit 4");
        // A resent prefix is skipped; nothing changes.
        distributed::invariant_ok!("persisted-commit", replica.append(&old[2..6]), "resend");
        distributed::invariant_eq!(
            "append-only",
            replica.last_log_index(),
            10,
            "resent entries are skipped, not appended again",
        );
        // A conflict at the commit index is refused, and changes nothing.
        let before = DirSnapshot::take(&sim, DIR).expect("setup: list");
        let rewrite: Vec<Entry> = (4..=6).map(|i| Entry::new(i, 2, Vec::new())).collect();
        let refused = replica.append(&rewrite);
        invariant!(
            "persisted-commit",
            matches!(refused, Err(ReplicaError::TruncateCommitted { index: 4, commit: 4 })),
            "entries conflicting at committed index 4 were not refused with TruncateCommitted: {refused:?}"
        );
        let after = DirSnapshot::take(&sim, DIR).expect("setup: list");
        invariant!(
            "persisted-commit",
            before == after,
            "a refused append changed files: {:?}",
            before.differences(&after)
        );
        invariant!("persisted-commit", replica.term(4).ok() == Some(1), "a refused append changed committed entry 4");
        // A conflict past it replaces the suffix.
        let new: Vec<Entry> = (5..=7).map(|i| Entry::new(i, 2, Vec::new())).collect();
        distributed::invariant_ok!(
            "persisted-commit",
            replica.append(&new),
            "a conflict past the commit index is accepted"
        );
        invariant!(
            "matching",
            replica.last_log_index() == 7 && replica.term(5).ok() == Some(2) && replica.term(4).ok() == Some(1),
            "after replacing 5..=10 with 5..=7 of term 2, last index {} and term(5) {:?}",
            replica.last_log_index(),
            replica.term(5).ok()
        );
        check_indexes(&replica, "after a conflict");
    }

    #[test]
    fn gaps_and_commits_past_the_log_are_refused() {
        let (sim, fs) = sim_disk(lab_seed(5));
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("monotonic", replica.append(&log_of(&commands(5, 4), 1)), "append");
        let before = DirSnapshot::take(&sim, DIR).expect("setup: list");
        let gap = replica.append(&[Entry::new(8, 1, Vec::new())]);
        invariant!("append-only", matches!(gap, Err(ReplicaError::Gap { got: 8, last_index: 5 })), "a gap: {gap:?}");
        let past = replica.commit(6);
        invariant!(
            "monotonic",
            matches!(past, Err(ReplicaError::CommitBeyondLog { index: 6, last_index: 5 })),
            "commit past the log: {past:?}"
        );
        let after = DirSnapshot::take(&sim, DIR).expect("setup: list");
        invariant!("monotonic", before == after, "a refusal changed files: {:?}", before.differences(&after));
        distributed::invariant_ok!("monotonic", replica.commit(3), "commit 3");
        distributed::invariant_ok!("monotonic", replica.commit(2), "a lower commit does nothing");
        invariant!(
            "monotonic",
            replica.commit_index() == 3,
            "the commit index moved back to {}",
            replica.commit_index()
        );
    }

    #[test]
    fn terms_and_votes_never_go_back() {
        let (sim, fs) = sim_disk(lab_seed(6));
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("monotonic", replica.set_term(3, Some(1)), "term 3, vote 1");
        distributed::invariant_ok!("monotonic", replica.set_term(3, Some(1)), "the same vote again");
        for (term, vote) in [(2, None), (3, Some(2)), (3, None)] {
            let refused = replica.set_term(term, vote);
            invariant!(
                "monotonic",
                matches!(refused, Err(ReplicaError::TermRegression { .. })),
                "set_term({term}, {vote:?}) after (3, Some(1)) was not refused: {refused:?}"
            );
        }
        distributed::invariant_ok!("monotonic", replica.set_term(4, None), "a new term");
        drop(replica);
        let replica = reopen(&sim.crash(distributed::vfs::CrashMode::Strict), SyncPolicy::EveryAppend);
        let hard = replica.hard_state();
        invariant!("persisted-commit", (hard.term, hard.vote) == (4, None), "after a crash the hard state is {hard:?}");
    }
}

mod commit {
    use super::*;

    #[test]
    fn a_commit_survives_a_reopen() {
        let (sim, fs) = sim_disk(lab_seed(7));
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("persisted-commit", replica.append(&log_of(&commands(7, 9), 1)), "append");
        distributed::invariant_ok!("persisted-commit", replica.set_term(2, Some(5)), "set_term");
        distributed::invariant_ok!("persisted-commit", replica.commit(6), "commit 6");
        drop(replica);
        let disk = sim.crash(distributed::vfs::CrashMode::Strict);
        let file = Path::new(DIR).join(HARD_STATE_FILE);
        invariant!("persisted-commit", disk.exists(&file).unwrap_or(false), "no {} after the crash", file.display());
        let replica = reopen(&disk, SyncPolicy::EveryAppend);
        let hard = replica.hard_state();
        invariant!(
            "persisted-commit",
            hard.commit == 6 && (hard.term, hard.vote) == (2, Some(5)),
            "commit(6) returned, then the power went: the hard state reads {hard:?}"
        );
    }

    /// The workload of the commit tests: two rounds of append then commit, with the entries
    /// of the second round written before the first commit returns.
    fn commit_workload(
        fs: &SimFs,
        sync: SyncPolicy,
        entries: &[Entry],
        acks: &mut Vec<Ack>,
    ) -> Result<(), ReplicaError> {
        let fs: FsRef = Arc::new(fs.clone());
        let mut replica = Replica::open(fs, DIR, options(sync), KvStore::new())?;
        replica.append(&entries[..6])?;
        replica.commit(4)?;
        acks.push(Ack::Committed(4));
        replica.append(&entries[6..])?;
        replica.commit(6)?;
        acks.push(Ack::Committed(6));
        replica.commit(entries.len() as Index)?;
        acks.push(Ack::Committed(entries.len() as Index));
        Ok(())
    }

    #[test]
    fn a_power_cut_at_every_step_of_commit_never_loses_an_acknowledged_commit() {
        let seed = lab_seed(8);
        let entries = log_of(&commands(seed, 9), 1);
        for sync in [SyncPolicy::EveryAppend, SyncPolicy::Never] {
            let report = CrashExplorer::new(seed).explore(
                |fs, acks| commit_workload(fs, sync, &entries, acks),
                |disk, acks| check_recovery(disk, sync, &entries, acks),
            );
            println!("{sync:?}: {} steps, {} images checked", report.steps, report.images_checked);
        }
    }
}

mod snapshot {
    use super::*;

    #[test]
    fn a_snapshot_holds_exactly_the_state_at_last_applied_and_compacts_the_log() {
        let seed = lab_seed(9);
        let (sim, fs) = sim_disk(seed);
        let entries = log_of(&commands(seed, 40), 1);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        invariant!(
            "recovery-equivalence",
            replica.take_snapshot().ok() == Some(SnapshotMeta::default()),
            "nothing applied"
        );
        distributed::invariant_ok!("recovery-equivalence", replica.append(&entries), "append");
        distributed::invariant_ok!("recovery-equivalence", replica.commit(41), "commit");
        for _ in 0..30 {
            distributed::invariant_ok!("recovery-equivalence", replica.apply_next(), "apply_next");
        }
        let meta = distributed::invariant_ok!("recovery-equivalence", replica.take_snapshot(), "take_snapshot");
        invariant!(
            "recovery-equivalence",
            meta == SnapshotMeta { last_index: 30, last_term: 1 },
            "a snapshot taken at last_applied 30 (commit 41) says it covers {meta:?}"
        );
        let saved = distributed::invariant_ok!("recovery-equivalence", replica.latest_snapshot(), "latest_snapshot")
            .unwrap_or_else(|| {
                distributed::fail!("recovery-equivalence", "a snapshot was saved: expected Some, seen None")
            });
        let (model, _) = model_at(&entries, 30);
        invariant!(
            "recovery-equivalence",
            saved.meta == meta
                && saved.data == distributed::invariant_ok!("recovery-equivalence", model.snapshot(), "image"),
            "the saved snapshot's image is not the state after entries 1..=30"
        );
        invariant!(
            "prefix-compaction",
            replica.first_log_index() == 31 && replica.term(30).ok() == Some(1) && replica.term(35).ok() == Some(1),
            "after a snapshot at 30 the log starts at {}",
            replica.first_log_index()
        );
        invariant!(
            "recovery-equivalence",
            replica.take_snapshot().ok() == Some(meta),
            "a second snapshot with nothing new"
        );
        check_indexes(&replica, "after take_snapshot");
        drop(replica);
        let mut replica = reopen(&sim.crash(distributed::vfs::CrashMode::Strict), SyncPolicy::EveryAppend);
        invariant!(
            "recovery-equivalence",
            replica.last_applied() == 30 && *replica.state() == model,
            "reopened from the snapshot: last_applied {}, and the state is{} the state at 30",
            replica.last_applied(),
            if *replica.state() == model { "" } else { " not" }
        );
        distributed::invariant_ok!("recovery-equivalence", replica.apply_committed(), "replay");
        invariant!("recovery-equivalence", *replica.state() == model_at(&entries, 41).0, "replay to 41");
    }

    #[test]
    fn a_power_cut_at_every_step_of_take_snapshot_recovers_the_same_state() {
        let seed = lab_seed(10);
        let entries = log_of(&commands(seed, 24), 1);
        let report = CrashExplorer::new(seed).explore(
            |fs, acks: &mut Vec<Ack>| -> Result<(), ReplicaError> {
                let mut replica = open(&(Arc::new(fs.clone()) as FsRef), SyncPolicy::EveryAppend);
                drive(&mut replica, &entries, entries.len(), 0, acks)?;
                replica.take_snapshot()?;
                replica.append(&[Entry::new(26, 1, Command::new(5_000, incr("c0", 1)).encode())])?;
                replica.commit(26)?;
                acks.push(Ack::Committed(26));
                Ok(())
            },
            |disk, acks| {
                let mut all = entries.clone();
                all.push(Entry::new(26, 1, Command::new(5_000, incr("c0", 1)).encode()));
                check_recovery(disk, SyncPolicy::EveryAppend, &all, acks)
            },
        );
        println!("{} steps, {} images checked", report.steps, report.images_checked);
    }
}

/// Lab 3's store behind a handle that can be cloned, as lab 7 shares its chunk store: the
/// replica owns one handle, and the test saves through another, standing for a thread that
/// saves a snapshot while the replica goes on.
#[derive(Clone, Debug)]
struct SharedStore(Arc<Mutex<SnapshotStore>>);

impl SnapshotStorage for SharedStore {
    type Error = SnapshotError;

    fn save(&mut self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).save(snapshot)
    }

    fn latest(&self) -> Result<Option<Snapshot>, SnapshotError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).latest()
    }
}

type SharedKv = Replica<KvStore, SharedStore>;

/// Opens the replica in `dir` over lab 3's store in `dir/snapshots`, and returns a second
/// handle to that store.
fn open_shared(fs: &FsRef, dir: &str) -> Result<(SharedKv, SharedStore), ReplicaError> {
    let store = SnapshotStore::open(Arc::clone(fs), Path::new(dir).join(SNAPSHOT_DIR), StoreOptions::default())?;
    let store = SharedStore(Arc::new(Mutex::new(store)));
    let replica = Replica::open_with_snapshots(
        Arc::clone(fs),
        dir,
        options(SyncPolicy::EveryAppend),
        KvStore::new(),
        store.clone(),
    )?;
    Ok((replica, store))
}

mod compact {
    use super::*;

    /// The image of the state now, with what it covers: what a background save freezes.
    fn freeze(replica: &SharedKv) -> Snapshot {
        let last_index = replica.last_applied();
        let meta = SnapshotMeta {
            last_index,
            last_term: replica
                .term(last_index)
                .unwrap_or_else(|e| fail!("recovery-equivalence", "the term at last_applied: {e}")),
        };
        Snapshot { meta, data: replica.state().snapshot().unwrap_or_else(|e| fail!("determinism", "the image: {e:?}")) }
    }

    #[test]
    fn a_snapshot_saved_elsewhere_is_compacted_to_only_once_durable_and_never_past_last_applied() {
        let seed = lab_seed(21);
        let (sim, fs) = sim_disk(seed);
        let entries = log_of(&commands(seed, 40), 1);
        let (mut replica, mut store) =
            open_shared(&fs, DIR).unwrap_or_else(|e| fail!("recovery-equivalence", "open: {e}"));
        replica.append(&entries).unwrap_or_else(|e| fail!("durability", "append: {e}"));
        replica.commit(41).unwrap_or_else(|e| fail!("persisted-commit", "commit: {e}"));
        for _ in 0..30 {
            replica.apply_next().unwrap_or_else(|e| fail!("in-order-apply", "apply_next: {e}"));
        }
        let frozen = freeze(&replica);
        let meta = frozen.meta;
        distributed::invariant_eq!(
            "recovery-equivalence",
            meta,
            SnapshotMeta { last_index: 30, last_term: 1 },
            "the frozen snapshot"
        );

        // Not saved yet: the log must stay.
        let early = replica.compact_to(meta);
        invariant_matches!(
            "prefix-compaction",
            early,
            Err(ReplicaError::CompactRefused { .. }),
            "compact_to before the snapshot at 30 is saved"
        );
        invariant!(
            "prefix-compaction",
            replica.first_log_index() == 1 && replica.snapshot_meta() == SnapshotMeta::default(),
            "a refused compact_to changed the replica: the log starts at {}, the snapshot is {:?}",
            replica.first_log_index(),
            replica.snapshot_meta()
        );

        // The save, elsewhere, while the replica applies more.
        store.save(&frozen).unwrap_or_else(|e| fail!("durability", "saving the snapshot at 30: {e}"));
        for _ in 0..5 {
            replica.apply_next().unwrap_or_else(|e| fail!("in-order-apply", "apply_next: {e}"));
        }
        let wrong_term = SnapshotMeta { last_index: 30, last_term: 2 };
        invariant_matches!(
            "prefix-compaction",
            replica.compact_to(wrong_term),
            Err(ReplicaError::CompactRefused { .. }),
            "compact_to a snapshot whose term at 30 is not the log's"
        );
        let done = replica
            .compact_to(meta)
            .unwrap_or_else(|e| fail!("prefix-compaction", "compact_to the saved snapshot at 30: {e}"));
        distributed::invariant_eq!("prefix-compaction", done, meta, "what compact_to(30) returns");
        invariant!(
            "prefix-compaction",
            replica.first_log_index() == 31
                && replica.snapshot_meta() == meta
                && replica.term(30).ok() == Some(1)
                && replica.term(35).ok() == Some(1)
                && replica.last_applied() == 35,
            "after compact_to(30) with last_applied 35: the log starts at {}, the snapshot is {:?}, last_applied {}",
            replica.first_log_index(),
            replica.snapshot_meta(),
            replica.last_applied()
        );
        for older in [meta, SnapshotMeta { last_index: 20, last_term: 1 }] {
            distributed::invariant_eq!(
                "prefix-compaction",
                replica.compact_to(older).ok(),
                Some(meta),
                "compact_to {older:?} after compacting to 30 does nothing"
            );
        }
        let (model, _) = model_at(&entries, 35);
        invariant!("recovery-equivalence", *replica.state() == model, "compact_to changed the state");
        drop(replica);
        drop(store);
        let mut replica = reopen(&sim.crash(distributed::vfs::CrashMode::Strict), SyncPolicy::EveryAppend);
        invariant!(
            "recovery-equivalence",
            replica.last_applied() == 30 && *replica.state() == model_at(&entries, 30).0,
            "reopened after compact_to(30): last_applied {}",
            replica.last_applied()
        );
        replica.apply_committed().unwrap_or_else(|e| fail!("recovery-equivalence", "replay: {e}"));
        invariant!("recovery-equivalence", *replica.state() == model_at(&entries, 41).0, "replay to 41");

        // A snapshot that claims entries this replica has not applied yet: refused even when
        // the store holds it.
        let (_other_sim, other_fs) = sim_disk(seed + 1);
        let (mut ahead, mut ahead_store) =
            open_shared(&other_fs, DIR).unwrap_or_else(|e| fail!("recovery-equivalence", "open: {e}"));
        ahead.append(&entries).unwrap_or_else(|e| fail!("durability", "append: {e}"));
        ahead.commit(41).unwrap_or_else(|e| fail!("persisted-commit", "commit: {e}"));
        for _ in 0..30 {
            ahead.apply_next().unwrap_or_else(|e| fail!("in-order-apply", "apply_next: {e}"));
        }
        let claimed = SnapshotMeta { last_index: 35, last_term: 1 };
        ahead_store
            .save(&Snapshot {
                meta: claimed,
                data: ahead.state().snapshot().unwrap_or_else(|e| fail!("determinism", "the image: {e:?}")),
            })
            .unwrap_or_else(|e| fail!("durability", "save: {e}"));
        invariant_matches!(
            "prefix-compaction",
            ahead.compact_to(claimed),
            Err(ReplicaError::CompactRefused { .. }),
            "compact_to 35 with last_applied 30"
        );
        invariant!(
            "prefix-compaction",
            ahead.first_log_index() == 1 && ahead.snapshot_meta() == SnapshotMeta::default(),
            "a refused compact_to past last_applied changed the replica: the log starts at {}",
            ahead.first_log_index()
        );
    }

    #[test]
    fn a_power_cut_at_every_step_of_a_save_elsewhere_then_compact_recovers_the_same_state() {
        let seed = lab_seed(22);
        let entries = log_of(&commands(seed, 24), 1);
        let mut all = entries.clone();
        all.push(Entry::new(26, 1, Command::new(5_000, incr("c0", 1)).encode()));
        let report = CrashExplorer::new(seed).explore(
            |fs, acks: &mut Vec<Ack>| -> Result<(), ReplicaError> {
                let fs: FsRef = Arc::new(fs.clone());
                let (mut replica, mut store) = open_shared(&fs, DIR)?;
                for chunk in entries.chunks(6) {
                    replica.append(chunk)?;
                    let last = chunk.last().expect("setup: chunks are not empty").index;
                    replica.commit(last)?;
                    acks.push(Ack::Committed(last));
                    for applied in replica.apply_committed()? {
                        acks.push(Ack::Applied(applied.index, applied.output));
                    }
                    if last == 18 {
                        // Frozen at 18; saved while entries 19.. are applied; then compacted.
                        let frozen = freeze(&replica);
                        store.save(&frozen)?;
                        replica.compact_to(frozen.meta)?;
                    }
                }
                replica.append(&all[25..])?;
                replica.commit(26)?;
                acks.push(Ack::Committed(26));
                Ok(())
            },
            |disk, acks| check_recovery(disk, SyncPolicy::EveryAppend, &all, acks),
        );
        println!("{} steps, {} images checked", report.steps, report.images_checked);
    }
}

mod recovery {
    use super::*;

    #[test]
    fn open_then_replay_reproduces_the_state_and_the_outputs() {
        let seed = lab_seed(11);
        let (sim, fs) = sim_disk(seed);
        let entries = log_of(&commands(seed, 60), 1);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        let mut acks = Vec::new();
        distributed::invariant_ok!(
            "recovery-equivalence",
            drive(&mut replica, &entries, 7, 4, &mut acks),
            "the workload"
        );
        let snapshot = replica.snapshot_meta();
        drop(replica);
        let mut replica = reopen(&sim.crash(distributed::vfs::CrashMode::Strict), SyncPolicy::EveryAppend);
        invariant!(
            "idempotent-replay",
            replica.last_applied() == snapshot.last_index && replica.snapshot_meta() == snapshot,
            "after open, last_applied is {} and the snapshot {:?}; the newest snapshot covers {snapshot:?}",
            replica.last_applied(),
            replica.snapshot_meta()
        );
        let replayed = distributed::invariant_ok!("recovery-equivalence", replica.apply_committed(), "replay");
        invariant!(
            "recovery-equivalence",
            replayed.len() as Index == 61 - snapshot.last_index,
            "replay applied {} entries; entries {}..=61 were committed after the snapshot",
            replayed.len(),
            snapshot.last_index + 1
        );
        drop(replica);
        check_recovery(&sim.crash(distributed::vfs::CrashMode::Strict), SyncPolicy::EveryAppend, &entries, &acks);
    }

    #[test]
    fn replay_stops_at_the_persisted_commit_index() {
        let seed = lab_seed(12);
        let (sim, fs) = sim_disk(seed);
        let entries = log_of(&commands(seed, 20), 1);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("monotonic", replica.append(&entries), "append");
        distributed::invariant_ok!("monotonic", replica.commit(8), "commit");
        drop(replica);
        let mut replica = reopen(&sim.crash(distributed::vfs::CrashMode::Strict), SyncPolicy::EveryAppend);
        invariant!(
            "monotonic",
            replica.last_log_index() == 21,
            "acknowledged entries are gone: {}",
            replica.last_log_index()
        );
        let replayed = distributed::invariant_ok!("monotonic", replica.apply_committed(), "replay");
        invariant!(
            "monotonic",
            replayed.len() == 8 && replica.last_applied() == 8,
            "the persisted commit index is 8, but replay applied {} entries (last_applied {})",
            replayed.len(),
            replica.last_applied()
        );
        invariant!("recovery-equivalence", *replica.state() == model_at(&entries, 8).0, "the state after replay to 8");
    }

    #[test]
    fn a_power_cut_at_every_step_of_a_workload_recovers_an_equivalent_state() {
        let seed = lab_seed(13);
        let entries = log_of(&commands(seed, 29), 1);
        for sync in [SyncPolicy::EveryAppend, SyncPolicy::Never] {
            let report = CrashExplorer::new(seed).torn_variants(1).explore(
                |fs, acks| {
                    let mut replica = Replica::open(Arc::new(fs.clone()), DIR, options(sync), KvStore::new())?;
                    drive(&mut replica, &entries, 6, 2, acks)
                },
                |disk, acks| check_recovery(disk, sync, &entries, acks),
            );
            println!("{sync:?}: {} steps, {} images checked", report.steps, report.images_checked);
        }
    }

    #[test]
    fn a_damaged_hard_state_is_refused_not_read_as_zero() {
        let (sim, fs) = sim_disk(lab_seed(14));
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("persisted-commit", replica.append(&log_of(&commands(14, 5), 1)), "append");
        distributed::invariant_ok!("persisted-commit", replica.commit(5), "commit");
        drop(replica);
        let path = Path::new(DIR).join(HARD_STATE_FILE);
        sim.flip_bit(&path, 8 * 28 + 1).expect("setup: flip a bit of the commit index");
        let before = DirSnapshot::take(&sim, DIR).expect("setup: list");
        let opened = Replica::open(Arc::clone(&fs), DIR, options(SyncPolicy::EveryAppend), KvStore::new());
        invariant!(
            "persisted-commit",
            matches!(opened, Err(ReplicaError::HardStateCorrupt { .. })),
            "a hard state with a flipped bit opened as {:?}: reading it as absent moves the commit index back to 0",
            opened.map(|r| r.hard_state())
        );
        let after = DirSnapshot::take(&sim, DIR).expect("setup: list");
        invariant!("persisted-commit", before == after, "the refusal changed files: {:?}", before.differences(&after));
    }

    #[test]
    fn a_log_that_starts_after_the_snapshot_is_refused() {
        let seed = lab_seed(15);
        let (sim, fs) = sim_disk(seed);
        let entries = log_of(&commands(seed, 40), 1);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!(
            "recovery-equivalence",
            drive(&mut replica, &entries, 41, 1, &mut Vec::new()),
            "the workload"
        );
        drop(replica);
        // The snapshots are lost (an operator deleted them): the log alone starts at 42.
        let snapshots = Path::new(DIR).join(SNAPSHOT_DIR);
        for name in sim.read_dir(&snapshots).expect("setup: list") {
            sim.remove_file(&snapshots.join(name)).expect("setup: remove");
        }
        sim.sync_dir(&snapshots).expect("setup: sync");
        let before = DirSnapshot::take(&sim, DIR).expect("setup: list");
        let opened = Replica::open(Arc::clone(&fs), DIR, options(SyncPolicy::EveryAppend), KvStore::new());
        invariant!(
            "recovery-equivalence",
            matches!(opened, Err(ReplicaError::Inconsistent { .. })),
            "a log starting at 42 with no snapshot opened: {:?}",
            opened.map(|r| (r.first_log_index(), r.commit_index()))
        );
        let after = DirSnapshot::take(&sim, DIR).expect("setup: list");
        invariant!(
            "recovery-equivalence",
            before == after,
            "the refusal changed files: {:?}",
            before.differences(&after)
        );
    }
}

mod install {
    use super::*;

    /// A follower holding `1..=10` of term 1 with 3 committed, and a leader's snapshot at
    /// `(8, 2)`: the leader's log agrees up to 3, then holds other entries of term 2.
    fn scenario(seed: u64) -> (Vec<Entry>, Vec<Entry>, Snapshot) {
        let follower = log_of(&commands(seed, 9), 1);
        let mut leader = follower[..3].to_vec();
        let theirs = commands(seed ^ 0x5eed, 5);
        leader.extend(theirs.iter().enumerate().map(|(i, c)| Entry::new(i as Index + 4, 2, c.encode())));
        let image = distributed::invariant_ok!("determinism", model_at(&leader, 8).0.snapshot(), "image");
        (follower, leader, Snapshot { meta: SnapshotMeta { last_index: 8, last_term: 2 }, data: image })
    }

    #[test]
    fn an_installed_snapshot_replaces_the_state_and_the_stale_log() {
        let seed = lab_seed(16);
        let (follower, leader, snapshot) = scenario(seed);
        let (sim, fs) = sim_disk(seed);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("matching", replica.append(&follower), "append");
        distributed::invariant_ok!("matching", replica.commit(3), "commit");
        distributed::invariant_ok!("matching", replica.apply_committed(), "apply");
        let installed = distributed::invariant_ok!("matching", replica.install_snapshot(&snapshot), "install");
        invariant!("recovery-equivalence", installed, "a snapshot past the commit index was ignored");
        let leader_state = model_at(&leader, 8).0;
        invariant!(
            "recovery-equivalence",
            *replica.state() == leader_state && replica.last_applied() == 8 && replica.commit_index() == 8,
            "after install: last_applied {}, commit {}, and the state is{} the snapshot's",
            replica.last_applied(),
            replica.commit_index(),
            if *replica.state() == leader_state { "" } else { " not" }
        );
        invariant!(
            "matching",
            replica.last_log_index() == 8 && replica.term(8).ok() == Some(2),
            "after installing (8, 2) over a log of term 1, the last log index is {} (entries 9 and 10 of term 1 \
             contradict the leader)",
            replica.last_log_index()
        );
        distributed::invariant_ok!(
            "matching",
            replica.append(&[Entry::new(9, 2, Vec::new())]),
            "the log continues after the snapshot"
        );
        distributed::invariant_ok!("matching", replica.commit(9), "commit 9");
        drop(replica);
        let mut replica = reopen(&sim.crash(distributed::vfs::CrashMode::Strict), SyncPolicy::EveryAppend);
        distributed::invariant_ok!("matching", replica.apply_committed(), "replay");
        invariant!(
            "recovery-equivalence",
            replica.snapshot_meta() == snapshot.meta && *replica.state() == leader_state,
            "after a reopen the installed snapshot is not the state: {:?}",
            replica.snapshot_meta()
        );
    }

    #[test]
    fn a_snapshot_that_does_not_reach_past_the_commit_index_is_ignored() {
        let seed = lab_seed(17);
        let (follower, _, snapshot) = scenario(seed);
        let (sim, fs) = sim_disk(seed);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        distributed::invariant_ok!("monotonic", replica.append(&follower), "append");
        distributed::invariant_ok!("monotonic", replica.commit(9), "commit");
        let before = DirSnapshot::take(&sim, DIR).expect("setup: list");
        let installed = distributed::invariant_ok!("monotonic", replica.install_snapshot(&snapshot), "install");
        let after = DirSnapshot::take(&sim, DIR).expect("setup: list");
        invariant!(
            "monotonic",
            !installed && replica.commit_index() == 9 && before == after,
            "a snapshot at 8 with commit index 9 was installed ({installed}), commit {}, files changed: {:?}",
            replica.commit_index(),
            before.differences(&after)
        );
    }

    #[test]
    fn a_power_cut_at_every_step_of_install_opens_as_before_or_installed() {
        let seed = lab_seed(18);
        let (follower, leader, snapshot) = scenario(seed);
        let leader_state = model_at(&leader, 8).0;
        let report = CrashExplorer::new(seed).explore(
            |fs, acks: &mut Vec<bool>| -> Result<(), ReplicaError> {
                let mut replica = open(&(Arc::new(fs.clone()) as FsRef), SyncPolicy::EveryAppend);
                replica.append(&follower)?;
                replica.commit(3)?;
                acks.push(false);
                replica.install_snapshot(&snapshot)?;
                acks.push(true);
                Ok(())
            },
            |disk, acks| {
                let mut replica = reopen(disk, SyncPolicy::EveryAppend);
                check_indexes(&replica, "after reopening");
                replica.apply_committed().unwrap_or_else(|e| fail!("recovery-equivalence", "replay failed: {e}"));
                let installed = replica.snapshot_meta() == snapshot.meta;
                if acks.last() == Some(&true) {
                    invariant!(
                        "persisted-commit",
                        installed,
                        "install_snapshot returned, but after the crash it is gone"
                    );
                }
                if installed {
                    invariant!(
                        "recovery-equivalence",
                        *replica.state() == leader_state,
                        "installed, but the state differs"
                    );
                    let stale = (9..=replica.last_log_index()).find(|&i| replica.term(i).ok() == Some(1));
                    invariant!(
                        "matching",
                        stale.is_none(),
                        "the snapshot (8, 2) is installed, but the log still holds entry {stale:?} of term 1"
                    );
                    // A crash between saving the snapshot and restarting the log leaves a log
                    // that ends before the snapshot: `open` restarts it, so the leader's next
                    // entry continues right after the snapshot.
                    let next = Entry::new(9, 2, commands(seed ^ 0x9, 1)[0].encode());
                    distributed::invariant_ok!(
                        "matching",
                        replica.append(std::slice::from_ref(&next)),
                        "append entry 9 of term 2 right after the installed snapshot (8, 2)"
                    );
                    invariant!(
                        "matching",
                        replica.last_log_index() == 9 && replica.term(9).ok() == Some(2),
                        "after appending entry 9 of term 2, the last log index is {} with term {:?}",
                        replica.last_log_index(),
                        replica.term(9).ok()
                    );
                } else {
                    let commit = replica.commit_index();
                    invariant!(
                        "recovery-equivalence",
                        commit <= 3 && *replica.state() == model_at(&follower, commit).0,
                        "neither as before nor installed: commit {commit}, snapshot {:?}",
                        replica.snapshot_meta()
                    );
                }
            },
        );
        println!("{} steps, {} images checked", report.steps, report.images_checked);
    }
}
