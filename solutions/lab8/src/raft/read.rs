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

/// Reads `key` so that the answer reflects every write acknowledged before the call started:
/// the barrier is the log id up to which the leader had committed when a quorum confirmed its
/// leadership, and the read waits until the state machine has applied it. Returns the value
/// and that log id (the read index).
pub async fn read_linearizable(
    raft: &Raft,
    state_machine: &StateMachineStore,
    key: &str,
) -> Result<(Option<Vec<u8>>, Option<LogId>), ReadError> {
    let read_index = match raft.ensure_linearizable().await {
        Ok(read_index) => read_index,
        Err(e) => {
            return Err(match e.forward_to_leader() {
                Some(forward) => ReadError::NotLeader { leader: forward.leader_id },
                None => ReadError::Raft(e.to_string()),
            });
        }
    };
    // ensure_linearizable returned after the state machine's applied log id reached the read
    // index: the engine holds at least that state.
    let value = state_machine.get(key)?;
    Ok((value, read_index))
}
