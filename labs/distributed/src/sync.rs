//! Threads, locks and atomics: the standard library's, or shuttle's under the `shuttle` feature.
//!
//! Code whose concurrency the course explores (lab 5's read barrier) names its `Mutex`,
//! `Condvar`, `RwLock`, atomics and threads through this module instead of `std::sync` and
//! `std::thread`:
//!
//! ```
//! use distributed::sync::atomic::{AtomicU64, Ordering};
//! use distributed::sync::{Arc, Condvar, Mutex, thread};
//!
//! let applied = Arc::new((Mutex::new(0u64), Condvar::new()));
//! let seen = Arc::new(AtomicU64::new(0));
//! let (theirs, seen_there) = (Arc::clone(&applied), Arc::clone(&seen));
//! let reader = thread::spawn(move || {
//!     let (index, changed) = &*theirs;
//!     let mut index = index.lock().unwrap();
//!     while *index < 1 {
//!         index = changed.wait(index).unwrap();
//!     }
//!     seen_there.store(*index, Ordering::SeqCst);
//! });
//! *applied.0.lock().unwrap() = 1;
//! applied.1.notify_all();
//! reader.join().unwrap();
//! assert_eq!(seen.load(Ordering::SeqCst), 1);
//! ```
//!
//! In an ordinary build these *are* the standard library's types, re-exported: they cost
//! nothing. Built with the kit's `shuttle` feature (which lab 5's own `shuttle` feature turns
//! on), they are those of [shuttle](https://docs.rs/shuttle/0.9), a library from AWS that runs
//! a test's threads one at a time and decides, at every lock, wait, notify, atomic access,
//! spawn and join, which thread goes next. [`check_schedules`] runs a test body under many
//! such schedules, chosen by a seed, so that an interleaving that real threads would hit once
//! in a million runs is tried on purpose, and a failing one replays exactly. A deadlock (every
//! thread blocked, as after a lost wake-up) is found the same way: shuttle sees that no thread
//! can run.
//!
//! Shuttle's types work only inside [`check_schedules`], so a build with the feature is for
//! the shuttle tests alone (`cargo test -p lab5 --features shuttle --test shuttle`). The
//! book's appendix "Dependencies" says why shuttle and not loom.
//!
//! The kit's [`ManualClock`](crate::clock::ManualClock) keeps its time and its wakers in these
//! types too: under shuttle, a step of the clock is one more shared write the scheduler can
//! place between a reader's look at its deadline and its sleep.

#[cfg(not(feature = "shuttle"))]
pub use std::sync::{
    Arc, Barrier, Condvar, LockResult, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
    TryLockError, TryLockResult, WaitTimeoutResult, Weak,
};

#[cfg(feature = "shuttle")]
pub use shuttle::sync::{
    Arc, Barrier, Condvar, LockResult, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
    TryLockError, TryLockResult, WaitTimeoutResult, Weak,
};

/// Atomic integers and flags (`std::sync::atomic`, or shuttle's).
pub mod atomic {
    #[cfg(not(feature = "shuttle"))]
    pub use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

    #[cfg(feature = "shuttle")]
    pub use shuttle::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
}

/// Threads (`std::thread`, or shuttle's). There is no `sleep`: code under test waits on a
/// condition, never for a time.
pub mod thread {
    #[cfg(not(feature = "shuttle"))]
    pub use std::thread::{Builder, JoinHandle, Result, Thread, ThreadId, current, panicking, spawn, yield_now};

    #[cfg(feature = "shuttle")]
    pub use shuttle::thread::{Builder, JoinHandle, Result, Thread, ThreadId, current, panicking, spawn, yield_now};
}

/// Whether this build's types are shuttle's.
pub const SHUTTLE: bool = cfg!(feature = "shuttle");

#[cfg(feature = "shuttle")]
pub use schedules::{Schedules, check_schedules};

pub use watched::{WatchedThread, spawn_watched};

/// Real threads whose kernel state a test can read.
///
/// Some orders of events can be forced with real threads only if the test knows that a
/// thread is *blocked*: "the applier is waiting for the lock this reader holds" is a state no
/// counter of the node can report, because the applier has not got in yet. The kernel knows:
/// a thread asleep on a lock, a condition variable or a join is in state `S` in
/// `/proc/<pid>/task/<tid>/stat`. A test that yields until it sees that state waits for an
/// event, not for a time. Where there is no `/proc` (not Linux) it yields a fixed number of
/// times instead, which makes such a test weaker there, never wrong.
///
/// These are the standard library's threads whatever the features: shuttle decides for itself
/// which thread runs, and needs no such help.
mod watched {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, OnceLock};
    use std::thread::{self, JoinHandle};

    /// Yields this many times before a thread without `/proc` is taken as blocked.
    const YIELDS_WITHOUT_PROC: u32 = 100_000;

    /// A thread started by [`spawn_watched`].
    #[derive(Debug)]
    pub struct WatchedThread<T> {
        handle: JoinHandle<T>,
        /// The thread's `stat` file, once it has started (`None` where there is no `/proc`).
        stat: Arc<OnceLock<Option<PathBuf>>>,
    }

    /// Spawns `f` on a thread whose kernel state [`WatchedThread::is_blocked`] reads.
    pub fn spawn_watched<F, T>(f: F) -> WatchedThread<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let stat = Arc::new(OnceLock::new());
        let mine = Arc::clone(&stat);
        let handle = thread::spawn(move || {
            let task = std::fs::read_link("/proc/thread-self").ok();
            let _ = mine.set(task.map(|task| Path::new("/proc").join(task).join("stat")));
            f()
        });
        WatchedThread { handle, stat }
    }

    impl<T> WatchedThread<T> {
        /// Whether the kernel reports the thread asleep (`S`): blocked on a lock, a condition
        /// variable or a join. `false` before the thread has started, after it finished, and
        /// where there is no `/proc`.
        pub fn is_blocked(&self) -> bool {
            match self.stat.get() {
                Some(Some(stat)) => !self.handle.is_finished() && asleep(stat),
                _ => false,
            }
        }

        /// Whether the thread's function has returned.
        pub fn is_finished(&self) -> bool {
            self.handle.is_finished()
        }

        /// Yields until the thread has finished or is blocked.
        pub fn wait_until_blocked(&self) {
            let mut yields = 0u32;
            loop {
                if self.handle.is_finished() || self.is_blocked() {
                    return;
                }
                if matches!(self.stat.get(), Some(None)) && yields >= YIELDS_WITHOUT_PROC {
                    return;
                }
                yields = yields.saturating_add(1);
                thread::yield_now();
            }
        }

        /// Waits for the thread to finish, and returns what it returned (or its panic).
        pub fn join(self) -> thread::Result<T> {
            self.handle.join()
        }
    }

    fn asleep(stat: &Path) -> bool {
        // The state is the first field after the command name, which ends at the last ')'.
        std::fs::read_to_string(stat)
            .ok()
            .and_then(|text| text.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('S')))
            .unwrap_or(false)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::Mutex;

        #[test]
        fn a_thread_waiting_for_a_held_lock_is_seen_blocked() {
            let lock = Arc::new(Mutex::new(()));
            let held = lock.lock().expect("lock");
            let theirs = Arc::clone(&lock);
            let waiter = spawn_watched(move || drop(theirs.lock().expect("lock")));
            waiter.wait_until_blocked();
            assert!(!waiter.is_finished(), "the waiter cannot finish while the lock is held");
            drop(held);
            waiter.join().expect("the waiter finishes once the lock is free");
        }
    }
}

#[cfg(feature = "shuttle")]
mod schedules {
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use shuttle::scheduler::{PctScheduler, RandomScheduler, ReplayScheduler, Scheduler};
    use shuttle::{Config, FailurePersistence, Runner};

    use crate::check::panic_text;
    use crate::rng::lab_seed;

    /// The environment variable that replays one failing schedule, as shuttle printed it.
    pub const SCHEDULE_VARIABLE: &str = "SHUTTLE_SCHEDULE";

    /// How [`check_schedules`] explores: the seed, how many schedules, and which invariant a
    /// deadlock breaks.
    #[derive(Clone, Debug)]
    pub struct Schedules {
        /// The seed of the first schedule, unless `LAB_SEED` overrides it.
        pub seed: u64,
        /// How many schedules to run. Half come from shuttle's PCT scheduler (which finds bugs
        /// that need a few preemptions at exact places), half from its uniformly random one.
        pub iterations: usize,
        /// The invariant a deadlock breaks: the name a failure starts with when every thread
        /// is blocked (a lost wake-up, a lock never released).
        pub deadlock: &'static str,
    }

    /// Runs `body` under `plan.iterations` schedules of shuttle's schedulers, seeded by
    /// `LAB_SEED` (else `plan.seed`), or, when `SHUTTLE_SCHEDULE` is set, under that one
    /// schedule alone. `body` must create every thread, lock and clock it uses, and must not
    /// depend on anything but the schedule (no wall clock, no real disk).
    ///
    /// A failure is re-raised with its invariant first (a deadlock as `plan.deadlock`),
    /// followed by the failing schedule and two ways to replay it.
    ///
    /// # Panics
    ///
    /// When a schedule fails.
    pub fn check_schedules<F>(plan: Schedules, body: F)
    where
        F: Fn() + Send + Sync + 'static,
    {
        let seed = lab_seed(plan.seed);
        let replaying = std::env::var(SCHEDULE_VARIABLE).ok().filter(|s| !s.trim().is_empty());
        // Shuttle writes a failing schedule to a file here; the failure message quotes it.
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let persisted = std::env::temp_dir().join(format!(
            "lab-shuttle-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ));
        let mut config = Config::new();
        config.failure_persistence = FailurePersistence::File(Some(persisted.clone()));
        // Shuttle warns that it runs every atomic access as SeqCst: it cannot find a bug that
        // needs a weaker ordering (the book's lab 5 chapter says so), and the warning on every
        // run hides the failure.
        config.silence_warnings = true;
        let _ = std::fs::create_dir_all(&persisted);
        let body = std::sync::Arc::new(body);
        let outcome = catch_unwind(AssertUnwindSafe(|| match &replaying {
            Some(schedule) => {
                let f = std::sync::Arc::clone(&body);
                run(ReplayScheduler::new_from_encoded(schedule.trim()), &config, move || f());
            }
            None => {
                let pct = plan.iterations / 2;
                let f = std::sync::Arc::clone(&body);
                run(PctScheduler::new_from_seed(seed, 3, pct.max(2)), &config, move || f());
                let f = std::sync::Arc::clone(&body);
                let random = plan.iterations.saturating_sub(pct).max(1);
                run(RandomScheduler::new_from_seed(seed.wrapping_add(1), random), &config, move || f());
            }
        }));
        let schedule = read_schedule(&persisted);
        let _ = std::fs::remove_dir_all(&persisted);
        let Err(payload) = outcome else { return };
        let text = panic_text(payload.as_ref());
        let failure = if text.starts_with('[') {
            // The body's own invariant failure: keep its first line, drop its replay line (it
            // does not know about the feature or the schedule).
            text.lines().next().unwrap_or_default().to_string()
        } else if text.contains("deadlock") {
            format!(
                "[{}] every thread is blocked and none can wake the others: a wake-up was lost, or a lock was \
                 never released (shuttle: {text})",
                plan.deadlock
            )
        } else if replaying.is_some() && text.contains("not runnable") {
            // A schedule records which thread ran at each step of one version of the code; on
            // code that has changed since, the steps no longer match.
            panic!(
                "{SCHEDULE_VARIABLE} holds a schedule recorded on other code (shuttle: {}): unset it to explore \
                 the schedules of this code",
                text.lines().next().unwrap_or_default().chars().take(120).collect::<String>()
            );
        } else {
            // A panic that names no invariant (an unwrap, an index out of range) stays as it is.
            resume_unwind(payload);
        };
        panic!("{}", message(&failure, seed, schedule.as_deref(), replaying.is_some()));
    }

    fn run<S: Scheduler + 'static>(scheduler: S, config: &Config, body: impl Fn() + Send + Sync + 'static) {
        Runner::new(scheduler, config.clone()).run(body);
    }

    /// The schedule shuttle wrote when the failing execution panicked.
    fn read_schedule(dir: &Path) -> Option<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.filter_map(|e| Some(e.ok()?.path())).collect();
        files.sort();
        let text = std::fs::read_to_string(files.first()?).ok()?;
        Some(text.trim().to_string())
    }

    fn message(failure: &str, seed: u64, schedule: Option<&str>, replaying: bool) -> String {
        let test = std::thread::current().name().filter(|name| *name != "main").map(str::to_string);
        let exact = test.map(|t| format!(" -- --exact {t}")).unwrap_or_default();
        let command = format!("cargo test -p {} --features shuttle --test shuttle{exact}", package_under_test());
        let mut text = format!("{failure}\n");
        if let Some(schedule) = schedule {
            text.push_str(&format!("  this schedule alone: {SCHEDULE_VARIABLE}={schedule} {command}\n"));
        }
        if !replaying {
            text.push_str(&format!("  replay: LAB_SEED={seed:#x} {command}"));
        }
        text.trim_end().to_string()
    }

    /// The package whose test is running: cargo sets `CARGO_PKG_NAME` for `cargo test`.
    fn package_under_test() -> String {
        std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "lab5".to_string())
    }
}
