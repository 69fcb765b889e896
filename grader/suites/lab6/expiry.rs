//! Every boundary of the TTL and of the lease, determinism at every restore point, and
//! bounded growth under a steady stream of requests.

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::StateMachineStorage;
use lab6::{DownstreamKey, IdemCommand, IdemConfig, IdemOp, IdemOutput, IdemStore, Op, Output, Request};

use crate::{LEASE, TTL, apply, config, counter, execute, incr, record};

#[test]
fn every_record_expires_at_exactly_its_own_log_time() {
    let mut store = IdemStore::new(config());
    let created: Vec<u64> = (0..20).map(|i| 5_000 + 137 * i).collect();
    for (i, &t) in created.iter().enumerate() {
        apply(&mut store, t, execute(&record(&format!("k{i}")), incr("n", 1)));
    }
    let mut t = *created.last().expect("setup: records");
    while t < created[0] + TTL + 20 * 137 + 10 {
        t += 31;
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
