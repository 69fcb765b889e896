//! What recording costs: lab 1's benchmark workload with and without the recording layer, on
//! the real disk, interleaved in one run (the goal is under 5% of throughput).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use distributed::storage::Entry;
use distributed::vfs::{FsRef, StdFs};
use lab1::{SyncPolicy, Wal, WalOptions};

use crate::analysis::Served;
use crate::record::{Recorder, RecordingFs, serving};

const DATA_LEN: usize = 4096;
const UNSYNCED: u64 = 16_384;
const SYNCED: u64 = 200;

fn fresh(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Appends per second of `count` 4 KiB appends under `sync`, recorded or not.
fn appends(root: &Path, name: &str, count: u64, sync: SyncPolicy, recorded: bool) -> Result<f64, String> {
    let dir = fresh(root, name);
    let inner: FsRef = Arc::new(StdFs::new(&dir));
    let recorder = Recorder::real();
    let fs: FsRef = if recorded { Arc::new(RecordingFs::over(inner, Arc::clone(&recorder))) } else { inner };
    // One segment holds the whole workload, as in lab 1's benchmark.
    let wal = Wal::open(fs, "wal", WalOptions { segment_size: 1 << 30, sync }).map_err(|e| e.to_string())?;
    let entries: Vec<Entry> = (1..=count).map(|i| Entry::new(i, 1, vec![i as u8; DATA_LEN])).collect();
    let start = Instant::now();
    for e in &entries {
        if recorded {
            serving(Served::Index(e.index), || wal.append(std::slice::from_ref(e))).map_err(|e| e.to_string())?;
            recorder.mark(|s| s.acknowledge(1, DATA_LEN as u64));
        } else {
            wal.append(std::slice::from_ref(e)).map_err(|e| e.to_string())?;
        }
    }
    let rate = count as f64 / start.elapsed().as_secs_f64();
    drop(wal);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rate)
}

/// Nanoseconds the recording layer adds to one call: `calls` writes of 4 KiB to one log
/// segment, recorded around a call that does nothing (the real clock, a served index).
fn cost_per_call_ns(calls: u64) -> f64 {
    let recorder = Recorder::real();
    let start = Instant::now();
    for i in 0..calls {
        let _ = serving(Served::Index(i), || {
            recorder.record(
                "wal/00000000000000000001.wal",
                crate::analysis::FileKind::Log,
                crate::analysis::IoOp::Write,
                i * 4096,
                || Ok(4096usize),
                |&n| n as u64,
            )
        });
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The table of throughputs with and without recording, with the machine's load.
pub fn measure(rounds: usize) -> Result<String, String> {
    let base = std::env::var_os("MONITOR_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let root = base.join(format!("monitor-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = String::from(
        "| lab 1 workload (4 KiB appends) | plain (appends/s) | recorded (appends/s) | recorded / plain |\n|---|---|---|---|\n",
    );
    for (name, count, sync) in
        [("unsynced", UNSYNCED, SyncPolicy::Never), ("synced one by one", SYNCED, SyncPolicy::EveryAppend)]
    {
        let (mut plain, mut recorded) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which goes first, so neither side always finds the page cache warm.
            if round % 2 == 0 {
                plain.push(appends(&root, &format!("plain-{round}"), count, sync, false)?);
                recorded.push(appends(&root, &format!("recorded-{round}"), count, sync, true)?);
            } else {
                recorded.push(appends(&root, &format!("recorded-{round}"), count, sync, true)?);
                plain.push(appends(&root, &format!("plain-{round}"), count, sync, false)?);
            }
        }
        let (p, r) = (median(plain), median(recorded));
        out.push_str(&format!("| {name} ({count}) | {p:.0} | {r:.0} | {:.3} |\n", r / p));
    }
    let costs: Vec<f64> = (0..rounds).map(|_| cost_per_call_ns(200_000)).collect();
    out.push_str(&format!(
        "\nThe recording layer alone: {:.0} ns per call (median of {rounds} runs of 200000 recorded calls that do nothing).\n",
        median(costs)
    ));
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = std::fs::remove_dir_all(&root);
    out.push_str(&format!(
        "\nMedian of {rounds} interleaved rounds (alternating which goes first). Load average before: {}, after: {} (a shared machine: indicative).\n",
        load_before.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        load_after.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    ));
    Ok(out)
}
