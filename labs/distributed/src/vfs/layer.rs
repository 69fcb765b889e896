//! One forwarding filesystem for every layer that watches or steers the calls to another.
//!
//! Counting I/O ([`StatsFs`](super::StatsFs)), holding a sync until other threads have
//! written (the testing module's `SyncGate` and `SyncHold`) and recording every call with its
//! latency (the course's monitor) all pass each call on to the filesystem they wrap and do
//! something before or after it. [`Layered`] is that forwarding, written once: a [`Layer`]
//! says only what it adds around a [`Call`], and `Layered` implements [`Vfs`] and
//! [`VfsFile`] with it.
//!
//! ```
//! use std::io;
//! use std::path::Path;
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use distributed::vfs::{Call, Layer, Layered, OpenMode, SimFs, Vfs, VfsFile};
//!
//! /// Counts the bytes written, after each write returns.
//! #[derive(Debug, Default)]
//! struct BytesWritten(AtomicU64);
//!
//! impl Layer for BytesWritten {
//!     fn around(&self, _inner: &dyn Vfs, call: Call<'_>, run: &mut dyn FnMut() -> io::Result<u64>) -> io::Result<u64> {
//!         let moved = run()?;
//!         if let Call::WriteAt { .. } = call {
//!             self.0.fetch_add(moved, Ordering::Relaxed);
//!         }
//!         Ok(moved)
//!     }
//! }
//!
//! let counter = Arc::new(BytesWritten::default());
//! let fs = Layered::over(Arc::new(SimFs::new(1)), Arc::clone(&counter));
//! let file = fs.open(Path::new("f"), OpenMode::Create).unwrap();
//! file.write_all_at(0, b"hello").unwrap();
//! assert_eq!(counter.0.load(Ordering::Relaxed), 5);
//! ```

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::{FsRef, OpenMode, Vfs, VfsFile};

/// A call made through a [`Layered`] filesystem, with its arguments. A file call carries the
/// file's name as it is now: a file opened as `a.tmp` and renamed to `a` through the same
/// `Layered` filesystem is `a` in the calls made after the rename.
#[derive(Clone, Copy, Debug)]
pub enum Call<'a> {
    Open {
        path: &'a Path,
        mode: OpenMode,
    },
    CreateDirAll {
        path: &'a Path,
    },
    ReadDir {
        dir: &'a Path,
    },
    Exists {
        path: &'a Path,
    },
    Rename {
        from: &'a Path,
        to: &'a Path,
    },
    RemoveFile {
        path: &'a Path,
    },
    SyncDir {
        dir: &'a Path,
    },
    /// `len` is the size of the caller's buffer; the bytes read are what `run` returns.
    ReadAt {
        path: &'a Path,
        offset: u64,
        len: usize,
    },
    /// `len` is the size of the caller's data; the bytes written are what `run` returns.
    WriteAt {
        path: &'a Path,
        offset: u64,
        len: usize,
    },
    Len {
        path: &'a Path,
    },
    SetLen {
        path: &'a Path,
        len: u64,
    },
    SyncData {
        path: &'a Path,
    },
    SyncAll {
        path: &'a Path,
    },
}

/// What a layer adds around each call.
pub trait Layer: Send + Sync + fmt::Debug + 'static {
    /// Makes `call` on `inner` by calling `run` (at most once), doing whatever the layer adds
    /// before and after it, and returns what `run` returned: the bytes a read or a write moved,
    /// 0 for every other call. A layer that returns without calling `run` must return an
    /// error: the call did not happen.
    fn around(&self, inner: &dyn Vfs, call: Call<'_>, run: &mut dyn FnMut() -> io::Result<u64>) -> io::Result<u64>;
}

/// The filesystem `inner`, with `layer` around every call made through it and through the
/// files it opens. Cloning it shares the layer.
#[derive(Debug)]
pub struct Layered<L: Layer> {
    inner: FsRef,
    layer: Arc<L>,
    open_files: Arc<OpenFiles>,
}

/// The names of the files open through a [`Layered`] filesystem, so that a rename through it
/// renames them too.
#[derive(Debug, Default)]
struct OpenFiles(Mutex<Vec<Weak<FileName>>>);

/// An open file's current name, shared by the file and the list of open files.
#[derive(Debug)]
struct FileName(Mutex<Arc<Path>>);

impl FileName {
    fn get(&self) -> Arc<Path> {
        Arc::clone(&self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl OpenFiles {
    fn lock(&self) -> MutexGuard<'_, Vec<Weak<FileName>>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn add(&self, path: &Path) -> Arc<FileName> {
        let name = Arc::new(FileName(Mutex::new(Arc::from(path))));
        let mut files = self.lock();
        files.retain(|file| file.strong_count() > 0);
        files.push(Arc::downgrade(&name));
        name
    }

    /// After a rename: the open files named `from` are named `to`.
    fn renamed(&self, from: &Path, to: &Path) {
        let to: Arc<Path> = Arc::from(to);
        self.lock().retain(|file| match file.upgrade() {
            Some(name) => {
                let mut current = name.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if **current == *from {
                    *current = Arc::clone(&to);
                }
                true
            }
            None => false,
        });
    }
}

impl<L: Layer> Clone for Layered<L> {
    fn clone(&self) -> Self {
        Layered {
            inner: Arc::clone(&self.inner),
            layer: Arc::clone(&self.layer),
            open_files: Arc::clone(&self.open_files),
        }
    }
}

impl<L: Layer> Layered<L> {
    /// `inner` with `layer` around its calls.
    pub fn over(inner: FsRef, layer: Arc<L>) -> Self {
        Layered { inner, layer, open_files: Arc::default() }
    }

    /// The layer, shared with every file opened through this filesystem.
    pub fn layer(&self) -> &Arc<L> {
        &self.layer
    }

    /// The filesystem underneath.
    pub fn inner(&self) -> &FsRef {
        &self.inner
    }

    /// Runs `call` through the layer; `make` is the call on the filesystem underneath.
    fn run<T>(&self, call: Call<'_>, make: impl FnOnce(&dyn Vfs) -> io::Result<T>) -> io::Result<T> {
        forward(&*self.layer, &*self.inner, call, make, |_| 0)
    }
}

/// Makes `call` through `layer`: `make` is the call itself, `moved` what it reports to the
/// layer from its result (bytes read or written).
fn forward<L: Layer, T>(
    layer: &L,
    inner: &dyn Vfs,
    call: Call<'_>,
    make: impl FnOnce(&dyn Vfs) -> io::Result<T>,
    moved: impl Fn(&T) -> u64,
) -> io::Result<T> {
    let mut make = Some(make);
    let mut result = None;
    layer.around(inner, call, &mut || {
        let make = make.take().ok_or_else(|| io::Error::other("a layer ran a call twice"))?;
        let value = make(inner)?;
        let count = moved(&value);
        result = Some(value);
        Ok(count)
    })?;
    result.ok_or_else(|| io::Error::other(format!("a layer returned without making the call {call:?}")))
}

impl<L: Layer> Vfs for Layered<L> {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        let file = self.run(Call::Open { path, mode }, |fs| fs.open(path, mode))?;
        Ok(Box::new(LayeredFile {
            file,
            name: self.open_files.add(path),
            inner: Arc::clone(&self.inner),
            layer: Arc::clone(&self.layer),
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.run(Call::CreateDirAll { path }, |fs| fs.create_dir_all(path))
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.run(Call::ReadDir { dir }, |fs| fs.read_dir(dir))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.run(Call::Exists { path }, |fs| fs.exists(path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.run(Call::Rename { from, to }, |fs| fs.rename(from, to))?;
        self.open_files.renamed(from, to);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.run(Call::RemoveFile { path }, |fs| fs.remove_file(path))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.run(Call::SyncDir { dir }, |fs| fs.sync_dir(dir))
    }
}

/// A file opened through a [`Layered`] filesystem.
struct LayeredFile<L: Layer> {
    file: Box<dyn VfsFile>,
    name: Arc<FileName>,
    inner: FsRef,
    layer: Arc<L>,
}

impl<L: Layer> fmt::Debug for LayeredFile<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayeredFile").field("name", &self.name.get()).field("file", &self.file).finish()
    }
}

impl<L: Layer> LayeredFile<L> {
    /// Makes a file call through the layer, with the file's current name.
    fn run<T>(
        &self,
        call: impl FnOnce(&Path) -> Call<'_>,
        make: impl FnOnce() -> io::Result<T>,
        moved: impl Fn(&T) -> u64,
    ) -> io::Result<T> {
        let path = self.name.get();
        forward(&*self.layer, &*self.inner, call(&path), |_| make(), moved)
    }
}

impl<L: Layer> VfsFile for LayeredFile<L> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len();
        self.run(|path| Call::ReadAt { path, offset, len }, || self.file.read_at(offset, buf), |&n| n as u64)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<usize> {
        let len = data.len();
        self.run(|path| Call::WriteAt { path, offset, len }, || self.file.write_at(offset, data), |&n| n as u64)
    }

    fn len(&self) -> io::Result<u64> {
        self.run(|path| Call::Len { path }, || self.file.len(), |_| 0)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.run(|path| Call::SetLen { path, len }, || self.file.set_len(len), |_| 0)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.run(|path| Call::SyncData { path }, || self.file.sync_data(), |_| 0)
    }

    fn sync_all(&self) -> io::Result<()> {
        self.run(|path| Call::SyncAll { path }, || self.file.sync_all(), |_| 0)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use crate::vfs::{OpenMode, SimFs, StatsFs, Vfs};

    #[test]
    fn a_file_renamed_through_the_layer_is_called_by_its_new_name() {
        let fs = StatsFs::new(Arc::new(SimFs::new(1)));
        let file = fs.open(Path::new("seg.tmp"), OpenMode::CreateNew).expect("setup: create");
        file.write_all_at(0, b"header").expect("setup: write");
        fs.rename(Path::new("seg.tmp"), Path::new("seg")).expect("setup: rename");
        file.write_all_at(6, b"record").expect("setup: write");
        let stats = fs.stats();
        let writes = |name: &str| stats.files.get(Path::new(name)).map(|file| file.writes);
        assert_eq!(writes("seg.tmp"), Some(1), "writes before the rename, under the old name");
        assert_eq!(writes("seg"), Some(1), "writes after the rename, under the new name");
    }
}
