//! Lab 2, reference solution: verifying a write-ahead log, and repairing it.
//!
//! Read this after doing the lab. Lab 1's open cuts whatever stops the scan of the last
//! segment and refuses anything else. This lab replaces that single rule with evidence and
//! a choice:
//!
//! - [`scan`] verifies every header and record (read-only) and classifies each problem as a
//!   torn tail (only at the end of the last segment, with no valid record after it), zeros
//!   (never a record), or corruption (bad bytes with the log going on after them, a gap, a
//!   stale record, a bad header), each with its file and offset;
//! - [`recover`] applies a [`RecoveryMode`], after raft-engine's: cut a torn tail, refuse
//!   corruption, or keep the longest valid prefix. Every cut keeps a copy (`.broken`), as
//!   etcd's repair does;
//! - [`repair_from_peer`] rolls the log back to its last consistent position and fills the
//!   lost range from another replica, checking what it is sent.
//!
//! Lab 2 reads lab 1's files through `lab1::format` and writes only through `lab1::Wal`
//! (and plain cuts and renames), so it works on any correct lab 1. It does not change lab 1's
//! format: a segment has no footer, and the end of a sealed segment is known from where its
//! successor starts. The chapter discusses what a seal record would add.
//!
//! Where to look: `scan.rs` for the classification (its module doc says how a torn tail is
//! told from corruption), `recover.rs` for the order of the steps that makes recovery itself
//! crash-safe, `repair.rs` for the checks on a peer's entries.

mod error;
mod peer;
mod recover;
mod repair;
mod report;
mod scan;

pub use distributed::storage::{Entry, Index, Term};
pub use error::{PeerError, RepairError};
pub use peer::Peer;
pub use recover::recover;
pub use repair::repair_from_peer;
pub use report::{Action, Damage, DamageClass, LogReport, Recovery, RecoveryMode, RepairOutcome, SegmentReport};
pub use scan::scan;
