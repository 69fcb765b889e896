//! Lost wake-ups, forced with real threads: a step of the clock that lands between a reader's
//! look at its deadline and its sleep. The test cannot sleep until the reader is there; it
//! puts the step there itself, from inside the clock the reader is looking at, and asks the
//! kernel whether the thread that makes the step is blocked (`spawn_watched`).
//!
//! The shuttle tests (`cargo test -p lab5 --features shuttle --test shuttle`) find the same
//! bug by exploring schedules; this one forces the one schedule that shows it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use distributed::clock::Clock;
use distributed::rng::lab_seed;
use distributed::sync::{WatchedThread, spawn_watched};
use distributed::testing::sim_disk;

use super::*;

type Hook = Box<dyn FnOnce() + Send>;

/// A manual clock that runs a hook (once) inside its second reading, and returns the time it
/// read before the hook: the reader looked at the clock, then the hook moved it.
#[derive(Default)]
struct SteppedClock {
    inner: ManualClock,
    reads: AtomicUsize,
    hook: Mutex<Option<Hook>>,
}

impl std::fmt::Debug for SteppedClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SteppedClock").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> Duration {
        let now = self.inner.now();
        if self.reads.fetch_add(1, Ordering::SeqCst) == 1 {
            let hook = self.hook.lock().expect("setup: hook").take();
            if let Some(hook) = hook {
                hook();
            }
        }
        now
    }
    fn wait_limit(&self, deadline: Duration) -> Option<Duration> {
        self.inner.wait_limit(deadline)
    }
    fn on_advance(&self, wake: Box<dyn Fn() + Send + Sync>) {
        self.inner.on_advance(wake);
    }
}

#[test]
fn a_step_of_the_clock_between_a_readers_look_and_its_sleep_is_not_lost() {
    let (_, fs) = sim_disk(lab_seed(0x70));
    let replica = distributed::invariant_ok!(
        "bounded-progress",
        Replica::open(fs, DIR, ReplicaOptions::default(), KvStore::new()),
        "open"
    );
    let clock = Arc::new(SteppedClock::default());
    let as_clock: ClockRef = clock.clone();
    let node = ReadNode::new(replica, as_clock);
    write(&node, &[numbered(1)]);
    const TIMEOUT: Duration = Duration::from_millis(5);
    // The reader's first look at the clock takes its deadline; at its second (the check before
    // it sleeps) another thread steps the clock past the deadline and wakes the waiters. A node
    // that checks and sleeps under the lock its wake-ups take holds that thread off until the
    // reader sleeps; one that wakes without the lock wakes nobody, and the reader sleeps through
    // its deadline.
    let stepper: Arc<Mutex<Option<WatchedThread<()>>>> = Arc::new(Mutex::new(None));
    let (slot, stepping) = (Arc::clone(&stepper), Arc::clone(&clock));
    *clock.hook.lock().expect("setup: hook") = Some(Box::new(move || {
        let step = spawn_watched(move || stepping.inner.advance(TIMEOUT));
        step.wait_until_blocked();
        *slot.lock().expect("setup: slot") = Some(step);
    }));
    let reader = spawn_watched({
        let node = node.clone();
        move || node.read(&["k1"], TIMEOUT)
    });
    let lost = loop {
        if reader.is_finished() {
            break false;
        }
        let stepped = stepper.lock().expect("setup: slot").as_ref().map(WatchedThread::is_finished);
        match stepped {
            // The step is done and the reader is asleep: nothing will wake it.
            Some(true) if reader.is_blocked() => break true,
            // This node never looked at the clock a second time before sleeping: move the
            // clock from here, as an ordinary test would.
            None if reader.is_blocked() && clock.reads.load(Ordering::SeqCst) < 2 => clock.inner.advance(TIMEOUT),
            _ => {}
        }
        thread::yield_now();
    };
    if lost {
        // Wake it for good, so that the test ends.
        clock.inner.advance(TIMEOUT);
    }
    let answer = distributed::invariant_ok!("bounded-progress", reader.join(), "the reader thread panicked");
    invariant!(
        "bounded-progress",
        !lost,
        "a reader looked at the clock (its deadline had not passed), then the clock stepped past its deadline and \
         woke the waiters, then the reader went to sleep, and slept on: the wake-up was lost. Check the deadline \
         and sleep under the lock that the clock's wake-up takes (it answered {answer:?} only after another step)"
    );
    invariant!(
        "read-barrier",
        answer == Err(ReadError::Timeout { read_index: 1, last_applied: 0 }),
        "a read at read index 1, with nothing applied and its deadline passed, answered {answer:?}: expected Timeout"
    );
    if let Some(step) = stepper.lock().expect("setup: slot").take() {
        step.join().expect("setup: the stepping thread panicked");
    }
}
