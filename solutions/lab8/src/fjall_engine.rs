//! The fjall engine: an LSM tree (journal, memtables, sorted runs compacted in the
//! background) on the real disk. fjall opens its own files by path, so it cannot run on the
//! kit's filesystem: the course opens it ([`crate::handles::DiskDir::open_fjall`]) and the
//! engine gets the handle.

use crate::engine::{Batch, Engine, EngineError, SnapshotIter};
use crate::handles::FjallHandle;

/// fjall behind the [`Engine`] trait.
#[derive(Debug)]
pub struct FjallEngine {}

impl FjallEngine {
    /// The engine over an opened database.
    pub fn new(handle: FjallHandle) -> FjallEngine {
        let _ = handle;
        todo!("lab 8 task 5: fjall")
    }
}

impl Engine for FjallEngine {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        let _ = key;
        todo!("lab 8 task 5")
    }

    fn range(&self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        let _ = (start, end, limit);
        todo!("lab 8 task 5")
    }

    fn write(&self, batch: &Batch) -> Result<(), EngineError> {
        let _ = batch;
        todo!("lab 8 task 5")
    }

    fn flush(&self) -> Result<(), EngineError> {
        todo!("lab 8 task 5")
    }

    fn snapshot(&self) -> Result<SnapshotIter, EngineError> {
        todo!("lab 8 task 5")
    }
}
