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
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FsRef, OpenMode, Vfs, VfsFile};

/// A call made through a [`Layered`] filesystem, with its arguments (file calls carry the
/// path the file was opened with).
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
}

impl<L: Layer> Clone for Layered<L> {
    fn clone(&self) -> Self {
        Layered { inner: Arc::clone(&self.inner), layer: Arc::clone(&self.layer) }
    }
}

impl<L: Layer> Layered<L> {
    /// `inner` with `layer` around its calls.
    pub fn over(inner: FsRef, layer: Arc<L>) -> Self {
        Layered { inner, layer }
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
            path: path.to_path_buf(),
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
        self.run(Call::Rename { from, to }, |fs| fs.rename(from, to))
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
    path: PathBuf,
    inner: FsRef,
    layer: Arc<L>,
}

impl<L: Layer> fmt::Debug for LayeredFile<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayeredFile").field("path", &self.path).field("file", &self.file).finish()
    }
}

impl<L: Layer> LayeredFile<L> {
    fn run<T>(&self, call: Call<'_>, make: impl FnOnce() -> io::Result<T>, moved: impl Fn(&T) -> u64) -> io::Result<T> {
        forward(&*self.layer, &*self.inner, call, |_| make(), moved)
    }
}

impl<L: Layer> VfsFile for LayeredFile<L> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let call = Call::ReadAt { path: &self.path, offset, len: buf.len() };
        self.run(call, || self.file.read_at(offset, buf), |&n| n as u64)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<usize> {
        let call = Call::WriteAt { path: &self.path, offset, len: data.len() };
        self.run(call, || self.file.write_at(offset, data), |&n| n as u64)
    }

    fn len(&self) -> io::Result<u64> {
        self.run(Call::Len { path: &self.path }, || self.file.len(), |_| 0)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.run(Call::SetLen { path: &self.path, len }, || self.file.set_len(len), |_| 0)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.run(Call::SyncData { path: &self.path }, || self.file.sync_data(), |_| 0)
    }

    fn sync_all(&self) -> io::Result<()> {
        self.run(Call::SyncAll { path: &self.path }, || self.file.sync_all(), |_| 0)
    }
}
