//! Lab 1's hidden suite: what the grader checks beyond the public tests.
//!
//! - `crash`: several workloads, with a power loss after every step and torn variants of
//!   each, checked against a model of what was acknowledged;
//! - `layout`: the bytes on disk follow the chapter's format, read by an independent parser;
//!   rollover at exact boundaries;
//! - `operations`: truncation and compaction across segment boundaries, then reopen;
//! - `model`: a property test of random operations against an in-memory model;
//! - `faults`: bit rot, zeroed and garbage tails, a failed fsync, a full disk;
//! - `footer`: sealed segments' footers damaged or cut, a leftover temporary segment, a header
//!   the disk stores wrongly, truncations into a sealed segment;
//! - `concurrency`: group commit shares syncs between threads;
//! - `arguments`: bad arguments get typed errors;
//! - `edges`: the edge cases the chapter lists (an empty append, the index an out-of-range
//!   read names, names that are not segments, compaction under `Never`);
//! - `boundaries`: a log far from index 1 read across records and read spans, records at the
//!   limits of the byte table, a record out of sequence, a torn tail then a rollover, an
//!   unfinished segment, compaction at segment boundaries, the top of the index space;
//! - `rules`: every refusal leaves the directory byte-identical; decoders and `open` never
//!   panic on mutated bytes.

mod arguments;
mod boundaries;
mod concurrency;
mod crash;
mod edges;
mod faults;
mod footer;
mod layout;
mod model;
mod operations;
mod rules;

use std::sync::Arc;

use distributed::invariant;
use distributed::storage::{Entry, Index};
use distributed::vfs::{CrashMode, FsRef, SimFs};
use lab1::{SyncPolicy, Wal, WalOptions};

pub const DIR: &str = "wal";

pub fn options(segment_size: u64, sync: SyncPolicy) -> WalOptions {
    WalOptions { segment_size, sync }
}

pub fn open_on(fs: FsRef, options: WalOptions) -> Wal {
    Wal::open(fs, DIR, options).unwrap_or_else(|e| distributed::fail!("torn-tail", "opening the log failed: {e}"))
}

/// Opens the log on the disk a crash of `sim` leaves.
pub fn reopen_after(sim: &SimFs, mode: CrashMode, options: WalOptions) -> (SimFs, Wal) {
    let disk = sim.crash(mode);
    let wal = Wal::open(Arc::new(disk.clone()), DIR, options)
        .unwrap_or_else(|e| distributed::fail!("torn-tail", "reopening after a {mode} crash failed: {e}"));
    (disk, wal)
}

/// What the log should hold: `entries` from index `first`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    pub first: Index,
    pub entries: Vec<Entry>,
    /// The term of the last compacted entry: terms after it may not be lower.
    pub compacted_term: u64,
}

impl Default for Model {
    fn default() -> Self {
        Model { first: 1, entries: Vec::new(), compacted_term: 0 }
    }
}

impl Model {
    /// A model holding `entries`, from the first one's index.
    pub fn of(entries: Vec<Entry>) -> Self {
        Model { first: entries.first().map_or(1, |e| e.index), entries, compacted_term: 0 }
    }

    pub fn last(&self) -> Index {
        self.first + self.entries.len() as u64 - 1
    }

    pub fn get(&self, index: Index) -> Option<&Entry> {
        index.checked_sub(self.first).and_then(|k| self.entries.get(k as usize))
    }

    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.compacted_term, |e| e.term)
    }

    pub fn append(&mut self, entries: &[Entry]) {
        self.entries.extend_from_slice(entries);
    }

    pub fn truncate(&mut self, from: Index) {
        if from <= self.last() {
            self.entries.truncate((from - self.first) as usize);
        }
    }

    pub fn compact(&mut self, upto: Index) {
        if upto < self.first {
            return;
        }
        self.compacted_term = self.get(upto.min(self.last())).map_or(self.compacted_term, |e| e.term);
        if upto >= self.last() {
            self.entries.clear();
        } else {
            self.entries.drain(..(upto + 1 - self.first) as usize);
        }
        self.first = upto + 1;
    }
}

/// Checks that the log holds what the model does: the same last index, every entry the
/// same, and a first index no later than the model's (compaction on disk is by whole
/// segments, so it may be earlier).
pub fn assert_matches_model(wal: &Wal, model: &Model) {
    invariant!(
        "prefix-compaction",
        wal.first_index() <= model.first,
        "first index is {}, but only entries before {} were compacted",
        wal.first_index(),
        model.first
    );
    invariant!(
        "durability",
        wal.last_index() >= model.last(),
        "last index is {}, but the log should hold up to {}",
        wal.last_index(),
        model.last()
    );
    invariant!(
        "ordered-recovery",
        wal.last_index() <= model.last(),
        "last index is {}, but the log should end at {}: entries that were removed or never written are visible",
        wal.last_index(),
        model.last()
    );
    for want in &model.entries {
        match wal.entry(want.index) {
            Ok(got) => invariant!("matching", got == *want, "entry {} reads as {got:?}, expected {want:?}", want.index),
            Err(e) => distributed::fail!("durability", "entry {} is unreadable: {e}", want.index),
        }
    }
    if !model.entries.is_empty() {
        let range =
            distributed::invariant_ok!("matching", wal.entries(model.first, model.last() + 1), "read the whole range");
        invariant!(
            "matching",
            range == model.entries,
            "entries({}, {}) differs from the model",
            model.first,
            model.last() + 1
        );
    }
}
