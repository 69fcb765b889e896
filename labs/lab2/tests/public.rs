//! Lab 2's public tests, in the order of the chapter's tasks: verifying a log, classifying
//! its damage, recovering per mode, repairing from a peer.
//!
//! Run them with `cargo test -p lab2`; one task at a time with, for example,
//! `cargo test -p lab2 verify::`. A failure starts with the invariant it broke, in brackets.
//!
//! Every test builds its log byte by byte from the chapter's tables (`segment` below), so the
//! offsets in the assertions are exact: three segments of three 40-byte records each, the
//! first two sealed by a 20-byte footer,
//!
//! ```text
//! 00000000000000000001.wal  header 0..24 | entry 1 @24 | entry 2 @64 | entry 3 @104 | footer @144 | end 164
//! 00000000000000000004.wal  header 0..24 | entry 4 @24 | entry 5 @64 | entry 6 @104 | footer @144 | end 164
//! 00000000000000000007.wal  header 0..24 | entry 7 @24 | entry 8 @64 | entry 9 @104 | end 144
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::Entry;
use distributed::testing::{payload, sim_disk};
use distributed::vfs::{CrashMode, FsRef, OpenMode, SimFs, Vfs};
use lab1::{SyncPolicy, Wal, WalOptions};
use lab2::{
    Action, Damage, DamageClass, LogReport, Peer, PeerError, RecoveryMode, RepairError, recover, repair_from_peer, scan,
};

const DIR: &str = "wal";
const SEG1: &str = "00000000000000000001.wal";
const SEG4: &str = "00000000000000000004.wal";
const SEG7: &str = "00000000000000000007.wal";

fn term_of(index: u64) -> u64 {
    1 + (index - 1) / 4
}

/// Entries 1..=9, terms 1, 1, 1, 1, 2, 2, 2, 2, 3, 16 bytes of data each.
fn log_entries() -> Vec<Entry> {
    (1..=9).map(|i| Entry::new(i, term_of(i), payload(i, term_of(i), 16))).collect()
}

fn entry(index: u64) -> Entry {
    log_entries()[index as usize - 1].clone()
}

/// A segment header, from the chapter's table.
fn header(first_index: u64, flags: u32) -> Vec<u8> {
    let mut bytes = b"RSMWAL01".to_vec();
    bytes.extend_from_slice(&first_index.to_le_bytes());
    bytes.extend_from_slice(&flags.to_le_bytes());
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// A record of `entry` in the segment starting at `segment_first`, from the chapter's table.
fn record(segment_first: u64, entry: &Entry) -> Vec<u8> {
    let mut payload = entry.index.to_le_bytes().to_vec();
    payload.extend_from_slice(&entry.term.to_le_bytes());
    payload.extend_from_slice(&entry.data);
    let len = payload.len() as u32;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&segment_first.to_le_bytes());
    hasher.update(&len.to_le_bytes());
    hasher.update(&payload);
    let mut bytes = len.to_le_bytes().to_vec();
    bytes.extend_from_slice(&hasher.finalize().to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// A whole segment file holding entries `first..=last`.
fn segment(first: u64, last: u64) -> Vec<u8> {
    let flags = u32::from(first == 1);
    let mut bytes = header(first, flags);
    for index in first..=last {
        bytes.extend(record(first, &entry(index)));
    }
    bytes
}

/// The footer that seals a segment whose bytes are `sealed`, from the chapter's table.
fn footer(sealed: &[u8], last_index: u64) -> Vec<u8> {
    let mut bytes = u32::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32fast::hash(sealed).to_le_bytes());
    bytes.extend_from_slice(&last_index.to_le_bytes());
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// A sealed segment file holding entries `first..=last`, its footer after them.
fn sealed(first: u64, last: u64) -> Vec<u8> {
    let mut bytes = segment(first, last);
    bytes.extend(footer(&bytes.clone(), last));
    bytes
}

/// The file of the three-segment log that starts at `first`: segments 1 and 4 are sealed.
fn log_file(first: u64) -> Vec<u8> {
    if first == 7 { segment(7, 9) } else { sealed(first, first + 2) }
}

fn path(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// A disk holding the three segments, synced.
fn three_segments() -> (SimFs, FsRef) {
    let (sim, fs) = sim_disk(lab_seed(1));
    fs.create_dir_all(Path::new(DIR)).expect("setup: create the log directory");
    for (name, first) in [(SEG1, 1), (SEG4, 4), (SEG7, 7)] {
        let file = fs.open(&path(name), OpenMode::Create).expect("setup: create a segment");
        file.write_all_at(0, &log_file(first)).expect("setup: write a segment");
        file.sync_data().expect("setup: sync a segment");
    }
    fs.sync_dir(Path::new(DIR)).expect("setup: sync the log directory");
    (sim, fs)
}

fn flip(sim: &SimFs, name: &str, byte: u64) {
    sim.flip_bit(path(name), byte * 8 + 3).expect("setup: flip a bit");
}

fn scan_ok(fs: &FsRef) -> LogReport {
    scan(fs, DIR).unwrap_or_else(|e| distributed::fail!("torn-tail", "scan failed: {e}"))
}

/// Opens the log with lab 1 and checks it holds exactly entries 1..=last as written.
fn assert_holds_prefix(fs: &FsRef, last: u64) {
    let wal = Wal::open(Arc::clone(fs), DIR, WalOptions::default())
        .unwrap_or_else(|e| distributed::fail!("torn-tail", "lab 1 cannot open the log after recovery: {e}"));
    invariant!("ordered-recovery", wal.last_index() == last, "the log ends at {}, expected {last}", wal.last_index());
    for index in 1..=last {
        let got =
            wal.entry(index).unwrap_or_else(|e| distributed::fail!("durability", "entry {index} is unreadable: {e}",));
        invariant!("checksum", got == entry(index), "entry {index} reads back as {got:?}");
    }
}

mod verify {
    use super::*;

    #[test]
    fn a_clean_log_is_reported_clean_segment_by_segment() {
        let (_, fs) = three_segments();
        let other = fs.open(&path("00000000000000000001.wal.broken"), OpenMode::Create).expect("setup: create a file");
        other.write_all_at(0, b"not a segment").expect("setup: write a file");
        let report = scan_ok(&fs);
        invariant!("checksum", report.damage.is_empty(), "a clean log has no damage, found {:?}", report.damage);
        distributed::invariant!("on-disk-format", report.is_clean(), "expected report.is_clean()");
        distributed::invariant_eq!("on-disk-format", report.lost(), None, "nothing is lost in a clean log");
        distributed::invariant_eq!(
            "on-disk-format",
            (report.first_index, report.last_consistent_index, report.last_seen_index),
            (1, 9, 9),
            "(report.first_index, report.last_consistent_index, report.last_seen_index)",
        );
        let spans: Vec<_> =
            report.segments.iter().map(|s| (s.file_name.as_str(), s.first_index, s.last_index, s.records)).collect();
        distributed::invariant_eq!(
            "on-disk-format",
            spans,
            [(SEG1, 1, 3, 3), (SEG4, 4, 6, 3), (SEG7, 7, 9, 3)],
            "one report per segment",
        );
        let seg4 = &report.segments[1];
        distributed::invariant_eq!("on-disk-format", seg4.terms, Some((1, 2)), "the first and last terms of segment 4");
        distributed::invariant_eq!(
            "on-disk-format",
            (seg4.valid_len, seg4.file_len),
            (144, 164),
            "(seg4.valid_len, seg4.file_len)",
        );
        distributed::invariant!(
            "on-disk-format",
            report.segments[0].log_start && !seg4.log_start,
            "only segment 1 is flagged",
        );
        let empty = distributed::invariant_ok!(
            "on-disk-format",
            scan(&fs, "no-such-dir"),
            "a missing directory is an empty log"
        );
        distributed::invariant_eq!(
            "on-disk-format",
            (empty.segments.len(), empty.first_index, empty.last_consistent_index, empty.last_seen_index),
            (0, 1, 0, 0),
            "(empty.segments.len(), empty.first_index, empty.last_consistent_index, empty.last_seen_index)",
        );
    }

    #[test]
    fn a_flipped_bit_in_a_sealed_segment_is_corruption_at_the_record_s_offset() {
        let (sim, fs) = three_segments();
        flip(&sim, SEG4, 64 + 30); // inside the data of entry 5
        let report = scan_ok(&fs);
        match report.damage.as_slice() {
            [Damage::Corrupt { file, offset: 64, index: 5, .. }] if file == SEG4 => {}
            other => {
                distributed::fail!("checksum", "expected Corrupt in {SEG4} at offset 64 (entry 5), found {other:?}",)
            }
        }
        distributed::invariant_eq!("checksum", report.worst(), Some(DamageClass::Corruption), "report.worst()");
        distributed::invariant_eq!(
            "checksum",
            (report.last_consistent_index, report.last_seen_index),
            (4, 9),
            "consistent up to 4",
        );
        distributed::invariant_eq!("checksum", report.lost(), Some(5..=9), "report.lost()");
    }

    #[test]
    fn a_damaged_header_and_a_missing_segment_are_reported() {
        let (sim, fs) = three_segments();
        flip(&sim, SEG4, 9); // the first index in the header
        let report = scan_ok(&fs);
        invariant!(
            "checksum",
            matches!(report.damage.first(), Some(Damage::BadHeader { file, .. }) if file == SEG4),
            "a flipped bit in the header of {SEG4}: found {:?}",
            report.damage
        );
        distributed::invariant_eq!("checksum", report.last_consistent_index, 3, "report.last_consistent_index");

        let (_, fs) = three_segments();
        fs.remove_file(&path(SEG4)).expect("setup: remove segment 4");
        let report = scan_ok(&fs);
        invariant!(
            "ordered-recovery",
            report.damage.first() == Some(&Damage::Gap { file: SEG7.into(), expected: 4, found: 7 }),
            "segment 4 is missing: expected a Gap at {SEG7} (expected 4, found 7), found {:?}",
            report.damage
        );
        distributed::invariant_eq!(
            "checksum",
            (report.last_consistent_index, report.last_seen_index),
            (3, 9),
            "(report.last_consistent_index, report.last_seen_index)",
        );
    }
}

mod classify {
    use super::*;

    #[test]
    fn a_last_record_cut_short_is_a_torn_tail() {
        let (sim, fs) = three_segments();
        sim.truncate_durable(path(SEG7), 134).expect("setup: cut segment 7"); // entry 9 loses its last 10 bytes
        let report = scan_ok(&fs);
        match report.damage.as_slice() {
            [Damage::TornTail { file, offset: 104, bytes: 30, .. }] if file == SEG7 => {}
            other => {
                distributed::fail!("torn-tail", "expected TornTail in {SEG7} at offset 104, 30 bytes, found {other:?}",)
            }
        }
        distributed::invariant_eq!("torn-tail", report.worst(), Some(DamageClass::Tail), "report.worst()");
        distributed::invariant_eq!("torn-tail", report.last_consistent_index, 8, "report.last_consistent_index");
    }

    #[test]
    fn a_checksum_mismatch_followed_by_valid_records_is_corruption_not_a_torn_tail() {
        let (sim, fs) = three_segments();
        flip(&sim, SEG7, 24 + 20); // entry 7, the first record of the last segment
        let report = scan_ok(&fs);
        match report.damage.as_slice() {
            [Damage::Corrupt { file, offset: 24, index: 7, .. }] if file == SEG7 => {}
            other => distributed::fail!(
                "checksum",
                "entry 7 is damaged but entries 8 and 9 follow intact: expected Corrupt in {SEG7} at \
                 offset 24, found {other:?} (a torn tail is only what nothing valid follows)",
            ),
        }
        distributed::invariant_eq!(
            "checksum",
            (report.last_consistent_index, report.last_seen_index),
            (6, 9),
            "(report.last_consistent_index, report.last_seen_index)",
        );
    }

    #[test]
    fn a_sealed_segment_is_checked_by_its_footer() {
        // Segment 4 lost its footer: every record is valid, but a segment with a successor
        // ends with one.
        let (sim, fs) = three_segments();
        sim.truncate_durable(path(SEG4), 144).expect("setup: cut segment 4");
        let report = scan_ok(&fs);
        invariant!(
            "checksum",
            matches!(report.damage.as_slice(), [Damage::BadFooter { file, offset: 144, .. }] if file == SEG4),
            "{SEG4} cut just before its footer: expected one BadFooter at 144, found {:?}",
            report.damage
        );
        distributed::invariant_eq!("checksum", report.last_consistent_index, 6, "the records of 4 are valid");

        // A footer that names another last index (its own CRC then fails).
        let (sim, fs) = three_segments();
        flip(&sim, SEG4, 144 + 8);
        let report = scan_ok(&fs);
        invariant!(
            "checksum",
            matches!(report.damage.as_slice(), [Damage::BadFooter { file, offset: 144, .. }] if file == SEG4),
            "a flipped bit in the footer of {SEG4}: expected one BadFooter at 144, found {:?}",
            report.damage
        );

        // A sealed last segment, as a crash after its footer and before its successor leaves
        // it: intact, it is clean; a flipped bit in its last record is corruption, never a
        // torn tail, because the segment was complete and synced when it was sealed.
        let (sim, fs) = three_segments();
        fs.remove_file(&path(SEG7)).expect("setup: remove segment 7");
        let report = scan_ok(&fs);
        invariant!("checksum", report.is_clean(), "a sealed last segment is clean: found {:?}", report.damage);
        flip(&sim, SEG4, 104 + 30);
        let report = scan_ok(&fs);
        invariant!(
            "checksum",
            matches!(report.damage.as_slice(), [Damage::Corrupt { file, offset: 104, index: 6, .. }] if file == SEG4),
            "a flipped bit in the last record of a sealed last segment: expected Corrupt at 104, found {:?}",
            report.damage
        );
    }

    #[test]
    fn lost_pages_before_valid_records_are_a_tail_not_corruption() {
        // Segment 7 holds entries 7-16 in 1024-byte records (at 24 + 1024 k). The page
        // 4096..8192 reads as zeros, as when the page cache wrote the pages after it back and
        // not that one before the power went: entries 10 (at 3096, cut short) to 14 are gone,
        // 15 (at 8216) and 16 are intact. No sync can have acknowledged anything in a lost page
        // or after it, so this is a tail, at the first damaged record.
        let (sim, fs) = three_segments();
        let big = |i: u64| Entry::new(i, term_of(i), vec![i as u8; 1000]);
        let mut seven = header(7, 0);
        for i in 7..=16 {
            seven.extend(record(7, &big(i)));
        }
        seven[4096..8192].fill(0);
        sim.overwrite(path(SEG7), 0, &seven).expect("setup: write segment 7");
        let report = scan_ok(&fs);
        invariant!(
            "torn-tail",
            matches!(
                report.damage.as_slice(),
                [Damage::LostPages { file, offset: 3096, resumed: 8216, bytes: 5120 }] if file == SEG7
            ),
            "a zeroed page before valid records in the last segment: expected LostPages at 3096, valid again \
             at 8216 (5120 bytes), found {:?}",
            report.damage
        );
        distributed::invariant_eq!("torn-tail", report.worst(), Some(DamageClass::Tail), "report.worst()");
        distributed::invariant_eq!("torn-tail", report.last_consistent_index, 9, "consistent up to entry 9");
        let refused = recover(&fs, DIR, RecoveryMode::AbsoluteConsistency);
        invariant!(
            "torn-tail",
            matches!(refused, Err(RepairError::Refused { .. })),
            "AbsoluteConsistency must refuse lost pages as it refuses any tail: {refused:?}"
        );
        let recovery = recover(&fs, DIR, RecoveryMode::TolerateTailCorruption)
            .unwrap_or_else(|e| distributed::fail!("torn-tail", "the default mode refused lost pages: {e}"));
        distributed::invariant_eq!("torn-tail", recovery.last_index, 9, "cut back to entry 9, a copy kept");
    }

    #[test]
    fn zeros_end_the_log_only_when_nothing_but_zeros_follows() {
        let (sim, fs) = three_segments();
        sim.overwrite(path(SEG7), 144, &[0; 600]).expect("setup: append zeros"); // a preallocated tail
        let report = scan_ok(&fs);
        invariant!(
            "torn-tail",
            report.damage == [Damage::ZeroedTail { file: SEG7.into(), offset: 144, bytes: 600 }],
            "600 zeros after the last record: expected one ZeroedTail at 144, found {:?}",
            report.damage
        );
        distributed::invariant!("torn-tail", report.is_clean(), "zeros are never a record: nothing is lost");
        distributed::invariant_eq!("torn-tail", report.last_consistent_index, 9, "report.last_consistent_index");

        let (sim, fs) = three_segments();
        sim.overwrite(path(SEG7), 64, &[0; 40]).expect("setup: zero entry 8"); // entry 8 zeroed, entry 9 intact after it
        let report = scan_ok(&fs);
        invariant!(
            "checksum",
            matches!(report.damage.as_slice(), [Damage::Corrupt { offset: 64, index: 8, .. }]),
            "zeros with a valid record after them are not the end of the log: found {:?}",
            report.damage
        );
    }

    #[test]
    fn a_stale_record_with_a_valid_checksum_is_rejected_by_index_and_term() {
        // A record of segment 7 holding an index the log already has: a leftover.
        let (sim, fs) = three_segments();
        sim.overwrite(path(SEG7), 144, &record(7, &Entry::new(5, 2, b"old".to_vec())))
            .expect("setup: write a stale record");
        let report = scan_ok(&fs);
        invariant!(
            "ordered-recovery",
            matches!(report.damage.as_slice(), [Damage::StaleRecord { offset: 144, index: 5, .. }]),
            "a valid record of index 5 after entry 9: expected StaleRecord at 144, found {:?}",
            report.damage
        );
        // The next index, but a term lower than entry 9's.
        let (sim, fs) = three_segments();
        sim.overwrite(path(SEG7), 144, &record(7, &Entry::new(10, 1, b"old".to_vec())))
            .expect("setup: write a stale record");
        let report = scan_ok(&fs);
        invariant!(
            "append-only",
            matches!(report.damage.as_slice(), [Damage::StaleRecord { offset: 144, index: 10, term: 1, .. }]),
            "entry 10 with term 1 after entry 9 with term 3: expected StaleRecord, found {:?}",
            report.damage
        );
        // A record of segment 1 copied after entry 9: its checksum is salted with 1, not 7.
        let (sim, fs) = three_segments();
        sim.overwrite(path(SEG7), 144, &record(1, &Entry::new(10, 3, b"moved".to_vec())))
            .expect("setup: write a moved record");
        let report = scan_ok(&fs);
        invariant!(
            "checksum",
            matches!(report.damage.as_slice(), [Damage::TornTail { offset: 144, .. }]),
            "a record from segment 1 fails its checksum in segment 7 (a garbage tail): found {:?}",
            report.damage
        );
    }
}

/// Builds the three segments on `sim` inside a crash-explorer workload (each step a crash
/// point), damages the checksum of entry 5, and records `"setup"` once that is durable.
fn damaged_log_in_workload(sim: &SimFs, acked: &mut Vec<&'static str>) -> std::io::Result<FsRef> {
    let fs: FsRef = Arc::new(sim.clone());
    fs.create_dir_all(Path::new(DIR))?;
    for (name, first) in [(SEG1, 1), (SEG4, 4), (SEG7, 7)] {
        let file = fs.open(&path(name), OpenMode::Create)?;
        file.write_all_at(0, &log_file(first))?;
        file.sync_data()?;
    }
    fs.sync_dir(Path::new(DIR))?;
    sim.flip_bit(path(SEG4), (64 + 4) * 8 + 3)?;
    acked.push("setup");
    Ok(fs)
}

/// After a crash during recovery or repair: every byte that was cut or set aside is still on
/// disk in a `.broken` file, and recovery under `TolerateAnyCorruption`, run again, leaves a
/// log that holds entries `1..=k` as written, for some `k >= 4`.
fn check_nothing_lost_and_recovery_completes(disk: &SimFs) {
    let fs: FsRef = Arc::new(disk.clone());
    let names = disk.read_dir(Path::new(DIR)).unwrap_or_default();
    let copies: Vec<Vec<u8>> =
        names.iter().filter(|n| n.contains(".broken")).filter_map(|n| disk.contents(path(n)).ok()).collect();
    let original4 = sealed(4, 6);
    let mut damaged = original4.clone();
    damaged[64 + 4] ^= 1 << 3;
    let cut = &damaged[64..];
    let segment7 = segment(7, 9);
    let log_still_has = |name: &str, bytes: &[u8]| disk.contents(path(name)).is_ok_and(|c| c.ends_with(bytes));
    invariant!(
        "durability",
        log_still_has(SEG4, cut) || copies.iter().any(|c| c == cut),
        "the bytes cut from {SEG4} (offset 64 on) are neither in the segment nor in a .broken copy: {names:?}"
    );
    invariant!(
        "durability",
        log_still_has(SEG7, &segment7) || copies.contains(&segment7),
        "{SEG7} is neither in the log nor set aside whole: {names:?}"
    );
    let recovery = recover(&fs, DIR, RecoveryMode::TolerateAnyCorruption)
        .unwrap_or_else(|e| distributed::fail!("ordered-recovery", "recovery run again after the crash failed: {e}"));
    let wal = Wal::open(Arc::clone(&fs), DIR, WalOptions::default())
        .unwrap_or_else(|e| distributed::fail!("ordered-recovery", "lab 1 cannot open the log after recovery: {e}"));
    invariant!(
        "ordered-recovery",
        wal.last_index() >= 4 && wal.last_index() == recovery.last_index,
        "after recovery the log ends at {} (recovery said {}), but entries 1..=4 were intact",
        wal.last_index(),
        recovery.last_index
    );
    for index in 1..=wal.last_index() {
        let got =
            wal.entry(index).unwrap_or_else(|e| distributed::fail!("durability", "entry {index} is unreadable: {e}",));
        invariant!("ordered-recovery", got == entry(index), "entry {index} reads back as {got:?}");
    }
}

mod recover {
    use super::*;

    #[test]
    fn a_recovery_cut_short_by_a_crash_loses_nothing_and_completes_when_run_again() {
        // Recovery keeps a copy of the bytes it cuts, then cuts, then sets the later segments
        // aside: at every crash point, what it took away is still on disk, and the log is
        // consistent once recovery has returned.
        let report = CrashExplorer::new(lab_seed(0x21)).explore(
            |sim, acked: &mut Vec<&'static str>| -> Result<(), RepairError> {
                let fs = damaged_log_in_workload(sim, acked)?;
                recover(&fs, DIR, RecoveryMode::TolerateAnyCorruption)?;
                acked.push("recovered");
                Ok(())
            },
            |disk, acked| {
                if acked.last() == Some(&"recovered") {
                    let fs: FsRef = Arc::new(disk.clone());
                    let wal = Wal::open(fs, DIR, WalOptions::default()).unwrap_or_else(|e| {
                        distributed::fail!(
                            "durability",
                            "recovery returned, but after a crash the log does not open: {e}",
                        )
                    });
                    invariant!(
                        "durability",
                        wal.last_index() == 4,
                        "recovery returned with the log at 4, after the crash it ends at {}",
                        wal.last_index()
                    );
                }
                if !acked.is_empty() {
                    check_nothing_lost_and_recovery_completes(disk);
                }
            },
        );
        eprintln!("explored {} crash points, {} disk images", report.crash_points, report.images_checked);
    }

    #[test]
    fn the_default_mode_cuts_a_torn_tail_and_keeps_a_copy_of_the_cut_bytes() {
        let (sim, fs) = three_segments();
        sim.truncate_durable(path(SEG7), 130).expect("setup: cut segment 7");
        let cut_bytes = sim.contents(path(SEG7)).expect("setup: read segment 7")[104..].to_vec();
        let recovery = distributed::invariant_ok!(
            "torn-tail",
            recover(&fs, DIR, RecoveryMode::default()),
            "the default mode cuts a torn tail"
        );
        let kept = format!("{SEG7}.broken");
        distributed::invariant_eq!(
            "torn-tail",
            recovery.actions,
            [Action::Cut { file: SEG7.into(), offset: 104, bytes: 26, kept: kept.clone() }],
            "one cut, at the end of entry 8, copied to {kept}",
        );
        distributed::invariant_eq!("torn-tail", recovery.last_index, 8, "recovery.last_index");
        invariant!(
            "torn-tail",
            sim.contents(path(&kept)).unwrap_or_default() == cut_bytes,
            "{kept} must hold exactly the 26 bytes that were cut"
        );
        distributed::invariant_eq!(
            "torn-tail",
            distributed::invariant_ok!("torn-tail", sim.contents(path(SEG7)), "{SEG7} is kept").len(),
            104,
            "the segment ends after entry 8",
        );
        assert_holds_prefix(&fs, 8);
        let wal = distributed::invariant_ok!(
            "torn-tail",
            Wal::open(Arc::clone(&fs), DIR, WalOptions::default()),
            "lab 1 opens the recovered log"
        );
        distributed::invariant_ok!("torn-tail", wal.append(&[entry(9)]), "the next append works");
    }

    #[test]
    fn corruption_is_refused_by_default_and_nothing_on_disk_changes() {
        let (sim, fs) = three_segments();
        flip(&sim, SEG4, 104 + 8); // the index field of entry 6
        let before = sim.listing();
        match recover(&fs, DIR, RecoveryMode::TolerateTailCorruption) {
            Err(error @ RepairError::Refused { .. }) => {
                distributed::invariant!(
                    "checksum",
                    error.to_string().starts_with("[checksum]"),
                    "the error names the invariant: {error}",
                );
                let RepairError::Refused { report, .. } = error else { unreachable!() };
                invariant!(
                    "checksum",
                    matches!(report.damage.as_slice(), [Damage::Corrupt { file, offset: 104, index: 6, .. }] if file == SEG4),
                    "the refusal reports Corrupt in {SEG4} at offset 104: {:?}",
                    report.damage
                );
            }
            other => distributed::fail!(
                "checksum",
                "corruption in a sealed segment must be refused by default, got {other:?}",
            ),
        }
        invariant!("checksum", sim.listing() == before, "a refused recovery changed the disk");
    }

    #[test]
    fn absolute_consistency_refuses_even_a_torn_tail_but_accepts_zeros() {
        let (sim, fs) = three_segments();
        sim.truncate_durable(path(SEG7), 130).expect("setup: cut segment 7");
        let before = sim.listing();
        let result = recover(&fs, DIR, RecoveryMode::AbsoluteConsistency);
        invariant!(
            "torn-tail",
            matches!(result, Err(RepairError::Refused { mode: RecoveryMode::AbsoluteConsistency, .. })),
            "AbsoluteConsistency must refuse a torn tail, got {result:?}"
        );
        distributed::invariant_eq!("torn-tail", sim.listing(), before, "a refused recovery changed the disk");

        let (sim, fs) = three_segments();
        sim.overwrite(path(SEG7), 144, &[0; 100]).expect("setup: append zeros");
        let recovery = distributed::invariant_ok!(
            "torn-tail",
            recover(&fs, DIR, RecoveryMode::AbsoluteConsistency),
            "zeros are a clean end"
        );
        distributed::invariant_eq!(
            "torn-tail",
            recovery.actions,
            [Action::TrimmedZeros { file: SEG7.into(), offset: 144, bytes: 100 }],
            "recovery.actions",
        );
        assert_holds_prefix(&fs, 9);
    }

    #[test]
    fn tolerate_any_keeps_the_longest_valid_prefix_and_sets_the_rest_aside() {
        let (sim, fs) = three_segments();
        let seg7 = sim.contents(path(SEG7)).expect("setup: read segment 7");
        flip(&sim, SEG4, 64 + 4); // the checksum of entry 5
        let recovery = distributed::invariant_ok!(
            "ordered-recovery",
            recover(&fs, DIR, RecoveryMode::TolerateAnyCorruption),
            "TolerateAny always recovers"
        );
        distributed::invariant_eq!("durability", recovery.report.lost(), Some(5..=9), "the report says what is lost");
        distributed::invariant_eq!("ordered-recovery", recovery.last_index, 4, "the log is cut back to entry 4");
        distributed::invariant_eq!(
            "ordered-recovery",
            recovery.actions,
            [
                Action::Cut { file: SEG4.into(), offset: 64, bytes: 100, kept: format!("{SEG4}.broken") },
                Action::SetAside { file: SEG7.into(), kept: format!("{SEG7}.broken") },
            ],
            "recovery.actions",
        );
        distributed::invariant_eq!(
            "ordered-recovery",
            distributed::invariant_ok!(
                "ordered-recovery",
                sim.contents(path(&format!("{SEG7}.broken"))),
                "the set-aside copy exists"
            ),
            seg7,
            "the set-aside segment is intact",
        );
        assert_holds_prefix(&fs, 4);
    }
}

mod repair {
    use super::*;

    /// A peer holding entries 1..=9 as written, or a changed copy of them.
    struct TestPeer(Vec<Entry>);

    impl Peer for TestPeer {
        fn entries(&self, low: u64, high: u64) -> Result<Vec<Entry>, PeerError> {
            Ok(self.0.iter().filter(|e| (low..high).contains(&e.index)).cloned().collect())
        }
    }

    #[test]
    fn a_peer_fills_the_lost_range_and_the_log_is_whole_again() {
        let (sim, fs) = three_segments();
        flip(&sim, SEG4, 64 + 30);
        let report = scan_ok(&fs);
        let outcome = repair_from_peer(&fs, DIR, &report, &TestPeer(log_entries()), WalOptions::default())
            .unwrap_or_else(|e| distributed::fail!("durability", "repair failed: {e}"));
        distributed::invariant_eq!(
            "ordered-recovery",
            (outcome.rollback.last_index, outcome.fetched.clone()),
            (4, 5..10),
            "rolled back to 4, fetched 5..10",
        );
        distributed::invariant_eq!("durability", outcome.last_index, 9, "outcome.last_index");
        assert_holds_prefix(&fs, 9);
        distributed::invariant!("checksum", scan_ok(&fs).is_clean(), "the repaired log scans clean");
        let after = Arc::new(sim.crash(CrashMode::Strict)) as FsRef;
        assert_holds_prefix(&after, 9);
    }

    #[test]
    fn a_repair_cut_short_by_a_crash_loses_nothing_and_a_finished_one_is_durable() {
        // The sync policy is `Never`: repair must sync what it appended itself before it
        // returns, whatever the log's policy.
        let options = WalOptions { sync: SyncPolicy::Never, ..WalOptions::default() };
        let report = CrashExplorer::new(lab_seed(0x22)).explore(
            |sim, acked: &mut Vec<&'static str>| -> Result<(), RepairError> {
                let fs = damaged_log_in_workload(sim, acked)?;
                let report = scan(&fs, DIR)?;
                repair_from_peer(&fs, DIR, &report, &TestPeer(log_entries()), options)?;
                acked.push("repaired");
                Ok(())
            },
            |disk, acked| {
                if acked.last() == Some(&"repaired") {
                    let fs: FsRef = Arc::new(disk.clone());
                    let wal = Wal::open(fs, DIR, WalOptions::default()).unwrap_or_else(|e| {
                        distributed::fail!(
                            "durability",
                            "repair returned, but after a crash the log does not open: {e}",
                        )
                    });
                    invariant!(
                        "durability",
                        wal.last_index() == 9,
                        "repair returned with entries 1..=9, but after a crash the log ends at {}",
                        wal.last_index()
                    );
                }
                if !acked.is_empty() {
                    check_nothing_lost_and_recovery_completes(disk);
                }
            },
        );
        eprintln!("explored {} crash points, {} disk images", report.crash_points, report.images_checked);
    }

    #[test]
    fn a_peer_whose_entries_do_not_fit_is_refused_before_anything_changes() {
        type Lie = Box<dyn Fn(&mut Vec<Entry>)>;
        let liars: [(&str, Lie); 4] = [
            ("sends one entry too few", Box::new(|log| log.retain(|e| e.index != 9))),
            ("skips entry 7", Box::new(|log| log.retain(|e| e.index != 7))),
            ("sends entry 8 with a lower term", Box::new(|log| log[7].term = 1)),
            ("disagrees about entry 4, the last one kept", Box::new(|log| log[3].data = b"other".to_vec())),
        ];
        for (what, lie) in liars {
            let (sim, fs) = three_segments();
            flip(&sim, SEG4, 64 + 30);
            let report = scan_ok(&fs);
            let before = sim.listing();
            let mut entries = log_entries();
            lie(&mut entries);
            match repair_from_peer(&fs, DIR, &report, &TestPeer(entries), WalOptions::default()) {
                Err(error @ RepairError::PeerMismatch { .. }) => {
                    distributed::invariant!(
                        "matching",
                        error.to_string().starts_with("[matching]"),
                        "the error names the invariant: {error}",
                    )
                }
                other => distributed::fail!("matching", "a peer that {what} must be refused, got {other:?}"),
            }
            invariant!("matching", sim.listing() == before, "a peer that {what} was refused, but the disk changed");
        }
    }
}
