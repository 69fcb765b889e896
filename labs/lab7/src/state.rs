//! Task 1: the state in chunks, with copy-on-write and dirty tracking.
//!
//! [`ChunkedKv`] is lab 4's key-value state machine (the same commands, the same outputs),
//! with its keys spread over a fixed number of chunks by [`chunk_of`]. Design it so that:
//!
//! - [`ChunkedKv::freeze`] is a **bounded switch**: its cost depends on the number of chunks,
//!   never on the size of the state (hint: keep each chunk behind an `Arc`, and copy the table
//!   of `Arc`s);
//! - a write to a chunk that a frozen view still shares **copies that chunk first**
//!   (`Arc::make_mut`), so the frozen view stays the state at its index while writes go on;
//! - every write marks its chunk **dirty**, and a chunk becomes **clean** only when the store
//!   has made durable a manifest that lists it with exactly this content (hint: a seal, the
//!   chunk's id, kept inside the shared chunk, set by the store on the frozen view, and
//!   removed by every write). Removing an absent key is not a write.
//!
//! The public API below is fixed (the tests and the store use it); everything behind it is
//! yours. Add private fields, and `pub(crate)` methods for the store (to encode a frozen
//! chunk, read its seal, set it).

use distributed::storage::StateMachineStorage;
use lab4::KvError;
use serde::{Deserialize, Serialize};

use crate::format::ChunkId;

/// How many chunks [`ChunkedKv::new`] uses.
pub const DEFAULT_CHUNKS: usize = 64;

/// Lab 4's key-value state machine, in chunks that snapshots can share and write one by one.
///
/// Equal states are equal whatever their seals: two `ChunkedKv` compare by chunk count, keys,
/// values and log time (implement `PartialEq` by hand).
#[derive(Clone, Debug)]
pub struct ChunkedKv {
    // Your fields here: the chunks (each shared, with its map and its seal) and the log time.
    _private: (),
}

/// The state at one point in time, shared with the live state chunk by chunk, and `Send`, so
/// a snapshot can be written on another thread while the live state takes writes.
#[derive(Clone, Debug)]
pub struct Frozen {
    // Your fields here.
    _private: (),
}

/// One chunk in an [`Image`]: its encoded content, or the id of a stored chunk file that holds
/// it (a clean chunk: the store already has it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkImage {
    /// The chunk's encoded content: postcard of its `(key, value)` pairs in key order, as a
    /// `Vec<(String, Vec<u8>)>`.
    Inline(Vec<u8>),
    /// A chunk the store holds.
    Stored(ChunkId),
}

/// The bytes [`StateMachineStorage::snapshot`] returns, postcard-encoded: the log time and
/// every chunk, inline or by reference. A **full** image has every chunk inline; only a full
/// image can be restored without a store ([`crate::ChunkStore`]'s `latest` resolves the
/// references). Given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The state's log time.
    pub log_time: u64,
    /// Its chunks, in order.
    pub chunks: Vec<ChunkImage>,
}

impl Image {
    /// The image encoded, as a snapshot's data.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding an image into a Vec cannot fail")
    }

    /// An image from a snapshot's data.
    pub fn decode(bytes: &[u8]) -> Result<Image, KvError> {
        let (image, rest): (Image, &[u8]) =
            postcard::take_from_bytes(bytes).map_err(|e| KvError::BadImage(e.to_string()))?;
        if !rest.is_empty() {
            return Err(KvError::BadImage(format!("{} bytes after the image", rest.len())));
        }
        Ok(image)
    }
}

impl Default for ChunkedKv {
    fn default() -> Self {
        ChunkedKv::new()
    }
}

impl PartialEq for ChunkedKv {
    fn eq(&self, other: &ChunkedKv) -> bool {
        let _ = other;
        todo!("Task 1: compare chunk counts, keys, values and log times (not seals)")
    }
}

impl Eq for ChunkedKv {}

/// Given: the chunk `key` lives in, among `count`: a CRC of the key, the same in every
/// process (a `HashMap`'s hasher is seeded per process and would scatter keys differently on
/// restart).
pub fn chunk_of(key: &str, count: usize) -> usize {
    crc32fast::hash(key.as_bytes()) as usize % count
}

impl ChunkedKv {
    /// An empty state in [`DEFAULT_CHUNKS`] chunks.
    pub fn new() -> ChunkedKv {
        ChunkedKv::with_chunks(DEFAULT_CHUNKS)
    }

    /// An empty state in `count` chunks (at least 1). More chunks make each snapshot write
    /// less after a few writes, and make the manifest longer.
    pub fn with_chunks(count: usize) -> ChunkedKv {
        todo!("Task 1: an empty state in {count} chunks")
    }

    /// The number of chunks.
    pub fn chunk_count(&self) -> usize {
        todo!("Task 1: the number of chunks")
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        todo!("Task 1: look up {key:?} in its chunk")
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        todo!("Task 1: count the keys")
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key and value, in key order (across chunks).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        todo!("Task 1: iterate in key order");
        #[allow(unreachable_code)]
        std::iter::empty()
    }

    /// The largest command timestamp applied so far (log time), 0 before any.
    pub fn log_time(&self) -> u64 {
        todo!("Task 1: the log time")
    }

    /// The chunks written since a durable manifest last listed them, in order.
    pub fn dirty_chunks(&self) -> Vec<usize> {
        todo!("Task 1: the dirty chunks")
    }

    /// The state now, as a view that later writes do not change. Costs one `Arc` copy per
    /// chunk, nothing else: this is the whole pause a snapshot costs the writers.
    pub fn freeze(&self) -> Frozen {
        todo!("Task 1: freeze")
    }

    /// The full image of this state (every chunk inline), as lab 3's store or a follower that
    /// holds no chunk would take it.
    pub fn full_image(&self) -> Vec<u8> {
        todo!("Task 1: the full image")
    }
}

impl Frozen {
    /// The number of chunks.
    pub fn chunk_count(&self) -> usize {
        todo!("Task 1: the number of chunks")
    }

    /// The log time at the freeze.
    pub fn log_time(&self) -> u64 {
        todo!("Task 1: the log time at the freeze")
    }

    /// The chunks that were dirty at the freeze (or are still unsealed), in order.
    pub fn dirty_chunks(&self) -> Vec<usize> {
        todo!("Task 1: the frozen view's dirty chunks")
    }

    /// The frozen state as a live one (a restore of what this view holds).
    pub fn to_state(&self) -> ChunkedKv {
        todo!("Task 1: the frozen state")
    }
}

impl StateMachineStorage for ChunkedKv {
    type Error = KvError;

    /// As lab 4's `KvStore::apply`: the same outputs for the same entries (an empty entry is a
    /// no-op; data that is not a command is [`KvError::BadCommand`]).
    fn apply(&mut self, entry: &[u8]) -> Result<Vec<u8>, KvError> {
        todo!("Task 1: apply a command of {} bytes, dirtying the chunks it writes", entry.len())
    }

    /// An [`Image`]: clean chunks by reference ([`ChunkImage::Stored`]), dirty ones inline. So
    /// a snapshot taken through lab 4's `take_snapshot` costs the chunks written since the last
    /// manifest, not the whole state.
    fn snapshot(&self) -> Result<Vec<u8>, KvError> {
        todo!("Task 1: the image, clean chunks by reference")
    }

    /// Replaces the whole state with a full image's. Anything else (a reference, keys out of
    /// order or in the wrong chunk, bytes left over) is [`KvError::BadImage`], and leaves the
    /// state as it was. Every chunk restored is dirty.
    fn restore(&mut self, image: &[u8]) -> Result<(), KvError> {
        todo!("Task 1: restore from an image of {} bytes", image.len())
    }
}
