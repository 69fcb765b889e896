//! Lab 7's hidden suite: what the public tests cover once, here with more workloads, real
//! threads, more crash images, damage everywhere, property tests and adversarial inputs.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::{Entry, Index, SnapshotStorage, StateMachineStorage};
use distributed::testing::{proptest_config, sim_disk};
use distributed::vfs::{FsRef, SimFs};
use distributed::{fail, invariant};
use lab4::{Command, Op};
use lab7::{
    CHUNK_DIR, ChunkId, ChunkImage, ChunkStore, ChunkedKv, Codec, Image, MANIFEST_FILE, NodeError, SnapshotPolicy,
    SnapshottingReplica, StoreError, StoreOptions, stream_snapshot,
};
use proptest::prelude::*;

// The helpers the public tests use too (the workload, the model, the store, the replica).
distributed::lab7_test_helpers!();

mod chunks {
    use super::*;

    #[test]
    fn equal_states_give_equal_images_whatever_the_order_of_writes() {
        let mut a = ChunkedKv::with_chunks(8);
        let mut b = ChunkedKv::with_chunks(8);
        let keys: Vec<String> = (0..50).map(|i| format!("key{i}")).collect();
        for (i, key) in keys.iter().enumerate() {
            distributed::invariant_ok!(
                "determinism",
                a.apply(&Command::new(i as u64, put(key, key.as_bytes())).encode()),
                "a.apply(..)"
            );
        }
        for (i, key) in keys.iter().enumerate().rev() {
            distributed::invariant_ok!(
                "determinism",
                b.apply(&Command::new(i as u64, put(key, key.as_bytes())).encode()),
                "b.apply(..)"
            );
        }
        distributed::invariant_ok!("determinism", b.apply(&Command::new(49, Op::Noop).encode()), "b.apply(..)");
        invariant!("determinism", a == b, "two orders of the same writes give different states");
        invariant!("determinism", a.full_image() == b.full_image(), "equal states give different full images");
    }

    #[test]
    fn a_bad_image_is_refused_and_changes_nothing() {
        let mut state = ChunkedKv::with_chunks(4);
        apply_all(&mut state, &commands(7, 40, 10));
        let before = state.clone();
        let id = ChunkId::of(b"anything");
        // A real two-chunk image with its chunks swapped: every key is in the wrong chunk.
        let mut two = ChunkedKv::with_chunks(2);
        apply_all(&mut two, &commands(8, 30, 10));
        let mut swapped =
            distributed::invariant_ok!("recovery-equivalence", Image::decode(&two.full_image()), "Image::decode(..)");
        swapped.chunks.swap(0, 1);
        let mut trailing = two.full_image();
        trailing.push(0);
        let bad_images = [
            ("a reference", Image { log_time: 1, chunks: vec![ChunkImage::Stored(id)] }.encode()),
            ("no chunk", Image { log_time: 1, chunks: vec![] }.encode()),
            ("its keys in the wrong chunks", swapped.encode()),
            ("a byte after it", trailing),
            ("garbage", vec![0xff; 9]),
        ];
        for (what, image) in bad_images {
            invariant!("recovery-equivalence", state.restore(&image).is_err(), "an image with {what} was restored");
            invariant!("recovery-equivalence", state == before, "a refused image ({what}) changed the state");
        }
    }
}

mod concurrency {
    use super::*;

    #[test]
    fn a_snapshot_written_on_another_thread_while_writes_go_on_is_one_point_in_time() {
        let seed = lab_seed(0x7101);
        let (_sim, fs) = sim_disk(seed);
        let store = open_store(&fs);
        let cmds = commands(seed, 600, 60);
        let mut state = ChunkedKv::with_chunks(16);
        apply_all(&mut state, &cmds[..200]);
        for round in 0..3 {
            let at = 200 + 100 * round;
            let frozen = state.freeze();
            let writer = {
                let store = store.clone();
                std::thread::spawn(move || store.save_frozen(&frozen, meta(at as Index)))
            };
            apply_all(&mut state, &cmds[at..at + 100]);
            distributed::invariant_ok!("point-in-time", writer.join(), "the snapshot thread")
                .unwrap_or_else(|e| fail!("point-in-time", "save: {e}"));
            let (m, back) = distributed::invariant_ok!("point-in-time", store.load_state(), "store.load_state()")
                .unwrap_or_else(|| distributed::fail!("point-in-time", "store.load_state(): expected Some, seen None"));
            invariant!(
                "point-in-time",
                m == meta(at as Index) && same_state(&back, &model(&cmds[..at])),
                "round {round}: a snapshot frozen at {at} and written while 100 more writes went on restores another state"
            );
        }
        invariant!("point-in-time", same_state(&state, &model(&cmds[..500])), "the live state lost writes");
    }

    #[test]
    fn a_write_after_a_snapshot_dirties_its_chunk_even_when_no_view_shares_it() {
        let (_sim, fs) = sim_disk(lab_seed(0x7102));
        let store = open_store(&fs);
        let mut state = ChunkedKv::with_chunks(4);
        apply_all(&mut state, &commands(3, 30, 10));
        distributed::invariant_ok!(
            "point-in-time",
            store.save_frozen(&state.freeze(), meta(30)),
            "store.save_frozen(..)"
        );
        // No frozen view is alive now: the chunk is written in place, and must still be dirty.
        distributed::invariant_ok!(
            "point-in-time",
            state.apply(&Command::new(9_999, put("k1", b"after")).encode()),
            "state.apply(..)"
        );
        distributed::invariant_ok!(
            "point-in-time",
            store.save_frozen(&state.freeze(), meta(31)),
            "store.save_frozen(..)"
        );
        let (_, back) = distributed::invariant_ok!("point-in-time", store.load_state(), "store.load_state()")
            .unwrap_or_else(|| distributed::fail!("point-in-time", "store.load_state(): expected Some, seen None"));
        invariant!(
            "point-in-time",
            back.get("k1") == Some(&b"after"[..]) && back == state,
            "the snapshot at 31 misses the write at 31: a chunk written in place kept its clean mark"
        );
    }
}

/// Every acknowledged snapshot's state, for the crash checks.
fn snapshot_rounds(
    seed: u64,
    rounds: usize,
    reopen: bool,
) -> impl Fn(&SimFs, &mut Vec<Index>) -> Result<(), StoreError> {
    let cmds = commands(seed, 10 * rounds, 10);
    move |disk, acked| {
        let fs: FsRef = Arc::new(disk.clone());
        let mut store = ChunkStore::open(Arc::clone(&fs), STORE, StoreOptions::default())?;
        let mut state = ChunkedKv::with_chunks(4);
        for round in 0..rounds {
            let upto = 10 * (round + 1);
            apply_all(&mut state, &cmds[10 * round..upto]);
            if round % 2 == 1 {
                // Through the image path (lab 4's take_snapshot), clean chunks by reference.
                let data = distributed::invariant_ok!("recovery-equivalence", state.snapshot(), "state.snapshot()");
                store.save(&distributed::storage::Snapshot { meta: meta(upto as Index), data })?;
            } else {
                store.save_frozen(&state.freeze(), meta(upto as Index))?;
            }
            acked.push(upto as Index);
            if reopen && round == rounds / 2 {
                store = ChunkStore::open(Arc::clone(&fs), STORE, StoreOptions::default())?;
                store.gc()?;
                if let Some((_, restored)) = store.load_state()? {
                    state = restored;
                }
            }
        }
        Ok(())
    }
}

fn check_recovered(disk: &SimFs, acked: &[Index], cmds: &[Command], invariant: &str) {
    let fs: FsRef = Arc::new(disk.clone());
    let store = ChunkStore::open(fs, STORE, StoreOptions::default())
        .unwrap_or_else(|e| fail!(invariant, "after the crash the store does not open: {e}"));
    let newest =
        store.load_state().unwrap_or_else(|e| fail!(invariant, "after the crash the snapshot does not restore: {e}"));
    let Some(&last) = acked.last() else { return };
    let Some((m, state)) = newest else { fail!(invariant, "snapshot {last} was acknowledged, none survived") };
    invariant!(invariant, m.last_index >= last, "acknowledged {last}, found {m:?}");
    invariant!(
        invariant,
        same_state(&state, &model(&cmds[..m.last_index as usize])),
        "the snapshot at {} restores another state",
        m.last_index
    );
}

mod crash {
    use super::*;

    #[test]
    fn a_long_run_of_snapshots_survives_every_crash_point_torn_and_reordered() {
        let seed = lab_seed(0x7110);
        let cmds = commands(seed, 50, 10);
        CrashExplorer::new(seed)
            .torn_variants(2)
            .reordered_variants(3)
            .explore(snapshot_rounds(seed, 5, false), |disk, acked| {
                check_recovered(disk, acked, &cmds, "atomic-write")
            });
    }

    #[test]
    fn a_power_cut_while_a_reopened_store_collects_never_breaks_the_manifest() {
        let seed = lab_seed(0x7111);
        let cmds = commands(seed, 40, 10);
        CrashExplorer::new(seed)
            .torn_variants(1)
            .reordered_variants(3)
            .explore(snapshot_rounds(seed, 4, true), |disk, acked| check_recovered(disk, acked, &cmds, "gc-safety"));
    }
}

mod faults {
    use super::*;

    fn saved(seed: u64) -> (SimFs, FsRef, ChunkStore) {
        let (sim, fs) = sim_disk(seed);
        let store = open_store(&fs);
        let mut state = ChunkedKv::with_chunks(6);
        apply_all(&mut state, &commands(seed, 60, 20));
        distributed::invariant_ok!(
            "recovery-equivalence",
            store.save_frozen(&state.freeze(), meta(60)),
            "store.save_frozen(..)"
        );
        (sim, fs, store)
    }

    #[test]
    fn bit_rot_in_any_chunk_is_refused_on_restore() {
        let seed = lab_seed(0x7120);
        let (_, _, store) = saved(seed);
        for id in store
            .manifest()
            .unwrap_or_else(|| distributed::fail!("checksum", "store.manifest(): expected Some, seen None"))
            .chunks
        {
            let (sim, fs, _) = saved(seed);
            let path = Path::new(STORE).join(CHUNK_DIR).join(id.to_hex());
            let len = fs
                .open(&path, distributed::vfs::OpenMode::Read)
                .expect("setup: fs.open(..)")
                .len()
                .expect("setup: fs.open(..).expect(..).len()");
            let mut rng = TestRng::new(seed ^ id.0[0] as u64);
            sim.flip_bit(&path, rng.below(len * 8)).expect("setup: sim.flip_bit(..)");
            let reopened = open_store(&fs);
            match reopened.latest() {
                Err(StoreError::ChunkCorrupt { .. }) => {}
                other => fail!("checksum", "bit rot in chunk {id} gave {:?}", other.map(|s| s.map(|s| s.meta))),
            }
        }
    }

    #[test]
    fn a_damaged_manifest_is_a_typed_error_not_an_empty_store() {
        let seed = lab_seed(0x7121);
        let (sim, fs, _) = saved(seed);
        sim.flip_bit(Path::new(STORE).join(MANIFEST_FILE), 8 * 20 + 1).expect("setup: sim.flip_bit(..)");
        match ChunkStore::open(fs, STORE, StoreOptions::default()) {
            Err(StoreError::ManifestCorrupt(_)) => {}
            Ok(store) => fail!("checksum", "a damaged manifest opened as {:?}", store.manifest().map(|m| m.meta)),
            Err(e) => fail!("checksum", "a damaged manifest gave {e}"),
        }
    }

    #[test]
    fn a_failed_fsync_poisons_the_store() {
        let seed = lab_seed(0x7122);
        let (sim, _fs, store) = saved(seed);
        let mut state = ChunkedKv::with_chunks(6);
        apply_all(&mut state, &commands(seed + 1, 30, 20));
        sim.fail_next_syncs(1);
        invariant!(
            "fail-stop",
            store.save_frozen(&state.freeze(), meta(90)).is_err(),
            "a failed fsync was acknowledged"
        );
        match store.save_frozen(&state.freeze(), meta(90)) {
            Err(StoreError::Poisoned) => {}
            other => fail!("fail-stop", "a save after a failed fsync gave {other:?}"),
        }
    }

    #[test]
    fn chunks_written_under_one_codec_are_read_under_another() {
        let seed = lab_seed(0x7123);
        let (_sim, fs) = sim_disk(seed);
        let cmds = commands(seed, 80, 30);
        let mut state = ChunkedKv::with_chunks(8);
        apply_all(&mut state, &cmds[..40]);
        distributed::invariant_ok!(
            "on-disk-format",
            open_store_with(&fs, Codec::None).save_frozen(&state.freeze(), meta(40)),
            "open_store_with(..).save_frozen(..)"
        );
        apply_all(&mut state, &cmds[40..]);
        let store = open_store_with(&fs, Codec::Lz4);
        distributed::invariant_ok!(
            "on-disk-format",
            store.save_frozen(&state.freeze(), meta(80)),
            "store.save_frozen(..)"
        );
        let back = open_store_with(&fs, Codec::None).load_state().unwrap_or_else(|e| fail!("on-disk-format", "{e}"));
        invariant!(
            "on-disk-format",
            back.is_some_and(|(_, s)| same_state(&s, &model(&cmds))),
            "a store with chunks of two codecs does not restore its state"
        );
    }
}

mod properties {
    use super::*;

    proptest! {
        #![proptest_config(proptest_config(0x7130, 24))]

        #[test]
        fn random_writes_snapshots_and_reopens_restore_the_model(
            seed in any::<u64>(),
            cuts in proptest::collection::vec(1usize..40, 1..6),
            chunks in 1usize..12,
        ) {
            let (_sim, fs) = sim_disk(seed);
            let total: usize = cuts.iter().sum();
            let cmds = commands(seed, total, 25);
            let mut state = ChunkedKv::with_chunks(chunks);
            let mut store = open_store(&fs);
            let mut at = 0;
            for (i, cut) in cuts.iter().enumerate() {
                apply_all(&mut state, &cmds[at..at + cut]);
                at += cut;
                distributed::invariant_ok!("recovery-equivalence", store.save_frozen(&state.freeze(), meta(at as Index)), "store.save_frozen(..)");
                if i % 2 == 1 {
                    store = open_store(&fs);
                    state = distributed::invariant_ok!("recovery-equivalence", store.load_state(), "store.load_state()").unwrap_or_else(|| distributed::fail!("recovery-equivalence", "store.load_state(): expected Some, seen None")).1;
                }
            }
            let (m, back) = distributed::invariant_ok!("recovery-equivalence", store.load_state(), "store.load_state()").unwrap_or_else(|| distributed::fail!("recovery-equivalence", "store.load_state(): expected Some, seen None"));
            invariant!(
                "recovery-equivalence",
                m.last_index == at as Index && same_state(&back, &model(&cmds)),
                "after {} snapshots over {chunks} chunks the store restores another state", cuts.len()
            );
            let listed: BTreeSet<ChunkId> = store.manifest().unwrap_or_else(|| distributed::fail!("recovery-equivalence", "store.manifest(): expected Some, seen None")).chunks.into_iter().collect();
            let held: BTreeSet<ChunkId> = store.chunk_ids().into_iter().collect();
            invariant!("gc-safety", listed == held, "the store holds {} chunks, the manifest lists {}", held.len(), listed.len());
        }
    }
}

mod stream {
    use super::*;

    fn leader(fs: &FsRef, cmds: &[Command]) -> SnapshottingReplica {
        let mut leader = open_node(fs, SnapshotPolicy::default());
        distributed::invariant_ok!("recovery-equivalence", leader.append(&log_of(cmds)), "leader.append(..)");
        distributed::invariant_ok!("recovery-equivalence", leader.commit(cmds.len() as Index), "leader.commit(..)");
        distributed::invariant_ok!("recovery-equivalence", leader.apply_committed(), "leader.apply_committed()");
        distributed::invariant_ok!("recovery-equivalence", leader.snapshot_now(), "leader.snapshot_now()");
        leader
    }

    #[test]
    fn a_stream_to_a_replica_that_holds_every_chunk_sends_nothing() {
        let seed = lab_seed(0x7140);
        let cmds = commands(seed, 50, 30);
        let (_a, leader_fs) = sim_disk(seed);
        let (_b, follower_fs) = sim_disk(seed + 1);
        let leader = leader(&leader_fs, &cmds);
        let mut follower = open_node(&follower_fs, SnapshotPolicy::default());
        distributed::invariant_ok!("incremental", follower.append(&log_of(&cmds)), "follower.append(..)");
        distributed::invariant_ok!("incremental", follower.commit(40), "follower.commit(..)");
        distributed::invariant_ok!("incremental", follower.apply_committed(), "follower.apply_committed()");
        // The follower's state at 40 shares most chunks with the leader's at 50.
        distributed::invariant_ok!("incremental", follower.snapshot_now(), "follower.snapshot_now()");
        let manifest = leader.store().manifest().unwrap_or_else(|| {
            distributed::fail!("incremental", "leader.store().manifest(): expected Some, seen None")
        });
        let missing = follower.store().missing(&manifest);
        let differing = manifest.chunks.iter().filter(|id| !follower.store().chunk_ids().contains(id)).count();
        invariant!("incremental", missing.len() <= differing, "{} chunks missing, {differing} differ", missing.len());
        let (sent, _) = distributed::invariant_ok!(
            "incremental",
            stream_snapshot(leader.store(), &mut follower),
            "stream_snapshot(..)"
        );
        invariant!("incremental", sent == missing.len(), "{sent} sent, {} missing", missing.len());
        invariant!("recovery-equivalence", follower.state() == leader.state(), "the follower's state differs");
        let (again, _) = distributed::invariant_ok!(
            "incremental",
            stream_snapshot(leader.store(), &mut follower),
            "stream_snapshot(..)"
        );
        invariant!("incremental", again == 0, "a follower holding every chunk was sent {again}");
    }

    #[test]
    fn a_streamed_install_with_chunks_missing_changes_nothing() {
        let seed = lab_seed(0x7141);
        let cmds = commands(seed, 40, 30);
        let (_a, leader_fs) = sim_disk(seed);
        let (_b, follower_fs) = sim_disk(seed + 1);
        let leader = leader(&leader_fs, &cmds);
        let mut follower = open_node(&follower_fs, SnapshotPolicy::default());
        let manifest = leader.store().manifest().unwrap_or_else(|| {
            distributed::fail!("atomic-write", "leader.store().manifest(): expected Some, seen None")
        });
        let first = manifest.chunks[0];
        distributed::invariant_ok!(
            "atomic-write",
            follower.store().receive_chunk(
                &first,
                &distributed::invariant_ok!(
                    "atomic-write",
                    leader.store().chunk_file(&first),
                    "leader.store().chunk_file(..)"
                )
            ),
            "follower.store().receive_chunk(..)"
        );
        match follower.install_streamed(&manifest) {
            Err(NodeError::Incomplete { .. }) => {}
            other => fail!("atomic-write", "installing with chunks missing gave {other:?}"),
        }
        invariant!(
            "atomic-write",
            follower.replica().commit_index() == 0
                && follower.state().is_empty()
                && follower.store().manifest().is_none(),
            "a refused install changed the follower"
        );
    }
}

mod policy {
    use super::*;

    #[test]
    fn automatic_snapshots_write_only_what_changed_since_the_last() {
        let seed = lab_seed(0x7150);
        let (_sim, fs) = sim_disk(seed);
        let mut node = open_node(&fs, SnapshotPolicy { max_entries: 10, max_bytes: 0 });
        // Each batch of 10 writes touches one key only: each snapshot after the first writes
        // one chunk.
        let mut entries = Vec::new();
        for i in 0..40u64 {
            let key = format!("hot{}", i / 10);
            entries.push(Entry::new(i + 1, 1, Command::new(i, put(&key, &i.to_le_bytes())).encode()));
        }
        distributed::invariant_ok!("incremental", node.append(&entries[..10]), "node.append(..)");
        distributed::invariant_ok!("incremental", node.commit(10), "node.commit(..)");
        distributed::invariant_ok!("incremental", node.apply_committed(), "node.apply_committed()");
        let before: BTreeSet<ChunkId> = node.store().chunk_ids().into_iter().collect();
        distributed::invariant_ok!("incremental", node.append(&entries[10..20]), "node.append(..)");
        distributed::invariant_ok!("incremental", node.commit(20), "node.commit(..)");
        distributed::invariant_ok!("incremental", node.apply_committed(), "node.apply_committed()");
        let after: BTreeSet<ChunkId> = node.store().chunk_ids().into_iter().collect();
        let new = after.difference(&before).count();
        invariant!("incremental", new == 1, "ten writes to one key made the next snapshot add {new} chunk files");
        invariant!(
            "prefix-compaction",
            node.replica().first_log_index() == 21,
            "the log starts at {}",
            node.replica().first_log_index()
        );
    }
}
