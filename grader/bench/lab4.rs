//! Lab 4's benchmark: replay against applying the same entries in memory, and recovery time
//! as the log since the last snapshot grows, on the real disk, in one run.
//!
//! Run it with `cargo run --release -p grader --example lab4_bench` (set `BENCH_DIR` to choose
//! the disk; the default is the system's temporary directory). It prints a Markdown table and
//! writes the plot `book/src/images/lab4-recovery-time.svg` that the chapter shows:
//!
//! - **replay throughput**: `apply_committed` after `Replica::open`, which reads the entries
//!   from the log files (from the page cache: they were just written) and applies them, against
//!   the limit: the same entries, already read into memory, applied to a fresh `KvStore`, each
//!   output kept as replay keeps it for its caller. The ratio is the price of reading and
//!   decoding the log during replay; the goal for the reference is at least 0.7×. A second
//!   column applies them dropping each output at once, which is less work than replay's;
//! - **recovery time** (`open` + `apply_committed`) for 1k, 10k and 100k entries committed since
//!   the last snapshot, and the same logs after a snapshot covering all of them (the log is
//!   compacted; recovery restores the state and replays nothing).
//!
//! Ratios, not absolute numbers, carry from one machine to another: both sides of each ratio
//! ran on the same disk, in the same process, moments apart.

mod common;

use common::{bench_root, fresh_dir, machine, per_second};

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use distributed::rng::TestRng;
use distributed::storage::{Entry, StateMachineStorage};
use distributed::vfs::{FsRef, StdFs};
use lab1::{SyncPolicy, WalOptions};
use lab4::{Command, KvStore, Op, Replica, ReplicaOptions};

const SIZES: [u64; 3] = [1_000, 10_000, 100_000];

/// `count` entries of a workload like the tests': puts of 16–64 bytes and increments over a
/// thousand keys, a no-op now and then.
fn workload(count: u64) -> Vec<Entry> {
    let mut rng = TestRng::new(0x1ab4);
    (1..=count)
        .map(|index| {
            let key = format!("key{:04}", rng.below(1000));
            let op = match rng.below(10) {
                0..=5 => {
                    let len = 16 + rng.below(48) as usize;
                    Op::Put { key, value: rng.bytes(len) }
                }
                6..=8 => Op::Increment { key: format!("n{key}"), delta: 1 },
                _ => Op::Noop,
            };
            Entry::new(index, 1, Command::new(index, op).encode())
        })
        .collect()
}

fn options() -> ReplicaOptions {
    // Appends are synced once per commit below, as a follower that batches would.
    ReplicaOptions { wal: WalOptions { sync: SyncPolicy::Never, ..WalOptions::default() }, ..ReplicaOptions::default() }
}

fn open(dir: &Path) -> Replica<KvStore> {
    let fs: FsRef = Arc::new(StdFs::new(dir.to_path_buf()));
    Replica::open(fs, "replica", options(), KvStore::new()).expect("open the replica")
}

/// A replica directory holding `entries`, all committed, applied once, and (if `snapshot`)
/// covered by a snapshot that compacted the log.
fn prepare(root: &Path, name: &str, entries: &[Entry], snapshot: bool) -> PathBuf {
    let dir = fresh_dir(root, name);
    let mut replica = open(&dir);
    for chunk in entries.chunks(1000) {
        replica.append(chunk).expect("append");
        replica.commit(chunk[chunk.len() - 1].index).expect("commit");
    }
    replica.apply_committed().expect("apply");
    if snapshot {
        replica.take_snapshot().expect("snapshot");
    }
    dir
}

/// Open + replay of the replica in `dir`: (time to open, time to replay, entries replayed).
fn recover(dir: &Path) -> (Duration, Duration, u64) {
    let start = Instant::now();
    let mut replica = open(dir);
    let opened = start.elapsed();
    let start = Instant::now();
    let replayed = replica.apply_committed().expect("replay").len() as u64;
    (opened, start.elapsed(), replayed)
}

/// Reading the committed entries through the replica, in the batches replay uses, without
/// applying them: the part of replay that the limit does not pay.
fn read_only(dir: &Path, count: u64) -> Duration {
    let replica = open(dir);
    let start = Instant::now();
    let mut low = 1;
    while low <= count {
        let high = (low + 1024).min(count + 1);
        std::hint::black_box(replica.entries(low, high).expect("read"));
        low = high;
    }
    start.elapsed()
}

/// The limit: the entries already in memory, applied to a fresh state, each output kept until
/// the end as replay keeps it for its caller (`apply_committed` returns every output, which a
/// recovering replica owes the clients that asked).
fn apply_in_memory(entries: &[Entry]) -> Duration {
    let mut kv = KvStore::new();
    let start = Instant::now();
    let mut outputs = Vec::with_capacity(entries.len());
    for entry in entries {
        outputs.push(kv.apply(&entry.data).expect("apply"));
    }
    drop(std::hint::black_box(outputs));
    start.elapsed()
}

/// The same, each output dropped as soon as it is made: less than replay must do, since replay
/// hands every output back.
fn apply_in_memory_dropping_outputs(entries: &[Entry]) -> Duration {
    let mut kv = KvStore::new();
    let start = Instant::now();
    for entry in entries {
        std::hint::black_box(kv.apply(&entry.data).expect("apply"));
    }
    start.elapsed()
}

fn main() {
    let root = bench_root("lab4-bench");
    let mut rows = Vec::new();
    for &count in &SIZES {
        let entries = workload(count);
        let plain = prepare(&root, &format!("plain-{count}"), &entries, false);
        let snapped = prepare(&root, &format!("snap-{count}"), &entries, true);
        // Best of five interleaved rounds, so that neither side is favoured by what the page
        // cache and the allocator were doing at the time.
        let (mut open, mut replay, mut limit, mut dropping, mut with_snapshot, mut read) =
            (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            let (o, r, n) = recover(&plain);
            assert_eq!(n, count, "replay applies every committed entry");
            open = open.min(o);
            replay = replay.min(r);
            limit = limit.min(apply_in_memory(&entries));
            dropping = dropping.min(apply_in_memory_dropping_outputs(&entries));
            read = read.min(read_only(&plain, count));
            let (o, r, n) = recover(&snapped);
            assert_eq!(n, 0, "a snapshot covering the log leaves nothing to replay");
            with_snapshot = with_snapshot.min(o + r);
        }
        rows.push((count, open, replay, limit, dropping, with_snapshot, read));
    }
    println!("Machine: {}", machine(&root));
    let _ = std::fs::remove_dir_all(&root);
    println!();
    println!(
        "| entries since the snapshot | replay (entries/s) | in memory, log already read (entries/s) | ratio | in memory, outputs dropped (entries/s) | ratio to that | reading the log alone (entries/s) | open (ms) | recovery, no snapshot (ms) | recovery, snapshot covering them (ms) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &(count, open, replay, limit, dropping, with_snapshot, read) in &rows {
        println!(
            "| {count} | {:.0} | {:.0} | {:.2}× | {:.0} | {:.2}× | {:.0} | {:.1} | {:.1} | {:.1} |",
            per_second(count, replay),
            per_second(count, limit),
            limit.as_secs_f64() / replay.as_secs_f64(),
            per_second(count, dropping),
            dropping.as_secs_f64() / replay.as_secs_f64(),
            per_second(count, read),
            ms(open),
            ms(open + replay),
            ms(with_snapshot)
        );
    }
    let plot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/images/lab4-recovery-time.svg");
    let series: Vec<(u64, f64, f64)> = rows.iter().map(|&(n, o, r, _, _, s, _)| (n, ms(o + r), ms(s))).collect();
    std::fs::write(&plot, svg(&series)).expect("write the plot");
    println!("\nPlot written to {}", plot.display());
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// A log-log plot of recovery time against entries since the last snapshot, two series.
fn svg(points: &[(u64, f64, f64)]) -> String {
    let (width, height, left, right, top, bottom) = (660.0, 380.0, 80.0, 190.0, 40.0, 60.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let lo = points.iter().map(|p| p.1.min(p.2)).fold(f64::MAX, f64::min).max(1e-3);
    let hi = points.iter().map(|p| p.1.max(p.2)).fold(0.0, f64::max).max(lo * 10.0);
    let (y_min, y_max) = (lo.log10().floor(), hi.log10().ceil());
    let (x_min, x_max) = (3.0, 5.0);
    let x = |n: u64| left + ((n as f64).log10() - x_min) / (x_max - x_min) * plot_w;
    let y = |v: f64| top + plot_h - (v.max(1e-3).log10() - y_min) / (y_max - y_min) * plot_h;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">Recovery time (open + replay) against entries since the last snapshot</text>"#,
        width / 2.0
    );
    for decade in y_min as i32..=y_max as i32 {
        let v = 10f64.powi(decade);
        let yy = y(v);
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + plot_w,
            left - 8.0,
            yy + 4.0,
            if v >= 1.0 { format!("{v:.0} ms") } else { format!("{v} ms") }
        );
    }
    for &n in &SIZES {
        let xx = x(n);
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}k</text>"##,
            top + plot_h,
            top + plot_h + 20.0,
            n / 1000
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">committed entries since the last snapshot (log scale)</text>"#,
        left + plot_w / 2.0,
        height - 14.0
    );
    let _ =
        writeln!(out, r##"<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##);
    for (label, colour, pick) in [("no snapshot", "#c0392b", 1usize), ("snapshot covers them", "#2471a3", 2usize)] {
        let coords: Vec<(f64, f64)> = points.iter().map(|p| (x(p.0), y(if pick == 1 { p.1 } else { p.2 }))).collect();
        let path: Vec<String> = coords.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.5"/>"#,
            path.join(" ")
        );
        for (a, b) in coords {
            let _ = writeln!(out, r#"<circle cx="{a:.1}" cy="{b:.1}" r="4" fill="{colour}"/>"#);
        }
        let ly = if pick == 1 { top + 20.0 } else { top + 44.0 };
        let lx = left + plot_w + 14.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2.5"/><text x="{}" y="{}">{label}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0
        );
    }
    out.push_str("</svg>\n");
    out
}
