//! The replica: a log (lab 1), its verification on open (lab 2), snapshots (lab 3), the hard
//! state ([`crate::format`]) and a state machine, in one directory:
//!
//! ```text
//! dir/log/          the write-ahead log, lab 1's segments
//! dir/snapshots/    lab 3's snapshot store
//! dir/hardstate     the hard-state record (term, vote, commit), replaced atomically
//! ```
//!
//! Three indexes order everything, and the tests check after every operation, and after a
//! crash at any step, that
//!
//! ```text
//! snapshot.last_index ≤ last_applied ≤ commit_index ≤ last_log_index
//! ```
//!
//! and that `commit_index` never moves backwards, across crashes included.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::storage::{
    Entry, HardState, Index, Snapshot, SnapshotMeta, SnapshotStorage, StateMachineStorage, Term,
};
use distributed::vfs::{FsRef, OpenMode, Vfs, write_atomic};
use lab1::{Wal, WalError, WalOptions};
use lab2::RecoveryMode;
use lab3::{SnapshotError, SnapshotStore, StoreOptions};

use crate::ReplicaError;
use crate::format::{decode_hard_state, encode_hard_state};

/// The log's directory inside the replica's directory.
pub const LOG_DIR: &str = "log";
/// The snapshot store's directory inside the replica's directory.
pub const SNAPSHOT_DIR: &str = "snapshots";
/// The hard-state file inside the replica's directory (see [`crate::format`]). Its temporary
/// file while it is replaced is `hardstate.tmp`.
pub const HARD_STATE_FILE: &str = "hardstate";

/// How many entries [`Replica::apply_committed`] reads from the log at a time: large enough
/// that a replay costs one read per batch rather than per entry, small enough that a replay
/// of a long log does not hold it all in memory.
const REPLAY_BATCH: u64 = 1024;

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
///
/// What is durable, and where:
///
/// - the **log** holds every entry appended, durable under the log's sync policy, and always
///   durable up to the commit index (`commit` syncs it first);
/// - the **hard state** holds the term, the vote and the commit index; it is replaced whole,
///   by [`write_atomic`], so a crash leaves the old record or the new one;
/// - a **snapshot** holds the state machine's image and the `(index, term)` of the last entry
///   it reflects. That is the only place `last_applied` is ever written: the state and the
///   index that says what it covers are one file, saved atomically, so they can never be read
///   from two different moments. (etcd v3.5.0–v3.5.2 saved its "consistent index" apart from
///   the data it described, and a crash in between made a restarted member skip entries.)
///
/// `last_applied` itself lives only in memory. After a crash it is the snapshot's last index,
/// and the entries after it are applied again by replay: which is exactly right, because
/// their effects were in memory only and were lost with it.
#[derive(Debug)]
pub struct Replica<S, P = SnapshotStore> {
    fs: FsRef,
    dir: PathBuf,
    wal: Wal,
    snapshots: P,
    /// The hard state as persisted, except that `commit` is at least the snapshot's last
    /// index (a snapshot holds only committed entries, so it proves them committed).
    hard: HardState,
    /// What the newest snapshot covers, `(0, 0)` if none.
    snapshot: SnapshotMeta,
    state_machine: S,
    last_applied: Index,
    /// Set when a write or sync failed midway: what is on disk is unknown, so nothing more is
    /// acknowledged until a reopen reads it back (fsyncgate: a retried fsync may "succeed"
    /// after the data was dropped).
    poisoned: bool,
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
        let dir = dir.into();
        let snapshots = SnapshotStore::open(Arc::clone(&fs), dir.join(SNAPSHOT_DIR), options.snapshots)?;
        Self::open_with_snapshots(fs, dir, options, state_machine, snapshots)
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
    ///
    /// This solution reads the hard state first, because reading it changes nothing: a damaged
    /// record is refused before lab 2 or lab 3 has repaired anything. Every check runs before
    /// the one change opening itself may make: restarting a log that ends before the snapshot
    /// (finishing a compaction or an installation that a crash interrupted).
    pub fn open_with_snapshots(
        fs: FsRef,
        dir: impl Into<PathBuf>,
        options: ReplicaOptions,
        mut state_machine: S,
        snapshots: P,
    ) -> Result<Self, ReplicaError> {
        let dir = dir.into();
        fs.create_dir_all(&dir)?;
        let persisted = read_hard_state(fs.as_ref(), &dir.join(HARD_STATE_FILE))?;

        let newest = snapshots.latest().map_err(snapshot_error)?;
        let meta = newest.as_ref().map_or_else(SnapshotMeta::default, |s| s.meta);

        let log_dir = dir.join(LOG_DIR);
        lab2::recover(&fs, &log_dir, options.recovery)?;
        let wal = Wal::open(Arc::clone(&fs), &log_dir, options.wal)?;

        let commit = persisted.commit.max(meta.last_index);
        let (log_first, log_last) = (wal.first_index(), wal.last_index());
        let inconsistent = |reason: &str| ReplicaError::Inconsistent {
            reason: reason.to_string(),
            snapshot: meta,
            log_first,
            log_last,
            commit: persisted.commit,
        };
        if log_first > meta.last_index + 1 {
            return Err(inconsistent("the log starts after the snapshot ends, and no entry covers the gap"));
        }
        if commit > log_last.max(meta.last_index) {
            return Err(inconsistent("the persisted commit index lies past every entry held"));
        }
        if meta.last_index > 0 && (log_first..=log_last).contains(&meta.last_index) {
            let term = wal.term(meta.last_index)?;
            if term != meta.last_term {
                return Err(inconsistent(&format!(
                    "the log holds the snapshot's last entry with term {term}, not {}",
                    meta.last_term
                )));
            }
        }

        if let Some(snapshot) = &newest {
            state_machine
                .restore(&snapshot.data)
                .map_err(|e| ReplicaError::StateMachine { index: meta.last_index, reason: format!("{e:?}") })?;
        }
        if meta.last_index > wal.last_index() {
            // The log ends before the snapshot: an installation or a compaction that restarts
            // the log was interrupted after the snapshot was saved. Restart it now, after the
            // snapshot, so the next append continues it. (A log that reaches past the
            // snapshot is left as it is: the entries it holds that the snapshot covers are
            // never replayed, because replay starts after `last_applied`.)
            wal.compact_prefix(meta.last_index)?;
        }
        Ok(Replica {
            fs,
            dir,
            wal,
            snapshots,
            hard: HardState { commit, ..persisted },
            snapshot: meta,
            state_machine,
            last_applied: meta.last_index,
            poisoned: false,
        })
    }

    /// The persisted hard state, with the commit index as the replica knows it.
    pub fn hard_state(&self) -> HardState {
        self.hard
    }

    /// The highest index known committed (persisted before [`Replica::commit`] returned).
    pub fn commit_index(&self) -> Index {
        self.hard.commit
    }

    /// The index of the last entry applied to the state machine (the snapshot's last index
    /// right after open).
    pub fn last_applied(&self) -> Index {
        self.last_applied
    }

    /// The first index the log holds (`snapshot.last_index + 1` after a compaction).
    pub fn first_log_index(&self) -> Index {
        self.wal.first_index()
    }

    /// The last index the log holds, or the snapshot's last index if the log is empty after it.
    pub fn last_log_index(&self) -> Index {
        self.wal.last_index().max(self.snapshot.last_index)
    }

    /// The term of the entry at `index`: from the log, or from the snapshot's metadata for its
    /// last index.
    pub fn term(&self, index: Index) -> Result<Term, ReplicaError> {
        if index == self.snapshot.last_index {
            return Ok(self.snapshot.last_term);
        }
        Ok(self.wal.term(index)?)
    }

    /// The log's entries with indexes in `low..high` (for a leader sending them on).
    pub fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, ReplicaError> {
        Ok(self.wal.entries(low, high)?)
    }

    /// What the newest snapshot covers (`(0, 0)` if there is none).
    pub fn snapshot_meta(&self) -> SnapshotMeta {
        self.snapshot
    }

    /// The newest snapshot, as a leader sends it to a follower that lags behind its log.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, ReplicaError> {
        self.snapshots.latest().map_err(snapshot_error)
    }

    /// The state machine, as of `last_applied`.
    pub fn state(&self) -> &S {
        &self.state_machine
    }

    /// Persists a new term and vote (a Raft node does this before answering a vote request).
    /// The term must not decrease, and within one term a vote, once cast, must not change;
    /// otherwise [`ReplicaError::TermRegression`] and nothing changes. The commit index is
    /// kept. Durable on return.
    pub fn set_term(&mut self, term: Term, vote: Option<u64>) -> Result<(), ReplicaError> {
        self.check_usable()?;
        let current = self.hard;
        let regression =
            term < current.term || (term == current.term && current.vote.is_some() && vote != current.vote);
        if regression {
            return Err(ReplicaError::TermRegression {
                current: current.term,
                current_vote: current.vote,
                got: term,
                got_vote: vote,
            });
        }
        if (term, vote) == (current.term, current.vote) {
            return Ok(());
        }
        self.persist(HardState { term, vote, ..current })
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
    ///
    /// Everything is decided before anything is written: the entries' contiguity, the gap,
    /// and where the first new or conflicting entry is. So a refusal changes nothing.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), ReplicaError> {
        self.check_usable()?;
        let Some(first) = entries.first() else { return Ok(()) };
        for (offset, entry) in entries.iter().enumerate() {
            let expected = first.index + offset as Index;
            if entry.index != expected {
                return Err(WalError::NotContiguous { expected, got: entry.index }.into());
            }
        }
        let last_index = self.last_log_index();
        if first.index > last_index + 1 {
            return Err(ReplicaError::Gap { got: first.index, last_index });
        }
        let covered = self.wal.first_index() - 1;
        let mut start = entries.len();
        let mut conflict = None;
        for (position, entry) in entries.iter().enumerate() {
            if entry.index <= covered {
                continue;
            }
            if entry.index > self.wal.last_index() {
                start = position;
                break;
            }
            if self.wal.term(entry.index)? != entry.term {
                conflict = Some(entry.index);
                start = position;
                break;
            }
        }
        if let Some(index) = conflict {
            if index <= self.hard.commit {
                return Err(ReplicaError::TruncateCommitted { index, commit: self.hard.commit });
            }
            if let Err(e) = self.wal.truncate_suffix(index) {
                return Err(self.poison(e));
            }
        }
        if start < entries.len()
            && let Err(e) = self.wal.append(&entries[start..])
        {
            return Err(self.poison(e));
        }
        Ok(())
    }

    /// Raises the commit index to `index`, durably. When it returns `Ok`, a crash at any later
    /// moment recovers a commit index of at least `index`; the log's entries up to `index` are
    /// durable before the hard state names them committed. An `index` at or below the commit
    /// index does nothing (the commit index never moves backwards); one past the last log
    /// index is [`ReplicaError::CommitBeyondLog`]. Nothing is applied here.
    ///
    /// The order is the whole point:
    ///
    /// 1. sync the log, so that entries up to `index` are durable (under
    ///    [`lab1::SyncPolicy::Never`] they may not be yet). A hard state written first could
    ///    survive a crash that loses those entries: `commit_index > last_log_index` on open;
    /// 2. write the hard state atomically (temporary file, sync, rename, directory sync);
    /// 3. only then raise the commit index in memory and return. A caller told "committed"
    ///    before step 2 could lose the commit in a crash (openraft #1511).
    pub fn commit(&mut self, index: Index) -> Result<(), ReplicaError> {
        self.check_usable()?;
        if index <= self.hard.commit {
            return Ok(());
        }
        let last_index = self.last_log_index();
        if index > last_index {
            return Err(ReplicaError::CommitBeyondLog { index, last_index });
        }
        if let Err(e) = self.wal.sync() {
            return Err(self.poison(e));
        }
        self.persist(HardState { commit: index, ..self.hard })
    }

    /// Applies the next committed entry to the state machine, if `last_applied` is below the
    /// commit index, and returns it. One entry at a time, so a caller (lab 5's applier) can let
    /// readers in between entries.
    pub fn apply_next(&mut self) -> Result<Option<Applied>, ReplicaError> {
        if self.last_applied >= self.replay_limit() {
            return Ok(None);
        }
        let entry = self.wal.entry(self.last_applied + 1)?;
        self.apply_entry(entry).map(Some)
    }

    /// Applies every committed entry not applied yet, in index order, and returns them with
    /// their outputs. After [`Replica::open`], this is the replay: it returns the same outputs
    /// as the first time these entries were applied.
    ///
    /// Entries are read from the log in batches of [`REPLAY_BATCH`], so replay costs about as
    /// much as applying entries already in memory.
    pub fn apply_committed(&mut self) -> Result<Vec<Applied>, ReplicaError> {
        let limit = self.replay_limit();
        let mut applied = Vec::with_capacity(limit.saturating_sub(self.last_applied) as usize);
        while self.last_applied < limit {
            let low = self.last_applied + 1;
            let high = (low + REPLAY_BATCH).min(limit + 1);
            for entry in self.wal.entries(low, high)? {
                applied.push(self.apply_entry(entry)?);
            }
        }
        Ok(applied)
    }

    /// Takes a snapshot of the state machine at `last_applied`, saves it, then discards the
    /// log prefix it covers — in that order, so that no crash leaves the prefix gone and the
    /// snapshot missing. Returns what the snapshot covers. With nothing applied since the newest
    /// snapshot, does nothing and returns that snapshot's metadata.
    ///
    /// The metadata and the image are taken together, from the same `last_applied` (freeze):
    /// a snapshot whose index is later than its state would make recovery skip entries, one
    /// whose index is earlier would apply some twice.
    pub fn take_snapshot(&mut self) -> Result<SnapshotMeta, ReplicaError> {
        self.check_usable()?;
        if self.last_applied == self.snapshot.last_index {
            return Ok(self.snapshot);
        }
        let meta = SnapshotMeta { last_index: self.last_applied, last_term: self.term(self.last_applied)? };
        let data = self
            .state_machine
            .snapshot()
            .map_err(|e| ReplicaError::StateMachine { index: meta.last_index, reason: format!("{e:?}") })?;
        self.snapshots.save(&Snapshot { meta, data }).map_err(snapshot_error)?;
        self.snapshot = meta;
        if let Err(e) = self.wal.compact_prefix(meta.last_index) {
            return Err(self.poison(e));
        }
        Ok(meta)
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
        self.check_usable()?;
        if meta.last_index <= self.snapshot.last_index {
            return Ok(self.snapshot);
        }
        let refuse = |reason: String| ReplicaError::CompactRefused { requested: meta, reason };
        if meta.last_index > self.last_applied {
            return Err(refuse(format!("it covers entries past last_applied {}", self.last_applied)));
        }
        let term = self.term(meta.last_index)?;
        if term != meta.last_term {
            return Err(refuse(format!("the log holds entry {} with term {term}", meta.last_index)));
        }
        let durable = self.snapshots.latest_meta().map_err(snapshot_error)?;
        if durable != Some(meta) {
            return Err(refuse(format!("the snapshot store's newest durable snapshot is {durable:?}")));
        }
        self.snapshot = meta;
        if let Err(e) = self.wal.compact_prefix(meta.last_index) {
            return Err(self.poison(e));
        }
        Ok(meta)
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
    ///
    /// The steps, in order:
    ///
    /// 1. restore the state machine from the image. A bad image is refused here, before
    ///    anything on disk changed (`restore` leaves the state as it was);
    /// 2. if the log does not hold the snapshot's last entry with its term, cut the log back
    ///    to the commit index and sync: every entry past it is uncommitted, and either
    ///    conflicts with the snapshot or is covered by it. A crash here reopens as before,
    ///    without those uncommitted entries;
    /// 3. save the snapshot (durable on return). From here a crash reopens with it installed:
    ///    the log now holds nothing that contradicts it, and open discards the prefix it
    ///    covers;
    /// 4. discard the log up to the snapshot (restarting it after the snapshot when it ends
    ///    before), and raise the indexes in memory.
    ///
    /// A failure after step 1 poisons the replica: its memory is ahead of its disk.
    pub fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<bool, ReplicaError> {
        self.check_usable()?;
        let meta = snapshot.meta;
        if meta.last_index <= self.hard.commit {
            return Ok(false);
        }
        if meta.last_term < self.snapshot.last_term {
            return Err(SnapshotError::OutOfDate { latest: self.snapshot, got: meta }.into());
        }
        self.state_machine
            .restore(&snapshot.data)
            .map_err(|e| ReplicaError::StateMachine { index: meta.last_index, reason: format!("{e:?}") })?;
        let (first, last) = (self.wal.first_index(), self.wal.last_index());
        let matches =
            (first..=last).contains(&meta.last_index) && self.wal.term(meta.last_index).ok() == Some(meta.last_term);
        if !matches
            && last > self.hard.commit
            && let Err(e) = self.wal.truncate_suffix(self.hard.commit + 1).and_then(|()| self.wal.sync())
        {
            return Err(self.poison(e));
        }
        if let Err(e) = self.snapshots.save(snapshot) {
            return Err(self.poison(snapshot_error(e)));
        }
        self.snapshot = meta;
        if let Err(e) = self.wal.compact_prefix(meta.last_index) {
            return Err(self.poison(e));
        }
        self.hard.commit = meta.last_index;
        self.last_applied = meta.last_index;
        Ok(true)
    }

    /// The last entry that may be applied: the commit index, never the end of the log. An
    /// entry past it may still be cut by a new leader, and its effect could not be undone.
    fn replay_limit(&self) -> Index {
        self.hard.commit
    }

    /// Applies `entry`, the one after `last_applied`, and moves `last_applied` to it.
    fn apply_entry(&mut self, entry: Entry) -> Result<Applied, ReplicaError> {
        let output = self
            .state_machine
            .apply(&entry.data)
            .map_err(|e| ReplicaError::StateMachine { index: entry.index, reason: format!("{e:?}") })?;
        self.last_applied = entry.index;
        Ok(Applied { index: entry.index, term: entry.term, output })
    }

    /// Replaces the hard-state record with `next`, durably, then adopts it in memory.
    fn persist(&mut self, next: HardState) -> Result<(), ReplicaError> {
        let path = self.dir.join(HARD_STATE_FILE);
        if let Err(e) = write_atomic(self.fs.as_ref(), &path, &encode_hard_state(&next)) {
            return Err(self.poison(e));
        }
        self.hard = next;
        Ok(())
    }

    fn check_usable(&self) -> Result<(), ReplicaError> {
        if self.poisoned { Err(ReplicaError::Poisoned) } else { Ok(()) }
    }

    /// Marks the replica poisoned and returns `error`.
    fn poison(&mut self, error: impl Into<ReplicaError>) -> ReplicaError {
        self.poisoned = true;
        error.into()
    }
}

/// The hard state in `path`: all zero if the file is absent, an error if it is damaged.
fn read_hard_state(fs: &dyn Vfs, path: &Path) -> Result<HardState, ReplicaError> {
    if !fs.exists(path)? {
        return Ok(HardState::default());
    }
    let bytes = fs.open(path, OpenMode::Read)?.read_all()?;
    decode_hard_state(&bytes)
        .map_err(|e| ReplicaError::HardStateCorrupt { file: path.display().to_string(), reason: e.to_string() })
}

/// A snapshot store's error as a [`ReplicaError`]: lab 3's errors as they are, any other
/// store's (lab 7's) wrapped as an I/O error that keeps its message.
fn snapshot_error<E: std::error::Error + Send + Sync + 'static>(error: E) -> ReplicaError {
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
    match boxed.downcast::<SnapshotError>() {
        Ok(error) => ReplicaError::Snapshot(*error),
        Err(other) => ReplicaError::Snapshot(SnapshotError::Io(io::Error::other(other))),
    }
}
