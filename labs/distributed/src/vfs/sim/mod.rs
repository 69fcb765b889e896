//! `SimFs`: an in-memory disk that can lose power after any operation.
//!
//! # The model
//!
//! The disk keeps two views of everything:
//!
//! - a **visible** view, what reads see: every name created, renamed or removed, and every
//!   byte written, synced or not;
//! - a **durable** view, what survives a power loss: the names made durable by
//!   [`Vfs::sync_dir`] and, for each file, the bytes made durable by a file sync.
//!
//! Each file remembers the writes since its last sync, in order; each directory remembers its
//! creates, renames and removes since its last sync, in order. A crash ([`SimFs::crash`])
//! builds a new disk from the durable view and, as its [`CrashMode`] says, some of what was
//! pending: nothing (strict), an ordered prefix cut at a sector boundary (torn), or any
//! subset that respects dependencies (reordered). A file that no name of the new disk
//! reaches is gone.
//!
//! Every mutating operation (create, write, set_len, sync, rename, remove) is one numbered
//! step. [`SimFs::crash_after`] cuts the power after step *k*: that step happens, and every
//! later call fails, so a workload stops where a real machine would.
//!
//! Other faults are armed by calls: [`SimFs::fail_next_syncs`] (fsync returns EIO and the
//! pending writes are dropped, as ext4, XFS and btrfs do: they mark the pages clean after a
//! failed fsync), [`SimFs::set_capacity`] (disk full, with a short write at the limit),
//! [`SimFs::short_next_writes`], [`SimFs::store_wrong_bytes`] (writes store other bytes than
//! they were given), and [`SimFs::flip_bit`] / [`SimFs::overwrite`] for media corruption of
//! synced data.
//!
//! # The parts
//!
//! - `namespace`: names in the visible and durable views, and the pending directory
//!   operations between them;
//! - `inodes`: each file's visible and durable contents, its pending writes, and what a torn
//!   or reordered crash keeps of them;
//! - `faults`: the switches that make the next syncs and writes fail or lie;
//! - `trace`: the numbered steps and the power switch.
//!
//! This file joins them into the [`Vfs`] a lab sees.

mod faults;
mod inodes;
mod namespace;
// The crash record the explorer's trace shows: only the explorer (feature `testing`) reads it.
#[cfg(feature = "testing")]
mod record;
mod trace;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{OpenMode, Vfs, VfsFile};
use crate::rng::TestRng;
use faults::Faults;
use inodes::{Contents, Fates, Inode, InodeId, Inodes, PendingWrite};
use namespace::{KeepOps, Namespace, parent_of};
#[cfg(feature = "testing")]
pub(crate) use record::CrashRecord;
use trace::{HEAD_BYTES, StepArgs, Trace};
pub use trace::{OpKind, OpRecord};

/// The unit a torn write is cut at: a prefix of whole sectors of a write may survive.
pub const SECTOR_SIZE: u64 = 512;

/// The unit a reordering crash keeps or loses independently: a page of the page cache, as
/// the kernel writes it back.
pub const PAGE_SIZE: u64 = 4096;

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
    /// Any subset of each file's pending writes, split into [`PAGE_SIZE`] pages, survives, and
    /// any subset of each directory's pending operations that respects their dependencies (an
    /// operation on a name never survives without the pending one that created the name); a
    /// file's length may have grown past its surviving bytes. This is page-cache writeback,
    /// which writes dirty pages back in any order, and filesystems that do not keep directory
    /// operations in order (btrfs in the ALICE study). A lost page before a kept one reads
    /// as zeros: a hole in the middle of the file. The seed picks one such outcome.
    Reordered {
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
            CrashMode::Reordered { seed } => write!(f, "reordered(seed={seed:#x})"),
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
    /// Total bytes the files may hold together; `None` for no limit. Only written bytes of
    /// files that still have a name or an open handle count (see [`SimFs::used_bytes`]).
    pub capacity: Option<u64>,
}

impl Default for SimFsConfig {
    fn default() -> Self {
        SimFsConfig { seed: 0x5EED, capacity: None }
    }
}

#[derive(Debug)]
struct Disk {
    seed: u64,
    namespace: Namespace,
    inodes: Inodes,
    faults: Faults,
    trace: Trace,
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

impl Disk {
    fn new(config: SimFsConfig) -> Self {
        Disk {
            seed: config.seed,
            namespace: Namespace::default(),
            inodes: Inodes::default(),
            faults: Faults { capacity: config.capacity, ..Faults::default() },
            trace: Trace::default(),
        }
    }

    /// Written bytes of the files that still have a visible name or an open handle.
    fn used_bytes(&self) -> u64 {
        let named: HashSet<InodeId> = self.namespace.visible.values().copied().collect();
        self.inodes
            .table
            .iter()
            .filter(|(id, inode)| inode.handles > 0 || named.contains(id))
            .map(|(_, inode)| inode.visible.allocated.total())
            .sum()
    }

    fn require_dir(&self, dir: &Path) -> io::Result<()> {
        if self.namespace.dirs.contains(dir) { Ok(()) } else { Err(not_found(dir)) }
    }

    /// Forgets the inodes nothing reaches any more.
    fn collect_garbage(&mut self) {
        let referenced = self.namespace.referenced();
        self.inodes.collect(&referenced);
    }

    /// The disk a crash leaves behind.
    fn crash_image(&self, mode: CrashMode) -> Disk {
        self.crash_image_traced(mode).0
    }

    /// [`Disk::crash_image`], and what the crash kept of each pending operation. The
    /// generator's draws are the same either way, so a seed gives one image.
    fn crash_image_traced(&self, mode: CrashMode) -> (Disk, ImageFates) {
        let mut rng = match mode {
            CrashMode::Torn { seed } | CrashMode::Reordered { seed } => TestRng::new(seed ^ self.seed),
            _ => TestRng::new(0),
        };
        let keep = match mode {
            CrashMode::Strict => KeepOps::None,
            CrashMode::Torn { .. } => KeepOps::Prefix,
            CrashMode::Reordered { .. } => KeepOps::Subset,
            CrashMode::ProcessExit => KeepOps::All,
        };
        let (names, dirs) = self.namespace.after_crash_traced(keep, &mut rng);
        let mut image = Disk::new(SimFsConfig { seed: self.seed.wrapping_add(1), capacity: self.faults.capacity });
        let mut files = BTreeMap::new();
        // Inodes are visited in id order so the image depends only on the seed.
        let mut reachable: Vec<InodeId> = names.values().copied().collect();
        reachable.sort_unstable();
        reachable.dedup();
        for id in reachable {
            let inode = self.inodes.get(id);
            let (contents, fates) = match mode {
                CrashMode::Strict => (inode.durable.clone(), Fates::lost(inode)),
                CrashMode::ProcessExit => (inode.visible.clone(), Fates::kept(inode)),
                CrashMode::Torn { .. } => inode.torn_traced(&mut rng),
                CrashMode::Reordered { .. } => inode.reordered_traced(&mut rng),
            };
            image.inodes.table.insert(id, Inode::settled(contents));
            files.insert(id, fates);
        }
        image.inodes.next_id = self.inodes.next_id;
        image.namespace = Namespace::settled(names, self.namespace.dirs.clone());
        (image, ImageFates { dirs, files })
    }
}

/// What one crash kept: per directory, whether each pending operation survived; per inode the
/// image holds, what survived of each pending write.
#[derive(Debug, Default)]
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
struct ImageFates {
    dirs: BTreeMap<PathBuf, Vec<bool>>,
    files: BTreeMap<InodeId, Fates>,
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
            .field("files", &disk.namespace.visible.keys().collect::<Vec<_>>())
            .field("steps", &disk.trace.steps())
            .field("powered_off", &disk.trace.powered_off)
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
        self.lock().trace.crash_after(step);
    }

    /// Whether the power is off (a crash point was reached, or [`SimFs::crash`] was called).
    pub fn is_powered_off(&self) -> bool {
        self.lock().trace.powered_off
    }

    /// How many mutating steps have run.
    pub fn op_count(&self) -> u64 {
        self.lock().trace.steps()
    }

    /// Every mutating step so far, in order.
    pub fn ops(&self) -> Vec<OpRecord> {
        self.lock().trace.ops.clone()
    }

    /// The power fails: returns the disk as the next boot finds it, built as `mode` says. This
    /// disk is powered off for good (its handles fail); calling `crash` again gives other images
    /// of the same moment, so one crash point can be checked under several outcomes.
    pub fn crash(&self, mode: CrashMode) -> SimFs {
        let mut disk = self.lock();
        disk.trace.powered_off = true;
        SimFs { disk: Arc::new(Mutex::new(disk.crash_image(mode))) }
    }

    /// [`SimFs::crash`], and the record of what the crash kept that the crash trace shows:
    /// every file's durable and pending bytes, every directory's durable and pending names, and
    /// which pending operations the image holds. The same mode gives the same image as `crash`.
    #[cfg(feature = "testing")]
    pub(crate) fn crash_recorded(&self, mode: CrashMode) -> (SimFs, CrashRecord) {
        let mut disk = self.lock();
        disk.trace.powered_off = true;
        let (image, fates) = disk.crash_image_traced(mode);
        let record = record::record(&disk, &fates, &image);
        (SimFs { disk: Arc::new(Mutex::new(image)) }, record)
    }

    /// Every mutating step so far, with the numbers and first bytes the crash trace shows.
    #[cfg(feature = "testing")]
    pub(crate) fn trace_steps(&self) -> Vec<crate::crash_trace::Step> {
        let disk = self.lock();
        disk.trace.ops.iter().zip(&disk.trace.args).map(|(op, args)| record::step(op, args)).collect()
    }

    /// The next `count` file syncs fail with EIO, and each drops the file's pending writes
    /// without making them durable, while reads still show them. This is what ext4, XFS and
    /// btrfs do: after a failed fsync they mark the dirty pages clean (Rebello et al.,
    /// USENIX ATC '20), so a retried fsync has nothing to write and succeeds; PostgreSQL met
    /// it in 2018 ("fsyncgate"), and it is still how Linux behaves. What later reads return
    /// differs by filesystem: ext4 and XFS keep serving the unwritten data from memory, btrfs
    /// the old on-disk content; `SimFs` does what ext4 and XFS do. Here too a retried sync
    /// succeeds with nothing to do.
    pub fn fail_next_syncs(&self, count: u32) {
        self.lock().faults.failing_syncs = count;
    }

    /// Limits the disk to `capacity` bytes across all files (`None`: no limit). A write that
    /// does not fit writes what fits (a short write); one where nothing fits fails with
    /// `StorageFull`. What counts is [`SimFs::used_bytes`].
    pub fn set_capacity(&self, capacity: Option<u64>) {
        self.lock().faults.capacity = capacity;
    }

    /// The bytes the capacity limit counts now: the bytes written (not holes made by growing
    /// a file with `set_len`) of every file that still has a name or an open handle. Removing
    /// or replacing a file frees its bytes once no handle is open on it, whether or not the
    /// directory was synced.
    pub fn used_bytes(&self) -> u64 {
        self.lock().used_bytes()
    }

    /// The next `count` writes write only the first half of their bytes (at least one).
    pub fn short_next_writes(&self, count: u32) {
        self.lock().faults.short_writes = count;
    }

    /// While `on`, every write stores its bytes with one bit flipped and reports success, as
    /// faulty memory or a faulty controller would. Reads see the stored bytes, so reading
    /// back what was written and comparing catches it; nothing else does until a checksum is
    /// checked. (On a real disk a read right after a write is served from the page cache, so
    /// it catches corruption in memory before the write, not a controller's; see the book's
    /// fault-model chapter.) The bit is chosen by the disk's seed and the step number.
    pub fn store_wrong_bytes(&self, on: bool) {
        self.lock().faults.wrong_bytes = on;
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
        let write = PendingWrite::Write { offset, data: data.to_vec() };
        self.damage_contents(path.as_ref(), |contents| {
            contents.apply(&write);
            Ok(())
        })
    }

    /// Cuts the file at `path` to `len` bytes, durably: for tests that truncate a log at every
    /// offset.
    pub fn truncate_durable(&self, path: impl AsRef<Path>, len: u64) -> io::Result<()> {
        self.damage_contents(path.as_ref(), |contents| {
            if (len as usize) < contents.bytes.len() {
                contents.apply(&PendingWrite::SetLen(len));
            }
            Ok(())
        })
    }

    fn damage(&self, path: &Path, mut change: impl FnMut(&mut Vec<u8>) -> io::Result<()>) -> io::Result<()> {
        self.damage_contents(path, |contents| change(&mut contents.bytes))
    }

    fn damage_contents(&self, path: &Path, mut change: impl FnMut(&mut Contents) -> io::Result<()>) -> io::Result<()> {
        let path = normalize(path)?;
        let mut disk = self.lock();
        let id = *disk.namespace.visible.get(&path).ok_or_else(|| not_found(&path))?;
        let inode = disk.inodes.get_mut(id);
        change(&mut inode.durable)?;
        change(&mut inode.visible)
    }

    /// The bytes of `path` that would survive a strict crash now (`None` if the file would
    /// not survive at all, because no durable name reaches it).
    pub fn durable_contents(&self, path: impl AsRef<Path>) -> io::Result<Option<Vec<u8>>> {
        let path = normalize(path.as_ref())?;
        let disk = self.lock();
        Ok(disk.namespace.durable.get(&path).map(|&id| disk.inodes.get(id).durable.bytes.clone()))
    }

    /// The bytes a read of `path` sees now.
    pub fn contents(&self, path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        let path = normalize(path.as_ref())?;
        let disk = self.lock();
        let id = *disk.namespace.visible.get(&path).ok_or_else(|| not_found(&path))?;
        Ok(disk.inodes.get(id).visible.bytes.clone())
    }

    /// Every file's path and visible bytes, sorted by path: two disks with equal listings are
    /// indistinguishable to a lab.
    pub fn listing(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let disk = self.lock();
        disk.namespace
            .visible
            .iter()
            .map(|(name, &id)| (name.clone(), disk.inodes.get(id).visible.bytes.clone()))
            .collect()
    }
}

impl Vfs for SimFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        let path = normalize(path)?;
        let mut disk = self.lock();
        disk.trace.check_power()?;
        let existing = disk.namespace.visible.get(&path).copied();
        let inode = match (existing, mode) {
            (Some(_), OpenMode::CreateNew) => {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{}: file exists", path.display())));
            }
            (Some(id), _) => id,
            (None, OpenMode::Read | OpenMode::ReadWrite) => {
                if disk.namespace.dirs.contains(&path) {
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
                if path.as_os_str().is_empty() || disk.namespace.dirs.contains(&path) {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        format!("{}: is a directory", path.display()),
                    ));
                }
                let id = disk.inodes.allocate();
                disk.namespace.link(&path, id);
                disk.trace.record(OpKind::Create, &path, String::new(), false);
                id
            }
        };
        disk.inodes.get_mut(inode).handles += 1;
        Ok(Box::new(SimFile { fs: self.clone(), inode, writable: mode != OpenMode::Read }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let path = normalize(path)?;
        let mut disk = self.lock();
        disk.trace.check_power()?;
        if disk.namespace.visible.contains_key(&path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: a file has that name", path.display()),
            ));
        }
        let mut created = false;
        let mut dir = PathBuf::new();
        for part in path.components() {
            dir.push(part);
            if disk.namespace.visible.contains_key(&dir) {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{}: not a directory", dir.display()),
                ));
            }
            created |= disk.namespace.dirs.insert(dir.clone());
        }
        if created {
            disk.trace.record(OpKind::CreateDir, &path, String::new(), false);
        }
        Ok(())
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let dir = normalize(dir)?;
        let disk = self.lock();
        disk.trace.check_power()?;
        disk.require_dir(&dir)?;
        let files = disk.namespace.visible.keys().filter(|name| parent_of(name) == dir);
        let subdirs = disk.namespace.dirs.iter().filter(|d| !d.as_os_str().is_empty() && parent_of(d) == dir);
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
        disk.trace.check_power()?;
        Ok(disk.namespace.visible.contains_key(&path) || disk.namespace.dirs.contains(&path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (normalize(from)?, normalize(to)?);
        let mut disk = self.lock();
        disk.trace.check_power()?;
        let inode = *disk.namespace.visible.get(&from).ok_or_else(|| not_found(&from))?;
        if parent_of(&to) != parent_of(&from) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{} -> {}: SimFs renames only within one directory", from.display(), to.display()),
            ));
        }
        if disk.namespace.dirs.contains(&to) {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, format!("{}: is a directory", to.display())));
        }
        disk.namespace.rename(&from, &to, inode);
        let args = StepArgs { to: Some(to.clone()), ..StepArgs::default() };
        disk.trace.record_args(OpKind::Rename, &from, format!("-> {}", to.display()), false, args);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let path = normalize(path)?;
        let mut disk = self.lock();
        disk.trace.check_power()?;
        if !disk.namespace.unlink(&path) {
            return Err(not_found(&path));
        }
        disk.trace.record(OpKind::Remove, &path, String::new(), false);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = normalize(dir)?;
        let mut disk = self.lock();
        disk.trace.check_power()?;
        disk.require_dir(&dir)?;
        let synced = disk.namespace.sync_dir(&dir);
        disk.collect_garbage();
        disk.trace.record(OpKind::SyncDir, &dir, format!("({synced} pending)"), false);
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
        disk.trace.check_power()?;
        let name = disk.namespace.name_of(self.inode);
        let fail = disk.faults.take_failing_sync();
        // Only what is pending becomes durable: bytes dropped by an earlier failed sync stay
        // visible to reads but never reach the disk.
        let pending = disk.inodes.get_mut(self.inode).sync(fail);
        disk.trace.record(OpKind::SyncFile, &name, format!("({pending} pending)"), fail);
        if fail { Err(io::Error::other("simulated EIO from fsync: the pending writes were dropped")) } else { Ok(()) }
    }
}

impl Drop for SimFile {
    /// Closing the last handle of a removed file frees its space.
    fn drop(&mut self) {
        let mut disk = self.fs.lock();
        if let Some(inode) = disk.inodes.table.get_mut(&self.inode) {
            inode.handles = inode.handles.saturating_sub(1);
        }
        disk.collect_garbage();
    }
}

impl VfsFile for SimFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let disk = self.fs.lock();
        disk.trace.check_power()?;
        let data = &disk.inodes.get(self.inode).visible.bytes;
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<usize> {
        self.check_writable()?;
        let mut disk = self.fs.lock();
        disk.trace.check_power()?;
        if data.is_empty() {
            return Ok(0);
        }
        let name = disk.namespace.name_of(self.inode);
        let mut len = disk.faults.shorten(data.len());
        if let Some(capacity) = disk.faults.capacity {
            let free = capacity.saturating_sub(disk.used_bytes());
            let fits =
                disk.inodes.get(self.inode).visible.allocated.prefix_that_fits(offset, len as u64, free) as usize;
            if fits == 0 {
                let args = StepArgs { offset: Some(offset), len: Some(data.len() as u64), ..StepArgs::default() };
                disk.trace.record_args(OpKind::Write, &name, format!("@{offset} +{} bytes", data.len()), true, args);
                return Err(io::Error::new(io::ErrorKind::StorageFull, "simulated disk full"));
            }
            len = fits;
        }
        let step = disk.trace.steps() + 1;
        let stored = disk.faults.stored_bytes(&data[..len], disk.seed ^ step);
        let head = stored[..stored.len().min(HEAD_BYTES)].to_vec();
        disk.inodes.get_mut(self.inode).write(PendingWrite::Write { offset, data: stored }, step);
        let args = StepArgs { offset: Some(offset), len: Some(len as u64), to: None, head };
        disk.trace.record_args(OpKind::Write, &name, format!("@{offset} +{len} bytes"), false, args);
        Ok(len)
    }

    fn len(&self) -> io::Result<u64> {
        let disk = self.fs.lock();
        disk.trace.check_power()?;
        Ok(disk.inodes.get(self.inode).visible.bytes.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        let mut disk = self.fs.lock();
        disk.trace.check_power()?;
        let name = disk.namespace.name_of(self.inode);
        let step = disk.trace.steps() + 1;
        disk.inodes.get_mut(self.inode).write(PendingWrite::SetLen(len), step);
        let args = StepArgs { len: Some(len), ..StepArgs::default() };
        disk.trace.record_args(OpKind::SetLen, &name, format!("= {len}"), false, args);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync()
    }
}
