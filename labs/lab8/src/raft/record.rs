//! A node's engine calls, recorded in a cluster run so that the crash explorer can replay them
//! on the files engine over `SimFs`, and what a node keeps durably, read back through the
//! adapters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use openraft::RaftLogReader;
use openraft::storage::{RaftLogStorage, RaftStateMachine};

use super::store::{LogStore, StateMachineStore};
use super::{LogId, StorageError, Vote};
use crate::engine::{Batch, Engine, EngineError, SnapshotIter};

/// One call that changed an engine, in the order the node made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `write(batch)`, which returned `Ok`.
    Write(Batch),
    /// `flush()`, which returned `Ok`.
    Flush,
}

/// Replays `calls` on `engine`, stopping at the first error.
pub fn replay(engine: &dyn Engine, calls: &[Call]) -> Result<(), EngineError> {
    for call in calls {
        match call {
            Call::Write(batch) => engine.write(batch)?,
            Call::Flush => engine.flush()?,
        }
    }
    Ok(())
}

/// An engine that passes every call to `inner` and records the writes and flushes that
/// succeeded, in order, each with the time of a clock that recorders may share (so the calls
/// of several nodes can be put in one order).
#[derive(Clone, Debug)]
pub struct RecordingEngine {
    inner: Arc<dyn Engine>,
    calls: Arc<Mutex<Vec<(u64, Call)>>>,
    clock: Arc<AtomicU64>,
}

impl RecordingEngine {
    /// Records the calls made to `inner`.
    pub fn new(inner: Arc<dyn Engine>) -> RecordingEngine {
        RecordingEngine::with_clock(inner, Arc::new(AtomicU64::new(0)))
    }

    /// Records the calls made to `inner`, timed by `clock` (which each call advances).
    pub fn with_clock(inner: Arc<dyn Engine>, clock: Arc<AtomicU64>) -> RecordingEngine {
        RecordingEngine { inner, calls: Arc::new(Mutex::new(Vec::new())), clock }
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.timed_calls().into_iter().map(|(_, call)| call).collect()
    }

    /// The calls so far, each with the clock's time when it returned.
    pub fn timed_calls(&self) -> Vec<(u64, Call)> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn record(&self, calls: &mut Vec<(u64, Call)>, call: Call) {
        calls.push((self.clock.fetch_add(1, Ordering::SeqCst) + 1, call));
    }
}

impl Engine for RecordingEngine {
    fn name(&self) -> &'static str {
        "recording"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.inner.get(key)
    }

    fn range(&self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        self.inner.range(start, end, limit)
    }

    fn write(&self, batch: &Batch) -> Result<(), EngineError> {
        // The lock is held across the call, so the record has the order the engine saw.
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.write(batch)?;
        self.record(&mut calls, Call::Write(batch.clone()));
        Ok(())
    }

    fn flush(&self) -> Result<(), EngineError> {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.flush()?;
        self.record(&mut calls, Call::Flush);
        Ok(())
    }

    fn snapshot(&self) -> Result<SnapshotIter, EngineError> {
        self.inner.snapshot()
    }
}

/// What a node keeps across a restart, as its adapters read it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurableView {
    /// The vote.
    pub vote: Option<Vote>,
    /// The committed log id.
    pub committed: Option<LogId>,
    /// The last purged log id.
    pub purged: Option<LogId>,
    /// The ids of the log entries present, in order.
    pub log: Vec<LogId>,
    /// The state machine's applied log id.
    pub applied: Option<LogId>,
    /// The last log id the current snapshot covers (`None`: no snapshot, or an empty one).
    pub snapshot: Option<LogId>,
    /// The state machine's keys and values.
    pub state: Vec<(String, Vec<u8>)>,
}

impl DurableView {
    /// Reads the view through freshly opened adapters.
    pub async fn read(log: &mut LogStore, sm: &mut StateMachineStore) -> Result<DurableView, StorageError> {
        let state = log.get_log_state().await?;
        let entries = log.try_get_log_entries(..).await?;
        Ok(DurableView {
            vote: log.read_vote().await?,
            committed: log.read_committed().await?,
            purged: state.last_purged_log_id,
            log: entries.iter().map(|e| e.log_id).collect(),
            applied: sm.applied_state().await?.0,
            snapshot: sm.get_current_snapshot().await?.and_then(|s| s.meta.last_log_id),
            state: sm.pairs()?,
        })
    }

    /// Opens the adapters over `engine` and reads the view, on a runtime of its own.
    pub fn read_engine(engine: Arc<dyn Engine>) -> Result<DurableView, StorageError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| StorageError::from(openraft::StorageIOError::read(openraft::AnyError::new(&e))))?;
        runtime.block_on(async {
            let (mut log, mut sm) = super::store::open(engine)?;
            DurableView::read(&mut log, &mut sm).await
        })
    }
}
