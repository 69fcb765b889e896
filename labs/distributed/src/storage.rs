//! The storage interfaces of a replicated state machine, and the types they share.
//!
//! A replica keeps three things on disk (see the book's glossary):
//!
//! - the **log** ([`LogStorage`]): entries `(index, term, data)`, appended only at the end;
//! - the **state machine** ([`StateMachineStorage`]): what applying the committed entries in
//!   order produced;
//! - **snapshots** ([`SnapshotStorage`]): an image of the state machine as of some index, so
//!   the log prefix it covers can be discarded.
//!
//! ```
//! use distributed::storage::{StateMachineStorage, LogStorage};
//!
//! fn apply_entry<S: StateMachineStorage>(sm: &mut S, entry: &[u8]) {
//!     sm.apply(entry).expect("apply");
//! }
//! # let _ = apply_entry::<distributed::storage::InMemorySnapshot<u8>>;
//! # fn _uses_log<L: LogStorage>(_: &L) {}
//! ```

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A position in the log. The first entry ever appended has index 1; 0 means "none".
pub type Index = u64;

/// A leader's term. Terms never decrease along the log.
pub type Term = u64;

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// Its position in the log.
    pub index: Index,
    /// The term of the leader that created it. Two entries with the same index and term hold
    /// the same data (the matching invariant).
    pub term: Term,
    /// The command, opaque to the log.
    pub data: Vec<u8>,
}

impl Entry {
    /// An entry at `index` in `term` carrying `data`.
    pub fn new(index: Index, term: Term, data: impl Into<Vec<u8>>) -> Self {
        Entry { index, term, data: data.into() }
    }
}

/// What a snapshot covers: every entry up to and including `last_index`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The last entry the snapshot includes.
    pub last_index: Index,
    /// That entry's term, so the log after the snapshot can be checked for matching.
    pub last_term: Term,
}

/// The state a Raft node must persist before it answers any message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: Term,
    /// Whom it voted for in that term, if anyone.
    pub vote: Option<u64>,
    /// The highest index known committed. Persisted as it grows, so that recovery never
    /// moves the commit point backwards.
    pub commit: Index,
}

/// A snapshot as stored: what it covers and the state machine's image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// What it covers.
    pub meta: SnapshotMeta,
    /// The serialized state machine.
    pub data: Vec<u8>,
}

/// A replicated log.
///
/// Invariants every implementation keeps (the book's glossary names them):
/// - **append-only**: entries are added only at the end, with contiguous indexes;
/// - **prefix compaction**: entries covered by a snapshot may be discarded from the front;
/// - **matching**: the same `(index, term)` always means the same data;
/// - **durability**: what the implementation has acknowledged survives a crash.
pub trait LogStorage {
    /// Why an operation failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The index of the first entry still held (`last_index() + 1` when empty).
    fn first_index(&self) -> Index;
    /// The index of the last entry (`first_index() - 1` when empty).
    fn last_index(&self) -> Index;
    /// The term of the entry at `index`.
    fn term(&self, index: Index) -> Result<Term, Self::Error>;
    /// The entries with indexes in `low..high`.
    fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, Self::Error>;
    /// Appends `entries`, which must continue the log without a gap.
    fn append(&mut self, entries: &[Entry]) -> Result<(), Self::Error>;
    /// Removes every entry at `from` and after (a conflicting suffix).
    fn truncate_suffix(&mut self, from: Index) -> Result<(), Self::Error>;
    /// Discards every entry up to and including `upto` (covered by a snapshot).
    fn compact_prefix(&mut self, upto: Index) -> Result<(), Self::Error>;
    /// Makes everything appended so far durable.
    fn sync(&mut self) -> Result<(), Self::Error>;
}

/// A deterministic state machine fed by the committed log.
pub trait StateMachineStorage {
    /// Why an entry could not be applied.
    type Error: Debug;

    /// Applies one committed entry's command and returns its result. Must be a pure function
    /// of the current state and `entry`: no clocks, no randomness.
    fn apply(&mut self, entry: &[u8]) -> Result<Vec<u8>, Self::Error>;
    /// The state as bytes, for a snapshot.
    fn snapshot(&self) -> Result<Vec<u8>, Self::Error>;
    /// Replaces the state with one from [`StateMachineStorage::snapshot`].
    fn restore(&mut self, image: &[u8]) -> Result<(), Self::Error>;
}

/// Where snapshots are kept.
pub trait SnapshotStorage {
    /// Why an operation failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores `snapshot`, atomically: afterwards the latest snapshot is this one, or (after a
    /// crash during the call) the previous one, never a mix and never none.
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), Self::Error>;
    /// The newest complete snapshot, if any.
    fn latest(&self) -> Result<Option<Snapshot>, Self::Error>;
    /// What the newest complete snapshot covers, if there is one: durable, as
    /// [`SnapshotStorage::latest`] would return it after a crash. The default reads the whole
    /// snapshot; a store that keeps its newest metadata in memory answers without reading the
    /// image (lab 7's chunk store does, so lab 4's `compact_to` costs no read of the state).
    fn latest_meta(&self) -> Result<Option<SnapshotMeta>, Self::Error> {
        Ok(self.latest()?.map(|snapshot| snapshot.meta))
    }
}

/// Why a snapshot could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("snapshot encoding: {0}")]
pub struct CodecError(#[from] postcard::Error);

/// The seed's example snapshot store: it keeps the newest snapshot in memory, encoded with
/// postcard, and can also hand back a typed state `T`.
///
/// It is also a tiny state machine over `T = Vec<u8>`-like states, which is what lets the
/// seed's `apply_entry` example run: [`StateMachineStorage::apply`] pushes the entry into a
/// list.
#[derive(Clone, Debug, Default)]
pub struct InMemorySnapshot<T> {
    latest: Option<Snapshot>,
    applied: Vec<Vec<u8>>,
    _state: std::marker::PhantomData<T>,
}

impl<T: Serialize + DeserializeOwned> InMemorySnapshot<T> {
    /// An empty store.
    pub fn new() -> Self {
        InMemorySnapshot { latest: None, applied: Vec::new(), _state: std::marker::PhantomData }
    }

    /// Saves `state` as the snapshot covering `meta`.
    pub fn capture(&mut self, meta: SnapshotMeta, state: &T) -> Result<(), CodecError> {
        self.latest = Some(Snapshot { meta, data: postcard::to_stdvec(state)? });
        Ok(())
    }

    /// The state and metadata of the newest snapshot.
    pub fn restore_state(&self) -> Result<Option<(SnapshotMeta, T)>, CodecError> {
        match &self.latest {
            None => Ok(None),
            Some(snapshot) => Ok(Some((snapshot.meta, postcard::from_bytes(&snapshot.data)?))),
        }
    }

    /// The commands applied through [`StateMachineStorage::apply`], in order.
    pub fn applied(&self) -> &[Vec<u8>] {
        &self.applied
    }
}

impl<T> SnapshotStorage for InMemorySnapshot<T> {
    type Error = CodecError;

    fn save(&mut self, snapshot: &Snapshot) -> Result<(), CodecError> {
        self.latest = Some(snapshot.clone());
        Ok(())
    }

    fn latest(&self) -> Result<Option<Snapshot>, CodecError> {
        Ok(self.latest.clone())
    }
}

impl<T> StateMachineStorage for InMemorySnapshot<T> {
    type Error = CodecError;

    fn apply(&mut self, entry: &[u8]) -> Result<Vec<u8>, CodecError> {
        self.applied.push(entry.to_vec());
        Ok(Vec::new())
    }

    fn snapshot(&self) -> Result<Vec<u8>, CodecError> {
        Ok(postcard::to_stdvec(&self.applied)?)
    }

    fn restore(&mut self, image: &[u8]) -> Result<(), CodecError> {
        self.applied = postcard::from_bytes(image)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_snapshot_round_trips_a_typed_state() {
        let mut store = InMemorySnapshot::<Vec<(String, u64)>>::new();
        assert!(store.restore_state().unwrap().is_none());
        let meta = SnapshotMeta { last_index: 9, last_term: 2 };
        store.capture(meta, &vec![("x".into(), 1)]).unwrap();
        assert_eq!(store.restore_state().unwrap(), Some((meta, vec![("x".to_string(), 1)])));
        assert_eq!(store.latest().unwrap().unwrap().meta, meta);
    }

    #[test]
    fn in_memory_state_machine_replays_to_the_same_state() {
        let mut a = InMemorySnapshot::<()>::new();
        a.apply(b"set x").unwrap();
        a.apply(b"set y").unwrap();
        let mut b = InMemorySnapshot::<()>::new();
        b.restore(&a.snapshot().unwrap()).unwrap();
        assert_eq!(a.applied(), b.applied());
    }
}
