//! Bad arguments get typed errors and change nothing.

use std::sync::Arc;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::sim_disk;
use lab3::{SnapshotError, SnapshotStore, StoreOptions};

use crate::{DIR, latest, meta, names, open_on, snapshot};

#[test]
fn outdated_saves_are_refused_and_change_nothing() {
    let (sim, fs) = sim_disk(lab_seed(0x71));
    let store = open_on(Arc::clone(&fs), 3);
    distributed::invariant_ok!("prefix-compaction", store.save(&snapshot(50, 3, 100)), "store.save(..)");
    let before = sim.listing();
    for (index, term) in [(50, 3), (49, 3), (10, 1), (60, 2), (50, 4)] {
        let refused = store.save(&snapshot(index, term, 100));
        invariant!(
            "prefix-compaction",
            matches!(refused, Err(SnapshotError::OutOfDate { latest, got }) if latest == meta(50, 3) && got == meta(index, term)),
            "saving ({index}, {term}) after (50, 3) gave {refused:?}, expected OutOfDate"
        );
    }
    invariant!("prefix-compaction", sim.listing() == before, "a refused save changed the disk");
    distributed::invariant_ok!(
        "prefix-compaction",
        store.save(&snapshot(51, 3, 100)),
        "a newer snapshot in the same term is accepted"
    );
    distributed::invariant_ok!(
        "prefix-compaction",
        store.save(&snapshot(52, 4, 100)),
        "a newer snapshot in a higher term is accepted"
    );
    // Refusal holds across a reopen: the newest is found on disk.
    drop(store);
    let store = open_on(fs, 3);
    invariant!(
        "prefix-compaction",
        matches!(store.save(&snapshot(52, 4, 1)), Err(SnapshotError::OutOfDate { .. })),
        "after a reopen, the newest snapshot was saved again"
    );
    invariant!("durability", latest(&store).map(|s| s.meta) == Some(meta(52, 4)), "the newest after reopen");
}

#[test]
fn keep_zero_is_refused() {
    let (sim, fs) = sim_disk(lab_seed(0x72));
    let opened = SnapshotStore::open(fs, DIR, StoreOptions { keep: 0 });
    invariant!(
        "prefix-compaction",
        matches!(opened, Err(SnapshotError::InvalidOptions(_))),
        "keep = 0 would remove the newest snapshot: expected InvalidOptions, got {:?}",
        opened.map(|s| s.list())
    );
    let _ = names(&sim);
}

#[test]
fn the_store_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SnapshotStore>();
    let (_, fs) = sim_disk(lab_seed(0x73));
    let store = open_on(fs, 2);
    distributed::invariant_ok!("atomic-write", store.save(&snapshot(1, 1, 10)), "store.save(..)");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..20 {
                    let found = distributed::invariant_ok!("atomic-write", store.latest(), "latest from a thread");
                    invariant!("atomic-write", found.is_some(), "a reader saw no snapshot");
                }
            });
        }
        scope.spawn(|| {
            for k in 2..=20 {
                distributed::invariant_ok!("atomic-write", store.save(&snapshot(k, 1, 200)), "save while others read");
            }
        });
    });
    invariant!("durability", latest(&store).map(|s| s.meta) == Some(meta(20, 1)), "the last save is the latest");
}
