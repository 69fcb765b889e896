//! Faults: a commit that fails publishes nothing; an apply that fails stops every read.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use distributed::rng::lab_seed;
use distributed::testing::sim_disk;
use lab5::MachineError;

use super::*;

#[test]
fn a_failed_commit_publishes_no_read_index() {
    let (sim, fs) = sim_disk(lab_seed(0xf0));
    let (node, _) = open(&fs);
    write(&node, &[numbered(1)]);
    apply(&node, 1);
    distributed::invariant_ok!("persisted-commit", node.append(&[numbered(2), numbered(3)]), "append");
    sim.fail_next_syncs(8);
    let failed = node.commit(3);
    distributed::invariant!("persisted-commit", failed.is_err(), "a commit whose sync failed returned Ok");
    let status = node.status();
    invariant!(
        "persisted-commit",
        status.commit_index == 1,
        "a commit to 3 failed, but the node publishes commit index {}: a read index must be a durable commit",
        status.commit_index
    );
    let read = node.read(&["k1"], Duration::ZERO);
    invariant!(
        "persisted-commit",
        matches!(&read, Ok(r) if r.index == 1),
        "after a failed commit a read answered {read:?}: its read index is the last durable commit, 1"
    );
}

/// Lab 4's replica, failing the apply of one entry once (a transient fault: asked again, it
/// would succeed), and saying when it is dropped.
struct Failing {
    inner: Replica<KvStore>,
    fail_at: AtomicU64,
    dropped: Arc<AtomicBool>,
}

impl Failing {
    /// Fails the apply of entry `fail_at` (0: never), on a fresh replica in `fs`.
    fn open(fs: FsRef, fail_at: Index) -> (Failing, Arc<AtomicBool>) {
        let inner = distributed::invariant_ok!(
            "fail-stop",
            Replica::open(fs, DIR, ReplicaOptions::default(), KvStore::new()),
            "open"
        );
        let dropped = Arc::new(AtomicBool::new(false));
        (Failing { inner, fail_at: AtomicU64::new(fail_at), dropped: Arc::clone(&dropped) }, dropped)
    }
}

impl Drop for Failing {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

impl Machine for Failing {
    fn commit_index(&self) -> Index {
        self.inner.commit_index()
    }
    fn last_applied(&self) -> Index {
        self.inner.last_applied()
    }
    fn apply_next(&mut self) -> Result<Option<Index>, MachineError> {
        let next = self.inner.last_applied() + 1;
        if self.fail_at.compare_exchange(next, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return Err("the disk returned EIO while reading the entry".into());
        }
        Machine::apply_next(&mut self.inner)
    }
    fn get(&self, key: &str) -> Option<Vec<u8>> {
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
fn a_failed_apply_stops_every_read_waiting_ones_included() {
    let (_, fs) = sim_disk(lab_seed(0xf1));
    let (machine, _) = Failing::open(fs, 2);
    let node = ReadNode::new(machine, Arc::new(ManualClock::new()));
    write(&node, &(1..=3).map(numbered).collect::<Vec<_>>());
    let readers: Vec<Reader> = (0..3).map(|_| spawn_read(&node, &["k3"], PATIENT)).collect();
    wait_until(|| node.status().waiting == 3 || readers.iter().any(|r| r.is_finished()));
    apply(&node, 1);
    distributed::invariant!("fail-stop", node.apply_next().is_err(), "the failing apply returned Ok");
    invariant!("fail-stop", node.status().failed, "after a failed apply the node does not say it failed");
    for reader in readers {
        let answer = finish(reader);
        invariant!(
            "fail-stop",
            matches!(answer, Err(ReadError::Failed(_))),
            "a read waiting when the apply failed answered {answer:?}: it must be told (Failed), not wait forever"
        );
    }
    let stale = node.read_stale(&["k1"], 0);
    invariant!("fail-stop", matches!(stale, Err(ReadError::Failed(_))), "a degraded read after the failure: {stale:?}");
    // The machine would apply entry 2 if asked again (the fault was transient); the node
    // must not ask: its state can no longer be vouched for.
    let more = node.apply_next();
    invariant!("fail-stop", more.is_err(), "apply_next after a failed apply answered {more:?}");
}

#[test]
fn an_applier_ends_with_the_error_that_stopped_it_and_a_dropped_one_lets_go_of_the_node() {
    let (_, fs) = sim_disk(lab_seed(0xf2));
    let (machine, _) = Failing::open(fs, 2);
    let node = ReadNode::new(machine, Arc::new(ManualClock::new()));
    let applier = node.start_applier();
    write(&node, &(1..=3).map(numbered).collect::<Vec<_>>());
    let read = node.read(&["k3"], PATIENT);
    invariant!(
        "fail-stop",
        matches!(read, Err(ReadError::Failed(_))),
        "a read past the failed apply answered {read:?}"
    );
    let stopped = applier.stop();
    invariant!(
        "fail-stop",
        stopped.is_err(),
        "the applier's apply of entry 2 failed, but Applier::stop answered {stopped:?}: it returns how the applier ended"
    );

    let (_, fs) = sim_disk(lab_seed(0xf3));
    let (machine, dropped) = Failing::open(fs, 0);
    let node = ReadNode::new(machine, Arc::new(ManualClock::new()));
    let applier = node.start_applier();
    write(&node, &(1..=2).map(numbered).collect::<Vec<_>>());
    let read = node.read(&["k2"], PATIENT);
    invariant!("in-order-apply", matches!(&read, Ok(r) if r.index >= 2), "the applier served {read:?}");
    drop(applier);
    drop(node);
    invariant!(
        "in-order-apply",
        dropped.load(Ordering::SeqCst),
        "the applier's handle and the node were dropped, but the node's machine was not: dropping the handle \
         must stop the applier's thread and join it, and that thread still holds the node"
    );
}
