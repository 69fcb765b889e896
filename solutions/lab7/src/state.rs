//! Task 1: the state in chunks, with copy-on-write and dirty tracking.
//!
//! [`ChunkedKv`] is lab 4's key-value state machine (the same commands, the same outputs),
//! with its keys spread over a fixed number of chunks by a hash of the key. Each chunk is an
//! `Arc`: [`ChunkedKv::freeze`] copies the table of `Arc`s (a bounded switch: one pointer per
//! chunk, whatever the size of the state), and a write to a chunk that a frozen view still
//! shares copies that one chunk first (`Arc::make_mut`). So the frozen view stays exactly the
//! state at its index while writes go on, and the cost of a write during a snapshot is at most
//! one copy of one chunk.
//!
//! That copy is of the chunk's tree, not of its records: each key is an `Arc<str>` and each
//! value an `Arc<Vec<u8>>`, so copying a chunk allocates its tree's nodes and counts one more
//! owner of every record, without allocating or copying a record's bytes. A write replaces a
//! value's `Arc` (the frozen view keeps the old one), never the bytes behind it; the previous
//! value a write returns is copied only if a frozen view still shares it.
//!
//! A chunk is **clean** when it carries a seal: the id of a chunk file that a durable manifest
//! lists with exactly this content. Every write removes the seal (the chunk is **dirty**); only
//! the store sets one, on the frozen view's chunk, once a manifest that lists it is durable. A
//! live chunk shares that `Arc` exactly while it has not been written since the freeze, so a
//! seal can never describe content the chunk no longer has.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, Weak};

use distributed::storage::StateMachineStorage;
use lab4::{Command, KvError, Op, Output, Write};
use serde::{Deserialize, Serialize};

use crate::format::ChunkId;

/// How many chunks [`ChunkedKv::new`] uses.
pub const DEFAULT_CHUNKS: usize = 64;

/// The records of one chunk. Keys and values are shared, so copying a chunk copies pointers.
type Records = BTreeMap<Arc<str>, Arc<Vec<u8>>>;

/// One chunk of the state: the keys that hash to it, and its seal.
#[derive(Debug, Default)]
struct Chunk {
    map: Records,
    seal: OnceLock<ChunkId>,
}

impl Clone for Chunk {
    /// A copy is made to be written: it starts dirty.
    fn clone(&self) -> Chunk {
        Chunk { map: self.map.clone(), seal: OnceLock::new() }
    }
}

impl Chunk {
    fn encode(&self) -> Vec<u8> {
        // The same bytes as postcard of `(String, Vec<u8>)` pairs: a `str` and a byte slice
        // encode as a `String` and a `Vec<u8>` do.
        let pairs: Vec<(&str, &[u8])> = self.map.iter().map(|(key, value)| (&**key, value.as_slice())).collect();
        postcard::to_stdvec(&pairs).expect("encoding a chunk into a Vec cannot fail")
    }
}

/// Lab 4's key-value state machine, in chunks that snapshots can share and write one by one.
///
/// Equal states are equal whatever their seals: two `ChunkedKv` compare by chunk count, keys,
/// values and log time.
#[derive(Clone, Debug)]
pub struct ChunkedKv {
    chunks: Vec<Arc<Chunk>>,
    log_time: u64,
}

/// The state at one point in time, shared with the live state chunk by chunk, and `Send`, so
/// a snapshot can be written on another thread while the live state takes writes.
#[derive(Clone, Debug)]
pub struct Frozen {
    chunks: Vec<Arc<Chunk>>,
    log_time: u64,
}

/// One chunk in an [`Image`]: its encoded content, or the id of a stored chunk file that holds
/// it (a clean chunk: the store already has it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkImage {
    /// The chunk's encoded content (postcard of its `(key, value)` pairs in key order).
    Inline(Vec<u8>),
    /// A chunk the store holds.
    Stored(ChunkId),
}

/// The bytes [`StateMachineStorage::snapshot`] returns, postcard-encoded: the log time and
/// every chunk, inline or by reference. A **full** image has every chunk inline; only a full
/// image can be restored without a store ([`crate::ChunkStore`]'s `latest` resolves the
/// references).
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
        self.log_time == other.log_time
            && self.chunks.len() == other.chunks.len()
            && self.chunks.iter().zip(&other.chunks).all(|(a, b)| a.map == b.map)
    }
}

impl Eq for ChunkedKv {}

/// The chunk `key` lives in, among `count`: a CRC of the key, the same in every process (a
/// `HashMap`'s hasher is seeded per process and would scatter keys differently on restart).
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
        ChunkedKv { chunks: (0..count.max(1)).map(|_| Arc::new(Chunk::default())).collect(), log_time: 0 }
    }

    /// The number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.chunks[chunk_of(key, self.chunks.len())].map.get(key).map(|value| value.as_slice())
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(|chunk| chunk.map.len()).sum()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let mut pairs: Vec<(&str, &[u8])> = self
            .chunks
            .iter()
            .flat_map(|chunk| chunk.map.iter().map(|(key, value)| (&**key, value.as_slice())))
            .collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        pairs.into_iter()
    }

    /// The largest command timestamp applied so far (log time), 0 before any.
    pub fn log_time(&self) -> u64 {
        self.log_time
    }

    /// The chunks written since a durable manifest last listed them, in order.
    pub fn dirty_chunks(&self) -> Vec<usize> {
        (0..self.chunks.len()).filter(|&k| self.chunks[k].seal.get().is_none()).collect()
    }

    /// The state now, as a view that later writes do not change: one `Arc` per chunk is
    /// copied, nothing else. This is the whole pause a snapshot costs the writers.
    pub fn freeze(&self) -> Frozen {
        Frozen { chunks: self.chunks.clone(), log_time: self.log_time }
    }

    /// The map of chunk `k`, ready to be written: copied first if a frozen view shares it,
    /// and dirty from now on.
    fn chunk_mut(&mut self, k: usize) -> &mut Records {
        let chunk = Arc::make_mut(&mut self.chunks[k]);
        chunk.seal.take();
        &mut chunk.map
    }

    /// The value a write takes out of a chunk is moved out if no frozen view shares it, and
    /// copied if one does (`Arc::unwrap_or_clone`).
    fn insert(&mut self, key: String, value: Vec<u8>) -> Option<Vec<u8>> {
        let k = chunk_of(&key, self.chunks.len());
        let records = self.chunk_mut(k);
        let value = Arc::new(value);
        // A key already present keeps its `Arc<str>`: only a new key is allocated.
        let previous = match records.get_mut(key.as_str()) {
            Some(slot) => std::mem::replace(slot, value),
            None => return records.insert(Arc::from(key), value).map(Arc::unwrap_or_clone),
        };
        Some(Arc::unwrap_or_clone(previous))
    }

    fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        let k = chunk_of(key, self.chunks.len());
        if !self.chunks[k].map.contains_key(key) {
            // Removing an absent key changes nothing: the chunk stays clean.
            return None;
        }
        self.chunk_mut(k).remove(key).map(Arc::unwrap_or_clone)
    }

    /// Runs one operation, exactly as lab 4's `KvStore` does.
    fn execute(&mut self, op: Op) -> Output {
        match op {
            Op::Noop => Output::Done,
            Op::Put { key, value } => Output::Previous(self.insert(key, value)),
            Op::Delete { key } => Output::Previous(self.remove(&key)),
            Op::Increment { key, delta } => {
                let current = match self.get(&key) {
                    None => 0,
                    Some(bytes) => match <[u8; 8]>::try_from(bytes) {
                        Ok(bytes) => i64::from_le_bytes(bytes),
                        Err(_) => {
                            return Output::Rejected(format!(
                                "{key:?} holds {} bytes, not an 8-byte counter",
                                bytes.len()
                            ));
                        }
                    },
                };
                match current.checked_add(delta) {
                    Some(sum) => {
                        self.insert(key, sum.to_le_bytes().to_vec());
                        Output::Counter(sum)
                    }
                    None => Output::Rejected(format!("{key:?}: {current} + {delta} overflows")),
                }
            }
            Op::Batch(writes) => {
                for write in writes {
                    match write {
                        Write::Put { key, value } => self.insert(key, value),
                        Write::Delete { key } => self.remove(&key),
                    };
                }
                Output::Done
            }
        }
    }

    /// The state an image describes, if it is a full, canonical image.
    fn from_image(image: &Image) -> Result<ChunkedKv, KvError> {
        let count = image.chunks.len();
        if count == 0 {
            return Err(KvError::BadImage("an image has at least one chunk".into()));
        }
        let mut chunks = Vec::with_capacity(count);
        for (k, chunk) in image.chunks.iter().enumerate() {
            let ChunkImage::Inline(bytes) = chunk else {
                return Err(KvError::BadImage(format!(
                    "chunk {k} refers to a stored chunk; only a full image restores (the store resolves references)"
                )));
            };
            let map = decode_chunk_content(bytes, k, count)?
                .into_iter()
                .map(|(key, value)| (Arc::from(key), Arc::new(value)))
                .collect();
            chunks.push(Arc::new(Chunk { map, seal: OnceLock::new() }));
        }
        Ok(ChunkedKv { chunks, log_time: image.log_time })
    }
}

/// The pairs of chunk `k` of `count` from its encoded content, refused unless canonical: keys
/// strictly increasing, each in the chunk its hash names, no byte left over.
pub(crate) fn decode_chunk_content(bytes: &[u8], k: usize, count: usize) -> Result<BTreeMap<String, Vec<u8>>, KvError> {
    let (pairs, rest): (Vec<(String, Vec<u8>)>, &[u8]) =
        postcard::take_from_bytes(bytes).map_err(|e| KvError::BadImage(format!("chunk {k}: {e}")))?;
    if !rest.is_empty() {
        return Err(KvError::BadImage(format!("chunk {k}: {} bytes after its pairs", rest.len())));
    }
    if let Some(pair) = pairs.windows(2).find(|pair| pair[0].0 >= pair[1].0) {
        return Err(KvError::BadImage(format!("chunk {k}: keys out of order: {:?} before {:?}", pair[0].0, pair[1].0)));
    }
    if let Some((key, _)) = pairs.iter().find(|(key, _)| chunk_of(key, count) != k) {
        return Err(KvError::BadImage(format!(
            "chunk {k} holds {key:?}, which belongs in chunk {}",
            chunk_of(key, count)
        )));
    }
    Ok(pairs.into_iter().collect())
}

impl Frozen {
    /// The number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The log time at the freeze.
    pub fn log_time(&self) -> u64 {
        self.log_time
    }

    /// The chunks that were dirty at the freeze (or are still unsealed), in order.
    pub fn dirty_chunks(&self) -> Vec<usize> {
        (0..self.chunks.len()).filter(|&k| self.chunks[k].seal.get().is_none()).collect()
    }

    /// The id of chunk `k`'s stored file, if it is clean.
    pub(crate) fn seal_of(&self, k: usize) -> Option<ChunkId> {
        self.chunks[k].seal.get().copied()
    }

    /// Chunk `k`'s encoded content.
    pub(crate) fn encode_chunk(&self, k: usize) -> Vec<u8> {
        self.chunks[k].encode()
    }

    /// Marks chunk `k` clean: a durable manifest lists it as `id`. The live state shares this
    /// chunk for as long as it has not written it, and so shares the seal.
    pub(crate) fn seal(&self, k: usize, id: ChunkId) {
        let _ = self.chunks[k].seal.set(id);
    }

    /// The frozen state as a live one (a restore of what this view holds).
    pub fn to_state(&self) -> ChunkedKv {
        ChunkedKv { chunks: self.chunks.clone(), log_time: self.log_time }
    }
}

impl Frozen {
    /// The view taken apart for a save that releases each chunk as soon as it is done with
    /// it: its log time and its chunks in order. Once every [`FrozenChunk`] is dropped or
    /// released, the save holds no chunk of the state.
    pub(crate) fn into_chunks(self) -> (u64, Vec<FrozenChunk>) {
        (self.log_time, self.chunks.into_iter().map(FrozenChunk).collect())
    }
}

/// One chunk of a frozen view, held by a save until it is encoded.
pub(crate) struct FrozenChunk(Arc<Chunk>);

impl FrozenChunk {
    /// The id of its stored file, if it is clean.
    pub(crate) fn seal_of(&self) -> Option<ChunkId> {
        self.0.seal.get().copied()
    }

    /// Its encoded content.
    pub(crate) fn encode(&self) -> Vec<u8> {
        self.0.encode()
    }

    /// Lets the chunk go, keeping only what the save needs to mark it clean later. If the live
    /// state still shares it, it stays alive there; if the live state has written it since
    /// the freeze, this was the last reference to the old content, which is freed now.
    pub(crate) fn release(self) -> SealHandle {
        SealHandle(Arc::downgrade(&self.0))
    }
}

/// A released chunk, to be marked clean once a durable manifest lists it.
pub(crate) struct SealHandle(Weak<Chunk>);

impl SealHandle {
    /// Marks the chunk clean as `id`, if the live state still shares it. A chunk the live
    /// state has written since the freeze is a new allocation (copied, or moved out when only
    /// this handle pointed at the old one), so the seal never lands on content that changed.
    pub(crate) fn seal(&self, id: ChunkId) {
        if let Some(chunk) = self.0.upgrade() {
            let _ = chunk.seal.set(id);
        }
    }
}

impl StateMachineStorage for ChunkedKv {
    type Error = KvError;

    /// As lab 4's `KvStore::apply`: the same outputs for the same entries.
    fn apply(&mut self, entry: &[u8]) -> Result<Vec<u8>, KvError> {
        if entry.is_empty() {
            return Ok(Output::Done.encode());
        }
        let command = Command::decode(entry)?;
        self.log_time = self.log_time.max(command.timestamp);
        Ok(self.execute(command.op).encode())
    }

    /// An [`Image`]: clean chunks by reference ([`ChunkImage::Stored`]), dirty ones inline. So
    /// the cost of a snapshot taken through lab 4's `take_snapshot` is the chunks written since
    /// the last manifest, not the whole state. A state that no store has sealed (every chunk
    /// dirty) gives a full image.
    fn snapshot(&self) -> Result<Vec<u8>, KvError> {
        let chunks = self
            .chunks
            .iter()
            .map(|chunk| match chunk.seal.get() {
                Some(id) => ChunkImage::Stored(*id),
                None => ChunkImage::Inline(chunk.encode()),
            })
            .collect();
        Ok(Image { log_time: self.log_time, chunks }.encode())
    }

    /// Replaces the whole state with a full image's. Anything else is [`KvError::BadImage`],
    /// and leaves the state as it was. Every chunk restored is dirty: no manifest is known to
    /// list it yet.
    fn restore(&mut self, image: &[u8]) -> Result<(), KvError> {
        *self = ChunkedKv::from_image(&Image::decode(image)?)?;
        Ok(())
    }
}

impl ChunkedKv {
    /// The full image of this state (every chunk inline), as lab 3's store or a follower that
    /// holds no chunk would take it.
    pub fn full_image(&self) -> Vec<u8> {
        Image { log_time: self.log_time, chunks: self.chunks.iter().map(|c| ChunkImage::Inline(c.encode())).collect() }
            .encode()
    }
}
