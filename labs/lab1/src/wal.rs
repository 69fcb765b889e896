//! Tasks 2 to 7: the log. A directory of segments, the rules for appending, cutting and
//! compacting them, and group commit.
//!
//! The public API below is fixed (the tests and later labs use it); everything behind it is
//! yours to design. Add private fields to `Wal`, private types and modules as you need them.

use std::path::PathBuf;

use distributed::storage::{Entry, Index, LogStorage, Term};
use distributed::vfs::FsRef;

use crate::WalError;

/// When an append counts as acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Every append syncs before it returns: one sync per call.
    #[default]
    EveryAppend,
    /// Appends from concurrent threads share syncs: one thread (the leader) syncs for every
    /// append written so far, the others wait for it. Each append still returns only once
    /// durable.
    GroupCommit,
    /// Appends return once written; only [`Wal::sync`] makes them durable.
    Never,
}

/// Settings for [`Wal::open`].
#[derive(Clone, Copy, Debug)]
pub struct WalOptions {
    /// A segment is sealed, and a new one started, when the next record would take it past
    /// this many bytes (a segment always takes at least one record).
    pub segment_size: u64,
    /// When appends are acknowledged.
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions { segment_size: 64 << 20, sync: SyncPolicy::EveryAppend }
    }
}

/// A segment as [`Wal::segments`] describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The index its header names (its first entry, if it has one).
    pub first_index: Index,
    /// Its last entry's index, or `first_index - 1` if it holds none.
    pub last_index: Index,
    /// Its file name in the log's directory.
    pub file_name: String,
    /// Bytes in use: the header, the records and, if the segment is sealed, its footer.
    pub len: u64,
}

/// A segmented write-ahead log over any filesystem of the kit.
///
/// Entries live in segment files named by their first index (see [`crate::format`]). Every
/// method takes `&self`, so a `Wal` can be shared between threads (it must be `Send + Sync`).
#[derive(Debug)]
pub struct Wal {
    // Your fields here: the filesystem, the directory, the options, and the segments behind a
    // lock.
}

impl Wal {
    /// Opens the log in `dir` (creating the directory if needed) and recovers it: segments
    /// are read in index order, a torn tail of the last segment is cut back to its last valid
    /// record, and leftovers of an interrupted compaction or rollover (a segment prepared
    /// under its temporary name and never renamed) are removed. A sealed segment (any but the
    /// last) must end with a footer that matches its bytes. Damage anywhere else is
    /// [`WalError::Corrupt`].
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: WalOptions) -> Result<Wal, WalError> {
        let _ = (fs, dir.into(), options);
        todo!("Task 2: open the log (an empty directory first; recovery in Task 4)")
    }

    /// The first index held: 1 for a new log, `last_index() + 1` when empty.
    pub fn first_index(&self) -> Index {
        todo!("Task 2: the first index held")
    }

    /// The last index held: 0 for a new log, `first_index() - 1` when empty.
    pub fn last_index(&self) -> Index {
        todo!("Task 2: the last index held")
    }

    /// Appends `entries`, which must continue the log: the first has index `last_index() + 1`,
    /// the others follow without a gap, and terms never decrease. Returns once the entries
    /// are acknowledged under the sync policy.
    ///
    /// A write or sync that fails poisons the log (see [`WalError::Poisoned`]): what was
    /// written may or may not be on disk, and only a reopen finds out.
    ///
    /// An empty batch appends nothing: it returns `Ok(())` at once, without writing, syncing
    /// or waiting for a sync, under every policy (`Poisoned` on a poisoned log, like any
    /// append).
    ///
    /// The last index an entry may have is `u64::MAX - 1` (so the next index always exists):
    /// an entry at `u64::MAX` is an error that changes nothing and does not poison the log.
    pub fn append(&self, entries: &[Entry]) -> Result<(), WalError> {
        todo!("Task 2: append {} entries (rollover in Task 3, group commit in Task 7)", entries.len())
    }

    /// The entry at `index`.
    pub fn entry(&self, index: Index) -> Result<Entry, WalError> {
        todo!("Task 2: read entry {index}")
    }

    /// The entries with indexes in `low..high` (empty if `low >= high`, wherever it lies).
    /// `low` is checked first, then `high - 1`, and an error names the end that failed:
    /// [`WalError::Compacted`] for a `low` below the first index, [`WalError::Unavailable`]
    /// for a `low` past the last index, else for a `high - 1` past it.
    pub fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, WalError> {
        todo!("Task 2: read entries {low}..{high}")
    }

    /// The term of the entry at `index`.
    pub fn term(&self, index: Index) -> Result<Term, WalError> {
        todo!("Task 2: the term of entry {index}")
    }

    /// Removes the entries at `from` and after, as Raft does when a leader's log conflicts
    /// with this one. A `from` past the end does nothing. Durable on return unless the policy
    /// is [`SyncPolicy::Never`].
    pub fn truncate_suffix(&self, from: Index) -> Result<(), WalError> {
        todo!("Task 5: truncate the log from {from}")
    }

    /// Discards the entries up to and including `upto`, which a snapshot covers. On disk,
    /// only whole segments go; reads below `upto + 1` fail at once. An `upto` at or past the
    /// end restarts the log at `upto + 1` (a segment file of that name, which only a crashed
    /// rollover leaves, is reused as the new first segment, never removed with the old ones).
    /// Durable on return under every policy, [`SyncPolicy::Never`] included.
    /// `compact_prefix(u64::MAX)` is an error that changes nothing (no log starts past
    /// `u64::MAX`).
    pub fn compact_prefix(&self, upto: Index) -> Result<(), WalError> {
        todo!("Task 5: compact the log up to {upto}")
    }

    /// Makes every append so far durable.
    pub fn sync(&self) -> Result<(), WalError> {
        todo!("Task 6: sync the log")
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        todo!("Task 3: describe the segments")
    }
}

impl LogStorage for Wal {
    type Error = WalError;

    fn first_index(&self) -> Index {
        Wal::first_index(self)
    }

    fn last_index(&self) -> Index {
        Wal::last_index(self)
    }

    fn term(&self, index: Index) -> Result<Term, WalError> {
        Wal::term(self, index)
    }

    fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, WalError> {
        Wal::entries(self, low, high)
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), WalError> {
        Wal::append(self, entries)
    }

    fn truncate_suffix(&mut self, from: Index) -> Result<(), WalError> {
        Wal::truncate_suffix(self, from)
    }

    fn compact_prefix(&mut self, upto: Index) -> Result<(), WalError> {
        Wal::compact_prefix(self, upto)
    }

    fn sync(&mut self) -> Result<(), WalError> {
        Wal::sync(self)
    }
}
