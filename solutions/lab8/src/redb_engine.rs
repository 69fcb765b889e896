//! The redb engine: a copy-on-write B-tree with atomic, checksummed commits, stored in one
//! file of the kit's filesystem through redb's pluggable [`redb::StorageBackend`]. So the
//! crash explorer runs it on `SimFs` like your own files.
//!
//! Open the database only with [`crate::handles::open_redb`].
//!
//! A batch is one write transaction. It commits with [`redb::Durability::None`]: visible to
//! every later read at once, but only made durable by the next commit with
//! [`redb::Durability::Immediate`], which is what [`Engine::flush`] does (an empty
//! transaction). redb promises that a crash leaves the last durable commit, whole: so a batch
//! is all or nothing, and a flush keeps every batch before it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use distributed::vfs::{FsRef, OpenMode, VfsFile, parent_dir};
use redb::{ReadableDatabase, ReadableTable};

use crate::engine::{Batch, BatchOp, Engine, EngineError, Pairs, SnapshotIter};

/// The one table the engine keeps its pairs in.
pub const TABLE: redb::TableDefinition<'static, &'static [u8], &'static [u8]> = redb::TableDefinition::new("kv");

/// One file of the kit's filesystem as redb's storage.
#[derive(Debug)]
pub struct VfsBackend {
    file: Box<dyn VfsFile>,
}

impl VfsBackend {
    /// The backend over an opened file.
    pub fn new(file: Box<dyn VfsFile>) -> VfsBackend {
        VfsBackend { file }
    }
}

impl redb::StorageBackend for VfsBackend {
    fn len(&self) -> Result<u64, redb::BackendError> {
        Ok(self.file.len()?)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), redb::BackendError> {
        Ok(self.file.read_exact_at(offset, out)?)
    }

    fn set_len(&self, len: u64) -> Result<(), redb::BackendError> {
        Ok(self.file.set_len(len)?)
    }

    fn sync_data(&self) -> Result<(), redb::BackendError> {
        Ok(self.file.sync_data()?)
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), redb::BackendError> {
        Ok(self.file.write_all_at(offset, data)?)
    }
}

/// redb behind the [`Engine`] trait.
#[derive(Debug)]
pub struct RedbEngine {
    db: Arc<redb::Database>,
    /// redb allows one write transaction at a time; this orders them without blocking inside
    /// redb, and marks the engine failed after an error from a commit.
    writer: Mutex<()>,
    poisoned: AtomicBool,
}

impl RedbEngine {
    /// Opens (creating if needed) the database in file `path` of `fs`.
    ///
    /// Creating a redb file is not atomic: a power cut while redb writes its first header
    /// leaves a file that is not a database ("magic number mismatch"), and a later open
    /// refuses it. So a new database is made under a temporary name, committed durably, and
    /// only then renamed to `path`, and the directory synced (lab 3's atomic replace): `path`
    /// is a whole database or absent, never half of one.
    pub fn open(fs: FsRef, path: impl AsRef<Path>) -> Result<RedbEngine, EngineError> {
        let path = path.as_ref();
        let dir = parent_dir(path);
        fs.create_dir_all(dir)?;
        if !fs.exists(path)? {
            let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
            tmp_name.push(".new");
            let tmp = path.with_file_name(tmp_name);
            if fs.exists(&tmp)? {
                fs.remove_file(&tmp)?;
            }
            let file = fs.open(&tmp, OpenMode::CreateNew)?;
            RedbEngine::over(crate::handles::open_redb(VfsBackend::new(file))?)?;
            fs.rename(&tmp, path)?;
            fs.sync_dir(dir)?;
        }
        let file = fs.open(path, OpenMode::ReadWrite)?;
        RedbEngine::over(crate::handles::open_redb(VfsBackend::new(file))?)
    }

    /// The engine over an opened database; the table is created (durably) if it is missing,
    /// so reads never meet a missing table.
    fn over(db: redb::Database) -> Result<RedbEngine, EngineError> {
        let engine = RedbEngine { db: Arc::new(db), writer: Mutex::new(()), poisoned: AtomicBool::new(false) };
        engine.commit(redb::Durability::Immediate, |_| Ok(()))?;
        Ok(engine)
    }

    fn commit(
        &self,
        durability: redb::Durability,
        change: impl FnOnce(&mut redb::Table<'_, &'static [u8], &'static [u8]>) -> Result<(), redb::StorageError>,
    ) -> Result<(), EngineError> {
        let _writer = self.writer.lock().map_err(|_| EngineError::Poisoned)?;
        if self.poisoned.load(Ordering::Acquire) {
            return Err(EngineError::Poisoned);
        }
        let result = (|| {
            let mut tx = self.db.begin_write().map_err(backend)?;
            tx.set_durability(durability).map_err(backend)?;
            {
                let mut table = tx.open_table(TABLE).map_err(backend)?;
                change(&mut table).map_err(storage)?;
            }
            tx.commit().map_err(backend)
        })();
        if result.is_err() {
            self.poisoned.store(true, Ordering::Release);
        }
        result
    }

    fn read_table(&self) -> Result<redb::ReadOnlyTable<&'static [u8], &'static [u8]>, EngineError> {
        let tx = self.db.begin_read().map_err(backend)?;
        tx.open_table(TABLE).map_err(backend)
    }
}

impl Engine for RedbEngine {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        let table = self.read_table()?;
        Ok(table.get(key).map_err(storage)?.map(|v| v.value().to_vec()))
    }

    fn range(&self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        if end.is_some_and(|end| end <= start) {
            return Ok(Vec::new());
        }
        let table = self.read_table()?;
        let iter = match end {
            Some(end) => table.range(start..end),
            None => table.range(start..),
        }
        .map_err(storage)?;
        let mut out = Vec::new();
        for pair in iter.take(limit) {
            let (k, v) = pair.map_err(storage)?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn write(&self, batch: &Batch) -> Result<(), EngineError> {
        self.commit(redb::Durability::None, |table| {
            for op in batch.ops() {
                match op {
                    BatchOp::Put { key, value } => {
                        table.insert(key.as_slice(), value.as_slice())?;
                    }
                    BatchOp::Delete { key } => {
                        table.remove(key.as_slice())?;
                    }
                }
            }
            Ok(())
        })
    }

    fn flush(&self) -> Result<(), EngineError> {
        self.commit(redb::Durability::Immediate, |_| Ok(()))
    }

    fn snapshot(&self) -> Result<SnapshotIter, EngineError> {
        // A read transaction is a point-in-time view: redb keeps the pages it sees until it
        // ends. The iterator holds it and reads a page of pairs at a time from it.
        let tx = self.db.begin_read().map_err(backend)?;
        Ok(Box::new(RedbSnapshot {
            _db: Arc::clone(&self.db),
            tx,
            after: None,
            page: Vec::new().into_iter(),
            done: false,
        }))
    }
}

/// How many pairs a snapshot reads from its transaction at a time.
const SNAPSHOT_PAGE: usize = 32;

/// A snapshot: one read transaction, read a page at a time, so that a large state is never
/// copied whole into memory.
struct RedbSnapshot {
    /// The database stays open while a snapshot of it is read.
    _db: Arc<redb::Database>,
    /// Every page is read from this one transaction: a fresh one per page would see writes
    /// made since the snapshot began.
    tx: redb::ReadTransaction,
    /// The last key returned: the next page starts after it.
    after: Option<Vec<u8>>,
    page: std::vec::IntoIter<(Vec<u8>, Vec<u8>)>,
    done: bool,
}

impl RedbSnapshot {
    fn next_page(&mut self) -> Result<Pairs, EngineError> {
        let table = self.tx.open_table(TABLE).map_err(backend)?;
        let start: &[u8] = self.after.as_deref().unwrap_or(b"");
        let mut page = Vec::with_capacity(SNAPSHOT_PAGE);
        for pair in table.range(start..).map_err(storage)? {
            let (k, v) = pair.map_err(storage)?;
            // The range starts at the last key returned: skip it.
            if self.after.as_deref() == Some(k.value()) {
                continue;
            }
            page.push((k.value().to_vec(), v.value().to_vec()));
            if page.len() == SNAPSHOT_PAGE {
                break;
            }
        }
        Ok(page)
    }
}

impl Iterator for RedbSnapshot {
    type Item = Result<(Vec<u8>, Vec<u8>), EngineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(pair) = self.page.next() {
            return Some(Ok(pair));
        }
        if self.done {
            return None;
        }
        match self.next_page() {
            Ok(page) => {
                self.done = page.len() < SNAPSHOT_PAGE;
                self.after = page.last().map(|(k, _)| k.clone());
                self.page = page.into_iter();
                self.page.next().map(Ok)
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn storage(e: redb::StorageError) -> EngineError {
    match e {
        redb::StorageError::Io(io) => EngineError::Io(io),
        redb::StorageError::Corrupted(why) => EngineError::Corrupt(format!("redb: {why}")),
        other => EngineError::Backend(format!("redb: {other}")),
    }
}

fn backend(e: impl Into<redb::Error>) -> EngineError {
    match e.into() {
        redb::Error::Io(io) => EngineError::Io(io),
        redb::Error::Corrupted(why) => EngineError::Corrupt(format!("redb: {why}")),
        other => EngineError::Backend(format!("redb: {other}")),
    }
}
