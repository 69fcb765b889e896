//! Lab 5's shuttle tests: the read barrier's core under many thread schedules.
//!
//! Run them with `cargo test -p lab5 --features shuttle --test shuttle`. The feature makes
//! `distributed::sync` (your locks, condition variable, atomics and threads) and the kit's
//! `ManualClock` shuttle's: each test body then runs a few hundred times, each time under
//! another schedule, chosen by a seed, of who runs at every lock, wait, notify, atomic access
//! and spawn. A bug that real threads hit once in a million runs (a wake-up that lands between
//! a reader's look at its predicate and its sleep) is tried on purpose; a failing schedule
//! replays exactly, and when every thread is blocked (a lost wake-up) shuttle says so instead
//! of hanging.
//!
//! A failure starts with the invariant it broke, then gives the failing schedule and the
//! commands that replay it (the chapter's "Reading a shuttle failure" reads one with you).
//!
//! The machine under the node is a few lines of memory (`Memory` below), not lab 4's replica:
//! the tests are about the barrier, and a small machine lets shuttle try more schedules.
//! Nothing waits for time: deadlines are on a `ManualClock` that a test thread advances.

use std::collections::BTreeMap;
use std::time::Duration;

use distributed::clock::{Clock, ClockRef, ManualClock};
use distributed::invariant;
use distributed::storage::{Entry, Index};
use distributed::sync::atomic::{AtomicUsize, Ordering};
use distributed::sync::thread;
use distributed::sync::{Arc, Schedules, check_schedules};
use lab5::{Machine, MachineError, Read, ReadError, ReadNode};

/// Schedules per test: half from shuttle's PCT scheduler, half from its random one. All five
/// tests take well under a second together; `LAB_SEED` explores other schedules.
const SCHEDULES: usize = 400;
/// On a manual clock, a deadline that passes only when a test advances the clock past it.
const PATIENT: Duration = Duration::from_secs(3600);
const KEYS: [&str; 3] = ["a", "b", "c"];

/// A replica in memory: `entries` committed entries can be appended to it; entry `i` sets
/// every key of [`KEYS`] to the text of `i`, all at once.
#[derive(Debug)]
struct Memory {
    entries: Index,
    commit_index: Index,
    last_applied: Index,
    state: BTreeMap<&'static str, Vec<u8>>,
}

impl Memory {
    fn new(entries: Index) -> Memory {
        Memory { entries, commit_index: 0, last_applied: 0, state: BTreeMap::new() }
    }
}

impl Machine for Memory {
    fn commit_index(&self) -> Index {
        self.commit_index
    }
    fn last_applied(&self) -> Index {
        self.last_applied
    }
    fn apply_next(&mut self) -> Result<Option<Index>, MachineError> {
        if self.last_applied >= self.commit_index {
            return Ok(None);
        }
        self.last_applied += 1;
        for key in KEYS {
            self.state.insert(key, self.last_applied.to_string().into_bytes());
        }
        Ok(Some(self.last_applied))
    }
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.state.get(key).cloned()
    }
    fn append(&mut self, _entries: &[Entry]) -> Result<(), MachineError> {
        Ok(())
    }
    fn commit(&mut self, index: Index) -> Result<(), MachineError> {
        self.commit_index = self.commit_index.max(index.min(self.entries));
        Ok(())
    }
}

fn node(entries: Index) -> (ReadNode<Memory>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let as_clock: ClockRef = clock.clone();
    (ReadNode::new(Memory::new(entries), as_clock), clock)
}

fn plan(seed: u64, deadlock: &'static str) -> Schedules {
    Schedules { seed, iterations: SCHEDULES, deadlock }
}

/// Every key of an answer holds the index the answer reports: one state, never half an entry.
fn check_one_state(read: &Read) {
    let expected = (read.index > 0).then(|| read.index.to_string().into_bytes());
    invariant!(
        "atomic-visibility",
        read.values.iter().all(|value| *value == expected),
        "an answer at index {} holds {:?}: every entry sets a, b and c to its index together, so a read sees \
         all of an entry's writes or none",
        read.index,
        read.values.iter().map(|v| v.as_deref().map(String::from_utf8_lossy)).collect::<Vec<_>>()
    );
}

/// The wait predicate and the wake-ups: readers that arrive at commit index 1, 2 or 3 while a
/// writer commits and the background applier applies, each served from a state at its read
/// index or later, in one piece. A reader woken by an apply that is not yet its own goes back
/// to sleep (`while`, not `if`); a reader whose entry was applied is woken (no lost wake-up:
/// shuttle reports a deadlock otherwise).
#[test]
fn every_read_is_served_at_its_read_index_whatever_the_schedule() {
    check_schedules(plan(0x5101, "bounded-progress"), || {
        let (node, _clock) = node(3);
        let applier = node.start_applier();
        distributed::invariant_ok!("read-barrier", node.commit(1), "commit");
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let node = node.clone();
                thread::spawn(move || {
                    let floor = node.status().commit_index;
                    let read = distributed::invariant_ok!(
                        "read-barrier",
                        node.read(&KEYS, PATIENT),
                        "a patient read is served"
                    );
                    (floor, read)
                })
            })
            .collect();
        distributed::invariant_ok!("read-barrier", node.commit(2), "commit");
        distributed::invariant_ok!("read-barrier", node.commit(3), "commit");
        for reader in readers {
            let (floor, read) = distributed::invariant_ok!("read-barrier", reader.join(), "the reader thread panicked");
            invariant!(
                "read-barrier",
                read.index >= floor,
                "a read that arrived at commit index {floor} or later was served from the state at index {}: it \
                 must wait until last_applied reaches its read index, and check again after every wake-up",
                read.index
            );
            check_one_state(&read);
        }
        distributed::invariant_ok!("read-barrier", applier.stop(), "the applier stops");
    });
}

/// A read of several keys while the applier applies: all of an entry or none of it.
#[test]
fn a_read_of_several_keys_never_sees_half_an_entry() {
    check_schedules(plan(0x5102, "bounded-progress"), || {
        let (node, _clock) = node(2);
        distributed::invariant_ok!("read-barrier", node.commit(2), "commit");
        distributed::invariant_ok!("read-barrier", node.apply_next(), "apply");
        let reader = {
            let node = node.clone();
            thread::spawn(move || {
                distributed::invariant_ok!(
                    "read-barrier",
                    node.read_stale(&KEYS, 0),
                    "a degraded read is served at once"
                )
            })
        };
        distributed::invariant_ok!("read-barrier", node.apply_next(), "apply");
        let read = distributed::invariant_ok!("read-barrier", reader.join(), "the reader thread panicked");
        check_one_state(&read);
    });
}

/// A manual clock that counts how often it was read, so that a test can step it only after a
/// read has taken its deadline (a read that arrives after the step has a later deadline, which
/// no step reaches: it rightly waits forever).
#[derive(Debug, Default)]
struct CountingClock {
    inner: ManualClock,
    reads: AtomicUsize,
}

impl Clock for CountingClock {
    fn now(&self) -> Duration {
        // Counted after the time is read: a step seen as "after the first read" is after it.
        let now = self.inner.now();
        self.reads.fetch_add(1, Ordering::SeqCst);
        now
    }
    fn wait_limit(&self, deadline: Duration) -> Option<Duration> {
        self.inner.wait_limit(deadline)
    }
    fn on_advance(&self, wake: Box<dyn Fn() + Send + Sync>) {
        self.inner.on_advance(wake);
    }
}

/// The clock's wake-up: a read waiting with a deadline, and a step of the clock past it. The
/// step must reach the reader wherever it is: between its look at the clock and its sleep
/// included, which is where a wake-up sent without the lock gets lost.
#[test]
fn a_step_of_the_clock_always_reaches_a_waiting_read() {
    check_schedules(plan(0x5103, "bounded-progress"), || {
        let clock = Arc::new(CountingClock::default());
        let as_clock: ClockRef = clock.clone();
        let node = ReadNode::new(Memory::new(1), as_clock);
        distributed::invariant_ok!("read-barrier", node.commit(1), "commit");
        let reader = {
            let node = node.clone();
            thread::spawn(move || node.read(&KEYS, Duration::from_millis(5)))
        };
        // The read's first look at the clock takes its deadline; step the clock after it.
        while clock.reads.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        clock.inner.advance(Duration::from_millis(5));
        let answer = distributed::invariant_ok!("read-barrier", reader.join(), "the reader thread panicked");
        invariant!(
            "read-barrier",
            answer == Err(ReadError::Timeout { read_index: 1, last_applied: 0 }),
            "a read at read index 1, with nothing applied and its deadline passed, answered {answer:?}: expected \
             Timeout"
        );
    });
}

/// Stopping the applier: the stop must reach the applier thread wherever it is, asleep or
/// about to sleep, or `stop` waits for it forever.
#[test]
fn stopping_the_applier_always_reaches_it() {
    check_schedules(plan(0x5104, "bounded-progress"), || {
        let (node, _clock) = node(2);
        let applier = node.start_applier();
        distributed::invariant_ok!("in-order-apply", node.commit(1), "commit");
        distributed::invariant_ok!("in-order-apply", applier.stop(), "the applier stops");
        let applied = node.status().last_applied;
        invariant!("in-order-apply", applied <= 1, "the applier applied {applied} entries of 1 committed");
    });
}

/// Starvation, bounded: with readers waiting for entries, every apply step applies one. An
/// applier that gives way to waiting readers never applies the entries they wait for.
#[test]
fn waiting_readers_never_keep_an_apply_step_from_applying() {
    check_schedules(plan(0x5105, "bounded-progress"), || {
        let (node, _clock) = node(3);
        distributed::invariant_ok!("bounded-progress", node.commit(3), "commit");
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let node = node.clone();
                thread::spawn(move || node.read(&KEYS, PATIENT))
            })
            .collect();
        for step in 1..=3 {
            let applied = distributed::invariant_ok!("bounded-progress", node.apply_next(), "apply");
            invariant!(
                "bounded-progress",
                applied == Some(step),
                "apply step {step}, with entries up to 3 committed and readers running, applied {applied:?}: each \
                 apply step applies one committed entry, whatever the readers do"
            );
        }
        for reader in readers {
            let read = distributed::invariant_ok!(
                "bounded-progress",
                distributed::invariant_ok!("bounded-progress", reader.join(), "the reader thread panicked"),
                "served"
            );
            invariant!("read-barrier", read.index == 3, "a read at read index 3 was served at {}", read.index);
            check_one_state(&read);
        }
    });
}
