//! Task 1: the state machine. A key-value map that the committed log drives.
//!
//! The public API below is fixed (the tests and labs 5–7 use it); everything behind it is
//! yours to design.

use distributed::storage::StateMachineStorage;

use crate::KvError;

/// A deterministic key-value state machine.
///
/// Determinism is the whole contract. Every replica applies the same committed entries in the
/// same order, and recovery applies them again after a crash; all of them must reach the same
/// state and return the same outputs. So `apply` is a pure function of the state and the
/// entry: it reads no clock, no randomness, and nothing whose order can change between
/// processes (a `HashMap`'s iteration order is seeded per process). The same goes for
/// [`StateMachineStorage::snapshot`]: equal states give equal bytes, because replicas compare
/// digests of their images to find one that diverged.
///
/// The state also holds its *log time*: the largest [`crate::Command::timestamp`] applied so
/// far (0 before any). Every command advances it, a [`crate::Op::Noop`] and a refused one
/// included (time passed, even if no key changed). It never moves backwards, even if a new
/// leader's clock is behind, and it is part of the snapshot image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    // Your fields here.
}

impl KvStore {
    /// An empty state.
    pub fn new() -> KvStore {
        KvStore::default()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        todo!("Task 1: look up {key:?}")
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        todo!("Task 1: count the keys")
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        todo!("Task 1: iterate in key order");
        #[allow(unreachable_code)]
        std::iter::empty()
    }

    /// The largest command timestamp applied so far (log time), 0 before any.
    pub fn log_time(&self) -> u64 {
        todo!("Task 1: the log time")
    }
}

impl StateMachineStorage for KvStore {
    type Error = KvError;

    /// Applies one committed entry's data: an encoded [`crate::Command`], or empty data (a
    /// leader's no-op entry), which changes nothing and returns [`crate::Output::Done`]. Returns
    /// the encoded [`crate::Output`]. Data that is not a command is [`KvError::BadCommand`], and
    /// changes nothing.
    fn apply(&mut self, entry: &[u8]) -> Result<Vec<u8>, KvError> {
        todo!("Task 1: apply a command of {} bytes", entry.len())
    }

    /// The state as bytes: every key and value, and the log time. Equal states give equal bytes.
    fn snapshot(&self) -> Result<Vec<u8>, KvError> {
        todo!("Task 1: encode the state")
    }

    /// Replaces the whole state with one from [`StateMachineStorage::snapshot`]. Bytes that are
    /// not such an image are [`KvError::BadImage`], and leave the state as it was.
    fn restore(&mut self, image: &[u8]) -> Result<(), KvError> {
        todo!("Task 1: restore the state from an image of {} bytes", image.len())
    }
}
