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
//! A snapshot is saved in this order, and each step depends on the one before being durable:
//!
//! 1. every chunk the store lacks: written to `<id>.tmp`, synced, renamed to `<id>`. A chunk
//!    file is never written under a name that exists: the name *is* the content;
//! 2. the chunk directory synced, once, so every new name is durable;
//! 3. the manifest: `MANIFEST.tmp` written, synced, read back and compared, renamed over
//!    `MANIFEST`, the directory synced. Until that last sync, a crash keeps the old manifest,
//!    whose chunks are all still there: nothing has been removed yet;
//! 4. garbage collection: chunk files the new (now durable) manifest does not list are
//!    removed, and the chunk directory synced.
//!
//! Every method takes `&self` (one mutex inside), and the store is a cheap `Clone` of a shared
//! handle: the replica owns one as its snapshot store, and a snapshot thread uses another.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use distributed::storage::{Snapshot, SnapshotMeta, SnapshotStorage};
use distributed::vfs::{FsRef, OpenMode};

use crate::StoreError;
use crate::format::{
    ChunkId, Codec, Compressor, Manifest, decode_chunk, decode_manifest, encode_chunk_with, encode_manifest,
};
use crate::state::{ChunkImage, ChunkedKv, Frozen, Image, decode_chunk_content};

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
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    fs: FsRef,
    dir: PathBuf,
    options: StoreOptions,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The newest durable manifest.
    manifest: Option<Manifest>,
    /// Chunk files whose content and name are durable.
    present: BTreeSet<ChunkId>,
    /// Chunks received for a streamed snapshot that is not installed yet: kept by GC.
    pinned: BTreeSet<ChunkId>,
    poisoned: bool,
}

impl ChunkStore {
    /// Opens (or creates) the store in `dir`. Reads the manifest (damaged:
    /// [`StoreError::ManifestCorrupt`]), makes the name it was read under durable, then removes
    /// what a crash may have left: temporary files, and chunk files the manifest does not list.
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: StoreOptions) -> Result<ChunkStore, StoreError> {
        let dir = dir.into();
        let chunk_dir = dir.join(CHUNK_DIR);
        fs.create_dir_all(&chunk_dir)?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest = if fs.exists(&manifest_path)? {
            let bytes = fs.open(&manifest_path, OpenMode::Read)?.read_all()?;
            Some(decode_manifest(&bytes).map_err(StoreError::ManifestCorrupt)?)
        } else {
            None
        };
        // The manifest just read may be a rename the previous run made but never synced: make
        // it durable before anything is collected on its strength.
        fs.sync_dir(&dir)?;
        let mut inner = Inner { manifest, ..Inner::default() };
        let mut removed = false;
        for name in fs.read_dir(&chunk_dir)? {
            if let Some(id) = ChunkId::from_hex(&name) {
                inner.present.insert(id);
            } else if name.ends_with(".tmp") {
                fs.remove_file(&chunk_dir.join(&name))?;
                removed = true;
            }
        }
        if fs.exists(&dir.join(MANIFEST_TMP))? {
            fs.remove_file(&dir.join(MANIFEST_TMP))?;
            fs.sync_dir(&dir)?;
        }
        if removed {
            fs.sync_dir(&chunk_dir)?;
        }
        let store = ChunkStore { shared: Arc::new(Shared { fs, dir, options, inner: Mutex::new(inner) }) };
        {
            let mut inner = store.lock();
            store.collect(&mut inner)?;
        }
        Ok(store)
    }

    /// The store's options.
    pub fn options(&self) -> StoreOptions {
        self.shared.options
    }

    /// The newest durable manifest, if any.
    pub fn manifest(&self) -> Option<Manifest> {
        self.lock().manifest.clone()
    }

    /// What the newest snapshot covers (`(0, 0)` if there is none).
    pub fn meta(&self) -> SnapshotMeta {
        self.lock().manifest.as_ref().map_or_else(SnapshotMeta::default, |m| m.meta)
    }

    /// The chunks stored (durably), in id order.
    pub fn chunk_ids(&self) -> Vec<ChunkId> {
        self.lock().present.iter().copied().collect()
    }

    /// Saves the frozen state as the snapshot covering `meta`, writing only its dirty chunks,
    /// then marks them clean (in the live state that still shares them). Safe to call on
    /// another thread while the live state takes writes.
    ///
    /// A snapshot older than the newest is [`StoreError::OutOfDate`]; the newest one again
    /// does nothing. The caller keeps `frozen`, and with it every chunk, until it drops it;
    /// [`crate::PendingSnapshot::write`] gives its view up, and the save releases each chunk
    /// as soon as it is written.
    pub fn save_frozen(&self, frozen: &Frozen, meta: SnapshotMeta) -> Result<SaveReport, StoreError> {
        self.save_owned(frozen.clone(), meta)
    }

    /// [`ChunkStore::save_frozen`], consuming the view ([`crate::PendingSnapshot::write`]): each chunk is let go once it is encoded
    /// (a clean one at once), so while a save runs it holds only the chunks it has not reached
    /// yet; the memory a save adds to the live state's is those of them that writers have
    /// copied since the freeze. Chunk files are written as they are encoded, with one
    /// compressor for the whole save.
    pub(crate) fn save_owned(&self, frozen: Frozen, meta: SnapshotMeta) -> Result<SaveReport, StoreError> {
        let mut inner = self.lock_usable()?;
        self.check_newer(&inner, meta)?;
        let mut compressor = Compressor::new(self.shared.options.codec).map_err(StoreError::Codec)?;
        let mut report = SaveReport { meta, ..SaveReport::default() };
        let (log_time, frozen_chunks) = frozen.into_chunks();
        let mut chunks = Vec::with_capacity(frozen_chunks.len());
        let mut written = BTreeSet::new();
        let mut to_seal = Vec::new();
        for chunk in frozen_chunks {
            if let Some(id) = chunk.seal_of() {
                chunks.push(id);
                continue;
            }
            let content = chunk.encode();
            let id = ChunkId::of(&content);
            let handle = chunk.release();
            self.write_fresh(&mut inner, &id, &content, &mut compressor, &mut written, &mut report)?;
            chunks.push(id);
            to_seal.push((handle, id));
        }
        let report = self.switch(&mut inner, Manifest { meta, log_time, chunks }, written, report)?;
        for (handle, id) in to_seal {
            handle.seal(id);
        }
        Ok(report)
    }

    /// Marks clean every chunk of `frozen` whose content is the one the newest manifest lists
    /// for it (after a restore from this store, say, where every chunk starts dirty).
    pub fn seal_clean(&self, frozen: &Frozen) {
        let inner = self.lock();
        let Some(manifest) = &inner.manifest else { return };
        if manifest.chunks.len() != frozen.chunk_count() {
            return;
        }
        for (k, id) in manifest.chunks.iter().enumerate() {
            if frozen.seal_of(k).is_none() && ChunkId::of(&frozen.encode_chunk(k)) == *id {
                frozen.seal(k, *id);
            }
        }
    }

    /// The newest snapshot's state, with every chunk clean.
    pub fn load_state(&self) -> Result<Option<(SnapshotMeta, ChunkedKv)>, StoreError> {
        let Some(snapshot) = self.latest()? else { return Ok(None) };
        let mut state = ChunkedKv::new();
        distributed::storage::StateMachineStorage::restore(&mut state, &snapshot.data)
            .map_err(|e| StoreError::BadImage(format!("{e:?}")))?;
        self.seal_clean(&state.freeze());
        Ok(Some((snapshot.meta, state)))
    }

    /// The full snapshot `manifest` describes, read from this store's chunk files, each
    /// verified.
    pub fn assemble(&self, manifest: &Manifest) -> Result<Snapshot, StoreError> {
        let chunks = manifest
            .chunks
            .iter()
            .map(|id| self.read_chunk(id).map(ChunkImage::Inline))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Snapshot { meta: manifest.meta, data: Image { log_time: manifest.log_time, chunks }.encode() })
    }

    /// The content of chunk `id`, verified.
    pub fn read_chunk(&self, id: &ChunkId) -> Result<Vec<u8>, StoreError> {
        let file = self.chunk_file(id)?;
        decode_chunk(id, &file).map_err(|reason| StoreError::ChunkCorrupt { id: *id, reason })
    }

    /// The bytes of chunk `id`'s file as stored (compressed), verified, as a leader streams
    /// them to a follower.
    pub fn chunk_file(&self, id: &ChunkId) -> Result<Vec<u8>, StoreError> {
        let path = self.chunk_path(id);
        let fs = &self.shared.fs;
        if !fs.exists(&path)? {
            return Err(StoreError::MissingChunk { id: *id });
        }
        let file = fs.open(&path, OpenMode::Read)?.read_all()?;
        decode_chunk(id, &file).map_err(|reason| StoreError::ChunkCorrupt { id: *id, reason })?;
        Ok(file)
    }

    /// The chunks `manifest` lists that this store lacks, each once, in the manifest's order:
    /// what a leader must send.
    pub fn missing(&self, manifest: &Manifest) -> Vec<ChunkId> {
        let inner = self.lock();
        let mut seen = BTreeSet::new();
        manifest.chunks.iter().filter(|id| !inner.present.contains(id) && seen.insert(**id)).copied().collect()
    }

    /// Stores a chunk file received from a leader, after verifying it is chunk `id`. Durable on
    /// return, and kept by garbage collection until a manifest lists it or the store reopens.
    pub fn receive_chunk(&self, id: &ChunkId, file: &[u8]) -> Result<(), StoreError> {
        decode_chunk(id, file).map_err(|reason| StoreError::ChunkCorrupt { id: *id, reason })?;
        let mut inner = self.lock_usable()?;
        if inner.present.contains(id) {
            return Ok(());
        }
        self.write_chunk_file(&mut inner, id, file)?;
        self.sync_chunk_dir(&mut inner)?;
        inner.present.insert(*id);
        inner.pinned.insert(*id);
        Ok(())
    }

    /// Removes the chunk files that the newest manifest does not list (and no stream pinned).
    /// Returns how many. Runs after every save; callable on its own.
    pub fn gc(&self) -> Result<usize, StoreError> {
        let mut inner = self.lock_usable()?;
        self.collect(&mut inner)
    }

    /// Saves an image as the snapshot covering `meta`: inline chunks the store lacks are
    /// written, references must name stored chunks.
    fn save_image(&self, meta: SnapshotMeta, image: &Image) -> Result<SaveReport, StoreError> {
        let mut inner = self.lock_usable()?;
        let count = image.chunks.len();
        if count == 0 {
            return Err(StoreError::BadImage("an image has at least one chunk".into()));
        }
        let mut chunks = Vec::with_capacity(count);
        let mut fresh = Vec::new();
        for (k, chunk) in image.chunks.iter().enumerate() {
            match chunk {
                ChunkImage::Stored(id) => chunks.push(*id),
                ChunkImage::Inline(content) => {
                    decode_chunk_content(content, k, count).map_err(|e| StoreError::BadImage(format!("{e:?}")))?;
                    let id = ChunkId::of(content);
                    chunks.push(id);
                    fresh.push((id, content.clone()));
                }
            }
        }
        self.commit(&mut inner, Manifest { meta, log_time: image.log_time, chunks }, &fresh)
    }

    /// The save protocol of the module docs, steps 1 to 4, for chunks already encoded.
    fn commit(
        &self,
        inner: &mut Inner,
        manifest: Manifest,
        fresh: &[(ChunkId, Vec<u8>)],
    ) -> Result<SaveReport, StoreError> {
        self.check_newer(inner, manifest.meta)?;
        let mut report = SaveReport { meta: manifest.meta, ..SaveReport::default() };
        let mut compressor = Compressor::new(self.shared.options.codec).map_err(StoreError::Codec)?;
        let mut written = BTreeSet::new();
        for (id, content) in fresh {
            self.write_fresh(inner, id, content, &mut compressor, &mut written, &mut report)?;
        }
        self.switch(inner, manifest, written, report)
    }

    /// A save of `meta` must not go back past the newest manifest.
    fn check_newer(&self, inner: &Inner, meta: SnapshotMeta) -> Result<(), StoreError> {
        match &inner.manifest {
            Some(current) if meta.last_index < current.meta.last_index => {
                Err(StoreError::OutOfDate { latest: current.meta, got: meta })
            }
            _ => Ok(()),
        }
    }

    /// Step 1 for one chunk: written under its own name if the store lacks it, never over an
    /// existing file (a file a durable manifest lists is never opened for writing again).
    fn write_fresh(
        &self,
        inner: &mut Inner,
        id: &ChunkId,
        content: &[u8],
        compressor: &mut Compressor,
        written: &mut BTreeSet<ChunkId>,
        report: &mut SaveReport,
    ) -> Result<(), StoreError> {
        if inner.present.contains(id) || written.contains(id) {
            return Ok(());
        }
        let file = encode_chunk_with(content, compressor).map_err(StoreError::Codec)?;
        self.write_chunk_file(inner, id, &file)?;
        report.chunks_written += 1;
        report.chunk_bytes += file.len() as u64;
        written.insert(*id);
        Ok(())
    }

    /// Steps 2 to 4, once every chunk `manifest` lists that the store lacked is `written`.
    fn switch(
        &self,
        inner: &mut Inner,
        manifest: Manifest,
        written: BTreeSet<ChunkId>,
        mut report: SaveReport,
    ) -> Result<SaveReport, StoreError> {
        if inner.manifest.as_ref() == Some(&manifest) {
            report.chunks_reused = manifest.chunks.len();
            return Ok(report);
        }
        // 2. Their names durable before any manifest names them.
        if !written.is_empty() {
            self.sync_chunk_dir(inner)?;
        }
        inner.present.extend(written);
        if let Some(id) = manifest.chunks.iter().find(|id| !inner.present.contains(id)) {
            return Err(StoreError::MissingChunk { id: *id });
        }
        report.chunks_reused = manifest.chunks.len() - report.chunks_written;
        // 3. The switch.
        report.manifest_bytes = self.write_manifest(inner, &manifest)?;
        for id in &manifest.chunks {
            inner.pinned.remove(id);
        }
        inner.manifest = Some(manifest);
        // 4. Garbage, now that the new manifest is durable.
        report.removed = self.collect(inner)?;
        Ok(report)
    }

    /// Writes a chunk file under a temporary name, syncs it, and renames it to its id.
    fn write_chunk_file(&self, inner: &mut Inner, id: &ChunkId, file: &[u8]) -> Result<(), StoreError> {
        let fs = &self.shared.fs;
        let path = self.chunk_path(id);
        let tmp = path.with_file_name(format!("{}.tmp", id.to_hex()));
        let outcome = (|| {
            let handle = fs.open(&tmp, OpenMode::Create)?;
            handle.set_len(0)?;
            handle.write_all_at(0, file)?;
            handle.sync_data()?;
            drop(handle);
            fs.rename(&tmp, &path)
        })();
        outcome.map_err(|e| poison(inner, e))
    }

    fn sync_chunk_dir(&self, inner: &mut Inner) -> Result<(), StoreError> {
        self.shared.fs.sync_dir(&self.shared.dir.join(CHUNK_DIR)).map_err(|e| poison(inner, e))
    }

    /// Replaces the manifest atomically: temporary file, sync, read back and compare, rename,
    /// directory sync. Returns the manifest's length.
    fn write_manifest(&self, inner: &mut Inner, manifest: &Manifest) -> Result<u64, StoreError> {
        let fs = &self.shared.fs;
        let bytes = encode_manifest(manifest);
        let tmp = self.shared.dir.join(MANIFEST_TMP);
        let written = (|| {
            let handle = fs.open(&tmp, OpenMode::Create)?;
            handle.set_len(0)?;
            handle.write_all_at(0, &bytes)?;
            handle.sync_data()?;
            handle.read_all()
        })();
        let read_back = written.map_err(|e| poison(inner, e))?;
        if decode_manifest(&read_back).as_ref() != Ok(manifest) {
            inner.poisoned = true;
            return Err(StoreError::VerifyFailed);
        }
        fs.rename(&tmp, &self.shared.dir.join(MANIFEST_FILE)).map_err(|e| poison(inner, e))?;
        fs.sync_dir(&self.shared.dir).map_err(|e| poison(inner, e))?;
        Ok(bytes.len() as u64)
    }

    /// Removes stored chunks that neither the durable manifest nor a stream in progress needs.
    fn collect(&self, inner: &mut Inner) -> Result<usize, StoreError> {
        let listed: BTreeSet<ChunkId> = inner.manifest.iter().flat_map(|m| m.chunks.iter().copied()).collect();
        let doomed: Vec<ChunkId> =
            inner.present.iter().filter(|id| !listed.contains(id) && !inner.pinned.contains(id)).copied().collect();
        for id in &doomed {
            self.shared.fs.remove_file(&self.chunk_path(id)).map_err(|e| poison(inner, e))?;
            inner.present.remove(id);
        }
        if !doomed.is_empty() {
            self.sync_chunk_dir(inner)?;
        }
        Ok(doomed.len())
    }

    fn chunk_path(&self, id: &ChunkId) -> PathBuf {
        self.shared.dir.join(CHUNK_DIR).join(id.to_hex())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_usable(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        let inner = self.lock();
        if inner.poisoned { Err(StoreError::Poisoned) } else { Ok(inner) }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

fn poison(inner: &mut Inner, error: std::io::Error) -> StoreError {
    inner.poisoned = true;
    StoreError::Io(error)
}

impl SnapshotStorage for ChunkStore {
    type Error = StoreError;

    /// Saves a snapshot whose data is a [`ChunkedKv`] image (lab 4's `take_snapshot` and
    /// `install_snapshot` call this): only chunks the store lacks are written.
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let image = Image::decode(&snapshot.data).map_err(|e| StoreError::BadImage(format!("{e:?}")))?;
        self.save_image(snapshot.meta, &image).map(|_| ())
    }

    /// The newest snapshot as a full image (every chunk read and verified).
    fn latest(&self) -> Result<Option<Snapshot>, StoreError> {
        match self.manifest() {
            None => Ok(None),
            Some(manifest) => self.assemble(&manifest).map(Some),
        }
    }

    /// What the newest durable manifest covers, from memory: no chunk is read. (The manifest
    /// in memory is replaced only once the new one is durable.)
    fn latest_meta(&self) -> Result<Option<SnapshotMeta>, StoreError> {
        Ok(self.lock().manifest.as_ref().map(|m| m.meta))
    }
}
