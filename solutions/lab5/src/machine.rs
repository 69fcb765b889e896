//! What the read path needs from a replica: given, not a task.
//!
//! A [`crate::ReadNode`] does not care how entries reach the disk. It needs three numbers and
//! one step: the commit index, `last_applied`, "apply the next committed entry", and a way to
//! read a key of the state as of `last_applied`. The [`Machine`] trait says exactly that, and
//! lab 4's [`Replica`] implements it. Tests wrap a replica in another `Machine` to watch (or
//! hold up) the node at an exact step, and lab 6 implements it for its own state machine.

use std::error::Error;

use distributed::storage::{Entry, Index, SnapshotStorage};
use lab4::{KvStore, Replica};

/// An error from the replica under the node, kept whole.
pub type MachineError = Box<dyn Error + Send + Sync>;

/// The storage of one replica, as the read path uses it.
///
/// All methods are called with the node's lock on the machine held: readers call the `&self`
/// methods under a shared lock, the applier and writers call the `&mut self` ones under an
/// exclusive lock. So an entry is applied while no reader looks, and a reader that reads
/// several keys under one shared lock sees one state.
pub trait Machine: Send + Sync + 'static {
    /// The highest index known committed; durable before [`Machine::commit`] returned.
    fn commit_index(&self) -> Index;

    /// The index of the last entry applied to the state.
    fn last_applied(&self) -> Index;

    /// Applies the next committed entry, whole, and returns its index; `None` if every
    /// committed entry is applied.
    fn apply_next(&mut self) -> Result<Option<Index>, MachineError>;

    /// The value of `key` in the state as of [`Machine::last_applied`].
    fn get(&self, key: &str) -> Option<Vec<u8>>;

    /// Appends entries from a leader (see lab 4's `Replica::append`).
    fn append(&mut self, entries: &[Entry]) -> Result<(), MachineError>;

    /// Raises the commit index to `index`, durably (see lab 4's `Replica::commit`).
    fn commit(&mut self, index: Index) -> Result<(), MachineError>;
}

impl<P> Machine for Replica<KvStore, P>
where
    P: SnapshotStorage + Send + Sync + 'static,
{
    fn commit_index(&self) -> Index {
        Replica::commit_index(self)
    }

    fn last_applied(&self) -> Index {
        Replica::last_applied(self)
    }

    fn apply_next(&mut self) -> Result<Option<Index>, MachineError> {
        Ok(Replica::apply_next(self)?.map(|applied| applied.index))
    }

    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.state().get(key).map(<[u8]>::to_vec)
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), MachineError> {
        Ok(Replica::append(self, entries)?)
    }

    fn commit(&mut self, index: Index) -> Result<(), MachineError> {
        Ok(Replica::commit(self, index)?)
    }
}
