//! Lab 4: recovery replay. The storage of one whole replica.
//!
//! Read the book's chapter "Lab 4: Recovery replay" first. Labs 1–3 built the parts (a log,
//! its repair, snapshots); this lab composes them into a [`Replica`] and proves the seed's
//! central claim: after a crash at any point, loading the newest snapshot and replaying the
//! log up to the persisted `commit_index` gives the same state, and the same outputs, as
//! before the crash.
//!
//! The command vocabulary ([`command`]) and the errors are given. Work through the tasks in
//! order, each with its public tests:
//!
//! 1. [`KvStore`]: a deterministic key-value state machine (`cargo test -p lab4 kv::`);
//! 2. [`format`]: the hard-state record `(term, vote, commit)` (`format::`);
//! 3. [`Replica::open`] on an empty directory, [`Replica::append`], [`Replica::commit`] and
//!    [`Replica::apply_committed`] (`replica::`);
//! 4. the order of `commit`'s steps, so that a crash never moves the commit point backwards
//!    and never past the durable log (`commit::`);
//! 5. [`Replica::take_snapshot`]: freeze, save, then compact (`snapshot::`);
//! 6. recovery in [`Replica::open`]: newest valid snapshot, verified log, hard state, and
//!    replay by `apply_committed` from `snapshot.last_index + 1` (`recovery::`);
//! 7. [`Replica::install_snapshot`] from a leader (`install::`).
//!
//! Use labs 1–3 only through their public APIs (`lab1::Wal`, `lab2::recover`,
//! `lab3::SnapshotStore`): the grader builds this lab on the reference versions of them. All
//! I/O goes through the [`distributed::vfs::FsRef`] you are given: never `std::fs`.

pub mod command;
mod error;
pub mod format;
mod kv;
mod replica;

pub use command::{Command, Op, Output, Write};
pub use distributed::storage::{Entry, HardState, Index, Snapshot, SnapshotMeta, StateMachineStorage, Term};
pub use error::{KvError, ReplicaError};
pub use kv::KvStore;
pub use replica::{Applied, HARD_STATE_FILE, LOG_DIR, Replica, ReplicaOptions, SNAPSHOT_DIR};
