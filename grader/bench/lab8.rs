//! Lab 8's benchmark: the engines behind one trait, on the real disk, in one run.
//!
//! `cargo run --release -p grader --example lab8_bench` (`BENCH_ENTRIES`, default 100 000;
//! `BENCH_DIR` for the disk to measure). For each engine: sequential apply throughput (batches
//! of 16 puts, a flush every 64 batches), random point reads, the time to reopen after all
//! entries (recovery), and bytes written per entry (the process's `wchar` from `/proc/self/io`:
//! every byte handed to `write`, by any thread, so fjall's background flushes and compactions
//! count too). The first row is raw device I/O: the same bytes appended to one file with the
//! same syncs, the bound no engine can beat. Writes `book/src/images/lab8-engines.svg`.

#[path = "common.rs"]
mod common;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use distributed::rng::TestRng;
use lab8::{Batch, DiskDir, Engine, FilesEngine, FilesOptions, FjallEngine, MemEngine, RedbEngine};

const BATCH: usize = 16;
const FLUSH_EVERY: usize = 64;
const VALUE: usize = 100;
const READS: usize = 20_000;

/// Bytes this process has handed to `write` so far.
fn wchar() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| io.lines().find_map(|l| l.strip_prefix("wchar:").map(|v| v.trim().parse().unwrap_or(0))))
        .unwrap_or(0)
}

fn key(i: u64) -> Vec<u8> {
    i.to_be_bytes().to_vec()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Mem,
    Files,
    Redb,
    Fjall,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Mem => "mem (model)",
            Kind::Files => "files (labs 1+3)",
            Kind::Redb => "redb (B-tree)",
            Kind::Fjall => "fjall (LSM)",
        }
    }
}

fn open(kind: Kind, disk: &DiskDir) -> Arc<dyn Engine> {
    match kind {
        Kind::Mem => Arc::new(MemEngine::new()),
        Kind::Files => Arc::new(
            FilesEngine::open(disk.vfs(), "files", FilesOptions { checkpoint_every: 2048, segment_size: 16 << 20 })
                .expect("open files"),
        ),
        Kind::Redb => Arc::new(RedbEngine::open(disk.vfs(), "redb/db").expect("open redb")),
        Kind::Fjall => Arc::new(FjallEngine::new(disk.open_fjall("fjall").expect("open fjall"))),
    }
}

struct Row {
    label: &'static str,
    apply_per_sec: f64,
    reads_per_sec: f64,
    recovery: Duration,
    bytes_per_entry: f64,
    on_disk: u64,
}

fn batches(entries: u64, seed: u64) -> Vec<Batch> {
    let mut rng = TestRng::new(seed);
    let mut out = Vec::new();
    let mut batch = Batch::new();
    for i in 0..entries {
        batch.put(key(i), rng.bytes(VALUE));
        if batch.len() == BATCH {
            out.push(std::mem::take(&mut batch));
        }
    }
    if !batch.is_empty() {
        out.push(batch);
    }
    out
}

fn measure(kind: Kind, root: &Path, batches: &[Batch], entries: u64) -> Row {
    let disk = DiskDir::temp_in(root).expect("temp dir");
    let engine = open(kind, &disk);
    let written_before = wchar();
    let start = Instant::now();
    for (i, batch) in batches.iter().enumerate() {
        engine.write(batch).expect("write");
        if (i + 1) % FLUSH_EVERY == 0 {
            engine.flush().expect("flush");
        }
    }
    engine.flush().expect("flush");
    let apply = start.elapsed();
    let bytes = wchar() - written_before;
    let mut rng = TestRng::new(8);
    let start = Instant::now();
    for _ in 0..READS {
        let k = key(rng.below(entries));
        assert!(engine.get(&k).expect("get").is_some(), "{kind:?}: a written key is missing");
    }
    let reads = start.elapsed();
    drop(engine);
    let start = Instant::now();
    let recovery = if kind == Kind::Mem {
        Duration::ZERO
    } else {
        let reopened = open(kind, &disk);
        assert!(reopened.get(&key(entries - 1)).expect("get").is_some(), "{kind:?}: the last key is lost on reopen");
        start.elapsed()
    };
    Row {
        label: kind.label(),
        apply_per_sec: common::per_second(entries, apply),
        reads_per_sec: common::per_second(READS as u64, reads),
        recovery,
        bytes_per_entry: bytes as f64 / entries as f64,
        on_disk: disk.bytes_used().unwrap_or(0),
    }
}

/// Raw device I/O: each batch's payload appended to one file, synced as often as the engines
/// flush. The bound on apply throughput and on bytes per entry.
fn raw(root: &Path, batches: &[Batch], entries: u64) -> Row {
    let disk = DiskDir::temp_in(root).expect("temp dir");
    let mut file = std::fs::File::create(disk.path().join("raw")).expect("create");
    let written_before = wchar();
    let start = Instant::now();
    for (i, batch) in batches.iter().enumerate() {
        let mut buf = Vec::new();
        for op in batch.ops() {
            if let lab8::BatchOp::Put { key, value } = op {
                buf.extend_from_slice(key);
                buf.extend_from_slice(value);
            }
        }
        file.write_all(&buf).expect("write");
        if (i + 1) % FLUSH_EVERY == 0 {
            file.sync_data().expect("sync");
        }
    }
    file.sync_data().expect("sync");
    let apply = start.elapsed();
    let bytes = wchar() - written_before;
    Row {
        label: "raw append + fdatasync",
        apply_per_sec: common::per_second(entries, apply),
        reads_per_sec: f64::NAN,
        recovery: Duration::ZERO,
        bytes_per_entry: bytes as f64 / entries as f64,
        on_disk: disk.bytes_used().unwrap_or(0),
    }
}

/// One horizontal bar chart per measure, two by two, as SVG: 700 px wide, so that the book
/// shows it unscaled and its 12 px labels stay 12 px.
fn svg(rows: &[Row], entries: u64) -> String {
    type Measure = Box<dyn Fn(&Row) -> f64>;
    let panels: [(&str, Measure); 4] = [
        ("apply, entries/s", Box::new(|r: &Row| r.apply_per_sec)),
        ("point reads/s", Box::new(|r: &Row| r.reads_per_sec)),
        ("reopen after all entries, ms", Box::new(|r: &Row| r.recovery.as_secs_f64() * 1e3)),
        ("bytes written per entry", Box::new(|r: &Row| r.bytes_per_entry)),
    ];
    let (label_w, panel_w, bar_h, top) = (170.0, 260.0, 18.0, 46.0);
    let block_h = bar_h * 1.4 * rows.len() as f64 + 36.0;
    let width = label_w + panel_w * 2.0 + 10.0;
    let height = top + block_h * 2.0 - 6.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"8\" y=\"16\" font-size=\"13\" font-weight=\"bold\">Lab 8 engines on the real disk, {entries} entries of {VALUE} B (batches of {BATCH}, flush every {FLUSH_EVERY})</text>\n"
    );
    for block in 0..2 {
        let y0 = top + block_h * block as f64;
        for (i, row) in rows.iter().enumerate() {
            let y = y0 + bar_h * 1.4 * i as f64;
            out += &format!("<text x=\"8\" y=\"{:.1}\">{}</text>\n", y + bar_h * 0.75, row.label);
        }
    }
    for (p, (title, value)) in panels.iter().enumerate() {
        let x0 = label_w + panel_w * (p % 2) as f64;
        let y0 = top + block_h * (p / 2) as f64;
        out += &format!("<text x=\"{x0:.1}\" y=\"{:.1}\" font-weight=\"bold\">{title}</text>\n", y0 - 10.0);
        let max = rows.iter().map(value).filter(|v| v.is_finite()).fold(0.0_f64, f64::max).max(1e-9);
        for (i, row) in rows.iter().enumerate() {
            let v = value(row);
            let y = y0 + bar_h * 1.4 * i as f64;
            if !v.is_finite() || v == 0.0 {
                out += &format!("<text x=\"{x0:.1}\" y=\"{:.1}\" fill=\"#888\">n/a</text>\n", y + bar_h * 0.75);
                continue;
            }
            let w = (panel_w - 70.0) * v / max;
            out += &format!(
                "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar_h:.1}\" fill=\"#4a7ab5\"/>\n\
                 <text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
                x0 + w + 4.0,
                y + bar_h * 0.75,
                short(v)
            );
        }
    }
    out += "</svg>\n";
    out
}

fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn main() {
    let entries: u64 = std::env::var("BENCH_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let root = common::bench_root("lab8");
    println!("# lab8 engines: {entries} entries of {VALUE} B, batches of {BATCH}, flush every {FLUSH_EVERY} batches");
    println!("# machine: {}", common::machine(&root));
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("# load average at start: {}", load.trim());
    }
    let batches = batches(entries, 0x8b);
    let mut rows = vec![raw(&root, &batches, entries)];
    for kind in [Kind::Mem, Kind::Files, Kind::Redb, Kind::Fjall] {
        rows.push(measure(kind, &root, &batches, entries));
    }
    println!(
        "{:<24} {:>14} {:>14} {:>12} {:>14} {:>12}",
        "engine", "apply entries/s", "reads/s", "reopen ms", "bytes/entry", "on disk MB"
    );
    for r in &rows {
        println!(
            "{:<24} {:>14.0} {:>14.0} {:>12.1} {:>14.1} {:>12.1}",
            r.label,
            r.apply_per_sec,
            r.reads_per_sec,
            r.recovery.as_secs_f64() * 1e3,
            r.bytes_per_entry,
            r.on_disk as f64 / 1e6
        );
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("# load average at end: {}", load.trim());
    }
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/images");
    let _ = std::fs::create_dir_all(&images);
    let path = images.join("lab8-engines.svg");
    std::fs::write(&path, svg(&rows, entries)).expect("write the SVG");
    println!("# plot: {}", path.display());
    let _ = std::fs::remove_dir_all(&root);
}
