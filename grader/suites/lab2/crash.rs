//! Lab 1 workloads crashed at every step, then verified and recovered by lab 2.

use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::Entry;
use distributed::testing::payload;
use distributed::vfs::{CrashMode, FsRef, SimFs};
use lab1::{SyncPolicy, Wal, WalError, WalOptions};
use lab2::{DamageClass, RecoveryMode, recover, scan};

use crate::{DIR, MODES};

fn workload(
    seed: u64,
    options: WalOptions,
    sync_every: u64,
) -> impl Fn(&SimFs, &mut Vec<Entry>) -> Result<(), WalError> {
    move |sim, acked| {
        let mut rng = TestRng::new(seed);
        let wal = Wal::open(Arc::new(sim.clone()), DIR, options)?;
        let mut written = Vec::new();
        for index in 1..=12u64 {
            let term = 1 + index / 5;
            let entry = Entry::new(index, term, payload(index, term, rng.in_range(8, 500) as usize));
            wal.append(std::slice::from_ref(&entry))?;
            written.push(entry);
            if options.sync != SyncPolicy::Never || index % sync_every == 0 {
                if options.sync == SyncPolicy::Never {
                    wal.sync()?;
                }
                acked.append(&mut written);
            }
        }
        Ok(())
    }
}

/// The entry at `index` as the workload wrote it, whether acknowledged or not.
fn written(seed: u64, index: u64) -> Entry {
    let mut rng = TestRng::new(seed);
    let mut found = None;
    for i in 1..=index {
        let term = 1 + i / 5;
        found = Some(Entry::new(i, term, payload(i, term, rng.in_range(8, 500) as usize)));
    }
    found.expect("setup: index >= 1")
}

fn check_image(disk: &SimFs, acked: &[Entry], seed: u64) {
    let fs: FsRef = Arc::new(disk.crash(CrashMode::ProcessExit));
    let report = scan(&fs, DIR).unwrap_or_else(|e| distributed::fail!("torn-tail", "scan failed: {e}"));
    invariant!(
        "torn-tail",
        report.worst() != Some(DamageClass::Corruption),
        "a crash of a correct log was reported as corruption (the default mode would refuse to start):\n{report}"
    );
    let mut last_by_mode = Vec::new();
    for mode in MODES {
        let fs: FsRef = Arc::new(disk.crash(CrashMode::ProcessExit));
        match recover(&fs, DIR, mode) {
            Ok(recovery) => {
                let wal = Wal::open(Arc::clone(&fs), DIR, WalOptions::default()).unwrap_or_else(|e| {
                    distributed::fail!("torn-tail", "{mode:?}: lab 1 cannot open the recovered log: {e}",)
                });
                invariant!(
                    "durability",
                    wal.last_index() >= acked.len() as u64,
                    "{mode:?}: the log ends at {}, but {} entries were acknowledged",
                    wal.last_index(),
                    acked.len()
                );
                for index in 1..=wal.last_index() {
                    let got =
                        wal.entry(index).unwrap_or_else(|e| distributed::fail!("durability", "entry {index}: {e}",));
                    invariant!("checksum", got == written(seed, index), "{mode:?}: entry {index} reads as {got:?}");
                }
                last_by_mode.push(recovery.last_index);
            }
            Err(e) => invariant!(
                "torn-tail",
                mode == RecoveryMode::AbsoluteConsistency && report.worst() == Some(DamageClass::Tail),
                "{mode:?} refused a crash image: {e}"
            ),
        }
    }
    invariant!(
        "ordered-recovery",
        last_by_mode.windows(2).all(|pair| pair[0] == pair[1]),
        "the modes that accepted a crash image disagree about where the log ends: {last_by_mode:?}"
    );
}

#[test]
fn no_crash_image_is_mistaken_for_corruption() {
    let seed = lab_seed(0x31);
    let options = WalOptions { segment_size: 900, sync: SyncPolicy::EveryAppend };
    let report = CrashExplorer::new(seed)
        .torn_variants(6)
        .explore(workload(seed, options, 1), |disk, acked| check_image(disk, acked, seed));
    distributed::invariant!("torn-tail", report.steps > 30, "the workload ran {} steps", report.steps);
}

#[test]
fn unsynced_appends_recover_in_every_mode_keeping_what_was_synced() {
    let seed = lab_seed(0x32);
    let options = WalOptions { segment_size: 1200, sync: SyncPolicy::Never };
    let report = CrashExplorer::new(seed)
        .torn_variants(8)
        .explore(workload(seed, options, 3), |disk, acked| check_image(disk, acked, seed));
    distributed::invariant!("durability", report.steps > 10, "the workload ran {} steps", report.steps);
}

#[test]
fn reordered_power_losses_are_recovered_by_default_keeping_every_synced_entry() {
    // Entries of 1-3 KiB under `Never`, synced every third append, in one large segment: a
    // reordered image may keep a later page of the unsynced appends and lose an earlier one,
    // a hole of zeros before valid records. The default recovery must start (the hole is
    // lost pages, a tail) and keep every entry a sync acknowledged.
    let options = WalOptions { sync: SyncPolicy::Never, segment_size: 1 << 20 };
    let seed = lab_seed(0x25);
    let entry = |index: u64| Entry::new(index, 1, payload(index, 1, 1000 + (index as usize * 337) % 2000));
    let report = CrashExplorer::new(seed).torn_variants(2).reordered_variants(12).explore(
        |sim, acked: &mut Vec<Entry>| -> Result<(), WalError> {
            let wal = Wal::open(Arc::new(sim.clone()), DIR, options)?;
            let mut written = Vec::new();
            for index in 1..=12u64 {
                wal.append(&[entry(index)])?;
                written.push(entry(index));
                if index % 3 == 0 {
                    wal.sync()?;
                    acked.append(&mut written);
                }
            }
            Ok(())
        },
        |disk, acked| {
            let fs: FsRef = Arc::new(disk.clone());
            let recovery = recover(&fs, DIR, RecoveryMode::TolerateTailCorruption).unwrap_or_else(|e| {
                distributed::fail!("torn-tail", "the default recovery refused a disk an ordinary power loss left: {e}")
            });
            let wal = Wal::open(Arc::clone(&fs), DIR, options)
                .unwrap_or_else(|e| distributed::fail!("torn-tail", "lab 1 cannot open the recovered log: {e}"));
            invariant!(
                "durability",
                wal.last_index() >= acked.len() as u64,
                "after recovery the log ends at {}, but {} entries were synced:\n{}",
                wal.last_index(),
                acked.len(),
                recovery.report
            );
            for want in acked {
                let got = wal.entry(want.index).unwrap_or_else(|e| {
                    distributed::fail!("durability", "synced entry {} is unreadable after recovery: {e}", want.index)
                });
                invariant!("checksum", got == *want, "synced entry {} reads back as other bytes", want.index);
            }
            for index in acked.len() as u64 + 1..=wal.last_index() {
                let got = wal
                    .entry(index)
                    .unwrap_or_else(|e| distributed::fail!("checksum", "entry {index} is unreadable: {e}"));
                invariant!("checksum", got == entry(index), "entry {index} was never written as it reads");
            }
        },
    );
    invariant!("torn-tail", report.images_checked > 100, "only {} images checked", report.images_checked);
}
