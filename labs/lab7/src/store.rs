//! Tasks 3 to 5: the chunk store. Content-addressed chunk files, a manifest switched
//! atomically, crash-safe garbage collection, and the chunk stream a lagging replica takes.
//!
//! ```text
//! dir/MANIFEST          the newest snapshot's manifest (format::encode_manifest)
//! dir/MANIFEST.tmp      the next one, while it is written
//! dir/chunks/<id>       a chunk file (format::encode_chunk), named by its content's SHA-256
//! dir/chunks/<id>.tmp   a chunk file while it is written
//! ```
//!
//! Decide the order of the steps of a save, and the moment garbage collection may run, so
//! that a power cut at any step leaves a durable manifest all of whose chunks are durable and
//! intact (the chapter's predict prompts walk through it). A chunk file is never written under
//! a name that exists: the name *is* the content.
//!
//! The public API below is fixed (the tests and [`crate::SnapshottingReplica`] use it);
//! everything behind it is yours. Every method takes `&self`, and the store is a cheap `Clone`
//! of a shared handle: the replica owns one as its snapshot store, and a snapshot thread uses
//! another.

use std::path::{Path, PathBuf};

use distributed::storage::{Snapshot, SnapshotMeta, SnapshotStorage};
use distributed::vfs::FsRef;

use crate::StoreError;
use crate::format::{ChunkId, Codec, Manifest};
use crate::state::{ChunkedKv, Frozen};

/// The manifest's file name in the store's directory.
pub const MANIFEST_FILE: &str = "MANIFEST";
/// The temporary manifest, while the next one is written.
pub const MANIFEST_TMP: &str = "MANIFEST.tmp";
/// The chunk files' directory in the store's directory.
pub const CHUNK_DIR: &str = "chunks";

/// Settings for [`ChunkStore::open`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// How new chunk files are compressed (files already written keep theirs).
    pub codec: Codec,
}

/// What one save did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaveReport {
    /// What the saved snapshot covers.
    pub meta: SnapshotMeta,
    /// Chunk files written.
    pub chunks_written: usize,
    /// Chunks the manifest lists that were already stored.
    pub chunks_reused: usize,
    /// Bytes of the chunk files written (headers included).
    pub chunk_bytes: u64,
    /// Bytes of the manifest written (0 when the manifest was already the current one).
    pub manifest_bytes: u64,
    /// Chunk files removed by garbage collection.
    pub removed: usize,
}

/// A directory of content-addressed chunk files and the manifest of the newest snapshot.
#[derive(Clone, Debug)]
pub struct ChunkStore {
    // Your fields here: the filesystem, the directory, the options, and behind one shared
    // mutex the newest durable manifest, the chunks known durable, and whether a failed sync
    // poisoned the store.
    _private: (),
}

impl ChunkStore {
    /// Opens (or creates) the store in `dir`. Reads the manifest (damaged:
    /// [`StoreError::ManifestCorrupt`]), makes the name it was read under durable, then removes
    /// what a crash may have left: temporary files, and chunk files the manifest does not list.
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: StoreOptions) -> Result<ChunkStore, StoreError> {
        let _ = (fs, dir.into(), options);
        todo!("Task 3: open the store")
    }

    /// The store's options.
    pub fn options(&self) -> StoreOptions {
        todo!("Task 3: the options")
    }

    /// The newest durable manifest, if any.
    pub fn manifest(&self) -> Option<Manifest> {
        todo!("Task 3: the newest manifest")
    }

    /// What the newest snapshot covers (`(0, 0)` if there is none).
    pub fn meta(&self) -> SnapshotMeta {
        todo!("Task 3: the newest snapshot's metadata")
    }

    /// The chunks stored (durably), in id order.
    pub fn chunk_ids(&self) -> Vec<ChunkId> {
        todo!("Task 3: the chunks stored")
    }

    /// Saves the frozen state as the snapshot covering `meta`, writing only its dirty chunks,
    /// then marks them clean (in the frozen view, and so in the live state that still shares
    /// them). Safe to call on another thread while the live state takes writes.
    ///
    /// A snapshot older than the newest is [`StoreError::OutOfDate`]; the newest one again
    /// does nothing. A failure poisons the store ([`StoreError::Poisoned`] until reopened) and
    /// leaves every chunk of `frozen` that was dirty, dirty.
    pub fn save_frozen(&self, frozen: &Frozen, meta: SnapshotMeta) -> Result<SaveReport, StoreError> {
        todo!("Task 3: save the frozen view's {} dirty chunks and a manifest for {meta:?}", frozen.dirty_chunks().len())
    }

    /// Marks clean every chunk of `frozen` whose content is the one the newest manifest lists
    /// for it (after a restore from this store, say, where every chunk starts dirty).
    pub fn seal_clean(&self, frozen: &Frozen) {
        todo!("Task 3: seal the {} chunks the manifest lists", frozen.chunk_count())
    }

    /// The newest snapshot's state, with every chunk clean.
    pub fn load_state(&self) -> Result<Option<(SnapshotMeta, ChunkedKv)>, StoreError> {
        todo!("Task 4: load the newest snapshot's state")
    }

    /// The full snapshot `manifest` describes, read from this store's chunk files, each
    /// verified.
    pub fn assemble(&self, manifest: &Manifest) -> Result<Snapshot, StoreError> {
        todo!("Task 4: assemble the snapshot {:?}", manifest.meta)
    }

    /// The content of chunk `id`, verified.
    pub fn read_chunk(&self, id: &ChunkId) -> Result<Vec<u8>, StoreError> {
        todo!("Task 4: read chunk {id}")
    }

    /// The bytes of chunk `id`'s file as stored (compressed), verified, as a leader streams
    /// them to a follower. A chunk not stored is [`StoreError::MissingChunk`].
    pub fn chunk_file(&self, id: &ChunkId) -> Result<Vec<u8>, StoreError> {
        todo!("Task 7: the file of chunk {id}")
    }

    /// The chunks `manifest` lists that this store lacks, each once, in the manifest's order:
    /// what a leader must send.
    pub fn missing(&self, manifest: &Manifest) -> Vec<ChunkId> {
        todo!("Task 7: the chunks of {:?} this store lacks", manifest.meta)
    }

    /// Stores a chunk file received from a leader, after verifying it is chunk `id` (damaged:
    /// [`StoreError::ChunkCorrupt`], and nothing stored). Durable on return, and kept by
    /// garbage collection until a manifest lists it or the store reopens.
    pub fn receive_chunk(&self, id: &ChunkId, file: &[u8]) -> Result<(), StoreError> {
        todo!("Task 7: receive chunk {id} ({} bytes)", file.len())
    }

    /// Removes the chunk files that the newest manifest does not list (and no stream pinned).
    /// Returns how many. Runs after every save; callable on its own.
    pub fn gc(&self) -> Result<usize, StoreError> {
        todo!("Task 5: collect garbage")
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        todo!("Task 3: the directory")
    }
}

impl SnapshotStorage for ChunkStore {
    type Error = StoreError;

    /// Saves a snapshot whose data is a [`crate::Image`] (lab 4's `take_snapshot` and
    /// `install_snapshot` call this): inline chunks the store lacks are written, references
    /// must name stored chunks ([`StoreError::MissingChunk`] otherwise), then the same switch
    /// and collection as [`ChunkStore::save_frozen`].
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        todo!("Task 3: save the image of {:?}", snapshot.meta)
    }

    /// The newest snapshot as a full image (every chunk read and verified).
    fn latest(&self) -> Result<Option<Snapshot>, StoreError> {
        todo!("Task 4: the newest snapshot")
    }

    /// What the newest durable manifest covers, from memory, without reading a chunk: lab 4's
    /// `compact_to` asks this in the writer's bounded switch (Task 6). (The trait's default
    /// reads the whole snapshot through `latest`.)
    fn latest_meta(&self) -> Result<Option<SnapshotMeta>, StoreError> {
        todo!("Task 6: the newest durable manifest's metadata, from memory")
    }
}
