//! Lab 8's public tests, in the order of the chapter's tasks.
//!
//! `engine::` checks each engine's own promise once: the files engine's record format, then
//! its batches and its checkpoints under a power cut at every step; redb on the simulated disk
//! under the same power cuts; fjall on the real disk, killed at every batch. `conformance::`
//! runs one suite, the same code, on every engine against the in-memory model. `raft::` (in
//! `public/raft.rs`) puts the engines under openraft.
//!
//! Run them with `cargo test -p lab8`; one task at a time with, for example,
//! `cargo test -p lab8 engine::files`. A failure starts with the invariant it broke, in
//! brackets, and ends with the command that replays it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::rng::{TestRng, lab_seed};
use distributed::testing::sim_disk;
use distributed::vfs::{CrashMode, FsRef, SimFs};
use distributed::{fail, invariant};
use lab8::files::{decode_batch, decode_pairs, encode_batch, encode_pairs};
use lab8::mem::apply_batch;
use lab8::{Batch, DiskDir, Engine, EngineError, FilesEngine, FilesOptions, FjallEngine, MemEngine, RedbEngine};

mod raft;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The engines of the lab, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Mem,
    Files,
    Redb,
    Fjall,
}

const ALL: [Kind; 4] = [Kind::Mem, Kind::Files, Kind::Redb, Kind::Fjall];

/// An open engine, and what keeps its storage alive.
struct Opened {
    engine: Arc<dyn Engine>,
    _sim: Option<SimFs>,
    _disk: Option<DiskDir>,
}

/// Small checkpoints, so that tests cross several.
const FILES: FilesOptions = FilesOptions { checkpoint_every: 5, segment_size: 4 << 10 };

/// A new engine of `kind`; opening it on a healthy disk must work, under the calling test's
/// `invariant`.
fn open(kind: Kind, seed: u64, invariant: &str) -> Opened {
    let (sim, fs) = sim_disk(seed);
    let opened = |engine: Arc<dyn Engine>| Opened { engine, _sim: Some(sim.clone()), _disk: None };
    match kind {
        Kind::Mem => opened(Arc::new(MemEngine::new())),
        Kind::Files => opened(Arc::new(distributed::invariant_ok!(
            invariant,
            FilesEngine::open(fs, "db", FILES),
            "open the files engine"
        ))),
        Kind::Redb => {
            opened(Arc::new(distributed::invariant_ok!(invariant, RedbEngine::open(fs, "db/redb"), "open redb")))
        }
        Kind::Fjall => {
            let disk = DiskDir::temp().expect("setup: a temporary directory");
            let engine = FjallEngine::new(disk.open_fjall("db").expect("setup: open fjall"));
            Opened { engine: Arc::new(engine), _sim: None, _disk: Some(disk) }
        }
    }
}

/// A batch of 1 to 6 puts and deletes over `keys` keys, values of 0 to 40 bytes.
fn random_batch(rng: &mut TestRng, keys: u64) -> Batch {
    let mut batch = Batch::new();
    for _ in 0..rng.in_range(1, 6) {
        let key = format!("k{:03}", rng.below(keys)).into_bytes();
        if rng.ratio(1, 4) {
            batch.delete(key);
        } else {
            let len = rng.below(41) as usize;
            batch.put(key, rng.bytes(len));
        }
    }
    batch
}

/// The model's state after each prefix of `batches` (index k: after the first k).
fn states_after(batches: &[Batch]) -> Vec<Model> {
    let mut states = vec![Model::new()];
    for batch in batches {
        let mut next = states.last().expect("setup: one state at least").clone();
        apply_batch(&mut next, batch);
        states.push(next);
    }
    states
}

/// Every pair of `engine`, through its snapshot.
fn pairs_of(engine: &dyn Engine) -> Pairs {
    let snapshot = engine.snapshot().unwrap_or_else(|e| fail!("durability", "{}: snapshot failed: {e}", engine.name()));
    snapshot
        .collect::<Result<Pairs, EngineError>>()
        .unwrap_or_else(|e| fail!("durability", "{}: reading a snapshot failed: {e}", engine.name()))
}

fn as_pairs(model: &Model) -> Pairs {
    model.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn show(pairs: &Pairs) -> String {
    let keys: Vec<String> =
        pairs.iter().map(|(k, v)| format!("{}({}B)", String::from_utf8_lossy(k), v.len())).collect();
    format!("{} pairs [{}]", pairs.len(), keys.join(" "))
}

/// What a workload under the explorer acknowledged: batches written, batches durable.
#[derive(Clone, Copy, Debug)]
struct Acked {
    written: usize,
    durable: usize,
}

/// After a crash, the engine must hold the state after exactly `k` whole batches, for a `k`
/// no lower than the last flush acknowledged and no higher than one past the last write
/// returned (the batch being written when the power went may have reached the disk).
fn check_whole_batches(name: &str, found: &Pairs, states: &[Model], acked: &[Acked]) {
    let last = acked.last().copied().unwrap_or(Acked { written: 0, durable: 0 });
    let upto = (last.written + 1).min(states.len() - 1);
    let matches: Vec<usize> = (0..=upto).filter(|&k| as_pairs(&states[k]) == *found).collect();
    invariant!(
        "atomic-batch",
        !matches.is_empty(),
        "{name}: after the crash the engine holds {}, which is not the state after any number of whole batches \
         between 0 and {upto} (a batch was applied in part, or a value is wrong)",
        show(found)
    );
    invariant!(
        "durability",
        matches.iter().any(|&k| k >= last.durable),
        "{name}: {} batches were flushed before the crash, but the engine recovered the state after {:?} batches",
        last.durable,
        matches
    );
}

/// Writes `batches` to the engine `open` makes on the explorer's disk, flushing after every
/// `flush_every`, and checks at every crash point that each batch is whole.
fn explore_batches<E: Engine>(
    name: &str,
    seed: u64,
    batches: &[Batch],
    flush_every: usize,
    open: impl Fn(FsRef) -> Result<E, EngineError>,
) {
    let states = states_after(batches);
    let report = CrashExplorer::new(seed).torn_variants(2).explore(
        |fs: &SimFs, acked: &mut Vec<Acked>| -> Result<(), EngineError> {
            let engine = open(Arc::new(fs.clone()))?;
            let mut now = Acked { written: 0, durable: 0 };
            for (i, batch) in batches.iter().enumerate() {
                engine.write(batch)?;
                now.written = i + 1;
                acked.push(now);
                if (i + 1) % flush_every == 0 {
                    engine.flush()?;
                    now.durable = i + 1;
                    acked.push(now);
                }
            }
            Ok(())
        },
        |image: &SimFs, acked: &[Acked]| {
            let engine = open(Arc::new(image.clone()))
                .unwrap_or_else(|e| fail!("durability", "{name}: reopening after the crash failed: {e}"));
            check_whole_batches(name, &pairs_of(&engine), &states, acked);
        },
    );
    invariant!("atomic-batch", report.crash_points > batches.len() as u64, "{name}: the workload took too few steps");
}

/// Tasks 1 to 3: each engine on its own.
mod engine {
    use super::*;

    /// Task 1: the files engine.
    mod files {
        use super::*;

        #[test]
        fn a_batch_record_round_trips_and_any_cut_is_a_typed_error() {
            let mut rng = TestRng::new(lab_seed(0x8001));
            for _ in 0..20 {
                let batch = random_batch(&mut rng, 10);
                let bytes = encode_batch(&batch);
                let back =
                    decode_batch(&bytes).unwrap_or_else(|e| fail!("on-disk-format", "a batch did not decode: {e}"));
                invariant!("on-disk-format", back == batch, "decoded {back:?}, wrote {batch:?}");
                for cut in 0..bytes.len() {
                    invariant!(
                        "on-disk-format",
                        matches!(decode_batch(&bytes[..cut]), Err(EngineError::Corrupt(_))),
                        "a batch record cut to {cut} of {} bytes is not refused as corrupt",
                        bytes.len()
                    );
                }
            }
            // The byte table of the chapter: a put of "k" to "vv" and a delete of "d".
            let mut batch = Batch::new();
            batch.put(*b"k", *b"vv").delete(*b"d");
            let expected = [2, 0, 0, 0, 1, 1, 0, 0, 0, b'k', 2, 0, 0, 0, b'v', b'v', 2, 1, 0, 0, 0, b'd'];
            let bytes = encode_batch(&batch);
            invariant!(
                "on-disk-format",
                bytes == expected,
                "encoded {bytes:?}, the chapter's table gives {expected:?}"
            );
            let pairs = vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), Vec::new())];
            let image = encode_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
            let back =
                decode_pairs(&image).unwrap_or_else(|e| fail!("on-disk-format", "a checkpoint did not decode: {e}"));
            invariant!("on-disk-format", back == pairs, "checkpoint decoded as {back:?}");
            for cut in 0..image.len() {
                invariant!(
                    "on-disk-format",
                    decode_pairs(&image[..cut]).is_err(),
                    "a checkpoint cut to {cut} of {} bytes is not refused",
                    image.len()
                );
            }
        }

        #[test]
        fn a_reopened_engine_holds_every_flushed_batch_and_its_checkpoints() {
            let seed = lab_seed(0x8002);
            let mut rng = TestRng::new(seed);
            let batches: Vec<Batch> = (0..23).map(|_| random_batch(&mut rng, 12)).collect();
            let (sim, fs) = sim_disk(seed);
            let engine = distributed::invariant_ok!("recovery-equivalence", FilesEngine::open(fs, "db", FILES), "open");
            for batch in &batches {
                distributed::invariant_ok!("recovery-equivalence", engine.write(batch), "write");
            }
            distributed::invariant_ok!("recovery-equivalence", engine.flush(), "flush");
            invariant!(
                "durability",
                engine.last_batch() == 23,
                "last_batch() is {} after 23 batches",
                engine.last_batch()
            );
            let expected = as_pairs(states_after(&batches).last().expect("setup: a state"));
            let image: FsRef = Arc::new(sim.crash(CrashMode::Strict));
            let reopened = FilesEngine::open(image, "db", FILES)
                .unwrap_or_else(|e| fail!("recovery-equivalence", "reopening failed: {e}"));
            let found = pairs_of(&reopened);
            invariant!(
                "recovery-equivalence",
                found == expected,
                "after 23 batches (checkpoints every 5) and a flush, the reopened engine holds {}, expected {}",
                show(&found),
                show(&expected)
            );
            invariant!(
                "recovery-equivalence",
                reopened.last_batch() == 23,
                "reopened at batch {}",
                reopened.last_batch()
            );
        }

        #[test]
        fn a_power_cut_at_every_step_keeps_each_batch_whole() {
            let seed = lab_seed(0x8003);
            let mut rng = TestRng::new(seed);
            let batches: Vec<Batch> = (0..12).map(|_| random_batch(&mut rng, 8)).collect();
            explore_batches("files", seed, &batches, 3, |fs| FilesEngine::open(fs, "db", FILES));
        }
    }

    /// Task 2: redb on the kit's filesystem.
    mod redb {
        use super::*;

        #[test]
        fn a_power_cut_at_every_step_keeps_each_batch_whole() {
            let seed = lab_seed(0x8004);
            let mut rng = TestRng::new(seed);
            let batches: Vec<Batch> = (0..8).map(|_| random_batch(&mut rng, 8)).collect();
            explore_batches("redb", seed, &batches, 3, |fs| RedbEngine::open(fs, "db/redb"));
        }
    }

    /// Task 3: fjall on the real disk.
    mod fjall {
        use super::*;

        /// fjall's journal files below `dir`.
        fn journals(dir: &Path) -> Vec<PathBuf> {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(dir).expect("setup: list") {
                let path = entry.expect("setup: entry").path();
                if path.is_dir() {
                    found.extend(journals(&path));
                } else if path.extension().is_some_and(|e| e == "jnl") {
                    found.push(path);
                }
            }
            found.sort();
            found
        }

        #[test]
        fn a_killed_process_keeps_each_batch_whole_and_every_flushed_one() {
            let seed = lab_seed(0x8005);
            let mut rng = TestRng::new(seed);
            let batches: Vec<Batch> = (0..30).map(|_| random_batch(&mut rng, 10)).collect();
            let states = states_after(&batches);
            let disk = DiskDir::temp().expect("setup: a temporary directory");
            let engine = FjallEngine::new(disk.open_fjall("db").expect("setup: open fjall"));
            let mut durable = 0;
            for (i, batch) in batches.iter().enumerate() {
                distributed::invariant_ok!("atomic-batch", engine.write(batch), "write");
                if i % 4 == 3 {
                    distributed::invariant_ok!("atomic-batch", engine.flush(), "flush");
                    durable = i + 1;
                }
                if i % 5 != 4 {
                    continue;
                }
                // A process killed now leaves the files as they are; one killed while writing
                // the last batch leaves a prefix of it in the journal: cut the journal's end.
                let killed = disk.copy_as_killed().expect("setup: copy the files");
                let journal = journals(killed.path()).pop().expect("setup: fjall keeps a journal");
                // fjall preallocates its journal with zeros: the written part ends at the last
                // non-zero byte. Zero the last few bytes of it, as a write cut short leaves them.
                let mut bytes = std::fs::read(&journal).expect("setup: read the journal");
                let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                let cut = rng.in_range(1, 24) as usize;
                bytes[end.saturating_sub(cut)..end].fill(0);
                std::fs::write(&journal, &bytes).expect("setup: write the journal back");
                let reopened = FjallEngine::new(
                    killed.open_fjall("db").unwrap_or_else(|e| fail!("durability", "fjall did not reopen: {e}")),
                );
                // The cut may take the last batch (not flushed, or flushed: the cut is a
                // process's partial write, which a flush never acknowledged).
                let before_last = Acked { written: i, durable: durable.min(i) };
                check_whole_batches("fjall", &pairs_of(&reopened), &states, &[before_last]);
            }
        }
    }
}

/// The conformance suite: one suite, unchanged, on every engine, against the model.
mod conformance {
    use super::*;

    /// Keys near the bounds: empty, prefixes of each other, and 0xff bytes.
    fn edge_keys() -> Vec<Vec<u8>> {
        vec![b"".to_vec(), b"a".to_vec(), b"a\0".to_vec(), b"ab".to_vec(), b"b".to_vec(), vec![0xff], vec![0xff, 0xff]]
    }

    #[test]
    fn every_engine_matches_the_model_on_random_batches() {
        let seed = lab_seed(0x8006);
        for kind in ALL {
            let mut rng = TestRng::new(seed);
            let opened = open(kind, seed, "model-equivalence");
            let (engine, model) = (&opened.engine, MemEngine::new());
            for step in 0..150 {
                let batch = random_batch(&mut rng, 20);
                engine.write(&batch).unwrap_or_else(|e| fail!("model-equivalence", "{kind:?}: write failed: {e}"));
                distributed::invariant_ok!("model-equivalence", model.write(&batch), "the model writes");
                let key = format!("k{:03}", rng.below(22)).into_bytes();
                let (got, want) = (
                    distributed::invariant_ok!("model-equivalence", engine.get(&key), "get"),
                    distributed::invariant_ok!("model-equivalence", model.get(&key), "get"),
                );
                invariant!(
                    "model-equivalence",
                    got == want,
                    "{kind:?}, step {step}: get({}) gave {got:?}, the model {want:?}",
                    String::from_utf8_lossy(&key)
                );
                if step % 10 == 0 {
                    engine.flush().unwrap_or_else(|e| fail!("model-equivalence", "{kind:?}: flush failed: {e}"));
                    let (found, expected) = (pairs_of(engine.as_ref()), model.pairs());
                    invariant!(
                        "model-equivalence",
                        found == expected,
                        "{kind:?}, step {step}: the engine holds {}, the model {}",
                        show(&found),
                        show(&expected)
                    );
                }
            }
        }
    }

    #[test]
    fn a_range_holds_its_start_excludes_its_end_and_stops_at_the_limit() {
        let seed = lab_seed(0x8007);
        for kind in ALL {
            let opened = open(kind, seed, "ordered-range");
            let (engine, model) = (&opened.engine, MemEngine::new());
            let mut batch = Batch::new();
            for key in edge_keys() {
                batch.put(key.clone(), key.iter().rev().copied().collect::<Vec<u8>>());
            }
            distributed::invariant_ok!("ordered-range", engine.write(&batch), "write");
            distributed::invariant_ok!("ordered-range", model.write(&batch), "write");
            let keys = edge_keys();
            for start in &keys {
                for end in keys.iter().map(Some).chain([None]) {
                    for limit in [0, 1, 2, usize::MAX] {
                        let end = end.map(Vec::as_slice);
                        let got = distributed::invariant_ok!("ordered-range", engine.range(start, end, limit), "range");
                        let want = distributed::invariant_ok!("ordered-range", model.range(start, end, limit), "range");
                        invariant!(
                            "ordered-range",
                            got == want,
                            "{kind:?}: range({start:?}, {end:?}, limit {limit}) gave {}, expected {}",
                            show(&got),
                            show(&want)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_snapshot_keeps_its_point_in_time_while_writes_go_on() {
        let seed = lab_seed(0x8008);
        for kind in ALL {
            let mut rng = TestRng::new(seed);
            let opened = open(kind, seed, "point-in-time");
            let (engine, model) = (&opened.engine, MemEngine::new());
            // Enough keys that an engine reading its snapshot a page at a time reads several.
            for _ in 0..60 {
                let batch = random_batch(&mut rng, 100);
                distributed::invariant_ok!("point-in-time", engine.write(&batch), "write");
                distributed::invariant_ok!("point-in-time", model.write(&batch), "write");
            }
            let at_snapshot = model.pairs();
            let snapshot = distributed::invariant_ok!("point-in-time", engine.snapshot(), "snapshot");
            let mut later = Batch::new();
            for (key, _) in &at_snapshot {
                later.delete(key.clone());
            }
            later.put(*b"k000", *b"after").put(*b"zz", *b"after");
            distributed::invariant_ok!("point-in-time", engine.write(&later), "write after the snapshot");
            let seen: Pairs =
                distributed::invariant_ok!("point-in-time", snapshot.collect::<Result<_, _>>(), "read the snapshot");
            invariant!(
                "point-in-time",
                seen == at_snapshot,
                "{kind:?}: a snapshot read after a later write holds {}, but at its time the engine held {}",
                show(&seen),
                show(&at_snapshot)
            );
        }
    }

    #[test]
    fn a_failed_sync_is_an_error_and_the_engine_refuses_later_writes() {
        let seed = lab_seed(0x8009);
        type Opener = fn(FsRef) -> Result<Arc<dyn Engine>, EngineError>;
        let engines: [(&str, Opener); 2] = [
            ("files", |fs| Ok(Arc::new(FilesEngine::open(fs, "db", FILES)?))),
            ("redb", |fs| Ok(Arc::new(RedbEngine::open(fs, "db/redb")?))),
        ];
        for (name, open) in engines {
            let (sim, fs) = sim_disk(seed);
            let engine = distributed::invariant_ok!("fail-stop", open(fs), "open");
            let mut batch = Batch::new();
            batch.put(*b"a", *b"1");
            distributed::invariant_ok!("fail-stop", engine.write(&batch), "write");
            sim.fail_next_syncs(1);
            let flushed = engine.flush();
            invariant!("fail-stop", flushed.is_err(), "{name}: flush returned Ok although its sync failed");
            let again = engine.write(&batch).and_then(|()| engine.flush());
            invariant!(
                "fail-stop",
                again.is_err(),
                "{name}: after a failed sync, a later write and flush were acknowledged (fsyncgate: the failed pages may be gone)"
            );
        }
    }
}
