//! Lab 7's public tests, in the order of the chapter's tasks: chunks and copy-on-write, the
//! file formats, incremental saves, the atomic manifest switch, restore, garbage collection,
//! snapshots by policy, and the chunk stream to a lagging replica.
//!
//! Run them with `cargo test -p lab7`; one task at a time with, for example,
//! `cargo test -p lab7 chunks::`. A failure starts with the invariant it broke, in brackets,
//! and ends with the command that replays it.
//!
//! The model throughout is lab 4's `KvStore`: the same entries applied to it in memory, with
//! no chunks, no disk and no crash, give the state a snapshot must restore.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::rng::lab_seed;
use distributed::storage::{Entry, Index, SnapshotMeta, SnapshotStorage, StateMachineStorage};
use distributed::testing::sim_disk;
use distributed::vfs::{FsRef, OpenMode, SimFs, StatsFs, Vfs};
use distributed::{fail, invariant, invariant_eq};
use lab4::{Command, KvStore, Op};
use lab7::format::{FormatError, decode_chunk, decode_manifest, encode_chunk, encode_manifest};
use lab7::{
    CHUNK_DIR, ChunkId, ChunkImage, ChunkStore, ChunkedKv, Codec, Image, MANIFEST_FILE, Manifest, SnapshotPolicy,
    SnapshottingReplica, StoreError, StoreOptions, chunk_of, stream_snapshot,
};

// The workload, the model and the store and replica these tests open: the kit's
// `lab7_test_helpers!` (shared with the hidden suite) defines them here.
distributed::lab7_test_helpers!();

/// Task 1: the state in chunks, copy-on-write, dirty tracking.
mod chunks {
    use super::*;

    #[test]
    fn a_chunked_state_gives_the_outputs_and_state_of_lab4s_kv_store() {
        let seed = lab_seed(0x7001);
        let commands = commands(seed, 300, 40);
        let (mut chunked, mut kv) = (ChunkedKv::with_chunks(8), KvStore::new());
        for (i, command) in commands.iter().enumerate() {
            let (a, b) = (
                distributed::invariant_ok!("determinism", chunked.apply(&command.encode()), "chunked.apply(..)"),
                distributed::invariant_ok!("determinism", kv.apply(&command.encode()), "kv.apply(..)"),
            );
            invariant!("determinism", a == b, "command {i} ({command:?}): chunked output {a:?}, KvStore output {b:?}");
        }
        invariant!("determinism", same_state(&chunked, &kv), "after 300 commands: {} vs the model", describe(&chunked));
        for (key, _) in chunked.iter() {
            invariant!("determinism", chunk_of(key, 8) < 8, "key {key:?} maps outside the chunks");
        }
    }

    #[test]
    fn a_frozen_view_keeps_its_point_in_time_while_writes_go_on() {
        let seed = lab_seed(0x7002);
        let commands = commands(seed, 200, 30);
        let mut state = ChunkedKv::with_chunks(8);
        apply_all(&mut state, &commands[..120]);
        let frozen = state.freeze();
        apply_all(&mut state, &commands[120..]);
        let at_freeze = frozen.to_state();
        invariant!(
            "point-in-time",
            same_state(&at_freeze, &model(&commands[..120])),
            "the frozen view ({}) is not the state at the freeze: writes after it leaked in",
            describe(&at_freeze)
        );
        invariant!(
            "point-in-time",
            same_state(&state, &model(&commands)),
            "the live state ({}) lost writes made while a frozen view shared its chunks",
            describe(&state)
        );
    }

    #[test]
    fn writes_mark_exactly_their_chunks_dirty() {
        let (_sim, fs) = sim_disk(lab_seed(0x7003));
        let store = open_store(&fs);
        let mut state = ChunkedKv::with_chunks(16);
        apply_all(&mut state, &(0..64).map(|i| Command::new(i, put(&format!("k{i}"), b"v"))).collect::<Vec<_>>());
        invariant!("incremental", state.dirty_chunks().len() == 16, "a new state's written chunks are all dirty");
        store.save_frozen(&state.freeze(), meta(64)).unwrap_or_else(|e| fail!("incremental", "save: {e}"));
        invariant!(
            "incremental",
            state.dirty_chunks().is_empty(),
            "after a durable save the live state still has dirty chunks {:?}",
            state.dirty_chunks()
        );
        let keys = ["k3", "k17", "k40"];
        for key in keys {
            distributed::invariant_ok!(
                "incremental",
                state.apply(&Command::new(100, put(key, b"new")).encode()),
                "state.apply(..)"
            );
        }
        distributed::invariant_ok!(
            "incremental",
            state.apply(&Command::new(101, Op::Delete { key: "absent".into() }).encode()),
            "state.apply(..)"
        );
        let expected: BTreeSet<usize> = keys.iter().map(|k| chunk_of(k, 16)).collect();
        let dirty: BTreeSet<usize> = state.dirty_chunks().into_iter().collect();
        invariant!(
            "incremental",
            dirty == expected,
            "writes to {keys:?} (chunks {expected:?}) and a delete of an absent key left chunks {dirty:?} dirty"
        );
    }
}

/// Task 2: chunk files and manifests.
mod format {
    use super::*;

    #[test]
    fn a_chunk_file_follows_the_byte_table_and_round_trips() {
        let content = b"some chunk content, some chunk content, some chunk content".to_vec();
        let id = ChunkId::of(&content);
        invariant!("on-disk-format", id.to_hex().len() == 64, "a chunk id names a file with 64 hex digits");
        invariant!("on-disk-format", ChunkId::from_hex(&id.to_hex()) == Some(id), "a chunk id round-trips its name");
        let file =
            distributed::invariant_ok!("on-disk-format", encode_chunk(&content, Codec::None), "encode_chunk(..)");
        invariant!(
            "on-disk-format",
            file.len() == 28 + content.len(),
            "an uncompressed chunk file is 28 + content bytes"
        );
        invariant!("on-disk-format", &file[..8] == b"RSMCHK01", "magic: {:?}", &file[..8]);
        let field = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().expect("setup: file[..].try_into()"));
        invariant!("on-disk-format", file[8] == 0 && file[9..12] == [0, 0, 0], "codec byte and reserved bytes");
        invariant!("on-disk-format", field(12) as usize == content.len(), "raw_len at offset 12");
        invariant!("on-disk-format", field(16) as usize == content.len(), "stored_len at offset 16");
        invariant!("on-disk-format", field(20) == crc32fast::hash(&file[28..]), "crc32 of the stored bytes at 20");
        invariant!("on-disk-format", field(24) == crc32fast::hash(&file[..24]), "crc32 of the header at 24");
        for codec in [Codec::None, Codec::Lz4] {
            let file = distributed::invariant_ok!("on-disk-format", encode_chunk(&content, codec), "encode_chunk(..)");
            invariant!("on-disk-format", file[8] == codec.tag(), "{codec:?}: codec byte {}", file[8]);
            let back = decode_chunk(&id, &file);
            invariant!("on-disk-format", back.as_ref() == Ok(&content), "{codec:?}: decoded {back:?}");
        }
    }

    #[test]
    fn damage_anywhere_in_a_chunk_file_or_manifest_is_detected() {
        let content = b"key-value pairs, key-value pairs, key-value pairs".to_vec();
        let id = ChunkId::of(&content);
        let manifest = Manifest { meta: meta(9), log_time: 77, chunks: vec![id, ChunkId::of(b"x")] };
        let manifest_file = encode_manifest(&manifest);
        invariant!("on-disk-format", &manifest_file[..8] == b"RSMMAN01", "manifest magic");
        invariant!("on-disk-format", decode_manifest(&manifest_file) == Ok(manifest.clone()), "a manifest round-trips");
        for codec in [Codec::None, Codec::Lz4] {
            let file = distributed::invariant_ok!("checksum", encode_chunk(&content, codec), "encode_chunk(..)");
            for byte in 0..file.len() {
                let mut bad = file.clone();
                bad[byte] ^= 0x20;
                invariant!(
                    "checksum",
                    decode_chunk(&id, &bad).is_err(),
                    "{codec:?}: a flipped bit in byte {byte} was accepted"
                );
            }
            for len in 0..file.len() {
                invariant!(
                    "checksum",
                    decode_chunk(&id, &file[..len]).is_err(),
                    "{codec:?}: a file cut to {len} bytes was accepted"
                );
            }
        }
        for byte in 0..manifest_file.len() {
            let mut bad = manifest_file.clone();
            bad[byte] ^= 0x01;
            invariant!(
                "checksum",
                decode_manifest(&bad).is_err(),
                "a flipped bit in manifest byte {byte} was accepted"
            );
        }
    }

    #[test]
    fn a_compressed_chunk_under_another_chunks_name_is_refused() {
        let (a, b) = (vec![b'a'; 500], vec![b'b'; 500]);
        for codec in [Codec::None, Codec::Lz4] {
            let file_b = distributed::invariant_ok!("checksum", encode_chunk(&b, codec), "encode_chunk(..)");
            match decode_chunk(&ChunkId::of(&a), &file_b) {
                Err(FormatError::WrongContent { .. }) => {}
                other => fail!(
                    "checksum",
                    "{codec:?}: chunk b's file read as chunk a gave {:?}; the content must be checked against its name after decompression",
                    other.map(|c| c.len())
                ),
            }
        }
    }
}

/// Task 3: only the chunks that changed are written.
mod incremental {
    use super::*;

    #[test]
    fn a_snapshot_writes_only_the_chunks_that_changed() {
        let seed = lab_seed(0x7010);
        let sim = SimFs::new(seed);
        let stats = Arc::new(StatsFs::new(Arc::new(sim)));
        let fs: FsRef = stats.clone();
        let store = open_store(&fs);
        let mut state = ChunkedKv::with_chunks(32);
        apply_all(&mut state, &(0..200).map(|i| Command::new(i, put(&format!("k{i}"), &[7; 40]))).collect::<Vec<_>>());
        let first = distributed::invariant_ok!(
            "incremental",
            store.save_frozen(&state.freeze(), meta(200)),
            "store.save_frozen(..)"
        );
        invariant!("incremental", first.chunks_written == 32, "the first snapshot writes all 32 chunks: {first:?}");
        let changed = ["k1", "k50", "k51", "k199"];
        for key in changed {
            distributed::invariant_ok!(
                "incremental",
                state.apply(&Command::new(300, put(key, b"changed")).encode()),
                "state.apply(..)"
            );
        }
        let dirty: BTreeSet<usize> = changed.iter().map(|k| chunk_of(k, 32)).collect();
        stats.reset();
        let second = distributed::invariant_ok!(
            "incremental",
            store.save_frozen(&state.freeze(), meta(204)),
            "store.save_frozen(..)"
        );
        let written = stats.stats().total().bytes_written;
        invariant!(
            "incremental",
            second.chunks_written == dirty.len(),
            "{} chunks changed ({dirty:?}), the snapshot wrote {}",
            dirty.len(),
            second.chunks_written
        );
        invariant!(
            "incremental",
            written == second.chunk_bytes + second.manifest_bytes,
            "the snapshot wrote {written} bytes; its changed chunks and manifest are {} + {}",
            second.chunk_bytes,
            second.manifest_bytes
        );
        stats.reset();
        let third = distributed::invariant_ok!(
            "incremental",
            store.save_frozen(&state.freeze(), meta(205)),
            "store.save_frozen(..)"
        );
        invariant!(
            "incremental",
            third.chunks_written == 0,
            "nothing changed, yet {} chunks were written",
            third.chunks_written
        );
        let (_, back) = restored(&store, "recovery-equivalence")
            .unwrap_or_else(|| distributed::fail!("incremental", "a snapshot: expected Some, seen None"));
        invariant!("recovery-equivalence", back == state, "the restored state differs from the saved one");
    }

    #[test]
    fn a_failed_snapshot_leaves_its_chunks_dirty_for_the_next() {
        let seed = lab_seed(0x7011);
        let (sim, fs) = sim_disk(seed);
        let store = open_store(&fs);
        let mut state = ChunkedKv::with_chunks(8);
        let cmds = commands(seed, 80, 20);
        apply_all(&mut state, &cmds[..40]);
        distributed::invariant_ok!(
            "incremental",
            store.save_frozen(&state.freeze(), meta(40)),
            "store.save_frozen(..)"
        );
        apply_all(&mut state, &cmds[40..]);
        let dirty_before = state.dirty_chunks();
        sim.fail_next_syncs(1);
        let failed = store.save_frozen(&state.freeze(), meta(80));
        invariant!("fail-stop", failed.is_err(), "a snapshot whose fsync failed was acknowledged");
        invariant!(
            "incremental",
            state.dirty_chunks() == dirty_before,
            "after a failed snapshot the dirty chunks are {:?}, before it {dirty_before:?}: a chunk was marked clean before it was durable",
            state.dirty_chunks()
        );
        let store = open_store(&fs);
        store
            .save_frozen(&state.freeze(), meta(80))
            .unwrap_or_else(|e| fail!("incremental", "the snapshot after a reopen fails: {e}"));
        let (m, back) = restored(&store, "incremental")
            .unwrap_or_else(|| distributed::fail!("incremental", "a snapshot: expected Some, seen None"));
        invariant!(
            "incremental",
            m == meta(80) && same_state(&back, &model(&cmds)),
            "the snapshot after a failed one restores {} at {m:?}, not the state at 80",
            describe(&back)
        );
    }
}

/// What the disk holds after a crash: the store's newest snapshot, if it opens.
fn recovered(disk: &SimFs, invariant: &str) -> Option<(SnapshotMeta, ChunkedKv)> {
    let fs: FsRef = Arc::new(disk.clone());
    let store = ChunkStore::open(fs, STORE, StoreOptions::default())
        .unwrap_or_else(|e| fail!(invariant, "after the crash the store does not open: {e}"));
    restored(&store, invariant)
}

/// Checks that every chunk the durable manifest lists is on the disk, intact.
fn check_durable_manifest(disk: &SimFs) {
    let path = Path::new(STORE).join(MANIFEST_FILE);
    let Ok(Some(bytes)) = disk.durable_contents(&path) else { return };
    let manifest =
        decode_manifest(&bytes).unwrap_or_else(|e| fail!("atomic-write", "the durable manifest is damaged: {e}"));
    for id in &manifest.chunks {
        let file = disk
            .open(&Path::new(STORE).join(CHUNK_DIR).join(id.to_hex()), OpenMode::Read)
            .and_then(|f| f.read_all())
            .unwrap_or_else(|e| fail!("gc-safety", "the durable manifest lists chunk {id}, which is gone: {e}"));
        if let Err(e) = decode_chunk(id, &file) {
            fail!("gc-safety", "the durable manifest lists chunk {id}, whose file is damaged: {e}");
        }
    }
}

/// A workload of snapshots over a changing state: `rounds` snapshots, each after some writes.
/// Each round starts from a state restored from a full image (as lab 4's recovery restores
/// it: every chunk dirty, most with content the store already holds), and writes a key and
/// removes it again. Acknowledges each snapshot with its index. Errors carry their message,
/// invariant included.
fn snapshot_workload(seed: u64, rounds: usize) -> impl Fn(&SimFs, &mut Vec<Index>) -> Result<(), String> {
    let cmds = commands(seed, 12 * rounds, 12);
    move |disk, acked| {
        let fs: FsRef = Arc::new(disk.clone());
        let store = ChunkStore::open(fs, STORE, StoreOptions::default()).map_err(|e| e.to_string())?;
        let mut state = ChunkedKv::with_chunks(4);
        for round in 0..rounds {
            let image = state.full_image();
            state.restore(&image).map_err(|e| format!("{e:?}"))?;
            let upto = 12 * (round + 1);
            apply_all(&mut state, &cmds[12 * round..upto]);
            distributed::invariant_ok!(
                "incremental",
                state.apply(&Command::new(0, put("transient", b"x")).encode()),
                "state.apply(..)"
            );
            distributed::invariant_ok!(
                "incremental",
                state.apply(&Command::new(0, Op::Delete { key: "transient".into() }).encode()),
                "state.apply(..)"
            );
            store.save_frozen(&state.freeze(), meta(upto as Index)).map_err(|e| e.to_string())?;
            acked.push(upto as Index);
        }
        Ok(())
    }
}

/// Task 3: the manifest switch is atomic.
mod switch {
    use super::*;

    #[test]
    fn a_power_cut_at_every_step_of_a_snapshot_keeps_the_old_or_the_new() {
        let seed = lab_seed(0x7020);
        let cmds = commands(seed, 36, 12);
        CrashExplorer::new(seed).torn_variants(2).reordered_variants(1).explore(
            snapshot_workload(seed, 3),
            |disk, acked| {
                let newest = recovered(disk, "atomic-write");
                let Some(last_index) = acked.last() else { return };
                let Some((m, state)) = newest else {
                    fail!("atomic-write", "snapshot {last_index} was acknowledged, and after the crash there is none")
                };
                invariant!(
                    "atomic-write",
                    m.last_index >= *last_index,
                    "acknowledged snapshot {last_index}, found {m:?}"
                );
                let upto = m.last_index as usize;
                invariant!(
                    "atomic-write",
                    upto <= cmds.len() && same_state(&state, &model(&cmds[..upto])),
                    "the snapshot at {upto} restores {}, which is not the state at {upto}",
                    describe(&state)
                );
            },
        );
    }

    #[test]
    fn the_manifest_is_replaced_through_a_verified_temporary_file() {
        let (sim, fs) = sim_disk(lab_seed(0x7021));
        let store = open_store(&fs);
        let mut state = ChunkedKv::with_chunks(4);
        apply_all(&mut state, &commands(1, 20, 8));
        distributed::invariant_ok!(
            "atomic-write",
            store.save_frozen(&state.freeze(), meta(20)),
            "store.save_frozen(..)"
        );
        let ops: Vec<String> = sim.ops().iter().map(|op| op.to_string()).collect();
        let position = |needle: &str| ops.iter().position(|op| op.contains(needle));
        let renamed = position("MANIFEST.tmp -> ");
        invariant!(
            "atomic-write",
            renamed.is_some(),
            "the manifest was not renamed from MANIFEST.tmp; steps: {ops:#?}"
        );
        let renamed =
            renamed.unwrap_or_else(|| distributed::fail!("atomic-write", "renamed: expected Some, seen None"));
        let synced_after =
            ops[renamed..].iter().any(|op| op.contains("sync_dir") && op.contains(STORE) && !op.contains(CHUNK_DIR));
        invariant!(
            "atomic-write",
            synced_after,
            "the store's directory is not synced after the manifest's rename: {ops:#?}"
        );
        let chunk_dir_synced_before = ops[..renamed].iter().any(|op| op.contains("sync_dir") && op.contains(CHUNK_DIR));
        invariant!(
            "atomic-write",
            chunk_dir_synced_before,
            "the manifest was switched before the chunk directory was synced: {ops:#?}"
        );
    }
}

/// Task 4: restore.
mod restore {
    use super::*;

    #[test]
    fn restore_equals_a_full_snapshot_of_the_same_state() {
        let seed = lab_seed(0x7030);
        let (_sim, fs) = sim_disk(seed);
        let store = open_store(&fs);
        let cmds = commands(seed, 150, 30);
        let mut state = ChunkedKv::with_chunks(8);
        for (round, chunk) in cmds.chunks(50).enumerate() {
            apply_all(&mut state, chunk);
            distributed::invariant_ok!(
                "recovery-equivalence",
                store.save_frozen(&state.freeze(), meta(50 * (round as Index + 1))),
                "store.save_frozen(..)"
            );
        }
        let full = state.full_image();
        let mut from_full = ChunkedKv::with_chunks(8);
        distributed::invariant_ok!("recovery-equivalence", from_full.restore(&full), "a full image restores");
        let latest = store
            .latest()
            .unwrap_or_else(|e| fail!("recovery-equivalence", "latest: {e}"))
            .unwrap_or_else(|| distributed::fail!("recovery-equivalence", "a snapshot: expected Some, seen None"));
        invariant!(
            "recovery-equivalence",
            latest.data == full,
            "the image assembled from the manifest's chunks differs from the full image of the same state"
        );
        let (_, incremental) = restored(&store, "recovery-equivalence")
            .unwrap_or_else(|| distributed::fail!("recovery-equivalence", "restored(..): expected Some, seen None"));
        invariant!(
            "recovery-equivalence",
            incremental == from_full && same_state(&incremental, &model(&cmds)),
            "restored from chunks: {}; from a full snapshot: {}",
            describe(&incremental),
            describe(&from_full)
        );
    }

    #[test]
    fn a_damaged_or_missing_chunk_is_a_typed_error_never_a_wrong_state() {
        let seed = lab_seed(0x7031);
        let (sim, fs) = sim_disk(seed);
        let store = open_store(&fs);
        let mut state = ChunkedKv::with_chunks(4);
        apply_all(&mut state, &commands(seed, 40, 10));
        distributed::invariant_ok!("checksum", store.save_frozen(&state.freeze(), meta(40)), "store.save_frozen(..)");
        let manifest = store
            .manifest()
            .unwrap_or_else(|| distributed::fail!("checksum", "store.manifest(): expected Some, seen None"));
        let chunk = Path::new(STORE).join(CHUNK_DIR).join(manifest.chunks[1].to_hex());
        sim.flip_bit(&chunk, 8 * 40 + 3).expect("setup: sim.flip_bit(..)");
        match store.latest() {
            Err(StoreError::ChunkCorrupt { .. }) => {}
            other => fail!("checksum", "a flipped bit in a chunk file gave {:?}", other.map(|s| s.map(|s| s.meta))),
        }
        fs.remove_file(&chunk).expect("setup: fs.remove_file(..)");
        match store.latest() {
            Err(StoreError::MissingChunk { .. }) => {}
            other => fail!("checksum", "a missing chunk file gave {:?}", other.map(|s| s.map(|s| s.meta))),
        }
    }
}

/// Task 5: garbage collection.
mod gc {
    use super::*;

    #[test]
    fn gc_leaves_exactly_the_chunks_the_manifest_lists() {
        let seed = lab_seed(0x7040);
        let (_sim, fs) = sim_disk(seed);
        let store = open_store(&fs);
        let cmds = commands(seed, 120, 16);
        let mut state = ChunkedKv::with_chunks(8);
        for (round, chunk) in cmds.chunks(20).enumerate() {
            apply_all(&mut state, chunk);
            store
                .save_frozen(&state.freeze(), meta(20 * (round as Index + 1)))
                .unwrap_or_else(|e| fail!("gc-safety", "snapshot {round}: {e}"));
            let listed: BTreeSet<ChunkId> = store
                .manifest()
                .unwrap_or_else(|| distributed::fail!("gc-safety", "store.manifest(): expected Some, seen None"))
                .chunks
                .into_iter()
                .collect();
            let on_disk: BTreeSet<ChunkId> = fs
                .read_dir(&Path::new(STORE).join(CHUNK_DIR))
                .expect("setup: fs.read_dir(..)")
                .iter()
                .filter_map(|n| ChunkId::from_hex(n))
                .collect();
            invariant!(
                "gc-safety",
                listed.is_subset(&on_disk),
                "round {round}: the manifest lists chunks that are not on disk: {:?}",
                listed.difference(&on_disk).collect::<Vec<_>>()
            );
            invariant!(
                "gc-safety",
                on_disk == listed,
                "round {round}: {} chunk files on disk that no manifest lists",
                on_disk.difference(&listed).count()
            );
        }
    }

    #[test]
    fn a_power_cut_at_every_step_of_gc_never_breaks_the_durable_manifest() {
        let seed = lab_seed(0x7041);
        CrashExplorer::new(seed).torn_variants(1).reordered_variants(2).explore(
            snapshot_workload(seed, 3),
            |disk, _| {
                check_durable_manifest(disk);
                // And after a reopen, which collects what the crash left.
                let fs: FsRef = Arc::new(disk.clone());
                let reopened = ChunkStore::open(Arc::clone(&fs), STORE, StoreOptions::default());
                if let Err(e) = reopened {
                    fail!("gc-safety", "after the crash the store does not open: {e}");
                }
                if let Err(e) = distributed::invariant_ok!("gc-safety", reopened, "reopened").latest() {
                    fail!("gc-safety", "after the crash and a reopen the durable manifest does not restore: {e}");
                }
            },
        );
    }
}

/// Task 6: snapshots by policy, the log compacted after each.
mod policy {
    use super::*;

    fn drive(node: &mut SnapshottingReplica, entries: &[Entry]) {
        distributed::invariant_ok!("incremental", node.append(entries), "node.append(..)");
        distributed::invariant_ok!(
            "incremental",
            node.commit(entries.last().expect("setup: entries.last()").index),
            "node.commit(..)"
        );
        distributed::invariant_ok!("incremental", node.apply_committed(), "node.apply_committed()");
    }

    #[test]
    fn snapshots_are_taken_by_policy_and_the_log_compacted_after_each() {
        let seed = lab_seed(0x7050);
        let (_sim, fs) = sim_disk(seed);
        let cmds = commands(seed, 95, 20);
        let entries = log_of(&cmds);
        let mut node = open_node(&fs, SnapshotPolicy { max_entries: 30, max_bytes: 0 });
        drive(&mut node, &entries[..50]);
        drive(&mut node, &entries[50..]);
        let m = node.store().meta();
        invariant!(
            "prefix-compaction",
            m.last_index == 90,
            "with a snapshot every 30 entries, the newest of 95 covers {m:?}"
        );
        invariant!(
            "prefix-compaction",
            node.replica().snapshot_meta() == m && node.replica().first_log_index() == 91,
            "after the snapshot at 90 the log starts at {} (the replica's snapshot is {:?})",
            node.replica().first_log_index(),
            node.replica().snapshot_meta()
        );
        let (_, back) = restored(node.store(), "recovery-equivalence")
            .unwrap_or_else(|| distributed::fail!("prefix-compaction", "restored(..): expected Some, seen None"));
        invariant!(
            "point-in-time",
            same_state(&back, &model(&cmds[..90])),
            "the snapshot at 90 restores {}",
            describe(&back)
        );

        let (_sim, fs) = sim_disk(seed);
        let mut by_bytes = open_node(&fs, SnapshotPolicy { max_entries: 0, max_bytes: 400 });
        drive(&mut by_bytes, &entries);
        invariant!(
            "prefix-compaction",
            by_bytes.store().meta().last_index > 0,
            "a policy of 400 bytes took no snapshot after {} bytes of entries",
            entries.iter().map(|e| e.data.len()).sum::<usize>()
        );
    }

    #[test]
    fn a_snapshot_covers_exactly_last_applied() {
        let seed = lab_seed(0x7051);
        let (_sim, fs) = sim_disk(seed);
        let cmds = commands(seed, 40, 12);
        let mut node = open_node(&fs, SnapshotPolicy::default());
        distributed::invariant_ok!("point-in-time", node.append(&log_of(&cmds)), "node.append(..)");
        distributed::invariant_ok!("point-in-time", node.commit(40), "node.commit(..)");
        for _ in 0..25 {
            distributed::invariant_ok!("point-in-time", node.apply_next(), "node.apply_next()");
        }
        let m = node.snapshot_now().unwrap_or_else(|e| fail!("point-in-time", "snapshot at last_applied 25: {e}"));
        invariant!("point-in-time", m.last_index == 25, "a snapshot with last_applied 25 and commit 40 covers {m:?}");
        let (stored, back) = restored(node.store(), "point-in-time")
            .unwrap_or_else(|| distributed::fail!("point-in-time", "restored(..): expected Some, seen None"));
        invariant!(
            "point-in-time",
            stored.last_index == 25 && same_state(&back, &model(&cmds[..25])),
            "the manifest says {stored:?} and restores {}",
            describe(&back)
        );
    }

    #[test]
    fn a_snapshot_written_on_another_thread_is_compacted_to_its_own_point_in_time() {
        let seed = lab_seed(0x7053);
        let (_sim, fs) = sim_disk(seed);
        let cmds = commands(seed, 60, 12);
        let mut node = open_node(&fs, SnapshotPolicy::default());
        node.append(&log_of(&cmds)).unwrap_or_else(|e| fail!("durability", "append: {e}"));
        node.commit(60).unwrap_or_else(|e| fail!("durability", "commit: {e}"));
        for _ in 0..30 {
            node.apply_next().unwrap_or_else(|e| fail!("in-order-apply", "apply: {e}"));
        }
        let pending = node.begin_snapshot().unwrap_or_else(|e| fail!("point-in-time", "begin_snapshot: {e}"));
        let meta = pending.meta();
        invariant_eq!("point-in-time", meta.last_index, 30, "the view frozen with last_applied 30 covers");

        // Step 2 on another thread; the writer applies 15 more entries meanwhile.
        let store = node.store().clone();
        let saver = std::thread::spawn(move || pending.write(&store));
        for _ in 30..45 {
            node.apply_next().unwrap_or_else(|e| fail!("in-order-apply", "apply during the save: {e}"));
        }
        let saved = match saver.join() {
            Ok(saved) => saved,
            Err(_) => fail!("durability", "the save thread panicked"),
        };
        saved.unwrap_or_else(|e| fail!("durability", "the save on another thread: {e}"));

        // Step 3: the switch compacts to the frozen index, not to last_applied.
        let done =
            node.finish_snapshot(meta).unwrap_or_else(|e| fail!("point-in-time", "finish_snapshot({meta:?}): {e}"));
        invariant_eq!("point-in-time", done, meta, "finish_snapshot returns");
        invariant!(
            "prefix-compaction",
            node.replica().snapshot_meta() == meta
                && node.replica().first_log_index() == 31
                && node.replica().last_applied() == 45,
            "after a save frozen at 30 and 45 entries applied: the snapshot is {:?}, the log starts at {}, last_applied {}",
            node.replica().snapshot_meta(),
            node.replica().first_log_index(),
            node.replica().last_applied()
        );
        invariant!(
            "point-in-time",
            same_state(node.state(), &model(&cmds[..45])),
            "the live state after the save is {}",
            describe(node.state())
        );
        let Some((stored, back)) = restored(node.store(), "point-in-time") else {
            fail!("point-in-time", "no snapshot after the save")
        };
        invariant!(
            "point-in-time",
            stored == meta && same_state(&back, &model(&cmds[..30])),
            "the manifest says {stored:?} and restores {}",
            describe(&back)
        );

        // Every chunk the save marked clean holds what its stored file holds: the chunks
        // written during the save stay dirty.
        let (Ok(marked), Ok(full)) =
            (Image::decode(&node.state().snapshot().unwrap_or_default()), Image::decode(&node.state().full_image()))
        else {
            fail!("point-in-time", "the live state's images do not decode")
        };
        for (k, (chunk, content)) in marked.chunks.iter().zip(&full.chunks).enumerate() {
            if let (ChunkImage::Stored(id), ChunkImage::Inline(content)) = (chunk, content) {
                let stored = node.store().read_chunk(id).unwrap_or_else(|e| fail!("gc-safety", "clean chunk {k}: {e}"));
                invariant!(
                    "point-in-time",
                    &stored == content,
                    "chunk {k} is marked clean as {id}, but the live chunk was written after the freeze"
                );
            }
        }
        invariant!(
            "incremental",
            !node.state().dirty_chunks().is_empty(),
            "15 entries applied during the save left no chunk dirty"
        );

        // The next snapshot, and a restart, carry the writes made during the save.
        let next = node.snapshot_now().unwrap_or_else(|e| fail!("point-in-time", "the next snapshot: {e}"));
        let Some((_, back)) = restored(node.store(), "point-in-time") else { fail!("point-in-time", "no snapshot") };
        invariant!(
            "point-in-time",
            next.last_index == 45 && same_state(&back, &model(&cmds[..45])),
            "the snapshot after the save covers {next:?} and restores {}",
            describe(&back)
        );
    }

    #[test]
    fn a_power_cut_at_every_step_of_automatic_snapshots_recovers_the_same_state() {
        let seed = lab_seed(0x7052);
        let cmds = commands(seed, 24, 10);
        let entries = log_of(&cmds);
        let policy = SnapshotPolicy { max_entries: 7, max_bytes: 0 };
        CrashExplorer::new(seed).torn_variants(1).explore(
            |disk, acked: &mut Vec<Index>| -> Result<(), lab7::NodeError> {
                let fs: FsRef = Arc::new(disk.clone());
                let mut node = SnapshottingReplica::open(fs, NODE, node_options(policy))?;
                for batch in entries.chunks(6) {
                    node.append(batch)?;
                    node.commit(batch.last().expect("setup: batch.last()").index)?;
                    acked.push(batch.last().expect("setup: batch.last()").index);
                    node.apply_committed()?;
                }
                Ok(())
            },
            |disk, acked| {
                let fs: FsRef = Arc::new(disk.clone());
                let mut node = open_node(&fs, policy);
                node.apply_committed().unwrap_or_else(|e| fail!("recovery-equivalence", "replay after the crash: {e}"));
                let commit = node.replica().commit_index();
                let last_acked = acked.last().copied().unwrap_or(0);
                invariant!(
                    "recovery-equivalence",
                    commit >= last_acked,
                    "commit {last_acked} was acknowledged, found {commit}"
                );
                invariant!(
                    "point-in-time",
                    same_state(node.state(), &model(&cmds[..commit as usize])),
                    "after the crash the state at commit {commit} is {} (snapshot {:?})",
                    describe(node.state()),
                    node.store().meta()
                );
            },
        );
    }
}

/// Task 7: a lagging replica receives only the chunks it lacks.
mod stream {
    use super::*;

    fn leader_with(fs: &FsRef, entries: &[Entry]) -> SnapshottingReplica {
        let mut leader = open_node(fs, SnapshotPolicy::default());
        distributed::invariant_ok!("incremental", leader.append(entries), "leader.append(..)");
        distributed::invariant_ok!(
            "incremental",
            leader.commit(entries.last().expect("setup: entries.last()").index),
            "leader.commit(..)"
        );
        distributed::invariant_ok!("incremental", leader.apply_committed(), "leader.apply_committed()");
        distributed::invariant_ok!("incremental", leader.snapshot_now(), "leader.snapshot_now()");
        leader
    }

    #[test]
    fn a_lagging_replica_receives_only_the_chunks_it_lacks() {
        let seed = lab_seed(0x7060);
        let cmds = commands(seed, 60, 40);
        let mut entries = log_of(&cmds);
        let (_a, leader_fs) = sim_disk(seed);
        let (_b, follower_fs) = sim_disk(seed + 1);
        let mut leader = leader_with(&leader_fs, &entries);
        let mut follower = open_node(&follower_fs, SnapshotPolicy::default());
        let (sent, _) = distributed::invariant_ok!(
            "incremental",
            stream_snapshot(leader.store(), &mut follower),
            "stream_snapshot(..)"
        );
        invariant!("incremental", sent == 8, "a follower with nothing received {sent} of 8 chunks");
        invariant!(
            "recovery-equivalence",
            follower.state() == leader.state(),
            "the follower's state differs after the stream"
        );

        // Two more writes on the leader: the next stream sends only their chunks.
        let more = [Command::new(5_000, put("k3", b"new")), Command::new(5_001, put("k33", b"new"))];
        entries.extend(more.iter().enumerate().map(|(i, c)| Entry::new(61 + i as Index, 1, c.encode())));
        distributed::invariant_ok!("incremental", leader.append(&entries[60..]), "leader.append(..)");
        distributed::invariant_ok!("incremental", leader.commit(62), "leader.commit(..)");
        distributed::invariant_ok!("incremental", leader.apply_committed(), "leader.apply_committed()");
        distributed::invariant_ok!("incremental", leader.snapshot_now(), "leader.snapshot_now()");
        let changed: BTreeSet<usize> = ["k3", "k33"].iter().map(|k| chunk_of(k, 8)).collect();
        let (sent, _) = distributed::invariant_ok!(
            "incremental",
            stream_snapshot(leader.store(), &mut follower),
            "stream_snapshot(..)"
        );
        invariant!("incremental", sent == changed.len(), "{} chunks changed, {sent} were sent", changed.len());
        invariant!(
            "recovery-equivalence",
            follower.state() == leader.state() && follower.replica().commit_index() == 62,
            "after the second stream the follower is at commit {} with {}",
            follower.replica().commit_index(),
            describe(follower.state())
        );
    }

    #[test]
    fn a_damaged_chunk_in_the_stream_is_refused() {
        let (_a, leader_fs) = sim_disk(lab_seed(0x7061));
        let (_b, follower_fs) = sim_disk(2);
        let leader = leader_with(&leader_fs, &log_of(&commands(3, 30, 20)));
        let follower = open_node(&follower_fs, SnapshotPolicy::default());
        let manifest = leader
            .store()
            .manifest()
            .unwrap_or_else(|| distributed::fail!("checksum", "leader.store().manifest(): expected Some, seen None"));
        let id = manifest.chunks[0];
        let mut file =
            distributed::invariant_ok!("checksum", leader.store().chunk_file(&id), "leader.store().chunk_file(..)");
        let last = file.len() - 1;
        file[last] ^= 0x10;
        match follower.store().receive_chunk(&id, &file) {
            Err(StoreError::ChunkCorrupt { .. }) => {}
            other => fail!("checksum", "a damaged chunk in the stream gave {other:?}"),
        }
        invariant!("checksum", follower.store().missing(&manifest).contains(&id), "a refused chunk was stored anyway");
    }

    #[test]
    fn a_power_cut_at_every_step_of_a_streamed_install_opens_as_before_or_installed() {
        let seed = lab_seed(0x7062);
        let cmds = commands(seed, 30, 16);
        let (_a, leader_fs) = sim_disk(seed);
        let leader = leader_with(&leader_fs, &log_of(&cmds));
        let leader_store = leader.store().clone();
        let after = model(&cmds);
        CrashExplorer::new(seed).torn_variants(1).explore(
            |disk, acked: &mut Vec<bool>| -> Result<(), lab7::NodeError> {
                let fs: FsRef = Arc::new(disk.clone());
                let mut follower = SnapshottingReplica::open(fs, NODE, node_options(SnapshotPolicy::default()))?;
                follower.append(&log_of(&cmds[..10]))?;
                follower.commit(10)?;
                follower.apply_committed()?;
                follower.snapshot_now()?;
                stream_snapshot(&leader_store, &mut follower)?;
                acked.push(true);
                Ok(())
            },
            |disk, acked| {
                let fs: FsRef = Arc::new(disk.clone());
                let mut follower = open_node(&fs, SnapshotPolicy::default());
                follower.apply_committed().unwrap_or_else(|e| fail!("atomic-write", "replay after the crash: {e}"));
                let commit = follower.replica().commit_index();
                let state = follower.state();
                let ok = if commit == 30 {
                    same_state(state, &after)
                } else {
                    same_state(state, &model(&cmds[..commit as usize]))
                };
                invariant!(
                    "atomic-write",
                    ok,
                    "after the crash the follower at commit {commit} holds {}",
                    describe(state)
                );
                invariant!(
                    "atomic-write",
                    acked.is_empty() || commit == 30,
                    "an acknowledged install is gone (commit {commit})"
                );
            },
        );
    }
}
