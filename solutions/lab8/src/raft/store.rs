//! Task 4: openraft's storage traits over one `Arc<dyn Engine>`.
//!
//! [`LogStore`] implements `RaftLogReader` and `RaftLogStorage` (the log, the vote, the
//! committed log id, the last purged log id); [`StateMachineStore`] implements
//! `RaftStateMachine` (lab 4's key-value semantics, applied log id, membership, the current
//! snapshot) and [`SnapshotBuilder`] implements `RaftSnapshotBuilder`. The key layout is
//! [`super::keys`]. Each method's durability contract is in the chapter.
//!
//! Design choices of this solution:
//!
//! - every change a method makes is one engine batch (an appended run of entries, a purge with
//!   its `Mpurged` record, an applied entry with its `Sapplied` record, an installed snapshot
//!   with the whole replaced state), so a crash never shows half of it;
//! - `save_vote`, `append` (before its callback), `truncate`, `build_snapshot` and
//!   `install_snapshot` flush before they return; `save_committed`, `purge` and `apply` do not
//!   (losing them in a crash only moves the node back to a state it was in, and the next flush
//!   carries them);
//! - the last log id is cached in memory (the engine reads only ascending), found at open by
//!   scanning the log's range;
//! - the current snapshot is cached in memory too, but only after it is durable in the engine.

use std::fmt::Debug;
use std::io::Cursor;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};

use lab4::{Command, Op, Output, Write};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{AnyError, EntryPayload, OptionalSend, RaftLogReader, RaftSnapshotBuilder, StorageIOError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys;
use super::{Entry, LogId, SnapshotImage, SnapshotMeta, StorageError, StoredMembership, TypeConfig, Vote};
use crate::engine::{Batch, Engine, EngineError};

/// Opens the adapters over `engine`: what a node keeps is read back from it (an empty engine
/// is a new node).
pub fn open(engine: Arc<dyn Engine>) -> Result<(LogStore, StateMachineStore), StorageError> {
    Ok((LogStore::open(engine.clone())?, StateMachineStore::open(engine)?))
}

fn io_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write(AnyError::new(&e)).into()
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read(AnyError::new(&e)).into()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("encoding into a Vec cannot fail")
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StorageError> {
    postcard::from_bytes(bytes)
        .map_err(|e| read_err(EngineError::Corrupt(format!("record {:?}: {e}", String::from_utf8_lossy(key)))))
}

fn get<T: DeserializeOwned>(engine: &dyn Engine, key: &[u8]) -> Result<Option<T>, StorageError> {
    match engine.get(key).map_err(read_err)? {
        None => Ok(None),
        Some(bytes) => decode(key, &bytes).map(Some),
    }
}

/// The log, the vote, the committed log id and the last purged log id of one node.
#[derive(Clone, Debug)]
pub struct LogStore {
    engine: Arc<dyn Engine>,
    /// The id of the last entry in the engine (not counting purged ones).
    last: Arc<Mutex<Option<LogId>>>,
}

impl LogStore {
    /// Opens the log over `engine`.
    pub fn open(engine: Arc<dyn Engine>) -> Result<LogStore, StorageError> {
        let entries = engine.range(&keys::log(0), Some(keys::LOG_END), usize::MAX).map_err(read_err)?;
        let last = match entries.last() {
            None => None,
            Some((key, bytes)) => Some(decode::<Entry>(key, bytes)?.log_id),
        };
        Ok(LogStore { engine, last: Arc::new(Mutex::new(last)) })
    }

    /// The engine under this log.
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    fn set_last(&self, last: Option<LogId>) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = last;
    }

    fn cached_last(&self) -> Option<LogId> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&i) => i.checked_add(1).map(keys::log),
            Bound::Excluded(&i) => Some(keys::log(i)),
            Bound::Unbounded => None,
        };
        let end = end.unwrap_or_else(|| keys::LOG_END.to_vec());
        if keys::log(start) >= end {
            return Ok(Vec::new());
        }
        let pairs = self.engine.range(&keys::log(start), Some(&end), usize::MAX).map_err(read_err)?;
        let mut entries = Vec::with_capacity(pairs.len());
        for (key, bytes) in pairs {
            let entry: Entry = decode(&key, &bytes)?;
            if keys::log_index(&key) != Some(entry.log_id.index) {
                return Err(read_err(EngineError::Corrupt(format!(
                    "the entry under {:?} has index {}",
                    keys::log_index(&key),
                    entry.log_id.index
                ))));
            }
            entries.push(entry);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = get(&*self.engine, keys::PURGED)?;
        // The last entry present, or the last purged one when every entry is gone.
        let last_log_id = match self.cached_last() {
            Some(last) if last_purged_log_id.is_none_or(|purged| last.index > purged.index) => Some(last),
            _ => last_purged_log_id,
        };
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let mut batch = Batch::new();
        batch.put(keys::VOTE, encode(vote));
        self.engine.write(&batch).map_err(io_err)?;
        // Durable before the vote is answered: a node that forgets its vote may vote twice in
        // one term.
        self.engine.flush().map_err(io_err)?;
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        get(&*self.engine, keys::VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let mut batch = Batch::new();
        match committed {
            Some(id) => batch.put(keys::COMMITTED, encode(&id)),
            None => batch.delete(keys::COMMITTED),
        };
        self.engine.write(&batch).map_err(io_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        get(&*self.engine, keys::COMMITTED)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = Batch::new();
        let mut last = None;
        for entry in entries {
            batch.put(keys::log(entry.log_id.index), encode(&entry));
            last = Some(entry.log_id);
        }
        if last.is_none() {
            callback.log_io_completed(Ok(()));
            return Ok(());
        }
        let written = self.engine.write(&batch).and_then(|()| {
            self.set_last(last);
            self.engine.flush()
        });
        match written {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let message = e.to_string();
                callback.log_io_completed(Err(std::io::Error::other(message)));
                Err(io_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let doomed = self.engine.range(&keys::log(log_id.index), Some(keys::LOG_END), usize::MAX).map_err(read_err)?;
        let mut batch = Batch::new();
        for (key, _) in doomed {
            batch.delete(key);
        }
        self.engine.write(&batch).map_err(io_err)?;
        self.engine.flush().map_err(io_err)?;
        let before = match log_id.index.checked_sub(1) {
            None => None,
            Some(index) => get::<Entry>(&*self.engine, &keys::log(index))?.map(|e| e.log_id),
        };
        self.set_last(before);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let end = keys::log(log_id.index.saturating_add(1));
        let doomed = self.engine.range(&keys::log(0), Some(&end), usize::MAX).map_err(read_err)?;
        let mut batch = Batch::new();
        batch.put(keys::PURGED, encode(&log_id));
        for (key, _) in doomed {
            batch.delete(key);
        }
        self.engine.write(&batch).map_err(io_err)?;
        if self.cached_last().is_some_and(|last| last.index <= log_id.index) {
            self.set_last(None);
        }
        Ok(())
    }
}

/// The current snapshot: its metadata and image.
#[derive(Clone, Debug)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

/// The state machine (lab 4's key-value semantics) and the current snapshot of one node.
#[derive(Clone, Debug)]
pub struct StateMachineStore {
    engine: Arc<dyn Engine>,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
}

impl StateMachineStore {
    /// Opens the state machine over `engine`.
    pub fn open(engine: Arc<dyn Engine>) -> Result<StateMachineStore, StorageError> {
        let meta: Option<SnapshotMeta> = get(&*engine, keys::SNAPSHOT_META)?;
        let current = match meta {
            None => None,
            Some(meta) => match engine.get(keys::SNAPSHOT_DATA).map_err(read_err)? {
                Some(data) => Some(StoredSnapshot { meta, data }),
                None => {
                    return Err(read_err(EngineError::Corrupt("a snapshot's metadata without its image".to_string())));
                }
            },
        };
        Ok(StateMachineStore { engine, current: Arc::new(Mutex::new(current)) })
    }

    /// The engine under this state machine.
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// The value of `key` in the applied state.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.engine.get(&keys::data(key)).map_err(read_err)
    }

    /// Every key and value of the applied state, in key order.
    pub fn pairs(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let pairs = self.engine.range(keys::DATA_START, Some(keys::DATA_END), usize::MAX).map_err(read_err)?;
        pairs
            .into_iter()
            .map(|(key, value)| match keys::data_key(&key) {
                Some(k) => Ok((k.to_string(), value)),
                None => Err(read_err(EngineError::Corrupt(format!("data key {key:?} is not UTF-8")))),
            })
            .collect()
    }

    /// Lab 4's log time of the applied state.
    pub fn log_time(&self) -> Result<u64, StorageError> {
        Ok(get(&*self.engine, keys::LOG_TIME)?.unwrap_or(0))
    }

    /// The applied log id.
    pub fn applied(&self) -> Result<Option<LogId>, StorageError> {
        get(&*self.engine, keys::APPLIED)
    }

    fn set_current(&self, snapshot: StoredSnapshot) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
    }

    /// Writes `snapshot` as the current one and makes it durable.
    fn persist_snapshot(&self, batch: &mut Batch, snapshot: &StoredSnapshot) -> Result<(), StorageError> {
        batch.put(keys::SNAPSHOT_META, encode(&snapshot.meta));
        batch.put(keys::SNAPSHOT_DATA, snapshot.data.clone());
        self.engine.write(batch).map_err(io_err)?;
        self.engine.flush().map_err(io_err)
    }

    /// Runs one command of lab 4 against the engine: the writes go into `batch`, reads see the
    /// engine (every earlier entry was written before this one started).
    fn execute(&self, op: Op, batch: &mut Batch) -> Result<Output, StorageError> {
        let current = |key: &str| self.get(key);
        Ok(match op {
            Op::Noop => Output::Done,
            Op::Put { key, value } => {
                let previous = current(&key)?;
                batch.put(keys::data(&key), value);
                Output::Previous(previous)
            }
            Op::Delete { key } => {
                let previous = current(&key)?;
                batch.delete(keys::data(&key));
                Output::Previous(previous)
            }
            Op::Increment { key, delta } => {
                let now = match current(&key)? {
                    None => 0,
                    Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                        Ok(bytes) => i64::from_le_bytes(bytes),
                        Err(_) => {
                            return Ok(Output::Rejected(format!(
                                "{key:?} holds {} bytes, not an 8-byte counter",
                                bytes.len()
                            )));
                        }
                    },
                };
                match now.checked_add(delta) {
                    Some(sum) => {
                        batch.put(keys::data(&key), sum.to_le_bytes().to_vec());
                        Output::Counter(sum)
                    }
                    None => Output::Rejected(format!("{key:?}: {now} + {delta} overflows")),
                }
            }
            Op::Batch(writes) => {
                for write in writes {
                    match write {
                        Write::Put { key, value } => batch.put(keys::data(&key), value),
                        Write::Delete { key } => batch.delete(keys::data(&key)),
                    };
                }
                Output::Done
            }
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let membership: Option<StoredMembership> = get(&*self.engine, keys::MEMBERSHIP)?;
        Ok((self.applied()?, membership.unwrap_or_default()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Output>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut outputs = Vec::new();
        let mut log_time = self.log_time()?;
        for entry in entries {
            let mut batch = Batch::new();
            let output = match entry.payload {
                EntryPayload::Blank => Output::Done,
                EntryPayload::Normal(Command { timestamp, op }) => {
                    log_time = log_time.max(timestamp);
                    batch.put(keys::LOG_TIME, encode(&log_time));
                    self.execute(op, &mut batch)?
                }
                EntryPayload::Membership(membership) => {
                    let stored = StoredMembership::new(Some(entry.log_id), membership);
                    batch.put(keys::MEMBERSHIP, encode(&stored));
                    Output::Done
                }
            };
            // The entry's writes and its applied log id in one batch: after a crash, the state
            // is that of a prefix of the applied entries, and says which.
            batch.put(keys::APPLIED, encode(&entry.log_id));
            self.engine.write(&batch).map_err(io_err)?;
            outputs.push(output);
        }
        Ok(outputs)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder { store: self.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let image = SnapshotImage::decode(&data).map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(Some(meta.signature()), AnyError::new(&e)))
        })?;
        let mut batch = Batch::new();
        // The state is replaced, not merged: a key the snapshot does not have must go.
        let stale = self.engine.range(keys::DATA_START, Some(keys::DATA_END), usize::MAX).map_err(read_err)?;
        for (key, _) in stale {
            batch.delete(key);
        }
        for (key, value) in &image.pairs {
            batch.put(keys::data(key), value.clone());
        }
        batch.put(keys::LOG_TIME, encode(&image.log_time));
        match meta.last_log_id {
            Some(id) => batch.put(keys::APPLIED, encode(&id)),
            None => batch.delete(keys::APPLIED),
        };
        batch.put(keys::MEMBERSHIP, encode(&meta.last_membership));
        let snapshot = StoredSnapshot { meta: meta.clone(), data };
        self.persist_snapshot(&mut batch, &snapshot)?;
        self.set_current(snapshot);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(current.map(|s| Snapshot { meta: s.meta, snapshot: Box::new(Cursor::new(s.data)) }))
    }
}

/// Builds a snapshot of a [`StateMachineStore`].
#[derive(Debug)]
pub struct SnapshotBuilder {
    store: StateMachineStore,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let store = &self.store;
        // One point-in-time view of the engine, so the image, the applied id and the membership
        // agree even if entries are applied meanwhile.
        let mut applied: Option<LogId> = None;
        let mut membership = StoredMembership::default();
        let mut image = SnapshotImage::default();
        for pair in store.engine.snapshot().map_err(read_err)? {
            let (key, value) = pair.map_err(read_err)?;
            if key.as_slice() == keys::APPLIED {
                applied = Some(decode(&key, &value)?);
            } else if key.as_slice() == keys::MEMBERSHIP {
                membership = decode(&key, &value)?;
            } else if key.as_slice() == keys::LOG_TIME {
                image.log_time = decode(&key, &value)?;
            } else if let Some(k) = keys::data_key(&key) {
                image.pairs.push((k.to_string(), value));
            }
        }
        let snapshot_id = match applied {
            Some(id) => format!("{}-{}-{}", id.leader_id.term, id.leader_id.node_id, id.index),
            None => "empty".to_string(),
        };
        let meta = SnapshotMeta { last_log_id: applied, last_membership: membership, snapshot_id };
        let snapshot = StoredSnapshot { meta: meta.clone(), data: image.encode() };
        // Durable before openraft is told: it purges the log below this snapshot next.
        store.persist_snapshot(&mut Batch::new(), &snapshot)?;
        store.set_current(snapshot.clone());
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(snapshot.data)) })
    }
}
