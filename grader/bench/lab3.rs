//! Lab 3's benchmark: a snapshot save against raw I/O of the same bytes, on the real disk, in
//! one run.
//!
//! Run it with `cargo run --release -p grader --example lab3_bench` (set `BENCH_DIR` to choose
//! the disk; the default is the system's temporary directory). For snapshots of 4 KiB, 1 MiB
//! and 16 MiB it prints a Markdown table of:
//!
//! - `SnapshotStore::save` (keep = 2, so every save after the second also retires one file)
//!   against raw `write()` + `fdatasync()` of the same file bytes to a fresh file: the whole
//!   price of atomicity and verification;
//! - the same save against a hand-written atomic replace (write a temporary file,
//!   `fdatasync`, rename, fsync the directory, and never remove anything): what the store
//!   does beyond the protocol's own syncs (the read-back, retention);
//! - the same save against the whole guarantee written by hand with raw system calls: the
//!   atomic replace, plus the read-back and comparison before the rename, plus retention
//!   (the file beyond `keep` renamed out of the way and kept for the next save to overwrite,
//!   as the reference does, and a second directory `fsync`). Against the atomic replace, it
//!   says what the guarantee costs on this disk; the store against it, the store's own
//!   overhead;
//! - `latest()` against a raw read of the same bytes, and against a raw read plus a CRC32 of
//!   every byte: the least that verifying on every read can cost.
//!
//! The variants take turns one operation at a time (a save through the store, then one by each
//! hand-written protocol, then the store again...), and each rate is one over the median time
//! of an operation: on a machine shared with other work, a burst of someone else's I/O then
//! lands on all sides alike, and the median ignores it. Ratios, not absolute numbers, carry
//! from one machine to another: both sides of each ratio ran on the same disk, side by side.

mod common;

use common::{bench_root, fresh_dir, machine};

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Raw `write()` + `fdatasync()` of the file bytes to a fresh file `dir/i`.
fn raw_write(dir: &Path, i: usize, bytes: &[u8]) {
    let mut file = OpenOptions::new().create(true).write(true).truncate(true).open(dir.join(format!("{i}"))).unwrap();
    file.write_all(bytes).unwrap();
    file.sync_data().unwrap();
}

/// The atomic-replace protocol by hand: temporary file, fdatasync, rename, fsync the directory.
/// Nothing is ever removed.
fn raw_atomic(dir: &Path, i: usize, bytes: &[u8]) {
    let tmp = dir.join(format!("{i}.tmp"));
    let mut file = OpenOptions::new().create(true).write(true).truncate(true).open(&tmp).unwrap();
    file.write_all(bytes).unwrap();
    file.sync_data().unwrap();
    std::fs::rename(&tmp, dir.join(format!("{i}"))).unwrap();
    sync_dir(dir);
}

/// The store's guarantee by hand: a temporary file (the spare left by retention, if any, cut to
/// length and overwritten), `fdatasync`, read back and compare, rename, fsync the directory;
/// then the file beyond `keep` = 2 renamed to the spare, and the directory synced again.
fn raw_guarantee(dir: &Path, i: usize, bytes: &[u8], back: &mut [u8]) {
    let spare = dir.join("spare");
    let tmp = dir.join(format!("{i}.tmp"));
    if spare.exists() {
        std::fs::rename(&spare, &tmp).unwrap();
    }
    let file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&tmp).unwrap();
    file.set_len(bytes.len() as u64).unwrap();
    file.write_all_at(bytes, 0).unwrap();
    file.sync_data().unwrap();
    let mut offset = 0;
    for want in bytes.chunks(back.len()) {
        let got = &mut back[..want.len()];
        file.read_exact_at(got, offset).unwrap();
        assert!(got == want, "read back differently");
        offset += want.len() as u64;
    }
    drop(file);
    std::fs::rename(&tmp, dir.join(format!("{i}"))).unwrap();
    sync_dir(dir);
    if i >= 2 {
        std::fs::rename(dir.join(format!("{}", i - 2)), &spare).unwrap();
        sync_dir(dir);
    }
}

/// Times `op` and adds the duration to `times`.
fn timed(times: &mut Vec<Duration>, op: impl FnOnce()) {
    let start = Instant::now();
    op();
    times.push(start.elapsed());
}

/// Operations per second at the median duration.
fn rate(times: &mut [Duration]) -> f64 {
    times.sort();
    1.0 / times[times.len() / 2].as_secs_f64()
}

/// The rates of one snapshot size.
struct Row {
    save: f64,
    raw_write: f64,
    atomic: f64,
    guarantee: f64,
    latest: f64,
    raw_read: f64,
    raw_read_crc: f64,
}

/// Runs every variant `count` times for snapshots of `len` bytes, taking turns.
fn measure(root: &Path, len: usize, count: usize) -> Row {
    let dirs: Vec<PathBuf> =
        ["store", "raw", "atomic", "guarantee"].iter().map(|name| fresh_dir(root, &format!("{name}-{len}"))).collect();
    let fs: FsRef = Arc::new(StdFs::new(&dirs[0]));
    let store = SnapshotStore::open(fs, "snap", StoreOptions { keep: 2 }).expect("open the store");
    let mut back = vec![0u8; 256 << 10];
    let mut times: [Vec<Duration>; 7] = Default::default();
    for i in 0..count {
        let s = snapshot(i as u64 + 1, len);
        let bytes = lab3::format::encode_snapshot(&s);
        // Rotate who goes first, so that no variant always follows the same one.
        for turn in 0..4 {
            match (turn + i) % 4 {
                0 => timed(&mut times[0], || store.save(&s).expect("save")),
                1 => timed(&mut times[1], || raw_write(&dirs[1], i, &bytes)),
                2 => timed(&mut times[2], || raw_atomic(&dirs[2], i, &bytes)),
                _ => timed(&mut times[3], || raw_guarantee(&dirs[3], i, &bytes, &mut back)),
            }
        }
    }
    let newest = dirs[1].join(format!("{}", count - 1));
    for i in 0..count {
        for turn in 0..3 {
            match (turn + i) % 3 {
                0 => timed(&mut times[4], || {
                    std::hint::black_box(store.latest().expect("latest"));
                }),
                // `fs::read` sizes its buffer from the file's length: one allocation, one copy.
                1 => timed(&mut times[5], || {
                    std::hint::black_box(std::fs::read(&newest).unwrap());
                }),
                _ => timed(&mut times[6], || {
                    std::hint::black_box(crc32fast::hash(&std::fs::read(&newest).unwrap()));
                }),
            }
        }
    }
    let [save, raw_write, atomic, guarantee, latest, raw_read, raw_read_crc] = &mut times;
    Row {
        save: rate(save),
        raw_write: rate(raw_write),
        atomic: rate(atomic),
        guarantee: rate(guarantee),
        latest: rate(latest),
        raw_read: rate(raw_read),
        raw_read_crc: rate(raw_read_crc),
    }
}

fn main() {
    let root = bench_root("lab3-bench");
    let label = |len: usize| match len {
        l if l >= 1 << 20 => format!("{} MiB", l >> 20),
        l => format!("{} KiB", l >> 10),
    };
    let mut rows = Vec::new();
    for (len, count) in [(4 << 10, 200), (1 << 20, 60), (16 << 20, 20)] {
        rows.push((label(len), measure(&root, len, count)));
    }
    println!("Machine: {}", machine(&root));
    let _ = std::fs::remove_dir_all(&root);
    println!();
    println!(
        "| snapshot size | save (/s) | raw write + fdatasync (/s) | ratio | atomic replace by hand (/s) | ratio | latest() vs raw read | the guarantee by hand (/s) | save vs it | it vs atomic replace | latest() vs raw read + CRC |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (size, b) in rows {
        println!(
            "| {size} | {:.0} | {:.0} | {:.2}× | {:.0} | {:.2}× | {:.2}× | {:.0} | {:.2}× | {:.2}× | {:.2}× |",
            b.save,
            b.raw_write,
            b.save / b.raw_write,
            b.atomic,
            b.save / b.atomic,
            b.latest / b.raw_read,
            b.guarantee,
            b.save / b.guarantee,
            b.guarantee / b.atomic,
            b.latest / b.raw_read_crc,
        );
    }
}
