//! Lab 6's hidden suite: what the grader checks beyond the public tests.
//!
//! - `model`: a property test of random requests, retries, conflicting bodies, markers,
//!   expiries, snapshots and crashes (restore, then replay) against a model in memory;
//! - `expiry`: every boundary of the TTL and the lease, takeover limits, determinism at every
//!   restore point of a long workload, bounded growth under a steady stream;
//! - `arguments`: every answer of Finish and Release, bad entries and bad images refused with
//!   the state unchanged;
//! - `crash`: the service under a power cut at every step, with torn images, transient
//!   downstream failures, snapshots, and a snapshot installed on another replica.
//!
//! Every expectation here comes from the stub's documentation or the book's chapter.

mod arguments;
mod crash;
mod expiry;
mod model;

use std::sync::Arc;

use distributed::storage::StateMachineStorage;
use distributed::vfs::{FsRef, SimFs};
use lab1::{SyncPolicy, WalOptions};
use lab6::{
    IdemCommand, IdemConfig, IdemOp, IdemOutput, IdemStore, Op, Output, RecordKey, ReplicaOptions, Request, Service,
};

pub const TTL: u64 = 10_000;
pub const LEASE: u64 = 1_000;
pub const DIR: &str = "service";

pub fn config() -> IdemConfig {
    IdemConfig { ttl: TTL, lease: LEASE, gc_per_apply: 2 }
}

/// Fails the test naming `invariant`, where a value is expected.
#[macro_export]
macro_rules! fail {
    ($invariant:expr, $($detail:tt)+) => {{
        distributed::invariant!($invariant, false, $($detail)+);
        unreachable!()
    }};
}

/// Applies `op` at log time `timestamp`.
pub fn apply(store: &mut IdemStore, timestamp: u64, op: IdemOp) -> IdemOutput {
    let bytes = distributed::invariant_ok!(
        "recovery-equivalence",
        store.apply(&IdemCommand::new(timestamp, op).encode()),
        "apply a command"
    );
    distributed::invariant_ok!(
        "recovery-equivalence",
        IdemOutput::decode(&bytes),
        "apply returns an encoded IdemOutput"
    )
}

pub fn record(idempotency_key: &str) -> RecordKey {
    RecordKey::new("orders", "customer-7", idempotency_key)
}

pub fn incr(key: &str, delta: i64) -> Op {
    Op::Increment { key: key.into(), delta }
}

pub fn execute(record: &RecordKey, op: Op) -> IdemOp {
    IdemOp::Execute { request: Request::for_op(record.clone(), &op), op }
}

pub fn counter(store: &IdemStore, key: &str) -> i64 {
    store.kv().get(key).map_or(0, |bytes| i64::from_le_bytes(bytes.try_into().expect("setup: an 8-byte counter")))
}

pub fn inner(output: &IdemOutput) -> Option<&Output> {
    match output {
        IdemOutput::Executed(out) | IdemOutput::Replayed(out) => Some(out),
        _ => None,
    }
}

pub fn options(sync: SyncPolicy) -> ReplicaOptions {
    ReplicaOptions { wal: WalOptions { segment_size: 700, sync }, ..ReplicaOptions::default() }
}

pub fn open(fs: &FsRef, sync: SyncPolicy) -> Result<Service, lab6::ServiceError> {
    Service::open(Arc::clone(fs), DIR, options(sync), config())
}

pub fn reopen(disk: &SimFs, sync: SyncPolicy) -> Service {
    let fs: FsRef = Arc::new(disk.clone());
    open(&fs, sync)
        .unwrap_or_else(|e| fail!("recovery-equivalence", "the service does not reopen after the crash: {e}"))
}
