//! Lab 2's hidden suite: what the grader checks beyond the public tests.
//!
//! - `exhaustive`: every bit of every byte of a small log flipped, every truncation point,
//!   random overwrites: the report names the exact file and record, no mode ever returns a
//!   damaged entry or loses one without reporting it;
//! - `crash`: lab 1 workloads crashed at every step: no crash image is taken for corruption,
//!   and every mode keeps every acknowledged entry;
//! - `footer`: sealed segments checked by their footers, a sealed last segment, a repair
//!   that seals again;
//! - `kinds`: preallocated zeros against zeros in the middle, stale records of recycled files,
//!   headers that name the wrong segment;
//! - `modes`: the decision table, the kept copies, a crash during recovery itself;
//! - `peer`: repair from an honest peer after each kind of damage, lying peers, stale reports.

mod crash;
mod exhaustive;
mod footer;
mod kinds;
mod modes;
mod peer;
mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::invariant;
use distributed::storage::Entry;
use distributed::testing::payload;
use distributed::vfs::{FsRef, OpenMode, SimFs};
use lab1::format::{SegmentHeader, encode_record, segment_file_name};
use lab1::{Wal, WalOptions};
use lab2::{Action, DamageClass, LogReport, RecoveryMode, RepairError, recover, scan};

pub const DIR: &str = "wal";

/// A log directory's files, by name.
pub type Files = BTreeMap<String, Vec<u8>>;

pub fn term_of(index: u64) -> u64 {
    1 + (index - 1) / 4
}

/// Entries 1..=9, terms 1, 1, 1, 1, 2, 2, 2, 2, 3, 16 bytes of data: 40-byte records.
pub fn log_entries() -> Vec<Entry> {
    (1..=9).map(|i| Entry::new(i, term_of(i), payload(i, term_of(i), 16))).collect()
}

pub fn name(first: u64) -> String {
    segment_file_name(first)
}

pub fn path(file: &str) -> PathBuf {
    Path::new(DIR).join(file)
}

/// The bytes of a segment starting at `first` holding `entries`.
pub fn segment_bytes(first: u64, entries: &[Entry]) -> Vec<u8> {
    let mut bytes = SegmentHeader { first_index: first, flags: u32::from(first == 1) }.encode().to_vec();
    for entry in entries {
        bytes.extend(encode_record(first, entry));
    }
    bytes
}

/// The footer sealing a segment whose bytes before it are `sealed`, from the chapter's table:
/// marker, CRC32 of those bytes, last index, CRC32 of the footer's first 16 bytes.
pub fn footer_bytes(sealed: &[u8], last_index: u64) -> Vec<u8> {
    let mut bytes = u32::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32fast::hash(sealed).to_le_bytes());
    bytes.extend_from_slice(&last_index.to_le_bytes());
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// [`segment_bytes`] followed by its footer.
pub fn sealed_segment_bytes(first: u64, entries: &[Entry]) -> Vec<u8> {
    let mut bytes = segment_bytes(first, entries);
    let last = entries.last().map_or(first - 1, |e| e.index);
    bytes.extend(footer_bytes(&bytes.clone(), last));
    bytes
}

/// Segments 1-3, 4-6 (both sealed: a 20-byte footer at 144), 7-9 of [`log_entries`], by file
/// name.
pub fn three_segments() -> Files {
    let entries = log_entries();
    [1u64, 4, 7]
        .iter()
        .map(|&first| {
            let held = &entries[first as usize - 1..first as usize + 2];
            let bytes = if first == 7 { segment_bytes(first, held) } else { sealed_segment_bytes(first, held) };
            (name(first), bytes)
        })
        .collect()
}

/// A fresh disk holding `files` in the log's directory, everything durable.
pub fn disk_with(files: &Files) -> (SimFs, FsRef) {
    let sim = SimFs::new(distributed::rng::lab_seed(1));
    let fs: FsRef = Arc::new(sim.clone());
    fs.create_dir_all(Path::new(DIR)).expect("setup: create the log directory");
    for (file, bytes) in files {
        let handle = fs.open(&path(file), OpenMode::Create).expect("setup: create a file");
        handle.write_all_at(0, bytes).expect("setup: write a file");
        handle.sync_data().expect("setup: sync a file");
    }
    fs.sync_dir(Path::new(DIR)).expect("setup: sync the log directory");
    (sim, fs)
}

/// Whether `mode` allows recovering a log whose worst damage is `worst`.
pub fn allows(mode: RecoveryMode, worst: Option<DamageClass>) -> bool {
    match worst {
        None | Some(DamageClass::Benign) => true,
        Some(DamageClass::Tail) => mode != RecoveryMode::AbsoluteConsistency,
        Some(DamageClass::Corruption) => mode == RecoveryMode::TolerateAnyCorruption,
    }
}

/// Runs `recover` in `mode` on a damaged disk and checks everything the lab promises:
///
/// - refused exactly when the mode says so, and then the disk is unchanged [checksum];
/// - otherwise lab 1 opens the log, which ends exactly at the report's last consistent
///   position [ordered-recovery], every entry reads back as written [checksum], a shorter
///   log is explained by reported damage [durability], every cut and set-aside file is kept
///   byte for byte [durability], and the log scans clean [torn-tail].
///
/// Returns the report.
pub fn check_recovery(sim: &SimFs, fs: &FsRef, mode: RecoveryMode, original: &[Entry], context: &str) -> LogReport {
    check_recovery_with(sim, fs, mode, original, context, false)
}

/// [`check_recovery`], where `invisible_loss` says whether the damage may be undetectable (a
/// last segment cut exactly at a record boundary looks like a log that never had more).
pub fn check_recovery_with(
    sim: &SimFs,
    fs: &FsRef,
    mode: RecoveryMode,
    original: &[Entry],
    context: &str,
    invisible_loss: bool,
) -> LogReport {
    let before: BTreeMap<PathBuf, Vec<u8>> = sim.listing().into_iter().collect();
    match recover(fs, DIR, mode) {
        Ok(recovery) => {
            let report = recovery.report;
            invariant!(
                "checksum",
                allows(mode, report.worst()),
                "{context}: {mode:?} recovered a log whose worst damage is {:?}:\n{report}",
                report.worst()
            );
            let wal = Wal::open(Arc::clone(fs), DIR, WalOptions::default()).unwrap_or_else(|e| {
                distributed::fail!("torn-tail", "{context}: lab 1 cannot open the log after recover: {e}",)
            });
            let last = wal.last_index();
            invariant!(
                "ordered-recovery",
                last == report.last_consistent_index && recovery.last_index == last,
                "{context}: after recover the log ends at {last} (recover said {}), but the last consistent \
                 position was {}",
                recovery.last_index,
                report.last_consistent_index
            );
            for index in wal.first_index()..=last {
                match wal.entry(index) {
                    Ok(got) => invariant!(
                        "checksum",
                        original.get(index as usize - 1) == Some(&got),
                        "{context}: entry {index} reads back as {got:?}, which was never written"
                    ),
                    Err(e) => {
                        distributed::fail!("durability", "{context}: entry {index} is unreadable after recover: {e}",)
                    }
                }
            }
            let original_last = original.last().map_or(0, |e| e.index);
            if last < original_last && !invisible_loss {
                invariant!(
                    "durability",
                    !report.damage.is_empty(),
                    "{context}: entries {}..={original_last} are gone, but the report found no damage",
                    last + 1
                );
            }
            for action in &recovery.actions {
                let (file, offset, kept) = match action {
                    Action::Cut { file, offset, kept, .. } => (file, *offset as usize, kept),
                    Action::SetAside { file, kept } => (file, 0, kept),
                    _ => continue,
                };
                let was = &before[&path(file)];
                let copy = sim.contents(path(kept)).unwrap_or_default();
                invariant!(
                    "durability",
                    copy == was[offset..],
                    "{context}: {kept} holds {} bytes, not the {} bytes cut from {file} at {offset}",
                    copy.len(),
                    was.len() - offset
                );
            }
            drop(wal);
            let after = distributed::invariant_ok!("torn-tail", scan(fs, DIR), "{context}: scan after recover");
            invariant!("torn-tail", after.is_clean(), "{context}: after recover the log still has damage:\n{after}");
            report
        }
        Err(RepairError::Refused { mode: refused, report }) => {
            invariant!(
                "checksum",
                refused == mode && !allows(mode, report.worst()),
                "{context}: {mode:?} refused a log it allows:\n{report}"
            );
            let after: BTreeMap<PathBuf, Vec<u8>> = sim.listing().into_iter().collect();
            invariant!("checksum", after == before, "{context}: a refused recovery changed the disk");
            *report
        }
        Err(other) => distributed::fail!("checksum", "{context}: recover failed with {other}, never a typed refusal"),
    }
}

pub const MODES: [RecoveryMode; 3] =
    [RecoveryMode::TolerateTailCorruption, RecoveryMode::AbsoluteConsistency, RecoveryMode::TolerateAnyCorruption];
