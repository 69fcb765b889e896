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
//!   durable), five interleaved rounds, medians; two diagnostic modes separate what the
//!   copy-on-write copies cost from what the save's CPU and disk cost, and a last line times
//!   one copy on its own;
//! - **restore time** of the newest snapshot from its chunks against a full snapshot of the
//!   same state in lab 3's store;
//! - **compression**: ratio and speed of each codec on the state's chunks.
//!
//! Ratios, not absolute numbers, carry from one machine to another.

mod common;

use common::{bench_root, fresh_dir, machine};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use distributed::rng::TestRng;
use distributed::storage::{SnapshotMeta, StateMachineStorage};
use distributed::vfs::{FsRef, StatsFs, StdFs};
use lab4::{Command, Op};
use lab7::format::{compress, decompress, encode_chunk};
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
    /// Lab 7's snapshot: freeze under the writers' lock, save outside it.
    CopyOnWrite,
    /// The save under the writers' lock, as lab 4's `take_snapshot` does.
    StopTheWorld,
    /// Diagnostic: freeze, then hold the frozen view for `HOLD` (a save on a fast disk), with
    /// no I/O and no compression: what the copy-on-write copies alone cost the writers, at
    /// their densest (most chunks are first written while the view is held).
    FreezeOnly,
    /// Diagnostic: a save of the same amount of dirty chunks from a state the writers do not
    /// share: what the CPU and the disk of a save alone cost the writers.
    SaveOnly,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::None => "no snapshot (baseline)",
            Mode::CopyOnWrite => "copy-on-write snapshot (lab 7)",
            Mode::StopTheWorld => "stop-the-world snapshot",
            Mode::FreezeOnly => "diagnostic: freeze, hold 20 ms, no save",
            Mode::SaveOnly => "diagnostic: save of an unshared state",
        }
    }
}

/// Writes per run, the pace of the writer, and how often the policy asks for a snapshot.
const STALL_WRITES: u64 = 100_000;
const STALL_PACE: Duration = Duration::from_micros(10);
const STALL_EVERY: u64 = 10_000;
/// How long `Mode::FreezeOnly` holds its frozen view.
const HOLD: Duration = Duration::from_millis(20);

/// One run's write latencies: those that started while a snapshot was running, and the rest.
struct StallRun {
    during: Vec<Duration>,
    outside: Vec<Duration>,
    snapshots: u64,
    save_time: Duration,
    /// Chunks written to by the writer while the save ran, summed over the snapshots: what a
    /// replica's `finish_snapshot` (lab 4's `take_snapshot`) then writes on the writer's thread.
    redirtied: u64,
}

/// The writer applies `STALL_WRITES` puts at a fixed pace (one every `STALL_PACE`, spinning,
/// so the timer's granularity does not pace it), each timed from before it takes the lock to
/// after it releases it. Every `STALL_EVERY` writes it asks the snapshot thread for a
/// snapshot at the current index (skipped if one is still running, as a policy would); in
/// `Mode::None` nothing answers. A write counts as "during" a snapshot if one was running when
/// it started.
fn stall_run(root: &std::path::Path, mode: Mode, round: usize) -> StallRun {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    let dir = fresh_dir(root, &format!("stall-{mode:?}-{round}"));
    let fs: FsRef = Arc::new(StdFs::new(dir));
    let store = ChunkStore::open(fs.clone(), "store", StoreOptions::default()).expect("open");
    let mut rng = TestRng::new(11);
    let loaded = loaded_state(&mut rng);
    // The steady state: a first full snapshot is durable and every chunk is clean.
    store.save_frozen(&loaded.freeze(), meta(KEYS)).expect("first save");
    let unshared: Vec<ChunkedKv> = if mode == Mode::SaveOnly {
        let image = loaded.full_image();
        (0..STALL_WRITES / STALL_EVERY)
            .map(|_| {
                let mut copy = ChunkedKv::with_chunks(CHUNKS);
                copy.restore(&image).expect("restore");
                copy
            })
            .collect()
    } else {
        Vec::new()
    };
    let state = Arc::new(Mutex::new(loaded));
    let running = Arc::new(AtomicBool::new(false));
    let (ask, asked) = mpsc::channel::<u64>();
    let snapshotter = (mode != Mode::None).then(|| {
        let (state, store, running, fs) = (state.clone(), store.clone(), running.clone(), fs.clone());
        std::thread::spawn(move || {
            let mut unshared = unshared.into_iter();
            let (mut taken, mut save_time, mut redirtied) = (0u64, Duration::ZERO, 0u64);
            for at in asked {
                let start = Instant::now();
                match mode {
                    Mode::CopyOnWrite => {
                        let frozen = state.lock().unwrap().freeze();
                        store.save_frozen(&frozen, meta(at)).expect("save");
                        redirtied += state.lock().unwrap().dirty_chunks().len() as u64;
                    }
                    Mode::StopTheWorld => {
                        let guard = state.lock().unwrap();
                        store.save_frozen(&guard.freeze(), meta(at)).expect("save");
                    }
                    Mode::FreezeOnly => {
                        let frozen = state.lock().unwrap().freeze();
                        std::thread::sleep(HOLD);
                        drop(frozen);
                    }
                    Mode::SaveOnly => {
                        let copy = unshared.next().expect("one unshared state per snapshot");
                        let shadow = ChunkStore::open(fs.clone(), format!("shadow-{at}"), StoreOptions::default())
                            .expect("open");
                        shadow.save_frozen(&copy.freeze(), meta(at)).expect("save");
                    }
                    Mode::None => unreachable!("no snapshot thread"),
                }
                save_time += start.elapsed();
                taken += 1;
                running.store(false, Ordering::SeqCst);
            }
            (taken, save_time, redirtied)
        })
    });
    let mut run =
        StallRun { during: Vec::new(), outside: Vec::new(), snapshots: 0, save_time: Duration::ZERO, redirtied: 0 };
    let entries: Vec<Vec<u8>> = (0..STALL_WRITES)
        .map(|i| {
            let key = rng.below(KEYS);
            put(&mut rng, key, KEYS + i + 1)
        })
        .collect();
    let began = Instant::now();
    for (i, entry) in entries.iter().enumerate() {
        let slot = began + STALL_PACE * i as u32;
        while Instant::now() < slot {
            std::hint::spin_loop();
        }
        let during = running.load(Ordering::SeqCst);
        let start = Instant::now();
        state.lock().unwrap().apply(entry).expect("apply");
        let latency = start.elapsed();
        if during {
            run.during.push(latency)
        } else {
            run.outside.push(latency)
        }
        let index = KEYS + i as u64 + 1;
        if mode != Mode::None && (i as u64 + 1).is_multiple_of(STALL_EVERY) && !running.load(Ordering::SeqCst) {
            running.store(true, Ordering::SeqCst);
            ask.send(index).expect("the snapshot thread is alive");
        }
    }
    drop(ask);
    if let Some(thread) = snapshotter {
        (run.snapshots, run.save_time, run.redirtied) = thread.join().expect("snapshot thread");
    }
    run
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

/// p99 of writes during a snapshot against writes with no snapshot running, five interleaved
/// rounds of every mode, medians reported.
fn writer_stall(root: &std::path::Path) {
    const ROUNDS: usize = 5;
    let modes = [Mode::None, Mode::CopyOnWrite, Mode::StopTheWorld, Mode::FreezeOnly, Mode::SaveOnly];
    // Per mode, one value per round: p50, p99, p99.9, max, p99 / the round's baseline p99,
    // writes measured, snapshots, mean save (ms), chunks re-dirtied per snapshot.
    let mut table: Vec<[Vec<f64>; 9]> = modes.iter().map(|_| Default::default()).collect();
    for round in 0..ROUNDS {
        let mut baseline = f64::NAN;
        for (m, &mode) in modes.iter().enumerate() {
            let mut run = stall_run(root, mode, round);
            let mut samples =
                if mode == Mode::None { std::mem::take(&mut run.outside) } else { std::mem::take(&mut run.during) };
            if samples.is_empty() {
                continue;
            }
            let [p50, p99, p999, max] = [0.50, 0.99, 0.999, 1.0].map(|p| micros(percentile(&mut samples, p)));
            if mode == Mode::None {
                baseline = p99;
            }
            let per_snapshot = |x: f64| if run.snapshots == 0 { 0.0 } else { x / run.snapshots as f64 };
            let values = [
                p50,
                p99,
                p999,
                max,
                p99 / baseline,
                samples.len() as f64,
                run.snapshots as f64,
                per_snapshot(micros(run.save_time) / 1e3),
                per_snapshot(run.redirtied as f64),
            ];
            for (column, value) in table[m].iter_mut().zip(values) {
                column.push(value);
            }
        }
    }
    println!("\n### Writer stall\n");
    println!(
        "{STALL_WRITES} puts per run, one every {} µs, a snapshot asked for every {STALL_EVERY} writes (skipped \
         while one runs), after a first full snapshot; a write is measured from before it takes the lock \
         to after it releases it, and counts as during a snapshot if one was running when it started. \
         Median of {ROUNDS} interleaved rounds.\n",
        STALL_PACE.as_micros()
    );
    println!(
        "| writes | measured | p50 | p99 | p99.9 | max | p99 / baseline p99 (same round) | snapshots | mean save | chunks re-dirtied |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (m, mode) in modes.iter().enumerate() {
        let [p50, p99, p999, max, ratio, count, snapshots, save, redirtied] = &mut table[m];
        if p50.is_empty() {
            continue;
        }
        println!(
            "| {} | {:.0} | {:.1} µs | {:.1} µs | {:.1} µs | {:.0} µs | {:.2}× | {:.0} | {:.0} ms | {:.0} |",
            mode.label(),
            median(count),
            median(p50),
            median(p99),
            median(p999),
            median(max),
            median(ratio),
            median(snapshots),
            median(save),
            median(redirtied)
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
    println!("| codec | ratio (raw / stored) | compress MB/s | decompress MB/s |");
    println!("|---|---:|---:|---:|");
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
            println!("| {codec:?} | not built: add `--features lab7/zstd` | | |");
            continue;
        }
        let rounds = 5;
        let start = Instant::now();
        let mut stored = Vec::new();
        for _ in 0..rounds {
            stored = contents.iter().map(|c| compress(c, codec).expect("compress")).collect::<Vec<_>>();
        }
        let compress_time = start.elapsed();
        let start = Instant::now();
        for _ in 0..rounds {
            for (s, c) in stored.iter().zip(&contents) {
                std::hint::black_box(decompress(s, codec.tag(), c.len()).expect("decompress"));
            }
        }
        let decompress_time = start.elapsed();
        let stored_len: usize = stored.iter().map(Vec::len).sum();
        let mb = (raw * rounds) as f64 / 1e6;
        println!(
            "| {codec:?} | {:.2} | {:.0} | {:.0} |",
            raw as f64 / stored_len as f64,
            mb / compress_time.as_secs_f64(),
            mb / decompress_time.as_secs_f64()
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
