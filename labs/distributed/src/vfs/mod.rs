//! The filesystem every lab does its I/O through.
//!
//! Labs never call `std::fs`. They take an [`FsRef`] (an `Arc<dyn Vfs>`) and open files,
//! list directories, rename and sync through it. That one indirection is what lets the same
//! code run on the real disk ([`StdFs`]), on a simulated disk that can lose power after any
//! operation ([`SimFs`]), and under an I/O counter ([`StatsFs`]).
//!
//! The trait is deliberately close to the POSIX file calls, because the course is about what
//! they promise and what they do not (the rule on names is the one Linux's `fsync(2)` manual
//! states; `SimFs` applies it more strictly than ext4 or XFS, whose journal usually commits a
//! new file's name with its first `fsync`):
//!
//! - writing to a file changes what later reads see, but not what survives a power loss;
//! - [`VfsFile::sync_data`] makes a file's bytes durable, but **not** its name;
//! - [`Vfs::sync_dir`] makes the names in a directory durable (creates, renames, removes);
//! - [`Vfs::rename`] replaces the target atomically, as one namespace change.

mod layer;
mod sim;
mod stats;
mod std_fs;

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use layer::{Call, Layer, Layered};
pub use sim::{CrashMode, OpKind, OpRecord, PAGE_SIZE, SECTOR_SIZE, SimFs, SimFsConfig};
pub use stats::{FileStats, IoCounter, IoStats, StatsFs};
pub use std_fs::StdFs;

/// A shared handle to a filesystem, as labs take it.
pub type FsRef = Arc<dyn Vfs>;

/// How to open a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Read an existing file; writes through the handle fail.
    Read,
    /// Read and write an existing file.
    ReadWrite,
    /// Read and write, creating the file (empty) if it does not exist.
    Create,
    /// Read and write a new file; fails with `AlreadyExists` if the name is taken.
    CreateNew,
}

/// A filesystem: names, directories and the durability of both.
///
/// Paths are relative to the filesystem's root (a temporary directory for [`StdFs`] in
/// tests, the empty root of a [`SimFs`]).
pub trait Vfs: Send + Sync + Debug {
    /// Opens `path` as `mode` says.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>>;

    /// Creates a directory and its missing parents.
    ///
    /// On `SimFs`, directories are durable as soon as they are created; only files' names
    /// need [`Vfs::sync_dir`]. Labs create their directory once, before any data goes in.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;

    /// The names in directory `dir` (files and subdirectories), sorted.
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>>;

    /// Whether `path` names a file or a directory.
    fn exists(&self, path: &Path) -> io::Result<bool>;

    /// Renames a file within its directory, replacing `to` if it exists. Atomic as a
    /// namespace change, but durable only once the directory is synced.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file's name. Durable only once the directory is synced.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Makes every create, rename and remove in directory `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file. All methods take `&self`, like `pread`/`pwrite` on a shared descriptor, so
/// a handle can be shared between threads.
pub trait VfsFile: Send + Sync + Debug {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes up to `data.len()` bytes at `offset`, extending the file if needed; returns how
    /// many were written. A short write is not an error: call again for the rest, or use
    /// [`VfsFile::write_all_at`].
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<usize>;

    /// The file's current length (what reads see, durable or not).
    fn len(&self) -> io::Result<u64>;

    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Cuts or extends (with zeros) the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Makes the file's bytes and length durable (`fdatasync`). Not its name.
    fn sync_data(&self) -> io::Result<()>;

    /// Like [`VfsFile::sync_data`], and the file's metadata too (`fsync`). Still not its name.
    fn sync_all(&self) -> io::Result<()>;

    /// Writes all of `data` at `offset`, retrying short writes. A write that makes no
    /// progress is an error (`WriteZero`), as with `std::io::Write::write_all`.
    fn write_all_at(&self, mut offset: u64, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match self.write_at(offset, data) {
                Ok(0) => {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "write made no progress"));
                }
                Ok(n) => {
                    offset += n as u64;
                    data = &data[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Fills `buf` from `offset`, or fails with `UnexpectedEof` if the file ends first.
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(offset, buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("file ends before offset {}", offset + buf.len() as u64),
                    ));
                }
                Ok(n) => {
                    offset += n as u64;
                    buf = &mut buf[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads the whole file.
    fn read_all(&self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.len()?)
            .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "file too large to read"))?;
        let mut buf = vec![0; len];
        self.read_exact_at(0, &mut buf)?;
        Ok(buf)
    }
}

/// The directory holding `path` (the root, `""`, for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// Writes `data` to `path` so that after a crash the file holds either its old content or
/// exactly `data`, never a mix and never nothing: write a temporary file, sync it, rename it
/// over `path`, sync the directory. Lab 3 teaches why each step is there.
pub fn write_atomic(fs: &dyn Vfs, path: &Path, data: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let file = fs.open(&tmp, OpenMode::Create)?;
    file.set_len(0)?;
    file.write_all_at(0, data)?;
    file.sync_data()?;
    drop(file);
    fs.rename(&tmp, path)?;
    fs.sync_dir(parent_dir(path))
}
