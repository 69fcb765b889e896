//! The read node: a replica shared by one applier and many readers, with a read barrier.
//!
//! Two locks and one condition variable:
//!
//! ```text
//! machine:  RwLock<M>        the replica; readers share it, the applier and writers own it
//! progress: Mutex<Progress>  commit_index and last_applied as published, waiting readers
//! changed:  Condvar          notified whenever progress changes, the clock moves, or the
//!                            applier is told to stop
//! ```
//!
//! Lock order: `machine` before `progress`, never the reverse. A reader waits on `progress`
//! alone and takes `machine` only once its barrier is passed, holding nothing else.
//!
//! The fast path: `commit_index`, `last_applied` and the failed flag are also mirrored in
//! atomics, stored while the progress lock is held. A read whose barrier is already open (the
//! common case when the node is caught up) loads them and goes straight to the machine, without
//! the mutex or the clock; a read that must wait falls back to the mutex and the condition
//! variable, where every change is made and notified under the lock, so no wake-up is lost.
//!
//! The published numbers lag the machine's own by a few instructions: a commit is published
//! after the replica made it durable, an apply after the replica applied it, both while the
//! exclusive lock on the machine is still held. So a published `last_applied` is always a
//! state a reader will find (or a newer one), and a published commit index is always durable.

use std::time::Duration;

use distributed::clock::ClockRef;
use distributed::storage::{Entry, Index};
// The kit's `sync` is std's `sync` and `thread` in an ordinary build, and shuttle's under the
// `shuttle` feature, which explores the schedules of the barrier (tests/shuttle in labs/lab5).
use distributed::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use distributed::sync::thread::{self, JoinHandle};
use distributed::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
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

#[derive(Debug)]
struct Progress {
    commit_index: Index,
    last_applied: Index,
    replay_target: Index,
    waiting: usize,
    waits: u64,
    failed: Option<String>,
}

#[derive(Debug)]
struct Shared<M> {
    machine: RwLock<M>,
    progress: Mutex<Progress>,
    changed: Condvar,
    clock: ClockRef,
    /// Mirrors of `Progress::commit_index`, `last_applied` and `failed`, for the fast path.
    /// Stored only with the progress lock held, after the field they mirror.
    commit: AtomicU64,
    applied: AtomicU64,
    failed: AtomicBool,
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
/// Cloning a node gives another handle to the same node.
#[derive(Debug)]
pub struct ReadNode<M> {
    shared: Arc<Shared<M>>,
}

impl<M> Clone for ReadNode<M> {
    fn clone(&self) -> Self {
        ReadNode { shared: Arc::clone(&self.shared) }
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
    /// measured on `clock`.
    pub fn new(machine: M, clock: ClockRef) -> ReadNode<M> {
        let progress = Progress {
            commit_index: machine.commit_index(),
            last_applied: machine.last_applied(),
            replay_target: machine.commit_index(),
            waiting: 0,
            waits: 0,
            failed: None,
        };
        let shared = Arc::new(Shared {
            machine: RwLock::new(machine),
            commit: AtomicU64::new(progress.commit_index),
            applied: AtomicU64::new(progress.last_applied),
            failed: AtomicBool::new(false),
            progress: Mutex::new(progress),
            changed: Condvar::new(),
            clock,
        });
        // A clock that moves in steps wakes the readers so that they look at their deadlines.
        // Notifying under the lock closes the window between a reader's look at the clock and
        // its sleep.
        let weak = Arc::downgrade(&shared);
        shared.clock.on_advance(Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                let _progress = lock(&shared.progress);
                shared.changed.notify_all();
            }
        }));
        ReadNode { shared }
    }

    /// What the node has published.
    pub fn status(&self) -> Status {
        let p = self.progress();
        Status {
            commit_index: p.commit_index,
            last_applied: p.last_applied,
            replay_target: p.replay_target,
            waiting: p.waiting,
            waits: p.waits,
            failed: p.failed.is_some(),
        }
    }

    /// Runs `f` on the machine under a shared lock (for tests and for lab 6).
    pub fn with_machine<T>(&self, f: impl FnOnce(&M) -> T) -> T {
        f(&self.read_machine())
    }

    /// Appends entries from a leader through the replica.
    pub fn append(&self, entries: &[Entry]) -> Result<(), NodeError> {
        self.check_failed()?;
        self.write_machine().append(entries).map_err(NodeError::Replica)
    }

    /// Commits up to `index` through the replica, then publishes the new commit index: only a
    /// durable commit index is ever a read index. Wakes the applier.
    pub fn commit(&self, index: Index) -> Result<(), NodeError> {
        self.check_failed()?;
        let mut machine = self.write_machine();
        machine.commit(index).map_err(NodeError::Replica)?;
        let mut p = self.progress();
        p.commit_index = p.commit_index.max(machine.commit_index());
        self.shared.commit.store(p.commit_index, Ordering::Release);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Applies the next committed entry, if any, and returns its index. Publishes the new
    /// `last_applied` and wakes every waiting reader. An apply error stops the node
    /// (fail-stop): it is published, and every read from then on is [`ReadError::Failed`].
    pub fn apply_next(&self) -> Result<Option<Index>, NodeError> {
        self.check_failed()?;
        let mut machine = self.write_machine();
        let applied = machine.apply_next();
        let mut p = self.progress();
        match applied {
            Ok(Some(index)) => {
                p.last_applied = index;
                self.shared.applied.store(index, Ordering::Release);
                self.shared.changed.notify_all();
                Ok(Some(index))
            }
            Ok(None) => Ok(None),
            Err(error) => {
                let reason = error.to_string();
                p.failed = Some(reason);
                self.shared.failed.store(true, Ordering::Release);
                self.shared.changed.notify_all();
                Err(NodeError::Replica(error))
            }
        }
    }

    /// Starts the background applier: a thread that applies committed entries one at a time
    /// as they are committed (the replay after open first), until [`Applier::stop`].
    pub fn start_applier(&self) -> Applier {
        let stop = Arc::new(AtomicBool::new(false));
        let node = self.clone();
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || node.run_applier(&flag));
        let shared: Arc<dyn Wake> = self.shared.clone();
        Applier { stop, handle: Some(handle), shared }
    }

    fn run_applier(&self, stop: &AtomicBool) -> Result<(), NodeError> {
        loop {
            {
                let mut p = self.progress();
                while !stop.load(Ordering::SeqCst) && p.failed.is_none() && p.last_applied >= p.commit_index {
                    p = self.shared.changed.wait(p).unwrap_or_else(PoisonError::into_inner);
                }
                if stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
            }
            self.apply_next()?;
        }
    }

    /// A linearizable read of `keys`: the read index is the commit index now, on arrival; the
    /// answer comes from a state with `last_applied ≥` the read index, all keys from the same
    /// state. Waits for that state until `timeout` has passed on the node's clock; then
    /// [`ReadError::NotReady`] if recovery is not done, else [`ReadError::Timeout`].
    pub fn read(&self, keys: &[&str], timeout: Duration) -> Result<Read, ReadError> {
        let read_index = self.shared.commit.load(Ordering::Acquire);
        if self.shared.applied.load(Ordering::Acquire) >= read_index && !self.shared.failed.load(Ordering::Acquire) {
            return Ok(self.answer(keys));
        }
        let deadline = self.shared.clock.now().saturating_add(timeout);
        let mut p = self.progress();
        while p.last_applied < read_index {
            if let Some(reason) = &p.failed {
                return Err(ReadError::Failed(reason.clone()));
            }
            if self.shared.clock.now() >= deadline {
                return Err(not_served(&p, read_index));
            }
            p = self.sleep(p, deadline);
        }
        if let Some(reason) = &p.failed {
            return Err(ReadError::Failed(reason.clone()));
        }
        drop(p);
        Ok(self.answer(keys))
    }

    /// A degraded read (降级) of `keys`: served at once from the state as it is, possibly older
    /// than the latest commit, with the index that state reflects. `at_least` is the newest
    /// index the caller has already seen (0 if none): a state older than that is
    /// [`ReadError::Behind`], so a caller's reads never go back in time, even across a restart.
    pub fn read_stale(&self, keys: &[&str], at_least: Index) -> Result<Read, ReadError> {
        if self.shared.failed.load(Ordering::Acquire)
            && let Some(reason) = &self.progress().failed
        {
            return Err(ReadError::Failed(reason.clone()));
        }
        let answer = self.answer(keys);
        if answer.index < at_least {
            return Err(ReadError::Behind { at_least, last_applied: answer.index });
        }
        Ok(answer)
    }

    /// Every key and the index, under one shared lock: one state, never half an entry.
    fn answer(&self, keys: &[&str]) -> Read {
        let machine = self.read_machine();
        let values = keys.iter().map(|key| machine.get(key)).collect();
        Read { index: machine.last_applied(), values }
    }

    /// Sleeps on the barrier until notified, or until the clock says the deadline may have
    /// passed. The caller checks its predicate again: a wake-up is a hint, not a promise.
    fn sleep<'a>(&'a self, mut p: MutexGuard<'a, Progress>, deadline: Duration) -> MutexGuard<'a, Progress> {
        p.waiting += 1;
        p.waits += 1;
        let mut p = match self.shared.clock.wait_limit(deadline) {
            Some(limit) => match self.shared.changed.wait_timeout(p, limit) {
                Ok((p, _)) => p,
                Err(poisoned) => poisoned.into_inner().0,
            },
            None => self.shared.changed.wait(p).unwrap_or_else(PoisonError::into_inner),
        };
        p.waiting -= 1;
        p
    }

    fn check_failed(&self) -> Result<(), NodeError> {
        match &self.progress().failed {
            Some(reason) => Err(NodeError::Failed(reason.clone())),
            None => Ok(()),
        }
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        lock(&self.shared.progress)
    }

    fn read_machine(&self) -> RwLockReadGuard<'_, M> {
        self.shared.machine.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_machine(&self) -> RwLockWriteGuard<'_, M> {
        self.shared.machine.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn not_served(p: &Progress, read_index: Index) -> ReadError {
    if p.last_applied < p.replay_target {
        ReadError::NotReady { read_index, last_applied: p.last_applied, replay_target: p.replay_target }
    } else {
        ReadError::Timeout { read_index, last_applied: p.last_applied }
    }
}

/// A lock that a panicking thread left behind is still usable here: every field of
/// `Progress` is written in one step, so no panic leaves it half-updated.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What [`Applier`] needs of the node without knowing its machine's type.
trait Wake: Send + Sync {
    fn wake_all(&self);
}

impl<M: Send + Sync> Wake for Shared<M> {
    fn wake_all(&self) {
        let _progress = lock(&self.progress);
        self.changed.notify_all();
    }
}

/// The background applier of a [`ReadNode`]. Stopped by [`Applier::stop`], or when dropped.
pub struct Applier {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<(), NodeError>>>,
    shared: Arc<dyn Wake>,
}

impl Applier {
    /// Stops the thread after the entry it is applying, and returns how it ended: `Ok` if it
    /// was stopped, the error if an apply failed first.
    pub fn stop(mut self) -> Result<(), NodeError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), NodeError> {
        let Some(handle) = self.handle.take() else { return Ok(()) };
        self.stop.store(true, Ordering::SeqCst);
        self.shared.wake_all();
        handle.join().map_err(|_| NodeError::ApplierPanicked)?
    }
}

impl Drop for Applier {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier").field("running", &self.handle.is_some()).finish()
    }
}
