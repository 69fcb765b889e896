//! What the tests build engines and runtimes with: fresh engines of each kind, openraft's
//! storage suite over them, a small runtime. Nothing here checks anything.

use std::path::Path;
use std::sync::Arc;

use distributed::vfs::SimFs;
use openraft::testing::{StoreBuilder, Suite};

use super::store::{LogStore, StateMachineStore, open};
use super::{StorageError, TypeConfig};
use crate::engine::{Engine, EngineError};
use crate::files::{FilesEngine, FilesOptions};
use crate::mem::MemEngine;
use crate::redb_engine::RedbEngine;

/// The directory of a node's files engine on its disk.
pub const NODE_DIR: &str = "node";

/// A single-threaded runtime with timers: what the tests and the cluster run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime builds")
}

/// The engines the storage suite runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// [`MemEngine`].
    Mem,
    /// [`FilesEngine`] over a fresh `SimFs`.
    Files,
    /// [`RedbEngine`] over a fresh `SimFs`.
    Redb,
}

/// Opens the files engine of a node on `fs` (an existing one, after a crash, or a new one).
pub fn files_on(fs: &SimFs) -> Result<Arc<dyn Engine>, EngineError> {
    Ok(Arc::new(FilesEngine::open(Arc::new(fs.clone()), NODE_DIR, FilesOptions::default())?))
}

impl Backend {
    /// A fresh engine of this kind; `seed` seeds its simulated disk.
    pub fn fresh(self, seed: u64) -> Result<Arc<dyn Engine>, EngineError> {
        match self {
            Backend::Mem => Ok(Arc::new(MemEngine::new())),
            Backend::Files => files_on(&SimFs::new(seed)),
            Backend::Redb => Ok(Arc::new(RedbEngine::open(Arc::new(SimFs::new(seed)), Path::new("node.redb"))?)),
        }
    }
}

/// Builds the adapters over a fresh engine for each of openraft's suite's cases.
#[derive(Clone, Copy, Debug)]
pub struct EngineStoreBuilder {
    /// The kind of engine.
    pub backend: Backend,
    /// The seed of its disk.
    pub seed: u64,
}

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore> for EngineStoreBuilder {
    async fn build(&self) -> Result<((), LogStore, StateMachineStore), StorageError> {
        let engine = self
            .backend
            .fresh(self.seed)
            .map_err(|e| StorageError::from(openraft::StorageIOError::write(openraft::AnyError::new(&e))))?;
        let (log, state_machine) = open(engine)?;
        Ok(((), log, state_machine))
    }
}

/// Runs openraft's own storage suite (`Suite::test_all`) against the adapters on `backend`.
/// Its assertions panic; this returns their message (or the storage error) instead, so a test
/// can report it under an invariant's name.
pub fn openraft_suite(backend: Backend, seed: u64) -> Result<(), String> {
    let builder = EngineStoreBuilder { backend, seed };
    match std::panic::catch_unwind(|| Suite::test_all(builder)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("storage error: {e}")),
        Err(payload) => Err(distributed::check::panic_text(payload.as_ref())),
    }
}
