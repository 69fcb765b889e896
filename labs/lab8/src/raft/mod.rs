//! openraft's storage traits over any [`Engine`](crate::engine::Engine), and a three-node
//! cluster (part 2 of the lab).
//!
//! Given (identical in the handout and the reference): the type configuration, the key
//! layout ([`keys`]), the in-memory network and the cluster harness ([`cluster`]), and the
//! recorder of a node's engine calls ([`record`]). Yours: [`store`] (the adapters) and
//! [`read`] (the linearizable read).
//!
//! Everything a node keeps goes through one `Arc<dyn Engine>`: log entries, the vote, the
//! committed log id, the last purged log id, the state machine (lab 4's key-value semantics,
//! its applied log id, its membership and its log time) and the current snapshot. So the same
//! adapters run on every engine.

// openraft's `StorageError` is large, and the storage traits return it: so do the helpers.
#![allow(clippy::result_large_err)]

pub mod cluster;
pub mod harness;
pub mod keys;
pub mod read;
pub mod record;
pub mod store;

use std::io::Cursor;

/// The crates the tests reach through this module (so they need no dependencies of their own).
pub use {lab4, openraft, tokio};

pub use cluster::{Cluster, ClusterError, Router};
pub use read::{ReadError, read_linearizable};
pub use record::{Call, DurableView, RecordingEngine};
pub use store::{LogStore, SnapshotBuilder, StateMachineStore, open};

/// A node's id in the cluster.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The type configuration of the course's Raft: lab 4's commands and outputs, `u64` node
    /// ids, snapshots as bytes in memory, tokio as the runtime.
    pub TypeConfig:
        D = lab4::Command,
        R = lab4::Output,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime
);

/// A Raft node of this configuration.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// A log id (term, leader, index).
pub type LogId = openraft::LogId<NodeId>;
/// A vote (term, candidate, committed).
pub type Vote = openraft::Vote<NodeId>;
/// What the storage adapters return on failure.
pub type StorageError = openraft::StorageError<NodeId>;
/// A snapshot's metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, openraft::BasicNode>;
/// A membership with the log id of the entry that carried it.
pub type StoredMembership = openraft::StoredMembership<NodeId, openraft::BasicNode>;

/// The state machine's image inside a snapshot: postcard of this, keys in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotImage {
    /// Lab 4's log time: the largest command timestamp applied.
    pub log_time: u64,
    /// Every key and value of the state machine, in key order.
    pub pairs: Vec<(String, Vec<u8>)>,
}

impl SnapshotImage {
    /// The bytes of the image.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Reads an image; damaged bytes are an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<SnapshotImage, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}
