use std::io;

use distributed::storage::SnapshotMeta;

use crate::format::{ChunkId, FormatError};

/// Why a chunk store operation failed.
///
/// The variants whose message starts with an invariant in brackets are refusals that protect
/// it; nothing changed on disk when one of them is returned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A save of a snapshot older than the store's newest.
    #[error("snapshot {got:?} is older than the newest held, {latest:?}")]
    OutOfDate {
        /// The newest snapshot held.
        latest: SnapshotMeta,
        /// The snapshot refused.
        got: SnapshotMeta,
    },
    /// The manifest file exists but is damaged. Not treated as "no snapshot": the log's
    /// prefix was compacted on the strength of it.
    #[error("[checksum] the manifest is damaged: {0}")]
    ManifestCorrupt(FormatError),
    /// A chunk file is damaged, or holds another chunk than its name says.
    #[error("[checksum] chunk {id} is damaged: {reason}")]
    ChunkCorrupt {
        /// The chunk asked for.
        id: ChunkId,
        /// What is wrong with its file.
        reason: FormatError,
    },
    /// A chunk the manifest (or an image, or a frozen view's seal) names is not in the store.
    #[error("[gc-safety] chunk {id} is listed but not in the store")]
    MissingChunk {
        /// The chunk.
        id: ChunkId,
    },
    /// The temporary manifest read back differently from what was written.
    #[error("[atomic-write] the temporary manifest read back differently from what was written")]
    VerifyFailed,
    /// An image that is not one `ChunkedKv` wrote.
    #[error("bad image: {0}")]
    BadImage(String),
    /// A codec this build does not include.
    #[error("chunk encoding: {0}")]
    Codec(FormatError),
    /// An earlier write, sync or rename failed; the store saves nothing more until reopened.
    #[error("[fail-stop] an earlier write or sync failed; reopen the store to recover")]
    Poisoned,
    /// The filesystem failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Why a [`crate::SnapshottingReplica`] operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The replica (lab 4) failed.
    #[error("replica: {0}")]
    Replica(#[from] lab4::ReplicaError),
    /// The chunk store failed.
    #[error("chunk store: {0}")]
    Store(#[from] StoreError),
    /// A streamed snapshot's manifest lists chunks that were not received.
    #[error("[atomic-write] the streamed snapshot still lacks {missing} chunks")]
    Incomplete {
        /// How many chunks are missing.
        missing: usize,
    },
}
