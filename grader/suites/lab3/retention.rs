//! Keep the newest N: after every save, across reopens, never dropping the newest.

use std::sync::Arc;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::sim_disk;
use distributed::vfs::CrashMode;

use crate::{latest, meta, name_of, names, open_on, reopen_after, snapshot};

#[test]
fn every_keep_from_one_to_four_holds_exactly_the_newest_n() {
    for keep in 1..=4usize {
        let (sim, fs) = sim_disk(lab_seed(0x51));
        let store = open_on(Arc::clone(&fs), keep);
        for k in 1..=7u64 {
            distributed::invariant_ok!(
                "prefix-compaction",
                store.save(&snapshot(k * 3, 1 + k / 4, 50)),
                "store.save(..)"
            );
            let expected: Vec<_> = (1..=k).rev().take(keep).map(|j| meta(j * 3, 1 + j / 4)).collect();
            invariant!(
                "prefix-compaction",
                store.list() == expected,
                "keep = {keep}, after saving {k} snapshots list() is {:?}, expected {expected:?}",
                store.list()
            );
            let files: Vec<String> = names(&sim).into_iter().filter(|n| n.ends_with(".snap")).collect();
            let wanted: Vec<String> = expected.iter().rev().map(|m| name_of(*m)).collect();
            invariant!("prefix-compaction", files == wanted, "keep = {keep}: files {files:?}, expected {wanted:?}");
        }
        let (_, after) = reopen_after(&sim, CrashMode::Strict, keep);
        invariant!(
            "prefix-compaction",
            after.list().len() == keep && latest(&after).map(|s| s.meta) == Some(meta(21, 2)),
            "keep = {keep}: after a power cut the store holds {:?}",
            after.list()
        );
    }
}

#[test]
fn reopening_with_a_smaller_keep_trims_on_the_next_save_and_never_drops_the_newest() {
    let (sim, fs) = sim_disk(lab_seed(0x52));
    {
        let store = open_on(Arc::clone(&fs), 5);
        for k in 1..=5u64 {
            distributed::invariant_ok!("prefix-compaction", store.save(&snapshot(k * 10, 1, 100)), "store.save(..)");
        }
    }
    let store = open_on(Arc::clone(&fs), 1);
    invariant!("prefix-compaction", store.list().len() == 5, "open alone removes no snapshot: {:?}", store.list());
    distributed::invariant_ok!("prefix-compaction", store.save(&snapshot(60, 1, 100)), "store.save(..)");
    invariant!("prefix-compaction", store.list() == vec![meta(60, 1)], "keep = 1 holds the newest only");
    let (_, after) = reopen_after(&sim, CrashMode::Strict, 1);
    invariant!(
        "prefix-compaction",
        latest(&after) == Some(snapshot(60, 1, 100)),
        "after trimming to one, the newest is what is left"
    );
}

#[test]
fn a_fallback_does_not_make_retention_drop_the_intact_snapshot() {
    let (sim, fs) = sim_disk(lab_seed(0x53));
    let store = open_on(Arc::clone(&fs), 2);
    distributed::invariant_ok!("prefix-compaction", store.save(&snapshot(10, 1, 100)), "store.save(..)");
    distributed::invariant_ok!("prefix-compaction", store.save(&snapshot(20, 1, 100)), "store.save(..)");
    sim.flip_bit(crate::path_of(&name_of(meta(20, 1))), 8 * 40).expect("setup: sim.flip_bit(..)");
    invariant!("checksum", latest(&store) == Some(snapshot(10, 1, 100)), "fallback to the previous snapshot");
    distributed::invariant_ok!("prefix-compaction", store.save(&snapshot(30, 2, 100)), "store.save(..)");
    invariant!(
        "prefix-compaction",
        store.list() == vec![meta(30, 2), meta(10, 1)],
        "after a fallback and a save, keep = 2 holds the new one and the intact older one: {:?}",
        store.list()
    );
}
