//! The files engine: your own storage from labs 1 and 3, with what they lacked — ordered
//! range reads and atomic batches.
//!
//! Design (the chapter's "The files engine" gives the byte tables):
//!
//! - the pairs live in memory, in one ordered map;
//! - every batch is one record of lab 1's log (directory `wal/` below the engine's
//!   directory): its entry's index is the batch's number (1, 2, ...), its term is always 1, and
//!   its data is the batch encoded as [`encode_batch`] says. Lab 1's record CRC makes a torn
//!   batch invisible after a crash, so a batch is all or nothing;
//! - every `checkpoint_every` batches (and on [`FilesEngine::checkpoint`]), the whole map is
//!   saved through lab 3's store (directory `snap/`) as a snapshot whose `last_index` is the
//!   last batch it holds, then the log's prefix up to it is compacted;
//! - [`FilesEngine::open`] loads the newest checkpoint and replays the batches after it.
//!
//! `write` appends without a sync (lab 1's `SyncPolicy::Never`); `flush` syncs the log.

use std::path::PathBuf;

use distributed::vfs::FsRef;

use crate::engine::{Batch, Engine, EngineError, Pairs, SnapshotIter};

/// The term every batch record carries in lab 1's log.
pub const BATCH_TERM: u64 = 1;

/// Settings for [`FilesEngine::open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilesOptions {
    /// A checkpoint is taken after this many batches since the last one (0: only on
    /// [`FilesEngine::checkpoint`]).
    pub checkpoint_every: u64,
    /// Lab 1's segment size for the log.
    pub segment_size: u64,
}

impl Default for FilesOptions {
    fn default() -> Self {
        FilesOptions { checkpoint_every: 4096, segment_size: 8 << 20 }
    }
}

/// Encodes `batch` as one log record's data: `u32` count of ops, then per op a tag byte
/// (1 put, 2 delete), a `u32` key length and the key, and for a put a `u32` value length and
/// the value; integers little-endian.
pub fn encode_batch(batch: &Batch) -> Vec<u8> {
    let _ = batch;
    todo!("lab 8 task 1: encode a batch")
}

/// Decodes what [`encode_batch`] wrote; anything else is [`EngineError::Corrupt`].
pub fn decode_batch(data: &[u8]) -> Result<Batch, EngineError> {
    let _ = data;
    todo!("lab 8 task 1: decode a batch")
}

/// Encodes every pair of a checkpoint: `u64` count, then per pair a `u32` key length, the
/// key, a `u32` value length and the value; integers little-endian, keys ascending.
pub fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Vec<u8> {
    let _ = pairs;
    todo!("lab 8 task 1: encode a checkpoint")
}

/// Decodes what [`encode_pairs`] wrote; anything else (keys out of order included) is
/// [`EngineError::Corrupt`].
pub fn decode_pairs(data: &[u8]) -> Result<Pairs, EngineError> {
    let _ = data;
    todo!("lab 8 task 1: decode a checkpoint")
}

/// Your own files behind the [`Engine`] trait.
#[derive(Debug)]
pub struct FilesEngine {}

impl FilesEngine {
    /// Opens (creating if needed) the engine in `dir`: loads the newest checkpoint and replays
    /// every batch of the log after it.
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: FilesOptions) -> Result<FilesEngine, EngineError> {
        let _ = (fs, dir.into(), options);
        todo!("lab 8 task 2: open and recover")
    }

    /// Saves every pair as a checkpoint, then compacts the log up to it.
    pub fn checkpoint(&self) -> Result<(), EngineError> {
        todo!("lab 8 task 3: checkpoint")
    }

    /// The number of the last batch applied (0 for none).
    pub fn last_batch(&self) -> u64 {
        todo!("lab 8 task 2")
    }
}

impl Engine for FilesEngine {
    fn name(&self) -> &'static str {
        "files"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        let _ = key;
        todo!("lab 8 task 2: get")
    }

    fn range(&self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        let _ = (start, end, limit);
        todo!("lab 8 task 2: range")
    }

    fn write(&self, batch: &Batch) -> Result<(), EngineError> {
        let _ = batch;
        todo!("lab 8 task 2: write a batch")
    }

    fn flush(&self) -> Result<(), EngineError> {
        todo!("lab 8 task 2: flush")
    }

    fn snapshot(&self) -> Result<SnapshotIter, EngineError> {
        todo!("lab 8 task 2: snapshot")
    }
}
