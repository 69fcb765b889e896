//! `StatsFs`: counts the I/O a lab does, over any filesystem.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{FsRef, OpenMode, Vfs, VfsFile};

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

/// Wraps a filesystem and counts every operation that goes through it.
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
#[derive(Clone, Debug)]
pub struct StatsFs {
    inner: FsRef,
    stats: Arc<Mutex<IoStats>>,
}

impl StatsFs {
    /// Counts the I/O done through the returned filesystem, which passes every call to `inner`.
    pub fn new(inner: FsRef) -> Self {
        StatsFs { inner, stats: Arc::default() }
    }

    /// A copy of the counters so far.
    pub fn stats(&self) -> IoStats {
        self.lock().clone()
    }

    /// Sets every counter back to zero (for example, after a workload's set-up).
    pub fn reset(&self) {
        *self.lock() = IoStats::default();
    }

    fn lock(&self) -> MutexGuard<'_, IoStats> {
        self.stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Vfs for StatsFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        let existed = matches!(mode, OpenMode::Create) && self.inner.exists(path)?;
        let file = self.inner.open(path, mode)?;
        {
            let mut stats = self.lock();
            stats.opens += 1;
            if mode == OpenMode::CreateNew || (mode == OpenMode::Create && !existed) {
                stats.creates += 1;
            }
            stats.files.entry(path.to_path_buf()).or_default();
        }
        Ok(Box::new(StatsFile { inner: file, path: path.to_path_buf(), stats: Arc::clone(&self.stats) }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.read_dir(dir)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)?;
        self.lock().renames += 1;
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)?;
        self.lock().removes += 1;
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)?;
        self.lock().dir_syncs += 1;
        Ok(())
    }
}

#[derive(Debug)]
struct StatsFile {
    inner: Box<dyn VfsFile>,
    path: PathBuf,
    stats: Arc<Mutex<IoStats>>,
}

impl StatsFile {
    fn count(&self, update: impl FnOnce(&mut FileStats)) {
        let mut stats = self.stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        update(stats.files.entry(self.path.clone()).or_default());
    }
}

impl VfsFile for StatsFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        self.count(|s| {
            s.reads += 1;
            s.bytes_read += n as u64;
        });
        Ok(n)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write_at(offset, data)?;
        self.count(|s| {
            s.writes += 1;
            s.bytes_written += n as u64;
        });
        Ok(n)
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)?;
        self.count(|s| s.set_lens += 1);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data()?;
        self.count(|s| s.syncs += 1);
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        self.inner.sync_all()?;
        self.count(|s| s.syncs += 1);
        Ok(())
    }
}
