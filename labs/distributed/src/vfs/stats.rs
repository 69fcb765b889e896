//! `StatsFs`: counts the I/O a lab does, over any filesystem.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::layer::{Call, Layer, Layered};
use super::{FsRef, OpenMode, Vfs};

/// Counters for one file (or, in [`IoStats::total`], for all of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Calls to `read_at`.
    pub reads: u64,
    /// Bytes those calls returned.
    pub bytes_read: u64,
    /// Calls to `write_at`.
    pub writes: u64,
    /// Bytes those calls wrote.
    pub bytes_written: u64,
    /// Calls to `sync_data` or `sync_all`.
    pub syncs: u64,
    /// Calls to `set_len`.
    pub set_lens: u64,
}

impl FileStats {
    fn add(&mut self, other: &FileStats) {
        self.reads += other.reads;
        self.bytes_read += other.bytes_read;
        self.writes += other.writes;
        self.bytes_written += other.bytes_written;
        self.syncs += other.syncs;
        self.set_lens += other.set_lens;
    }
}

/// What a [`StatsFs`] has counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Per file, by the path it was opened under.
    pub files: BTreeMap<PathBuf, FileStats>,
    /// Files opened (including created).
    pub opens: u64,
    /// Files created by `open`.
    pub creates: u64,
    /// Renames.
    pub renames: u64,
    /// Removes.
    pub removes: u64,
    /// Directory syncs.
    pub dir_syncs: u64,
}

impl IoStats {
    /// The counters summed over every file.
    pub fn total(&self) -> FileStats {
        let mut total = FileStats::default();
        for stats in self.files.values() {
            total.add(stats);
        }
        total
    }

    /// File syncs plus directory syncs: what a durable write costs.
    pub fn all_syncs(&self) -> u64 {
        self.total().syncs + self.dir_syncs
    }
}

impl fmt::Display for IoStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.total();
        writeln!(
            f,
            "{} writes ({} B), {} reads ({} B), {} file syncs, {} dir syncs, {} creates, {} renames, {} removes",
            t.writes,
            t.bytes_written,
            t.reads,
            t.bytes_read,
            t.syncs,
            self.dir_syncs,
            self.creates,
            self.renames,
            self.removes
        )?;
        for (path, s) in &self.files {
            writeln!(
                f,
                "  {}: {} writes ({} B), {} reads ({} B), {} syncs",
                path.display(),
                s.writes,
                s.bytes_written,
                s.reads,
                s.bytes_read,
                s.syncs
            )?;
        }
        Ok(())
    }
}

/// Wraps a filesystem and counts every operation that goes through it: the kit's
/// [`Layered`] forwarding with the [`IoCounter`] layer.
///
/// ```
/// use std::path::Path;
/// use std::sync::Arc;
/// use distributed::vfs::{OpenMode, SimFs, StatsFs, Vfs, VfsFile};
///
/// let fs = StatsFs::new(Arc::new(SimFs::new(1)));
/// let file = fs.open(Path::new("log"), OpenMode::Create)?;
/// file.write_all_at(0, b"abc")?;
/// file.sync_data()?;
/// assert_eq!(fs.stats().total().syncs, 1);
/// assert_eq!(fs.stats().total().bytes_written, 3);
/// # Ok::<(), std::io::Error>(())
/// ```
pub type StatsFs = Layered<IoCounter>;

impl Layered<IoCounter> {
    /// Counts the I/O done through the returned filesystem, which passes every call to `inner`.
    pub fn new(inner: FsRef) -> Self {
        Layered::over(inner, Arc::default())
    }

    /// A copy of the counters so far.
    pub fn stats(&self) -> IoStats {
        self.layer().lock().clone()
    }

    /// Sets every counter back to zero (for example, after a workload's set-up).
    pub fn reset(&self) {
        *self.layer().lock() = IoStats::default();
    }
}

/// The layer of [`StatsFs`]: counts each call that succeeded.
#[derive(Debug, Default)]
pub struct IoCounter {
    stats: Mutex<IoStats>,
}

impl IoCounter {
    fn lock(&self) -> MutexGuard<'_, IoStats> {
        self.stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn file(&self, path: &Path, update: impl FnOnce(&mut FileStats)) {
        update(self.lock().files.entry(path.to_path_buf()).or_default());
    }
}

impl Layer for IoCounter {
    fn around(&self, inner: &dyn Vfs, call: Call<'_>, run: &mut dyn FnMut() -> io::Result<u64>) -> io::Result<u64> {
        let created = match call {
            Call::Open { mode: OpenMode::CreateNew, .. } => true,
            Call::Open { path, mode: OpenMode::Create } => !inner.exists(path)?,
            _ => false,
        };
        let moved = run()?;
        match call {
            Call::Open { path, .. } => {
                let mut stats = self.lock();
                stats.opens += 1;
                if created {
                    stats.creates += 1;
                }
                stats.files.entry(path.to_path_buf()).or_default();
            }
            Call::Rename { .. } => self.lock().renames += 1,
            Call::RemoveFile { .. } => self.lock().removes += 1,
            Call::SyncDir { .. } => self.lock().dir_syncs += 1,
            Call::ReadAt { path, .. } => self.file(path, |s| {
                s.reads += 1;
                s.bytes_read += moved;
            }),
            Call::WriteAt { path, .. } => self.file(path, |s| {
                s.writes += 1;
                s.bytes_written += moved;
            }),
            Call::SetLen { path, .. } => self.file(path, |s| s.set_lens += 1),
            Call::SyncData { path } | Call::SyncAll { path } => self.file(path, |s| s.syncs += 1),
            Call::CreateDirAll { .. } | Call::ReadDir { .. } | Call::Exists { .. } | Call::Len { .. } => {}
        }
        Ok(moved)
    }
}
