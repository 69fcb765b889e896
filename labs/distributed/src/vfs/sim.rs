//! `SimFs`: an in-memory disk that can lose power after any operation.
//!
//! # The model
//!
//! The disk keeps two views of everything:
//!
//! - a **volatile** view, what reads see: every name created, renamed or removed, and every
//!   byte written, synced or not;
//! - a **durable** view, what survives a power loss: the names made durable by
//!   [`Vfs::sync_dir`] and, for each file, the bytes made durable by a file sync.
//!
//! Each file remembers the writes since its last sync, in order; each directory remembers its
//! creates, renames and removes since its last sync, in order. A crash ([`SimFs::crash`])
//! builds a new disk from the durable view, and in its torn variants also from an ordered
//! prefix of what was pending: some directory operations, some writes in full, one write cut
//! at a sector boundary, and possibly a file length that grew while its bytes did not (the
//! gap reads as zeros or garbage). A file that no durable name reaches is gone.
//!
//! Every mutating operation (create, write, set_len, sync, rename, remove) is one numbered
//! step. [`SimFs::crash_after`] cuts the power after step *k*: that step happens, and every
//! later call fails, so a workload stops where a real machine would.
//!
//! Other faults are armed by calls: [`SimFs::fail_next_syncs`] (fsync returns EIO and the
//! pending writes are dropped, as Linux did before fsyncgate), [`SimFs::set_capacity`] (disk
//! full, with a short write at the limit), [`SimFs::short_next_writes`], and
//! [`SimFs::flip_bit`] / [`SimFs::overwrite`] for media corruption of synced data.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{OpenMode, Vfs, VfsFile};
use crate::rng::TestRng;

/// The unit a torn write is cut at: a prefix of whole sectors of a write may survive.
pub const SECTOR_SIZE: u64 = 512;

/// What a crash keeps of the state that was not yet durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Nothing pending survives: only synced bytes under synced names.
    Strict,
    /// An ordered prefix of each directory's pending operations and of each file's pending
    /// writes survives, the last write possibly cut at a sector boundary; a file's length may
    /// have grown past its surviving bytes, the gap holding zeros or garbage. The seed picks
    /// one such outcome.
    Torn {
        /// Chooses the outcome; the same seed gives the same disk.
        seed: u64,
    },
    /// Everything written survives, as when only the process dies and the kernel's page cache
    /// reaches the disk later. Tests that kill processes see only this, which is why a missing
    /// fsync goes unnoticed without a simulated disk.
    ProcessExit,
}

impl fmt::Display for CrashMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrashMode::Strict => write!(f, "strict"),
            CrashMode::Torn { seed } => write!(f, "torn(seed={seed:#x})"),
            CrashMode::ProcessExit => write!(f, "process-exit"),
        }
    }
}

/// Settings for a new [`SimFs`].
#[derive(Clone, Copy, Debug)]
pub struct SimFsConfig {
    /// Mixed into every torn outcome's seed, so two disks with different seeds tear
    /// differently.
    pub seed: u64,
    /// Total bytes the disk holds, across all files; `None` for no limit.
    pub capacity: Option<u64>,
}

impl Default for SimFsConfig {
    fn default() -> Self {
        SimFsConfig { seed: 0x5EED, capacity: None }
    }
}

/// The kind of a mutating operation, as counted by the crash explorer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// A file was created.
    Create,
    /// Bytes were written.
    Write,
    /// A file's length was set.
    SetLen,
    /// A file's bytes were synced (`sync_data` or `sync_all`).
    SyncFile,
    /// A directory's entries were synced.
    SyncDir,
    /// A file was renamed.
    Rename,
    /// A file was removed.
    Remove,
    /// A directory was created.
    CreateDir,
}

/// One step of a workload's I/O, as recorded by [`SimFs::ops`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// 1-based step number: a crash "after step k" keeps steps `1..=k`.
    pub step: u64,
    /// What kind of operation it was.
    pub kind: OpKind,
    /// The file or directory it touched.
    pub path: PathBuf,
    /// Offsets, lengths, targets: enough to recognise the step in a failure message.
    pub detail: String,
    /// Whether it failed (an injected EIO, a full disk).
    pub failed: bool,
}

impl fmt::Display for OpRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            OpKind::Create => "create",
            OpKind::Write => "write",
            OpKind::SetLen => "set_len",
            OpKind::SyncFile => "sync",
            OpKind::SyncDir => "sync_dir",
            OpKind::Rename => "rename",
            OpKind::Remove => "remove",
            OpKind::CreateDir => "create_dir",
        };
        write!(f, "#{} {kind} {}", self.step, self.path.display())?;
        if !self.detail.is_empty() {
            write!(f, " {}", self.detail)?;
        }
        if self.failed {
            write!(f, " (failed)")?;
        }
        Ok(())
    }
}

type InodeId = u64;

#[derive(Clone, Debug)]
enum PendingWrite {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Clone, Debug, Default)]
struct Inode {
    durable: Vec<u8>,
    data: Vec<u8>,
    pending: Vec<PendingWrite>,
}

#[derive(Clone, Debug)]
enum DirOp {
    Link { name: PathBuf, inode: InodeId },
    Rename { from: PathBuf, to: PathBuf, inode: InodeId },
    Unlink { name: PathBuf },
}

impl DirOp {
    fn apply(&self, names: &mut BTreeMap<PathBuf, InodeId>) {
        match self {
            DirOp::Link { name, inode } => {
                names.insert(name.clone(), *inode);
            }
            DirOp::Rename { from, to, inode } => {
                names.remove(from);
                names.insert(to.clone(), *inode);
            }
            DirOp::Unlink { name } => {
                names.remove(name);
            }
        }
    }
}

#[derive(Debug)]
struct Disk {
    config: SimFsConfig,
    inodes: HashMap<InodeId, Inode>,
    next_inode: InodeId,
    names: BTreeMap<PathBuf, InodeId>,
    durable_names: BTreeMap<PathBuf, InodeId>,
    dirs: BTreeSet<PathBuf>,
    pending_dir_ops: BTreeMap<PathBuf, Vec<DirOp>>,
    ops: Vec<OpRecord>,
    crash_after: Option<u64>,
    powered_off: bool,
    failing_syncs: u32,
    short_writes: u32,
}

fn power_lost() -> io::Error {
    io::Error::other("simulated power loss: the machine is off (crash point reached)")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{}: no such file or directory", path.display()))
}

fn normalize(path: &Path) -> io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: SimFs paths may not contain `..`", path.display()),
                ));
            }
        }
    }
    Ok(out)
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

impl Disk {
    fn new(config: SimFsConfig) -> Self {
        let mut dirs = BTreeSet::new();
        dirs.insert(PathBuf::new());
        Disk {
            config,
            inodes: HashMap::new(),
            next_inode: 1,
            names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            dirs,
            pending_dir_ops: BTreeMap::new(),
            ops: Vec::new(),
            crash_after: None,
            powered_off: false,
            failing_syncs: 0,
            short_writes: 0,
        }
    }

    fn check_power(&self) -> io::Result<()> {
        if self.powered_off { Err(power_lost()) } else { Ok(()) }
    }

    /// Records a completed mutating step and cuts the power if it was the last one allowed.
    fn record(&mut self, kind: OpKind, path: &Path, detail: String, failed: bool) {
        let step = self.ops.len() as u64 + 1;
        self.ops.push(OpRecord { step, kind, path: path.to_path_buf(), detail, failed });
        if self.crash_after == Some(step) {
            self.powered_off = true;
        }
    }

    fn used_bytes(&self) -> u64 {
        self.inodes.values().map(|inode| inode.data.len() as u64).sum()
    }

    fn name_of(&self, inode: InodeId) -> PathBuf {
        self.names
            .iter()
            .find(|(_, id)| **id == inode)
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| PathBuf::from("<removed>"))
    }

    fn require_dir(&self, dir: &Path) -> io::Result<()> {
        if self.dirs.contains(dir) { Ok(()) } else { Err(not_found(dir)) }
    }

    fn inode(&mut self, id: InodeId) -> &mut Inode {
        self.inodes.get_mut(&id).expect("an open handle keeps its inode")
    }

    /// The disk a crash leaves behind.
    fn crash_image(&self, mode: CrashMode) -> Disk {
        let mut rng = match mode {
            CrashMode::Torn { seed } => TestRng::new(seed ^ self.config.seed),
            _ => TestRng::new(0),
        };
        let names = match mode {
            CrashMode::Strict => self.durable_names.clone(),
            CrashMode::ProcessExit => self.names.clone(),
            CrashMode::Torn { .. } => {
                let mut names = self.durable_names.clone();
                for ops in self.pending_dir_ops.values() {
                    let keep = rng.below(ops.len() as u64 + 1) as usize;
                    for op in &ops[..keep] {
                        op.apply(&mut names);
                    }
                }
                names
            }
        };
        let mut image =
            Disk::new(SimFsConfig { seed: self.config.seed.wrapping_add(1), capacity: self.config.capacity });
        image.dirs = self.dirs.clone();
        // Inodes are visited in id order so the image depends only on the seed.
        let mut reachable: Vec<InodeId> = names.values().copied().collect();
        reachable.sort_unstable();
        reachable.dedup();
        for id in reachable {
            let inode = &self.inodes[&id];
            let bytes = match mode {
                CrashMode::Strict => inode.durable.clone(),
                CrashMode::ProcessExit => inode.data.clone(),
                CrashMode::Torn { .. } => torn_bytes(inode, &mut rng),
            };
            image.inodes.insert(id, Inode { durable: bytes.clone(), data: bytes, pending: Vec::new() });
        }
        image.next_inode = self.next_inode;
        image.durable_names = names.clone();
        image.names = names;
        image
    }
}

/// One torn outcome for a file: durable bytes, then an ordered prefix of its pending writes,
/// the first one not kept in full cut at a sector boundary, and maybe a length that grew
/// without its bytes.
fn torn_bytes(inode: &Inode, rng: &mut TestRng) -> Vec<u8> {
    let mut bytes = inode.durable.clone();
    let pending = &inode.pending;
    let keep = rng.below(pending.len() as u64 + 1) as usize;
    for write in &pending[..keep] {
        apply_write(&mut bytes, write);
    }
    if let Some(torn) = pending.get(keep) {
        match torn {
            PendingWrite::Write { offset, data } => {
                // Cut points are the sector boundaries strictly inside the write, and its start.
                let end = offset + data.len() as u64;
                let first_boundary = (offset / SECTOR_SIZE + 1) * SECTOR_SIZE;
                let boundaries: Vec<u64> =
                    std::iter::once(*offset).chain((first_boundary..end).step_by(SECTOR_SIZE as usize)).collect();
                let cut = boundaries[rng.below(boundaries.len() as u64) as usize];
                let kept = (cut - offset) as usize;
                if kept > 0 {
                    apply_write(&mut bytes, &PendingWrite::Write { offset: *offset, data: data[..kept].to_vec() });
                }
            }
            PendingWrite::SetLen(_) => {
                if rng.coin() {
                    apply_write(&mut bytes, torn);
                }
            }
        }
        // The file's size may have reached the disk before its data did.
        if rng.coin() && inode.data.len() > bytes.len() {
            let start = bytes.len();
            bytes.resize(inode.data.len(), 0);
            if rng.coin() {
                rng.fill(&mut bytes[start..]);
            }
        }
    }
    bytes
}

fn apply_write(bytes: &mut Vec<u8>, write: &PendingWrite) {
    match write {
        PendingWrite::Write { offset, data } => {
            let start = *offset as usize;
            let end = start + data.len();
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[start..end].copy_from_slice(data);
        }
        PendingWrite::SetLen(len) => bytes.resize(*len as usize, 0),
    }
}

/// The simulated disk. Cheap to clone: clones share one disk.
///
/// ```
/// use std::path::Path;
/// use distributed::vfs::{CrashMode, OpenMode, SimFs, Vfs, VfsFile};
///
/// let fs = SimFs::new(1);
/// let file = fs.open(Path::new("data"), OpenMode::Create)?;
/// file.write_all_at(0, b"hello")?;
/// file.sync_data()?;
/// // The bytes are durable, but the name was never synced into the directory:
/// let after = fs.crash(CrashMode::Strict);
/// assert!(!after.exists(Path::new("data"))?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct SimFs {
    disk: Arc<Mutex<Disk>>,
}

impl fmt::Debug for SimFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let disk = self.lock();
        f.debug_struct("SimFs")
            .field("files", &disk.names.keys().collect::<Vec<_>>())
            .field("steps", &disk.ops.len())
            .field("powered_off", &disk.powered_off)
            .finish()
    }
}

impl SimFs {
    /// An empty disk whose invented bytes (garbage in torn tails) come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_config(SimFsConfig { seed, ..SimFsConfig::default() })
    }

    /// An empty disk with the given settings.
    pub fn with_config(config: SimFsConfig) -> Self {
        SimFs { disk: Arc::new(Mutex::new(Disk::new(config))) }
    }

    fn lock(&self) -> MutexGuard<'_, Disk> {
        // SimFs never panics while holding the lock, but a test thread may: keep going.
        self.disk.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Cuts the power right after mutating step `step` (1-based): that step happens, every
    /// later call fails. `0` cuts it now.
    pub fn crash_after(&self, step: u64) {
        let mut disk = self.lock();
        disk.crash_after = Some(step);
        if disk.ops.len() as u64 >= step {
            disk.powered_off = true;
        }
    }

    /// Whether the power is off (a crash point was reached, or [`SimFs::crash`] was called).
    pub fn is_powered_off(&self) -> bool {
        self.lock().powered_off
    }

    /// How many mutating steps have run.
    pub fn op_count(&self) -> u64 {
        self.lock().ops.len() as u64
    }

    /// Every mutating step so far, in order.
    pub fn ops(&self) -> Vec<OpRecord> {
        self.lock().ops.clone()
    }

    /// The power fails: returns the disk as the next boot finds it, built as `mode` says. This
    /// disk is powered off for good (its handles fail); calling `crash` again gives other images
    /// of the same moment, so one crash point can be checked under several outcomes.
    pub fn crash(&self, mode: CrashMode) -> SimFs {
        let mut disk = self.lock();
        disk.powered_off = true;
        SimFs { disk: Arc::new(Mutex::new(disk.crash_image(mode))) }
    }

    /// The next `count` file syncs fail with EIO, and each drops the file's pending writes
    /// without making them durable, while reads still show them: what Linux did to
    /// PostgreSQL in 2018 ("fsyncgate"). A retried sync then succeeds with nothing to do.
    pub fn fail_next_syncs(&self, count: u32) {
        self.lock().failing_syncs = count;
    }

    /// Limits the disk to `capacity` bytes across all files (`None`: no limit). A write that
    /// does not fit writes what fits (a short write); one where nothing fits fails with
    /// `StorageFull`.
    pub fn set_capacity(&self, capacity: Option<u64>) {
        self.lock().config.capacity = capacity;
    }

    /// The next `count` writes write only the first half of their bytes (at least one).
    pub fn short_next_writes(&self, count: u32) {
        self.lock().short_writes = count;
    }

    /// Flips bit `bit` (0 is the lowest bit of byte 0) of the file at `path`, in its durable
    /// and its visible bytes: media corruption, which a sync cannot undo.
    pub fn flip_bit(&self, path: impl AsRef<Path>, bit: u64) -> io::Result<()> {
        let byte = bit / 8;
        let mask = 1u8 << (bit % 8);
        self.damage(path.as_ref(), |bytes| match bytes.get_mut(byte as usize) {
            Some(b) => {
                *b ^= mask;
                Ok(())
            }
            None => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bit {bit} is past the end"))),
        })
    }

    /// Overwrites bytes of the file at `path` at `offset`, in its durable and visible bytes,
    /// extending it if needed: for tests that hand-craft damage (stale records, zeroed
    /// sectors).
    pub fn overwrite(&self, path: impl AsRef<Path>, offset: u64, data: &[u8]) -> io::Result<()> {
        self.damage(path.as_ref(), |bytes| {
            apply_write(bytes, &PendingWrite::Write { offset, data: data.to_vec() });
            Ok(())
        })
    }

    /// Cuts the file at `path` to `len` bytes, durably: for tests that truncate a log at every
    /// offset.
    pub fn truncate_durable(&self, path: impl AsRef<Path>, len: u64) -> io::Result<()> {
        self.damage(path.as_ref(), |bytes| {
            bytes.truncate(len as usize);
            Ok(())
        })
    }

    fn damage(&self, path: &Path, mut change: impl FnMut(&mut Vec<u8>) -> io::Result<()>) -> io::Result<()> {
        let path = normalize(path)?;
        let mut disk = self.lock();
        let id = *disk.names.get(&path).ok_or_else(|| not_found(&path))?;
        let inode = disk.inode(id);
        change(&mut inode.durable)?;
        change(&mut inode.data)
    }

    /// The bytes of `path` that would survive a strict crash now (`None` if the file would
    /// not survive at all, because no durable name reaches it).
    pub fn durable_contents(&self, path: impl AsRef<Path>) -> io::Result<Option<Vec<u8>>> {
        let path = normalize(path.as_ref())?;
        let disk = self.lock();
        Ok(disk.durable_names.get(&path).map(|id| disk.inodes[id].durable.clone()))
    }

    /// The bytes a read of `path` sees now.
    pub fn contents(&self, path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        let path = normalize(path.as_ref())?;
        let disk = self.lock();
        let id = disk.names.get(&path).ok_or_else(|| not_found(&path))?;
        Ok(disk.inodes[id].data.clone())
    }

    /// Every file's path and visible bytes, sorted by path: two disks with equal listings are
    /// indistinguishable to a lab.
    pub fn listing(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let disk = self.lock();
        disk.names.iter().map(|(name, id)| (name.clone(), disk.inodes[id].data.clone())).collect()
    }
}

impl Vfs for SimFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        let path = normalize(path)?;
        let mut disk = self.lock();
        disk.check_power()?;
        let existing = disk.names.get(&path).copied();
        let inode = match (existing, mode) {
            (Some(_), OpenMode::CreateNew) => {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{}: file exists", path.display())));
            }
            (Some(id), _) => id,
            (None, OpenMode::Read | OpenMode::ReadWrite) => {
                if disk.dirs.contains(&path) {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        format!("{}: is a directory", path.display()),
                    ));
                }
                return Err(not_found(&path));
            }
            (None, OpenMode::Create | OpenMode::CreateNew) => {
                let dir = parent_of(&path);
                disk.require_dir(&dir)?;
                if path.as_os_str().is_empty() || disk.dirs.contains(&path) {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        format!("{}: is a directory", path.display()),
                    ));
                }
                let id = disk.next_inode;
                disk.next_inode += 1;
                disk.inodes.insert(id, Inode::default());
                disk.names.insert(path.clone(), id);
                disk.pending_dir_ops.entry(dir).or_default().push(DirOp::Link { name: path.clone(), inode: id });
                disk.record(OpKind::Create, &path, String::new(), false);
                id
            }
        };
        Ok(Box::new(SimFile { fs: self.clone(), inode, writable: mode != OpenMode::Read }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let path = normalize(path)?;
        let mut disk = self.lock();
        disk.check_power()?;
        if disk.names.contains_key(&path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: a file has that name", path.display()),
            ));
        }
        let mut created = false;
        let mut dir = PathBuf::new();
        for part in path.components() {
            dir.push(part);
            if disk.names.contains_key(&dir) {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{}: not a directory", dir.display()),
                ));
            }
            created |= disk.dirs.insert(dir.clone());
        }
        if created {
            disk.record(OpKind::CreateDir, &path, String::new(), false);
        }
        Ok(())
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let dir = normalize(dir)?;
        let disk = self.lock();
        disk.check_power()?;
        disk.require_dir(&dir)?;
        let files = disk.names.keys().filter(|name| parent_of(name) == dir);
        let subdirs = disk.dirs.iter().filter(|d| !d.as_os_str().is_empty() && parent_of(d) == dir);
        let mut names: Vec<String> = files
            .chain(subdirs)
            .map(|p| p.file_name().expect("normalized names end in a file name").to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let path = normalize(path)?;
        let disk = self.lock();
        disk.check_power()?;
        Ok(disk.names.contains_key(&path) || disk.dirs.contains(&path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (normalize(from)?, normalize(to)?);
        let mut disk = self.lock();
        disk.check_power()?;
        let inode = *disk.names.get(&from).ok_or_else(|| not_found(&from))?;
        let dir = parent_of(&from);
        if parent_of(&to) != dir {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{} -> {}: SimFs renames only within one directory", from.display(), to.display()),
            ));
        }
        if disk.dirs.contains(&to) {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, format!("{}: is a directory", to.display())));
        }
        disk.names.remove(&from);
        disk.names.insert(to.clone(), inode);
        disk.pending_dir_ops.entry(dir).or_default().push(DirOp::Rename { from: from.clone(), to: to.clone(), inode });
        disk.record(OpKind::Rename, &from, format!("-> {}", to.display()), false);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let path = normalize(path)?;
        let mut disk = self.lock();
        disk.check_power()?;
        if disk.names.remove(&path).is_none() {
            return Err(not_found(&path));
        }
        disk.pending_dir_ops.entry(parent_of(&path)).or_default().push(DirOp::Unlink { name: path.clone() });
        disk.record(OpKind::Remove, &path, String::new(), false);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = normalize(dir)?;
        let mut disk = self.lock();
        disk.check_power()?;
        disk.require_dir(&dir)?;
        let ops = disk.pending_dir_ops.remove(&dir).unwrap_or_default();
        for op in &ops {
            op.apply(&mut disk.durable_names);
        }
        disk.record(OpKind::SyncDir, &dir, format!("({} pending)", ops.len()), false);
        Ok(())
    }
}

/// A handle on a [`SimFs`] file. It follows the file through renames, and outlives a remove
/// (the bytes stay readable through it, but no name reaches them after a crash).
#[derive(Debug)]
struct SimFile {
    fs: SimFs,
    inode: InodeId,
    writable: bool,
}

impl SimFile {
    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::PermissionDenied, "file was opened read-only"))
        }
    }

    fn sync(&self) -> io::Result<()> {
        let mut disk = self.fs.lock();
        disk.check_power()?;
        let name = disk.name_of(self.inode);
        let fail = disk.failing_syncs > 0;
        if fail {
            disk.failing_syncs -= 1;
        }
        let inode = disk.inode(self.inode);
        let pending = std::mem::take(&mut inode.pending);
        if !fail {
            // Only what is pending becomes durable: bytes dropped by an earlier failed sync
            // stay visible to reads but never reach the disk.
            for write in &pending {
                apply_write(&mut inode.durable, write);
            }
        }
        let pending = pending.len();
        disk.record(OpKind::SyncFile, &name, format!("({pending} pending)"), fail);
        if fail { Err(io::Error::other("simulated EIO from fsync: the pending writes were dropped")) } else { Ok(()) }
    }
}

impl VfsFile for SimFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut disk = self.fs.lock();
        disk.check_power()?;
        let data = &disk.inode(self.inode).data;
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<usize> {
        self.check_writable()?;
        let mut disk = self.fs.lock();
        disk.check_power()?;
        if data.is_empty() {
            return Ok(0);
        }
        let name = disk.name_of(self.inode);
        let mut len = data.len();
        if disk.short_writes > 0 {
            disk.short_writes -= 1;
            len = (len / 2).max(1);
        }
        if let Some(capacity) = disk.config.capacity {
            let current = disk.inode(self.inode).data.len() as u64;
            let growth = (offset + len as u64).saturating_sub(current);
            let free = capacity.saturating_sub(disk.used_bytes());
            if growth > free {
                let fits = (len as u64 - (growth - free)) as usize;
                if fits == 0 {
                    disk.record(OpKind::Write, &name, format!("@{offset} +{} bytes", data.len()), true);
                    return Err(io::Error::new(io::ErrorKind::StorageFull, "simulated disk full"));
                }
                len = fits;
            }
        }
        let write = PendingWrite::Write { offset, data: data[..len].to_vec() };
        let inode = disk.inode(self.inode);
        apply_write(&mut inode.data, &write);
        inode.pending.push(write);
        disk.record(OpKind::Write, &name, format!("@{offset} +{len} bytes"), false);
        Ok(len)
    }

    fn len(&self) -> io::Result<u64> {
        let mut disk = self.fs.lock();
        disk.check_power()?;
        Ok(disk.inode(self.inode).data.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        let mut disk = self.fs.lock();
        disk.check_power()?;
        let name = disk.name_of(self.inode);
        let inode = disk.inode(self.inode);
        let write = PendingWrite::SetLen(len);
        apply_write(&mut inode.data, &write);
        inode.pending.push(write);
        disk.record(OpKind::SetLen, &name, format!("= {len}"), false);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync()
    }
}
