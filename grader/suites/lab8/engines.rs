//! Hidden tests of the engines: the public tests' invariants, with more batches, more crash
//! images (reordered write-back), damaged files, threads, and properties over random
//! operations.

use std::collections::BTreeMap;
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::rng::{TestRng, lab_seed};
use distributed::testing::{proptest_config, sim_disk};
use distributed::vfs::{CrashMode, FsRef, SimFs};
use distributed::{fail, invariant};
use lab8::mem::apply_batch;
use lab8::{
    Batch, BatchOp, DiskDir, Engine, EngineError, FilesEngine, FilesOptions, FjallEngine, MemEngine, RedbEngine,
};
use proptest::prelude::*;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

const FILES: FilesOptions = FilesOptions { checkpoint_every: 4, segment_size: 2 << 10 };

fn files(fs: FsRef) -> Result<FilesEngine, EngineError> {
    FilesEngine::open(fs, "db", FILES)
}

fn redb(fs: FsRef) -> Result<RedbEngine, EngineError> {
    RedbEngine::open(fs, "db/redb")
}

fn random_batch(rng: &mut TestRng, keys: u64, max_value: u64) -> Batch {
    let mut batch = Batch::new();
    for _ in 0..rng.in_range(1, 8) {
        let key = format!("key-{:04}", rng.below(keys)).into_bytes();
        if rng.ratio(1, 5) {
            batch.delete(key);
        } else {
            let len = rng.below(max_value + 1) as usize;
            batch.put(key, rng.bytes(len));
        }
    }
    batch
}

fn states_after(batches: &[Batch]) -> Vec<Pairs> {
    let mut model = Model::new();
    let mut states = vec![Vec::new()];
    for batch in batches {
        apply_batch(&mut model, batch);
        states.push(model.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    }
    states
}

fn pairs_of(engine: &dyn Engine) -> Pairs {
    let snapshot = engine.snapshot().unwrap_or_else(|e| fail!("durability", "{}: snapshot failed: {e}", engine.name()));
    snapshot
        .collect::<Result<Pairs, _>>()
        .unwrap_or_else(|e| fail!("durability", "{}: snapshot read failed: {e}", engine.name()))
}

/// Batches written and batches flushed, as acknowledged.
#[derive(Clone, Copy, Debug, Default)]
struct Acked {
    written: usize,
    durable: usize,
}

fn check_whole(name: &str, found: &Pairs, states: &[Pairs], acked: &[Acked]) {
    let last = acked.last().copied().unwrap_or_default();
    let upto = (last.written + 1).min(states.len() - 1);
    let matches: Vec<usize> = (0..=upto).filter(|&k| states[k] == *found).collect();
    invariant!(
        "atomic-batch",
        !matches.is_empty(),
        "{name}: after the crash the engine holds {} pairs, not the state after any number (0 to {upto}) of whole batches",
        found.len()
    );
    invariant!(
        "durability",
        matches.iter().any(|&k| k >= last.durable),
        "{name}: {} batches were flushed, but the engine recovered the state after {matches:?}",
        last.durable
    );
}

fn explore<E: Engine>(
    name: &str,
    explorer: CrashExplorer,
    batches: &[Batch],
    flush_every: usize,
    open: impl Fn(FsRef) -> Result<E, EngineError>,
    reopen_and_write: bool,
) {
    let states = states_after(batches);
    explorer.explore(
        |fs: &SimFs, acked: &mut Vec<Acked>| -> Result<(), EngineError> {
            let mut engine = open(Arc::new(fs.clone()))?;
            let mut now = Acked::default();
            for (i, batch) in batches.iter().enumerate() {
                engine.write(batch)?;
                now.written = i + 1;
                acked.push(now);
                if (i + 1) % flush_every == 0 {
                    engine.flush()?;
                    now.durable = i + 1;
                    acked.push(now);
                }
                // Halfway, a clean restart: the rest is written by a reopened engine.
                if reopen_and_write && i + 1 == batches.len() / 2 {
                    engine.flush()?;
                    now.durable = i + 1;
                    drop(engine);
                    engine = open(Arc::new(fs.clone()))?;
                }
            }
            Ok(())
        },
        |image: &SimFs, acked: &[Acked]| {
            let engine = open(Arc::new(image.clone()))
                .unwrap_or_else(|e| fail!("durability", "{name}: reopening after the crash failed: {e}"));
            check_whole(name, &pairs_of(&engine), &states, acked);
        },
    );
}

mod files {
    use super::*;

    #[test]
    fn checkpoints_and_a_restart_survive_every_crash_point_reordered() {
        let seed = lab_seed(0x8101);
        let mut rng = TestRng::new(seed);
        let batches: Vec<Batch> = (0..14).map(|_| random_batch(&mut rng, 10, 60)).collect();
        let explorer = CrashExplorer::new(seed).torn_variants(1).reordered_variants(2);
        explore("files", explorer, &batches, 2, files, true);
    }

    #[test]
    fn a_reopen_resumes_the_batch_numbers_and_later_batches_survive() {
        let seed = lab_seed(0x8102);
        let mut rng = TestRng::new(seed);
        let batches: Vec<Batch> = (0..30).map(|_| random_batch(&mut rng, 16, 30)).collect();
        let states = states_after(&batches);
        let (sim, fs) = sim_disk(seed);
        let engine = distributed::invariant_ok!("recovery-equivalence", files(fs), "the files engine opens");
        for batch in &batches[..13] {
            distributed::invariant_ok!("recovery-equivalence", engine.write(batch), "write");
        }
        distributed::invariant_ok!("recovery-equivalence", engine.flush(), "flush");
        let mut image = sim.crash(CrashMode::Strict);
        let engine = files(Arc::new(image.clone())).unwrap_or_else(|e| fail!("durability", "reopen failed: {e}"));
        invariant!(
            "durability",
            engine.last_batch() == 13,
            "reopened at batch {}, 13 were flushed",
            engine.last_batch()
        );
        for batch in &batches[13..] {
            distributed::invariant_ok!("recovery-equivalence", engine.write(batch), "write");
        }
        distributed::invariant_ok!("recovery-equivalence", engine.flush(), "flush");
        image = image.crash(CrashMode::Strict);
        let engine = files(Arc::new(image)).unwrap_or_else(|e| fail!("durability", "second reopen failed: {e}"));
        let found = pairs_of(&engine);
        invariant!(
            "recovery-equivalence",
            found == states[30],
            "after two restarts the engine holds {} pairs, the model {}",
            found.len(),
            states[30].len()
        );
    }

    #[test]
    fn a_damaged_checkpoint_is_an_error_or_the_right_state_never_a_wrong_one() {
        let seed = lab_seed(0x8103);
        let mut rng = TestRng::new(seed);
        let batches: Vec<Batch> = (0..11).map(|_| random_batch(&mut rng, 10, 20)).collect();
        let states = states_after(&batches);
        let (sim, fs) = sim_disk(seed);
        let engine = distributed::invariant_ok!("checksum", files(fs), "the files engine opens");
        for batch in &batches {
            distributed::invariant_ok!("checksum", engine.write(batch), "write");
        }
        distributed::invariant_ok!("checksum", engine.flush(), "flush");
        drop(engine);
        let snaps: Vec<_> = sim.listing().into_iter().filter(|(p, _)| p.starts_with("db/snap")).collect();
        invariant!("checksum", !snaps.is_empty(), "no checkpoint file under db/snap after 11 batches (one every 4)");
        for (path, bytes) in snaps {
            for bit in [0, 8 * bytes.len() as u64 / 2, 8 * bytes.len() as u64 - 1] {
                let image = sim.crash(CrashMode::Strict);
                image.flip_bit(&path, bit).expect("setup: flip");
                match files(Arc::new(image)) {
                    Err(EngineError::Corrupt(_)) => {}
                    Err(e) => fail!("checksum", "a damaged checkpoint gave {e:?}, not Corrupt"),
                    Ok(engine) => {
                        let found = pairs_of(&engine);
                        invariant!(
                            "checksum",
                            found == states[11],
                            "bit {bit} of {} flipped: the engine opened with {} pairs, not the {} written",
                            path.display(),
                            found.len(),
                            states[11].len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn empty_batches_empty_keys_and_empty_values_survive_a_restart() {
        let (sim, fs) = sim_disk(lab_seed(0x8104));
        let engine = distributed::invariant_ok!("model-equivalence", files(fs), "the files engine opens");
        distributed::invariant_ok!("model-equivalence", engine.write(&Batch::new()), "an empty batch");
        let mut batch = Batch::new();
        batch.put(Vec::new(), Vec::new()).put(*b"x", Vec::new()).put(*b"y", *b"1").delete(*b"y");
        distributed::invariant_ok!("model-equivalence", engine.write(&batch), "write");
        distributed::invariant_ok!("model-equivalence", engine.flush(), "flush");
        let engine = distributed::invariant_ok!(
            "model-equivalence",
            files(Arc::new(sim.crash(CrashMode::Strict))),
            "the files engine reopens after a power cut"
        );
        let found = pairs_of(&engine);
        let expected = vec![(Vec::new(), Vec::new()), (b"x".to_vec(), Vec::new())];
        invariant!("model-equivalence", found == expected, "found {found:?}, expected {expected:?}");
    }
}

mod redb {
    use super::*;

    #[test]
    fn a_new_database_survives_a_power_cut_after_its_first_flush() {
        let (sim, fs) = sim_disk(lab_seed(0x8111));
        let engine = distributed::invariant_ok!("durability", redb(fs), "open");
        let mut batch = Batch::new();
        batch.put(*b"first", *b"value");
        distributed::invariant_ok!("durability", engine.write(&batch), "write");
        distributed::invariant_ok!("durability", engine.flush(), "flush");
        let engine = redb(Arc::new(sim.crash(CrashMode::Strict)))
            .unwrap_or_else(|e| fail!("durability", "reopening redb after the crash failed: {e}"));
        let found = distributed::invariant_ok!("durability", engine.get(b"first"), "get");
        invariant!(
            "durability",
            found.as_deref() == Some(&b"value"[..]),
            "a flushed write to a new database is gone after a power cut: get gave {found:?} (is the file's name durable?)"
        );
    }

    #[test]
    fn a_restart_and_reordered_write_back_keep_each_batch_whole() {
        let seed = lab_seed(0x8112);
        let mut rng = TestRng::new(seed);
        let batches: Vec<Batch> = (0..8).map(|_| random_batch(&mut rng, 10, 100)).collect();
        let explorer = CrashExplorer::new(seed).torn_variants(1).reordered_variants(1);
        explore("redb", explorer, &batches, 2, redb, true);
    }
}

mod fjall {
    use super::*;

    #[test]
    fn flushed_batches_survive_closing_and_reopening_the_directory() {
        let seed = lab_seed(0x8121);
        let mut rng = TestRng::new(seed);
        let batches: Vec<Batch> = (0..50).map(|_| random_batch(&mut rng, 40, 200)).collect();
        let states = states_after(&batches);
        let disk = DiskDir::temp().expect("setup: temp dir");
        {
            let engine = FjallEngine::new(disk.open_fjall("db").expect("setup: open"));
            for batch in &batches {
                distributed::invariant_ok!("durability", engine.write(batch), "write");
            }
            distributed::invariant_ok!("durability", engine.flush(), "flush");
        }
        let engine = FjallEngine::new(disk.open_fjall("db").unwrap_or_else(|e| fail!("durability", "reopen: {e}")));
        let found = pairs_of(&engine);
        invariant!(
            "durability",
            found == states[50],
            "reopened fjall holds {} pairs, expected {}",
            found.len(),
            states[50].len()
        );
    }
}

mod conformance {
    use super::*;

    /// Every engine of the lab, opened fresh; the handles keep their storage alive.
    fn every_engine(seed: u64) -> Vec<(Arc<dyn Engine>, Option<DiskDir>)> {
        let (_, fs1) = sim_disk(seed);
        let (_, fs2) = sim_disk(seed);
        let disk = DiskDir::temp().expect("setup: temp dir");
        let fjall = FjallEngine::new(disk.open_fjall("db").expect("setup: open fjall"));
        vec![
            (Arc::new(MemEngine::new()), None),
            (Arc::new(distributed::invariant_ok!("durability", files(fs1), "the files engine opens")), None),
            (Arc::new(distributed::invariant_ok!("durability", redb(fs2), "open redb")), None),
            (Arc::new(fjall), Some(disk)),
        ]
    }

    #[test]
    fn a_snapshot_taken_while_another_thread_writes_is_one_point_in_time() {
        for (engine, _disk) in every_engine(lab_seed(0x8131)) {
            // Every batch sets all of 40 keys to the same counter: a snapshot that mixes two
            // moments shows two counters.
            let writer = {
                let engine = Arc::clone(&engine);
                std::thread::spawn(move || {
                    for round in 0u32..60 {
                        let batch: Batch = (0..40)
                            .map(|k| BatchOp::Put {
                                key: format!("k{k:02}").into_bytes(),
                                value: round.to_le_bytes().to_vec(),
                            })
                            .collect();
                        distributed::invariant_ok!("point-in-time", engine.write(&batch), "write");
                    }
                })
            };
            while !writer.is_finished() {
                let seen = pairs_of(engine.as_ref());
                let values: std::collections::BTreeSet<&Vec<u8>> = seen.iter().map(|(_, v)| v).collect();
                invariant!(
                    "point-in-time",
                    values.len() <= 1 && (seen.is_empty() || seen.len() == 40),
                    "{}: a snapshot holds {} keys with {} different rounds: it mixes moments",
                    engine.name(),
                    seen.len(),
                    values.len()
                );
            }
            distributed::invariant_ok!("point-in-time", writer.join(), "the writer");
        }
    }

    #[test]
    fn a_range_past_the_last_key_or_with_its_end_before_its_start_is_empty() {
        for (engine, _disk) in every_engine(lab_seed(0x8132)) {
            let mut batch = Batch::new();
            batch.put(*b"b", *b"1").put(*b"c", *b"2").put(*b"d", *b"3");
            distributed::invariant_ok!("ordered-range", engine.write(&batch), "write");
            type Case<'a> = (&'a [u8], Option<&'a [u8]>, usize);
            let cases: [Case; 5] = [
                (b"e", None, 10),
                (b"c", Some(b"b"), 10),
                (b"c", Some(b"c"), 10),
                (b"b", Some(b"d"), 10),
                (b"", Some(b"c\0"), 1),
            ];
            let expected: [Pairs; 5] = [
                vec![],
                vec![],
                vec![],
                vec![(b"b".to_vec(), b"1".to_vec()), (b"c".to_vec(), b"2".to_vec())],
                vec![(b"b".to_vec(), b"1".to_vec())],
            ];
            for ((start, end, limit), want) in cases.into_iter().zip(expected) {
                let got = distributed::invariant_ok!("ordered-range", engine.range(start, end, limit), "range");
                invariant!(
                    "ordered-range",
                    got == want,
                    "{}: range({start:?}, {end:?}, {limit}) gave {got:?}",
                    engine.name()
                );
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Step {
        Write(Vec<(u8, Option<Vec<u8>>)>),
        Get(u8),
        Range(u8, Option<u8>, usize),
        Flush,
        Snapshot,
    }

    fn step() -> impl Strategy<Value = Step> {
        let op = (0u8..24, proptest::option::weighted(0.8, proptest::collection::vec(any::<u8>(), 0..24)));
        prop_oneof![
            4 => proptest::collection::vec(op, 1..6).prop_map(Step::Write),
            2 => (0u8..26).prop_map(Step::Get),
            2 => (0u8..26, proptest::option::of(0u8..26), 0usize..8).prop_map(|(s, e, l)| Step::Range(s, e, l)),
            1 => Just(Step::Flush),
            1 => Just(Step::Snapshot),
        ]
    }

    fn key(k: u8) -> Vec<u8> {
        vec![b'a' + k / 4, b'0' + k % 4]
    }

    proptest! {
        #![proptest_config(proptest_config(0x8133, 12))]
        #[test]
        fn random_operations_on_every_engine_match_the_model(steps in proptest::collection::vec(step(), 1..40)) {
            for (engine, _disk) in every_engine(lab_seed(0x8133)) {
                let model = MemEngine::new();
                for (i, step) in steps.iter().enumerate() {
                    match step {
                        Step::Write(ops) => {
                            let batch: Batch = ops
                                .iter()
                                .map(|(k, v)| match v {
                                    Some(v) => BatchOp::Put { key: key(*k), value: v.clone() },
                                    None => BatchOp::Delete { key: key(*k) },
                                })
                                .collect();
                            distributed::invariant_ok!("model-equivalence", engine.write(&batch), "write");
                            distributed::invariant_ok!("model-equivalence", model.write(&batch), "write");
                        }
                        Step::Get(k) => {
                            let (got, want) = (distributed::invariant_ok!("model-equivalence", engine.get(&key(*k)), "get"), distributed::invariant_ok!("model-equivalence", model.get(&key(*k)), "get"));
                            invariant!("model-equivalence", got == want, "{}, step {i}: get gave {got:?}, the model {want:?}", engine.name());
                        }
                        Step::Range(s, e, l) => {
                            let end = e.map(key);
                            let got = distributed::invariant_ok!("model-equivalence", engine.range(&key(*s), end.as_deref(), *l), "range");
                            let want = distributed::invariant_ok!("model-equivalence", model.range(&key(*s), end.as_deref(), *l), "range");
                            invariant!("ordered-range", got == want, "{}, step {i}: {step:?} gave {got:?}, the model {want:?}", engine.name());
                        }
                        Step::Flush => distributed::invariant_ok!("model-equivalence", engine.flush(), "flush"),
                        Step::Snapshot => {
                            let (got, want) = (pairs_of(engine.as_ref()), model.pairs());
                            invariant!("model-equivalence", got == want, "{}, step {i}: the snapshot holds {} pairs, the model {}", engine.name(), got.len(), want.len());
                        }
                    }
                }
                let (got, want) = (pairs_of(engine.as_ref()), model.pairs());
                invariant!("model-equivalence", got == want, "{}: at the end the engine holds {} pairs, the model {}", engine.name(), got.len(), want.len());
            }
        }
    }
}
