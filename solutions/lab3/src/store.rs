//! The store: a directory of snapshot files, the protocol that replaces the newest one
//! atomically, retention, and falling back past damage.

use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use distributed::storage::{Snapshot, SnapshotMeta, SnapshotStorage};
use distributed::vfs::{FsRef, OpenMode, VfsFile};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SnapshotError;
use crate::format::{self, BROKEN_SUFFIX, FOOTER_LEN, HEADER_LEN, SnapshotHeader, TEMP_SUFFIX};

/// The name under which retention keeps the file of the snapshot it retires, for the next save
/// to write over (see `remove_beyond_keep`). It ends in `.snap.tmp`, so it is never read as a
/// snapshot and `open` removes it like any interrupted save's temporary file.
const SPARE_FILE: &str = "spare.snap.tmp";

/// How much of the temporary file the verify step reads back at a time: small enough to stay
/// in the CPU's cache while it is compared, large enough that system calls do not count.
const VERIFY_CHUNK: usize = 256 << 10;

/// How much of a snapshot's data `latest` reads at a time, for the same reason.
const READ_CHUNK: usize = 256 << 10;

/// Settings for [`SnapshotStore::open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// How many snapshots to keep, newest first (at least 1). Older ones are removed after
    /// each successful save. Keeping two means a damaged newest snapshot still has a fallback.
    pub keep: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { keep: 2 }
    }
}

/// Snapshots in a directory of the kit's filesystem, saved atomically.
///
/// Every method takes `&self` (one mutex guards the list of snapshots held), so a store can
/// be shared between threads; the kit's [`SnapshotStorage`] trait is implemented on top.
#[derive(Debug)]
pub struct SnapshotStore {
    fs: FsRef,
    dir: PathBuf,
    options: StoreOptions,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The snapshots held, by file name, newest first. Only the newest is known to be intact;
    /// the others are verified when a fallback reaches them.
    held: Vec<SnapshotMeta>,
    /// Names of the files set aside as damaged, found on open or set aside since.
    set_aside: Vec<String>,
    /// Whether [`SPARE_FILE`] holds a retired snapshot's file, synced out of the namespace of
    /// snapshots, for the next save to reuse.
    spare: bool,
    poisoned: bool,
}

/// Why a snapshot file could not be used.
enum ReadError {
    /// Its bytes are not a valid snapshot file for its name: set it aside.
    Damaged(String),
    /// The filesystem failed: report it, touch nothing.
    Io(io::Error),
}

impl SnapshotStore {
    /// Opens the store in `dir` (creating the directory if needed): removes the temporary
    /// files of interrupted saves, then verifies the newest snapshot, setting aside damaged
    /// ones until an intact one is found (see [`SnapshotStore::latest`]). A store whose
    /// snapshots are all damaged opens; its `latest` is the error.
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: StoreOptions) -> Result<SnapshotStore, SnapshotError> {
        if options.keep == 0 {
            return Err(SnapshotError::InvalidOptions("keep must be at least 1"));
        }
        let dir = dir.into();
        fs.create_dir_all(&dir)?;
        let mut held = Vec::new();
        let mut set_aside = Vec::new();
        let mut removed = false;
        for name in fs.read_dir(&dir)? {
            if name.ends_with(TEMP_SUFFIX) {
                // A save that never reached its rename: never acknowledged, never a snapshot.
                fs.remove_file(&dir.join(&name))?;
                removed = true;
            } else if name.ends_with(BROKEN_SUFFIX) {
                set_aside.push(name);
            } else if let Some(meta) = format::parse_snapshot_file_name(&name) {
                held.push(meta);
            }
        }
        if removed {
            fs.sync_dir(&dir)?;
        }
        held.sort_by_key(|meta| std::cmp::Reverse(order_key(*meta)));
        let store = SnapshotStore {
            fs,
            dir,
            options,
            state: Mutex::new(State { held, set_aside, spare: false, poisoned: false }),
        };
        {
            let mut state = store.lock();
            match store.newest_valid(&mut state) {
                // A store whose every snapshot is damaged still opens: `latest` reports it,
                // and a save (say, a snapshot installed from the leader) can start afresh.
                Ok(_) | Err(SnapshotError::NoValidSnapshot { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(store)
    }

    /// Stores `snapshot` atomically and durably: when this returns `Ok`, a power cut at any
    /// later moment leaves it readable; a power cut during the call leaves either it or the
    /// snapshots held before, complete. Then removes the snapshots beyond the newest `keep`.
    ///
    /// A snapshot that is not newer than the newest held is refused with
    /// [`SnapshotError::OutOfDate`]. A failed sync or rename poisons the store
    /// ([`SnapshotError::Poisoned`]); a failed write (a full disk) does not, because nothing
    /// of the old snapshots was touched and the temporary file is removed.
    pub fn save(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        let mut state = self.lock();
        if state.poisoned {
            return Err(SnapshotError::Poisoned);
        }
        let meta = snapshot.meta;
        if let Some(&latest) = state.held.first()
            && (meta.last_index <= latest.last_index || meta.last_term < latest.last_term)
        {
            return Err(SnapshotError::OutOfDate { latest, got: meta });
        }
        self.write_durably(&mut state, snapshot)?;
        state.held.insert(0, meta);
        self.remove_beyond_keep(&mut state)
    }

    /// The newest intact snapshot, or `None` if none was ever stored.
    ///
    /// The file is read and verified on every call: its header and file CRCs, its length, and
    /// that its header names the same (term, index) as its file name. A damaged newest
    /// snapshot is set aside (renamed `.snap.broken`, kept for an operator) and the next older
    /// one is tried. If snapshots were stored but all are damaged, the answer is
    /// [`SnapshotError::NoValidSnapshot`], not `None`.
    pub fn latest(&self) -> Result<Option<Snapshot>, SnapshotError> {
        let mut state = self.lock();
        if state.poisoned {
            return Err(SnapshotError::Poisoned);
        }
        self.newest_valid(&mut state)
    }

    /// The snapshots held, newest first, by their file names.
    pub fn list(&self) -> Vec<SnapshotMeta> {
        self.lock().held.clone()
    }

    /// Saves `state`, encoded with postcard (the encoding `InMemorySnapshot<T>` uses), as the
    /// snapshot covering `meta`.
    pub fn save_state<T: Serialize>(&self, meta: SnapshotMeta, state: &T) -> Result<(), SnapshotError> {
        let data = postcard::to_stdvec(state)?;
        self.save(&Snapshot { meta, data })
    }

    /// The newest snapshot's metadata and state, decoded with postcard.
    pub fn load_state<T: DeserializeOwned>(&self) -> Result<Option<(SnapshotMeta, T)>, SnapshotError> {
        match self.latest()? {
            None => Ok(None),
            Some(snapshot) => Ok(Some((snapshot.meta, postcard::from_bytes(&snapshot.data)?))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The save protocol, each step there for a crash it survives:
    ///
    /// 1. write the whole file under a temporary name: a crash leaves a `.snap.tmp` that open
    ///    removes, and the old snapshots untouched;
    /// 2. sync it: the bytes are durable *before* any name points at them, so the rename
    ///    below can never expose a torn file;
    /// 3. read it back and verify it: what the disk holds is what we meant to store;
    /// 4. rename it to its final name: one atomic namespace change;
    /// 5. sync the directory: the name is durable, and only now is the save acknowledged.
    ///
    /// Step 1 writes over the spare file that retention left (a retired snapshot's file), if
    /// there is one, instead of a new file: renamed to the temporary name, cut or extended to
    /// the new length, then overwritten. Overwriting blocks the file already has spares the
    /// filesystem an allocation now and, at retention, a deallocation (with a discard on a
    /// disk mounted with `discard`); the old bytes cannot leak into the snapshot, because the
    /// verify step compares the whole file, and its length, with what was meant.
    ///
    /// A failure after step 1 began poisons the store: the directory's durable state is then
    /// unknown, and only a reopen reads what is really there.
    fn write_durably(&self, state: &mut State, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        let name = format::snapshot_file_name(snapshot.meta);
        let tmp = self.path(&format!("{name}.tmp"));
        let (header, footer) = format::frame(snapshot);
        let parts: [&[u8]; 3] = [&header, &snapshot.data, &footer];
        let len = HEADER_LEN + snapshot.data.len() as u64 + FOOTER_LEN;

        if state.spare {
            state.spare = false;
            self.fs.rename(&self.path(SPARE_FILE), &tmp).map_err(|e| poison(state, e))?;
        }
        let file = self.fs.open(&tmp, OpenMode::Create)?;
        if let Err(e) = write_parts(file.as_ref(), len, &parts) {
            // Nothing durable was touched: drop the temporary file and stay usable.
            drop(file);
            let _ = self.fs.remove_file(&tmp);
            return Err(e.into());
        }
        let synced = file.sync_data();
        if let Err(e) = synced {
            return Err(poison(state, e));
        }
        let verified = read_back_matches(file.as_ref(), len, &parts).map_err(|e| poison(state, e))?;
        if !verified {
            let reason = match file.read_all().map(|back| format::decode_snapshot(&back)) {
                Ok(Err(e)) => e.to_string(),
                Ok(Ok(_)) => "the bytes differ".to_string(),
                Err(e) => format!("reading it back failed: {e}"),
            };
            state.poisoned = true;
            return Err(SnapshotError::VerifyFailed { file: format!("{name}.tmp"), reason });
        }
        drop(file);
        self.fs.rename(&tmp, &self.path(&name)).map_err(|e| poison(state, e))?;
        self.fs.sync_dir(&self.dir).map_err(|e| poison(state, e))?;
        Ok(())
    }

    /// Removes the snapshots beyond the newest `keep`, oldest first, then syncs the
    /// directory. Called only once the newest is durable, so no crash can leave fewer intact
    /// snapshots than were acknowledged: removing first would open a window with none.
    ///
    /// The first file retired is not deleted but renamed to [`SPARE_FILE`], for the next save
    /// to write over: its name leaves the snapshots exactly as a removal would, and the
    /// directory sync makes that durable all the same. The price is one snapshot's worth of
    /// disk space held between saves.
    fn remove_beyond_keep(&self, state: &mut State) -> Result<(), SnapshotError> {
        if state.held.len() <= self.options.keep {
            return Ok(());
        }
        let doomed = state.held.split_off(self.options.keep);
        for meta in doomed.iter().rev() {
            let path = self.path(&format::snapshot_file_name(*meta));
            if state.spare {
                self.fs.remove_file(&path).map_err(|e| poison(state, e))?;
            } else {
                self.fs.rename(&path, &self.path(SPARE_FILE)).map_err(|e| poison(state, e))?;
                state.spare = true;
            }
        }
        self.fs.sync_dir(&self.dir).map_err(|e| poison(state, e))?;
        Ok(())
    }

    /// The newest snapshot that reads back intact, setting aside damaged ones on the way.
    fn newest_valid(&self, state: &mut State) -> Result<Option<Snapshot>, SnapshotError> {
        while let Some(&meta) = state.held.first() {
            match self.read_verified(meta) {
                Ok(snapshot) => return Ok(Some(snapshot)),
                Err(ReadError::Io(e)) => return Err(e.into()),
                Err(ReadError::Damaged(_reason)) => {
                    let name = format::snapshot_file_name(meta);
                    let broken = format!("{name}.broken");
                    // Renamed, never removed: the bytes may be all that is left of the
                    // state, and an operator (or lab 2's tools) may still save part of it.
                    self.fs.rename(&self.path(&name), &self.path(&broken))?;
                    self.fs.sync_dir(&self.dir)?;
                    state.held.remove(0);
                    state.set_aside.push(broken);
                }
            }
        }
        if state.set_aside.is_empty() {
            Ok(None)
        } else {
            Err(SnapshotError::NoValidSnapshot { set_aside: state.set_aside.clone() })
        }
    }

    /// Reads and verifies the snapshot file for `meta`: the header first, so that its CRC
    /// vouches for the length before anything is allocated; then the data, a chunk at a time
    /// into one small buffer, each chunk checksummed while it is in the CPU's cache and
    /// appended to the snapshot's own buffer; then the footer.
    ///
    /// Why not the whole file into one buffer: a buffer that `read_at` may fill must be
    /// initialised first (zeroed: a pass over every byte that `std::fs::read`, which reads
    /// into memory it has not initialised, does not pay), the checksum would then read the
    /// data back from main memory, and dropping the header would move the data once more.
    fn read_verified(&self, meta: SnapshotMeta) -> Result<Snapshot, ReadError> {
        let damaged = |e: format::FormatError| ReadError::Damaged(e.to_string());
        let name = format::snapshot_file_name(meta);
        let file = self.fs.open(&self.path(&name), OpenMode::Read).map_err(ReadError::Io)?;
        let len = file.len().map_err(ReadError::Io)?;
        let mut head = [0u8; HEADER_LEN as usize];
        let head = &mut head[..len.min(HEADER_LEN) as usize];
        file.read_exact_at(0, head).map_err(ReadError::Io)?;
        let header = SnapshotHeader::decode(head).map_err(damaged)?;
        format::check_length(&header, len).map_err(damaged)?;
        // The file's length is the header's, so this allocates what the disk holds, never
        // what a damaged length field asks for.
        let data_len = usize::try_from(header.data_len)
            .map_err(|_| ReadError::Io(io::Error::new(io::ErrorKind::OutOfMemory, "snapshot too large to read")))?;
        let mut data = Vec::with_capacity(data_len);
        let mut chunk = vec![0u8; READ_CHUNK.min(data_len)];
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(head);
        while data.len() < data_len {
            let piece = &mut chunk[..READ_CHUNK.min(data_len - data.len())];
            file.read_exact_at(HEADER_LEN + data.len() as u64, piece).map_err(ReadError::Io)?;
            hasher.update(piece);
            data.extend_from_slice(piece);
        }
        let mut footer = [0u8; FOOTER_LEN as usize];
        file.read_exact_at(HEADER_LEN + data_len as u64, &mut footer).map_err(ReadError::Io)?;
        format::check_footer(hasher.finalize(), &footer).map_err(damaged)?;
        if header.meta != meta {
            return Err(ReadError::Damaged(format!("its header says {:?}, its name {meta:?}", header.meta)));
        }
        Ok(Snapshot { meta, data })
    }
}

/// Step 1 of the save: gives the temporary file exactly `len` bytes (a new file is empty; a
/// reused one may be longer or shorter) and writes the pieces of the snapshot file in order.
fn write_parts(file: &dyn VfsFile, len: u64, parts: &[&[u8]]) -> io::Result<()> {
    let current = file.len()?;
    if current != 0 && current != len {
        file.set_len(len)?;
    }
    let mut offset = 0;
    for part in parts {
        file.write_all_at(offset, part)?;
        offset += part.len() as u64;
    }
    Ok(())
}

/// Step 3 of the save: whether the file, read back through the same handle, is exactly the
/// pieces written, in length and in every byte. It reads a chunk at a time into one small
/// buffer, rather than the whole file into a new one.
fn read_back_matches(file: &dyn VfsFile, len: u64, parts: &[&[u8]]) -> io::Result<bool> {
    if file.len()? != len {
        return Ok(false);
    }
    let mut buf = vec![0u8; VERIFY_CHUNK.min(len as usize)];
    let mut offset = 0;
    for part in parts {
        for want in part.chunks(VERIFY_CHUNK) {
            let back = &mut buf[..want.len()];
            file.read_exact_at(offset, back)?;
            if back != want {
                return Ok(false);
            }
            offset += want.len() as u64;
        }
    }
    Ok(true)
}

/// Names sort as (term, index); so does the store.
fn order_key(meta: SnapshotMeta) -> (u64, u64) {
    (meta.last_term, meta.last_index)
}

fn poison(state: &mut State, e: io::Error) -> SnapshotError {
    state.poisoned = true;
    SnapshotError::Io(e)
}

impl SnapshotStorage for SnapshotStore {
    type Error = SnapshotError;

    fn save(&mut self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        SnapshotStore::save(self, snapshot)
    }

    fn latest(&self) -> Result<Option<Snapshot>, SnapshotError> {
        SnapshotStore::latest(self)
    }
}
