//! Lab 6's benchmark: what the idempotency check costs per request, and what a live record
//! costs in memory, in one run.
//!
//! Run it with `cargo run --release -p grader --example lab6_bench` (set `BENCH_DIR` to choose
//! the disk; the default is the system's temporary directory). It prints a Markdown table:
//!
//! - **per request, end to end**: a `Service` on the real disk (`StdFs`, a sync per append and
//!   per commit), the same increments submitted as plain writes (`IdemOp::Plain`) and as
//!   idempotent ones (`Service::execute`, each a new key: a miss, a record created),
//!   interleaved in blocks of 25 on one service, five rounds; the ratio of each round, median
//!   of the five. The ratio is the overhead a client sees; the goal for the reference is at
//!   most 1.2×;
//! - **per request, apply only**: the same commands applied to an `IdemStore` in memory, no
//!   log and no disk, so the check's CPU cost is not hidden behind the syncs; and retries
//!   (hits) against the same baseline;
//! - **memory per live record**, measured by a counting allocator around 100k records (keys
//!   like a real client's: a 36-character idempotency key), against the plain writes' memory,
//!   and the store's own estimate (`StoreStats::record_bytes`).
//!
//! Ratios, not absolute numbers, carry from one machine to another: both sides of each ratio
//! ran on the same disk, in the same process, moments apart.

mod common;

use common::{bench_root, fresh_dir, machine, per_second};

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use distributed::storage::StateMachineStorage;
use distributed::vfs::{FsRef, StdFs};
use lab1::{SyncPolicy, WalOptions};
use lab6::{IdemCommand, IdemConfig, IdemOp, IdemStore, Op, RecordKey, ReplicaOptions, Request, Service};

/// Counts the bytes allocated and not yet freed, so the benchmark can measure a record.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is only
// arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const DISK_REQUESTS: u64 = 1_000;
const MEMORY_REQUESTS: u64 = 100_000;

fn config() -> IdemConfig {
    // A window longer than the run: every record stays live.
    IdemConfig { ttl: u64::MAX / 4, lease: 30_000, gc_per_apply: 8 }
}

/// The record of request `i`, with keys shaped like a real client's.
fn record(i: u64) -> RecordKey {
    RecordKey::new(
        "payments",
        &format!("acct-{:05}", i % 10_000),
        &format!("{:08x}-4a1c-4b7e-9d2f-{:012x}", i, i * 7919),
    )
}

fn op(i: u64) -> Op {
    Op::Increment { key: format!("acct-{:05}", i % 10_000), delta: 1 }
}

fn plain(i: u64) -> IdemCommand {
    IdemCommand::new(1_000 + i, IdemOp::Plain(op(i)))
}

fn idempotent(i: u64, t: u64) -> IdemCommand {
    let op = op(i);
    IdemCommand::new(t, IdemOp::Execute { request: Request::for_op(record(i), &op), op })
}

/// Requests of each kind per round on the disk, in blocks of `DISK_BLOCK`.
const DISK_BLOCK: u64 = 25;
const DISK_ROUNDS: usize = 5;

/// One round on the disk: a fresh service takes `DISK_REQUESTS` plain writes and as many
/// idempotent ones, interleaved in blocks of `DISK_BLOCK` (plain first in even blocks,
/// idempotent first in odd ones), so both kinds share the same files, the same moment of the
/// disk and the same neighbours. Returns the time spent on each kind.
fn service_round(root: &std::path::Path, round: usize) -> (Duration, Duration) {
    let dir = fresh_dir(root, &format!("round{round}"));
    let fs: FsRef = Arc::new(StdFs::new(dir));
    let options = ReplicaOptions {
        wal: WalOptions { sync: SyncPolicy::EveryAppend, ..WalOptions::default() },
        ..ReplicaOptions::default()
    };
    let mut service = Service::open(fs, "service", options, config()).expect("open the service");
    let (mut plain_time, mut checked_time) = (Duration::ZERO, Duration::ZERO);
    let mut next = 0u64;
    for block in 0..DISK_REQUESTS / DISK_BLOCK {
        let order = if block % 2 == 0 { [false, true] } else { [true, false] };
        for checked in order {
            let started = Instant::now();
            for _ in 0..DISK_BLOCK {
                let i = next;
                next += 1;
                if checked {
                    let op = op(i);
                    service.execute(1_000 + i, &Request::for_op(record(i), &op), op).expect("execute");
                } else {
                    service.submit(plain(i)).expect("submit");
                }
            }
            *(if checked { &mut checked_time } else { &mut plain_time }) += started.elapsed();
        }
    }
    (plain_time, checked_time)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Time to apply `commands` to a fresh store (or a clone of `warm`), median of five.
fn apply_run(commands: &[Vec<u8>], warm: Option<&IdemStore>) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let mut store = warm.cloned().unwrap_or_else(|| IdemStore::new(config()));
            let started = Instant::now();
            for command in commands {
                store.apply(command).expect("apply");
            }
            started.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

fn main() {
    let root = bench_root("lab6-bench");
    println!("machine: {}", machine(&root));
    println!();
    println!("| measurement | plain writes | idempotent writes | ratio (goal) |");
    println!("|---|---|---|---|");

    // Five rounds; in each, both kinds interleaved in blocks on one service. The ratio is
    // taken within a round, and the median of the five is reported.
    let (mut plain_rates, mut checked_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..DISK_ROUNDS {
        let (plain_time, checked_time) = service_round(&root, round);
        plain_rates.push(per_second(DISK_REQUESTS, plain_time));
        checked_rates.push(per_second(DISK_REQUESTS, checked_time));
        ratios.push(checked_time.as_secs_f64() / plain_time.as_secs_f64());
    }
    let spread = |values: &[f64]| {
        let (low, high) = values.iter().fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        format!("{low:.2}–{high:.2}")
    };
    let ratio_spread = spread(&ratios);
    println!(
        "| end to end, {DISK_REQUESTS} + {DISK_REQUESTS} requests a round on the disk (a sync per append and per commit), median of {DISK_ROUNDS} rounds | {:.0} req/s | {:.0} req/s | {:.2}× (≤ 1.2×; rounds {ratio_spread}) |",
        median(&mut plain_rates),
        median(&mut checked_rates),
        median(&mut ratios)
    );

    let plain_cmds: Vec<Vec<u8>> = (0..MEMORY_REQUESTS).map(|i| plain(i).encode()).collect();
    let miss_cmds: Vec<Vec<u8>> = (0..MEMORY_REQUESTS).map(|i| idempotent(i, 1_000 + i).encode()).collect();
    let plain_apply = apply_run(&plain_cmds, None);
    let miss_apply = apply_run(&miss_cmds, None);
    println!(
        "| apply only, {MEMORY_REQUESTS} new requests (a record created each) | {:.2} µs | {:.2} µs | {:.2}× (informative) |",
        plain_apply.as_secs_f64() * 1e6 / MEMORY_REQUESTS as f64,
        miss_apply.as_secs_f64() * 1e6 / MEMORY_REQUESTS as f64,
        miss_apply.as_secs_f64() / plain_apply.as_secs_f64()
    );
    let mut warm = IdemStore::new(config());
    for command in &miss_cmds {
        warm.apply(command).expect("apply");
    }
    let retry_cmds: Vec<Vec<u8>> =
        (0..MEMORY_REQUESTS).map(|i| idempotent(i, 1_000 + MEMORY_REQUESTS + i).encode()).collect();
    let retry_apply = apply_run(&retry_cmds, Some(&warm));
    println!(
        "| apply only, {MEMORY_REQUESTS} retries (hits: nothing runs) | {:.2} µs | {:.2} µs | {:.2}× (informative) |",
        plain_apply.as_secs_f64() * 1e6 / MEMORY_REQUESTS as f64,
        retry_apply.as_secs_f64() * 1e6 / MEMORY_REQUESTS as f64,
        retry_apply.as_secs_f64() / plain_apply.as_secs_f64()
    );
    println!(
        "| entry size (postcard) | {} B | {} B | +{} B |",
        plain_cmds[0].len(),
        miss_cmds[0].len(),
        miss_cmds[0].len() - plain_cmds[0].len()
    );

    drop(warm);
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut plain_store = IdemStore::new(config());
    for command in &plain_cmds {
        plain_store.apply(command).expect("apply");
    }
    let plain_bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut store = IdemStore::new(config());
    for command in &miss_cmds {
        store.apply(command).expect("apply");
    }
    let checked_bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
    let stats = store.stats();
    let key_bytes = record(0).heap_bytes();
    println!(
        "| memory per live record ({key_bytes} bytes of key strings; {} records) | — | {:.0} B measured, {:.0} B estimated by stats() | {:.1}× the key |",
        stats.records,
        (checked_bytes - plain_bytes) as f64 / stats.records as f64,
        stats.record_bytes as f64 / stats.records as f64,
        (checked_bytes - plain_bytes) as f64 / stats.records as f64 / key_bytes as f64
    );
    drop((plain_store, store));
    let _ = std::fs::remove_dir_all(&root);
}
