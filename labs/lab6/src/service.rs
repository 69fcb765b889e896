//! Task 6: a single-node service on lab 4's replica: it stamps commands with log time,
//! appends and commits them, applies them, and drives the protocol for side effects on
//! another system.
//!
//! The public API below is fixed; add private fields and functions as you need.

use std::path::PathBuf;

use distributed::storage::SnapshotMeta;
use distributed::vfs::FsRef;
use lab4::{Op, Replica, ReplicaOptions};

use crate::ServiceError;
use crate::request::{DownstreamKey, Fingerprint, IdemCommand, IdemOutput, Outcome, Request};
use crate::store::{IdemConfig, IdemStore};

/// Another system, called for a side effect (a payment, an e-mail). It deduplicates by the
/// key it is given: a second call with a key it has seen performs nothing and answers what
/// the first call answered (Stripe's API, and any API that follows AWS's guidance on
/// idempotent APIs, behaves so while the key is within its own retention).
pub trait Downstream {
    /// Performs the effect of `body` once per `key`, and answers its outcome.
    fn call(&mut self, key: &DownstreamKey, body: &[u8]) -> Result<Vec<u8>, DownstreamError>;
}

/// Why a downstream call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DownstreamError {
    /// The other system refused, definitively (a declined card): an outcome, stored like a
    /// success.
    #[error("refused: {0}")]
    Definitive(String),
    /// No definitive answer (a timeout, an overloaded server): the effect may or may not have
    /// happened. The marker is released and a retry calls again with the same key.
    #[error("no definitive answer: {0}")]
    Transient(String),
}

/// What [`Service::call_external`] tells the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternalReply {
    /// The side effect's final outcome: performed by this call, or stored by an earlier one.
    Done(Outcome),
    /// Another attempt holds the marker until log time `lease_until`: retry after it.
    InProgress {
        /// The attempt that holds it.
        attempt: u32,
        /// When its lease ends, in log time.
        lease_until: u64,
    },
    /// The idempotency key was used by a request with another body.
    Conflict {
        /// The fingerprint stored in the record.
        stored: Fingerprint,
        /// The fingerprint of this request.
        got: Fingerprint,
    },
    /// The call got no definitive answer; the marker is released. Retry (with the same
    /// idempotency key: the other system will see the same downstream key).
    Retry(String),
}

/// One replica acting as its own leader: the log time of each command is the `timestamp`
/// its caller gives (the tests move it by hand), every command is committed and applied
/// before its method returns, and the answer is the output of its own entry.
#[derive(Debug)]
pub struct Service {
    // Your fields here: the replica.
    _replica: std::marker::PhantomData<Replica<IdemStore>>,
}

impl Service {
    /// Opens (or creates) the service's replica in `dir` with an empty [`IdemStore`] of
    /// `config`, recovers it (lab 4: newest snapshot, then replay up to the commit index), and
    /// makes it the leader of term 1 if it has no term yet.
    pub fn open(
        fs: FsRef,
        dir: impl Into<PathBuf>,
        options: ReplicaOptions,
        config: IdemConfig,
    ) -> Result<Service, ServiceError> {
        let _ = (fs, dir.into(), options);
        todo!("Task 6: open and recover a replica of IdemStore::new({config:?})")
    }

    /// The state machine, as of the last applied entry.
    pub fn store(&self) -> &IdemStore {
        todo!("Task 6: the store")
    }

    /// The replica underneath.
    pub fn replica(&self) -> &Replica<IdemStore> {
        todo!("Task 6: the replica")
    }

    /// Appends `command` as the next entry, commits it durably, applies it, and returns its
    /// output.
    pub fn submit(&mut self, command: IdemCommand) -> Result<IdemOutput, ServiceError> {
        todo!("Task 6: append, commit and apply {command:?}")
    }

    /// Layer (a): runs `op` once for `request`. Looks up first: a record that is live both
    /// at the store's log time and at `timestamp` answers [`IdemOutput::Replayed`] with no log
    /// entry. Otherwise an [`crate::IdemOp::Execute`] entry decides, at apply, against the
    /// record as the log orders it.
    pub fn execute(&mut self, timestamp: u64, request: &Request, op: Op) -> Result<IdemOutput, ServiceError> {
        todo!("Task 6: execute {op:?} for {request:?} at {timestamp}")
    }

    /// Layer (b): performs the side effect of `request` on `downstream` once, in Stripe's
    /// order:
    ///
    /// 1. commit a [`crate::IdemOp::Begin`] entry. A miss places an in-progress marker, whose
    ///    downstream key is derived from the record; a record already completed, in
    ///    progress or created by another body answers instead, and nothing is called;
    /// 2. call `downstream` with the marker's downstream key;
    /// 3. commit the outcome with [`crate::IdemOp::Finish`] (a definitive refusal too), or, on
    ///    a [`DownstreamError::Transient`] failure, release the marker with
    ///    [`crate::IdemOp::Release`] and answer [`ExternalReply::Retry`].
    ///
    /// A crash between 1 and 3 leaves the marker. The retry that comes after its lease takes
    /// it over, and calls `downstream` again with the *same* key, so the other system
    /// performs the effect once and answers the retry what it answered the first call.
    pub fn call_external(
        &mut self,
        timestamp: u64,
        request: &Request,
        body: &[u8],
        downstream: &mut dyn Downstream,
    ) -> Result<ExternalReply, ServiceError> {
        let _ = (body, downstream);
        todo!("Task 6: the external protocol for {request:?} at {timestamp}")
    }

    /// Takes a snapshot of the store and compacts the log it covers (lab 4).
    pub fn take_snapshot(&mut self) -> Result<SnapshotMeta, ServiceError> {
        todo!("Task 6: snapshot through the replica")
    }
}
