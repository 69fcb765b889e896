//! Damage at every byte: bit flips, truncations, random overwrites.

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::Entry;
use lab2::{Damage, DamageClass, scan};
use proptest::prelude::*;

use crate::{
    MODES, check_recovery, check_recovery_with, disk_with, log_entries, name, path, segment_bytes, three_segments,
};

/// The start of the record holding byte `byte` of a segment (`None` in the header).
fn record_start(byte: u64) -> Option<u64> {
    (byte >= 24).then(|| 24 + (byte - 24) / 40 * 40)
}

#[test]
fn every_bit_flip_is_reported_at_its_record_with_the_right_kind() {
    let files = three_segments();
    let last = name(7);
    for (file, bytes) in &files {
        for byte in 0..bytes.len() as u64 {
            for bit in 0..8 {
                let (sim, fs) = disk_with(&files);
                sim.flip_bit(path(file), byte * 8 + bit).expect("setup: flip a bit");
                let report =
                    scan(&fs, crate::DIR).unwrap_or_else(|e| distributed::fail!("checksum", "scan failed: {e}",));
                let place = format!("bit {bit} of byte {byte} of {file}");
                let [damage] = report.damage.as_slice() else {
                    distributed::fail!(
                        "checksum",
                        "{place} flipped: expected exactly one damage, found {:?}",
                        report.damage,
                    )
                };
                invariant!("checksum", damage.file() == file, "{place} flipped, but the report names {damage}");
                match record_start(byte) {
                    None => invariant!(
                        "checksum",
                        matches!(damage, Damage::BadHeader { .. }),
                        "{place} (in the header) flipped: expected BadHeader, found {damage}"
                    ),
                    Some(start) => {
                        invariant!(
                            "checksum",
                            damage.offset() == start,
                            "{place} flipped: the damage must be reported at its record's offset {start}, found {damage}"
                        );
                        let tail = *file == last && start == 104;
                        let class = if tail { DamageClass::Tail } else { DamageClass::Corruption };
                        invariant!(
                            "checksum",
                            damage.class() == class,
                            "{place} flipped: expected {class:?} (only the last record of the last segment can be a \
                             torn tail), found {damage}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn no_bit_flip_is_returned_or_lost_silently_in_any_mode() {
    let files = three_segments();
    let original = log_entries();
    let mut rng = TestRng::new(lab_seed(0x21));
    for (file, bytes) in &files {
        for byte in 0..bytes.len() as u64 {
            let bit = rng.below(8);
            for mode in MODES {
                let (sim, fs) = disk_with(&files);
                sim.flip_bit(path(file), byte * 8 + bit).expect("setup: flip a bit");
                let context = format!("bit {bit} of byte {byte} of {file} flipped, {mode:?}");
                check_recovery(&sim, &fs, mode, &original, &context);
            }
        }
    }
}

#[test]
fn every_truncation_recovers_a_prefix_and_reports_what_it_lost() {
    let files = three_segments();
    let original = log_entries();
    for (file, bytes) in &files {
        for len in 0..bytes.len() as u64 {
            for mode in MODES {
                let (sim, fs) = disk_with(&files);
                sim.truncate_durable(path(file), len).expect("setup: cut a file");
                let context = format!("{file} cut to {len} bytes, {mode:?}");
                let at_boundary = *file == name(7) && len >= 24 && (len - 24) % 40 == 0;
                let report = check_recovery_with(&sim, &fs, mode, &original, &context, at_boundary);
                if !at_boundary {
                    invariant!(
                        "durability",
                        !report.damage.is_empty(),
                        "{context}: a cut inside a record or a sealed segment must be reported"
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(distributed::testing::proptest_config(0x22, 200))]

    #[test]
    fn random_overwrites_never_return_a_damaged_entry(
        segment in 0usize..3,
        offset in 0u64..150,
        garbage in proptest::collection::vec(any::<u8>(), 1..60),
        mode in 0usize..3,
    ) {
        let files = three_segments();
        let file = files.keys().nth(segment).expect("setup: a segment").clone();
        let (sim, fs) = disk_with(&files);
        sim.overwrite(path(&file), offset, &garbage).expect("setup: overwrite bytes");
        let context = format!("{} bytes overwritten at {offset} of {file}", garbage.len());
        check_recovery(&sim, &fs, MODES[mode], &log_entries(), &context);
    }
}

#[test]
fn a_segment_larger_than_any_read_buffer_is_checked_to_its_last_byte() {
    // Segment 7 holds entries 7..=406, 1 KiB of data each: 1048-byte records at 24 + 1048 k,
    // 419 224 bytes in all. Damage far from the start is found at its exact record.
    let big: Vec<Entry> = (7..=406).map(|i| Entry::new(i, 3, vec![(i % 250 + 1) as u8; 1024])).collect();
    let at = |index: u64| 24 + (index - 7) * 1048;
    let mut files = three_segments();
    files.insert(name(7), segment_bytes(7, &big));
    let seven = name(7);
    let (_, fs) = disk_with(&files);
    let report = distributed::invariant_ok!("checksum", scan(&fs, crate::DIR), "scan(..)");
    invariant!(
        "checksum",
        report.damage.is_empty() && report.last_consistent_index == 406,
        "a clean segment of 419 224 bytes: expected no damage, consistent up to 406, found {report}"
    );
    for (index, bit) in [(300u64, 3u64), (406, 5)] {
        let (sim, fs) = disk_with(&files);
        sim.flip_bit(path(&seven), (at(index) + 500) * 8 + bit).expect("setup: flip a bit");
        let report = distributed::invariant_ok!("checksum", scan(&fs, crate::DIR), "scan(..)");
        let found = match report.damage.as_slice() {
            [Damage::Corrupt { file, offset, index: i, .. }] if index < 406 => {
                *file == seven && *offset == at(index) && *i == index
            }
            [Damage::TornTail { file, offset, bytes: 1048, .. }] if index == 406 => {
                *file == seven && *offset == at(index)
            }
            _ => false,
        };
        invariant!(
            "checksum",
            found
                && (report.last_consistent_index, report.last_seen_index)
                    == (index - 1, if index < 406 { 406 } else { 405 }),
            "a bit flipped in entry {index} (at {}) of {seven}: expected one {} there, consistent up to {}, \
             found {report}",
            at(index),
            if index < 406 { "Corrupt" } else { "TornTail of 1048 bytes" },
            index - 1
        );
    }
}
