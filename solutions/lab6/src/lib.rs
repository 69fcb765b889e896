//! Lab 6, reference solution: an idempotency store with TTL in log time.
//!
//! Read this after doing the lab. The design, in one paragraph: idempotency records are part
//! of the replicated state machine ([`IdemStore`]), next to lab 4's key-value state, and are
//! written by the same log entries as the effects they remember, so snapshots and replay
//! carry them exactly as they carry the business state. Inside the state machine (layer a)
//! one entry runs the operation and stores its output: a retry finds the output, and nothing
//! runs twice. For a side effect on another system (layer b) that is impossible, so a marker
//! entry comes first, the call carries a downstream key derived from the record, and a result
//! entry ends it; a retry after a crash resumes the marker with the same key. The only clock
//! is log time, the largest timestamp applied: expiry, leases and garbage collection are
//! decided by `apply` from the entries alone, the same way on every replica and every replay.
//!
//! Where to look: `store.rs` for the records, the clock and garbage collection; `service.rs`
//! for the order of the external protocol's entries.

mod error;
pub mod request;
mod service;
mod store;

pub use error::{IdemError, ServiceError};
pub use lab4::{Command, KvStore, Op, Output, ReplicaOptions};
pub use request::{DownstreamKey, Fingerprint, IdemCommand, IdemOp, IdemOutput, Outcome, RecordKey, Request};
pub use service::{Downstream, DownstreamError, ExternalReply, Service};
pub use store::{IdemConfig, IdemStore, Record, RecordState, StoreStats};
