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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use distributed::storage::{Entry, Snapshot, SnapshotMeta};
use distributed::vfs::FsRef;
use lab1::{SyncPolicy, Wal, WalError, WalOptions};
use lab3::{SnapshotError, SnapshotStore, StoreOptions};

use crate::engine::{Batch, BatchOp, Engine, EngineError, Pairs, SnapshotIter};
use crate::mem::{apply_batch, range_of};

/// The term every batch record carries in lab 1's log.
pub const BATCH_TERM: u64 = 1;

const TAG_PUT: u8 = 1;
const TAG_DELETE: u8 = 2;

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
    let mut out = Vec::new();
    out.extend_from_slice(&(batch.len() as u32).to_le_bytes());
    for op in batch.ops() {
        match op {
            BatchOp::Put { key, value } => {
                out.push(TAG_PUT);
                put_bytes(&mut out, key);
                put_bytes(&mut out, value);
            }
            BatchOp::Delete { key } => {
                out.push(TAG_DELETE);
                put_bytes(&mut out, key);
            }
        }
    }
    out
}

/// Decodes what [`encode_batch`] wrote; anything else is [`EngineError::Corrupt`].
pub fn decode_batch(data: &[u8]) -> Result<Batch, EngineError> {
    let mut reader = Reader { data, at: 0 };
    let count = reader.u32()?;
    let mut batch = Batch::new();
    for _ in 0..count {
        match reader.u8()? {
            TAG_PUT => {
                let key = reader.bytes()?;
                let value = reader.bytes()?;
                batch.put(key, value);
            }
            TAG_DELETE => {
                batch.delete(reader.bytes()?);
            }
            tag => return Err(EngineError::Corrupt(format!("unknown op tag {tag} in a batch record"))),
        }
    }
    reader.finish("batch record")?;
    Ok(batch)
}

/// Encodes every pair of a checkpoint: `u64` count, then per pair a `u32` key length, the
/// key, a `u32` value length and the value; integers little-endian, keys ascending.
pub fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut count = 0u64;
    for (key, value) in pairs {
        put_bytes(&mut body, key);
        put_bytes(&mut body, value);
        count += 1;
    }
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes what [`encode_pairs`] wrote; anything else (keys out of order included) is
/// [`EngineError::Corrupt`].
pub fn decode_pairs(data: &[u8]) -> Result<Pairs, EngineError> {
    let mut reader = Reader { data, at: 0 };
    let count = reader.u64()?;
    let mut pairs: Pairs = Vec::new();
    for _ in 0..count {
        let key = reader.bytes()?;
        let value = reader.bytes()?;
        if pairs.last().is_some_and(|(last, _)| *last >= key) {
            return Err(EngineError::Corrupt("checkpoint keys are not strictly ascending".into()));
        }
        pairs.push((key, value));
    }
    reader.finish("checkpoint")?;
    Ok(pairs)
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Reads the encodings above; every short read is a typed error, never a panic.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8], EngineError> {
        let end = self.at.checked_add(len).filter(|&end| end <= self.data.len()).ok_or_else(|| {
            EngineError::Corrupt(format!("record ends at byte {} but needs {} more", self.data.len(), len))
        })?;
        let slice = &self.data[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, EngineError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, EngineError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> Result<u64, EngineError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, EngineError> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }

    fn finish(&self, what: &str) -> Result<(), EngineError> {
        match self.data.len() - self.at {
            0 => Ok(()),
            extra => Err(EngineError::Corrupt(format!("{extra} bytes after the end of a {what}"))),
        }
    }
}

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// Your own files behind the [`Engine`] trait: lab 1's log of whole batches, lab 3's store of
/// full checkpoints, and the pairs in memory.
///
/// One mutex orders the writers: a batch gets the next number, goes to the log as one record,
/// and only then is applied to the map, so the map never holds a batch the log does not. The
/// map is an `Arc`, replaced copy-on-write, so a snapshot is the `Arc` as it was.
#[derive(Debug)]
pub struct FilesEngine {
    wal: Wal,
    store: SnapshotStore,
    options: FilesOptions,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    map: Arc<Map>,
    /// The number of the last batch applied (the log's last index, or the checkpoint's).
    last_batch: u64,
    /// The number of the last batch the newest checkpoint holds.
    checkpointed: u64,
    /// A write, sync or checkpoint failed: what the disk holds is unknown until a reopen.
    poisoned: bool,
}

impl FilesEngine {
    /// Opens (creating if needed) the engine in `dir`: loads the newest checkpoint and replays
    /// every batch of the log after it.
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: FilesOptions) -> Result<FilesEngine, EngineError> {
        let dir = dir.into();
        let store =
            SnapshotStore::open(Arc::clone(&fs), dir.join("snap"), StoreOptions { keep: 2 }).map_err(snap_error)?;
        let wal_options = WalOptions { segment_size: options.segment_size, sync: SyncPolicy::Never };
        let wal = Wal::open(fs, dir.join("wal"), wal_options).map_err(wal_error)?;
        let (checkpointed, mut map) = match store.latest().map_err(snap_error)? {
            Some(snapshot) => (snapshot.meta.last_index, decode_pairs(&snapshot.data)?.into_iter().collect()),
            None => (0, Map::new()),
        };
        // The log starts at 1, or just after a checkpoint it was compacted to. A log that starts
        // later than the batch after the checkpoint has lost batches: refuse, never guess.
        let first = wal.first_index();
        if first > checkpointed + 1 {
            return Err(EngineError::Corrupt(format!(
                "the log starts at batch {first} but the newest checkpoint holds batches up to {checkpointed}"
            )));
        }
        let last = wal.last_index().max(checkpointed);
        let mut next = checkpointed + 1;
        while next <= wal.last_index() {
            let upto = (next + 1024).min(wal.last_index() + 1);
            for entry in wal.entries(next, upto).map_err(wal_error)? {
                apply_batch(&mut map, &decode_batch(&entry.data)?);
            }
            next = upto;
        }
        let state = State { map: Arc::new(map), last_batch: last, checkpointed, poisoned: false };
        Ok(FilesEngine { wal, store, options, state: Mutex::new(state) })
    }

    /// Saves every pair as a checkpoint, then compacts the log up to it.
    pub fn checkpoint(&self) -> Result<(), EngineError> {
        let mut state = self.lock()?;
        self.checkpoint_locked(&mut state)
    }

    /// The number of the last batch applied (0 for none).
    pub fn last_batch(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).last_batch
    }

    /// The order matters: the checkpoint is durable (lab 3's save syncs the file and the
    /// directory) before the log loses the batches it covers; a crash in between leaves both,
    /// and recovery skips the batches the checkpoint already holds.
    fn checkpoint_locked(&self, state: &mut State) -> Result<(), EngineError> {
        if state.last_batch == state.checkpointed {
            return Ok(());
        }
        let data = encode_pairs(state.map.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        let meta = SnapshotMeta { last_index: state.last_batch, last_term: BATCH_TERM };
        let result = self
            .store
            .save(&Snapshot { meta, data })
            .map_err(snap_error)
            .and_then(|()| self.wal.compact_prefix(state.last_batch).map_err(wal_error));
        if result.is_err() {
            state.poisoned = true;
        }
        result?;
        state.checkpointed = state.last_batch;
        Ok(())
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, EngineError> {
        let state = self.state.lock().map_err(|_| EngineError::Poisoned)?;
        if state.poisoned {
            return Err(EngineError::Poisoned);
        }
        Ok(state)
    }

    fn current(&self) -> Arc<Map> {
        Arc::clone(&self.state.lock().unwrap_or_else(|p| p.into_inner()).map)
    }
}

impl Engine for FilesEngine {
    fn name(&self) -> &'static str {
        "files"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.current().get(key).cloned())
    }

    fn range(&self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        Ok(range_of(&self.current(), start, end, limit))
    }

    fn write(&self, batch: &Batch) -> Result<(), EngineError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut state = self.lock()?;
        let entry = Entry { index: state.last_batch + 1, term: BATCH_TERM, data: encode_batch(batch) };
        if let Err(e) = self.wal.append(std::slice::from_ref(&entry)) {
            state.poisoned = true;
            return Err(wal_error(e));
        }
        apply_batch(Arc::make_mut(&mut state.map), batch);
        state.last_batch = entry.index;
        if self.options.checkpoint_every > 0 && state.last_batch - state.checkpointed >= self.options.checkpoint_every {
            self.checkpoint_locked(&mut state)?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), EngineError> {
        let mut state = self.lock()?;
        self.wal.sync().map_err(|e| {
            state.poisoned = true;
            wal_error(e)
        })
    }

    fn snapshot(&self) -> Result<SnapshotIter, EngineError> {
        let map = self.current();
        let pairs: Vec<_> = map.iter().map(|(k, v)| Ok((k.clone(), v.clone()))).collect();
        Ok(Box::new(pairs.into_iter()))
    }
}

fn wal_error(e: WalError) -> EngineError {
    match e {
        WalError::Io(io) => EngineError::Io(io),
        WalError::Poisoned => EngineError::Poisoned,
        other => EngineError::Corrupt(format!("log: {other}")),
    }
}

fn snap_error(e: SnapshotError) -> EngineError {
    match e {
        SnapshotError::Io(io) => EngineError::Io(io),
        SnapshotError::Poisoned => EngineError::Poisoned,
        other => EngineError::Corrupt(format!("checkpoint: {other}")),
    }
}
