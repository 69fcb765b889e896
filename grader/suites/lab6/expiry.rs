//! Every boundary of the TTL and of the lease, determinism at every restore point, and
//! bounded growth under a steady stream of requests.

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::StateMachineStorage;
use lab6::{DownstreamKey, IdemCommand, IdemConfig, IdemOp, IdemOutput, IdemStore, Op, Output, RecordKey, Request};

use crate::{LEASE, TTL, apply, config, counter, execute, incr, record};

#[test]
fn every_record_expires_at_exactly_its_own_log_time() {
    let mut store = IdemStore::new(config());
    let created: Vec<u64> = (0..20).map(|i| 5_000 + 137 * i).collect();
    for (i, &t) in created.iter().enumerate() {
        apply(&mut store, t, execute(&record(&format!("k{i}")), incr("n", 1)));
    }
    // Every 31st instant, and each record's last live instant, its expiry and the one after.
    let last = *created.last().expect("setup: records");
    let mut times: Vec<u64> =
        (1..).map(|step| last + 31 * step).take_while(|&t| t < created[0] + TTL + 20 * 137 + 10).collect();
    times.extend(created.iter().flat_map(|&at| [at + TTL - 1, at + TTL, at + TTL + 1]));
    times.sort_unstable();
    times.dedup();
    for t in times {
        apply(&mut store, t, IdemOp::Plain(Op::Noop));
        for (i, &at) in created.iter().enumerate() {
            let live = store.lookup(&record(&format!("k{i}"))).is_some();
            invariant!(
                "ttl-log-time",
                live == (t < at + TTL),
                "at log time {t}, record k{i} created at {at} with TTL {TTL} is {} but should be {}",
                if live { "live" } else { "gone" },
                if t < at + TTL { "live" } else { "gone" }
            );
        }
        // One record expires per instant here, and `gc_per_apply` is 2: each is collected by
        // the entry that expires it.
        let held = store.stats().records;
        let live = created.iter().filter(|&&at| t < at + TTL).count();
        invariant!(
            "bounded-gc",
            held == live,
            "at log time {t}, {live} records are live but the store holds {held}: an expired record is \
             collected by the first entry whose time reaches its expiry (at most gc_per_apply per entry)"
        );
    }
}

#[test]
fn records_expired_but_not_yet_collected_are_misses() {
    let mut store = IdemStore::new(config());
    let keys: Vec<String> = (0..5).map(|i| format!("same-{i}")).collect();
    for key in &keys {
        apply(&mut store, 3_000, execute(&record(key), incr("n", 1)));
    }
    // All five expire at 3 000 + TTL; one entry collects only `gc_per_apply` (2) of them.
    apply(&mut store, 3_000 + TTL, IdemOp::Plain(Op::Noop));
    let stats = store.stats();
    invariant!(
        "bounded-gc",
        stats.records == 3 && stats.expired == 3,
        "five records expired at once and one entry collects at most 2: expected 3 held, all expired; seen {stats:?}"
    );
    for key in &keys {
        let found = store.lookup(&record(key));
        invariant!(
            "ttl-log-time",
            found.is_none(),
            "record {key} expired at log time {}, collected or not, but lookup found {found:?}",
            3_000 + TTL
        );
    }
}

#[test]
fn a_lease_ends_exactly_at_lease_until_and_a_takeover_renews_it() {
    let mut store = IdemStore::new(config());
    let r = record("pay");
    let request = || IdemOp::Begin { request: Request::new(record("pay"), b"pay 5") };
    apply(&mut store, 2_000, request());
    let at_end = apply(&mut store, 2_000 + LEASE - 1, request());
    invariant!(
        "marker-resolution",
        at_end == IdemOutput::InProgress { attempt: 1, lease_until: 2_000 + LEASE },
        "one before the lease ends, Begin answered {at_end:?}"
    );
    let key = DownstreamKey::derive(&r, 2_000);
    let second = apply(&mut store, 2_000 + LEASE, request());
    invariant!(
        "marker-resolution",
        second == IdemOutput::Begun { downstream_key: key.clone(), attempt: 2, resumed: true },
        "at lease_until, Begin answered {second:?}"
    );
    let renewed = apply(&mut store, 2_000 + 2 * LEASE - 1, request());
    invariant!(
        "marker-resolution",
        renewed == IdemOutput::InProgress { attempt: 2, lease_until: 2_000 + 2 * LEASE },
        "a takeover at {} gets a new lease until {}; a duplicate before it answered {renewed:?}",
        2_000 + LEASE,
        2_000 + 2 * LEASE
    );
    let third = apply(&mut store, 2_000 + 5 * LEASE, request());
    invariant!(
        "exactly-once",
        third == IdemOutput::Begun { downstream_key: key, attempt: 3, resumed: true },
        "the third attempt must still use the record's first downstream key; Begin answered {third:?}"
    );
}

#[test]
fn a_ttl_shorter_than_the_lease_still_frees_the_key() {
    let mut store = IdemStore::new(IdemConfig { ttl: 500, lease: 2_000, gc_per_apply: 1 });
    let r = record("short");
    apply(&mut store, 1_000, IdemOp::Begin { request: Request::new(r.clone(), b"x") });
    let later = apply(&mut store, 1_500, IdemOp::Begin { request: Request::new(r.clone(), b"y") });
    invariant!(
        "marker-resolution",
        matches!(later, IdemOutput::Begun { attempt: 1, resumed: false, .. }),
        "the record (TTL 500) expired at 1500 with its marker, whatever its lease; Begin with another body answered \
         {later:?}"
    );
}

/// A long mixed workload over many TTLs, applied straight through, and restored at every
/// tenth entry: each continuation answers and ends the same.
#[test]
fn every_restore_point_of_a_long_workload_decides_alike() {
    let seed = lab_seed(0x6e);
    let mut rng = TestRng::new(seed);
    let mut t = 1_000;
    let commands: Vec<IdemCommand> = (0..400)
        .map(|_| {
            t += rng.below(TTL / 8);
            let r = record(&format!("k{}", rng.below(20)));
            let op = match rng.below(8) {
                0 => IdemOp::Begin { request: Request::new(r, b"charge") },
                1 => IdemOp::Finish { request: Request::new(r, b"charge"), outcome: lab6::Outcome::Success(vec![1]) },
                2 => IdemOp::Release { request: Request::new(r, b"charge"), attempt: 1 + rng.below(2) as u32 },
                3 => IdemOp::Plain(Op::Noop),
                _ => execute(&r, incr("n", 1 + rng.below(3) as i64)),
            };
            // Now and then a leader whose clock is behind.
            IdemCommand::new(if rng.ratio(1, 10) { t.saturating_sub(3_000) } else { t }, op)
        })
        .collect();
    let mut straight = IdemStore::new(config());
    let outputs: Vec<Vec<u8>> = commands
        .iter()
        .map(|c| distributed::invariant_ok!("determinism", straight.apply(&c.encode()), "apply"))
        .collect();
    let mut prefix = IdemStore::new(config());
    for cut in 0..commands.len() {
        if cut % 10 == 0 {
            let mut restored = IdemStore::new(config());
            distributed::invariant_ok!(
                "determinism",
                restored.restore(&distributed::invariant_ok!("determinism", prefix.snapshot(), "snapshot")),
                "restore"
            );
            for (i, c) in commands.iter().enumerate().skip(cut) {
                let out = distributed::invariant_ok!("determinism", restored.apply(&c.encode()), "apply");
                invariant!(
                    "determinism",
                    out == outputs[i],
                    "restored after entry {cut}, entry {i} answered {:?}; straight through {:?}",
                    IdemOutput::decode(&out),
                    IdemOutput::decode(&outputs[i])
                );
            }
            invariant!(
                "determinism",
                distributed::invariant_ok!("determinism", restored.snapshot(), "snapshot")
                    == distributed::invariant_ok!("determinism", straight.snapshot(), "snapshot"),
                "restored after entry {cut}, the final image differs ({:?} against {:?})",
                restored.stats(),
                straight.stats()
            );
        }
        distributed::invariant_ok!("determinism", prefix.apply(&commands[cut].encode()), "apply");
    }
}

#[test]
fn a_steady_stream_keeps_the_record_count_bounded() {
    let mut store = IdemStore::new(IdemConfig { ttl: 1_000, lease: 100, gc_per_apply: 2 });
    // One new request every 10 ms of log time for 20 TTLs: about 100 are live at a time.
    let mut peak = 0;
    for i in 0..2_000u64 {
        let t = 10 * i;
        apply(&mut store, t, execute(&record(&format!("k{i}")), incr("n", 1)));
        let stats = store.stats();
        peak = peak.max(stats.records);
        invariant!(
            "bounded-gc",
            stats.records <= 102 && stats.expired <= 2,
            "after {} requests at one per 10 ms with a TTL of 1000 ms, the store holds {stats:?}: collection must \
             keep up, at most gc_per_apply behind",
            i + 1
        );
    }
    invariant!("bounded-gc", peak >= 99, "only {peak} records were ever held: live records were collected");
    invariant!(
        "exactly-once",
        counter(&store, "n") == 2_000,
        "2000 distinct requests ran {} times",
        counter(&store, "n")
    );
    let replayed = apply(&mut store, 19_999, execute(&record("k1999"), incr("n", 1)));
    invariant!(
        "same-result",
        replayed == IdemOutput::Replayed(Output::Counter(2_000)),
        "the newest request's retry answered {replayed:?}"
    );
}

/// The service's shortcut (a hit answered before any log entry) must agree with what the entry
/// would have decided: only a record live at the request's own time, and of the same request.
#[test]
fn the_services_shortcut_replays_only_a_live_record_of_the_same_request() {
    let (_, fs) = distributed::testing::sim_disk(lab_seed(0x6e01));
    let mut service =
        distributed::invariant_ok!("ttl-log-time", crate::open(&fs, lab1::SyncPolicy::EveryAppend), "open");
    let term = service.replica().hard_state().term;
    let rules = service.store().config();
    invariant!(
        "ttl-log-time",
        term == 1 && rules == config(),
        "a new service holds term {term} (it takes term 1 on open) and the rules {rules:?}, not {:?}",
        config()
    );
    let op = incr("n", 1);
    let same = |key: &str| Request::for_op(record(key), &op);
    let mut run = |at: u64, request: &Request, op: Op, what: &str| {
        distributed::invariant_ok!("ttl-log-time", service.execute(at, request, op), "{what}")
    };
    for (key, at) in [("a", 1_000), ("c", 1_000), ("b", 2_000)] {
        let first = run(at, &same(key), op.clone(), "a first request");
        invariant!(
            "ttl-log-time",
            matches!(first, IdemOutput::Executed(_)),
            "the first request {key} answered {first:?}"
        );
    }
    let other = incr("n", 2);
    let conflict = run(1_500, &Request::for_op(record("a"), &other), other.clone(), "another request under a's key");
    invariant!(
        "fingerprint-conflict",
        matches!(conflict, IdemOutput::Conflict { .. }),
        "a request with another fingerprint under a live record's key answered {conflict:?}"
    );
    let retry = run(1_600, &same("a"), op.clone(), "a retry of a");
    invariant!("ttl-log-time", matches!(retry, IdemOutput::Replayed(_)), "a retry within the TTL answered {retry:?}");
    // The store's clock is at 2 000; these requests carry later times.
    let late = run(1_000 + TTL + 5, &same("c"), op.clone(), "a retry of c after its TTL");
    invariant!(
        "ttl-log-time",
        matches!(late, IdemOutput::Executed(_)),
        "a retry of c at {}, after its record expired at {}, answered {late:?}: it is a new request",
        1_000 + TTL + 5,
        1_000 + TTL
    );
    let at_expiry = run(2_000 + TTL, &same("b"), op.clone(), "a retry of b at its expiry");
    invariant!(
        "ttl-log-time",
        matches!(at_expiry, IdemOutput::Executed(_)),
        "a retry of b at {0}, the instant its record expires, answered {at_expiry:?}: a record is live while \
         log time < expires_at",
        2_000 + TTL
    );
    let n = counter(service.store(), "n");
    invariant!("exactly-once", n == 5, "three requests executed once each and two again after their TTL, but n = {n}");
}

/// `stats().record_bytes` is an estimate, but of the records: each byte of a record's key parts
/// and of its stored result counts once or twice (the key is held in the map and in the expiry
/// index), and a store without records reports none.
#[test]
fn the_memory_estimate_counts_each_records_key_and_result() {
    const N: usize = 100;
    let long = "x".repeat(N);
    // A store with one record: `previous` bytes of value under "x" before an `Execute` that
    // puts over it, so that the record's stored result holds `previous` bytes.
    let with_one = |namespace: &str, key: &str, idempotency_key: &str, previous: usize| {
        let mut store = IdemStore::new(config());
        apply(&mut store, 1_000, IdemOp::Plain(Op::Put { key: "x".into(), value: vec![7; previous] }));
        let before = store.stats().record_bytes;
        let op = Op::Put { key: "x".into(), value: vec![8] };
        let request = Request::for_op(RecordKey::new(namespace, key, idempotency_key), &op);
        apply(&mut store, 1_001, IdemOp::Execute { request, op });
        (before, store)
    };
    let (before, mut base) = with_one("ns", "ky", "ik", 1);
    let base_bytes = base.stats().record_bytes;
    invariant!(
        "bounded-gc",
        before == 0 && base_bytes > 0,
        "with no record the estimate is {before} bytes, with one {base_bytes}"
    );
    for (what, (_, store)) in [
        ("namespace", with_one(&long, "ky", "ik", 1)),
        ("key", with_one("ns", &long, "ik", 1)),
        ("idempotency key", with_one("ns", "ky", &long, 1)),
        ("stored result", with_one("ns", "ky", "ik", 1 + N)),
    ] {
        let bytes = store.stats().record_bytes;
        invariant!(
            "bounded-gc",
            (base_bytes + N..=base_bytes + 2 * N).contains(&bytes),
            "a record whose {what} is {N} bytes longer is estimated at {bytes} bytes, against {base_bytes}: \
             each record's key parts and result count, once or twice (in the map and in the expiry index)"
        );
    }
    apply(&mut base, 1_001 + TTL, IdemOp::Plain(Op::Noop));
    let after = base.stats();
    invariant!(
        "bounded-gc",
        after.records == 0 && after.record_bytes == 0,
        "after the only record expired and was collected, the store reports {after:?}"
    );
    apply(&mut base, 1_002 + TTL, IdemOp::Begin { request: Request::new(record("pay"), b"pay 5") });
    let marked = base.stats();
    invariant!(
        "bounded-gc",
        marked.records == 1 && marked.in_progress == 1 && marked.expired == 0,
        "after one Begin on an empty store, it reports {marked:?}"
    );
}
