//! The service under a power cut at every step: both sync policies that matter, torn images,
//! transient downstream failures, snapshots; and records carried to another replica by an
//! installed snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::sim_disk;
use distributed::vfs::{FsRef, SimFs};
use lab1::SyncPolicy;
use lab4::Replica;
use lab6::{
    Downstream, DownstreamError, DownstreamKey, ExternalReply, IdemOutput, IdemStore, Op, Output, Request, ServiceError,
};

use crate::{LEASE, config, counter, incr, inner, open, options, record, reopen};

fn request(i: usize) -> (Request, Op) {
    let op = incr("n", 1 << i);
    (Request::for_op(record(&format!("k{i}")), &op), op)
}

/// Twelve requests with retries and two snapshots; every request's first answer recorded.
fn workload(fs: &SimFs, sync: SyncPolicy, acks: &mut Vec<(usize, IdemOutput)>) -> Result<(), ServiceError> {
    let fs: FsRef = Arc::new(fs.clone());
    let mut service = open(&fs, sync)?;
    for i in 0..12 {
        let (req, op) = request(i);
        let out = service.execute(1_000 + 7 * i as u64, &req, op)?;
        acks.push((i, out));
        if i % 4 == 1 {
            let (old, op) = request(i - 1);
            acks.push((i - 1, service.execute(1_003 + 7 * i as u64, &old, op)?));
        }
        if i == 4 || i == 9 {
            service.take_snapshot()?;
        }
    }
    Ok(())
}

fn check(disk: &SimFs, sync: SyncPolicy, acks: &[(usize, IdemOutput)]) {
    let mut service = reopen(disk, sync);
    let mut answers = BTreeMap::new();
    for i in 0..12 {
        let (req, op) = request(i);
        let out = service
            .execute(3_000 + i as u64, &req, op)
            .unwrap_or_else(|e| crate::fail!("recovery-equivalence", "the retry of request {i} failed: {e}"));
        answers.insert(i, inner(&out).cloned());
    }
    let n = counter(service.store(), "n");
    invariant!(
        "exactly-once",
        n == (1 << 12) - 1,
        "after the crash and a retry of all 12 requests the counter is {n:#b}, expected {:#b} (each once)",
        (1 << 12) - 1
    );
    for (i, out) in acks {
        invariant!(
            "same-result",
            inner(out).cloned() == answers[i],
            "request {i} answered {out:?} before the crash and {:?} after",
            answers[i]
        );
    }
}

#[test]
fn every_crash_point_under_both_sync_policies_with_torn_images() {
    let seed = lab_seed(0x6c1);
    for sync in [SyncPolicy::EveryAppend, SyncPolicy::Never] {
        let report = CrashExplorer::new(seed)
            .torn_variants(2)
            .explore(|fs, acks| workload(fs, sync, acks), |disk, acks| check(disk, sync, acks));
        println!("{sync:?}: {} steps, {} images checked", report.steps, report.images_checked);
    }
}

/// A payment processor that deduplicates by key, and whose first call for some payments
/// times out (after performing the payment, or before, by the key's parity).
struct Flaky {
    performed: BTreeMap<DownstreamKey, Vec<u8>>,
    calls: Vec<DownstreamKey>,
    timeouts_left: BTreeSet<String>,
}

impl Flaky {
    fn new() -> Flaky {
        Flaky {
            performed: BTreeMap::new(),
            calls: Vec::new(),
            timeouts_left: ["/p1@", "/p2@"].map(String::from).into(),
        }
    }
}

impl Downstream for Flaky {
    fn call(&mut self, key: &DownstreamKey, body: &[u8]) -> Result<Vec<u8>, DownstreamError> {
        self.calls.push(key.clone());
        let timeout = self.timeouts_left.iter().find(|t| key.0.contains(t.as_str())).cloned();
        if let Some(t) = &timeout
            && t.contains("p2")
        {
            self.timeouts_left.remove(t);
            return Err(DownstreamError::Transient("timed out before sending".into()));
        }
        let answer = self.performed.entry(key.clone()).or_insert_with(|| body.to_vec()).clone();
        if let Some(t) = timeout {
            self.timeouts_left.remove(&t);
            return Err(DownstreamError::Transient("timed out after the payment".into()));
        }
        Ok(answer)
    }
}

#[derive(Clone, Debug)]
enum Ack {
    Called(DownstreamKey, Vec<u8>),
    Reply(usize, ExternalReply),
}

fn body(i: usize) -> Vec<u8> {
    format!("pay {i}").into_bytes()
}

fn payment(i: usize) -> Request {
    Request::new(record(&format!("p{i}")), &body(i))
}

/// Four payments; a transient failure is retried at once (its marker was released).
fn external_workload(fs: &SimFs, acks: &mut Vec<Ack>) -> Result<(), ServiceError> {
    let fs: FsRef = Arc::new(fs.clone());
    let mut service = open(&fs, SyncPolicy::EveryAppend)?;
    let mut flaky = Flaky::new();
    for i in 0..4 {
        for attempt in 0..2u64 {
            let seen = flaky.calls.len();
            let reply = service.call_external(1_000 + 10 * i as u64 + attempt, &payment(i), &body(i), &mut flaky);
            acks.extend(flaky.calls[seen..].iter().map(|k| Ack::Called(k.clone(), body(i))));
            let reply = reply?;
            let retry = matches!(reply, ExternalReply::Retry(_));
            acks.push(Ack::Reply(i, reply));
            if !retry {
                break;
            }
        }
    }
    Ok(())
}

fn check_external(disk: &SimFs, acks: &[Ack]) {
    let mut service = reopen(disk, SyncPolicy::EveryAppend);
    let mut flaky = Flaky { timeouts_left: BTreeSet::new(), ..Flaky::new() };
    for ack in acks {
        if let Ack::Called(key, body) = ack {
            flaky.performed.entry(key.clone()).or_insert_with(|| body.clone());
            flaky.calls.push(key.clone());
        }
    }
    for i in 0..4 {
        let reply = service
            .call_external(1_000 + 3 * LEASE + i as u64, &payment(i), &body(i), &mut flaky)
            .unwrap_or_else(|e| crate::fail!("recovery-equivalence", "the retry of payment {i} failed: {e}"));
        let ExternalReply::Done(outcome) = reply else {
            crate::fail!("marker-resolution", "payment {i}'s retry after every lease answered {reply:?}")
        };
        let keys: BTreeSet<&DownstreamKey> = flaky.calls.iter().filter(|k| k.0.contains(&format!("/p{i}@"))).collect();
        invariant!(
            "exactly-once",
            keys.len() == 1,
            "payment {i} reached the processor under the keys {keys:?}: a timeout, a crash or a takeover must resume \
             with the record's one downstream key"
        );
        invariant!(
            "same-result",
            outcome == lab6::Outcome::Success(body(i)),
            "payment {i} ended with {outcome:?}, expected the processor's answer"
        );
        for ack in acks {
            if let Ack::Reply(j, ExternalReply::Done(before)) = ack
                && *j == i
            {
                invariant!(
                    "same-result",
                    *before == outcome,
                    "payment {i}: {before:?} before the crash, {outcome:?} after"
                );
            }
        }
    }
}

#[test]
fn timeouts_and_crashes_still_perform_each_payment_once() {
    let seed = lab_seed(0x6c2);
    let report = CrashExplorer::new(seed).torn_variants(1).explore(external_workload, check_external);
    println!("{} steps, {} images checked", report.steps, report.images_checked);
}

#[test]
fn records_travel_to_another_replica_in_an_installed_snapshot() {
    let seed = lab_seed(0x6c3);
    let (_, leader_fs) = sim_disk(seed);
    let mut leader = distributed::invariant_ok!(
        "recovery-equivalence",
        open(&leader_fs, SyncPolicy::EveryAppend),
        "open the leader"
    );
    for i in 0..5 {
        let (req, op) = request(i);
        distributed::invariant_ok!("recovery-equivalence", leader.execute(1_000 + i as u64, &req, op), "execute");
    }
    distributed::invariant_ok!("recovery-equivalence", leader.take_snapshot(), "take_snapshot");
    let snapshot =
        distributed::invariant_ok!("recovery-equivalence", leader.replica().latest_snapshot(), "latest_snapshot")
            .unwrap_or_else(|| distributed::fail!("recovery-equivalence", "a snapshot: expected Some, seen None"));
    let (_, follower_fs) = sim_disk(seed + 1);
    let mut follower = distributed::invariant_ok!(
        "recovery-equivalence",
        Replica::open(follower_fs, "follower", options(SyncPolicy::EveryAppend), IdemStore::new(config())),
        "open the follower"
    );
    let installed =
        distributed::invariant_ok!("recovery-equivalence", follower.install_snapshot(&snapshot), "install_snapshot");
    invariant!("recovery-equivalence", installed, "the follower refused a snapshot past its commit index");
    for i in 0..5 {
        let r = record(&format!("k{i}"));
        let held = follower.state().lookup(&r).map(|rec| rec.state.clone());
        invariant!(
            "recovery-equivalence",
            held.is_some(),
            "request {i}'s record did not travel with the snapshot installed on another replica"
        );
    }
    let mut store = follower.state().clone();
    let (req, op) = request(3);
    let retry = crate::apply(&mut store, 2_000, lab6::IdemOp::Execute { request: req, op });
    invariant!(
        "recovery-equivalence",
        retry == IdemOutput::Replayed(Output::Counter(0b1111)),
        "on the replica that installed the snapshot, a retry answered {retry:?}"
    );
}
