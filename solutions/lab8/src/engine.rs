//! The storage-engine abstraction: what every engine of this lab promises.
//!
//! This file is given by the course (the same in the stub and the reference): the trait is
//! the contract the conformance suite checks, and the Raft adapters store everything through
//! it.

use std::fmt;
use std::io;

/// One change of a [`Batch`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BatchOp {
    /// Sets `key` to `value` (inserting or replacing).
    Put {
        /// The key.
        key: Vec<u8>,
        /// Its new value.
        value: Vec<u8>,
    },
    /// Removes `key` (nothing if it is absent).
    Delete {
        /// The key.
        key: Vec<u8>,
    },
}

impl BatchOp {
    /// The key the change is about.
    pub fn key(&self) -> &[u8] {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key } => key,
        }
    }
}

/// Changes applied together: all of them, or (after any crash) none. Later changes to the
/// same key win, as if applied one after the other.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a put of `key` to `value`.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Batch {
        self.ops.push(BatchOp::Put { key: key.into(), value: value.into() });
        self
    }

    /// Adds a delete of `key`.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut Batch {
        self.ops.push(BatchOp::Delete { key: key.into() });
        self
    }

    /// Adds `op`.
    pub fn push(&mut self, op: BatchOp) -> &mut Batch {
        self.ops.push(op);
        self
    }

    /// The changes, in the order they were added.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// How many changes it holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether it holds no change.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl FromIterator<BatchOp> for Batch {
    fn from_iter<I: IntoIterator<Item = BatchOp>>(iter: I) -> Batch {
        Batch { ops: iter.into_iter().collect() }
    }
}

/// Why an engine call failed.
///
/// After `Io` or `Poisoned` from `write` or `flush`, an engine may hold more or less than was
/// acknowledged: it refuses every later write (fail-stop), and only a reopen finds out what
/// the disk kept.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The filesystem failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// What is on disk is not what the engine wrote (a checksum or a format check failed).
    #[error("[checksum] the engine's files are damaged: {0}")]
    Corrupt(String),
    /// An earlier write or flush failed; the engine refuses to go on until it is reopened.
    #[error("[fail-stop] an earlier write or sync failed; reopen the engine")]
    Poisoned,
    /// The embedded engine (redb, fjall) reported an error of its own.
    #[error("backend error: {0}")]
    Backend(String),
}

/// Key-value pairs, as reads return them.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A point-in-time view of every pair, ascending by key.
pub type SnapshotIter = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), EngineError>> + Send>;

/// Ordered keys, point and range reads, atomic batches, a durable flush, consistent snapshots.
///
/// Methods take `&self`: engines are shared as `Arc<dyn Engine>` between openraft's log store
/// and its state machine, and between threads.
pub trait Engine: Send + Sync + fmt::Debug + 'static {
    /// A short name for reports ("mem", "files", "redb", "fjall").
    fn name(&self) -> &'static str;

    /// The value of `key`, if it is present.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError>;

    /// Pairs with `start <= key < end` (`end` `None`: unbounded), ascending, at most `limit`.
    fn range(&self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Pairs, EngineError>;

    /// Applies all of `batch` or, after any crash, none of it; visible to reads at once.
    fn write(&self, batch: &Batch) -> Result<(), EngineError>;

    /// Every write that returned before this call is durable when it returns.
    fn flush(&self) -> Result<(), EngineError>;

    /// A point-in-time view of every pair, ascending; later writes do not show in it.
    fn snapshot(&self) -> Result<SnapshotIter, EngineError>;
}
