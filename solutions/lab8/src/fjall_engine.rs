//! The fjall engine: an LSM tree (journal, memtables, sorted runs compacted in the
//! background) on the real disk. fjall opens its own files by path, so it cannot run on the
//! kit's filesystem: the course opens it ([`crate::handles::DiskDir::open_fjall`]) and the
//! engine gets the handle.
//!
//! A batch is one fjall write batch: fjall writes it to its journal as one entry and makes it
//! visible at once. Committed batches reach the OS (fjall's `PersistMode::Buffer`) and survive
//! the process; only `persist(SyncAll)` makes them survive a power cut, so [`Engine::flush`]
//! calls it.
//!
//! fjall refuses an empty key (and keys of 64 KiB or more), which the trait allows: every key
//! is stored behind one constant byte, [`KEY_PREFIX`]. A common prefix keeps the order of
//! keys, so ranges map one to one.

use std::sync::atomic::{AtomicBool, Ordering};

use fjall::Readable;

use crate::engine::{Batch, BatchOp, Engine, EngineError, SnapshotIter};
use crate::handles::FjallHandle;

/// The byte in front of every key stored in fjall.
pub const KEY_PREFIX: u8 = b'k';

/// fjall's own bound on a key's length; one byte goes to the prefix.
const MAX_KEY: usize = u16::MAX as usize - 1;

fn stored(key: &[u8]) -> Result<Vec<u8>, EngineError> {
    if key.len() > MAX_KEY {
        return Err(EngineError::Backend(format!("fjall keys are at most {MAX_KEY} bytes, not {}", key.len())));
    }
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(KEY_PREFIX);
    out.extend_from_slice(key);
    Ok(out)
}

fn unstored(key: &[u8]) -> Result<Vec<u8>, EngineError> {
    match key.split_first() {
        Some((&KEY_PREFIX, rest)) => Ok(rest.to_vec()),
        _ => Err(EngineError::Corrupt(format!("fjall holds a key without the engine's prefix: {key:?}"))),
    }
}

/// fjall behind the [`Engine`] trait.
#[derive(Debug)]
pub struct FjallEngine {
    handle: FjallHandle,
    poisoned: AtomicBool,
}

impl FjallEngine {
    /// The engine over an opened database.
    pub fn new(handle: FjallHandle) -> FjallEngine {
        FjallEngine { handle, poisoned: AtomicBool::new(false) }
    }

    fn check(&self) -> Result<(), EngineError> {
        if self.poisoned.load(Ordering::Acquire) { Err(EngineError::Poisoned) } else { Ok(()) }
    }

    fn failed(&self, e: fjall::Error) -> EngineError {
        self.poisoned.store(true, Ordering::Release);
        fjall_error(e)
    }
}

impl Engine for FjallEngine {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.handle.keyspace.get(stored(key)?).map_err(fjall_error)?.map(|v| v.to_vec()))
    }

    fn range(&self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        if end.is_some_and(|end| end <= start) {
            return Ok(Vec::new());
        }
        let keyspace = &self.handle.keyspace;
        let start = stored(start)?;
        let iter: Box<dyn Iterator<Item = fjall::Guard>> = match end {
            Some(end) => Box::new(keyspace.range(start..stored(end)?)),
            None => Box::new(keyspace.range(start..)),
        };
        let mut out = Vec::new();
        for guard in iter.take(limit) {
            let (k, v) = guard.into_inner().map_err(fjall_error)?;
            out.push((unstored(&k)?, v.to_vec()));
        }
        Ok(out)
    }

    fn write(&self, batch: &Batch) -> Result<(), EngineError> {
        self.check()?;
        let mut write = self.handle.db.batch();
        for op in batch.ops() {
            match op {
                BatchOp::Put { key, value } => write.insert(&self.handle.keyspace, stored(key)?, value.as_slice()),
                BatchOp::Delete { key } => write.remove(&self.handle.keyspace, stored(key)?),
            }
        }
        write.commit().map_err(|e| self.failed(e))
    }

    fn flush(&self) -> Result<(), EngineError> {
        self.check()?;
        self.handle.db.persist(fjall::PersistMode::SyncAll).map_err(|e| self.failed(e))
    }

    fn snapshot(&self) -> Result<SnapshotIter, EngineError> {
        // fjall's snapshot pins a sequence number: later writes carry higher ones and stay out.
        let snapshot = self.handle.db.snapshot();
        let mut pairs = Vec::new();
        for guard in snapshot.iter(&self.handle.keyspace) {
            let (k, v) = guard.into_inner().map_err(fjall_error)?;
            pairs.push(Ok((unstored(&k)?, v.to_vec())));
        }
        Ok(Box::new(pairs.into_iter()))
    }
}

fn fjall_error(e: fjall::Error) -> EngineError {
    match e {
        fjall::Error::Io(io) => EngineError::Io(io),
        fjall::Error::Poisoned => EngineError::Poisoned,
        other => EngineError::Backend(format!("fjall: {other}")),
    }
}
