//! Clocks for deadlines: the machine's own, and one that a test moves by hand.
//!
//! Code that waits with a deadline (lab 5's reads) asks a [`Clock`] what time it is instead of
//! calling `Instant::now()`. In production that is a [`SystemClock`]. In a test it is a
//! [`ManualClock`], whose time moves only when the test says so: a deadline then passes at a
//! step of the test, not at a moment of the machine, so a test that checks "a read that cannot
//! be served in time gets an error" neither sleeps nor depends on how fast the machine is.
//!
//! Neither `loom` nor `shuttle` models time, which is one more reason deadlines go through
//! this trait: under a model checker, the clock is just another shared value.
//!
//! Times are [`Duration`]s since the clock's own start (its *epoch*), not `Instant`s, so that
//! a manual clock can produce any of them.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use distributed::clock::{Clock, ManualClock};
//!
//! let clock = Arc::new(ManualClock::new());
//! let deadline = clock.now() + Duration::from_millis(50);
//! assert_eq!(clock.wait_limit(deadline), None, "a manual clock never times out by itself");
//! clock.advance(Duration::from_millis(50));
//! assert!(clock.now() >= deadline);
//! ```

use std::fmt;
use std::time::{Duration, Instant};

// `crate::sync`, not `std::sync`: under the `shuttle` feature the manual clock's time and its
// wakers are shuttle's, so that a step of the clock is a point the scheduler can interleave.
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Arc, Mutex};

/// A clock as a waiting thread sees it.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The time since this clock's epoch.
    fn now(&self) -> Duration;

    /// How long a thread that waits until `deadline` may block (on a condition variable)
    /// before it must look at the clock again:
    ///
    /// - `Some(d)`: block at most `d`, then read [`Clock::now`] (a clock that moves by itself
    ///   answers the time left, zero once the deadline has passed);
    /// - `None`: block until woken; this clock moves only in steps, and calls the functions
    ///   given to [`Clock::on_advance`] after each step.
    fn wait_limit(&self, deadline: Duration) -> Option<Duration>;

    /// Registers `wake`, called after every step of a clock that moves in steps, so that
    /// threads waiting for a deadline look at the clock again. A clock that moves by itself
    /// never calls it (its waiters time out instead) and may drop it.
    fn on_advance(&self, wake: Box<dyn Fn() + Send + Sync>);
}

/// A shared clock, as the labs take it.
pub type ClockRef = Arc<dyn Clock>;

/// The machine's monotonic clock (`Instant`), with its epoch when it was made.
#[derive(Debug)]
pub struct SystemClock {
    epoch: Instant,
}

impl SystemClock {
    /// A clock whose epoch is now.
    pub fn new() -> SystemClock {
        SystemClock { epoch: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn wait_limit(&self, deadline: Duration) -> Option<Duration> {
        Some(deadline.saturating_sub(self.now()))
    }

    fn on_advance(&self, _wake: Box<dyn Fn() + Send + Sync>) {}
}

/// A clock that stands still until [`ManualClock::advance`] moves it. Tests use it to make a
/// deadline pass at an exact step.
#[derive(Default)]
pub struct ManualClock {
    nanos: AtomicU64,
    wakers: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `step`, then calls every function given to
    /// [`Clock::on_advance`], so that waiting threads see the new time.
    pub fn advance(&self, step: Duration) {
        let step = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
        let _ = self.nanos.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| Some(now.saturating_add(step)));
        // The list is locked while the wakers run: a waker only notifies a condition
        // variable, and must not register another.
        let wakers = self.wakers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for wake in wakers.iter() {
            wake();
        }
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock").field("now", &self.now()).finish_non_exhaustive()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn wait_limit(&self, _deadline: Duration) -> Option<Duration> {
        None
    }

    fn on_advance(&self, wake: Box<dyn Fn() + Send + Sync>) {
        self.wakers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_wakes_its_waiters() {
        let clock = ManualClock::new();
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&woken);
        clock.on_advance(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_millis(3));
        clock.advance(Duration::from_millis(4));
        assert_eq!(clock.now(), Duration::from_millis(7));
        assert_eq!(woken.load(Ordering::SeqCst), 2);
        assert_eq!(clock.wait_limit(Duration::from_secs(1)), None);
    }

    #[test]
    fn the_system_clock_answers_the_time_left() {
        let clock = SystemClock::new();
        assert_eq!(clock.wait_limit(Duration::ZERO), Some(Duration::ZERO));
        let far = clock.now() + Duration::from_secs(3600);
        assert!(clock.wait_limit(far).is_some_and(|left| left > Duration::from_secs(3000)));
    }
}
