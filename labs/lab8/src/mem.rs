//! The in-memory engine: the model every other engine is checked against.
//!
//! Given by the course. It keeps nothing across a restart, so its `flush` promises nothing
//! beyond the process; everything else in the [`Engine`] contract it keeps in the simplest
//! way: one ordered map, replaced copy-on-write, so that a snapshot is an `Arc` of the map as
//! it was.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock};

use crate::engine::{Batch, BatchOp, Engine, EngineError, SnapshotIter};

/// An ordered map in memory, behind the [`Engine`] trait.
#[derive(Debug, Default)]
pub struct MemEngine {
    map: RwLock<Arc<BTreeMap<Vec<u8>, Vec<u8>>>>,
}

impl MemEngine {
    /// An empty engine.
    pub fn new() -> MemEngine {
        MemEngine::default()
    }

    /// Every pair, ascending (a copy).
    pub fn pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.current().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn current(&self) -> Arc<BTreeMap<Vec<u8>, Vec<u8>>> {
        Arc::clone(&self.map.read().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Applies `batch` to `map`, in order: the rule every engine follows.
pub fn apply_batch(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, batch: &Batch) {
    for op in batch.ops() {
        match op {
            BatchOp::Put { key, value } => {
                map.insert(key.clone(), value.clone());
            }
            BatchOp::Delete { key } => {
                map.remove(key);
            }
        }
    }
}

/// The pairs of `map` with `start <= key < end`, ascending, at most `limit`: the rule of
/// [`Engine::range`] on an ordered map.
pub fn range_of(
    map: &BTreeMap<Vec<u8>, Vec<u8>>,
    start: &[u8],
    end: Option<&[u8]>,
    limit: usize,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if end.is_some_and(|end| end <= start) {
        return Vec::new();
    }
    let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
    map.range::<[u8], _>((Bound::Included(start), upper)).take(limit).map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Engine for MemEngine {
    fn name(&self) -> &'static str {
        "mem"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.current().get(key).cloned())
    }

    fn range(&self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        Ok(range_of(&self.current(), start, end, limit))
    }

    fn write(&self, batch: &Batch) -> Result<(), EngineError> {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        // Copy-on-write: a snapshot still holding the old map keeps it unchanged.
        apply_batch(Arc::make_mut(&mut map), batch);
        Ok(())
    }

    fn flush(&self) -> Result<(), EngineError> {
        Ok(())
    }

    fn snapshot(&self) -> Result<SnapshotIter, EngineError> {
        let map = self.current();
        let pairs: Vec<_> = map.iter().map(|(k, v)| Ok((k.clone(), v.clone()))).collect();
        Ok(Box::new(pairs.into_iter()))
    }
}
