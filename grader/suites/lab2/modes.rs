//! The recovery modes: the decision table, the kept copies, a crash during recovery.

use std::collections::BTreeMap;
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::vfs::{CrashMode, FsRef, OpenMode, SimFs};
use lab1::{Wal, WalOptions};
use lab2::{Action, DamageClass, RecoveryMode, recover, scan};

use crate::{DIR, Files, MODES, allows, check_recovery, disk_with, log_entries, name, path, three_segments};

/// One disk per kind of damage, with the class the scan must give it.
fn damaged_logs() -> Vec<(&'static str, Files, Option<DamageClass>)> {
    let clean = three_segments();
    let with = |change: &dyn Fn(&mut Files)| {
        let mut files = clean.clone();
        change(&mut files);
        files
    };
    vec![
        ("clean", clean.clone(), None),
        (
            "zero tail",
            with(&|f| f.get_mut(&name(7)).expect("setup: segment 7").extend([0; 99])),
            Some(DamageClass::Benign),
        ),
        ("torn tail", with(&|f| f.get_mut(&name(7)).expect("setup: segment 7").truncate(130)), Some(DamageClass::Tail)),
        (
            "unfinished segment",
            with(&|f| {
                f.insert(name(10), vec![0x52, 0x53, 0x4d]);
            }),
            Some(DamageClass::Tail),
        ),
        (
            "corrupt sealed record",
            with(&|f| f.get_mut(&name(4)).expect("setup: segment 4")[90] ^= 4),
            Some(DamageClass::Corruption),
        ),
        (
            "corrupt record mid-segment",
            with(&|f| f.get_mut(&name(7)).expect("setup: segment 7")[30] ^= 4),
            Some(DamageClass::Corruption),
        ),
        (
            "bad header",
            with(&|f| f.get_mut(&name(4)).expect("setup: segment 4")[2] ^= 1),
            Some(DamageClass::Corruption),
        ),
        (
            "missing segment",
            with(&|f| {
                f.remove(&name(4));
            }),
            Some(DamageClass::Corruption),
        ),
    ]
}

#[test]
fn the_decision_table_holds_for_every_kind_of_damage() {
    for (kind, files, class) in damaged_logs() {
        for mode in MODES {
            let (sim, fs) = disk_with(&files);
            let report = check_recovery(&sim, &fs, mode, &log_entries(), &format!("{kind}, {mode:?}"));
            invariant!(
                "checksum",
                report.worst() == class,
                "{kind}: expected worst damage {class:?}, found:\n{report}"
            );
            let recovered =
                distributed::invariant_ok!("checksum", scan(&fs, DIR), "{kind}, {mode:?}: scan after recover")
                    .is_clean();
            invariant!(
                "checksum",
                recovered == allows(mode, class) || class.is_none_or(|c| c == DamageClass::Benign),
                "{kind}, {mode:?}: after recover the log is {}",
                if recovered { "clean" } else { "still damaged" }
            );
        }
    }
}

#[test]
fn every_cut_is_kept_and_survives_a_power_cut() {
    for (kind, files, _) in damaged_logs() {
        let (sim, fs) = disk_with(&files);
        let before: BTreeMap<_, _> = sim.listing().into_iter().collect();
        let recovery = recover(&fs, DIR, RecoveryMode::TolerateAnyCorruption)
            .unwrap_or_else(|e| distributed::fail!("checksum", "{kind}: TolerateAny must recover: {e}"));
        let after = sim.crash(CrashMode::Strict);
        let after_fs: FsRef = Arc::new(after.clone());
        let wal = Wal::open(Arc::clone(&after_fs), DIR, WalOptions::default()).unwrap_or_else(|e| {
            distributed::fail!("durability", "{kind}: after recover and a power cut the log does not open: {e}")
        });
        invariant!(
            "durability",
            wal.last_index() == recovery.last_index,
            "{kind}: recover ended the log at {}, but after a power cut it ends at {}: a cut was not synced",
            recovery.last_index,
            wal.last_index()
        );
        for action in &recovery.actions {
            let (file, offset, kept) = match action {
                Action::Cut { file, offset, kept, .. } => (file, *offset as usize, kept),
                Action::SetAside { file, kept } => (file, 0, kept),
                _ => continue,
            };
            let copy = distributed::invariant_ok!(
                "durability",
                after.durable_contents(path(kept)),
                "{kind}: {kept} after a power cut"
            );
            invariant!(
                "durability",
                copy.as_deref() == Some(&before[&path(file)][offset..]),
                "{kind}: after a power cut, {kept} does not hold the bytes cut from {file} at {offset}"
            );
        }
    }
}

#[test]
fn a_second_recovery_never_overwrites_the_first_copy() {
    let mut files = three_segments();
    files.get_mut(&name(7)).expect("setup: segment 7").truncate(130);
    let (sim, fs) = disk_with(&files);
    distributed::invariant_ok!("durability", recover(&fs, DIR, RecoveryMode::default()), "the first recovery");
    let mut copies = Vec::new();
    let first = format!("{}.broken", name(7));
    copies.push((first.clone(), distributed::invariant_ok!("durability", sim.contents(path(&first)), "{first}")));
    // Another torn write at the same place, then one further back: each cut is kept under the
    // next free name, `.broken.2`, then `.broken.3`, and no earlier copy changes.
    for (at, suffix) in [(64, 2), (24, 3)] {
        let handle = fs.open(&path(&name(7)), OpenMode::ReadWrite).expect("setup: open segment 7");
        handle.write_all_at(at, b"\x20\x00\x00\x00garbage").expect("setup: write a torn record");
        handle.sync_data().expect("setup: sync segment 7");
        let recovery =
            distributed::invariant_ok!("durability", recover(&fs, DIR, RecoveryMode::default()), "recovery {suffix}");
        let kept = format!("{}.broken.{suffix}", name(7));
        invariant!(
            "durability",
            matches!(recovery.actions.as_slice(), [Action::Cut { offset, kept: named, .. }] if *named == kept && *offset == at),
            "the cut at {at} must be kept as {kept}, the next free name: {:?}",
            recovery.actions
        );
        for (name, bytes) in &copies {
            invariant!(
                "durability",
                sim.contents(path(name)).ok().as_ref() == Some(bytes),
                "an earlier recovery's copy {name} was overwritten"
            );
        }
        copies.push((kept.clone(), distributed::invariant_ok!("durability", sim.contents(path(&kept)), "{kept}")));
    }
}

#[test]
fn a_crash_during_recovery_never_turns_corruption_into_a_clean_log() {
    // Workload: the log (written directly), a bit flipped in entry 5, then TolerateAny.
    let files = three_segments();
    let seg4_before = files[&name(4)].clone();
    let seg7_before = files[&name(7)].clone();
    let workload = |sim: &SimFs, phase: &mut Vec<u8>| -> Result<(), lab2::RepairError> {
        let fs: FsRef = Arc::new(sim.clone());
        fs.create_dir_all(std::path::Path::new(DIR))?;
        for (file, bytes) in &files {
            let handle = fs.open(&path(file), OpenMode::Create)?;
            handle.write_all_at(0, bytes)?;
            handle.sync_data()?;
        }
        fs.sync_dir(std::path::Path::new(DIR))?;
        sim.flip_bit(path(&name(4)), 70 * 8)?;
        phase.push(0);
        recover(&fs, DIR, RecoveryMode::TolerateAnyCorruption)?;
        phase.push(1);
        Ok(())
    };
    let report = CrashExplorer::new(lab_seed(0x41)).torn_variants(4).explore(workload, |disk, phase| {
        if phase.is_empty() {
            return; // the log was still being written: lab 1's business
        }
        let fs: FsRef = Arc::new(disk.crash(CrashMode::ProcessExit));
        let report = scan(&fs, DIR).unwrap_or_else(|e| distributed::fail!("ordered-recovery", "scan failed: {e}"));
        if report.worst() == Some(DamageClass::Corruption) {
            invariant!(
                "ordered-recovery",
                phase.len() == 1,
                "recover returned, but its cuts did not survive a power cut:\n{report}"
            );
            return;
        }
        // Otherwise recovery's cuts are all durable: the log is 1..=4, and the copies hold
        // what was cut.
        invariant!(
            "ordered-recovery",
            report.is_clean() && report.last_consistent_index == 4,
            "a crash during recovery left a log that looks clean but is not the recovered one:\n{report}"
        );
        let kept4 = disk.contents(path(&format!("{}.broken", name(4)))).ok();
        let mut damaged4 = seg4_before.clone();
        damaged4[70] ^= 1;
        invariant!(
            "durability",
            kept4.as_deref() == Some(&damaged4[64..]),
            "segment 4 was cut, but its copy is missing or wrong"
        );
        let kept7 = disk.contents(path(&format!("{}.broken", name(7)))).ok();
        invariant!("durability", kept7.as_deref() == Some(&seg7_before[..]), "segment 7 was set aside without a copy");
    });
    distributed::invariant!("ordered-recovery", report.steps > 10, "the workload ran {} steps", report.steps);
}
