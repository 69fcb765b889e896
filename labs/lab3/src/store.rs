//! Tasks 2 to 7: the store. A directory of snapshot files, the protocol that adds one
//! atomically, retention, and falling back past damage.
//!
//! The public API below is fixed (the tests and later labs use it); everything behind it is
//! yours to design. Add private fields to `SnapshotStore`, private types and functions as you
//! need them.

use std::path::PathBuf;

use distributed::storage::{Snapshot, SnapshotMeta, SnapshotStorage};
use distributed::vfs::FsRef;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SnapshotError;

/// Settings for [`SnapshotStore::open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// How many snapshots to keep, newest first (at least 1). Older ones are removed after
    /// each successful save. Keeping two means a damaged newest snapshot still has a fallback.
    pub keep: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { keep: 2 }
    }
}

/// Snapshots in a directory of the kit's filesystem, saved atomically.
///
/// Snapshot files are named by (term, index) (see [`crate::format`]); temporary files end in
/// `.snap.tmp`, damaged snapshots set aside in `.snap.broken`. Every method takes `&self`, so
/// a store can be shared between threads (it must be `Send + Sync`).
#[derive(Debug)]
pub struct SnapshotStore {
    // Your fields here: the filesystem, the directory, the options, and the snapshots held
    // (newest first) behind a lock.
}

impl SnapshotStore {
    /// Opens the store in `dir` (creating the directory if needed): removes the temporary
    /// files of interrupted saves (and syncs the directory if it removed any), then verifies
    /// the newest snapshot, setting aside damaged ones until an intact one is found (see
    /// [`SnapshotStore::latest`]). A store whose snapshots are all damaged opens; its
    /// `latest` is the error. `keep` of 0 is [`SnapshotError::InvalidOptions`].
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: StoreOptions) -> Result<SnapshotStore, SnapshotError> {
        let _ = (fs, dir.into(), options);
        todo!("Task 2: open the store (an empty directory first; recovery in Task 5)")
    }

    /// Stores `snapshot` atomically and durably: when this returns `Ok`, a power cut at any
    /// later moment leaves it readable; a power cut during the call leaves either it or the
    /// snapshots held before, complete. Then removes the snapshots beyond the newest `keep`.
    ///
    /// A snapshot that is not newer than the newest held (its last index is not higher, or
    /// its term is lower) is refused with [`SnapshotError::OutOfDate`]. A failed sync or
    /// rename poisons the store ([`SnapshotError::Poisoned`]); a failed write (a full disk)
    /// does not, because nothing of the old snapshots was touched: remove the temporary file
    /// and return the error.
    pub fn save(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        todo!("Task 2: save snapshot {:?} (the crash-safe protocol in Task 3)", snapshot.meta)
    }

    /// The newest intact snapshot, or `None` if none was ever stored.
    ///
    /// The file is read and verified on every call: its header and file CRCs, its length, and
    /// that its header names the same (term, index) as its file name. A damaged newest
    /// snapshot is set aside (renamed `.snap.broken`, never deleted) and the next older one is
    /// tried. If snapshots were stored but all are damaged (some `.snap.broken` exists and no
    /// intact snapshot), the answer is [`SnapshotError::NoValidSnapshot`], not `None`.
    pub fn latest(&self) -> Result<Option<Snapshot>, SnapshotError> {
        todo!("Task 2: read the newest snapshot (verification and fallback in Task 5)")
    }

    /// The snapshots held, newest first, by their file names.
    pub fn list(&self) -> Vec<SnapshotMeta> {
        todo!("Task 2: list the snapshots held")
    }

    /// Saves `state`, encoded with postcard (the encoding `InMemorySnapshot<T>` uses), as the
    /// snapshot covering `meta`.
    pub fn save_state<T: Serialize>(&self, meta: SnapshotMeta, state: &T) -> Result<(), SnapshotError> {
        let _ = state;
        todo!("Task 7: encode a state with postcard and save it as {meta:?}")
    }

    /// The newest snapshot's metadata and state, decoded with postcard.
    pub fn load_state<T: DeserializeOwned>(&self) -> Result<Option<(SnapshotMeta, T)>, SnapshotError> {
        todo!("Task 7: load and decode the newest snapshot's state")
    }
}

impl SnapshotStorage for SnapshotStore {
    type Error = SnapshotError;

    fn save(&mut self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        SnapshotStore::save(self, snapshot)
    }

    fn latest(&self) -> Result<Option<Snapshot>, SnapshotError> {
        SnapshotStore::latest(self)
    }
}
