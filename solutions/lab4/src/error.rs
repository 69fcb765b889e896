use std::io;

use distributed::storage::{Index, SnapshotMeta, Term};

/// Why the key-value state machine could not apply an entry or restore an image.
///
/// These are failures, not answers: a command the state machine refuses by its own rules is
/// [`crate::Output::Rejected`]. A replica that meets a `KvError` stops applying, because the
/// log or the snapshot holds something no correct leader wrote.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// An entry's data is not an encoded [`crate::Command`].
    #[error("entry data is not a command: {0}")]
    BadCommand(String),
    /// A snapshot image is not one [`crate::KvStore`] wrote.
    #[error("snapshot image is not a key-value state: {0}")]
    BadImage(String),
}

/// Why a replica operation failed.
///
/// The variants whose message starts with an invariant in brackets are refusals that protect
/// that invariant; nothing changed on disk when one of them is returned.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The log failed (lab 1).
    #[error("log: {0}")]
    Log(#[from] lab1::WalError),
    /// Verifying or repairing the log on open failed or was refused (lab 2).
    #[error("log recovery: {0}")]
    Recovery(#[from] lab2::RepairError),
    /// The snapshot store failed (lab 3).
    #[error("snapshots: {0}")]
    Snapshot(#[from] lab3::SnapshotError),
    /// The filesystem failed (the hard-state file).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The hard-state file exists but is damaged. Not treated as "no hard state": that would
    /// move the commit point back to 0.
    #[error("[persisted-commit] the hard state in {file} is damaged: {reason}")]
    HardStateCorrupt {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The state machine failed to apply an entry or restore an image.
    #[error("state machine at index {index}: {reason}")]
    StateMachine {
        /// The entry being applied (or the snapshot's last index, for a restore).
        index: Index,
        /// The state machine's error.
        reason: String,
    },
    /// A leader's entries would remove committed entries: a conflict at or below
    /// `commit_index`. A correct leader never sends this; the replica refuses it.
    #[error("[persisted-commit] entries conflict at index {index}, but entries up to {commit} are committed")]
    TruncateCommitted {
        /// The first conflicting index.
        index: Index,
        /// The commit index.
        commit: Index,
    },
    /// Entries that leave a gap after the last log index.
    #[error("[append-only] entries start at {got}, but the log ends at {last_index}")]
    Gap {
        /// The first entry's index.
        got: Index,
        /// The replica's last log index.
        last_index: Index,
    },
    /// A commit past the last log index: the replica cannot commit entries it does not hold.
    #[error("[monotonic] cannot commit {index}: the log ends at {last_index}")]
    CommitBeyondLog {
        /// The index asked for.
        index: Index,
        /// The last log index.
        last_index: Index,
    },
    /// A term (or a vote within a term) that would go backwards.
    #[error("[monotonic] term {got} (vote {got_vote:?}) would replace term {current} (vote {current_vote:?})")]
    TermRegression {
        /// The persisted term.
        current: Term,
        /// The persisted vote.
        current_vote: Option<u64>,
        /// The term asked for.
        got: Term,
        /// The vote asked for.
        got_vote: Option<u64>,
    },
    /// On open: what is on disk does not fit together, and no recovery can make it: the log
    /// starts after the snapshot ends (a gap no entry covers), the persisted commit index lies
    /// past everything held, or the log disagrees with the snapshot at a committed index.
    #[error(
        "[recovery-equivalence] the replica's files do not fit together: {reason} (snapshot {snapshot:?}, log {log_first}..={log_last}, commit {commit})"
    )]
    Inconsistent {
        /// What does not fit.
        reason: String,
        /// The newest valid snapshot's metadata (0, 0 if none).
        snapshot: SnapshotMeta,
        /// The log's first index.
        log_first: Index,
        /// The log's last index.
        log_last: Index,
        /// The persisted commit index.
        commit: Index,
    },
    /// `compact_to` was asked to discard the log up to a snapshot that the snapshot store does
    /// not hold durably as its newest, that covers entries not applied yet, or whose last term
    /// is not the log's. Nothing changed.
    #[error("[prefix-compaction] cannot compact the log to the snapshot {requested:?}: {reason}")]
    CompactRefused {
        /// The snapshot the log was to be compacted to.
        requested: SnapshotMeta,
        /// Why not.
        reason: String,
    },
    /// An earlier failure left the replica in a state it cannot vouch for; reopen it.
    #[error("[fail-stop] an earlier write or sync failed; reopen the replica to recover")]
    Poisoned,
}
