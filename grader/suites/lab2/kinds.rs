//! Kinds of damage one by one: zeros, stale records, headers that name another segment.

use distributed::invariant;
use distributed::storage::Entry;
use lab1::format::{SegmentHeader, encode_record};
use lab2::{Damage, RecoveryMode, scan};

use crate::{DIR, Files, MODES, check_recovery, disk_with, log_entries, name, path, segment_bytes, three_segments};

#[test]
fn preallocated_zero_tails_are_trimmed_in_every_segment() {
    let mut files = three_segments();
    for bytes in files.values_mut() {
        bytes.resize(bytes.len() + 700, 0);
    }
    for mode in MODES {
        let (sim, fs) = disk_with(&files);
        let report = check_recovery(&sim, &fs, mode, &log_entries(), &format!("zero tails, {mode:?}"));
        // After the footer (at 164) in the sealed segments 1 and 4, after the last record (at
        // 144) in segment 7.
        let zeros: Vec<_> = report
            .damage
            .iter()
            .filter(|d| {
                let end = if d.file() == name(7) { 144 } else { 164 };
                matches!(d, Damage::ZeroedTail { offset, bytes: 700, .. } if *offset == end)
            })
            .collect();
        invariant!(
            "torn-tail",
            zeros.len() == 3 && report.damage.len() == 3,
            "expected three ZeroedTail, at 164 after the footers of 1 and 4 and at 144 in 7: {report}"
        );
        invariant!("torn-tail", report.last_consistent_index == 9, "zeros lose nothing: {report}");
    }
}

#[test]
fn zeros_with_anything_after_them_are_damage() {
    // A zeroed record in a sealed segment, in the middle of the last one, and zeros to the end
    // of the last segment but for one byte.
    let cases: [(u64, u64, usize, &str); 3] =
        [(4, 64, 40, "corrupt"), (7, 24, 40, "corrupt"), (7, 104, 40 + 300, "torn")];
    for (first, offset, len, kind) in cases {
        let mut files = three_segments();
        let bytes = files.get_mut(&name(first)).expect("setup: a segment");
        bytes.resize(bytes.len().max(offset as usize + len), 0);
        bytes[offset as usize..offset as usize + len].fill(0);
        if kind == "torn" {
            *bytes.last_mut().expect("setup: a byte") = 1;
        }
        let (_, fs) = disk_with(&files);
        let report = distributed::invariant_ok!("checksum", scan(&fs, DIR), "scan(..)");
        let ok = match (kind, report.damage.as_slice()) {
            ("corrupt", [Damage::Corrupt { offset: at, .. }]) => *at == offset,
            ("torn", [Damage::TornTail { offset: at, .. }]) => *at == offset,
            _ => false,
        };
        invariant!(
            "checksum",
            ok,
            "{len} zeros at {offset} of segment {first} with data after them: expected {kind} at {offset}, found {:?}",
            report.damage
        );
    }
}

/// Segment 7 in a recycled file: a new header and entry 7, then what the file held before.
fn recycled(old: Vec<u8>, keep_from: usize) -> Files {
    let mut files = three_segments();
    let entries = log_entries();
    let mut bytes = segment_bytes(7, &entries[6..7]);
    bytes.extend_from_slice(&old[keep_from..]);
    files.insert(name(7), bytes);
    files
}

#[test]
fn records_of_another_segment_in_a_recycled_file_are_never_returned() {
    // The file used to be segment 1: its records after offset 64 are valid, but salted with 1.
    let old = three_segments()[&name(1)].clone();
    let files = recycled(old, 64);
    for mode in MODES {
        let (sim, fs) = disk_with(&files);
        let report = check_recovery(&sim, &fs, mode, &log_entries(), &format!("recycled segment 1, {mode:?}"));
        invariant!(
            "checksum",
            matches!(report.damage.as_slice(), [Damage::TornTail { offset: 64, .. }]),
            "stale records salted for another segment must fail their checksum (a torn tail at 64): {report}"
        );
    }
}

#[test]
fn an_earlier_life_of_the_same_segment_is_refused_by_index_and_term() {
    // The file was segment 7 before, in an older history: entry 8 of term 2 (not 3) and 9.
    let older: Vec<Entry> = (7..=9).map(|i| Entry::new(i, 2, format!("old {i}").into_bytes())).collect();
    let mut old = segment_bytes(7, &older);
    let entries = log_entries();
    // The new history's entry 7 has term 2; give its successor a new term so the old 8 goes back.
    let mut new_seven = entries[6].clone();
    new_seven.term = 3;
    let mut original = entries.clone();
    original[6] = new_seven.clone();
    let mut bytes = SegmentHeader { first_index: 7, flags: 0 }.encode().to_vec();
    bytes.extend(encode_record(7, &new_seven));
    // Align the old bytes so that old entry 8 starts right after the new entry 7.
    let old_eight_at = 24 + encode_record(7, &older[0]).len();
    bytes.extend(old.split_off(old_eight_at));
    let mut files = three_segments();
    files.insert(name(7), bytes);
    for mode in MODES {
        let (sim, fs) = disk_with(&files);
        let report = check_recovery(&sim, &fs, mode, &original[..7], &format!("older life of segment 7, {mode:?}"));
        invariant!(
            "ordered-recovery",
            matches!(report.damage.first(), Some(Damage::StaleRecord { index: 8, term: 2, .. })),
            "an old entry 8 of term 2 after entry 7 of term 3 is stale: {report}"
        );
        invariant!("ordered-recovery", report.last_consistent_index == 7, "the log is consistent up to 7: {report}");
    }
}

#[test]
fn a_header_naming_another_segment_is_bad() {
    let mut files = three_segments();
    let four = files[&name(4)].clone();
    files.insert(name(7), four);
    let (sim, fs) = disk_with(&files);
    let report = check_recovery(&sim, &fs, RecoveryMode::TolerateAnyCorruption, &log_entries(), "segment 4 named 7");
    invariant!(
        "on-disk-format",
        matches!(report.damage.as_slice(), [Damage::BadHeader { file, .. }] if *file == name(7)),
        "a header saying 4 in a file named 7: expected BadHeader, found {report}"
    );
    invariant!("on-disk-format", report.last_consistent_index == 6, "consistent up to 6: {report}");
    let misnamed_left = fs.exists(&path(&name(7))).expect("setup: look the file up");
    distributed::invariant!("on-disk-format", !misnamed_left, "the misnamed file is set aside");
}

#[test]
fn after_bad_bytes_only_a_record_with_the_next_index_or_later_and_no_lower_term_continues_the_log() {
    // Segment 7 holds entries 7-9 (entry 9 of term 3), then a record of entry 10 whose data a
    // flipped bit broke (144..184), then one record with a valid checksum of segment 7, the last
    // bytes of the file: a leftover of an earlier life of the file, or the log going on.
    let entries = log_entries();
    let mut broken_ten = encode_record(7, &Entry::new(10, 3, vec![0x5A; 16]));
    broken_ten[30] ^= 1;
    let most = lab1::format::MAX_ENTRY_DATA;
    let cases: [(&str, Entry, bool); 5] = [
        ("entry 8 of term 3, before the missing 10", Entry::new(8, 3, b"old 8".to_vec()), false),
        ("entry 11 of term 2, below entry 9's term 3", Entry::new(11, 2, b"old 11".to_vec()), false),
        ("entry 11 of term 3", Entry::new(11, 3, b"new 11".to_vec()), true),
        ("entry 10 of term 3 with no data", Entry::new(10, 3, Vec::new()), true),
        ("entry 10 of term 3 with the most data a record holds", Entry::new(10, 3, vec![0x33; most]), true),
    ];
    for (what, after, goes_on) in cases {
        let mut files = three_segments();
        let mut seven = segment_bytes(7, &entries[6..9]);
        seven.extend_from_slice(&broken_ten);
        seven.extend(encode_record(7, &after));
        let file_len = seven.len() as u64;
        files.insert(name(7), seven);
        let (_, fs) = disk_with(&files);
        let report = distributed::invariant_ok!("torn-tail", scan(&fs, DIR), "{what}: scan(..)");
        let seven = name(7);
        if goes_on {
            invariant!(
                "checksum",
                matches!(report.damage.as_slice(), [Damage::Corrupt { file, offset: 144, index: 10, .. }] if *file == seven),
                "bad bytes at 144 of {seven}, then {what}: the log goes on after them, expected one Corrupt at 144 \
                 where entry 10 should be, found {report}"
            );
            distributed::invariant_eq!(
                "checksum",
                (report.last_consistent_index, report.last_seen_index),
                (9, after.index),
                "{what}: consistent up to 9, seen up to {}",
                after.index
            );
        } else {
            invariant!(
                "torn-tail",
                matches!(
                    report.damage.as_slice(),
                    [Damage::TornTail { file, offset: 144, bytes, .. }] if *file == seven && *bytes == file_len - 144
                ),
                "bad bytes at 144 of {seven}, then {what}: that record does not continue the log, expected one \
                 TornTail at 144 of {} bytes, found {report}",
                file_len - 144
            );
            distributed::invariant_eq!(
                "torn-tail",
                (report.last_consistent_index, report.last_seen_index),
                (9, 9),
                "{what}: nothing of the log is known past entry 9"
            );
        }
    }
}
