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
    found.expect("index >= 1")
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
