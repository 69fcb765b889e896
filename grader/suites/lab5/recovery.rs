//! Restarts: at every step of a replay, with a snapshot, and a caller's last seen index
//! carried across them.

use distributed::rng::lab_seed;
use distributed::testing::sim_disk;

use super::*;

#[test]
fn a_restart_at_every_step_of_replay_never_serves_an_older_state() {
    let (sim, fs) = sim_disk(lab_seed(0x40));
    let (node, _) = open(&fs);
    write(&node, &(1..=8).map(numbered).collect::<Vec<_>>());
    while distributed::invariant_ok!("read-barrier", node.apply_next(), "apply").is_some() {}
    let answered = distributed::invariant_ok!("read-barrier", node.read(&["k8"], Duration::ZERO), "caught up").index;
    drop(node);
    for replayed in 0..=8 {
        let (disk, node, _) = reopen_after(&sim);
        for _ in 0..replayed {
            distributed::invariant_ok!("read-barrier", node.apply_next(), "replay");
        }
        // A second power cut in the middle of the replay.
        drop(node);
        let (_, node, _) = reopen_after(&disk);
        let status = node.status();
        invariant!(
            "read-barrier",
            status.replay_target == 8 && status.commit_index == 8 && status.last_applied == 0,
            "after a restart {replayed} entries into a replay, the node published {status:?}"
        );
        let early = node.read(&["k8"], Duration::ZERO);
        invariant!(
            "read-barrier",
            early == Err(ReadError::NotReady { read_index: 8, last_applied: 0, replay_target: 8 }),
            "a read before replay (restarted {replayed} entries into the last one) answered {early:?}"
        );
        let behind = node.read_stale(&["k8"], answered);
        invariant!(
            "monotonic",
            matches!(behind, Err(ReadError::Behind { .. })),
            "a degraded read for a caller that saw index {answered} answered {behind:?} before replay"
        );
        let applier = node.start_applier();
        let read = node.read(&["k8"], PATIENT);
        invariant!(
            "read-barrier",
            matches!(&read, Ok(r) if r.index >= answered && r.values == vec![value("v8")]),
            "the first read after a restart {replayed} entries into a replay answered {read:?}"
        );
        distributed::invariant_ok!("read-barrier", applier.stop(), "the applier stops");
    }
}

#[test]
fn with_a_snapshot_reads_start_from_it_and_wait_for_the_rest() {
    let (sim, fs) = sim_disk(lab_seed(0x41));
    {
        let mut replica = distributed::invariant_ok!(
            "read-barrier",
            Replica::open(fs, DIR, ReplicaOptions::default(), KvStore::new()),
            "open"
        );
        distributed::invariant_ok!(
            "read-barrier",
            replica.append(&(1..=10).map(numbered).collect::<Vec<_>>()),
            "append"
        );
        distributed::invariant_ok!("read-barrier", replica.commit(10), "commit");
        distributed::invariant_ok!("read-barrier", replica.apply_committed(), "apply");
        distributed::invariant_ok!("read-barrier", replica.take_snapshot(), "snapshot");
        distributed::invariant_ok!(
            "read-barrier",
            replica.append(&(11..=15).map(numbered).collect::<Vec<_>>()),
            "append"
        );
        distributed::invariant_ok!("read-barrier", replica.commit(15), "commit");
    }
    let (_, node, _) = reopen_after(&sim);
    let status = node.status();
    invariant!(
        "read-barrier",
        (status.last_applied, status.replay_target) == (10, 15),
        "after a restart with a snapshot at 10 and commit 15 the node published {status:?}"
    );
    let stale = node.read_stale(&["k10", "k15"], 0);
    invariant!(
        "degraded-read",
        matches!(&stale, Ok(r) if r.index == 10 && r.values == vec![value("v10"), None]),
        "a degraded read right after open answered {stale:?}: it serves the snapshot's state and says index 10"
    );
    let early = node.read(&["k15"], Duration::ZERO);
    invariant!(
        "read-barrier",
        early == Err(ReadError::NotReady { read_index: 15, last_applied: 10, replay_target: 15 }),
        "a read before replay answered {early:?}"
    );
    let reader = spawn_read(&node, &["k15"], PATIENT);
    wait_until(|| node.status().waiting == 1 || reader.is_finished());
    for index in 11..=14 {
        apply(&node, index);
    }
    invariant!(
        "read-barrier",
        !reader.is_finished(),
        "a read at read index 15 returned with last_applied {}",
        node.status().last_applied
    );
    apply(&node, 15);
    let read = finish(reader);
    invariant!(
        "read-barrier",
        matches!(&read, Ok(r) if r.index == 15 && r.values == vec![value("v15")]),
        "the read after replay answered {read:?}"
    );
}

#[test]
fn a_callers_last_seen_index_survives_a_restart() {
    let (sim, fs) = sim_disk(lab_seed(0x42));
    let (node, _) = open(&fs);
    write(&node, &(1..=6).map(numbered).collect::<Vec<_>>());
    while distributed::invariant_ok!("monotonic", node.apply_next(), "apply").is_some() {}
    let seen = distributed::invariant_ok!("monotonic", node.read(&["k6"], Duration::ZERO), "caught up").index;
    drop(node);
    let (_, node, _) = reopen_after(&sim);
    for replayed in 0..seen {
        let answer = node.read_stale(&["k6"], seen);
        invariant!(
            "monotonic",
            answer == Err(ReadError::Behind { at_least: seen, last_applied: replayed }),
            "a caller that saw index {seen} got {answer:?} from a degraded read with {replayed} entries replayed"
        );
        apply(&node, replayed + 1);
    }
    let answer = node.read_stale(&["k6"], seen);
    invariant!(
        "monotonic",
        matches!(&answer, Ok(r) if r.index == seen && r.values == vec![value("v6")]),
        "once replay reached {seen}, a degraded read answered {answer:?}"
    );
}
