//! Lab 5's hidden suite: what the grader checks beyond the public tests.
//!
//! - `schedules`: adversarial interleavings chosen by a seed: commits, apply steps, reads
//!   arriving between any two of them and deadlines passing at any step, each outcome checked
//!   against what the schedule allows;
//! - `concurrency`: many reader threads and the background applier at once, with multi-key
//!   entries, each answer checked for its read index, its atomicity and its monotonicity;
//! - `recovery`: restarts at every step of a replay, with and without a snapshot, and a
//!   caller's last seen index carried across them;
//! - `faults`: a failed commit publishes nothing; a failed apply stops every read, waiting
//!   ones included;
//! - `applier`: the background applier stops, restarts and follows commits;
//! - `wakeups`: a step of the clock forced between a reader's look at its deadline and its
//!   sleep, the window where a wake-up sent without the lock is lost.
//!
//! Nothing sleeps: deadlines are on a `ManualClock`, and a test that must know where a reader
//! is asks the node (`status()`) and yields until it is there, or, to know that a thread is
//! blocked on a lock, asks the kernel (`distributed::sync::spawn_watched`).

mod applier;
mod concurrency;
mod faults;
mod recovery;
mod schedules;
mod wakeups;

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use distributed::clock::{ClockRef, ManualClock};
use distributed::invariant;
use distributed::storage::{Entry, Index};
use distributed::vfs::{CrashMode, FsRef, SimFs};
use lab5::{Command, KvStore, Machine, Op, Read, ReadError, ReadNode, Replica, ReplicaOptions, Write};

pub const DIR: &str = "node";
/// On a manual clock, a deadline that passes only when a test advances the clock past it.
pub const PATIENT: Duration = Duration::from_secs(3600);

pub type Node = ReadNode<Replica<KvStore>>;
pub type Reader = JoinHandle<Result<Read, ReadError>>;

pub fn open(fs: &FsRef) -> (Node, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let as_clock: ClockRef = clock.clone();
    let node = ReadNode::open(Arc::clone(fs), DIR, ReplicaOptions::default(), as_clock)
        .unwrap_or_else(|e| distributed::fail!("recovery-equivalence", "opening the node failed: {e}"));
    (node, clock)
}

/// The node a restart after a power cut of `sim` opens, and its disk.
pub fn reopen_after(sim: &SimFs) -> (SimFs, Node, Arc<ManualClock>) {
    let disk = sim.crash(CrashMode::Strict);
    let fs: FsRef = Arc::new(disk.clone());
    let (node, clock) = open(&fs);
    (disk, node, clock)
}

pub fn put(index: Index, key: &str, value: &str) -> Entry {
    let op = Op::Put { key: key.into(), value: value.as_bytes().to_vec() };
    Entry::new(index, 1, Command::new(index, op).encode())
}

/// An entry that sets every key of `keys` to the text of its own index, all at once.
pub fn batch(index: Index, keys: &[&str]) -> Entry {
    let value = index.to_string().into_bytes();
    let writes = keys.iter().map(|key| Write::Put { key: (*key).into(), value: value.clone() }).collect();
    Entry::new(index, 1, Command::new(index, Op::Batch(writes)).encode())
}

/// `k{i} = v{i}` at index `i`.
pub fn numbered(index: Index) -> Entry {
    put(index, &format!("k{index}"), &format!("v{index}"))
}

pub fn value(text: &str) -> Option<Vec<u8>> {
    Some(text.as_bytes().to_vec())
}

/// Appends `entries` and commits the last of them.
pub fn write<M: Machine>(node: &ReadNode<M>, entries: &[Entry]) {
    node.append(entries).unwrap_or_else(|e| distributed::fail!("durability", "append failed: {e}"));
    let last = entries.last().expect("setup: some entries").index;
    node.commit(last).unwrap_or_else(|e| distributed::fail!("persisted-commit", "commit({last}) failed: {e}"));
}

pub fn apply<M: Machine>(node: &ReadNode<M>, expected: Index) {
    let applied = node.apply_next().unwrap_or_else(|e| distributed::fail!("in-order-apply", "apply_next failed: {e}"));
    invariant!(
        "bounded-progress",
        applied == Some(expected),
        "apply_next returned {applied:?} with entry {expected} committed and next: each apply step applies one \
         committed entry, whatever the readers do ({} waiting)",
        node.status().waiting
    );
}

pub fn spawn_read<M: Machine>(node: &ReadNode<M>, keys: &[&str], timeout: Duration) -> Reader {
    let node = node.clone();
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_string()).collect();
    thread::spawn(move || {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        node.read(&keys, timeout)
    })
}

/// Yields until `done` holds: the condition is the node's own account of its readers.
pub fn wait_until(mut done: impl FnMut() -> bool) {
    while !done() {
        thread::yield_now();
    }
}

pub fn finish(read: Reader) -> Result<Read, ReadError> {
    distributed::invariant_ok!("recovery-equivalence", read.join(), "the reader thread panicked")
}
