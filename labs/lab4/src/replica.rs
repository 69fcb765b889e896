//! Tasks 3 to 7: the replica. A log (lab 1), its verification on open (lab 2), snapshots
//! (lab 3), the hard state (Task 2) and a state machine (Task 1), in one directory:
//!
//! ```text
//! dir/log/          the write-ahead log, lab 1's segments
//! dir/snapshots/    lab 3's snapshot store
//! dir/hardstate     the hard-state record (term, vote, commit), replaced atomically
//! ```
//!
//! The public API below is fixed (the tests and labs 5–7 use it); everything behind it is
//! yours to design. Add private fields to `Replica`, private types and functions as you need.
//!
//! Three indexes order everything, and the tests check after every operation, and after a
//! crash at any step, that
//!
//! ```text
//! snapshot.last_index ≤ last_applied ≤ commit_index ≤ last_log_index
//! ```
//!
//! and that `commit_index` never moves backwards, across crashes included.

use std::path::PathBuf;

use distributed::storage::{
    Entry, HardState, Index, Snapshot, SnapshotMeta, SnapshotStorage, StateMachineStorage, Term,
};
use distributed::vfs::FsRef;
use lab1::WalOptions;
use lab2::RecoveryMode;
use lab3::{SnapshotStore, StoreOptions};

use crate::ReplicaError;

/// The log's directory inside the replica's directory.
pub const LOG_DIR: &str = "log";
/// The snapshot store's directory inside the replica's directory.
pub const SNAPSHOT_DIR: &str = "snapshots";
/// The hard-state file inside the replica's directory (see [`crate::format`]). Its temporary
/// file while it is replaced is `hardstate.tmp`.
pub const HARD_STATE_FILE: &str = "hardstate";

/// Settings for [`Replica::open`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplicaOptions {
    /// The log's segment size and sync policy. Under [`lab1::SyncPolicy::Never`] the replica
    /// must sync the log itself before it commits.
    pub wal: WalOptions,
    /// How many snapshots to keep.
    pub snapshots: StoreOptions,
    /// What the log's verification on open may cut (lab 2). The default cuts a torn tail and
    /// refuses anything else.
    pub recovery: RecoveryMode,
}

/// One entry applied by [`Replica::apply_committed`] or [`Replica::apply_next`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The entry's index.
    pub index: Index,
    /// The entry's term.
    pub term: Term,
    /// What the state machine returned, for the client that submitted the command.
    pub output: Vec<u8>,
}

/// The storage of one replica: a log, snapshots, the hard state and a state machine `S`,
/// composed so that a crash at any step recovers to an equivalent state.
///
/// `S` is the state machine ([`crate::KvStore`] in this lab; lab 6 wraps it). `P` is where
/// snapshots go: lab 3's [`SnapshotStore`] here; lab 7 plugs in incremental snapshots.
///
/// Mutating methods take `&mut self`: one thread drives a replica (lab 5 shares it).
#[derive(Debug)]
pub struct Replica<S, P = SnapshotStore> {
    // Your fields here: the filesystem and directory, the log, the snapshot store, the hard
    // state, the state machine, last_applied, and whether the replica is poisoned.
    _types: std::marker::PhantomData<(S, P)>,
}

impl<S: StateMachineStorage> Replica<S, SnapshotStore> {
    /// Opens (or creates) the replica in `dir`, with lab 3's snapshot store in
    /// `dir/snapshots`, starting from `state_machine` (an empty state) if there is no snapshot.
    /// See [`Replica::open_with_snapshots`] for what opening does.
    pub fn open(
        fs: FsRef,
        dir: impl Into<PathBuf>,
        options: ReplicaOptions,
        state_machine: S,
    ) -> Result<Self, ReplicaError> {
        let _ = (fs, dir.into(), options, state_machine);
        todo!("Task 3: open the snapshot store, then open_with_snapshots")
    }
}

impl<S: StateMachineStorage, P: SnapshotStorage> Replica<S, P> {
    /// Opens (or creates) the replica in `dir` with the snapshot store `snapshots`, in the
    /// seed's start-up order:
    ///
    /// 1. the newest valid snapshot (`snapshots.latest()`); if there is one, `state_machine`
    ///    is restored from it, and `last_applied` is its last index, else `state_machine` stays
    ///    as given and `last_applied` is 0;
    /// 2. the log in `dir/log`, verified and recovered with lab 2's `recover` in
    ///    `options.recovery`, then opened with lab 1;
    /// 3. the hard state from `dir/hardstate` (absent: all zero; damaged:
    ///    [`ReplicaError::HardStateCorrupt`]); the commit index becomes the larger of the
    ///    persisted one and the snapshot's last index (a snapshot holds only committed entries).
    ///
    /// Then it checks that the parts fit ([`ReplicaError::Inconsistent`] otherwise, with
    /// nothing changed): the log continues the snapshot (its first index is at most
    /// `snapshot.last_index + 1`, or the log is empty and starts right after it), and the
    /// commit index is at most the last index held (log or snapshot).
    ///
    /// Opening does **not** apply the log: the entries from `last_applied + 1` to the commit
    /// index are replayed by [`Replica::apply_committed`] (or [`Replica::apply_next`]), so that
    /// lab 5 can serve reads while it knows the replay is not finished.
    pub fn open_with_snapshots(
        fs: FsRef,
        dir: impl Into<PathBuf>,
        options: ReplicaOptions,
        state_machine: S,
        snapshots: P,
    ) -> Result<Self, ReplicaError> {
        let _ = (fs, dir.into(), options, state_machine, snapshots);
        todo!("Task 3: open an empty replica (recovery in Task 6)")
    }

    /// The persisted hard state, with the commit index as the replica knows it.
    pub fn hard_state(&self) -> HardState {
        todo!("Task 3: the hard state")
    }

    /// The highest index known committed (persisted before [`Replica::commit`] returned).
    pub fn commit_index(&self) -> Index {
        todo!("Task 3: the commit index")
    }

    /// The index of the last entry applied to the state machine (the snapshot's last index
    /// right after open).
    pub fn last_applied(&self) -> Index {
        todo!("Task 3: the last applied index")
    }

    /// The first index the log holds (`snapshot.last_index + 1` after a compaction).
    pub fn first_log_index(&self) -> Index {
        todo!("Task 3: the log's first index")
    }

    /// The last index the log holds, or the snapshot's last index if the log is empty after it.
    pub fn last_log_index(&self) -> Index {
        todo!("Task 3: the last log index")
    }

    /// The term of the entry at `index`: from the log, or from the snapshot's metadata for its
    /// last index.
    pub fn term(&self, index: Index) -> Result<Term, ReplicaError> {
        todo!("Task 3: the term of entry {index}")
    }

    /// The log's entries with indexes in `low..high` (for a leader sending them on).
    pub fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, ReplicaError> {
        todo!("Task 3: the entries {low}..{high}")
    }

    /// What the newest snapshot covers (`(0, 0)` if there is none).
    pub fn snapshot_meta(&self) -> SnapshotMeta {
        todo!("Task 5: the newest snapshot's metadata")
    }

    /// The newest snapshot, as a leader sends it to a follower that lags behind its log.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, ReplicaError> {
        todo!("Task 5: the newest snapshot")
    }

    /// The state machine, as of `last_applied`.
    pub fn state(&self) -> &S {
        todo!("Task 3: the state machine")
    }

    /// Persists a new term and vote (a Raft node does this before answering a vote request).
    /// The term must not decrease, and within one term a vote, once cast, must not change;
    /// otherwise [`ReplicaError::TermRegression`] and nothing changes. The commit index is
    /// kept. Durable on return.
    pub fn set_term(&mut self, term: Term, vote: Option<u64>) -> Result<(), ReplicaError> {
        todo!("Task 3: persist term {term} and vote {vote:?}")
    }

    /// Appends entries from a leader, as Raft's AppendEntries does. `entries` are contiguous;
    /// the first may overlap the log:
    ///
    /// - entries already held with the same index and term are skipped (the leader resent
    ///   them), as are entries the snapshot covers;
    /// - at the first entry whose term differs from the one held at its index, the log is
    ///   truncated from that index, then the rest is appended; a conflict at or below the
    ///   commit index is [`ReplicaError::TruncateCommitted`], and nothing changes;
    /// - entries that start after `last_log_index() + 1` are [`ReplicaError::Gap`].
    ///
    /// Returns once the entries are acknowledged under the log's sync policy.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), ReplicaError> {
        todo!("Task 3: append {} entries (conflicts in Task 3, crash order in Task 4)", entries.len())
    }

    /// Raises the commit index to `index`, durably. When it returns `Ok`, a crash at any later
    /// moment recovers a commit index of at least `index`; the log's entries up to `index` are
    /// durable before the hard state names them committed. An `index` at or below the commit
    /// index does nothing (the commit index never moves backwards); one past the last log
    /// index is [`ReplicaError::CommitBeyondLog`]. Nothing is applied here.
    pub fn commit(&mut self, index: Index) -> Result<(), ReplicaError> {
        todo!("Task 4: commit up to {index}, in the order that survives a crash")
    }

    /// Applies the next committed entry to the state machine, if `last_applied` is below the
    /// commit index, and returns it. One entry at a time, so a caller (lab 5's applier) can let
    /// readers in between entries.
    pub fn apply_next(&mut self) -> Result<Option<Applied>, ReplicaError> {
        todo!("Task 3: apply entry {} if it is committed", self.last_applied() + 1)
    }

    /// Applies every committed entry not applied yet, in index order, and returns them with
    /// their outputs. After [`Replica::open`], this is the replay: it returns the same outputs
    /// as the first time these entries were applied.
    pub fn apply_committed(&mut self) -> Result<Vec<Applied>, ReplicaError> {
        todo!("Task 3: apply entries {}..={}", self.last_applied() + 1, self.commit_index())
    }

    /// Takes a snapshot of the state machine at `last_applied`, saves it, then discards the
    /// log prefix it covers — in that order, so that no crash leaves the prefix gone and the
    /// snapshot missing. Returns what the snapshot covers. With nothing applied since the newest
    /// snapshot, does nothing and returns that snapshot's metadata.
    pub fn take_snapshot(&mut self) -> Result<SnapshotMeta, ReplicaError> {
        todo!("Task 5: freeze, save, then compact")
    }

    /// Records a snapshot that the snapshot store already holds durably, saved by the caller
    /// from a view of the state frozen at `meta.last_index` (lab 7 saves one on another thread
    /// while this replica goes on applying), and discards the log prefix it covers. It is the
    /// second half of [`Replica::take_snapshot`], under the same two order rules:
    ///
    /// - **never before the snapshot is durable**: `meta` must be what the store's
    ///   [`SnapshotStorage::latest_meta`] returns now, its newest durable snapshot;
    /// - **never past `last_applied`**: a snapshot cannot hold an entry not applied yet, and its
    ///   last term must be the log's at its last index.
    ///
    /// Otherwise [`ReplicaError::CompactRefused`], and nothing changes. A snapshot that does not
    /// reach past the one recorded already does nothing and returns the recorded one. On
    /// success the replica's snapshot is `meta` (what `term`, `snapshot_meta` and the next
    /// `open` go by) and the log starts after it. The cost is bounded: it reads no snapshot and
    /// writes none, only the log's whole segments before `meta.last_index` are removed.
    pub fn compact_to(&mut self, meta: SnapshotMeta) -> Result<SnapshotMeta, ReplicaError> {
        todo!("Task 5: compact the log to the snapshot {meta:?} saved elsewhere, once it is durable")
    }

    /// Installs a snapshot sent by a leader (Raft's InstallSnapshot). A snapshot that does not
    /// reach past the commit index is ignored (`Ok(false)`): this replica already has
    /// everything it covers. Otherwise (`Ok(true)`) the snapshot is saved, the state machine
    /// restored from it, the commit index and `last_applied` raised to its last index, and the
    /// log reset around it: the entries after it are kept if the log holds the snapshot's last
    /// entry with the same term; otherwise the whole log is discarded and restarts after the
    /// snapshot. After a crash at any step, the replica opens either as before (the same commit
    /// index and state; uncommitted entries that the snapshot covers or contradicts may be gone)
    /// or with the snapshot installed, and never with log entries that contradict the snapshot.
    /// An image the state machine cannot restore is [`ReplicaError::StateMachine`], and a
    /// snapshot whose last term is older than the one this replica holds (sent by a leader
    /// deposed since) is lab 3's [`lab3::SnapshotError::OutOfDate`]; in both cases nothing
    /// changes, on disk or in memory.
    pub fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<bool, ReplicaError> {
        todo!("Task 7: install the snapshot {:?}", snapshot.meta)
    }
}
