//! Group commit: threads share syncs, and every acknowledged append is durable.

use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::Entry;
use distributed::testing::{SyncGate, SyncHold, entries, payload, sim_disk};
use distributed::vfs::{CrashMode, FsRef, StatsFs};
use lab1::{SyncPolicy, Wal, WalError};

use crate::{Model, assert_matches_model, open_on, options, reopen_after};

const THREADS: u64 = 4;
const ROUNDS: u64 = 20;

/// Appends `data` at the next free index, retrying when another thread took it.
fn append_next(wal: &Wal, data: Vec<u8>) -> Entry {
    loop {
        let entry = Entry::new(wal.last_index() + 1, 1, data.clone());
        match wal.append(std::slice::from_ref(&entry)) {
            Ok(()) => return entry,
            Err(WalError::NotContiguous { .. }) => continue,
            Err(e) => distributed::fail!("group-commit", "append failed: {e}"),
        }
    }
}

#[test]
fn group_commit_shares_syncs_between_threads() {
    let (sim, fs) = sim_disk(lab_seed(1));
    // The first segment exists before the rounds: creating a segment (like any rollover) syncs
    // under the log's lock, which is not what this test measures.
    let first = Entry::new(1, 1, payload(THREADS, 0, 64));
    open_on(fs.clone(), options(1 << 20, SyncPolicy::GroupCommit))
        .append(std::slice::from_ref(&first))
        .unwrap_or_else(|e| distributed::fail!("group-commit", "the first append failed: {e}"));
    let stats = StatsFs::new(fs);
    let gate = SyncGate::new(Arc::new(stats.clone()), THREADS as usize, Duration::from_secs(2));
    let wal = open_on(Arc::new(gate.clone()) as FsRef, options(1 << 20, SyncPolicy::GroupCommit));
    let acked = Mutex::new(vec![first]);
    let round = Barrier::new(THREADS as usize);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (wal, acked, gate, round) = (&wal, &acked, &gate, &round);
            scope.spawn(move || {
                for k in 0..ROUNDS {
                    if round.wait().is_leader() {
                        gate.start_round();
                    }
                    round.wait();
                    let entry = append_next(wal, payload(thread, k, 64));
                    acked.lock().expect("setup: the lock is not poisoned").push(entry);
                }
            });
        }
    });
    let appends = THREADS * ROUNDS;
    let syncs = stats.stats().total().syncs;
    invariant!(
        "group-commit",
        !gate.gave_up() && syncs <= 2 * ROUNDS,
        "{syncs} file syncs for {appends} appends from {THREADS} threads, in {ROUNDS} rounds of one append each{}: \
         appends should share syncs (one thread syncs for everything written so far while the others wait, \
         outside the log's lock), so a round needs at most two",
        if gate.gave_up() { ", and a sync waited 2 s while no other thread could append" } else { "" }
    );
    let mut acked = acked.into_inner().expect("setup: the mutex is not poisoned");
    acked.sort_by_key(|e| e.index);
    let (_, after) = reopen_after(&sim, CrashMode::Strict, options(1 << 20, SyncPolicy::GroupCommit));
    assert_matches_model(&after, &Model::of(acked));
}

#[test]
fn readers_never_see_a_partial_or_wrong_entry_while_others_append() {
    let (_, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, options(2000, SyncPolicy::GroupCommit));
    let written = Mutex::new(Vec::<Entry>::new());
    std::thread::scope(|scope| {
        for thread in 0..2u64 {
            let (wal, written) = (&wal, &written);
            scope.spawn(move || {
                for k in 0..60 {
                    let entry = append_next(wal, payload(thread, k, 10 + (k as usize * 13) % 200));
                    written.lock().expect("setup: the lock is not poisoned").push(entry);
                }
            });
        }
        for reader in 0..2u64 {
            let wal = &wal;
            scope.spawn(move || {
                for round in 0..300u64 {
                    let last = wal.last_index();
                    if last == 0 {
                        continue;
                    }
                    let index = 1 + (round * 7 + reader) % last;
                    let entry = wal
                        .entry(index)
                        .unwrap_or_else(|e| distributed::fail!("durability", "entry {index} of {last}: {e}",));
                    invariant!(
                        "matching",
                        entry.index == index,
                        "reading entry {index} returned entry {}",
                        entry.index
                    );
                }
            });
        }
    });
    let mut written = written.into_inner().expect("setup: the mutex is not poisoned");
    written.sort_by_key(|e| e.index);
    assert_matches_model(&wal, &Model::of(written));
}

#[test]
fn a_rollover_during_a_leaders_sync_is_acknowledged_by_a_later_sync() {
    // 40-byte records, 144-byte segments: entry 3 fills segment 1, entry 4 rolls over.
    let opts = options(144, SyncPolicy::GroupCommit);
    let (sim, fs) = sim_disk(lab_seed(1));
    let hold = SyncHold::new(fs, Duration::from_secs(5));
    let wal = open_on(Arc::new(hold.clone()) as FsRef, opts);
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 2, 1)), "wal.append(..)");
    hold.hold_next_sync();
    let b_wrote = std::thread::scope(|scope| {
        let a = scope.spawn(|| wal.append(&entries(3, 3, 1)));
        invariant!("group-commit", hold.wait_until_held(), "thread A's append of entry 3 never synced");
        let writes = hold.writes();
        let b = scope.spawn(|| wal.append(&entries(4, 4, 1)));
        let b_wrote = hold.wait_for_writes(writes + 1) && wal.last_index() == 4;
        hold.release();
        let a = a.join().expect("setup: the thread does not panic");
        invariant!("group-commit", a.is_ok(), "thread A's append of entry 3: {a:?}");
        let b = b.join().expect("setup: the thread does not panic");
        invariant!("group-commit", b.is_ok(), "thread B's append of entry 4, which rolled over: {b:?}");
        b_wrote
    });
    invariant!(
        "group-commit",
        b_wrote,
        "thread B could not roll over and write entry 4 while thread A's sync of segment 1 was in flight: \
         a rollover seals the segment with a sync of its own and does not wait for the leader"
    );
    let (_, after) = reopen_after(&sim, CrashMode::Strict, opts);
    invariant!(
        "durability",
        after.last_index() == 4,
        "entries 3 and 4 were acknowledged, but after a power loss the log ends at {}: the new segment 4 or its \
         name was marked synced by the sync that was running when it was created",
        after.last_index()
    );
    assert_matches_model(&after, &Model::of(entries(1, 4, 1)));
}
