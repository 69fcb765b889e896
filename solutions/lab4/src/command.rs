//! The commands a client submits, as they travel in log entries, and the outputs the state
//! machine returns. Given: the tests, the grader and labs 5–7 build entries with these types.
//!
//! An entry's `data` is a [`Command`] encoded with postcard, or empty: Raft leaders append an
//! empty entry at the start of their term (a no-op that commits the entries of earlier terms),
//! and applying it changes nothing.
//!
//! Every command carries a `timestamp`: the leader's clock when it accepted the command, in
//! milliseconds. It is *log time*. A state machine that needs a clock (the TTLs of lab 6)
//! reads it from the entries it applies, never from the machine it runs on, so every replica,
//! and every replay, decides the same.

use serde::{Deserialize, Serialize};

use crate::KvError;

/// One client command, as carried by a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The leader's clock when it accepted the command, in milliseconds (log time).
    pub timestamp: u64,
    /// What to do.
    pub op: Op,
}

/// What a command does to the key-value state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Nothing; the output is [`Output::Done`].
    Noop,
    /// Sets `key` to `value`; the output is the previous value.
    Put {
        /// The key.
        key: String,
        /// Its new value.
        value: Vec<u8>,
    },
    /// Removes `key`; the output is the previous value.
    Delete {
        /// The key.
        key: String,
    },
    /// Adds `delta` to the counter at `key` (8 bytes, little-endian `i64`; a missing key counts
    /// as 0) and stores the sum; the output is [`Output::Counter`] with the new value. Applying
    /// it twice is visible, which is why the tests use it to catch a double apply. A value that
    /// is not 8 bytes, or a sum that overflows, is [`Output::Rejected`] and changes nothing.
    Increment {
        /// The key.
        key: String,
        /// What to add.
        delta: i64,
    },
    /// Several writes that take effect together, in order: a reader sees all of them or none
    /// (lab 5). The output is [`Output::Done`].
    Batch(Vec<Write>),
}

/// One write of a [`Op::Batch`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Write {
    /// Sets a key.
    Put {
        /// The key.
        key: String,
        /// Its new value.
        value: Vec<u8>,
    },
    /// Removes a key.
    Delete {
        /// The key.
        key: String,
    },
}

/// What applying a command returned to the client. Part of the state machine's contract:
/// replaying the same entries must return the same outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// Applied; nothing to report.
    Done,
    /// The value the key held before the command (`None` if it was absent).
    Previous(Option<Vec<u8>>),
    /// The counter's value after an [`Op::Increment`].
    Counter(i64),
    /// The command was refused by the state machine's own rules and changed nothing. This is
    /// an answer, not a failure: it is deterministic, so every replica refuses it alike.
    Rejected(String),
}

impl Command {
    /// A command stamped with log time `timestamp`.
    pub fn new(timestamp: u64, op: Op) -> Command {
        Command { timestamp, op }
    }

    /// The bytes of a log entry's `data`.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding a command into a Vec cannot fail")
    }

    /// Reads a command from a log entry's `data` (which must not be empty: see
    /// [`crate::KvStore`] for the no-op entry).
    pub fn decode(bytes: &[u8]) -> Result<Command, KvError> {
        postcard::from_bytes(bytes).map_err(|e| KvError::BadCommand(e.to_string()))
    }
}

impl Output {
    /// The bytes [`distributed::storage::StateMachineStorage::apply`] returns.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding an output into a Vec cannot fail")
    }

    /// Reads an output returned by `apply`.
    pub fn decode(bytes: &[u8]) -> Result<Output, KvError> {
        postcard::from_bytes(bytes).map_err(|e| KvError::BadCommand(e.to_string()))
    }
}
