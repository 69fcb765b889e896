use std::io;

use distributed::storage::SnapshotMeta;

/// Why a snapshot operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A save of a snapshot that is not newer than the newest one held: its last index is not
    /// higher, or its term is lower. (raft-rs calls this `SnapshotOutOfDate`.)
    #[error("snapshot {got:?} is not newer than the newest held, {latest:?}")]
    OutOfDate {
        /// The newest snapshot held.
        latest: SnapshotMeta,
        /// The snapshot refused.
        got: SnapshotMeta,
    },
    /// Options that cannot work: `keep` must be at least 1.
    #[error("invalid options: {0}")]
    InvalidOptions(&'static str),
    /// Snapshots were stored, but every one of them is damaged and was set aside. Not
    /// `Ok(None)`: "no snapshot" would tell recovery to replay the log from index 1, and the
    /// log's prefix was compacted on the strength of these snapshots.
    #[error("[checksum] every snapshot in the store is damaged; set aside: {set_aside:?}")]
    NoValidSnapshot {
        /// The names of the files set aside (ending in `.snap.broken`).
        set_aside: Vec<String>,
    },
    /// The temporary file read back differently from what was written.
    #[error("[checksum] {file} read back differently from what was written: {reason}")]
    VerifyFailed {
        /// The temporary file.
        file: String,
        /// What was wrong.
        reason: String,
    },
    /// An earlier sync or rename failed; the store saves nothing more until it is reopened.
    #[error("[fail-stop] an earlier sync or rename failed; reopen the store to recover")]
    Poisoned,
    /// The snapshot's data is not a valid encoding of the requested state type.
    #[error("snapshot state encoding: {0}")]
    Codec(#[from] postcard::Error),
    /// The filesystem failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}
