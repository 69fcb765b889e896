//! Group commit: threads share syncs, and every acknowledged append is durable.

use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::Entry;
use distributed::testing::{SyncGate, payload, sim_disk};
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
            Err(e) => panic!("[group-commit] append failed: {e}"),
        }
    }
}

#[test]
fn group_commit_shares_syncs_between_threads() {
    let (sim, fs) = sim_disk(lab_seed(1));
    let stats = StatsFs::new(fs);
    let gate = SyncGate::new(Arc::new(stats.clone()), THREADS as usize, Duration::from_secs(2));
    let wal = open_on(Arc::new(gate.clone()) as FsRef, options(1 << 20, SyncPolicy::GroupCommit));
    let acked = Mutex::new(Vec::new());
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
                    acked.lock().unwrap().push(entry);
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
    let mut acked = acked.into_inner().unwrap();
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
                    written.lock().unwrap().push(entry);
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
                    let entry =
                        wal.entry(index).unwrap_or_else(|e| panic!("[durability] entry {index} of {last}: {e}"));
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
    let mut written = written.into_inner().unwrap();
    written.sort_by_key(|e| e.index);
    assert_matches_model(&wal, &Model::of(written));
}
