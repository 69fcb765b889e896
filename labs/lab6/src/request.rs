//! The vocabulary of the idempotency store: what a request names, the commands that travel in
//! log entries, and what applying them answers. Given: the tests, the grader and the
//! benchmark build entries with these types.
//!
//! An entry's `data` is an [`IdemCommand`] encoded with postcard, or empty (a leader's no-op
//! entry, which changes nothing). Like lab 4's [`lab4::Command`], every command carries the
//! leader's clock as `timestamp` (log time, in milliseconds): the only clock the store reads.

use serde::{Deserialize, Serialize};

use lab4::{Op, Output};

use crate::IdemError;

/// The key of one idempotency record: `(namespace, key, idempotency_key)`, the seed's
/// "复合键". `namespace` separates business spaces (a tenant, an API: `"payments"`), `key` the
/// business object (an account), and `idempotency_key` the client's token for one logical
/// request, the same on every retry of it. Two requests that differ in any part are unrelated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordKey {
    /// The business space.
    pub namespace: String,
    /// The business key.
    pub key: String,
    /// The client's token for one logical request.
    pub idempotency_key: String,
}

impl RecordKey {
    /// A record key from its three parts.
    pub fn new(namespace: &str, key: &str, idempotency_key: &str) -> RecordKey {
        RecordKey { namespace: namespace.into(), key: key.into(), idempotency_key: idempotency_key.into() }
    }

    /// The bytes this key occupies in memory (its three strings), for [`crate::StoreStats`].
    pub fn heap_bytes(&self) -> usize {
        self.namespace.len() + self.key.len() + self.idempotency_key.len()
    }
}

/// A digest of a request's body: the store keeps it with the record, and a request that
/// reuses an idempotency key with a different body is refused as a conflict instead of being
/// answered with another request's result.
///
/// [`Fingerprint::of`] is 64-bit FNV-1a: deterministic on every machine and in every process
/// (unlike std's `DefaultHasher`, whose algorithm may change between Rust releases), and good
/// enough to tell a client's honest mistake from a retry. It is not collision resistant: a
/// service whose clients may be adversarial uses a cryptographic hash of the body instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// The fingerprint of `body`.
    pub fn of(body: &[u8]) -> Fingerprint {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in body {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Fingerprint(hash)
    }

    /// The fingerprint of a state-machine operation: of its encoded bytes.
    pub fn of_op(op: &Op) -> Fingerprint {
        Fingerprint::of(&postcard::to_stdvec(op).expect("encoding an operation into a Vec cannot fail"))
    }
}

/// One request as the store sees it: which record, and the fingerprint of its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The record this request reads or creates.
    pub record: RecordKey,
    /// The fingerprint of the request's body.
    pub fingerprint: Fingerprint,
}

impl Request {
    /// A request for `record` whose body is `body`.
    pub fn new(record: RecordKey, body: &[u8]) -> Request {
        Request { record, fingerprint: Fingerprint::of(body) }
    }

    /// A request for `record` to run `op` (its fingerprint is the operation's).
    pub fn for_op(record: RecordKey, op: &Op) -> Request {
        Request { record, fingerprint: Fingerprint::of_op(op) }
    }
}

/// The idempotency key handed to another system for the side effect of one record.
///
/// Derived from the record, never from an attempt: every attempt at the same record, before
/// and after a crash, calls the other system with the same key, so the other system (which
/// deduplicates by it) performs the effect once. The text is
/// `"{namespace}/{key}/{idempotency_key}@{created}"`, where `created` is the log time at which
/// the record was created: a request that reuses an idempotency key after its record expired
/// is a new request, and gets a new downstream key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DownstreamKey(pub String);

impl DownstreamKey {
    /// The downstream key of the record `record` created at log time `created`.
    pub fn derive(record: &RecordKey, created: u64) -> DownstreamKey {
        DownstreamKey(format!("{}/{}/{}@{created}", record.namespace, record.key, record.idempotency_key))
    }
}

/// The final outcome of a side effect on another system, as stored in a record. A definitive
/// failure (a declined card) is an outcome like a success: it is stored and every retry gets
/// it, because calling again could now succeed and the client would see two answers to one
/// request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The other system performed the effect and answered these bytes.
    Success(Vec<u8>),
    /// The other system refused, definitively, for this reason.
    Failure(String),
}

/// One command, as carried by a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemCommand {
    /// The leader's clock when it accepted the command, in milliseconds (log time).
    pub timestamp: u64,
    /// What to do.
    pub op: IdemOp,
}

/// What a command does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdemOp {
    /// A write with no idempotency record: lab 4's operation, applied as it is. The output is
    /// [`IdemOutput::Plain`]. The benchmark's baseline, and the business writes that need no
    /// key.
    Plain(Op),
    /// Layer (a), inside the state machine: run `op` once for `request`. On a miss the
    /// operation runs and its output, a [`Output::Rejected`] included, is stored in a new
    /// record by this same entry ([`IdemOutput::Executed`]); on a hit the stored output is
    /// returned and nothing runs ([`IdemOutput::Replayed`]).
    Execute {
        /// The record and the body's fingerprint.
        request: Request,
        /// The operation.
        op: Op,
    },
    /// Layer (b), step 1: place an in-progress marker for a side effect on another system.
    /// Answers [`IdemOutput::Begun`] with the downstream key to call with, or what a live
    /// record says instead (in progress, completed, conflict).
    Begin {
        /// The record and the body's fingerprint.
        request: Request,
    },
    /// Layer (b), step 3: store the other system's outcome in the record and end its marker.
    /// Answers [`IdemOutput::Completed`] (or the outcome already stored).
    Finish {
        /// The record and the body's fingerprint.
        request: Request,
        /// What the other system answered.
        outcome: Outcome,
    },
    /// Layer (b), when the call failed without a definitive answer (a timeout, a 503): the
    /// marker of attempt `attempt` is released at once, so a retry resumes it (with the same
    /// downstream key) without waiting for its lease. Answers [`IdemOutput::Released`].
    Release {
        /// The record and the body's fingerprint.
        request: Request,
        /// The attempt whose marker is released; another attempt's marker is left alone.
        attempt: u32,
    },
}

/// What applying an [`IdemCommand`] answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdemOutput {
    /// The output of an [`IdemOp::Plain`] operation.
    Plain(Output),
    /// The operation ran now, for the first time; its output is stored.
    Executed(Output),
    /// A retry: the stored output of the first execution. Nothing ran.
    Replayed(Output),
    /// A marker is placed (or resumed): call the other system with `downstream_key`.
    Begun {
        /// The key to give the other system. The same for every attempt at this record.
        downstream_key: DownstreamKey,
        /// 1 for the first attempt; one more each time a retry takes over a marker.
        attempt: u32,
        /// Whether this attempt took over the marker of an earlier one (crashed, or
        /// released): the other system may already have performed the effect under
        /// `downstream_key`.
        resumed: bool,
    },
    /// Another attempt holds the marker until log time `lease_until`: retry later.
    InProgress {
        /// The attempt that holds it.
        attempt: u32,
        /// When its lease ends, in log time.
        lease_until: u64,
    },
    /// The outcome is stored now.
    Completed(Outcome),
    /// The record already holds an outcome: this one.
    AlreadyCompleted(Outcome),
    /// The marker of that attempt is released.
    Released,
    /// A [`IdemOp::Finish`] or [`IdemOp::Release`] found no marker to act on (the record
    /// expired, was never begun, or another attempt holds it). Nothing changed.
    NoMarker,
    /// The record was created by a request with another body. Nothing changed and nothing
    /// ran.
    Conflict {
        /// The fingerprint stored in the record.
        stored: Fingerprint,
        /// The fingerprint of this request.
        got: Fingerprint,
    },
}

impl IdemCommand {
    /// A command stamped with log time `timestamp`.
    pub fn new(timestamp: u64, op: IdemOp) -> IdemCommand {
        IdemCommand { timestamp, op }
    }

    /// The bytes of a log entry's `data`.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding a command into a Vec cannot fail")
    }

    /// Reads a command from a log entry's non-empty `data`.
    pub fn decode(bytes: &[u8]) -> Result<IdemCommand, IdemError> {
        postcard::from_bytes(bytes).map_err(|e| IdemError::BadCommand(e.to_string()))
    }
}

impl IdemOutput {
    /// The bytes `apply` returns.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding an output into a Vec cannot fail")
    }

    /// Reads an output returned by `apply`.
    pub fn decode(bytes: &[u8]) -> Result<IdemOutput, IdemError> {
        postcard::from_bytes(bytes).map_err(|e| IdemError::BadCommand(e.to_string()))
    }
}
