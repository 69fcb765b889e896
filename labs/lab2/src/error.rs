use std::io;

use lab1::WalError;

use crate::report::{LogReport, RecoveryMode};

/// Why a scan, a recovery or a repair failed.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// The log holds damage that the recovery mode does not allow to cut. Nothing on disk was
    /// changed; the report says what was found where.
    #[error("[checksum] recovery mode {mode:?} refuses this log: {report}")]
    Refused {
        /// The mode that refused.
        mode: RecoveryMode,
        /// What the scan found.
        report: Box<LogReport>,
    },
    /// The peer's entries cannot repair the log: a gap, a wrong count, a term that goes back,
    /// or an entry at the boundary that differs from the one kept.
    #[error("[matching] the peer's entries cannot repair the log: {reason}")]
    PeerMismatch {
        /// What was wrong with them.
        reason: String,
    },
    /// The peer could not send the entries.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The log on disk is not what the report given to
    /// [`repair_from_peer`](crate::repair_from_peer) describes: scan again.
    #[error("the report is out of date: the log changed since it was scanned")]
    StaleReport,
    /// Lab 1's log failed to open or append after the repair.
    #[error("the log: {0}")]
    Wal(#[from] WalError),
    /// The filesystem failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Why a [`Peer`](crate::Peer) could not send entries.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the peer could not send entries: {0}")]
pub struct PeerError(pub String);
