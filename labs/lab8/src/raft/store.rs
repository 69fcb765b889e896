//! Task 4: openraft's storage traits over one `Arc<dyn Engine>`.
//!
//! [`LogStore`] implements `RaftLogReader` and `RaftLogStorage` (the log, the vote, the
//! committed log id, the last purged log id); [`StateMachineStore`] implements
//! `RaftStateMachine` (lab 4's key-value semantics, applied log id, membership, the current
//! snapshot) and [`SnapshotBuilder`] implements `RaftSnapshotBuilder`. Store everything
//! through the engine, under the key layout of [`super::keys`], with postcard for the records.
//! Each method's durability contract is in the chapter; the public tests name them.
//!
//! The public items below are fixed (the tests and the cluster use them). Add private fields
//! and helpers as you like.

use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{OptionalSend, RaftLogReader, RaftSnapshotBuilder};

use super::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig, Vote};
use crate::engine::Engine;

/// Opens the adapters over `engine`: what a node keeps is read back from it (an empty engine
/// is a new node).
pub fn open(engine: Arc<dyn Engine>) -> Result<(LogStore, StateMachineStore), StorageError> {
    Ok((LogStore::open(engine.clone())?, StateMachineStore::open(engine)?))
}

/// The log, the vote, the committed log id and the last purged log id of one node.
#[derive(Clone, Debug)]
pub struct LogStore {
    engine: Arc<dyn Engine>,
}

impl LogStore {
    /// Opens the log over `engine`.
    pub fn open(engine: Arc<dyn Engine>) -> Result<LogStore, StorageError> {
        todo!("Task 4: open the log over {engine:?}")
    }

    /// The engine under this log.
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        todo!("Task 4: the entries of {range:?}")
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        todo!("Task 4: the last purged and the last log id")
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        todo!("Task 4: save {vote}")
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        todo!("Task 4: read the vote")
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        todo!("Task 4: save the committed log id {committed:?}")
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        todo!("Task 4: read the committed log id")
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let _ = (entries.into_iter(), callback);
        todo!("Task 4: append, and call back once durable")
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        todo!("Task 4: remove the entries from {log_id} on")
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        todo!("Task 4: remove the entries up to {log_id}")
    }
}

/// The state machine (lab 4's key-value semantics) and the current snapshot of one node.
#[derive(Clone, Debug)]
pub struct StateMachineStore {
    engine: Arc<dyn Engine>,
}

impl StateMachineStore {
    /// Opens the state machine over `engine`.
    pub fn open(engine: Arc<dyn Engine>) -> Result<StateMachineStore, StorageError> {
        todo!("Task 4: open the state machine over {engine:?}")
    }

    /// The engine under this state machine.
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// The value of `key` in the applied state.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        todo!("Task 4: read {key:?}")
    }

    /// Every key and value of the applied state, in key order.
    pub fn pairs(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        todo!("Task 4: every pair of the state")
    }

    /// Lab 4's log time of the applied state.
    pub fn log_time(&self) -> Result<u64, StorageError> {
        todo!("Task 4: the log time")
    }

    /// The applied log id.
    pub fn applied(&self) -> Result<Option<LogId>, StorageError> {
        todo!("Task 4: the applied log id")
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        todo!("Task 4: the applied log id and membership")
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<lab4::Output>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let _ = entries.into_iter();
        todo!("Task 4: apply committed entries with lab 4's semantics")
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder { store: self.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        todo!("Task 4: an empty buffer for a snapshot")
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let _ = snapshot;
        todo!("Task 4: install {meta:?}")
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        todo!("Task 4: the current snapshot")
    }
}

/// Builds a snapshot of a [`StateMachineStore`].
#[derive(Debug)]
pub struct SnapshotBuilder {
    store: StateMachineStore,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        todo!("Task 4: a snapshot of {:?}", self.store)
    }
}
