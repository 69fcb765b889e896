//! The bytes on disk, read by a parser written from the chapter's byte tables alone, and
//! rollover at exact boundaries.

use std::path::Path;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::Entry;
use distributed::testing::{entries, payload, sim_disk};
use distributed::vfs::Vfs;
use lab1::SyncPolicy;

use crate::{DIR, open_on, options};

/// A segment file as the chapter's byte tables read it.
pub struct Parsed {
    pub first: u64,
    pub flags: u32,
    pub entries: Vec<Entry>,
    /// The footer's last index, if the segment is sealed (its footer checked field by field).
    pub sealed: Option<u64>,
}

/// Parses a segment file by the chapter's format: returns its first index, flags, entries and
/// footer, and panics with `[on-disk-format]` where the bytes disagree with the format.
pub fn parse_segment(name: &str, bytes: &[u8]) -> Parsed {
    let fail = |what: String| -> ! { distributed::fail!("on-disk-format", "{name}: {what}") };
    if bytes.len() < 24 {
        fail(format!("{} bytes, shorter than a 24-byte header", bytes.len()));
    }
    if &bytes[0..8] != b"RSMWAL01" {
        fail(format!("starts with {:?}, not the magic RSMWAL01", &bytes[0..8]));
    }
    let first = u64::from_le_bytes(bytes[8..16].try_into().expect("setup: a slice of the right length"));
    let flags = u32::from_le_bytes(bytes[16..20].try_into().expect("setup: a slice of the right length"));
    let header_crc = u32::from_le_bytes(bytes[20..24].try_into().expect("setup: a slice of the right length"));
    if header_crc != crc32fast::hash(&bytes[0..20]) {
        fail("header CRC32 (bytes 20..24) is not the CRC32 of bytes 0..20".into());
    }
    if name != format!("{first:020}.wal") {
        fail(format!("header names first index {first}, so the file should be named {first:020}.wal"));
    }
    let mut at = 24;
    let mut found: Vec<Entry> = Vec::new();
    let mut sealed = None;
    while at < bytes.len() {
        if bytes.len() - at < 8 {
            fail(format!("{} stray bytes after the last record at offset {at}", bytes.len() - at));
        }
        let len =
            u32::from_le_bytes(bytes[at..at + 4].try_into().expect("setup: a slice of the right length")) as usize;
        if len == 0xFFFF_FFFF {
            // The footer: marker, CRC32 of every byte before it, last index, its own CRC32.
            if bytes.len() - at != 20 {
                fail(format!("the footer at offset {at} is followed by {} bytes, not 20 to the end", bytes.len() - at));
            }
            let footer = &bytes[at..];
            let segment_crc = u32::from_le_bytes(footer[4..8].try_into().expect("setup: a slice of the right length"));
            let last = u64::from_le_bytes(footer[8..16].try_into().expect("setup: a slice of the right length"));
            let own_crc = u32::from_le_bytes(footer[16..20].try_into().expect("setup: a slice of the right length"));
            if own_crc != crc32fast::hash(&footer[0..16]) {
                fail(format!("footer at offset {at}: bytes 16..20 are not the CRC32 of its bytes 0..16"));
            }
            if segment_crc != crc32fast::hash(&bytes[..at]) {
                fail(format!("footer at offset {at}: bytes 4..8 are not the CRC32 of the {at} bytes before it"));
            }
            let expected_last = found.last().map_or(first - 1, |e| e.index);
            if last != expected_last {
                fail(format!("footer names last index {last}, the records end at {expected_last}"));
            }
            sealed = Some(last);
            break;
        }
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("setup: a slice of the right length"));
        if len < 16 || at + 8 + len > bytes.len() {
            fail(format!("record at offset {at} has impossible length {len}"));
        }
        let payload = &bytes[at + 8..at + 8 + len];
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&first.to_le_bytes());
        hasher.update(&(len as u32).to_le_bytes());
        hasher.update(payload);
        if crc != hasher.finalize() {
            fail(format!(
                "record at offset {at}: CRC is not crc32(segment first index | len | payload), so records are not tied to their segment"
            ));
        }
        let index = u64::from_le_bytes(payload[0..8].try_into().expect("setup: a slice of the right length"));
        let term = u64::from_le_bytes(payload[8..16].try_into().expect("setup: a slice of the right length"));
        found.push(Entry::new(index, term, payload[16..].to_vec()));
        at += 8 + len;
    }
    Parsed { first, flags, entries: found, sealed }
}

/// Every file of the log's directory, parsed: name, first index, flags, entries, whether it is
/// sealed. Checks that every segment but the last is sealed and the last is not.
fn on_disk(fs: &dyn Vfs) -> Vec<(String, u64, u32, Vec<Entry>, bool)> {
    let parsed: Vec<_> = fs
        .read_dir(Path::new(DIR))
        .expect("setup: list the directory")
        .into_iter()
        .map(|name| {
            let file =
                fs.open(&Path::new(DIR).join(&name), distributed::vfs::OpenMode::Read).expect("setup: open the file");
            let parsed = parse_segment(&name, &file.read_all().expect("setup: read the file"));
            (name, parsed.first, parsed.flags, parsed.entries, parsed.sealed.is_some())
        })
        .collect();
    for (position, (name, _, _, _, sealed)) in parsed.iter().enumerate() {
        let last = position + 1 == parsed.len();
        invariant!(
            "rollover",
            *sealed != last,
            "{name} is {} although it is {} segment: every segment but the last ends with a footer",
            if *sealed { "sealed" } else { "not sealed" },
            if last { "the last" } else { "not the last" }
        );
    }
    parsed
}

#[test]
fn segment_files_follow_the_byte_tables() {
    let (_, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs.clone(), options(1000, SyncPolicy::EveryAppend));
    let appended: Vec<Entry> =
        (1..=20).map(|i| Entry::new(i, 1 + i / 7, payload(i, 1 + i / 7, (i * 37 % 300) as usize))).collect();
    for entry in &appended {
        distributed::invariant_ok!("append-only", wal.append(std::slice::from_ref(entry)), "wal.append(..)");
    }
    let segments = on_disk(fs.as_ref());
    invariant!(
        "rollover",
        segments.len() > 2,
        "20 entries of up to 300 bytes fit in {} segments of 1000 bytes",
        segments.len()
    );
    let flags: Vec<u32> = segments.iter().map(|s| s.2).collect();
    invariant!(
        "on-disk-format",
        flags[0] & 1 == 1,
        "the log's first segment is flagged FLAG_LOG_START: flags {flags:?}"
    );
    invariant!(
        "on-disk-format",
        flags[1..].iter().all(|f| f & 1 == 0),
        "only the first segment is flagged: flags {flags:?}"
    );
    let found: Vec<Entry> = segments.iter().flat_map(|s| s.3.clone()).collect();
    invariant!(
        "on-disk-format",
        found == appended,
        "the segment files do not hold exactly the appended entries, in order"
    );
    for (name, first, _, records, _) in &segments {
        invariant!(
            "rollover",
            records.first().is_none_or(|e| e.index == *first),
            "{name} does not start at its first index"
        );
        let total: usize = 24 + records.iter().map(|e| 24 + e.data.len()).sum::<usize>();
        invariant!(
            "rollover",
            total <= 1000 || records.len() == 1,
            "{name} holds {total} bytes, over the 1000-byte threshold"
        );
    }
}

#[test]
fn rollover_happens_exactly_at_the_threshold() {
    // 40-byte records: 24 + 3 * 40 = 144.
    for (segment_size, per_segment) in [(144, 3), (143, 2), (184, 4), (64, 1), (63, 1)] {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open_on(fs.clone(), options(segment_size, SyncPolicy::EveryAppend));
        for entry in entries(1, 12, 1) {
            distributed::invariant_ok!("append-only", wal.append(&[entry]), "wal.append(..)");
        }
        let counts: Vec<usize> = on_disk(fs.as_ref()).iter().map(|s| s.3.len()).collect();
        let expected: Vec<usize> = (0..12).step_by(per_segment).map(|start| per_segment.min(12 - start)).collect();
        invariant!(
            "rollover",
            counts == expected,
            "segment size {segment_size}: segments hold {counts:?} entries, expected {expected:?} \
             (a segment takes a record if it still fits, and always takes at least one)"
        );
        let info: Vec<(u64, u64)> = wal.segments().iter().map(|s| (s.first_index, s.len)).collect();
        let disk: Vec<(u64, u64)> = on_disk(fs.as_ref())
            .iter()
            .map(|s| (s.1, 24 + s.3.iter().map(|e| 24 + e.data.len() as u64).sum::<u64>() + if s.4 { 20 } else { 0 }))
            .collect();
        invariant!("rollover", info == disk, "Wal::segments() says {info:?}, the files say {disk:?}");
    }
}

#[test]
fn a_record_larger_than_a_segment_gets_one_to_itself() {
    let (_, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs.clone(), options(200, SyncPolicy::EveryAppend));
    let big: Vec<Entry> = (1..=3).map(|i| Entry::new(i, 1, payload(i, 1, 500))).collect();
    distributed::invariant_ok!("append-only", wal.append(&big), "wal.append(..)");
    distributed::invariant_ok!("append-only", wal.append(&entries(4, 5, 1)), "wal.append(..)");
    let counts: Vec<usize> = on_disk(fs.as_ref()).iter().map(|s| s.3.len()).collect();
    invariant!("rollover", counts == [1, 1, 1, 2], "segments hold {counts:?} entries, expected [1, 1, 1, 2]");
    crate::assert_matches_model(&wal, &crate::Model::of([big, entries(4, 5, 1)].concat()));
}
