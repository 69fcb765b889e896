//! Lab 7's benchmark: incremental snapshots against what they promise, on the real disk, in
//! one run.
//!
//! Run it with `cargo run --release -p grader --example lab7_bench` (add
//! `--features lab7/zstd` to include Zstandard, which builds its C library; set `BENCH_DIR` to
//! choose the disk). It prints Markdown tables of:
//!
//! - **bytes written per snapshot** (counted by the kit's `StatsFs` under the store) against the
//!   bytes of the changed chunks' files plus the manifest: the overhead of the protocol beyond
//!   the data it must write (goal ≤ 1.05×), and against a full snapshot of the same state;
//! - **writer stall**: the 99th percentile of one write's latency while snapshots run on
//!   another thread, against writes with no snapshot running (goal ≤ 2×), and the same with a
//!   stop-the-world snapshot (the writer waits for the whole save, as lab 4's does);
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

/// p99 write latency with snapshots running on another thread, against none.
fn writer_stall(root: &std::path::Path) {
    println!("\n### Writer stall\n");
    println!("| snapshots | writes | p50 | p99 | p99 / p99 with no snapshot | snapshots taken |");
    println!("|---|---:|---:|---:|---:|---:|");
    let writes = 40_000u64;
    let mut baseline = None;
    for mode in ["none", "copy-on-write (lab 7)", "stop-the-world"] {
        let dir = fresh_dir(root, &format!("stall-{}", mode.split(' ').next().unwrap()));
        let fs: FsRef = Arc::new(StdFs::new(dir));
        let store = ChunkStore::open(fs, "store", StoreOptions::default()).expect("open");
        let mut rng = TestRng::new(11);
        let state = Arc::new(Mutex::new(loaded_state(&mut rng)));
        let index = Arc::new(std::sync::atomic::AtomicU64::new(KEYS));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let snapshotter = (mode != "none").then(|| {
            let (state, store, done, index) = (state.clone(), store.clone(), done.clone(), index.clone());
            let stop_the_world = mode == "stop-the-world";
            std::thread::spawn(move || {
                let mut taken = 0u64;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let at = index.load(std::sync::atomic::Ordering::Relaxed);
                    if stop_the_world {
                        let guard = state.lock().unwrap();
                        store.save_frozen(&guard.freeze(), meta(at)).expect("save");
                    } else {
                        let frozen = state.lock().unwrap().freeze();
                        store.save_frozen(&frozen, meta(at)).expect("save");
                    }
                    taken += 1;
                }
                taken
            })
        });
        let mut samples = Vec::with_capacity(writes as usize);
        for i in 0..writes {
            let key = rng.below(KEYS);
            let entry = put(&mut rng, key, KEYS + i);
            let start = Instant::now();
            {
                let mut guard = state.lock().unwrap();
                guard.apply(&entry).expect("apply");
                index.store(KEYS + i + 1, std::sync::atomic::Ordering::Relaxed);
            }
            samples.push(start.elapsed());
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let taken = snapshotter.map_or(0, |t| t.join().expect("snapshot thread"));
        let p50 = percentile(&mut samples, 0.50);
        let p99 = percentile(&mut samples, 0.99);
        let base = *baseline.get_or_insert(p99);
        println!(
            "| {mode} | {writes} | {:.1} µs | {:.1} µs | {:.2}× | {taken} |",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            p99.as_secs_f64() / base.as_secs_f64()
        );
    }
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
    bytes_written(&root);
    writer_stall(&root);
    restore_time(&root);
    codecs();
    let _ = std::fs::remove_dir_all(&root);
}
