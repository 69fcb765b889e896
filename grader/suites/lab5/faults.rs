//! Faults: a commit that fails publishes nothing; an apply that fails stops every read.

use std::sync::atomic::{AtomicU64, Ordering};

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

/// Lab 4's replica, failing the apply of one entry.
struct Failing {
    inner: Replica<KvStore>,
    fail_at: AtomicU64,
}

impl Machine for Failing {
    fn commit_index(&self) -> Index {
        self.inner.commit_index()
    }
    fn last_applied(&self) -> Index {
        self.inner.last_applied()
    }
    fn apply_next(&mut self) -> Result<Option<Index>, MachineError> {
        if self.inner.last_applied() + 1 == self.fail_at.load(Ordering::SeqCst) {
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
    let replica = distributed::invariant_ok!(
        "fail-stop",
        Replica::open(fs, DIR, ReplicaOptions::default(), KvStore::new()),
        "open"
    );
    let node = ReadNode::new(Failing { inner: replica, fail_at: AtomicU64::new(2) }, Arc::new(ManualClock::new()));
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
    let more = node.apply_next();
    invariant!("fail-stop", more.is_err(), "apply_next after a failed apply answered {more:?}");
}
