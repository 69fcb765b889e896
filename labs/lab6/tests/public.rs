//! Lab 6's public tests, in the order of the chapter's tasks: records inside the state machine
//! (layer a), TTL in log time, garbage collection, snapshots, markers for side effects on
//! another system (layer b), and the service under a crash at every step.
//!
//! Run them with `cargo test -p lab6`; one task at a time with, for example,
//! `cargo test -p lab6 ttl::`. A failure starts with the invariant it broke, in brackets, and
//! ends with the command that replays it.
//!
//! Most tests drive an [`IdemStore`] directly, entry by entry, the way a replica's apply loop
//! does: the log time of each entry is the test's to choose, so an expiry happens at an entry
//! of the test, never at a moment of the machine. The crash tests run a [`Service`] on a
//! simulated disk, cut the power after each of its steps in turn, reopen, retry every request,
//! and count effects.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::StateMachineStorage;
use distributed::testing::sim_disk;
use distributed::vfs::{FsRef, SimFs};
use lab1::{SyncPolicy, WalOptions};
use lab6::{
    Downstream, DownstreamError, DownstreamKey, ExternalReply, IdemCommand, IdemConfig, IdemError, IdemOp, IdemOutput,
    IdemStore, Op, Outcome, Output, RecordKey, RecordState, ReplicaOptions, Request, Service,
};

const TTL: u64 = 10_000;
const LEASE: u64 = 1_000;
const DIR: &str = "service";

fn config() -> IdemConfig {
    IdemConfig { ttl: TTL, lease: LEASE, gc_per_apply: 2 }
}

/// Fails the test naming `invariant`, where a value is expected (a `match` arm).
macro_rules! fail {
    ($invariant:expr, $($detail:tt)+) => {{
        invariant!($invariant, false, $($detail)+);
        unreachable!()
    }};
}

/// Applies `op` at log time `timestamp`, as a replica applies a committed entry.
fn apply(store: &mut IdemStore, timestamp: u64, op: IdemOp) -> IdemOutput {
    let bytes = distributed::invariant_ok!(
        "exactly-once",
        store.apply(&IdemCommand::new(timestamp, op).encode()),
        "apply a command"
    );
    distributed::invariant_ok!("exactly-once", IdemOutput::decode(&bytes), "apply returns an encoded IdemOutput")
}

fn record(idempotency_key: &str) -> RecordKey {
    RecordKey::new("payments", "acct-1", idempotency_key)
}

fn incr(key: &str, delta: i64) -> Op {
    Op::Increment { key: key.into(), delta }
}

/// An `Execute` of `op` under `record`, with the operation's fingerprint.
fn execute(record: &RecordKey, op: Op) -> IdemOp {
    IdemOp::Execute { request: Request::for_op(record.clone(), &op), op }
}

fn counter(store: &IdemStore, key: &str) -> i64 {
    store.kv().get(key).map_or(0, |bytes| i64::from_le_bytes(bytes.try_into().expect("setup: an 8-byte counter")))
}

/// The output inside an Executed or Replayed answer.
fn inner(output: &IdemOutput) -> Option<&Output> {
    match output {
        IdemOutput::Executed(out) | IdemOutput::Replayed(out) => Some(out),
        _ => None,
    }
}

fn options() -> ReplicaOptions {
    ReplicaOptions {
        wal: WalOptions { segment_size: 1024, sync: SyncPolicy::EveryAppend },
        ..ReplicaOptions::default()
    }
}

fn open(fs: &FsRef) -> Result<Service, lab6::ServiceError> {
    Service::open(Arc::clone(fs), DIR, options(), config())
}

fn reopen(disk: &SimFs) -> Service {
    let fs: FsRef = Arc::new(disk.clone());
    open(&fs).unwrap_or_else(|e| fail!("recovery-equivalence", "the service does not reopen after the crash: {e}"))
}

mod execute {
    use super::*;

    #[test]
    fn a_retry_replays_the_stored_output_and_runs_nothing() {
        let mut store = IdemStore::new(config());
        let r = record("k1");
        let first = apply(&mut store, 1_000, execute(&r, incr("balance", 5)));
        invariant!(
            "exactly-once",
            first == IdemOutput::Executed(Output::Counter(5)),
            "the first Execute of an increment by 5 answered {first:?}, expected Executed(Counter(5))"
        );
        for (i, t) in [1_001, 2_000, 9_000].into_iter().enumerate() {
            let retry = apply(&mut store, t, execute(&r, incr("balance", 5)));
            invariant!(
                "exactly-once",
                counter(&store, "balance") == 5,
                "after retry {} at log time {t} (TTL {TTL}, record created at 1000) the counter is {}: the increment ran again",
                i + 1,
                counter(&store, "balance")
            );
            invariant!(
                "same-result",
                retry == IdemOutput::Replayed(Output::Counter(5)),
                "retry {} at log time {t} answered {retry:?}; the first execution answered Counter(5), so a retry \
                 must answer Replayed(Counter(5))",
                i + 1
            );
        }
        let held = store.lookup(&r).map(|rec| (rec.created, rec.expires_at, rec.state.clone()));
        invariant!(
            "exactly-once",
            held == Some((1_000, 1_000 + TTL, RecordState::Applied(Output::Counter(5)))),
            "the record should be (created 1000, expires {}, Applied(Counter(5))), lookup gives {held:?}",
            1_000 + TTL
        );
    }

    #[test]
    fn a_refused_operation_is_stored_and_replayed_too() {
        let mut store = IdemStore::new(config());
        apply(&mut store, 100, IdemOp::Plain(Op::Put { key: "c".into(), value: b"not a counter".to_vec() }));
        let r = record("refused");
        let first = apply(&mut store, 200, execute(&r, incr("c", 1)));
        let Some(Output::Rejected(reason)) = inner(&first).cloned() else {
            fail!(
                "exactly-once",
                "incrementing a key that holds 13 bytes answered {first:?}, expected Executed(Rejected(_))"
            )
        };
        // The key becomes a counter: running the request again would now succeed.
        apply(&mut store, 300, IdemOp::Plain(Op::Put { key: "c".into(), value: 0i64.to_le_bytes().to_vec() }));
        let retry = apply(&mut store, 400, execute(&r, incr("c", 1)));
        invariant!(
            "same-result",
            retry == IdemOutput::Replayed(Output::Rejected(reason.clone())),
            "the first execution was refused ({reason:?}); its retry answered {retry:?}. An error is a result: it \
             must be stored and replayed, or the retry runs the request again and the client sees two answers"
        );
        invariant!("same-result", counter(&store, "c") == 0, "the refused request's retry changed the counter");
    }

    #[test]
    fn a_different_body_under_the_same_key_is_a_conflict() {
        let mut store = IdemStore::new(config());
        let r = record("k1");
        apply(&mut store, 1_000, execute(&r, incr("balance", 5)));
        let other = apply(&mut store, 1_500, execute(&r, incr("balance", 7)));
        let (stored, got) =
            (Request::for_op(r.clone(), &incr("balance", 5)), Request::for_op(r.clone(), &incr("balance", 7)));
        invariant!(
            "fingerprint-conflict",
            other == IdemOutput::Conflict { stored: stored.fingerprint, got: got.fingerprint },
            "the same idempotency key with another body (increment by 7, not 5) answered {other:?}; expected a \
             Conflict naming both fingerprints, never another request's result"
        );
        invariant!(
            "fingerprint-conflict",
            counter(&store, "balance") == 5,
            "the conflicting request ran: the counter is {}",
            counter(&store, "balance")
        );
        // Each part of the key separates records.
        for (i, other) in [
            RecordKey::new("refunds", "acct-1", "k1"),
            RecordKey::new("payments", "acct-2", "k1"),
            RecordKey::new("payments", "acct-1", "k2"),
        ]
        .iter()
        .enumerate()
        {
            let out = apply(&mut store, 2_000 + i as u64, execute(other, incr("balance", 7)));
            invariant!(
                "exactly-once",
                matches!(out, IdemOutput::Executed(Output::Counter(_))),
                "{other:?} differs from {r:?} in one part, so it is another request; it answered {out:?}"
            );
        }
    }
}

mod ttl {
    use super::*;

    #[test]
    fn a_record_lives_exactly_until_its_ttl_in_log_time() {
        let mut store = IdemStore::new(config());
        let r = record("k1");
        apply(&mut store, 50_000, execute(&r, incr("n", 1)));
        let expires = 50_000 + TTL;
        apply(&mut store, expires - 1, IdemOp::Plain(Op::Noop));
        invariant!(
            "ttl-log-time",
            store.lookup(&r).is_some(),
            "at log time {} (one before the record's expiry {expires}) lookup finds no record",
            expires - 1
        );
        let retry = apply(&mut store, expires - 1, execute(&r, incr("n", 1)));
        invariant!(
            "ttl-log-time",
            retry == IdemOutput::Replayed(Output::Counter(1)),
            "a retry at log time {} is inside the TTL, but answered {retry:?}",
            expires - 1
        );
        apply(&mut store, expires, IdemOp::Plain(Op::Noop));
        invariant!(
            "ttl-log-time",
            store.lookup(&r).is_none(),
            "at log time {expires} the record created at 50000 with TTL {TTL} has expired, but lookup still finds \
             it. Expiry is decided by the store's log time, never by a clock of the machine"
        );
        let late = apply(&mut store, expires, execute(&r, incr("n", 1)));
        invariant!(
            "ttl-log-time",
            late == IdemOutput::Executed(Output::Counter(2)),
            "a request at log time {expires} comes after the retry window and is a new request; it answered {late:?}, \
             expected Executed(Counter(2))"
        );
    }

    #[test]
    fn log_time_never_runs_backwards_when_a_leader_s_clock_is_behind() {
        let mut store = IdemStore::new(config());
        apply(&mut store, 80_000, execute(&record("a"), incr("n", 1)));
        // A new leader whose clock is 30 seconds behind.
        apply(&mut store, 50_000, execute(&record("b"), incr("n", 1)));
        invariant!(
            "ttl-log-time",
            store.log_time() == 80_000,
            "after entries stamped 80000 then 50000 the log time is {}, expected 80000: it is the largest timestamp applied",
            store.log_time()
        );
        let b = store.lookup(&record("b")).map(|rec| (rec.created, rec.expires_at));
        invariant!(
            "ttl-log-time",
            b == Some((80_000, 80_000 + TTL)),
            "a record created by an entry stamped 50000 after log time reached 80000 is (created, expires) {b:?}; \
             expected (80000, {}): its window is measured on the log's clock",
            80_000 + TTL
        );
        apply(&mut store, 50_000 + TTL, IdemOp::Plain(Op::Noop));
        invariant!(
            "ttl-log-time",
            store.lookup(&record("b")).is_some(),
            "record b expired at a timestamp {} that is earlier than the log time",
            50_000 + TTL
        );
    }

    /// A seeded mix of requests, retries and conflicting bodies over several TTLs.
    fn workload(seed: u64, count: usize) -> Vec<IdemCommand> {
        let mut rng = TestRng::new(seed);
        let mut t = 1_000;
        (0..count)
            .map(|_| {
                t += rng.below(TTL / 4);
                let r = record(&format!("k{}", rng.below(12)));
                let op = match rng.below(6) {
                    0 => IdemOp::Plain(incr("plain", 1)),
                    1 => IdemOp::Begin { request: Request::new(r, b"charge") },
                    _ => execute(&r, incr("n", 1 + rng.below(2) as i64)),
                };
                IdemCommand::new(t, op)
            })
            .collect()
    }

    #[test]
    fn replicas_and_replays_decide_expiry_alike() {
        let seed = lab_seed(61);
        let commands = workload(seed, 200);
        let mut first = IdemStore::new(config());
        let outputs: Vec<Vec<u8>> = commands
            .iter()
            .map(|c| distributed::invariant_ok!("determinism", first.apply(&c.encode()), "apply"))
            .collect();
        for cut in [0, 37, 120, 199] {
            // Another replica: applies the prefix, snapshots, restores into a fresh store, and
            // applies the rest; the way a restarted replica replays.
            let mut prefix = IdemStore::new(config());
            for c in &commands[..cut] {
                distributed::invariant_ok!("determinism", prefix.apply(&c.encode()), "apply");
            }
            let mut second = IdemStore::new(config());
            distributed::invariant_ok!(
                "determinism",
                second.restore(&distributed::invariant_ok!("determinism", prefix.snapshot(), "snapshot")),
                "restore"
            );
            for (i, c) in commands.iter().enumerate().skip(cut) {
                let out = distributed::invariant_ok!("determinism", second.apply(&c.encode()), "apply");
                invariant!(
                    "determinism",
                    out == outputs[i],
                    "entry {i} (log time {}) answered {:?} on a replica restored after entry {cut}, but {:?} on one \
                     that applied every entry: expiry must be decided by log time alone",
                    c.timestamp,
                    IdemOutput::decode(&out),
                    IdemOutput::decode(&outputs[i])
                );
            }
            invariant!(
                "determinism",
                distributed::invariant_ok!("determinism", second.snapshot(), "snapshot")
                    == distributed::invariant_ok!("determinism", first.snapshot(), "snapshot"),
                "after the same {} entries, a replica restored after entry {cut} has another image ({} records) \
                 than one that applied every entry ({} records)",
                commands.len(),
                second.stats().records,
                first.stats().records
            );
        }
    }
}

mod gc {
    use super::*;

    #[test]
    fn expired_records_are_collected_a_bounded_number_per_entry() {
        let mut store = IdemStore::new(config());
        for i in 0..10u64 {
            apply(&mut store, 1_000 + i, execute(&record(&format!("k{i}")), incr("n", 1)));
        }
        let stats = store.stats();
        invariant!(
            "bounded-gc",
            stats.records == 10 && stats.record_bytes > 0 && stats.expired == 0,
            "10 live records are reported as {stats:?}"
        );
        // Everything expires; then each entry may collect at most gc_per_apply = 2.
        let mut previous = stats;
        let mut restored_once = false;
        for (step, t) in (0..8).zip(1_000 + TTL + 100..) {
            apply(&mut store, t, IdemOp::Plain(Op::Noop));
            let now = store.stats();
            invariant!(
                "bounded-gc",
                now.collected - previous.collected <= 2 && now.records + 2 >= previous.records,
                "entry {step} after the TTL collected {} records; gc_per_apply is 2",
                now.collected - previous.collected
            );
            previous = now;
            if step == 1 && !restored_once {
                // A restart in the middle: the restored store must go on collecting.
                let mut restored = IdemStore::new(config());
                distributed::invariant_ok!(
                    "bounded-gc",
                    restored.restore(&distributed::invariant_ok!("bounded-gc", store.snapshot(), "snapshot")),
                    "restore"
                );
                store = restored;
                restored_once = true;
            }
        }
        let end = store.stats();
        invariant!(
            "bounded-gc",
            end.records == 0 && end.collected == 10 && end.record_bytes == 0,
            "8 entries after every record expired (collecting up to 2 each, with a snapshot restore after the \
             second), the store reports {end:?}: expected 0 records and 10 collected"
        );
    }

    #[test]
    fn collection_never_removes_a_record_within_its_ttl() {
        let seed = lab_seed(62);
        let mut rng = TestRng::new(seed);
        let mut store = IdemStore::new(config());
        let mut created: BTreeMap<RecordKey, u64> = BTreeMap::new();
        let mut t = 1_000;
        for i in 0..300 {
            t += rng.below(200);
            let r = record(&format!("k{i}"));
            apply(&mut store, t, execute(&r, incr("n", 1)));
            created.insert(r, t);
            for (r, &at) in created.iter().filter(|(_, at)| t < *at + TTL) {
                invariant!(
                    "exactly-once",
                    store.lookup(r).is_some(),
                    "at log time {t}, {r:?} (created at {at}, TTL {TTL}) is within its retry window but is gone: a \
                     retry now would run it again"
                );
            }
        }
        let executed = created.len() as i64;
        invariant!(
            "exactly-once",
            counter(&store, "n") == executed,
            "{executed} requests, but the counter is {}",
            counter(&store, "n")
        );
    }
}

mod snapshot {
    use super::*;

    #[test]
    fn an_image_restores_records_state_and_clock_exactly() {
        let mut store = IdemStore::new(config());
        apply(&mut store, 1_000, execute(&record("a"), incr("n", 3)));
        apply(&mut store, 1_100, IdemOp::Begin { request: Request::new(record("b"), b"charge") });
        apply(&mut store, 1_200, IdemOp::Plain(Op::Put { key: "x".into(), value: b"y".to_vec() }));
        let image = distributed::invariant_ok!("recovery-equivalence", store.snapshot(), "snapshot");
        let mut restored = IdemStore::new(config());
        distributed::invariant_ok!("recovery-equivalence", restored.restore(&image), "restore");
        invariant!(
            "recovery-equivalence",
            restored == store && restored.stats() == store.stats(),
            "a store restored from its own image differs: {} records and log time {} instead of {} and {}",
            restored.stats().records,
            restored.log_time(),
            store.stats().records,
            store.log_time()
        );
        let retry = apply(&mut restored, 1_300, execute(&record("a"), incr("n", 3)));
        invariant!(
            "recovery-equivalence",
            retry == IdemOutput::Replayed(Output::Counter(3)),
            "after a restore, a retry of a request the image remembers answered {retry:?}"
        );
        let before = restored.clone();
        let bad = restored.restore(&image[..image.len() - 1]);
        invariant!(
            "recovery-equivalence",
            matches!(bad, Err(IdemError::BadImage(_))) && restored == before,
            "restoring a truncated image gave {bad:?} and must leave the state as it was"
        );
    }

    #[test]
    fn records_survive_snapshot_compaction_and_reopen() {
        let (sim, fs) = sim_disk(lab_seed(63));
        let mut service = distributed::invariant_ok!("recovery-equivalence", open(&fs), "open");
        let requests: Vec<RecordKey> = (0..6).map(|i| record(&format!("k{i}"))).collect();
        for (i, r) in requests.iter().enumerate() {
            let op = incr("n", 1);
            distributed::invariant_ok!(
                "recovery-equivalence",
                service.execute(1_000 + i as u64, &Request::for_op(r.clone(), &op), op),
                "execute"
            );
        }
        let meta = distributed::invariant_ok!("recovery-equivalence", service.take_snapshot(), "take_snapshot");
        invariant!(
            "recovery-equivalence",
            service.replica().first_log_index() == meta.last_index + 1,
            "the snapshot covers {meta:?} but the log still starts at {}",
            service.replica().first_log_index()
        );
        let mut service = reopen(&sim);
        for (i, r) in requests.iter().enumerate() {
            let op = incr("n", 1);
            let out = distributed::invariant_ok!(
                "recovery-equivalence",
                service.execute(2_000 + i as u64, &Request::for_op(r.clone(), &op), op),
                "execute"
            );
            invariant!(
                "recovery-equivalence",
                out == IdemOutput::Replayed(Output::Counter(i as i64 + 1)),
                "after a snapshot, log compaction and a reopen, the retry of request {i} answered {out:?}: its record \
                 must come back with the state, from the snapshot"
            );
        }
        invariant!(
            "recovery-equivalence",
            counter(service.store(), "n") == 6,
            "the counter is not 6 after the retries"
        );
    }
}

mod marker {
    use super::*;

    fn begin(store: &mut IdemStore, t: u64, r: &RecordKey) -> IdemOutput {
        apply(store, t, IdemOp::Begin { request: Request::new(r.clone(), b"charge 10") })
    }

    #[test]
    fn a_duplicate_while_the_marker_is_live_is_in_progress() {
        let mut store = IdemStore::new(config());
        let r = record("pay-1");
        let first = begin(&mut store, 1_000, &r);
        invariant!(
            "marker-resolution",
            matches!(&first, IdemOutput::Begun { attempt: 1, resumed: false, downstream_key } if *downstream_key == DownstreamKey::derive(&r, 1_000)),
            "the first Begin answered {first:?}; expected Begun with attempt 1 and the key derived from the record at 1000"
        );
        for t in [1_000, 1_500, 1_000 + LEASE - 1] {
            let dup = begin(&mut store, t, &r);
            invariant!(
                "marker-resolution",
                dup == IdemOutput::InProgress { attempt: 1, lease_until: 1_000 + LEASE },
                "a duplicate at log time {t}, inside the lease of attempt 1 (until {}), answered {dup:?}: while a \
                 marker is live a duplicate must get InProgress, or two calls run at once",
                1_000 + LEASE
            );
        }
    }

    #[test]
    fn a_retry_after_the_lease_resumes_with_the_same_downstream_key() {
        let mut store = IdemStore::new(config());
        let r = record("pay-1");
        let IdemOutput::Begun { downstream_key, .. } = begin(&mut store, 1_000, &r) else {
            fail!("exactly-once", "the first Begin did not answer Begun")
        };
        // The attempt crashed: no Finish. A retry after its lease takes the marker over.
        let retry = begin(&mut store, 1_000 + LEASE, &r);
        invariant!(
            "exactly-once",
            retry == IdemOutput::Begun { downstream_key: downstream_key.clone(), attempt: 2, resumed: true },
            "a retry after the lease of a crashed attempt answered {retry:?}; expected Begun with the SAME downstream \
             key {downstream_key:?}, attempt 2, resumed: a new key would let the other system perform the effect twice"
        );
        let request = Request::new(r.clone(), b"charge 10");
        let done = apply(
            &mut store,
            1_000 + LEASE + 5,
            IdemOp::Finish { request, outcome: Outcome::Success(b"ch_1".to_vec()) },
        );
        invariant!(
            "same-result",
            done == IdemOutput::Completed(Outcome::Success(b"ch_1".to_vec())),
            "Finish answered {done:?}"
        );
        let after = begin(&mut store, 3_000, &r);
        invariant!(
            "same-result",
            after == IdemOutput::AlreadyCompleted(Outcome::Success(b"ch_1".to_vec())),
            "a retry after the outcome was stored answered {after:?}"
        );
    }

    #[test]
    fn a_released_marker_is_taken_over_at_once() {
        let mut store = IdemStore::new(config());
        let r = record("pay-2");
        let IdemOutput::Begun { downstream_key, attempt, .. } = begin(&mut store, 1_000, &r) else {
            fail!("marker-resolution", "the first Begin did not answer Begun")
        };
        let request = Request::new(r.clone(), b"charge 10");
        let stale = apply(&mut store, 1_010, IdemOp::Release { request: request.clone(), attempt: attempt + 1 });
        invariant!(
            "marker-resolution",
            stale == IdemOutput::NoMarker,
            "releasing another attempt's marker answered {stale:?}"
        );
        let released = apply(&mut store, 1_010, IdemOp::Release { request, attempt });
        invariant!(
            "marker-resolution",
            released == IdemOutput::Released,
            "Release of the holder answered {released:?}"
        );
        let retry = begin(&mut store, 1_020, &r);
        invariant!(
            "marker-resolution",
            retry == IdemOutput::Begun { downstream_key, attempt: 2, resumed: true },
            "after the failed attempt released its marker, a retry at 1020 (inside the old lease) answered {retry:?}: \
             a failed execution must clear its marker, or the key is stuck until the lease ends"
        );
    }

    #[test]
    fn a_marker_left_by_a_crash_expires_with_its_record() {
        let mut store = IdemStore::new(config());
        let r = record("pay-3");
        begin(&mut store, 1_000, &r);
        let later = begin(&mut store, 1_000 + TTL, &r);
        invariant!(
            "marker-resolution",
            later
                == IdemOutput::Begun {
                    downstream_key: DownstreamKey::derive(&r, 1_000 + TTL),
                    attempt: 1,
                    resumed: false
                },
            "after the TTL, a marker nobody finished must be gone and the request new; Begin answered {later:?}"
        );
        let conflict =
            apply(&mut store, 1_000 + TTL + 1, IdemOp::Begin { request: Request::new(r.clone(), b"charge 99") });
        invariant!(
            "fingerprint-conflict",
            matches!(conflict, IdemOutput::Conflict { .. }),
            "Begin with another body under a live marker answered {conflict:?}"
        );
    }
}

/// A downstream system that deduplicates by key, as a real one does: the first call with a
/// key performs the effect; a later one answers the same outcome and performs nothing.
#[derive(Default)]
struct Ledger {
    /// Downstream key → (body, answer), for every key ever performed.
    performed: BTreeMap<DownstreamKey, Vec<u8>>,
    /// Every call, in order, with its key.
    calls: Vec<DownstreamKey>,
    /// Keys whose first call fails definitively.
    declines: BTreeSet<String>,
}

impl Downstream for Ledger {
    fn call(&mut self, key: &DownstreamKey, body: &[u8]) -> Result<Vec<u8>, DownstreamError> {
        self.calls.push(key.clone());
        if self.declines.iter().any(|d| key.0.contains(d.as_str())) {
            return Err(DownstreamError::Definitive("card declined".into()));
        }
        let answer = self.performed.entry(key.clone()).or_insert_with(|| [b"ok:".as_slice(), body].concat());
        Ok(answer.clone())
    }
}

mod crash {
    use super::*;

    /// What a workload was told, in order.
    #[derive(Clone, Debug)]
    enum Ack {
        /// Request `i` answered `output`.
        Executed(usize, IdemOutput),
        /// Request `i`'s side effect answered `reply`.
        External(usize, ExternalReply),
        /// The other system was called with this key and body (it survives our crash).
        Called(DownstreamKey, Vec<u8>),
    }

    fn request(i: usize) -> (Request, Op) {
        let op = incr("n", 1 << (i % 20));
        (Request::for_op(record(&format!("k{i}")), &op), op)
    }

    /// Ten requests, each sent, then retried (some twice), with a snapshot in the middle.
    fn execute_workload(fs: &SimFs, acks: &mut Vec<Ack>) -> Result<(), lab6::ServiceError> {
        let fs: FsRef = Arc::new(fs.clone());
        let mut service = open(&fs)?;
        for i in 0..10 {
            let (req, op) = request(i);
            let out = service.execute(1_000 + 10 * i as u64, &req, op.clone())?;
            acks.push(Ack::Executed(i, out));
            if i % 3 == 0 {
                let (old, op) = request(i / 2);
                let out = service.execute(1_005 + 10 * i as u64, &old, op)?;
                acks.push(Ack::Executed(i / 2, out));
            }
            if i == 5 {
                service.take_snapshot()?;
            }
        }
        Ok(())
    }

    /// After a crash: reopen, retry all ten requests; every effect is in the counter exactly
    /// once, and every acknowledged answer is what its retry answers.
    fn check_execute(disk: &SimFs, acks: &[Ack]) {
        let mut service = reopen(disk);
        let mut answers: BTreeMap<usize, Output> = BTreeMap::new();
        for i in 0..10 {
            let (req, op) = request(i);
            let out = service
                .execute(2_000 + i as u64, &req, op)
                .unwrap_or_else(|e| fail!("recovery-equivalence", "the retry of request {i} failed: {e}"));
            let Some(output) = inner(&out) else { fail!("exactly-once", "the retry of request {i} answered {out:?}") };
            answers.insert(i, output.clone());
        }
        let expected: i64 = (0..10).map(|i| 1i64 << (i % 20)).sum();
        let n = counter(service.store(), "n");
        invariant!(
            "exactly-once",
            n == expected,
            "after the crash and a retry of every request the counter is {n:#b}; each of the 10 requests adds its \
             own bit, so exactly once each is {expected:#b}"
        );
        for ack in acks {
            if let Ack::Executed(i, out) = ack {
                invariant!(
                    "same-result",
                    inner(out) == answers.get(i),
                    "request {i} was answered {out:?} before the crash, and {:?} by its retry after",
                    answers.get(i)
                );
            }
        }
    }

    #[test]
    fn every_crash_point_of_retried_requests_runs_each_once() {
        let seed = lab_seed(64);
        let report = CrashExplorer::new(seed).torn_variants(1).explore(execute_workload, check_execute);
        println!("{} steps, {} images checked", report.steps, report.images_checked);
    }

    /// Four payments through the external protocol, the second declined; each sent once.
    fn external_workload(fs: &SimFs, acks: &mut Vec<Ack>) -> Result<(), lab6::ServiceError> {
        let fs: FsRef = Arc::new(fs.clone());
        let mut service = open(&fs)?;
        for i in 0..4 {
            let mut ledger = Ledger { declines: ["/p1@".to_string()].into(), ..Ledger::default() };
            let req = Request::new(record(&format!("p{i}")), format!("charge {i}").as_bytes());
            let reply = service.call_external(1_000 + i as u64, &req, format!("charge {i}").as_bytes(), &mut ledger);
            let body = format!("charge {i}").into_bytes();
            acks.extend(ledger.calls.into_iter().map(|key| Ack::Called(key, body.clone())));
            acks.push(Ack::External(i, reply?));
        }
        Ok(())
    }

    /// After a crash: the other system still remembers the calls it got. Retrying every
    /// payment after the lease ends each with one outcome, every call of a payment used one
    /// downstream key, and acknowledged outcomes are what the retries answer.
    fn check_external(disk: &SimFs, acks: &[Ack]) {
        let mut service = reopen(disk);
        let mut ledger = Ledger { declines: ["/p1@".to_string()].into(), ..Ledger::default() };
        for ack in acks {
            if let Ack::Called(key, body) = ack {
                let _ = ledger.call(key, body);
            }
        }
        for i in 0..4 {
            let req = Request::new(record(&format!("p{i}")), format!("charge {i}").as_bytes());
            let reply = service
                .call_external(1_000 + 2 * LEASE + i as u64, &req, format!("charge {i}").as_bytes(), &mut ledger)
                .unwrap_or_else(|e| fail!("recovery-equivalence", "the retry of payment {i} failed: {e}"));
            let ExternalReply::Done(outcome) = &reply else {
                fail!("marker-resolution", "the retry of payment {i}, after the lease, answered {reply:?}")
            };
            let keys: BTreeSet<&DownstreamKey> =
                ledger.calls.iter().filter(|k| k.0.contains(&format!("/p{i}@"))).collect();
            invariant!(
                "exactly-once",
                keys.len() == 1,
                "payment {i} reached the other system under {} downstream keys {keys:?}: a retry after a crash must \
                 resume the marker with the same key, or the payment is performed twice",
                keys.len()
            );
            for ack in acks {
                if let Ack::External(j, ExternalReply::Done(before)) = ack
                    && *j == i
                {
                    invariant!(
                        "same-result",
                        before == outcome,
                        "payment {i} answered {before:?} before the crash and {outcome:?} after"
                    );
                }
            }
        }
    }

    #[test]
    fn a_crash_during_a_side_effect_resumes_with_the_same_downstream_key() {
        let seed = lab_seed(65);
        let report = CrashExplorer::new(seed).torn_variants(1).explore(external_workload, check_external);
        println!("{} steps, {} images checked", report.steps, report.images_checked);
    }
}
