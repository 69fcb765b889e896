//! Tasks 1 to 5: the idempotency store. Lab 4's key-value state machine, with idempotency
//! records beside it in the same state, written by the same log entries.
//!
//! The public API below is fixed (the tests, the service and the benchmark use it);
//! everything behind it is yours to design. Add private fields, types and functions as you
//! need.

use distributed::storage::StateMachineStorage;
use lab4::{KvStore, Output};
use serde::{Deserialize, Serialize};

use crate::IdemError;
use crate::request::{DownstreamKey, Fingerprint, Outcome, RecordKey};

/// The store's rules. Every replica of one state machine must use the same configuration, as
/// it must run the same code: the configuration decides what `apply` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdemConfig {
    /// How long a record lives, in log time (milliseconds) from its creation: the retry
    /// window. A retry within it gets the stored result; one after it is a new request.
    pub ttl: u64,
    /// How long an in-progress marker is held for the attempt that placed it, in log time.
    /// A duplicate within the lease gets [`IdemOutput::InProgress`]; the first one after it
    /// takes the marker over (the attempt that held it is presumed dead).
    pub lease: u64,
    /// At most this many expired records are removed per applied entry. Each entry creates
    /// at most one record, so any value of 2 or more removes expired records faster than
    /// they can pile up, and no entry does more than this much collecting.
    pub gc_per_apply: usize,
}

impl Default for IdemConfig {
    /// A day's retry window (Stripe prunes its keys after 24 hours), a 30-second lease, and
    /// up to 8 records collected per entry.
    fn default() -> IdemConfig {
        IdemConfig { ttl: 24 * 60 * 60 * 1000, lease: 30_000, gc_per_apply: 8 }
    }
}

/// One idempotency record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The fingerprint of the request that created it.
    pub fingerprint: Fingerprint,
    /// The log time at which it was created.
    pub created: u64,
    /// The log time from which it no longer exists: `created + ttl`.
    pub expires_at: u64,
    /// What it holds.
    pub state: RecordState,
}

/// What a record holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordState {
    /// Layer (a): the output of the operation, stored by the entry that ran it.
    Applied(Output),
    /// Layer (b): a side effect is under way.
    InProgress {
        /// The key every attempt gives the other system.
        downstream_key: DownstreamKey,
        /// The attempt holding the marker (1 for the first).
        attempt: u32,
        /// The log time at which that attempt's lease ends.
        lease_until: u64,
    },
    /// Layer (b): the side effect's final outcome.
    Completed(Outcome),
}

/// Counts and sizes, for monitoring and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Records held, live or expired but not yet collected.
    pub records: usize,
    /// Records holding an in-progress marker.
    pub in_progress: usize,
    /// Records held whose TTL has passed in log time (they wait for garbage collection).
    pub expired: usize,
    /// Records removed by garbage collection since the store was created (carried by
    /// snapshots).
    pub collected: u64,
    /// An estimate of the memory the records take: their keys (in the map and in the expiry
    /// index), their fixed-size parts and the bytes of their results. Allocator and tree-node
    /// overhead is not included.
    pub record_bytes: usize,
}

/// The state machine of lab 6: lab 4's [`KvStore`] and the idempotency records, one state.
///
/// What it must do (the tests check each):
///
/// - **one entry, effect and record together** (layer a): an [`crate::IdemOp::Execute`] on a
///   miss runs its operation on the key-value state and stores the output, a
///   [`Output::Rejected`] included, in a new record; on a hit it answers
///   [`crate::IdemOutput::Replayed`] with the stored output and runs nothing; a live record
///   created with another fingerprint answers [`crate::IdemOutput::Conflict`];
/// - **log time is the only clock**: `log_time` is the largest timestamp applied (it never
///   runs backwards when a new leader's clock is behind); a record created at log time `t`
///   lives while `log_time < t + ttl`, and is treated as absent from then on, collected or
///   not. `apply` reads no clock of the machine, and neither does [`IdemStore::lookup`];
/// - **bounded, deterministic collection**: each applied entry removes at most
///   `gc_per_apply` expired records, oldest expiry first, and never a live one;
/// - **markers** (layer b): see [`crate::IdemOp::Begin`], [`crate::IdemOp::Finish`] and
///   [`crate::IdemOp::Release`]. A marker's downstream key is
///   [`DownstreamKey::derive`] of the record and its creation time, and stays the same for
///   every attempt; a `Begin` within the holder's lease answers
///   [`crate::IdemOutput::InProgress`], one at or after `lease_until` takes the marker over
///   (attempt + 1, a new lease of `lease`); `Release` sets the holder's `lease_until` to now;
/// - **images**: equal states give equal bytes, and a restore brings back the records, the
///   key-value state, the clock and the count of collected records, keeping this store's
///   configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdemStore {
    // Your fields here.
}

impl IdemStore {
    /// An empty store with these rules.
    pub fn new(config: IdemConfig) -> IdemStore {
        todo!("Task 1: an empty store with {config:?}")
    }

    /// The store's rules.
    pub fn config(&self) -> IdemConfig {
        todo!("Task 1: the configuration")
    }

    /// The business state.
    pub fn kv(&self) -> &KvStore {
        todo!("Task 1: the key-value state")
    }

    /// The largest command timestamp applied so far (log time), 0 before any.
    pub fn log_time(&self) -> u64 {
        todo!("Task 2: the log time")
    }

    /// The live record of `record` at the current log time, if any. An expired record is
    /// `None` even before garbage collection removed it.
    pub fn lookup(&self, record: &RecordKey) -> Option<&Record> {
        todo!("Task 2: look up {record:?} at the log time")
    }

    /// Counts and sizes of the records.
    pub fn stats(&self) -> StoreStats {
        todo!("Task 3: count the records")
    }
}

impl StateMachineStorage for IdemStore {
    type Error = IdemError;

    /// Applies one committed entry's data: an encoded [`crate::IdemCommand`], or empty data (a
    /// leader's no-op entry), which changes nothing and returns [`crate::IdemOutput::Plain`] of
    /// [`Output::Done`]. Returns the encoded [`crate::IdemOutput`]. Data that is not a command
    /// is [`IdemError::BadCommand`], and changes nothing.
    fn apply(&mut self, entry: &[u8]) -> Result<Vec<u8>, IdemError> {
        todo!("Tasks 1, 2, 3 and 5: apply a command of {} bytes", entry.len())
    }

    /// The state as bytes: the business state, the records, the clock and the count of
    /// records collected. Equal states give equal bytes.
    fn snapshot(&self) -> Result<Vec<u8>, IdemError> {
        todo!("Task 4: encode the state")
    }

    /// Replaces the whole state with one from [`StateMachineStorage::snapshot`], keeping this
    /// store's configuration. Bytes that are not such an image are [`IdemError::BadImage`],
    /// and leave the state as it was.
    fn restore(&mut self, image: &[u8]) -> Result<(), IdemError> {
        todo!("Task 4: restore the state from an image of {} bytes", image.len())
    }
}
