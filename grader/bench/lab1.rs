//! Lab 1's benchmark: the log against raw I/O of the same bytes, on the real disk, in one run.
//!
//! Run it with `cargo run --release -p grader --example lab1_bench` (set `BENCH_DIR` to choose
//! the disk; the default is the system's temporary directory). It prints a Markdown table of
//! throughputs and ratios:
//!
//! - unsynced appends of 4 KiB entries against `write()` of the same record bytes, one record
//!   per call and in 256 KiB chunks;
//! - appends synced one by one against `write()` + `fdatasync()` of the same bytes;
//! - group commit with 1, 4 and 16 writers against one synced writer, and 4 and 16 writers
//!   against the physical limit of syncing 4 and 16 records at a time (one `write()` of the
//!   batch, one `fdatasync()`), and against 4 and 16 threads that each `pwrite()` their own
//!   record and share one `fdatasync()` per batch through a barrier (the limit for any log
//!   that takes one thread per append).
//!
//! The synced rows are the median of five interleaved rounds.
//!
//! Ratios, not absolute numbers, are what carry from one machine to another: both sides of
//! each ratio ran on the same disk, minutes apart.

mod common;

use common::{bench_root, fresh_dir, machine, per_second};

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use distributed::storage::Entry;
use distributed::vfs::{FsRef, StatsFs, StdFs};
use lab1::{SyncPolicy, Wal, WalError, WalOptions};

const DATA_LEN: usize = 4096;
const UNSYNCED_ENTRIES: u64 = 16_384; // 64 MiB of data
const SYNCED_ENTRIES: u64 = 200;
const GROUP_APPENDS: u64 = 960;
const ROUNDS: usize = 5;

fn entry(index: u64) -> Entry {
    let mut data = vec![0u8; DATA_LEN];
    for (i, byte) in data.iter_mut().enumerate() {
        *byte = (index as usize * 31 + i) as u8;
    }
    Entry::new(index, 1, data)
}

fn open_wal(root: &Path, name: &str, sync: SyncPolicy) -> Wal {
    open_wal_on(Arc::new(StdFs::new(fresh_dir(root, name))), sync)
}

fn open_wal_on(fs: FsRef, sync: SyncPolicy) -> Wal {
    // One segment holds the whole workload: a rollover syncs the segment it seals, whatever
    // the policy, and that sync is not part of what the raw baseline does.
    Wal::open(fs, "wal", WalOptions { segment_size: 1 << 30, sync }).expect("open the log")
}

/// The exact bytes the log writes for `entries` entries (one segment: header + records).
fn record_bytes(count: u64) -> Vec<Vec<u8>> {
    (1..=count).map(|i| lab1::format::encode_record(1, &entry(i))).collect()
}

fn raw_file(root: &Path, name: &str) -> File {
    let dir = fresh_dir(root, name);
    OpenOptions::new().create(true).write(true).truncate(true).open(dir.join("raw")).expect("create the raw file")
}

/// Best of three interleaved runs each, so that neither side is favoured by what the page
/// cache and the disk were doing at the time.
fn unsynced(root: &Path) -> (f64, f64, f64) {
    let records = record_bytes(UNSYNCED_ENTRIES);
    let entries: Vec<Entry> = (1..=UNSYNCED_ENTRIES).map(entry).collect();
    let chunks: Vec<Vec<u8>> = records.chunks(64).map(|group| group.concat()).collect();
    let (mut best_wal, mut best_raw, mut best_chunked) = (0.0f64, 0.0f64, 0.0f64);
    for round in 0..3 {
        let mut raw = raw_file(root, &format!("raw-unsynced-{round}"));
        let start = Instant::now();
        for record in &records {
            raw.write_all(record).expect("raw write");
        }
        best_raw = best_raw.max(per_second(UNSYNCED_ENTRIES, start.elapsed()));
        drop(raw);

        let mut raw = raw_file(root, &format!("raw-chunked-{round}"));
        let start = Instant::now();
        for chunk in &chunks {
            raw.write_all(chunk).expect("raw write");
        }
        best_chunked = best_chunked.max(per_second(UNSYNCED_ENTRIES, start.elapsed()));
        drop(raw);
        let _ = std::fs::remove_dir_all(root.join(format!("raw-chunked-{round}")));

        let wal = open_wal(root, &format!("wal-unsynced-{round}"), SyncPolicy::Never);
        let start = Instant::now();
        for e in &entries {
            wal.append(std::slice::from_ref(e)).expect("append");
        }
        best_wal = best_wal.max(per_second(UNSYNCED_ENTRIES, start.elapsed()));
        drop(wal);
        let _ = std::fs::remove_dir_all(root.join(format!("raw-unsynced-{round}")));
        let _ = std::fs::remove_dir_all(root.join(format!("wal-unsynced-{round}")));
    }
    (best_wal, best_raw, best_chunked)
}

/// Appends per second of `count` records written and synced `batch` at a time with raw
/// `write()` + `fdatasync()`: the physical limit for `batch` appends sharing one sync.
fn raw_synced(root: &Path, records: &[Vec<u8>], batch: usize) -> f64 {
    let mut raw = raw_file(root, &format!("raw-synced-{batch}"));
    let start = Instant::now();
    for group in records.chunks(batch) {
        raw.write_all(&group.concat()).expect("raw write");
        raw.sync_data().expect("raw fdatasync");
    }
    per_second(records.len() as u64, start.elapsed())
}

/// Appends per second of `writers` threads that each write their own records (one `pwrite` per
/// record) and wait for a sync, where the last thread of each batch to write syncs for all of
/// them: a hand-written barrier that knows how many writers there are. It pays what any log
/// with a thread per append pays (a wake-up and a system call per writer per batch) and nothing
/// else: the limit for group commit under this benchmark's shape.
fn raw_threads(root: &Path, records: &[Vec<u8>], writers: usize) -> f64 {
    let file = raw_file(root, &format!("raw-threads-{writers}"));
    let record_len = records[0].len() as u64;
    let per_writer = records.len() / writers;
    // (records written in the current batch, batches synced)
    let batch = Mutex::new((0usize, 0u64));
    let synced = Condvar::new();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let (file, batch, synced) = (&file, &batch, &synced);
            scope.spawn(move || {
                for k in 0..per_writer {
                    let n = k * writers + writer;
                    file.write_all_at(&records[n], n as u64 * record_len).expect("raw pwrite");
                    let mut state = batch.lock().expect("batch lock");
                    let generation = state.1;
                    state.0 += 1;
                    if state.0 == writers {
                        state.0 = 0;
                        drop(state);
                        file.sync_data().expect("raw fdatasync");
                        batch.lock().expect("batch lock").1 += 1;
                        synced.notify_all();
                    } else {
                        while state.1 == generation {
                            state = synced.wait(state).expect("batch lock");
                        }
                    }
                }
            });
        }
    });
    per_second((per_writer * writers) as u64, start.elapsed())
}

/// Appends per second under `EveryAppend`, one writer.
fn wal_synced(root: &Path, round: usize) -> f64 {
    let wal = open_wal(root, &format!("wal-synced-{round}"), SyncPolicy::EveryAppend);
    let entries: Vec<Entry> = (1..=SYNCED_ENTRIES + 1).map(entry).collect();
    // The first append creates the first segment (a file and a directory sync); the raw
    // baseline's file exists before its clock starts, so the log's does too.
    wal.append(&entries[..1]).expect("append");
    let entries = &entries[1..];
    let start = Instant::now();
    for e in entries {
        wal.append(std::slice::from_ref(e)).expect("append");
    }
    per_second(SYNCED_ENTRIES, start.elapsed())
}

/// Appends at the next free index, retrying when another writer took it.
fn append_next(wal: &Wal, data: &[u8]) {
    loop {
        let e = Entry::new(wal.last_index() + 1, 1, data.to_vec());
        match wal.append(std::slice::from_ref(&e)) {
            Ok(()) => return,
            // Another writer took the index: let it run rather than spin on two cores.
            Err(WalError::NotContiguous { .. }) => std::thread::yield_now(),
            Err(other) => panic!("append failed: {other}"),
        }
    }
}

/// Appends per second with `writers` threads under group commit, and appends per file sync.
fn group_commit(root: &Path, writers: u64) -> (f64, f64) {
    let stats = StatsFs::new(Arc::new(StdFs::new(fresh_dir(root, &format!("wal-group-{writers}")))));
    let wal = open_wal_on(Arc::new(stats.clone()), SyncPolicy::GroupCommit);
    let data = entry(0).data;
    let per_writer = if writers == 1 { SYNCED_ENTRIES } else { GROUP_APPENDS / writers };
    // The first segment exists before the clock starts, as the baselines' files do.
    append_next(&wal, &data);
    let syncs_before = stats.stats().total().syncs;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..writers {
            scope.spawn(|| {
                for _ in 0..per_writer {
                    append_next(&wal, &data);
                }
            });
        }
    });
    let appends = per_writer * writers;
    let syncs = stats.stats().total().syncs - syncs_before;
    (per_second(appends, start.elapsed()), appends as f64 / syncs.max(1) as f64)
}

/// The synced measurements of one round, each side of each ratio moments apart.
struct Round {
    raw: f64,
    wal: f64,
    raw_batches: [(usize, f64); 2],
    raw_threads: Vec<(usize, f64)>,
    groups: Vec<(u64, (f64, f64))>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let root = bench_root("lab1-bench");

    let (wal_unsynced, raw_unsynced, raw_chunked) = unsynced(&root);
    // Synced rows: ROUNDS interleaved rounds, each ratio taken within its round, the median
    // reported: the latency of `fdatasync` on a shared virtual disk wanders from second to
    // second, and interleaving puts both sides of a ratio in the same weather.
    let records = record_bytes(GROUP_APPENDS);
    let rounds: Vec<Round> = (0..ROUNDS)
        .map(|round| {
            // Each log measurement right after its baseline.
            let raw = raw_synced(&root, &records[..SYNCED_ENTRIES as usize], 1);
            let wal = wal_synced(&root, round);
            let mut groups = vec![(1, group_commit(&root, 1))];
            let mut threaded = Vec::new();
            let raw_batches = [4, 16].map(|batch| {
                let rate = raw_synced(&root, &records, batch);
                groups.push((batch as u64, group_commit(&root, batch as u64)));
                threaded.push((batch, raw_threads(&root, &records, batch)));
                (batch, rate)
            });
            Round { raw, wal, raw_batches, raw_threads: threaded, groups }
        })
        .collect();
    let _ = std::fs::remove_dir_all(&root);

    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let group = |r: &Round, writers: u64| r.groups.iter().find(|(w, _)| *w == writers).map_or(0.0, |(_, g)| g.0);
    let per_sync = |r: &Round, writers: u64| r.groups.iter().find(|(w, _)| *w == writers).map_or(0.0, |(_, g)| g.1);
    let batch = |r: &Round, size: usize| r.raw_batches.iter().find(|(b, _)| *b == size).map_or(0.0, |(_, rate)| *rate);
    let threads =
        |r: &Round, size: usize| r.raw_threads.iter().find(|(b, _)| *b == size).map_or(0.0, |(_, rate)| *rate);
    let (wal_synced, raw_synced) = (med(&|r| r.wal), med(&|r| r.raw));

    println!("Machine: {}", machine(&root));
    println!();
    println!("Synced rows: median of {ROUNDS} interleaved rounds (rates, and each ratio computed within its round).");
    println!();
    println!("| measurement | log (appends/s) | baseline (appends/s) | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| unsynced appends of 4 KiB vs raw `write()` | {wal_unsynced:.0} | {raw_unsynced:.0} | {:.2}× |",
        wal_unsynced / raw_unsynced
    );
    println!(
        "| unsynced appends of 4 KiB vs raw `write()` in 256 KiB chunks | {wal_unsynced:.0} | {raw_chunked:.0} | {:.2}× |",
        wal_unsynced / raw_chunked
    );
    println!(
        "| appends synced one by one vs raw `write()` + `fdatasync()` | {wal_synced:.0} | {raw_synced:.0} | {:.2}× |",
        med(&|r| r.wal / r.raw)
    );
    for writers in [1, 4, 16] {
        println!(
            "| group commit, {writers} writer{} ({:.1} appends per sync) vs one synced writer | {:.0} | {wal_synced:.0} | {:.2}× |",
            if writers == 1 { "" } else { "s" },
            med(&|r| per_sync(r, writers)),
            med(&|r| group(r, writers)),
            med(&|r| group(r, writers) / r.wal)
        );
    }
    println!(
        "| group commit, 1 writer vs raw `write()` + `fdatasync()` | {:.0} | {raw_synced:.0} | {:.2}× |",
        med(&|r| group(r, 1)),
        med(&|r| group(r, 1) / r.raw)
    );
    println!(
        "| group commit, 16 writers vs raw `write()` + `fdatasync()` of 16 records at a time | {:.0} | {:.0} | {:.2}× |",
        med(&|r| group(r, 16)),
        med(&|r| batch(r, 16)),
        med(&|r| group(r, 16) / batch(r, 16))
    );
    println!(
        "| group commit, 4 writers vs raw `write()` + `fdatasync()` of 4 records at a time | {:.0} | {:.0} | {:.2}× |",
        med(&|r| group(r, 4)),
        med(&|r| batch(r, 4)),
        med(&|r| group(r, 4) / batch(r, 4))
    );
    for writers in [16, 4] {
        println!(
            "| {writers} threads, one `pwrite()` each, one `fdatasync()` per batch (no log) vs raw batches of {writers} | {:.0} | {:.0} | {:.2}× |",
            med(&|r| threads(r, writers)),
            med(&|r| batch(r, writers)),
            med(&|r| threads(r, writers) / batch(r, writers))
        );
        println!(
            "| group commit, {writers} writers vs {writers} threads, one `pwrite()` each, one `fdatasync()` per batch | {:.0} | {:.0} | {:.2}× |",
            med(&|r| group(r, writers as u64)),
            med(&|r| threads(r, writers)),
            med(&|r| group(r, writers as u64) / threads(r, writers))
        );
    }
}
