//! The background applier: it stops, starts again, and serves reads parked before it started.

use distributed::rng::lab_seed;
use distributed::testing::sim_disk;

use super::*;

#[test]
fn an_applier_stopped_and_started_again_continues_where_it_was() {
    let (_, fs) = sim_disk(lab_seed(0xa0));
    let (node, _) = open(&fs);
    let applier = node.start_applier();
    write(&node, &(1..=3).map(numbered).collect::<Vec<_>>());
    let read = distributed::invariant_ok!("in-order-apply", node.read(&["k3"], PATIENT), "served");
    distributed::invariant!("read-barrier", read.index >= 3, "{read:?}");
    distributed::invariant_ok!("in-order-apply", applier.stop(), "the applier stops");
    write(&node, &(4..=6).map(numbered).collect::<Vec<_>>());
    let status = node.status();
    invariant!(
        "in-order-apply",
        status.last_applied == 3,
        "a stopped applier applied more: last_applied is {}",
        status.last_applied
    );
    let applier = node.start_applier();
    let read = node.read(&["k4", "k6"], PATIENT);
    invariant!(
        "in-order-apply",
        matches!(&read, Ok(r) if r.index >= 6 && r.values == vec![value("v4"), value("v6")]),
        "after the applier started again a read answered {read:?}"
    );
    drop(applier);
    write(&node, &[numbered(7)]);
    invariant!("in-order-apply", node.status().last_applied == 6, "an applier that was dropped is still applying");
}

#[test]
fn reads_parked_before_the_applier_starts_are_served_by_its_replay() {
    let (sim, fs) = sim_disk(lab_seed(0xa1));
    let (node, _) = open(&fs);
    write(&node, &(1..=5).map(numbered).collect::<Vec<_>>());
    drop(node);
    let (_, node, _) = reopen_after(&sim);
    let readers: Vec<Reader> = (0..4).map(|_| spawn_read(&node, &["k5"], PATIENT)).collect();
    wait_until(|| node.status().waiting == 4 || readers.iter().any(|r| r.is_finished()));
    invariant!(
        "read-barrier",
        readers.iter().all(|r| !r.is_finished()),
        "a read returned after a restart before any replay"
    );
    let applier = node.start_applier();
    for reader in readers {
        let read = finish(reader);
        invariant!(
            "read-barrier",
            matches!(&read, Ok(r) if r.index >= 5 && r.values == vec![value("v5")]),
            "a read parked before replay answered {read:?}"
        );
    }
    distributed::invariant_ok!("read-barrier", applier.stop(), "the applier stops");
}
