//! Lab 2: checksums and repair of a write-ahead log.
//!
//! Read the book's chapter "Lab 2: Checksums and repair" first. The types (reports, modes,
//! errors, the [`Peer`] trait) are given; you write the three functions, in order, each with
//! its public tests:
//!
//! 1. [`scan`]: verify every header and record of a log written by lab 1 (`cargo test -p lab2 verify::`);
//! 2. [`scan`], again: classify each problem as a torn tail, zeros or corruption (`classify::`);
//! 3. [`recover`]: apply a [`RecoveryMode`], keeping a copy of whatever is cut (`recover::`);
//! 4. [`repair_from_peer`]: roll back, then fetch the lost range from a peer (`repair::`).
//!
//! Use lab 1 only through its public API (`lab1::format`, `lab1::Wal`): the grader builds
//! this lab on the reference lab 1. All I/O goes through the [`distributed::vfs::FsRef`] you
//! are given: never `std::fs`.

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
