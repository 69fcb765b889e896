//! Lab 5's public tests, in the order of the chapter's tasks: progress, degraded reads, the
//! barrier, wake-ups, one state per read, recovery, the background applier.
//!
//! Run them with `cargo test -p lab5`; one task at a time with, for example,
//! `cargo test -p lab5 barrier::`. A failure starts with the invariant it broke, in brackets,
//! and ends with the command that replays it.
//!
//! No test sleeps to let another thread get somewhere, and none waits for a time. Deadlines
//! are on a `ManualClock` that moves only when a test advances it; a test that must know where
//! a reader is asks the node (`status().waiting`, `status().waits`) and yields until the node
//! says so; the one that must know that a thread is blocked on a lock asks the kernel.
//!
//! These tests drive the interleavings they need by hand. The shuttle tests
//! (`cargo test -p lab5 --features shuttle --test shuttle`) explore the others.

use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use distributed::clock::{ClockRef, ManualClock};
use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::{Entry, Index};
use distributed::sync::{WatchedThread, spawn_watched};
use distributed::testing::sim_disk;
use distributed::vfs::{CrashMode, FsRef, SimFs};
use lab5::{Command, KvStore, Machine, MachineError, Op, Read, ReadError, ReadNode, Replica, ReplicaOptions, Write};

const DIR: &str = "node";
/// On a manual clock, a deadline that passes only when a test advances the clock past it.
const PATIENT: Duration = Duration::from_secs(60);

type Node = ReadNode<Replica<KvStore>>;

fn open(fs: &FsRef) -> (Node, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let as_clock: ClockRef = clock.clone();
    let node = ReadNode::open(Arc::clone(fs), DIR, ReplicaOptions::default(), as_clock)
        .unwrap_or_else(|e| distributed::fail!("recovery-equivalence", "opening the node failed: {e}"));
    (node, clock)
}

fn reopen_after(sim: &SimFs) -> (SimFs, Node, Arc<ManualClock>) {
    let disk = sim.crash(CrashMode::Strict);
    let fs: FsRef = Arc::new(disk.clone());
    let (node, clock) = open(&fs);
    (disk, node, clock)
}

fn put(index: Index, key: &str, value: &str) -> Entry {
    let op = Op::Put { key: key.into(), value: value.as_bytes().to_vec() };
    Entry::new(index, 1, Command::new(index, op).encode())
}

/// An entry that sets every key of `keys` to `value`, all at once.
fn batch(index: Index, keys: &[&str], value: &str) -> Entry {
    let writes = keys.iter().map(|key| Write::Put { key: (*key).into(), value: value.as_bytes().to_vec() }).collect();
    Entry::new(index, 1, Command::new(index, Op::Batch(writes)).encode())
}

/// Appends `entries` and commits the last of them.
fn write(node: &Node, entries: &[Entry]) {
    node.append(entries).unwrap_or_else(|e| distributed::fail!("durability", "append failed: {e}"));
    let last = entries.last().expect("setup: some entries").index;
    node.commit(last).unwrap_or_else(|e| distributed::fail!("persisted-commit", "commit({last}) failed: {e}"));
}

/// Puts `k{i} = v{i}` at index `i`, for every `i` in `first..=last`, committed.
fn write_puts(node: &Node, first: Index, last: Index) {
    let entries: Vec<Entry> = (first..=last).map(|i| put(i, &format!("k{i}"), &format!("v{i}"))).collect();
    write(node, &entries);
}

fn apply(node: &Node, expected: Index) {
    let applied = node.apply_next().unwrap_or_else(|e| distributed::fail!("in-order-apply", "apply_next failed: {e}"));
    invariant!(
        "in-order-apply",
        applied == Some(expected),
        "apply_next returned {applied:?}, expected entry {expected} (entries are applied one at a time, in order)"
    );
}

fn value(text: &str) -> Option<Vec<u8>> {
    Some(text.as_bytes().to_vec())
}

fn spawn_read<M: Machine>(
    node: &ReadNode<M>,
    keys: &[&'static str],
    timeout: Duration,
) -> JoinHandle<Result<Read, ReadError>> {
    let node = node.clone();
    let keys = keys.to_vec();
    thread::spawn(move || node.read(&keys, timeout))
}

/// Yields until `done` holds. Not a sleep: the condition is the node's own account of where
/// its readers are, so this returns as soon as they get there.
fn wait_until(mut done: impl FnMut() -> bool) {
    while !done() {
        thread::yield_now();
    }
}

/// Waits until `count` reads are waiting on the barrier, or one of `reads` has returned.
fn parked<M: Machine>(node: &ReadNode<M>, count: usize, reads: &[&JoinHandle<Result<Read, ReadError>>]) {
    wait_until(|| node.status().waiting >= count || reads.iter().any(|r| r.is_finished()));
}

fn finish(read: JoinHandle<Result<Read, ReadError>>) -> Result<Read, ReadError> {
    distributed::invariant_ok!("read-barrier", read.join(), "the reader thread panicked")
}

/// Fails with `[read-barrier]` if a read with read index `read_index` came back early.
fn check_not_served(read: &JoinHandle<Result<Read, ReadError>>, read_index: Index, last_applied: Index) {
    invariant!(
        "read-barrier",
        !read.is_finished(),
        "a read that arrived at commit index {read_index} returned while last_applied was {last_applied}: \
         a linearizable read is served only once last_applied reaches its read index"
    );
}

mod progress {
    use super::*;

    #[test]
    fn a_node_publishes_what_the_replica_holds_and_applies_one_entry_at_a_time() {
        let (_, fs) = sim_disk(lab_seed(1));
        let (node, _) = open(&fs);
        let status = node.status();
        distributed::invariant_eq!(
            "in-order-apply",
            (status.commit_index, status.last_applied, status.replay_target),
            (0, 0, 0),
            "(status.commit_index, status.last_applied, status.replay_target)",
        );
        distributed::invariant!("read-barrier", status.recovered(), "an empty replica has nothing to replay");
        distributed::invariant_ok!(
            "in-order-apply",
            node.append(&[put(1, "a", "1"), put(2, "b", "2"), put(3, "c", "3")]),
            "node.append(..)"
        );
        distributed::invariant_ok!("in-order-apply", node.commit(2), "node.commit(..)");
        let status = node.status();
        invariant!(
            "persisted-commit",
            (status.commit_index, status.last_applied) == (2, 0),
            "after commit(2) and no apply, the node publishes commit {} and last_applied {}",
            status.commit_index,
            status.last_applied
        );
        apply(&node, 1);
        apply(&node, 2);
        let more = distributed::invariant_ok!("in-order-apply", node.apply_next(), "node.apply_next()");
        invariant!("in-order-apply", more.is_none(), "entry 3 is not committed, but apply_next applied {more:?}");
        distributed::invariant_eq!("in-order-apply", node.status().last_applied, 2, "node.status().last_applied");
        let (applied, commit) = node.with_machine(|m| (m.last_applied(), m.commit_index()));
        distributed::invariant_eq!("in-order-apply", (applied, commit), (2, 2), "the replica agrees with the node");
    }
}

mod degraded {
    use super::*;

    #[test]
    fn a_degraded_read_says_which_index_its_answer_reflects() {
        let (_, fs) = sim_disk(lab_seed(2));
        let (node, _) = open(&fs);
        write_puts(&node, 1, 3);
        apply(&node, 1);
        let read = node
            .read_stale(&["k1", "k2", "k3"], 0)
            .unwrap_or_else(|e| distributed::fail!("degraded-read", "a degraded read failed: {e}",));
        invariant!(
            "degraded-read",
            read.index == 1 && read.values == vec![value("v1"), None, None],
            "with entries 1..=3 committed and entry 1 applied, a degraded read answered index {} with {:?}: \
             it must answer from the applied state and name that state's index (1)",
            read.index,
            read.values
        );
    }

    #[test]
    fn a_degraded_read_never_goes_below_what_the_caller_saw() {
        let (_, fs) = sim_disk(lab_seed(3));
        let (node, _) = open(&fs);
        write_puts(&node, 1, 2);
        apply(&node, 1);
        let behind = node.read_stale(&["k2"], 2);
        invariant!(
            "monotonic",
            behind == Err(ReadError::Behind { at_least: 2, last_applied: 1 }),
            "a caller that saw index 2 asked for a degraded read at the node's index 1 and got {behind:?}: \
             it must be refused (Behind), or the caller's reads go back in time"
        );
        apply(&node, 2);
        let read = distributed::invariant_ok!("monotonic", node.read_stale(&["k2"], 2), "node.read_stale(..)");
        distributed::invariant_eq!(
            "monotonic",
            (read.index, read.values),
            (2, vec![value("v2")]),
            "(read.index, read.values)",
        );
    }
}

mod barrier {
    use super::*;

    #[test]
    fn a_read_waits_until_the_commit_index_it_arrived_with_is_applied() {
        let (_, fs) = sim_disk(lab_seed(4));
        let (node, _) = open(&fs);
        write_puts(&node, 1, 3);
        apply(&node, 1);
        let read = spawn_read(&node, &["k3"], PATIENT);
        parked(&node, 1, &[&read]);
        check_not_served(&read, 3, 1);
        apply(&node, 2);
        apply(&node, 3);
        let answer = finish(read);
        invariant!(
            "read-barrier",
            matches!(&answer, Ok(r) if r.index >= 3 && r.values == vec![value("v3")]),
            "a read that arrived at commit index 3 answered {answer:?}: it must reflect every entry up to 3"
        );
    }

    #[test]
    fn a_read_not_served_in_time_is_an_error_never_a_stale_value() {
        let (_, fs) = sim_disk(lab_seed(5));
        let (node, clock) = open(&fs);
        write_puts(&node, 1, 2);
        apply(&node, 1);
        let now = node.read(&["k2"], Duration::ZERO);
        invariant!(
            "read-barrier",
            now == Err(ReadError::Timeout { read_index: 2, last_applied: 1 }),
            "a read with no time to wait, at read index 2 and last_applied 1, answered {now:?}: expected Timeout"
        );
        let read = spawn_read(&node, &["k2"], Duration::from_millis(50));
        parked(&node, 1, &[&read]);
        check_not_served(&read, 2, 1);
        clock.advance(Duration::from_millis(50));
        let answer = finish(read);
        invariant!(
            "read-barrier",
            answer == Err(ReadError::Timeout { read_index: 2, last_applied: 1 }),
            "a read whose deadline passed with last_applied 1 below its read index 2 answered {answer:?}: \
             it must be a Timeout error, never the older state"
        );
    }

    #[test]
    fn a_read_is_served_once_its_own_read_index_is_applied_even_while_commits_go_on() {
        let (_, fs) = sim_disk(lab_seed(6));
        let (node, clock) = open(&fs);
        write_puts(&node, 1, 2);
        distributed::invariant_ok!(
            "bounded-progress",
            node.append(&[put(3, "k3", "v3"), put(4, "k4", "v4")]),
            "node.append(..)"
        );
        let read = spawn_read(&node, &["k2"], Duration::from_millis(10));
        parked(&node, 1, &[&read]);
        check_not_served(&read, 2, 0);
        distributed::invariant_ok!("bounded-progress", node.commit(4), "node.commit(..)");
        apply(&node, 1);
        apply(&node, 2);
        // The deadline passes with last_applied = 2: enough for a read that arrived at commit
        // index 2, not for one that looks at the commit index again (4) after waiting.
        clock.advance(Duration::from_millis(10));
        let answer = finish(read);
        invariant!(
            "bounded-progress",
            matches!(&answer, Ok(r) if r.index >= 2 && r.values == vec![value("v2")]),
            "a read that arrived at commit index 2 was not served with last_applied at 2 ({answer:?}): its read \
             index must be fixed on arrival, or under a steady stream of commits it is never served"
        );
    }
}

mod wakeups {
    use super::*;

    #[test]
    fn every_wake_up_checks_the_predicate_again() {
        let (_, fs) = sim_disk(lab_seed(7));
        let (node, _) = open(&fs);
        write_puts(&node, 1, 3);
        let read = spawn_read(&node, &["k3"], PATIENT);
        parked(&node, 1, &[&read]);
        for index in 1..=2 {
            let waits = node.status().waits;
            apply(&node, index);
            // Every apply wakes the reader. Wait until it has looked and gone back to sleep,
            // or returned.
            wait_until(|| read.is_finished() || node.status().waits > waits);
            check_not_served(&read, 3, index);
        }
        apply(&node, 3);
        let answer = finish(read);
        invariant!(
            "read-barrier",
            matches!(&answer, Ok(r) if r.index >= 3 && r.values == vec![value("v3")]),
            "a read at read index 3 answered {answer:?}"
        );
    }

    #[test]
    fn a_step_of_the_clock_wakes_every_waiting_read() {
        let (_, fs) = sim_disk(lab_seed(8));
        let (node, clock) = open(&fs);
        write_puts(&node, 1, 1);
        let reads: Vec<_> = (0..3).map(|_| spawn_read(&node, &["k1"], Duration::from_millis(5))).collect();
        parked(&node, 3, &reads.iter().collect::<Vec<_>>());
        clock.advance(Duration::from_millis(5));
        for read in reads {
            let answer = finish(read);
            invariant!(
                "read-barrier",
                answer == Err(ReadError::Timeout { read_index: 1, last_applied: 0 }),
                "after the clock passed the deadline a waiting read answered {answer:?}: expected Timeout"
            );
        }
    }
}

mod atomic {
    use super::*;

    type Hook = Box<dyn FnOnce() + Send>;

    /// Lab 4's replica, with a hook run (once) inside the first `get` of a read.
    struct Hooked {
        inner: Replica<KvStore>,
        hook: Arc<Mutex<Option<Hook>>>,
    }

    impl Machine for Hooked {
        fn commit_index(&self) -> Index {
            self.inner.commit_index()
        }
        fn last_applied(&self) -> Index {
            self.inner.last_applied()
        }
        fn apply_next(&mut self) -> Result<Option<Index>, MachineError> {
            Machine::apply_next(&mut self.inner)
        }
        fn get(&self, key: &str) -> Option<Vec<u8>> {
            let hook = self.hook.lock().expect("setup: self.hook.lock()").take();
            if let Some(hook) = hook {
                hook();
            }
            self.inner.get(key)
        }
        fn append(&mut self, entries: &[Entry]) -> Result<(), MachineError> {
            Machine::append(&mut self.inner, entries)
        }
        fn commit(&mut self, index: Index) -> Result<(), MachineError> {
            Machine::commit(&mut self.inner, index)
        }
    }

    #[test]
    fn a_read_of_several_keys_sees_an_entry_all_or_nothing() {
        let (_, fs) = sim_disk(lab_seed(9));
        let replica = distributed::invariant_ok!(
            "atomic-visibility",
            Replica::open(fs, DIR, ReplicaOptions::default(), KvStore::new()),
            "Replica::open(..)"
        );
        let hook = Arc::new(Mutex::new(None));
        let node = ReadNode::new(Hooked { inner: replica, hook: Arc::clone(&hook) }, Arc::new(ManualClock::new()));
        distributed::invariant_ok!(
            "atomic-visibility",
            node.append(&[batch(1, &["a", "b", "c"], "1"), batch(2, &["a", "b", "c"], "2")]),
            "node.append(..)"
        );
        distributed::invariant_ok!("atomic-visibility", node.commit(2), "node.commit(..)");
        distributed::invariant_eq!(
            "atomic-visibility",
            distributed::invariant_ok!("atomic-visibility", node.apply_next(), "node.apply_next()"),
            Some(1),
            "node.apply_next().unwrap()",
        );
        // While a degraded read (served at once, at index 1) is reading its first key, another
        // thread starts to apply entry 2, and a second reader arrives behind it. The test waits
        // until each is blocked, as the kernel reports it (`spawn_watched`), not for a time. A node that reads
        // all keys from one state holds both off until the read is done. One that takes the
        // lock once per key lets the apply in between: the standard library's RwLock on Linux
        // hands a released lock to the waiting writer, and the second reader, waiting behind
        // it, keeps the first from taking the lock back first.
        let started: Arc<Mutex<Vec<WatchedThread<()>>>> = Arc::new(Mutex::new(Vec::new()));
        let (other, slot) = (node.clone(), Arc::clone(&started));
        *hook.lock().expect("setup: hook.lock()") = Some(Box::new(move || {
            let (applier, reader) = (other.clone(), other);
            let applying = spawn_watched(move || {
                let _ = applier.apply_next();
            });
            applying.wait_until_blocked();
            let reading = spawn_watched(move || {
                let _ = reader.read_stale(&["a"], 0);
            });
            reading.wait_until_blocked();
            slot.lock().expect("setup: slot.lock()").extend([applying, reading]);
        }) as Hook);
        let read = distributed::invariant_ok!(
            "atomic-visibility",
            node.read_stale(&["a", "b", "c"], 0),
            "a degraded read is served at once"
        );
        let first = read.values[0].clone();
        invariant!(
            "atomic-visibility",
            read.values.iter().all(|v| *v == first) && first == value(&read.index.to_string()),
            "a read of a, b and c answered {:?} at index {}: entries 1 and 2 each set all three keys together, \
             so a read sees all of an entry's writes or none, and the index it reports is the state it read",
            read.values,
            read.index
        );
        let started: Vec<WatchedThread<()>> = started.lock().expect("setup: started.lock()").drain(..).collect();
        distributed::invariant_eq!("atomic-visibility", started.len(), 2, "the hook ran");
        for watched in started {
            distributed::invariant_ok!("atomic-visibility", watched.join(), "watched.join()");
        }
        distributed::invariant_eq!("atomic-visibility", node.status().last_applied, 2, "node.status().last_applied");
    }
}

mod recovery {
    use super::*;

    #[test]
    fn no_read_is_served_before_replay_reaches_the_persisted_commit_index() {
        let (sim, fs) = sim_disk(lab_seed(10));
        {
            let (node, _) = open(&fs);
            write_puts(&node, 1, 4);
            for i in 1..=4 {
                apply(&node, i);
            }
        }
        let (_, node, _) = reopen_after(&sim);
        let status = node.status();
        invariant!(
            "read-barrier",
            status.replay_target == 4 && status.commit_index == 4 && !status.recovered(),
            "after a restart with commit index 4 persisted and nothing replayed, the node published {status:?}"
        );
        let early = node.read(&["k4"], Duration::ZERO);
        invariant!(
            "read-barrier",
            early == Err(ReadError::NotReady { read_index: 4, last_applied: 0, replay_target: 4 }),
            "a read before replay answered {early:?}: expected NotReady"
        );
        let stale = distributed::invariant_ok!("read-barrier", node.read_stale(&["k4"], 0), "node.read_stale(..)");
        distributed::invariant_eq!(
            "degraded-read",
            (stale.index, stale.values),
            (0, vec![None]),
            "a degraded read during replay",
        );
        let read = spawn_read(&node, &["k4"], PATIENT);
        parked(&node, 1, &[&read]);
        for i in 1..=3 {
            let waits = node.status().waits;
            apply(&node, i);
            wait_until(|| read.is_finished() || node.status().waits > waits);
            check_not_served(&read, 4, i);
        }
        apply(&node, 4);
        let answer = finish(read);
        invariant!(
            "read-barrier",
            matches!(&answer, Ok(r) if r.index == 4 && r.values == vec![value("v4")]),
            "the first read after replay answered {answer:?}"
        );
    }

    #[test]
    fn reads_never_go_back_in_time_at_any_crash_point() {
        // Workload: write, apply and read, acknowledging the index of every answered read.
        let keys = ["k1", "k2", "k3", "k4", "k5"];
        let report = CrashExplorer::new(lab_seed(11)).explore(
            |sim, answered: &mut Vec<Index>| -> Result<(), String> {
                let fs: FsRef = Arc::new(sim.clone());
                let clock: ClockRef = Arc::new(ManualClock::new());
                let node = ReadNode::open(fs, DIR, ReplicaOptions::default(), clock).map_err(|e| e.to_string())?;
                for i in 1..=5 {
                    node.append(&[put(i, &format!("k{i}"), &format!("v{i}"))]).map_err(|e| e.to_string())?;
                    node.commit(i).map_err(|e| e.to_string())?;
                    node.apply_next().map_err(|e| e.to_string())?;
                    let read = node.read(&keys, Duration::ZERO).map_err(|e| e.to_string())?;
                    answered.push(read.index);
                }
                Ok(())
            },
            |disk, answered| {
                let newest = answered.iter().copied().max().unwrap_or(0);
                let fs: FsRef = Arc::new(disk.clone());
                let (node, _) = open(&fs);
                let first = node.read(&keys, Duration::ZERO);
                if let Ok(read) = &first {
                    invariant!(
                        "monotonic",
                        read.index >= newest,
                        "after a crash, a read before any replay answered index {} but index {newest} was \
                         answered before the crash",
                        read.index
                    );
                }
                while distributed::invariant_ok!("monotonic", node.apply_next(), "replay").is_some() {}
                let read = node.read(&keys, Duration::ZERO);
                invariant!(
                    "monotonic",
                    matches!(&read, Ok(r) if r.index >= newest),
                    "after a crash and a full replay a read answered {read:?}, but index {newest} was answered \
                     before the crash"
                );
            },
        );
        distributed::invariant!("monotonic", report.crash_points > 10, "the workload does I/O");
    }
}

mod applier {
    use super::*;

    #[test]
    fn the_background_applier_replays_then_follows_new_commits() {
        let (sim, fs) = sim_disk(lab_seed(12));
        {
            let (node, _) = open(&fs);
            write_puts(&node, 1, 5);
        }
        let (_, node, _clock) = reopen_after(&sim);
        let applier = node.start_applier();
        let read = distributed::invariant_ok!("in-order-apply", node.read(&["k5"], PATIENT), "served after replay");
        invariant!(
            "read-barrier",
            read.index >= 5 && read.values == vec![value("v5")],
            "the first read after a restart with commit index 5 answered {read:?}"
        );
        write_puts(&node, 6, 8);
        let read = distributed::invariant_ok!("in-order-apply", node.read(&["k6", "k8"], PATIENT), "served");
        invariant!(
            "in-order-apply",
            read.index >= 8 && read.values == vec![value("v6"), value("v8")],
            "a read after commit(8) answered {read:?}"
        );
        distributed::invariant_ok!("in-order-apply", applier.stop(), "the applier stops cleanly");
        distributed::invariant_eq!("in-order-apply", node.status().last_applied, 8, "node.status().last_applied");
    }

    #[test]
    fn waiting_readers_never_hold_the_applier_back() {
        let (_, fs) = sim_disk(lab_seed(13));
        let (node, _) = open(&fs);
        write_puts(&node, 1, 4);
        let reads: Vec<_> = (0..3).map(|_| spawn_read(&node, &["k4"], PATIENT)).collect();
        parked(&node, 3, &reads.iter().collect::<Vec<_>>());
        // Bounded progress: each apply step with readers waiting applies one entry.
        for step in 1..=4 {
            let applied = distributed::invariant_ok!("bounded-progress", node.apply_next(), "apply");
            invariant!(
                "bounded-progress",
                applied == Some(step),
                "with {} reads waiting, apply step {step} applied {applied:?}: readers must never keep the \
                 applier out, or the entries they wait for are never applied",
                node.status().waiting
            );
        }
        for read in reads {
            let answer = finish(read);
            distributed::invariant!(
                "read-barrier",
                matches!(&answer, Ok(r) if r.index >= 4),
                "a waiting read answers at index 4 or later: seen {answer:?}"
            );
        }
    }
}
