//! Handles to the real disk, given by the course.
//!
//! Lab code does all its I/O through the kit's [`Vfs`](distributed::vfs::Vfs), and the
//! grader's source policy refuses anything that reaches the file system another way. Two
//! engines of this lab need the real disk all the same: fjall opens its own files by path, and
//! a redb database must be built somewhere. So the course opens them, here, and lab code gets
//! the opened handles:
//!
//! - [`DiskDir`]: a directory on the real disk (a temporary one in tests and benchmarks), as
//!   a kit filesystem ([`DiskDir::vfs`]) for the files and redb engines, or as an opened fjall
//!   database ([`DiskDir::open_fjall`]);
//! - [`open_redb`]: a redb database over any [`redb::StorageBackend`], which is how the redb
//!   engine runs on the kit's `SimFs` as well as on the real disk.
//!
//! The policy of lab 8 refuses the functions of fjall and redb that open a path, so these are
//! the only doors.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::vfs::{FsRef, StdFs};

use crate::engine::EngineError;

/// The name of the one fjall keyspace the fjall engine keeps its pairs in.
pub const FJALL_KEYSPACE: &str = "kv";

/// A directory on the real disk, removed when the handle is dropped.
#[derive(Debug)]
pub struct DiskDir {
    dir: tempfile::TempDir,
}

impl DiskDir {
    /// A new, empty temporary directory.
    pub fn temp() -> io::Result<DiskDir> {
        Ok(DiskDir { dir: tempfile::Builder::new().prefix("lab8-").tempdir()? })
    }

    /// A new, empty temporary directory inside `parent` (benchmarks put it on the disk they
    /// measure).
    pub fn temp_in(parent: &Path) -> io::Result<DiskDir> {
        Ok(DiskDir { dir: tempfile::Builder::new().prefix("lab8-").tempdir_in(parent)? })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The directory as a kit filesystem: every path is relative to it.
    pub fn vfs(&self) -> FsRef {
        Arc::new(StdFs::new(self.dir.path()))
    }

    /// Opens (creating or recovering) the fjall database kept in subdirectory `name`, with its
    /// one keyspace. The journal is written to the OS on every commit (fjall's default,
    /// `PersistMode::Buffer`); only [`fjall::Database::persist`] with `SyncAll` or `SyncData`
    /// makes it durable.
    pub fn open_fjall(&self, name: &str) -> Result<FjallHandle, EngineError> {
        let backend = |e: fjall::Error| EngineError::Backend(format!("fjall: {e}"));
        let db = fjall::Database::builder(self.dir.path().join(name)).open().map_err(backend)?;
        let keyspace = db.keyspace(FJALL_KEYSPACE, fjall::KeyspaceCreateOptions::default).map_err(backend)?;
        Ok(FjallHandle { db, keyspace })
    }

    /// A copy of every file below this directory as it is now, in a new temporary directory:
    /// what a process killed at this moment leaves (the kernel's page cache survives a
    /// process; only a power cut loses it).
    pub fn copy_as_killed(&self) -> io::Result<DiskDir> {
        let copy = DiskDir::temp()?;
        copy_tree(self.dir.path(), copy.path())?;
        Ok(copy)
    }

    /// Bytes in the files below this directory.
    pub fn bytes_used(&self) -> io::Result<u64> {
        tree_bytes(self.dir.path())
    }
}

/// An opened fjall database and the keyspace the engine uses.
#[derive(Clone)]
pub struct FjallHandle {
    /// The database: write batches, snapshots, `persist`.
    pub db: fjall::Database,
    /// The keyspace named [`FJALL_KEYSPACE`].
    pub keyspace: fjall::Keyspace,
}

impl std::fmt::Debug for FjallHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallHandle").field("keyspace", &FJALL_KEYSPACE).finish_non_exhaustive()
    }
}

/// A redb database over `backend` (created if the backend is empty, recovered otherwise).
pub fn open_redb(backend: impl redb::StorageBackend) -> Result<redb::Database, EngineError> {
    redb::Database::builder().create_with_backend(backend).map_err(|e| match e {
        redb::DatabaseError::Storage(redb::StorageError::Io(io)) => EngineError::Io(io),
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(why)) => EngineError::Corrupt(why),
        other => EngineError::Backend(format!("redb: {other}")),
    })
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn tree_bytes(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        total += if entry.file_type()?.is_dir() { tree_bytes(&entry.path())? } else { entry.metadata()?.len() };
    }
    Ok(total)
}
