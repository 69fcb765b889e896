//! Lab 2's benchmark: verifying a log on open, against a raw read of the same bytes, on the
//! real disk, in one run.
//!
//! Run it with `cargo run --release -p grader --example lab2_bench` (set `BENCH_DIR` to choose
//! the disk; the default is the system's temporary directory). It writes a 64 MiB log of
//! 4 KiB entries in 8 MiB segments with lab 1, then measures, best of 31 interleaved
//! runs (the machine may be shared; the best run is the one least disturbed):
//!
//! - a raw read of every segment file (`std::fs::read`): the floor;
//! - a raw read of every segment file in 256 KiB blocks into one reused buffer, with a CRC32
//!   of every byte: the least any verification of every byte costs, and the bound the scan is
//!   measured against;
//! - the same, but with one CRC32 per record-sized piece (salt, length, payload: what lab 1's
//!   format checksums) instead of one over everything: what checksumming each record
//!   separately costs on top of the bound;
//! - `lab2::scan`: read, then check every header, record CRC and index;
//! - `lab1::Wal::open`: lab 1's simpler recovery, for comparison;
//! - `lab2::recover` on the clean log (a scan, then lab 1's open);
//! - `lab2::scan` of the same log with one bad record in the middle of the last segment, which
//!   makes the scan search the rest of the segment for a valid record (resync).
//!
//! The files are read from the page cache after the first round, so the ratios measure the
//! CPU cost of verification against the cheapest possible read; on a cold cache the device's
//! read speed dominates both sides.

mod common;

use common::{bench_root, machine};

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use distributed::storage::Entry;
use distributed::vfs::{FsRef, StdFs};
use lab1::format::{ENTRY_HEADER_LEN, RECORD_HEADER_LEN};
use lab1::{SyncPolicy, Wal, WalOptions};
use lab2::RecoveryMode;

const DATA_LEN: usize = 4096;
const ENTRIES: u64 = 16_384; // 64 MiB of data
const SEGMENT_SIZE: u64 = 8 << 20;
const ROUNDS: usize = 31;

fn entry(index: u64) -> Entry {
    let data = (0..DATA_LEN).map(|i| (index as usize * 31 + i) as u8).collect::<Vec<_>>();
    Entry::new(index, 1 + index / 1000, data)
}

/// Writes the log under `root/name/wal` and returns the filesystem rooted at `root/name`.
fn write_log(root: &Path, name: &str) -> (FsRef, PathBuf) {
    let base = root.join(name);
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("create the benchmark directory");
    let fs: FsRef = Arc::new(StdFs::new(&base));
    let wal = Wal::open(Arc::clone(&fs), "wal", WalOptions { segment_size: SEGMENT_SIZE, sync: SyncPolicy::Never })
        .expect("open the log");
    for chunk in (1..=ENTRIES).collect::<Vec<_>>().chunks(256) {
        let batch: Vec<Entry> = chunk.iter().map(|&i| entry(i)).collect();
        wal.append(&batch).expect("append");
    }
    wal.sync().expect("sync");
    (fs, base.join("wal"))
}

fn raw_read(dir: &Path) -> u64 {
    let mut total = 0;
    for item in std::fs::read_dir(dir).expect("list the log") {
        let path = item.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "wal") {
            total += std::fs::read(&path).expect("read a segment").len() as u64;
        }
    }
    total
}

/// Reads every segment in blocks into one buffer and computes a CRC32 of every byte: what a
/// verification of every byte cannot do without.
fn raw_read_and_crc(dir: &Path) -> (u64, u32) {
    let mut buf = vec![0u8; 256 << 10];
    let (mut total, mut crc) = (0, 0);
    for item in std::fs::read_dir(dir).expect("list the log") {
        let path = item.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "wal") {
            let file = File::open(&path).expect("open a segment");
            let len = file.metadata().expect("a segment's length").len();
            let mut hasher = crc32fast::Hasher::new();
            let mut offset = 0;
            while offset < len {
                let n = buf.len().min((len - offset) as usize);
                file.read_exact_at(&mut buf[..n], offset).expect("read a segment");
                hasher.update(&buf[..n]);
                offset += n as u64;
            }
            total += len;
            crc ^= hasher.finalize();
        }
    }
    (total, crc)
}

/// Like [`raw_read_and_crc`], but with one CRC32 per record-sized piece of each block, each
/// salted with a first index and a length as lab 1's records are: the cost of the format's
/// per-record checksums without any parsing.
fn raw_read_and_record_crcs(dir: &Path) -> (u64, u32) {
    let record = (RECORD_HEADER_LEN + ENTRY_HEADER_LEN) as usize + DATA_LEN;
    let mut buf = vec![0u8; 256 << 10];
    let (mut total, mut crc) = (0, 0);
    for item in std::fs::read_dir(dir).expect("list the log") {
        let path = item.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "wal") {
            let file = File::open(&path).expect("open a segment");
            let len = file.metadata().expect("a segment's length").len();
            let mut offset = 0;
            while offset < len {
                let n = buf.len().min((len - offset) as usize);
                file.read_exact_at(&mut buf[..n], offset).expect("read a segment");
                for piece in buf[..n].chunks(record) {
                    let mut hasher = crc32fast::Hasher::new();
                    hasher.update(&offset.to_le_bytes());
                    hasher.update(&(piece.len() as u32).to_le_bytes());
                    hasher.update(&piece[piece.len().min(8)..]);
                    crc ^= hasher.finalize();
                }
                offset += n as u64;
            }
            total += len;
        }
    }
    (total, crc)
}

fn mib_per_second(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / elapsed.as_secs_f64()
}

fn best(rounds: &[Duration]) -> Duration {
    rounds.iter().copied().min().expect("at least one round")
}

fn main() {
    let root = bench_root("lab2-bench");
    let machine = machine(&root);

    let (fs, dir) = write_log(&root, "clean");
    let (damaged_fs, damaged_dir) = write_log(&root, "damaged");
    // One flipped byte in a record in the middle of the last segment.
    let last = lab2::scan(&damaged_fs, "wal").expect("scan").segments.last().expect("a segment").clone();
    let path = damaged_dir.join(&last.file_name);
    let mut bytes = std::fs::read(&path).expect("read the last segment");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, &bytes).expect("damage the last segment");

    let size = raw_read(&dir);
    let mut times: [Vec<Duration>; 7] = Default::default();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        assert_eq!(raw_read(&dir), size);
        times[0].push(start.elapsed());

        let start = Instant::now();
        assert_eq!(std::hint::black_box(raw_read_and_crc(&dir)).0, size);
        times[5].push(start.elapsed());

        let start = Instant::now();
        assert_eq!(std::hint::black_box(raw_read_and_record_crcs(&dir)).0, size);
        times[6].push(start.elapsed());

        let start = Instant::now();
        let report = lab2::scan(&fs, "wal").expect("scan");
        times[1].push(start.elapsed());
        assert!(report.is_clean() && report.last_consistent_index == ENTRIES);

        let start = Instant::now();
        let wal = Wal::open(Arc::clone(&fs), "wal", WalOptions::default()).expect("open");
        times[2].push(start.elapsed());
        assert_eq!(wal.last_index(), ENTRIES);
        drop(wal);

        let start = Instant::now();
        let recovery = lab2::recover(&fs, "wal", RecoveryMode::default()).expect("recover");
        times[3].push(start.elapsed());
        assert!(recovery.actions.is_empty());

        let start = Instant::now();
        let report = lab2::scan(&damaged_fs, "wal").expect("scan the damaged log");
        times[4].push(start.elapsed());
        assert!(!report.is_clean());
    }
    let _ = std::fs::remove_dir_all(&root);

    let raw = mib_per_second(size, best(&times[0]));
    let bound = mib_per_second(size, best(&times[5]));
    println!("Machine: {machine}");
    println!();
    println!(
        "Log: {} MiB in {} segments of {} MiB, {ENTRIES} entries of 4 KiB.",
        size >> 20,
        size.div_ceil(SEGMENT_SIZE),
        SEGMENT_SIZE >> 20
    );
    println!();
    println!("| measurement | MiB/s | raw read (MiB/s) | ratio to raw read | ratio to read + CRC |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| raw read + CRC32 of every byte, 256 KiB blocks (the bound) | {bound:.0} | {raw:.0} | {:.2}× | 1.00× |",
        bound / raw
    );
    let per_record = mib_per_second(size, best(&times[6]));
    println!(
        "| raw read + one CRC32 per record-sized piece, 256 KiB blocks | {per_record:.0} | {raw:.0} | {:.2}× | {:.2}× |",
        per_record / raw,
        per_record / bound
    );
    let rows = [
        "`lab2::scan` of a clean log",
        "`lab1::Wal::open` of the same log",
        "`lab2::recover` of the same log (scan + open)",
        "`lab2::scan` with a bad record mid-segment (resync)",
    ];
    for (row, times) in rows.iter().zip(&times[1..5]) {
        let rate = mib_per_second(size, best(times));
        println!("| {row} | {rate:.0} | {raw:.0} | {:.2}× | {:.2}× |", rate / raw, rate / bound);
    }
}
