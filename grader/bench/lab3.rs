//! Lab 3's benchmark: a snapshot save against raw I/O of the same bytes, on the real disk, in
//! one run.
//!
//! Run it with `cargo run --release -p grader --example lab3_bench` (set `BENCH_DIR` to choose
//! the disk; the default is the system's temporary directory). For snapshots of 4 KiB, 1 MiB
//! and 16 MiB it prints a Markdown table of:
//!
//! - `SnapshotStore::save` (keep = 2, so every save after the second also removes one file)
//!   against raw `write()` + `fdatasync()` of the same file bytes to a fresh file: the whole
//!   price of atomicity and verification;
//! - the same save against a hand-written atomic replace (write a temporary file,
//!   `fdatasync`, rename, fsync the directory): the store's own overhead (the read-back,
//!   retention) beyond the protocol's unavoidable syncs;
//! - `latest()` against a raw read of the same bytes: the price of verifying on every read.
//!
//! Ratios, not absolute numbers, carry from one machine to another: both sides of each ratio
//! ran on the same disk, minutes apart.

mod common;

use common::{bench_root, fresh_dir, machine, per_second};

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use distributed::storage::{Snapshot, SnapshotMeta};
use distributed::vfs::{FsRef, StdFs};
use lab3::{SnapshotStore, StoreOptions};

fn snapshot(index: u64, len: usize) -> Snapshot {
    let data = (0..len).map(|i| (i as u64 * 31 + index) as u8).collect();
    Snapshot { meta: SnapshotMeta { last_index: index, last_term: 1 }, data }
}

fn sync_dir(dir: &Path) {
    File::open(dir).and_then(|d| d.sync_all()).expect("fsync the directory");
}

/// Saves per second through the store.
fn store_saves(root: &Path, len: usize, count: u64) -> (f64, f64) {
    let dir = fresh_dir(root, &format!("store-{len}"));
    let fs: FsRef = Arc::new(StdFs::new(dir));
    let store = SnapshotStore::open(fs, "snap", StoreOptions { keep: 2 }).expect("open the store");
    let snapshots: Vec<Snapshot> = (1..=count).map(|i| snapshot(i, len)).collect();
    let start = Instant::now();
    for s in &snapshots {
        store.save(s).expect("save");
    }
    let saves = per_second(count, start.elapsed());
    let start = Instant::now();
    for _ in 0..count {
        std::hint::black_box(store.latest().expect("latest"));
    }
    (saves, per_second(count, start.elapsed()))
}

/// Raw `write()` + `fdatasync()` of the same file bytes, each to a fresh file.
fn raw_writes(root: &Path, len: usize, count: u64) -> (f64, f64) {
    let dir = fresh_dir(root, &format!("raw-{len}"));
    let files: Vec<Vec<u8>> = (1..=count).map(|i| lab3::format::encode_snapshot(&snapshot(i, len))).collect();
    let start = Instant::now();
    for (i, bytes) in files.iter().enumerate() {
        let mut file =
            OpenOptions::new().create(true).write(true).truncate(true).open(dir.join(format!("{i}"))).unwrap();
        file.write_all(bytes).unwrap();
        file.sync_data().unwrap();
    }
    let writes = per_second(count, start.elapsed());
    let start = Instant::now();
    for i in 0..count {
        // `fs::read` sizes its buffer from the file's length: one allocation, one copy.
        std::hint::black_box(std::fs::read(dir.join(format!("{i}"))).unwrap());
    }
    (writes, per_second(count, start.elapsed()))
}

/// The atomic-replace protocol by hand: temporary file, fdatasync, rename, fsync the directory.
fn raw_atomic(root: &Path, len: usize, count: u64) -> f64 {
    let dir = fresh_dir(root, &format!("atomic-{len}"));
    let files: Vec<Vec<u8>> = (1..=count).map(|i| lab3::format::encode_snapshot(&snapshot(i, len))).collect();
    let start = Instant::now();
    for (i, bytes) in files.iter().enumerate() {
        let tmp = dir.join(format!("{i}.tmp"));
        let mut file = OpenOptions::new().create(true).write(true).truncate(true).open(&tmp).unwrap();
        file.write_all(bytes).unwrap();
        file.sync_data().unwrap();
        std::fs::rename(&tmp, dir.join(format!("{i}"))).unwrap();
        sync_dir(&dir);
    }
    per_second(count, start.elapsed())
}

fn main() {
    let root = bench_root("lab3-bench");
    let label = |len: usize| match len {
        l if l >= 1 << 20 => format!("{} MiB", l >> 20),
        l => format!("{} KiB", l >> 10),
    };
    let mut rows = Vec::new();
    for (len, count) in [(4 << 10, 100u64), (1 << 20, 30), (16 << 20, 6)] {
        // Best of three interleaved rounds each, so that neither side is favoured by what the
        // page cache and the disk were doing at the time.
        let (mut save, mut latest, mut raw_write, mut raw_read, mut atomic) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for _ in 0..3 {
            let (s, l) = store_saves(&root, len, count);
            let (w, r) = raw_writes(&root, len, count);
            let a = raw_atomic(&root, len, count);
            (save, latest, raw_write, raw_read, atomic) =
                (save.max(s), latest.max(l), raw_write.max(w), raw_read.max(r), atomic.max(a));
        }
        rows.push((label(len), save, latest, raw_write, raw_read, atomic));
    }
    println!("Machine: {}", machine(&root));
    let _ = std::fs::remove_dir_all(&root);
    println!();
    println!(
        "| snapshot size | save (/s) | raw write + fdatasync (/s) | ratio | atomic replace by hand (/s) | ratio | latest() vs raw read |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (size, save, latest, raw_write, raw_read, atomic) in rows {
        println!(
            "| {size} | {save:.0} | {raw_write:.0} | {:.2}× | {atomic:.0} | {:.2}× | {:.2}× |",
            save / raw_write,
            save / atomic,
            latest / raw_read
        );
    }
}
