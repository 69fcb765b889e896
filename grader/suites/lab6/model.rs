//! A property test against a model: random requests (new, retried, with another body), markers
//! (begin, finish, release), time passing by up to one and a half TTLs, snapshots, and crashes
//! (a fresh store restored from the newest snapshot, then every entry after it applied again).

use std::collections::BTreeMap;

use distributed::invariant;
use distributed::storage::StateMachineStorage;
use distributed::testing::proptest_config;
use lab6::{
    DownstreamKey, Fingerprint, IdemCommand, IdemOp, IdemOutput, IdemStore, Op, Outcome, Output, RecordKey, Request,
};
use proptest::prelude::*;

use crate::{LEASE, TTL, config, record};

#[derive(Clone, Debug)]
enum Step {
    /// Request `id` (body variant `body`) through layer (a).
    Execute {
        id: u8,
        body: u8,
    },
    /// Begin / Finish / Release of request `id` through layer (b).
    Begin {
        id: u8,
        body: u8,
    },
    Finish {
        id: u8,
        body: u8,
        ok: bool,
    },
    Release {
        id: u8,
        body: u8,
        attempt: u32,
    },
    /// Time passes.
    Wait(u64),
    Snapshot,
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..5, 0u8..3).prop_map(|(id, body)| Step::Execute { id, body: body / 2 }),
        2 => (0u8..4, 0u8..3).prop_map(|(id, body)| Step::Begin { id, body: body / 2 }),
        1 => (0u8..4, 0u8..3, any::<bool>()).prop_map(|(id, body, ok)| Step::Finish { id, body: body / 2, ok }),
        1 => (0u8..4, 0u8..3, 1u32..3).prop_map(|(id, body, attempt)| Step::Release { id, body: body / 2, attempt }),
        3 => (0u64..TTL * 3 / 2).prop_map(|dt| Step::Wait(dt / 4)),
        1 => Just(Step::Snapshot),
        1 => Just(Step::Crash),
    ]
}

/// The model's record.
#[derive(Clone, Debug)]
struct ModelRecord {
    fingerprint: Fingerprint,
    created: u64,
    state: ModelState,
}

#[derive(Clone, Debug)]
enum ModelState {
    Applied(Output),
    InProgress { attempt: u32, lease_until: u64 },
    Completed(Outcome),
}

/// What the chapter says the store does, without garbage collection or images.
#[derive(Default)]
struct Model {
    log_time: u64,
    counter: i64,
    records: BTreeMap<RecordKey, ModelRecord>,
}

impl Model {
    fn live(&self, key: &RecordKey) -> Option<&ModelRecord> {
        self.records.get(key).filter(|r| r.created + TTL > self.log_time)
    }

    fn apply(&mut self, command: &IdemCommand) -> IdemOutput {
        self.log_time = self.log_time.max(command.timestamp);
        let now = self.log_time;
        let conflict = |r: &ModelRecord, got: Fingerprint| IdemOutput::Conflict { stored: r.fingerprint, got };
        match &command.op {
            IdemOp::Execute { request, op } => match self.live(&request.record).cloned() {
                Some(r) if r.fingerprint != request.fingerprint => conflict(&r, request.fingerprint),
                Some(ModelRecord { state: ModelState::Applied(out), .. }) => IdemOutput::Replayed(out),
                Some(r) => conflict(&r, request.fingerprint),
                None => {
                    let Op::Increment { delta, .. } = op else { unreachable!("the model sends increments") };
                    self.counter += delta;
                    let out = Output::Counter(self.counter);
                    self.create(request, now, ModelState::Applied(out.clone()));
                    IdemOutput::Executed(out)
                }
            },
            IdemOp::Begin { request } => match self.live(&request.record).cloned() {
                Some(r) if r.fingerprint != request.fingerprint => conflict(&r, request.fingerprint),
                Some(ModelRecord { state: ModelState::Completed(o), .. }) => IdemOutput::AlreadyCompleted(o),
                Some(r @ ModelRecord { state: ModelState::Applied(_), .. }) => conflict(&r, request.fingerprint),
                Some(ModelRecord { state: ModelState::InProgress { attempt, lease_until }, .. })
                    if lease_until > now =>
                {
                    IdemOutput::InProgress { attempt, lease_until }
                }
                Some(ModelRecord { state: ModelState::InProgress { attempt, .. }, created, .. }) => {
                    let held = self.records.get_mut(&request.record).expect("setup: live");
                    held.state = ModelState::InProgress { attempt: attempt + 1, lease_until: now + LEASE };
                    IdemOutput::Begun {
                        downstream_key: DownstreamKey::derive(&request.record, created),
                        attempt: attempt + 1,
                        resumed: true,
                    }
                }
                None => {
                    self.create(request, now, ModelState::InProgress { attempt: 1, lease_until: now + LEASE });
                    IdemOutput::Begun {
                        downstream_key: DownstreamKey::derive(&request.record, now),
                        attempt: 1,
                        resumed: false,
                    }
                }
            },
            IdemOp::Finish { request, outcome } => match self.live(&request.record).cloned() {
                None => IdemOutput::NoMarker,
                Some(r) if r.fingerprint != request.fingerprint => conflict(&r, request.fingerprint),
                Some(ModelRecord { state: ModelState::Completed(o), .. }) => IdemOutput::AlreadyCompleted(o),
                Some(r @ ModelRecord { state: ModelState::Applied(_), .. }) => conflict(&r, request.fingerprint),
                Some(_) => {
                    self.records.get_mut(&request.record).expect("setup: live").state =
                        ModelState::Completed(outcome.clone());
                    IdemOutput::Completed(outcome.clone())
                }
            },
            IdemOp::Release { request, attempt } => match self.live(&request.record).cloned() {
                Some(r) if r.fingerprint != request.fingerprint => conflict(&r, request.fingerprint),
                Some(ModelRecord { state: ModelState::Completed(o), .. }) => IdemOutput::AlreadyCompleted(o),
                Some(ModelRecord { state: ModelState::InProgress { attempt: held, .. }, .. }) if held == *attempt => {
                    self.records.get_mut(&request.record).expect("setup: live").state =
                        ModelState::InProgress { attempt: held, lease_until: now };
                    IdemOutput::Released
                }
                _ => IdemOutput::NoMarker,
            },
            IdemOp::Plain(_) => IdemOutput::Plain(Output::Done),
        }
    }

    fn create(&mut self, request: &Request, now: u64, state: ModelState) {
        self.records
            .insert(request.record.clone(), ModelRecord { fingerprint: request.fingerprint, created: now, state });
    }
}

fn request_of(id: u8, body: u8) -> (Request, Op) {
    let op = Op::Increment { key: "n".into(), delta: (i64::from(id) + 1) * if body == 0 { 1 } else { 1000 } };
    (Request::for_op(record(&format!("r{id}")), &op), op)
}

fn external_request(id: u8, body: u8) -> Request {
    Request::new(record(&format!("x{id}")), format!("pay {id} v{body}").as_bytes())
}

fn run(steps: &[Step]) {
    let mut store = IdemStore::new(config());
    let mut model = Model::default();
    let mut t = 1_000;
    let mut log: Vec<(IdemCommand, Vec<u8>)> = Vec::new();
    let mut snapshot: (usize, Vec<u8>) =
        (0, distributed::invariant_ok!("determinism", IdemStore::new(config()).snapshot(), "snapshot"));
    for (position, step) in steps.iter().enumerate() {
        let op = match step {
            Step::Execute { id, body } => {
                let (request, op) = request_of(*id, *body);
                IdemOp::Execute { request, op }
            }
            Step::Begin { id, body } => IdemOp::Begin { request: external_request(*id, *body) },
            Step::Finish { id, body, ok } => IdemOp::Finish {
                request: external_request(*id, *body),
                outcome: if *ok { Outcome::Success(vec![*id]) } else { Outcome::Failure("declined".into()) },
            },
            Step::Release { id, body, attempt } => {
                IdemOp::Release { request: external_request(*id, *body), attempt: *attempt }
            }
            Step::Wait(dt) => {
                t += dt;
                IdemOp::Plain(Op::Noop)
            }
            Step::Snapshot => {
                snapshot = (log.len(), distributed::invariant_ok!("determinism", store.snapshot(), "snapshot"));
                continue;
            }
            Step::Crash => {
                let mut recovered = IdemStore::new(config());
                distributed::invariant_ok!(
                    "determinism",
                    recovered.restore(&snapshot.1),
                    "restore the newest snapshot"
                );
                for (i, (command, first)) in log.iter().enumerate().skip(snapshot.0) {
                    let again = distributed::invariant_ok!("determinism", recovered.apply(&command.encode()), "replay");
                    invariant!(
                        "determinism",
                        &again == first,
                        "step {position}: replaying entry {i} after a crash answered {:?}, but {:?} the first time",
                        IdemOutput::decode(&again),
                        IdemOutput::decode(first)
                    );
                }
                invariant!(
                    "recovery-equivalence",
                    distributed::invariant_ok!("determinism", recovered.snapshot(), "snapshot")
                        == distributed::invariant_ok!("determinism", store.snapshot(), "snapshot"),
                    "step {position}: snapshot (after entry {}) plus replay is not the state before the crash",
                    snapshot.0
                );
                store = recovered;
                continue;
            }
        };
        t += 1;
        let command = IdemCommand::new(t, op);
        let got = distributed::invariant_ok!("determinism", store.apply(&command.encode()), "apply");
        let expected = model.apply(&command);
        let decoded = distributed::invariant_ok!("determinism", IdemOutput::decode(&got), "decode");
        let invariant = match (&expected, &decoded) {
            (IdemOutput::Conflict { .. }, _) | (_, IdemOutput::Conflict { .. }) => "fingerprint-conflict",
            (IdemOutput::InProgress { .. }, _) | (_, IdemOutput::InProgress { .. }) => "marker-resolution",
            (IdemOutput::Replayed(_) | IdemOutput::AlreadyCompleted(_), _) => "same-result",
            _ => "exactly-once",
        };
        invariant!(
            invariant,
            decoded == expected,
            "step {position} ({step:?}) at log time {t}: the store answered {decoded:?}, the model {expected:?}"
        );
        log.push((command, got));
        invariant!(
            "exactly-once",
            crate::counter(&store, "n") == model.counter,
            "step {position}: the counter is {}, the model's {}",
            crate::counter(&store, "n"),
            model.counter
        );
        for key in model.records.keys() {
            invariant!(
                "ttl-log-time",
                store.lookup(key).is_some() == model.live(key).is_some(),
                "step {position} at log time {t}: lookup({key:?}) is {:?}, but the record is {} in log time",
                store.lookup(key).map(|r| (r.created, r.expires_at)),
                if model.live(key).is_some() { "live" } else { "expired" }
            );
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(0x1de6, 64))]

    #[test]
    fn random_requests_retries_expiries_and_crashes_agree_with_the_model(steps in prop::collection::vec(step(), 1..80)) {
        run(&steps);
    }
}
