//! Lab 4, reference solution: recovery replay, the storage of one whole replica.
//!
//! Read this after doing the lab. The design, in one paragraph: a replica keeps three things
//! in one directory, a log (lab 1, verified on open by lab 2), snapshots (lab 3) and a
//! 40-byte hard-state record `(term, vote, commit)` replaced atomically ([`format`]). The
//! state machine ([`KvStore`]) lives in memory only; what it has applied is never written
//! anywhere on its own, but only inside a snapshot, together with the state it describes. So
//! recovery is always the same computation: restore the newest snapshot (the state *and* its
//! `last_applied`), then apply the log from `snapshot.last_index + 1` up to the persisted
//! commit index, never past it. Two orders make that safe under a crash at any step: `commit`
//! makes the log durable before the hard state names its entries committed, and returns only
//! after that; `take_snapshot` makes the snapshot durable before it discards the log prefix.
//!
//! Where to look: [`format`] for the hard-state bytes; `kv.rs` for determinism (a `BTreeMap`,
//! log time from the entries); `replica.rs` for the protocols (the doc comments of `open_with_snapshots`,
//! `commit`, `take_snapshot` and `install_snapshot` say why each step is in its order).

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
