//! Lab 7's benchmark: incremental snapshots against what they promise, on the real disk, in
//! one run.
//!
//! Run it with `cargo run --release -p grader --example lab7_bench` (add
//! `--features lab7/zstd` to include Zstandard, which builds its C library; set `BENCH_DIR` to
//! choose the disk; name sections, `bytes stall restore codecs`, to run only those). It prints
//! Markdown tables of:
//!
//! - **bytes written per snapshot** (counted by the kit's `StatsFs` under the store) against the
//!   bytes of the changed chunks' files plus the manifest: the overhead of the protocol beyond
//!   the data it must write (goal ≤ 1.05×), and against a full snapshot of the same state;
//! - **writer stall**: the 99th percentile of one write's latency while a snapshot runs on
//!   another thread, against writes with no snapshot running (goal ≤ 2×), and the same with a
//!   stop-the-world snapshot (the writer waits for the whole save, as lab 4's does). The same
//!   paced writer loop in every mode, from the steady state (a first full snapshot already
//!   durable), five interleaved rounds, medians; a tmpfs mode makes the save short and the
//!   copies dense, a last column leaves out the writes that may copy a chunk (the first to
//!   their chunk since the freeze), and a last line times one copy on its own;
//! - **restore time** of the newest snapshot from its chunks against a full snapshot of the
//!   same state in lab 3's store;
//! - **compression**: ratio and speed of each codec on the state's chunks.
//!
//! Ratios, not absolute numbers, carry from one machine to another.

mod common;

use common::{bench_root, fresh_dir, machine};

use std::sync::Arc;
use std::time::{Duration, Instant};

use distributed::rng::TestRng;
use distributed::storage::{SnapshotMeta, StateMachineStorage};
use distributed::vfs::{FsRef, StatsFs, StdFs};
use lab4::{Command, Op};
use lab7::format::{Compressor, compress, decompress, encode_chunk};
use lab7::{ChunkStore, ChunkedKv, Codec, StoreOptions};

const KEYS: u64 = 20_000;
const CHUNKS: usize = 256;

/// A record that compresses like real application data: field names repeat, numbers vary.
fn value(rng: &mut TestRng, key: u64) -> Vec<u8> {
    format!(
        r#"{{"id":{key},"name":"user-{key}","balance":{},"status":"{}","tags":["t{}","t{}"]}}"#,
        rng.below(1_000_000),
        ["active", "suspended", "closed"][rng.below(3) as usize],
        rng.below(50),
        rng.below(50)
    )
    .into_bytes()
}

fn put(rng: &mut TestRng, key: u64, timestamp: u64) -> Vec<u8> {
    Command::new(timestamp, Op::Put { key: format!("user/{key:08}"), value: value(rng, key) }).encode()
}

fn loaded_state(rng: &mut TestRng) -> ChunkedKv {
    let mut state = ChunkedKv::with_chunks(CHUNKS);
    for key in 0..KEYS {
        state.apply(&put(rng, key, key)).expect("apply");
    }
    state
}

fn meta(index: u64) -> SnapshotMeta {
    SnapshotMeta { last_index: index, last_term: 1 }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// Bytes written per incremental snapshot against the changed chunks + manifest.
fn bytes_written(root: &std::path::Path) {
    println!("\n### Bytes written per snapshot\n");
    println!(
        "| keys changed | chunks written | bytes written | changed chunks + manifest | ratio | full snapshot | incremental / full |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let dir = fresh_dir(root, "bytes");
    let stats = Arc::new(StatsFs::new(Arc::new(StdFs::new(dir))));
    let fs: FsRef = stats.clone();
    let store = ChunkStore::open(fs, "store", StoreOptions { codec: Codec::Lz4 }).expect("open");
    let mut rng = TestRng::new(7);
    let mut state = loaded_state(&mut rng);
    stats.reset();
    let first = store.save_frozen(&state.freeze(), meta(KEYS)).expect("save");
    let full = stats.stats().total().bytes_written;
    let _ = first;
    let mut index = KEYS;
    for changed in [1u64, 10, 100, 1_000] {
        for _ in 0..changed {
            index += 1;
            let key = rng.below(KEYS);
            state.apply(&put(&mut rng, key, index)).expect("apply");
        }
        stats.reset();
        let report = store.save_frozen(&state.freeze(), meta(index)).expect("save");
        let written = stats.stats().total().bytes_written;
        let needed = report.chunk_bytes + report.manifest_bytes;
        println!(
            "| {changed} | {} of {CHUNKS} | {written} | {needed} | {:.3}× | {full} | {:.3} |",
            report.chunks_written,
            written as f64 / needed as f64,
            written as f64 / full as f64
        );
    }
}

/// How a writer's latency is measured against snapshots: the same writer loop in every mode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// No snapshot runs: the baseline.
    None,
    /// Lab 7's protocol: freeze on the writer's thread, save on another, then the switch
    /// (`finish_snapshot`, lab 4's `compact_to`) on the writer's thread.
    Background,
    /// The same, with the replica on tmpfs (`/dev/shm`): fsync costs nothing, the save is only
    /// CPU and takes milliseconds, so most chunks the writer touches are still held by the save
    /// and are copied: the copy-on-write price at its densest.
    BackgroundFast,
    /// `snapshot_now` on the writer's thread: the writer waits for the whole save.
    StopTheWorld,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::None => "no snapshot (baseline)",
            Mode::Background => "background save, disk (lab 7)",
            Mode::BackgroundFast => "background save, tmpfs (fast save: copies densest)",
            Mode::StopTheWorld => "stop-the-world (`snapshot_now` on the writer; all writes, each save as one)",
        }
    }
}

/// Writes per run, the pace of the writer, and how often a snapshot is begun.
const STALL_WRITES: u64 = 100_000;
const STALL_PACE: Duration = Duration::from_micros(20);
const STALL_EVERY: u64 = 10_000;

/// One run: the latencies of the writes that started while a save was running (all of them
/// in `Mode::None`), and the writer's two critical sections per snapshot.
struct StallRun {
    during: Vec<Duration>,
    /// Of `during`, the writes that were not the first to their chunk since the freeze: no such
    /// write can copy a chunk, so their tail is what the save costs a write beside the copies.
    later: Vec<Duration>,
    begins: Vec<Duration>,
    finishes: Vec<Duration>,
    saves: Vec<Duration>,
    /// Chunks the writer wrote while each save ran (dirty after the switch).
    redirtied: Vec<usize>,
}

/// A replica (lab 7's `SnapshottingReplica` over lab 4's) on `dir`, loaded with `KEYS` records
/// and a first full snapshot (every chunk clean, the steady state), holding `STALL_WRITES`
/// more committed entries not applied yet: the writer applies them one by one. Also the chunk
/// each of those entries writes.
fn stall_replica(dir: std::path::PathBuf, rng: &mut TestRng) -> (lab7::SnapshottingReplica, Vec<usize>) {
    let fs: FsRef = Arc::new(StdFs::new(dir));
    let options = lab7::NodeOptions {
        replica: lab4::ReplicaOptions {
            wal: lab1::WalOptions { segment_size: 1 << 20, ..lab1::WalOptions::default() },
            ..lab4::ReplicaOptions::default()
        },
        chunks: CHUNKS,
        ..lab7::NodeOptions::default()
    };
    let mut node = lab7::SnapshottingReplica::open(fs, "node", options).expect("open");
    let mut entries = Vec::new();
    for key in 0..KEYS {
        entries.push(put(rng, key, key));
    }
    let mut chunk_of_write = Vec::new();
    for i in 0..STALL_WRITES {
        let key = rng.below(KEYS);
        chunk_of_write.push(lab7::chunk_of(&format!("user/{key:08}"), CHUNKS));
        entries.push(put(rng, key, KEYS + i + 1));
    }
    let entries: Vec<distributed::storage::Entry> = entries
        .into_iter()
        .enumerate()
        .map(|(i, data)| distributed::storage::Entry::new(i as u64 + 1, 1, data))
        .collect();
    node.append(&entries).expect("append");
    node.commit(entries.len() as u64).expect("commit");
    for _ in 0..KEYS {
        node.apply_next().expect("apply");
    }
    node.snapshot_now().expect("the first full snapshot");
    (node, chunk_of_write)
}

/// A save running on its own thread: what it covers, and its outcome with how long it took.
type Save = (SnapshotMeta, std::thread::JoinHandle<(Result<lab7::SaveReport, lab7::StoreError>, Duration)>);

/// The end of a background save, on the writer's thread: joins it and runs the switch
/// (`finish_snapshot`, timed), recording both in `run`.
fn finish_save(node: &mut lab7::SnapshottingReplica, (meta, save): Save, run: &mut StallRun) {
    let (report, took) = save.join().expect("the save thread");
    report.expect("save");
    run.saves.push(took);
    let start = Instant::now();
    node.finish_snapshot(meta).expect("finish_snapshot");
    run.finishes.push(start.elapsed());
    run.redirtied.push(node.state().dirty_chunks().len());
}

/// The writer applies `STALL_WRITES` committed entries at a fixed pace (one every
/// `STALL_PACE`, spinning), each `apply_next` timed on its own. Every `STALL_EVERY` writes it
/// begins a snapshot (skipped while one runs, as a policy would): in the background modes it
/// freezes (timed: the first critical section), hands the pending snapshot to a thread that
/// writes it, goes on applying, and after each write checks whether the save is done; when it
/// is, it runs the switch, `finish_snapshot` (timed: the second critical section).
fn stall_run(root: &std::path::Path, mode: Mode, round: usize) -> StallRun {
    let dir = if mode == Mode::BackgroundFast {
        let dir = std::path::Path::new("/dev/shm").join(format!("lab7-bench-{}-{round}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("tmpfs");
        dir
    } else {
        fresh_dir(root, &format!("stall-{mode:?}-{round}"))
    };
    let mut rng = TestRng::new(11);
    let (mut node, chunk_of_write) = stall_replica(dir.clone(), &mut rng);
    let mut run = StallRun {
        during: Vec::new(),
        later: Vec::new(),
        begins: Vec::new(),
        finishes: Vec::new(),
        saves: Vec::new(),
        redirtied: Vec::new(),
    };
    let mut saving: Option<Save> = None;
    // The chunks written since the last freeze.
    let mut touched = vec![false; CHUNKS];
    let began = Instant::now();
    for i in 0..STALL_WRITES {
        let slot = began + STALL_PACE * i as u32;
        while Instant::now() < slot {
            std::hint::spin_loop();
        }
        let during = saving.is_some();
        let start = Instant::now();
        node.apply_next().expect("apply").expect("a committed entry");
        let latency = start.elapsed();
        let first_touch = !std::mem::replace(&mut touched[chunk_of_write[i as usize]], true);
        if during || matches!(mode, Mode::None | Mode::StopTheWorld) {
            run.during.push(latency);
            if !first_touch {
                run.later.push(latency);
            }
        }
        if saving.as_ref().is_some_and(|(_, save)| save.is_finished()) {
            finish_save(&mut node, saving.take().expect("a save"), &mut run);
        }
        if mode != Mode::None && (i + 1) % STALL_EVERY == 0 && saving.is_none() {
            if mode == Mode::StopTheWorld {
                // The next write waits for the whole save: counted as that write's latency.
                let start = Instant::now();
                node.snapshot_now().expect("snapshot_now");
                let took = start.elapsed();
                run.saves.push(took);
                run.during.push(took);
                continue;
            }
            let start = Instant::now();
            let pending = node.begin_snapshot().expect("begin_snapshot");
            run.begins.push(start.elapsed());
            touched.fill(false);
            let meta = pending.meta();
            let store = node.store().clone();
            saving = Some((
                meta,
                std::thread::spawn(move || {
                    let start = Instant::now();
                    (pending.write(&store), start.elapsed())
                }),
            ));
        }
    }
    if let Some(save) = saving.take() {
        finish_save(&mut node, save, &mut run);
    }
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
    run
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

fn median_of(durations: &[Duration]) -> f64 {
    if durations.is_empty() {
        return f64::NAN;
    }
    let mut values: Vec<f64> = durations.iter().map(|d| micros(*d)).collect();
    median(&mut values)
}

fn max_of(durations: &[Duration]) -> f64 {
    durations.iter().map(|d| micros(*d)).fold(f64::NAN, f64::max)
}

/// p99 of writes during a snapshot against writes with no snapshot running, and the writer's
/// critical sections, five interleaved rounds of every mode, medians reported.
fn writer_stall(root: &std::path::Path) {
    const ROUNDS: usize = 5;
    let modes = [Mode::None, Mode::Background, Mode::BackgroundFast, Mode::StopTheWorld];
    // Per mode, one value per round: p50, p99, p99.9, max, p99 / the round's baseline p99,
    // writes measured, snapshots, median save (ms), freeze median and max (µs), switch median
    // and max (µs), chunks written during the save, p99 of the writes that cannot copy and its
    // ratio to the baseline p99.
    let mut table: Vec<[Vec<f64>; 15]> = modes.iter().map(|_| Default::default()).collect();
    for round in 0..ROUNDS {
        let mut baseline = f64::NAN;
        for (m, &mode) in modes.iter().enumerate() {
            let mut run = stall_run(root, mode, round);
            let mut samples = std::mem::take(&mut run.during);
            if samples.is_empty() {
                continue;
            }
            let [p50, p99, p999, max] = [0.50, 0.99, 0.999, 1.0].map(|p| micros(percentile(&mut samples, p)));
            let later99 = if run.later.is_empty() { f64::NAN } else { micros(percentile(&mut run.later, 0.99)) };
            if mode == Mode::None {
                baseline = p99;
            }
            let redirtied = if run.redirtied.is_empty() {
                f64::NAN
            } else {
                run.redirtied.iter().sum::<usize>() as f64 / run.redirtied.len() as f64
            };
            let values = [
                p50,
                p99,
                p999,
                max,
                p99 / baseline,
                samples.len() as f64,
                run.saves.len() as f64,
                median_of(&run.saves) / 1e3,
                median_of(&run.begins),
                max_of(&run.begins),
                median_of(&run.finishes),
                max_of(&run.finishes),
                redirtied,
                later99,
                later99 / baseline,
            ];
            for (column, value) in table[m].iter_mut().zip(values) {
                column.push(value);
            }
        }
    }
    println!("\n### Writer stall\n");
    println!(
        "{STALL_WRITES} committed puts applied by `apply_next` per run, one every {} µs, a snapshot begun every \
         {STALL_EVERY} writes (skipped while one runs), after a first full snapshot; a write is timed on its \
         own and counts as during a snapshot if a save was running when it started. The freeze \
         (`begin_snapshot`) and the switch (`finish_snapshot`) are the writer's critical sections, timed \
         apart. Median of {ROUNDS} interleaved rounds.\n",
        STALL_PACE.as_micros()
    );
    println!(
        "| writes | measured | p50 | p99 | p99.9 | max | p99 / baseline p99 (same round) | snapshots | save (median) | freeze p50 / max | switch p50 / max | chunks written during the save | p99 of writes that cannot copy (not the first to their chunk since the freeze) / baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (m, mode) in modes.iter().enumerate() {
        let [p50, p99, p999, max, ratio, count, snapshots, save, b50, bmax, f50, fmax, redirtied, later99, later_ratio] =
            &mut table[m];
        if p50.is_empty() {
            continue;
        }
        println!(
            "| {} | {:.0} | {:.1} µs | {:.1} µs | {:.1} µs | {:.0} µs | {:.2}× | {:.0} | {:.0} ms | {:.0} / {:.0} µs | {:.0} / {:.0} µs | {:.0} | {:.1} µs / {:.2}× |",
            mode.label(),
            median(count),
            median(p50),
            median(p99),
            median(p999),
            median(max),
            median(ratio),
            median(snapshots),
            median(save),
            median(b50),
            median(bmax),
            median(f50),
            median(fmax),
            median(redirtied),
            median(later99),
            median(later_ratio)
        );
    }
    copy_cost();
}

/// The price of copy-on-write on one write, in one thread with nothing else running: the first
/// write to each chunk after a freeze (which copies the chunk) against a second write to it.
fn copy_cost() {
    let mut rng = TestRng::new(19);
    let mut state = loaded_state(&mut rng);
    // One key per chunk, so every write below lands in a chunk of its own.
    let mut key_of_chunk = vec![None; CHUNKS];
    for key in 0..KEYS {
        let slot = &mut key_of_chunk[lab7::chunk_of(&format!("user/{key:08}"), CHUNKS)];
        slot.get_or_insert(key);
    }
    let keys: Vec<u64> = key_of_chunk.into_iter().flatten().collect();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let mut index = KEYS;
    for _ in 0..20 {
        let frozen = state.freeze();
        for &key in &keys {
            for samples in [&mut first, &mut second] {
                index += 1;
                let entry = put(&mut rng, key, index);
                let start = Instant::now();
                state.apply(&entry).expect("apply");
                samples.push(start.elapsed());
            }
        }
        drop(frozen);
    }
    let [first50, first99] = [0.5, 0.99].map(|p| micros(percentile(&mut first, p)));
    let [second50, second99] = [0.5, 0.99].map(|p| micros(percentile(&mut second, p)));
    println!(
        "\nOne thread, no snapshot running, {} writes each: the first write to a chunk after a freeze \
         (copies the chunk, about {} records) p50 {first50:.1} µs, p99 {first99:.1} µs; the next write \
         to the same chunk p50 {second50:.1} µs, p99 {second99:.1} µs.",
        first.len(),
        KEYS as usize / CHUNKS
    );
}

/// Restore from chunks against a full snapshot in lab 3's store.
fn restore_time(root: &std::path::Path) {
    println!("\n### Restore time\n");
    println!("| from | bytes read | time | ratio to the full snapshot |");
    println!("|---|---:|---:|---:|");
    let mut rng = TestRng::new(13);
    let state = loaded_state(&mut rng);
    let dir = fresh_dir(root, "restore");
    let fs: FsRef = Arc::new(StdFs::new(dir));
    let chunks = ChunkStore::open(fs.clone(), "chunks", StoreOptions::default()).expect("open");
    chunks.save_frozen(&state.freeze(), meta(KEYS)).expect("save");
    let full = lab3::SnapshotStore::open(fs, "full", lab3::StoreOptions { keep: 1 }).expect("open");
    let full_image = state.full_image();
    full.save(&distributed::storage::Snapshot { meta: meta(KEYS), data: full_image.clone() }).expect("save");
    let rounds = 10;
    let start = Instant::now();
    for _ in 0..rounds {
        let snapshot = full.latest().expect("latest").expect("a snapshot");
        let mut restored = ChunkedKv::with_chunks(CHUNKS);
        restored.restore(&snapshot.data).expect("restore");
        std::hint::black_box(restored);
    }
    let full_time = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(chunks.load_state().expect("load").expect("a snapshot"));
    }
    let chunk_time = start.elapsed() / rounds;
    let chunk_bytes: u64 =
        chunks.manifest().unwrap().chunks.iter().map(|id| chunks.chunk_file(id).unwrap().len() as u64).sum();
    println!(
        "| lab 3 full snapshot (uncompressed) | {} | {:.1} ms | 1.00× |",
        full_image.len(),
        full_time.as_secs_f64() * 1e3
    );
    println!(
        "| lab 7 manifest + {CHUNKS} chunks (lz4) | {chunk_bytes} | {:.1} ms | {:.2}× |",
        chunk_time.as_secs_f64() * 1e3,
        chunk_time.as_secs_f64() / full_time.as_secs_f64()
    );
}

/// Ratio and speed of each codec on the state's chunk contents.
fn codecs() {
    println!("\n### Compression of chunk files\n");
    println!(
        "| codec | ratio (raw / stored) | compress MB/s (a context per chunk) | decompress MB/s | compress MB/s (one context per save) | speed-up |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut rng = TestRng::new(17);
    let state = loaded_state(&mut rng);
    let image = lab7::Image::decode(&state.full_image()).expect("image");
    let contents: Vec<Vec<u8>> = image
        .chunks
        .into_iter()
        .map(|c| match c {
            lab7::ChunkImage::Inline(bytes) => bytes,
            lab7::ChunkImage::Stored(_) => unreachable!("a full image"),
        })
        .collect();
    let raw: usize = contents.iter().map(Vec::len).sum();
    for codec in [Codec::None, Codec::Lz4, Codec::Zstd { level: 1 }, Codec::Zstd { level: 3 }, Codec::Zstd { level: 9 }]
    {
        if encode_chunk(b"probe", codec).is_err() {
            println!("| {codec:?} | not built: add `--features lab7/zstd` | | | | |");
            continue;
        }
        // Compression a context per chunk (`compress`) and through one `Compressor` per pass (as
        // a save compresses), interleaved round by round, the best round of each kept.
        let rounds = 7;
        let (mut compress_time, mut reused_time) = (Duration::MAX, Duration::MAX);
        let mut stored = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            stored = contents.iter().map(|c| compress(c, codec).expect("compress")).collect::<Vec<_>>();
            compress_time = compress_time.min(start.elapsed());
            let start = Instant::now();
            let mut compressor = Compressor::new(codec).expect("compressor");
            for c in &contents {
                std::hint::black_box(compressor.compress(c).expect("compress"));
            }
            reused_time = reused_time.min(start.elapsed());
        }
        let start = Instant::now();
        for _ in 0..rounds {
            for (s, c) in stored.iter().zip(&contents) {
                std::hint::black_box(decompress(s, codec.tag(), c.len()).expect("decompress"));
            }
        }
        let decompress_time = start.elapsed() / rounds as u32;
        let stored_len: usize = stored.iter().map(Vec::len).sum();
        let mb = raw as f64 / 1e6;
        println!(
            "| {codec:?} | {:.2} | {:.0} | {:.0} | {:.0} | {:.2}× |",
            raw as f64 / stored_len as f64,
            mb / compress_time.as_secs_f64(),
            mb / decompress_time.as_secs_f64(),
            mb / reused_time.as_secs_f64(),
            compress_time.as_secs_f64() / reused_time.as_secs_f64()
        );
    }
    println!("\n{raw} bytes of chunk content ({KEYS} records in {CHUNKS} chunks).");
}

fn main() {
    let root = bench_root("lab7-bench");
    println!("## Lab 7: incremental snapshots\n\n{}", machine(&root));
    // With arguments, only the sections named: `bytes`, `stall`, `restore`, `codecs`.
    let only: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |section: &str| only.is_empty() || only.iter().any(|s| s == section);
    if wanted("bytes") {
        bytes_written(&root);
    }
    if wanted("stall") {
        writer_stall(&root);
    }
    if wanted("restore") {
        restore_time(&root);
    }
    if wanted("codecs") {
        codecs();
    }
    let _ = std::fs::remove_dir_all(&root);
}
