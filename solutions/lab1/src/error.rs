use std::io;

use distributed::storage::{Index, Term};

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// An append that does not continue the log: a gap, or an index already used.
    #[error("[append-only] entry {got} does not continue the log: the next index is {expected}")]
    NotContiguous {
        /// The index the next entry must have.
        expected: Index,
        /// The index it had.
        got: Index,
    },
    /// An entry whose term is lower than the entry before it.
    #[error("[append-only] entry {index} has term {got}, lower than the previous entry's term {previous}")]
    TermRegression {
        /// The entry's index.
        index: Index,
        /// The term of the entry before it.
        previous: Term,
        /// Its term.
        got: Term,
    },
    /// A read of an entry discarded by compaction.
    #[error("entry {index} was compacted: the log starts at {first_index}")]
    Compacted {
        /// The index asked for.
        index: Index,
        /// The first index still held.
        first_index: Index,
    },
    /// A read past the end of the log.
    #[error("entry {index} is past the end of the log (last index {last_index})")]
    Unavailable {
        /// The index asked for.
        index: Index,
        /// The last index held.
        last_index: Index,
    },
    /// A truncation that would cut into the compacted prefix.
    #[error("[prefix-compaction] cannot truncate from {from}: entries before {first_index} were compacted")]
    TruncateCompacted {
        /// Where the truncation was to start.
        from: Index,
        /// The first index still held.
        first_index: Index,
    },
    /// An entry too large for a record.
    #[error("entry data of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The data's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Damage that recovery must not repair silently.
    #[error("[checksum] {file} at offset {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        file: String,
        /// Where in it.
        offset: u64,
        /// What was found.
        reason: String,
    },
    /// An earlier write or sync failed; the log acknowledges nothing more until it is reopened.
    #[error("[fail-stop] an earlier write or sync failed; reopen the log to recover")]
    Poisoned,
    /// The filesystem failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}
