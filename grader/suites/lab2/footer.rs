//! Sealed segments checked by their footers: each field damaged, a footer cut away, a sealed
//! last segment damaged anywhere inside, and a repair that rewrites sealed segments.

use distributed::invariant;
use distributed::storage::Entry;
use distributed::vfs::Vfs;
use lab1::format::encode_record;
use lab1::{SyncPolicy, Wal, WalOptions};
use lab2::{Damage, DamageClass, Peer, PeerError, RecoveryMode, repair_from_peer, scan};

use crate::{
    DIR, MODES, check_recovery, disk_with, footer_bytes, log_entries, name, path, segment_bytes, three_segments,
};

#[test]
fn a_footer_damaged_in_each_field_or_cut_away_is_reported_at_the_footer() {
    // Segment 4's footer is bytes 144..164: marker, segment CRC, last index, footer CRC.
    for (field, bytes) in [("marker", 144..148), ("segment CRC", 148..152), ("last index", 152..160), ("CRC", 160..164)]
    {
        for byte in bytes {
            let mut files = three_segments();
            files.get_mut(&name(4)).expect("setup: segment 4")[byte] ^= 0x10;
            let (sim, fs) = disk_with(&files);
            let report = scan(&fs, DIR).unwrap_or_else(|e| distributed::fail!("checksum", "scan failed: {e}"));
            let ok = match report.damage.as_slice() {
                // A damaged marker is not recognizable as a footer: bad bytes where the next
                // record would be, in a sealed segment.
                [Damage::Corrupt { file, offset: 144, .. }] if field == "marker" => *file == name(4),
                [Damage::BadFooter { file, offset: 144, .. }] => *file == name(4),
                _ => false,
            };
            invariant!(
                "checksum",
                ok,
                "byte {byte} (the footer's {field}) of {} damaged: expected one BadFooter at 144, found {report}",
                name(4)
            );
            invariant!("checksum", report.last_consistent_index == 6, "the records of 4 are intact: {report}");
            check_recovery(&sim, &fs, RecoveryMode::TolerateAnyCorruption, &log_entries(), &format!("{field} damaged"));
        }
    }
    // The footer cut away, with or without the last record.
    for (len, consistent) in [(144usize, 6u64), (104, 5)] {
        let mut files = three_segments();
        files.get_mut(&name(4)).expect("setup: segment 4").truncate(len);
        let (_, fs) = disk_with(&files);
        let report = scan(&fs, DIR).unwrap_or_else(|e| distributed::fail!("checksum", "scan failed: {e}"));
        invariant!(
            "checksum",
            report.damage.iter().any(
                |d| matches!(d, Damage::BadFooter { file, offset, .. } if *file == name(4) && *offset == len as u64)
            ),
            "{} cut to {len} bytes: expected a BadFooter at {len}, found {report}",
            name(4)
        );
        invariant!("checksum", report.last_consistent_index == consistent, "consistent up to {consistent}: {report}");
    }
}

#[test]
fn damage_anywhere_in_a_sealed_last_segment_is_corruption_never_a_torn_tail() {
    // A crash after segment 4's footer, before segment 7 existed: 4 is last, and sealed.
    let mut files = three_segments();
    files.remove(&name(7));
    for byte in 24..144 {
        let mut damaged = files.clone();
        damaged.get_mut(&name(4)).expect("setup: segment 4")[byte] ^= 0x04;
        let (sim, fs) = disk_with(&damaged);
        let report = scan(&fs, DIR).unwrap_or_else(|e| distributed::fail!("checksum", "scan failed: {e}"));
        invariant!(
            "checksum",
            report.worst() == Some(DamageClass::Corruption)
                && report.damage.iter().all(|d| d.class() != DamageClass::Tail),
            "byte {byte} of the sealed last segment {} damaged: expected corruption, no torn tail, found {report}",
            name(4)
        );
        for mode in MODES {
            check_recovery(&sim, &fs, mode, &log_entries()[..6], &format!("byte {byte} of sealed 4, {mode:?}"));
        }
    }
}

struct Honest;

impl Peer for Honest {
    fn entries(&self, low: u64, high: u64) -> Result<Vec<Entry>, PeerError> {
        Ok(log_entries().into_iter().filter(|e| (low..high).contains(&e.index)).collect())
    }
}

#[test]
fn a_repair_rewrites_sealed_segments_with_their_footers() {
    // Entry 5 damaged in the sealed segment 4: the repair cuts 4 at entry 5 (its footer goes
    // with the cut), sets 7 aside, and appends 5-9 from the peer through lab 1, whose rollovers
    // seal every segment but the last again.
    let mut files = three_segments();
    files.get_mut(&name(4)).expect("setup: segment 4")[64 + 30] ^= 1;
    let (sim, fs) = disk_with(&files);
    let report = scan(&fs, DIR).unwrap_or_else(|e| distributed::fail!("checksum", "scan failed: {e}"));
    let options = WalOptions { sync: SyncPolicy::EveryAppend, segment_size: 144 };
    repair_from_peer(&fs, DIR, &report, &Honest, options)
        .unwrap_or_else(|e| distributed::fail!("durability", "repair from an honest peer failed: {e}"));
    let after = scan(&fs, DIR).unwrap_or_else(|e| distributed::fail!("checksum", "scan failed: {e}"));
    invariant!("checksum", after.is_clean(), "after the repair the log still has damage: {after}");
    let mut names: Vec<String> = sim
        .read_dir(std::path::Path::new(DIR))
        .expect("setup: list the directory")
        .into_iter()
        .filter(|n| n.ends_with(".wal"))
        .collect();
    names.sort();
    for sealed in &names[..names.len() - 1] {
        let bytes = distributed::invariant_ok!("checksum", sim.contents(path(sealed)), "{sealed} reads back");
        let at = bytes.len().saturating_sub(20);
        let footer = &bytes[at..];
        invariant!(
            "checksum",
            at >= 24
                && footer[0..4] == [0xFF; 4]
                && footer[4..8] == crc32fast::hash(&bytes[..at]).to_le_bytes()
                && footer[16..20] == crc32fast::hash(&footer[..16]).to_le_bytes(),
            "after the repair, {sealed} has a successor but no footer that matches it ({names:?})"
        );
    }
    let wal = Wal::open(fs, DIR, options)
        .unwrap_or_else(|e| distributed::fail!("durability", "lab 1 cannot open the repaired log: {e}"));
    let held = wal.entries(1, 10).unwrap_or_else(|e| distributed::fail!("durability", "reading 1-9 failed: {e}"));
    invariant!("durability", held == log_entries(), "after the repair the log does not hold entries 1-9 as written");
}

#[test]
fn a_footer_at_the_end_of_the_last_segment_seals_it_only_if_it_could_be_its_own() {
    let entries = log_entries();
    let seven = name(7);
    // Segment 7 sealed after one record, by a crash before its successor was created: a flipped
    // bit in entry 7 is corruption in a sealed segment, never a torn tail.
    let mut files = three_segments();
    let mut bytes = segment_bytes(7, &entries[6..7]);
    bytes.extend(footer_bytes(&bytes.clone(), 7));
    bytes[24 + 30] ^= 1;
    files.insert(seven.clone(), bytes);
    let (_, fs) = disk_with(&files);
    let report = distributed::invariant_ok!("checksum", scan(&fs, DIR), "scan(..)");
    invariant!(
        "checksum",
        matches!(report.damage.as_slice(), [Damage::Corrupt { file, offset: 24, index: 7, .. }] if *file == seven),
        "{seven} ends with its own footer (last index 7) after one damaged record: expected Corrupt at 24, found \
         {report}"
    );
    // Segment 7 holds entries 7-9 and a torn record, and its file ends with the footer of
    // another segment, left in a recycled file: it names last index 40, which 204 bytes
    // starting at index 7 cannot hold. It does not seal segment 7, whose tail is torn.
    let mut files = three_segments();
    let mut bytes = segment_bytes(7, &entries[6..9]);
    let mut torn = encode_record(7, &Entry::new(10, 3, vec![0x5A; 16]));
    torn[30] ^= 1;
    bytes.extend(torn);
    bytes.extend(footer_bytes(b"the bytes of another segment", 40));
    let file_len = bytes.len() as u64;
    files.insert(seven.clone(), bytes);
    let (_, fs) = disk_with(&files);
    let report = distributed::invariant_ok!("checksum", scan(&fs, DIR), "scan(..)");
    invariant!(
        "torn-tail",
        matches!(
            report.damage.as_slice(),
            [Damage::TornTail { file, offset: 144, bytes, .. }] if *file == seven && *bytes == file_len - 144
        ),
        "{seven} ends with a footer naming last index 40, another segment's: expected a TornTail at 144 of {} \
         bytes, found {report}",
        file_len - 144
    );
    // Segment 7 sealed by its own footer, entries 7-16 in 1024-byte records, the page
    // 4096..8192 zeroed: the shape of lost pages, but a sealed segment was synced whole, so
    // it is corruption where entry 10 should be (at 3096), not lost pages.
    let mut files = three_segments();
    let big: Vec<Entry> = (7..=16).map(|i| Entry::new(i, 3, vec![i as u8; 1000])).collect();
    let mut bytes = segment_bytes(7, &big);
    bytes.extend(footer_bytes(&bytes.clone(), 16));
    bytes[4096..8192].fill(0);
    files.insert(seven.clone(), bytes);
    let (_, fs) = disk_with(&files);
    let report = distributed::invariant_ok!("checksum", scan(&fs, DIR), "scan(..)");
    invariant!(
        "checksum",
        matches!(report.damage.as_slice(), [Damage::Corrupt { file, offset: 3096, index: 10, .. }] if *file == seven),
        "a zeroed page in {seven}, sealed by its own footer: expected Corrupt at 3096 where entry 10 should be, \
         found {report}"
    );
    // Segment 7 unsealed, its footer cut short by a crash while it was written (10 of its 20
    // bytes): a torn tail from the footer's offset to the end of the file.
    let mut files = three_segments();
    let mut bytes = segment_bytes(7, &entries[6..9]);
    let footer = footer_bytes(&bytes.clone(), 9);
    bytes.extend_from_slice(&footer[..10]);
    files.insert(seven.clone(), bytes);
    let (_, fs) = disk_with(&files);
    let report = distributed::invariant_ok!("torn-tail", scan(&fs, DIR), "scan(..)");
    invariant!(
        "torn-tail",
        matches!(report.damage.as_slice(), [Damage::TornTail { file, offset: 144, bytes: 10, .. }] if *file == seven),
        "the first 10 bytes of a footer end the unsealed {seven}: expected a TornTail at 144 of 10 bytes, found \
         {report}"
    );
}
