//! Lab 6: an idempotency store with TTL in log time.
//!
//! Read the book's chapter "Lab 6: An idempotency store" first. A client that gets no answer
//! (a timeout, a crashed server) sends its request again. For an increment or a payment,
//! "again" must not mean "twice": the store keeps a record per request, keyed by
//! `(namespace, key, idempotency_key)`, and answers a retry with the stored result. This lab
//! builds that store *inside* lab 4's replicated state machine, so the records are exactly as
//! durable as the state they protect, and measures their lifetime in log time, so that every
//! replica and every replay forgets them at the same entry.
//!
//! The vocabulary ([`request`]), the errors and the [`Service`]'s protocol types are given.
//! Work through the tasks in order, each with its public tests:
//!
//! 1. [`IdemStore`], layer (a): `Execute` runs an operation and stores its output in one
//!    entry; a retry replays it; another body under the same key is a conflict
//!    (`cargo test -p lab6 execute::`);
//! 2. TTL in log time: the clock is the largest timestamp applied (`ttl::`);
//! 3. bounded, deterministic garbage collection, and [`IdemStore::stats`] (`gc::`);
//! 4. the snapshot image (`snapshot::`);
//! 5. layer (b), markers for a side effect on another system: `Begin`, `Finish`, `Release`,
//!    leases and takeover with the same downstream key (`marker::`);
//! 6. [`Service`]: the external protocol's order on lab 4's replica, under a crash at every
//!    step (`crash::`).
//!
//! Use lab 4 only through its public API (`lab4::Replica`, `lab4::KvStore`): the grader builds
//! this lab on the reference version of it. The store reads no clock of the machine: its only
//! clock is the timestamps of the entries it applies.

mod error;
pub mod request;
mod service;
mod store;

pub use error::{IdemError, ServiceError};
pub use lab4::{Command, KvStore, Op, Output, ReplicaOptions};
pub use request::{DownstreamKey, Fingerprint, IdemCommand, IdemOp, IdemOutput, Outcome, RecordKey, Request};
pub use service::{Downstream, DownstreamError, ExternalReply, Service};
pub use store::{IdemConfig, IdemStore, Record, RecordState, StoreStats};
