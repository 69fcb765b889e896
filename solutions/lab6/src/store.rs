//! The idempotency store: lab 4's key-value state machine, with idempotency records beside it
//! in the same state, written by the same log entries.

use std::collections::{BTreeMap, BTreeSet};
use std::mem::size_of;

use distributed::storage::StateMachineStorage;
use lab4::{Command, KvStore, Op, Output};
use serde::{Deserialize, Serialize};

use crate::IdemError;
use crate::request::{DownstreamKey, Fingerprint, IdemCommand, IdemOp, IdemOutput, Outcome, RecordKey, Request};

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
/// Design choices of this solution:
///
/// - records live in a `BTreeMap` keyed by [`RecordKey`], and an expiry index, a
///   `BTreeSet<(expires_at, key)>`, orders them by the log time at which they expire. Both
///   iterate in one order in every process, so images are canonical;
/// - the clock is `log_time`, the largest timestamp applied (lab 4's rule), read from the
///   entries and never from the machine. A record is *live* while `log_time < expires_at`;
///   an expired record is treated as absent at once, whether or not it was collected;
/// - garbage collection runs inside `apply`, after the clock moves: the expiry index's first
///   entries, up to `gc_per_apply`, while they are expired. Replicas and replays collect the
///   same records at the same index, and no entry pays for more than a bounded amount;
/// - the snapshot image holds the map, the records and the clock; the expiry index is
///   derived, so it is rebuilt on restore rather than stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdemStore {
    config: IdemConfig,
    kv: KvStore,
    log_time: u64,
    records: BTreeMap<RecordKey, Record>,
    expiry: BTreeSet<(u64, RecordKey)>,
    collected: u64,
}

/// The snapshot image, as postcard encodes it.
#[derive(Serialize, Deserialize)]
struct Image {
    log_time: u64,
    collected: u64,
    kv: Vec<u8>,
    records: Vec<(RecordKey, Record)>,
}

/// What a lookup of a request's record found.
enum Found<'a> {
    /// No live record.
    Miss,
    /// A live record created by a request with the same fingerprint.
    Hit(&'a Record),
    /// A live record created by a request with another body.
    Conflict(Fingerprint),
}

impl IdemStore {
    /// An empty store with these rules.
    pub fn new(config: IdemConfig) -> IdemStore {
        IdemStore { config, ..IdemStore::default() }
    }

    /// The store's rules.
    pub fn config(&self) -> IdemConfig {
        self.config
    }

    /// The business state.
    pub fn kv(&self) -> &KvStore {
        &self.kv
    }

    /// The largest command timestamp applied so far (log time), 0 before any.
    pub fn log_time(&self) -> u64 {
        self.log_time
    }

    /// The live record of `record` at the current log time, if any. An expired record is
    /// `None` even before garbage collection removed it.
    pub fn lookup(&self, record: &RecordKey) -> Option<&Record> {
        self.records.get(record).filter(|held| held.expires_at > self.log_time)
    }

    /// Counts and sizes of the records.
    pub fn stats(&self) -> StoreStats {
        let mut stats = StoreStats { records: self.records.len(), collected: self.collected, ..StoreStats::default() };
        for (key, record) in &self.records {
            if matches!(record.state, RecordState::InProgress { .. }) {
                stats.in_progress += 1;
            }
            if record.expires_at <= self.log_time {
                stats.expired += 1;
            }
            let result_bytes = match &record.state {
                RecordState::Applied(output) => output_heap_bytes(output),
                RecordState::InProgress { downstream_key, .. } => downstream_key.0.len(),
                RecordState::Completed(Outcome::Success(bytes)) => bytes.len(),
                RecordState::Completed(Outcome::Failure(reason)) => reason.len(),
            };
            stats.record_bytes +=
                2 * (size_of::<RecordKey>() + key.heap_bytes()) + size_of::<u64>() + size_of::<Record>() + result_bytes;
        }
        stats
    }

    /// Runs one decoded command at log time `now` (already the clock after this entry).
    fn execute(&mut self, now: u64, op: IdemOp, timestamp: u64) -> IdemOutput {
        match op {
            IdemOp::Plain(op) => IdemOutput::Plain(self.run(timestamp, op)),
            IdemOp::Execute { request, op } => match self.find(&request, now) {
                Found::Conflict(stored) => IdemOutput::Conflict { stored, got: request.fingerprint },
                Found::Hit(Record { state: RecordState::Applied(output), .. }) => IdemOutput::Replayed(output.clone()),
                Found::Hit(record) => IdemOutput::Conflict { stored: record.fingerprint, got: request.fingerprint },
                Found::Miss => {
                    let output = self.run(timestamp, op);
                    self.insert(&request, now, RecordState::Applied(output.clone()));
                    IdemOutput::Executed(output)
                }
            },
            IdemOp::Begin { request } => self.begin(&request, now),
            IdemOp::Finish { request, outcome } => self.finish(&request, now, outcome),
            IdemOp::Release { request, attempt } => self.release(&request, now, attempt),
        }
    }

    /// Layer (b), step 1: a new marker on a miss; the same marker, with the same downstream
    /// key, for a retry that comes after the lease of the attempt holding it.
    fn begin(&mut self, request: &Request, now: u64) -> IdemOutput {
        let lease = self.config.lease;
        match self.find(request, now) {
            Found::Conflict(stored) => IdemOutput::Conflict { stored, got: request.fingerprint },
            Found::Hit(Record { state: RecordState::Completed(outcome), .. }) => {
                IdemOutput::AlreadyCompleted(outcome.clone())
            }
            Found::Hit(Record { state: RecordState::Applied(_), fingerprint, .. }) => {
                IdemOutput::Conflict { stored: *fingerprint, got: request.fingerprint }
            }
            Found::Hit(Record { state: RecordState::InProgress { attempt, lease_until, .. }, .. })
                if *lease_until > now =>
            {
                IdemOutput::InProgress { attempt: *attempt, lease_until: *lease_until }
            }
            Found::Hit(_) => {
                let Some(record) = self.records.get_mut(&request.record) else { unreachable!("a hit is held") };
                let RecordState::InProgress { downstream_key, attempt, lease_until } = &mut record.state else {
                    unreachable!("the arms above took every other state")
                };
                *attempt += 1;
                *lease_until = now.saturating_add(lease);
                IdemOutput::Begun { downstream_key: downstream_key.clone(), attempt: *attempt, resumed: true }
            }
            Found::Miss => {
                let downstream_key = DownstreamKey::derive(&request.record, now);
                let state = RecordState::InProgress {
                    downstream_key: downstream_key.clone(),
                    attempt: 1,
                    lease_until: now.saturating_add(lease),
                };
                self.insert(request, now, state);
                IdemOutput::Begun { downstream_key, attempt: 1, resumed: false }
            }
        }
    }

    /// Layer (b), step 3: the outcome replaces the marker, whichever attempt reports it (they
    /// all called the other system with the same key, so they all got the same outcome).
    fn finish(&mut self, request: &Request, now: u64, outcome: Outcome) -> IdemOutput {
        match self.find(request, now) {
            Found::Conflict(stored) => IdemOutput::Conflict { stored, got: request.fingerprint },
            Found::Miss => IdemOutput::NoMarker,
            Found::Hit(Record { state: RecordState::Completed(stored), .. }) => {
                IdemOutput::AlreadyCompleted(stored.clone())
            }
            Found::Hit(Record { state: RecordState::Applied(_), fingerprint, .. }) => {
                IdemOutput::Conflict { stored: *fingerprint, got: request.fingerprint }
            }
            Found::Hit(_) => {
                if let Some(record) = self.records.get_mut(&request.record) {
                    record.state = RecordState::Completed(outcome.clone());
                }
                IdemOutput::Completed(outcome)
            }
        }
    }

    /// Layer (b), a call that failed without a definitive answer: the lease of `attempt`
    /// ends now, so the next retry takes the marker over at once.
    fn release(&mut self, request: &Request, now: u64, released: u32) -> IdemOutput {
        match self.find(request, now) {
            Found::Conflict(stored) => IdemOutput::Conflict { stored, got: request.fingerprint },
            Found::Hit(Record { state: RecordState::Completed(stored), .. }) => {
                IdemOutput::AlreadyCompleted(stored.clone())
            }
            Found::Hit(Record { state: RecordState::InProgress { attempt, .. }, .. }) if *attempt == released => {
                if let Some(Record { state: RecordState::InProgress { lease_until, .. }, .. }) =
                    self.records.get_mut(&request.record)
                {
                    *lease_until = now;
                }
                IdemOutput::Released
            }
            Found::Miss | Found::Hit(_) => IdemOutput::NoMarker,
        }
    }

    /// The live record of `request` at `now`, compared by fingerprint.
    fn find(&self, request: &Request, now: u64) -> Found<'_> {
        match self.records.get(&request.record) {
            Some(record) if record.expires_at <= now => Found::Miss,
            Some(record) if record.fingerprint != request.fingerprint => Found::Conflict(record.fingerprint),
            Some(record) => Found::Hit(record),
            None => Found::Miss,
        }
    }

    /// Creates (or replaces an expired) record of `request` at `now`.
    fn insert(&mut self, request: &Request, now: u64, state: RecordState) {
        let key = request.record.clone();
        let expires_at = now.saturating_add(self.config.ttl);
        let record = Record { fingerprint: request.fingerprint, created: now, expires_at, state };
        if let Some(old) = self.records.insert(key.clone(), record) {
            self.expiry.remove(&(old.expires_at, key.clone()));
        }
        self.expiry.insert((expires_at, key));
    }

    /// Lab 4's operation on the business state, stamped with the entry's timestamp.
    fn run(&mut self, timestamp: u64, op: Op) -> Output {
        let bytes = self.kv.apply(&Command::new(timestamp, op).encode()).expect("a command encoded here decodes");
        Output::decode(&bytes).expect("KvStore returns an encoded Output")
    }

    /// Removes expired records, oldest expiry first, at most `gc_per_apply` of them.
    fn collect(&mut self, now: u64) {
        for _ in 0..self.config.gc_per_apply {
            let Some((expires_at, _)) = self.expiry.first() else { break };
            if *expires_at > now {
                break;
            }
            let Some((_, key)) = self.expiry.pop_first() else { break };
            self.records.remove(&key);
            self.collected += 1;
        }
    }
}

/// The bytes an output holds on the heap.
fn output_heap_bytes(output: &Output) -> usize {
    match output {
        Output::Previous(Some(value)) => value.len(),
        Output::Rejected(reason) => reason.len(),
        Output::Done | Output::Previous(None) | Output::Counter(_) => 0,
    }
}

impl StateMachineStorage for IdemStore {
    type Error = IdemError;

    /// Applies one committed entry's data: an encoded [`IdemCommand`], or empty data (a
    /// leader's no-op entry), which changes nothing and returns [`IdemOutput::Plain`] of
    /// [`Output::Done`]. Returns the encoded [`IdemOutput`]. Data that is not a command is
    /// [`IdemError::BadCommand`], and changes nothing.
    ///
    /// The order: the clock moves first (to the larger of itself and the entry's timestamp),
    /// then expired records are collected, then the command runs, deciding liveness by that
    /// same clock. A command's effect and its record are written here together, by this one
    /// entry: there is no moment at which one exists without the other.
    fn apply(&mut self, entry: &[u8]) -> Result<Vec<u8>, IdemError> {
        if entry.is_empty() {
            return Ok(IdemOutput::Plain(Output::Done).encode());
        }
        let command = IdemCommand::decode(entry)?;
        self.log_time = self.log_time.max(command.timestamp);
        let now = self.log_time;
        self.collect(now);
        Ok(self.execute(now, command.op, command.timestamp).encode())
    }

    /// The state as bytes: the business state's image, the records in key order, the clock
    /// and the count of records collected. Equal states give equal bytes.
    fn snapshot(&self) -> Result<Vec<u8>, IdemError> {
        let image = Image {
            log_time: self.log_time,
            collected: self.collected,
            kv: self.kv.snapshot().map_err(|e| IdemError::BadImage(e.to_string()))?,
            records: self.records.iter().map(|(key, record)| (key.clone(), record.clone())).collect(),
        };
        postcard::to_stdvec(&image).map_err(|e| IdemError::BadImage(e.to_string()))
    }

    /// Replaces the whole state with one from [`StateMachineStorage::snapshot`], keeping this
    /// store's configuration, and rebuilds the expiry index from the records. Bytes that are
    /// not such an image (not canonical: keys out of order, bytes left over) are
    /// [`IdemError::BadImage`], and leave the state as it was.
    fn restore(&mut self, image: &[u8]) -> Result<(), IdemError> {
        let (decoded, rest): (Image, &[u8]) =
            postcard::take_from_bytes(image).map_err(|e| IdemError::BadImage(e.to_string()))?;
        if !rest.is_empty() {
            return Err(IdemError::BadImage(format!("{} bytes after the image", rest.len())));
        }
        if let Some(pair) = decoded.records.windows(2).find(|pair| pair[0].0 >= pair[1].0) {
            return Err(IdemError::BadImage(format!("records out of order: {:?} before {:?}", pair[0].0, pair[1].0)));
        }
        let mut kv = KvStore::new();
        kv.restore(&decoded.kv).map_err(|e| IdemError::BadImage(e.to_string()))?;
        let expiry = decoded.records.iter().map(|(key, record)| (record.expires_at, key.clone())).collect();
        *self = IdemStore {
            config: self.config,
            kv,
            log_time: decoded.log_time,
            records: decoded.records.into_iter().collect(),
            expiry,
            collected: decoded.collected,
        };
        Ok(())
    }
}
