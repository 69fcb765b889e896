//! Task 5: linearizable reads through openraft, lab 5's read barrier in Raft's terms.

use super::store::StateMachineStore;
use super::{LogId, NodeId, Raft, StorageError};

/// Why a linearizable read was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// This node is not the leader (or could not confirm it with a quorum); `leader` is the one
    /// it knows of, if any.
    #[error("not the leader; try {leader:?}")]
    NotLeader {
        /// The leader this node knows of.
        leader: Option<NodeId>,
    },
    /// The Raft node failed (it is shutting down, for instance).
    #[error("raft: {0}")]
    Raft(String),
    /// The state machine could not be read.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// Reads `key` so that the answer reflects every write acknowledged before the call started.
/// Returns the value and the read index (the log id the state machine had to reach).
pub async fn read_linearizable(
    raft: &Raft,
    state_machine: &StateMachineStore,
    key: &str,
) -> Result<(Option<Vec<u8>>, Option<LogId>), ReadError> {
    let _ = (raft, state_machine);
    todo!("Task 5: the read barrier, then read {key:?}")
}
