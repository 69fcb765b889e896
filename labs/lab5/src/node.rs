//! Tasks 1 to 7: the read node. A replica shared by one applier and many readers, with a read
//! barrier.
//!
//! The public API below is fixed (the tests and labs 6–7 use it); everything behind it is
//! yours to design. The chapter suggests two locks and one condition variable:
//!
//! ```text
//! machine:  RwLock<M>        the replica; readers share it, the applier and writers own it
//! progress: Mutex<Progress>  commit_index and last_applied as published, waiting readers
//! changed:  Condvar          notified whenever progress changes, the clock moves, or the
//!                            applier is told to stop
//! ```
//!
//! with one lock order (`machine` before `progress`, never the reverse), and a reader that
//! waits on `progress` alone and takes `machine` only once its barrier is passed.
//!
//! Take every lock, atomic and thread from `distributed::sync`, not `std::sync` or
//! `std::thread`: they are std's in an ordinary build, and shuttle's when the shuttle tests
//! explore the schedules of your barrier (`cargo test -p lab5 --features shuttle --test shuttle`).
//!
//! ```text
//! use distributed::sync::atomic::{AtomicBool, AtomicU64, Ordering};
//! use distributed::sync::thread::{self, JoinHandle};
//! use distributed::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
//! ```

use std::time::Duration;

use distributed::clock::ClockRef;
use distributed::storage::{Entry, Index};
use distributed::vfs::FsRef;
use lab4::{KvStore, Replica, ReplicaOptions};

use crate::machine::Machine;
use crate::{NodeError, ReadError};

/// The answer to a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    /// The index of the last entry applied to the state the values come from: the answer is
    /// the state after entry `index` and before entry `index + 1`.
    pub index: Index,
    /// The value of each key asked for, in the order asked, `None` if absent.
    pub values: Vec<Option<Vec<u8>>>,
}

/// What the node has published, for monitoring and for tests that must know where a reader is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// The commit index, durable.
    pub commit_index: Index,
    /// The index of the last entry applied.
    pub last_applied: Index,
    /// The commit index the replica held when the node was made: recovery is done once
    /// `last_applied` reaches it.
    pub replay_target: Index,
    /// How many reads are waiting on the barrier right now.
    pub waiting: usize,
    /// How many times, in all, a read went to sleep on the barrier (a wake-up that finds the
    /// barrier still closed sleeps again and counts again).
    pub waits: u64,
    /// Whether the applier failed (the node then serves no read).
    pub failed: bool,
}

impl Status {
    /// Whether replay after open has reached the commit index found on open.
    pub fn recovered(&self) -> bool {
        self.last_applied >= self.replay_target
    }
}

/// A replica shared by an applier and many readers, whose reads pass a read barrier.
///
/// - [`ReadNode::read`] is linearizable. It takes a *read index*, the commit index when the
///   read arrives, and answers only from a state with `last_applied ≥` the read index, so it
///   reflects every write committed before it arrived. It waits for that with a deadline on
///   the node's clock; a read not served in time is [`ReadError::NotReady`] (recovery not
///   done) or [`ReadError::Timeout`], never an older state.
/// - [`ReadNode::read_stale`] is the degraded mode (降级): it answers at once from whatever is
///   applied, says which index that is, and refuses only a state older than one the caller
///   already saw.
/// - A read of several keys sees one state: all of an entry's writes or none.
/// - After open, the commit index persisted before the restart is the read index of every
///   read, so no read is served until replay has reached it: reads never go back in time
///   across a restart.
///
/// Entries are applied one at a time, by [`ReadNode::apply_next`] or by the background
/// thread of [`ReadNode::start_applier`], so readers get in between entries. Readers never
/// hold the applier back.
///
/// Cloning a node gives another handle to the same node (keep your fields behind an `Arc`).
#[derive(Debug)]
pub struct ReadNode<M> {
    // Your fields here: the machine behind a lock, the published progress behind another,
    // a condition variable, and the clock.
    _machine: std::marker::PhantomData<M>,
}

impl<M> Clone for ReadNode<M> {
    fn clone(&self) -> Self {
        todo!("Task 1: another handle to the same node")
    }
}

impl ReadNode<Replica<KvStore>> {
    /// Opens lab 4's replica in `dir` with an empty key-value state, and makes a node of it.
    /// Nothing is replayed yet: start the applier, or call [`ReadNode::apply_next`].
    pub fn open(fs: FsRef, dir: &str, options: ReplicaOptions, clock: ClockRef) -> Result<Self, NodeError> {
        let replica = Replica::open(fs, dir, options, KvStore::new()).map_err(|e| NodeError::Replica(e.into()))?;
        Ok(ReadNode::new(replica, clock))
    }
}

impl<M: Machine> ReadNode<M> {
    /// A node over `machine`, as it was just opened: its commit index is the one persisted
    /// before the restart, which replay must reach before any read is served. Deadlines are
    /// measured on `clock`; a clock that moves in steps must be able to wake the waiting
    /// reads ([`distributed::clock::Clock::on_advance`]).
    pub fn new(machine: M, clock: ClockRef) -> ReadNode<M> {
        let _ = (machine, clock);
        todo!("Task 1: publish the machine's commit index and last_applied; register a waker with the clock")
    }

    /// What the node has published.
    pub fn status(&self) -> Status {
        todo!("Task 1: the published progress")
    }

    /// Runs `f` on the machine under a shared lock (for tests and for lab 6).
    pub fn with_machine<T>(&self, f: impl FnOnce(&M) -> T) -> T {
        let _ = f;
        todo!("Task 1: lend the machine")
    }

    /// Appends entries from a leader through the replica.
    pub fn append(&self, entries: &[Entry]) -> Result<(), NodeError> {
        todo!("Task 1: append {} entries through the replica", entries.len())
    }

    /// Commits up to `index` through the replica, then publishes the new commit index: only a
    /// durable commit index is ever a read index. Wakes the applier.
    pub fn commit(&self, index: Index) -> Result<(), NodeError> {
        todo!("Task 1: commit {index} durably, then publish it")
    }

    /// Applies the next committed entry, if any, and returns its index. Publishes the new
    /// `last_applied` and wakes every waiting reader. An apply error stops the node
    /// (fail-stop): it is published, and every read from then on is [`ReadError::Failed`].
    pub fn apply_next(&self) -> Result<Option<Index>, NodeError> {
        todo!("Task 1: apply one entry, publish last_applied, wake the readers (Task 4)")
    }

    /// Starts the background applier: a thread that applies committed entries one at a time
    /// as they are committed (the replay after open first), until [`Applier::stop`].
    pub fn start_applier(&self) -> Applier {
        todo!("Task 7: start the background applier")
    }

    /// A linearizable read of `keys`: the read index is the commit index now, on arrival; the
    /// answer comes from a state with `last_applied ≥` the read index, all keys from the same
    /// state. Waits for that state until `timeout` has passed on the node's clock; then
    /// [`ReadError::NotReady`] if recovery is not done, else [`ReadError::Timeout`].
    pub fn read(&self, keys: &[&str], timeout: Duration) -> Result<Read, ReadError> {
        todo!("Task 3: a read of {} keys behind the read barrier, deadline in {timeout:?}", keys.len())
    }

    /// A degraded read (降级) of `keys`: served at once from the state as it is, possibly older
    /// than the latest commit, with the index that state reflects. `at_least` is the newest
    /// index the caller has already seen (0 if none): a state older than that is
    /// [`ReadError::Behind`], so a caller's reads never go back in time, even across a restart.
    pub fn read_stale(&self, keys: &[&str], at_least: Index) -> Result<Read, ReadError> {
        todo!("Task 2: a degraded read of {} keys, at least at index {at_least}", keys.len())
    }
}

/// The background applier of a [`ReadNode`]. Stopped by [`Applier::stop`], or when dropped.
#[derive(Debug)]
pub struct Applier {
    // Your fields here: how to tell the thread to stop, and its join handle.
}

impl Applier {
    /// Stops the thread after the entry it is applying, and returns how it ended: `Ok` if it
    /// was stopped, the error if an apply failed first.
    pub fn stop(self) -> Result<(), NodeError> {
        todo!("Task 7: stop and join the applier")
    }
}
