//! Lab 1's public tests, in the order of the chapter's tasks: the format, appends and reads,
//! rollover, reopen, truncation and compaction, crashes, sync policies.
//!
//! Run them with `cargo test -p lab1`; one task at a time with, for example,
//! `cargo test -p lab1 format::`. A failure starts with the invariant it broke, in brackets,
//! and ends with the command that replays it.

use std::path::Path;
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::testing::{SyncHold, entries, payload, sim_disk};
use distributed::vfs::{CrashMode, FsRef, SimFs, Vfs};
use lab1::{Entry, SyncPolicy, Wal, WalError, WalOptions};

const DIR: &str = "wal";

fn options(segment_size: u64, sync: SyncPolicy) -> WalOptions {
    WalOptions { segment_size, sync }
}

fn open(fs: &FsRef, options: WalOptions) -> Wal {
    distributed::invariant_ok!("durability", Wal::open(Arc::clone(fs), DIR, options), "open the log")
}

/// Reopens the log on the disk a crash left, as a restarted node would.
fn reopen_after(sim: &SimFs, mode: CrashMode, options: WalOptions) -> (SimFs, Wal) {
    let disk = sim.crash(mode);
    let fs: FsRef = Arc::new(disk.clone());
    let wal = Wal::open(fs, DIR, options)
        .unwrap_or_else(|e| distributed::fail!("torn-tail", "reopening after a {mode} crash failed: {e}"));
    (disk, wal)
}

/// Checks that the log holds exactly `expected`, by index, term and data.
fn assert_holds(wal: &Wal, expected: &[Entry]) {
    let (first, last) = (expected[0].index, expected[expected.len() - 1].index);
    invariant!(
        "durability",
        wal.last_index() >= last,
        "last index is {}, but entry {last} was acknowledged",
        wal.last_index()
    );
    for want in expected {
        let got = wal
            .entry(want.index)
            .unwrap_or_else(|e| distributed::fail!("durability", "entry {} is unreadable: {e}", want.index,));
        invariant!("matching", got == *want, "entry {} reads back as {got:?}, expected {want:?}", want.index);
    }
    let range = distributed::invariant_ok!("matching", wal.entries(first, last + 1), "read the range back");
    invariant!("matching", range == expected, "entries({first}, {}) differs from what was appended", last + 1);
}

/// The last index named by the footer that ends `bytes`, read by the chapter's table (marker
/// `0xFFFF_FFFF`, CRC32 of every byte before it, last index, CRC32 of its bytes 0..16), or
/// `None` if the file does not end with a footer that matches it.
fn footer_of(bytes: &[u8]) -> Option<u64> {
    let at = bytes.len().checked_sub(20).filter(|&at| at >= 24)?;
    let footer = &bytes[at..];
    let u32_at = |i: usize| u32::from_le_bytes(footer[i..i + 4].try_into().expect("setup: 4 bytes"));
    let last = u64::from_le_bytes(footer[8..16].try_into().expect("setup: 8 bytes"));
    let matches = u32_at(0) == u32::MAX
        && u32_at(4) == crc32fast::hash(&bytes[..at])
        && u32_at(16) == crc32fast::hash(&footer[..16]);
    matches.then_some(last)
}

/// Whether `bytes` start with a whole segment header (magic, header CRC) naming `first`.
fn whole_header(bytes: &[u8], first: u64) -> bool {
    bytes.len() >= 24
        && &bytes[0..8] == b"RSMWAL01"
        && bytes[8..16] == first.to_le_bytes()
        && bytes[20..24] == crc32fast::hash(&bytes[0..20]).to_le_bytes()
}

mod format {
    use super::*;
    use lab1::format::{self as wal_format, FormatError, SegmentHeader};

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let header = SegmentHeader { first_index: 42, flags: wal_format::FLAG_LOG_START };
        let bytes = header.encode();
        distributed::invariant_eq!("on-disk-format", &bytes[0..8], b"RSMWAL01", "the header starts with the magic");
        distributed::invariant_eq!(
            "on-disk-format",
            &bytes[8..16],
            &42u64.to_le_bytes(),
            "then the first index, little-endian",
        );
        distributed::invariant_eq!(
            "on-disk-format",
            SegmentHeader::decode(&bytes),
            Ok(header),
            "SegmentHeader::decode(&bytes)",
        );
        let mut damaged = bytes;
        damaged[9] ^= 1;
        distributed::invariant_matches!(
            "checksum",
            SegmentHeader::decode(&damaged),
            Err(FormatError::ChecksumMismatch { .. }),
            "a flipped bit in the header is detected",
        );
        distributed::invariant_matches!(
            "on-disk-format",
            SegmentHeader::decode(&bytes[..10]),
            Err(FormatError::Truncated { .. }),
            "SegmentHeader::decode(&bytes[..10])",
        );
    }

    #[test]
    fn record_round_trips_and_reports_its_length() {
        let entry = Entry::new(7, 3, b"set x = 1".to_vec());
        let record = wal_format::encode_record(5, &entry);
        distributed::invariant_eq!("on-disk-format", record.len(), 8 + 16 + 9, "len + crc + index + term + data");
        distributed::invariant_eq!(
            "on-disk-format",
            &record[0..4],
            &25u32.to_le_bytes(),
            "len counts index, term and data",
        );
        let mut followed = record.clone();
        followed.extend_from_slice(b"next record");
        distributed::invariant_eq!(
            "on-disk-format",
            wal_format::decode_record(5, &followed),
            Ok((entry, record.len())),
            "wal_format::decode_record(5, &followed)",
        );
        for cut in 0..record.len() {
            distributed::invariant_matches!(
                "torn-tail",
                wal_format::decode_record(5, &record[..cut]),
                Err(FormatError::Truncated { .. } | FormatError::Zeroed),
                "a record cut at byte {cut} is reported as truncated",
            );
        }
    }

    #[test]
    fn zeros_are_never_a_record() {
        distributed::invariant_eq!(
            "torn-tail",
            wal_format::decode_record(1, &[0; 64]),
            Err(FormatError::Zeroed),
            "zeros are the end, not a record",
        );
    }

    #[test]
    fn a_record_moved_to_another_segment_fails_its_checksum() {
        let record = wal_format::encode_record(1, &Entry::new(3, 1, b"stale".to_vec()));
        distributed::invariant_matches!(
            "checksum",
            wal_format::decode_record(2, &record),
            Err(FormatError::ChecksumMismatch { .. }),
            "the segment's first index is part of every record's checksum",
        );
    }

    #[test]
    fn segment_names_sort_by_first_index() {
        distributed::invariant_eq!(
            "rollover",
            wal_format::segment_file_name(1),
            "00000000000000000001.wal",
            "wal_format::segment_file_name(1)",
        );
        distributed::invariant_eq!(
            "rollover",
            wal_format::parse_segment_file_name("00000000000000000123.wal"),
            Some(123),
            "wal_format::parse_segment_file_name(\"00000000000000000123.wal\")",
        );
        distributed::invariant_eq!(
            "rollover",
            wal_format::parse_segment_file_name("123.wal"),
            None,
            "wal_format::parse_segment_file_name(\"123.wal\")",
        );
        distributed::invariant_eq!(
            "rollover",
            wal_format::parse_segment_file_name("00000000000000000123.wal.tmp"),
            None,
            "wal_format::parse_segment_file_name(\"00000000000000000123.wal.tmp\")",
        );
        distributed::invariant!(
            "rollover",
            wal_format::segment_file_name(9) < wal_format::segment_file_name(10),
            "names sort by index",
        );
    }
}

mod append {
    use super::*;

    #[test]
    fn a_new_log_is_empty_and_starts_at_index_one() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, WalOptions::default());
        distributed::invariant_eq!(
            "append-only",
            (wal.first_index(), wal.last_index()),
            (1, 0),
            "(wal.first_index(), wal.last_index())",
        );
        distributed::invariant_matches!(
            "append-only",
            wal.entry(1),
            Err(WalError::Unavailable { index: 1, .. }),
            "wal.entry(1)",
        );
    }

    #[test]
    fn appended_entries_read_back_by_index_and_range() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, WalOptions::default());
        let appended = entries(1, 10, 1);
        distributed::invariant_ok!("append-only", wal.append(&appended[..4]), "wal.append(..)");
        distributed::invariant_ok!("append-only", wal.append(&appended[4..]), "wal.append(..)");
        distributed::invariant_eq!("matching", wal.last_index(), 10, "wal.last_index()");
        assert_holds(&wal, &appended);
        distributed::invariant_eq!(
            "matching",
            distributed::invariant_ok!("matching", wal.term(5), "wal.term(5)"),
            1,
            "wal.term(5)"
        );
        distributed::invariant_eq!(
            "matching",
            distributed::invariant_ok!("matching", wal.entries(3, 3), "wal.entries(..)"),
            vec![],
            "an empty range is empty"
        );
        distributed::invariant_matches!(
            "matching",
            wal.entries(8, 12),
            Err(WalError::Unavailable { .. }),
            "wal.entries(8, 12)",
        );
    }

    #[test]
    fn a_gap_or_a_stale_index_is_refused() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, WalOptions::default());
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 3, 1)), "wal.append(..)");
        let gap = wal.append(&entries(5, 5, 1));
        distributed::invariant_matches!(
            "append-only",
            gap,
            Err(WalError::NotContiguous { expected: 4, got: 5 }),
            "a gap: {gap:?}",
        );
        let stale = wal.append(&entries(2, 2, 1));
        distributed::invariant_matches!(
            "append-only",
            stale,
            Err(WalError::NotContiguous { expected: 4, got: 2 }),
            "a stale index: {stale:?}",
        );
        distributed::invariant_eq!("append-only", wal.last_index(), 3, "a refused append changes nothing");
    }

    #[test]
    fn terms_never_decrease() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, WalOptions::default());
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 2, 3)), "wal.append(..)");
        let lower = wal.append(&entries(3, 3, 2));
        distributed::invariant_matches!(
            "append-only",
            lower,
            Err(WalError::TermRegression { index: 3, previous: 3, got: 2 }),
            "{lower:?}",
        );
        distributed::invariant_ok!("append-only", wal.append(&entries(3, 3, 4)), "a higher term is fine");
    }
}

mod rollover {
    use super::*;

    #[test]
    fn segments_roll_over_at_the_size_threshold() {
        let (_, fs) = sim_disk(lab_seed(1));
        // Each record is 8 + 16 + 16 = 40 bytes; 24 + 3 * 40 = 144 fits, a fourth does not.
        let wal = open(&fs, options(144, SyncPolicy::EveryAppend));
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 7, 1)), "wal.append(..)");
        let segments = wal.segments();
        let spans: Vec<_> = segments.iter().map(|s| (s.first_index, s.last_index)).collect();
        distributed::invariant_eq!("rollover", spans, [(1, 3), (4, 6), (7, 7)], "three entries per segment");
        distributed::invariant_eq!(
            "rollover",
            segments[1].file_name,
            lab1::format::segment_file_name(4),
            "named by first index",
        );
        let names = fs.read_dir(Path::new(DIR)).expect("setup: list the directory");
        distributed::invariant_eq!(
            "rollover",
            names,
            segments.iter().map(|s| s.file_name.clone()).collect::<Vec<_>>(),
            "one file per segment",
        );
    }

    #[test]
    fn a_sealed_segment_ends_with_a_footer_that_checks_it() {
        use lab1::format::{FormatError, SegmentFooter, SegmentHeader, decode_record, encode_record};
        // The footer on its own: built from the segment's bytes, decoded, verified.
        let mut bytes = SegmentHeader { first_index: 5, flags: 0 }.encode().to_vec();
        bytes.extend(encode_record(5, &Entry::new(5, 2, b"x=1".to_vec())));
        let footer = SegmentFooter::of(&bytes, 5);
        let encoded = footer.encode();
        distributed::invariant_eq!("on-disk-format", &encoded[0..4], &[0xFF; 4], "a footer starts with its marker");
        distributed::invariant_eq!("on-disk-format", SegmentFooter::decode(&encoded), Ok(footer), "decode(encode)");
        distributed::invariant_eq!("checksum", footer.verify(&bytes), Ok(()), "the footer matches its segment");
        let mut damaged = bytes.clone();
        damaged[40] ^= 1;
        distributed::invariant_matches!(
            "checksum",
            footer.verify(&damaged),
            Err(FormatError::ChecksumMismatch { .. }),
            "one flipped bit before the footer fails the segment's checksum",
        );
        let mut bad = encoded;
        bad[9] ^= 1;
        distributed::invariant_matches!(
            "checksum",
            SegmentFooter::decode(&bad),
            Err(FormatError::ChecksumMismatch { .. }),
            "a flipped bit in the footer fails the footer's own checksum",
        );
        let mut walked = bytes[24..].to_vec();
        let record_len = walked.len();
        walked.extend_from_slice(&encoded);
        distributed::invariant_eq!(
            "on-disk-format",
            decode_record(5, &walked[record_len..]),
            Err(FormatError::Footer),
            "a reader walking records meets the footer marker as the footer, not as a bad length",
        );

        // In the log: every segment but the last ends with its footer, synced before the next
        // segment exists.
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(144, SyncPolicy::EveryAppend));
        wal.append(&entries(1, 7, 1))
            .unwrap_or_else(|e| distributed::fail!("rollover", "appending 1-7 in 144-byte segments failed: {e}"));
        for (segment, last) in wal.segments().iter().zip([Some(3), Some(6), None]) {
            let path = format!("{DIR}/{}", segment.file_name);
            let bytes = sim.durable_contents(&path).expect("setup: read the durable contents").unwrap_or_default();
            distributed::invariant_eq!(
                "rollover",
                footer_of(&bytes),
                last,
                "the durable footer of {} (segments 1 and 4 are sealed, 7 is not)",
                segment.file_name,
            );
            distributed::invariant_eq!(
                "rollover",
                segment.len,
                bytes.len() as u64,
                "segments() counts the footer in the length of {}",
                segment.file_name,
            );
        }
    }

    #[test]
    fn reads_cross_segment_boundaries() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(200, SyncPolicy::EveryAppend));
        let appended = entries(1, 30, 2);
        for entry in &appended {
            distributed::invariant_ok!("append-only", wal.append(std::slice::from_ref(entry)), "wal.append(..)");
        }
        distributed::invariant!(
            "matching",
            wal.segments().len() > 5,
            "wal.segments().len() > 5: seen {:?} and {:?}",
            wal.segments().len(),
            5,
        );
        assert_holds(&wal, &appended);
    }
}

mod reopen {
    use super::*;

    #[test]
    fn a_reopened_log_holds_what_was_appended() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let appended = entries(1, 25, 1);
        {
            let wal = open(&fs, options(300, SyncPolicy::EveryAppend));
            distributed::invariant_ok!("append-only", wal.append(&appended), "wal.append(..)");
        }
        let wal = open(&fs, options(300, SyncPolicy::EveryAppend));
        assert_holds(&wal, &appended);
        distributed::invariant_ok!(
            "append-only",
            wal.append(&entries(26, 26, 1)),
            "appending after a reopen continues the log"
        );
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(300, SyncPolicy::EveryAppend));
        distributed::invariant_eq!("durability", after.last_index(), 26, "after.last_index()");
    }
}

mod truncate {
    use super::*;

    #[test]
    fn truncating_a_suffix_removes_it_and_allows_new_entries() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(200, SyncPolicy::EveryAppend));
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 20, 1)), "wal.append(..)");
        distributed::invariant_ok!("matching", wal.truncate_suffix(8), "wal.truncate_suffix(..)");
        distributed::invariant_eq!("matching", wal.last_index(), 7, "wal.last_index()");
        invariant!("matching", wal.entry(8).is_err(), "entry 8 is still readable after truncating from 8");
        let replacement = entries(8, 12, 2);
        distributed::invariant_ok!("append-only", wal.append(&replacement), "wal.append(..)");
        assert_holds(&wal, &replacement);
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(200, SyncPolicy::EveryAppend));
        assert_holds(&after, &replacement);
        let truncated = wal.truncate_suffix(0);
        distributed::invariant_matches!(
            "matching",
            truncated,
            Err(WalError::TruncateCompacted { .. }),
            "{truncated:?}",
        );
    }
}

mod compact {
    use super::*;

    #[test]
    fn compacting_a_prefix_hides_it_and_removes_whole_segments() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(144, SyncPolicy::EveryAppend));
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 9, 1)), "wal.append(..)"); // segments 1-3, 4-6, 7-9
        distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(5), "wal.compact_prefix(..)");
        distributed::invariant_eq!("prefix-compaction", wal.first_index(), 6, "the log starts after the snapshot");
        distributed::invariant_matches!(
            "prefix-compaction",
            wal.entry(5),
            Err(WalError::Compacted { .. }),
            "wal.entry(5)",
        );
        assert_holds(&wal, &entries(6, 9, 1));
        let firsts: Vec<_> = wal.segments().iter().map(|s| s.first_index).collect();
        distributed::invariant_eq!("prefix-compaction", firsts, [4, 7], "only the segment of 1-3 was wholly covered");
        let truncated = wal.truncate_suffix(5);
        distributed::invariant_matches!(
            "prefix-compaction",
            truncated,
            Err(WalError::TruncateCompacted { from: 5, first_index: 6 }),
            "{truncated:?}",
        );
    }
}

mod crash {
    use super::*;

    #[test]
    fn acknowledged_appends_survive_a_power_loss() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(256, SyncPolicy::EveryAppend));
        let appended = entries(1, 12, 1);
        for entry in &appended {
            distributed::invariant_ok!("append-only", wal.append(std::slice::from_ref(entry)), "wal.append(..)");
        }
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(256, SyncPolicy::EveryAppend));
        assert_holds(&after, &appended);
    }

    #[test]
    fn a_torn_tail_is_cut_and_the_next_append_works() {
        let seed = lab_seed(7);
        let (sim, fs) = sim_disk(seed);
        let wal = open(&fs, options(1 << 20, SyncPolicy::Never));
        let acked = entries(1, 5, 1);
        distributed::invariant_ok!("append-only", wal.append(&acked), "wal.append(..)");
        distributed::invariant_ok!("durability", wal.sync(), "wal.sync(..)");
        let mut rng = TestRng::new(seed);
        let unsynced: Vec<Entry> =
            (6..=9).map(|i| Entry::new(i, 1, payload(i, 1, 300 + rng.below(900) as usize))).collect();
        distributed::invariant_ok!("append-only", wal.append(&unsynced), "wal.append(..)");
        for variant in 0..20 {
            let (_, after) =
                reopen_after(&sim, CrashMode::Torn { seed: seed + variant }, options(1 << 20, SyncPolicy::Never));
            assert_holds(&after, &acked);
            let last = after.last_index();
            if last > 5 {
                assert_holds(&after, &unsynced[..(last - 5) as usize]);
            }
            distributed::invariant_ok!(
                "torn-tail",
                after.append(&entries(last + 1, last + 1, 2)),
                "the next append after recovery works"
            );
        }
    }

    #[test]
    fn every_crash_point_of_a_short_workload_recovers() {
        let opts = options(150, SyncPolicy::EveryAppend);
        let report = CrashExplorer::new(lab_seed(3)).explore(
            |sim, acked: &mut Vec<Entry>| -> Result<(), WalError> {
                let wal = Wal::open(Arc::new(sim.clone()), DIR, opts)?;
                for entry in entries(1, 8, 1) {
                    wal.append(std::slice::from_ref(&entry))?;
                    acked.push(entry);
                }
                Ok(())
            },
            |disk, acked| {
                let wal = Wal::open(Arc::new(disk.clone()), DIR, opts)
                    .unwrap_or_else(|e| distributed::fail!("torn-tail", "recovery failed: {e}"));
                if !acked.is_empty() {
                    assert_holds(&wal, acked);
                }
                invariant!(
                    "ordered-recovery",
                    wal.last_index() <= acked.len() as u64 + 1,
                    "the log holds {} entries, but only {} were acknowledged and one was in flight",
                    wal.last_index(),
                    acked.len()
                );
            },
        );
        distributed::invariant!(
            "ordered-recovery",
            report.crash_points > 20,
            "the workload has {} steps",
            report.steps,
        );
    }

    /// What the log promised around one operation: the state it was moving to (`Intent`),
    /// then, once the operation returned under a policy that acknowledges it, that state as
    /// acknowledged (`Acked`).
    #[derive(Clone, Debug)]
    enum Event {
        Intent(Model),
        Acked(Model),
    }

    /// The log as it should be: entries from `first` on.
    #[derive(Clone, Debug, Default)]
    struct Model {
        first: u64,
        entries: Vec<Entry>,
    }

    impl Model {
        fn last(&self) -> u64 {
            self.first.max(1) + self.entries.len() as u64 - 1
        }

        fn apply(&mut self, op: &Op) {
            self.first = self.first.max(1);
            match op {
                Op::Append(batch) => self.entries.extend(batch.iter().cloned()),
                Op::Truncate(from) => self.entries.retain(|e| e.index < *from),
                Op::Compact(upto) if *upto >= self.last() => {
                    self.entries.clear();
                    self.first = upto + 1;
                }
                Op::Compact(upto) => {
                    self.entries.retain(|e| e.index > *upto);
                    self.first = self.first.max(upto + 1);
                }
                Op::Sync => {}
            }
        }

        fn get(&self, index: u64) -> Option<&Entry> {
            self.entries.iter().find(|e| e.index == index)
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Append(Vec<Entry>),
        Truncate(u64),
        Compact(u64),
        Sync,
    }

    /// Explores every crash point of `ops` on a log with `opts`, checking that each recovered
    /// log opens, keeps everything acknowledged, holds nothing that was neither acknowledged
    /// nor being written, and takes the next append. `invariant` names what a log that does
    /// not open after a crash in this protocol has broken.
    fn explore_protocol(seed: u64, opts: WalOptions, ops: &[Op], invariant: &str) {
        let report = CrashExplorer::new(seed).explore(
            |sim, events: &mut Vec<Event>| -> Result<(), WalError> {
                let wal = Wal::open(Arc::new(sim.clone()), DIR, opts)?;
                let mut model = Model::default();
                for op in ops {
                    model.apply(op);
                    events.push(Event::Intent(model.clone()));
                    match op {
                        Op::Append(batch) => wal.append(batch)?,
                        Op::Truncate(from) => wal.truncate_suffix(*from)?,
                        Op::Compact(upto) => wal.compact_prefix(*upto)?,
                        Op::Sync => wal.sync()?,
                    }
                    if opts.sync != SyncPolicy::Never || matches!(op, Op::Sync) {
                        events.push(Event::Acked(model.clone()));
                    }
                }
                Ok(())
            },
            |disk, events| {
                let wal = Wal::open(Arc::new(disk.clone()), DIR, opts)
                    .unwrap_or_else(|e| distributed::fail!(invariant, "the log does not open after this crash: {e}"));
                let acked_at = events.iter().rposition(|e| matches!(e, Event::Acked(_)));
                let acked = match acked_at.map(|at| &events[at]) {
                    Some(Event::Acked(model)) => model.clone(),
                    _ => Model::default(),
                };
                // The operation in flight when the power went, if any.
                let intent = events[acked_at.map_or(0, |at| at + 1)..].iter().rev().find_map(|e| match e {
                    Event::Intent(model) => Some(model.clone()),
                    Event::Acked(_) => None,
                });
                let candidates: Vec<&Model> = std::iter::once(&acked).chain(intent.as_ref()).collect();
                let (first, last) = (wal.first_index(), wal.last_index());
                let min_last = candidates.iter().map(|m| m.last()).min().unwrap_or(0);
                let max_first = candidates.iter().map(|m| m.first.max(1)).max().unwrap_or(1);
                invariant!(
                    "durability",
                    last >= min_last,
                    "the recovered log ends at {last}, but entries up to {} were acknowledged",
                    acked.last()
                );
                invariant!(
                    "prefix-compaction",
                    first <= max_first,
                    "the recovered log starts at {first}, after the compaction point {}",
                    max_first - 1
                );
                let recovered: Vec<Entry> = (first..=last)
                    .map(|i| {
                        wal.entry(i).unwrap_or_else(|e| {
                            distributed::fail!("durability", "entry {i} of {first}..={last} is unreadable: {e}",)
                        })
                    })
                    .collect();
                let agrees =
                    |m: &&Model| recovered.iter().filter(|e| e.index >= m.first).all(|e| m.get(e.index) == Some(e));
                invariant!(
                    "ordered-recovery",
                    candidates.iter().any(agrees),
                    "the recovered log {first}..={last} is neither what was acknowledged ({}..={}) nor what was \
                     being written: it holds an entry from before a completed truncation, or out of order",
                    acked.first,
                    acked.last()
                );
                let term = recovered.last().map_or(1, |e| e.term).max(9);
                wal.append(&[Entry::new(last + 1, term, b"after".to_vec())])
                    .unwrap_or_else(|e| distributed::fail!(invariant, "the next append after recovery failed: {e}"));
            },
        );
        eprintln!("explored {} crash points, {} disk images", report.crash_points, report.images_checked);
    }

    /// Three 40-byte records fit a 144-byte segment.
    fn small_segments(sync: SyncPolicy) -> WalOptions {
        options(144, sync)
    }

    #[test]
    fn truncation_across_segments_survives_every_crash_point() {
        // Segments 1-3, 4-6, 7-9, 10; truncating from 5 removes two whole segments and cuts
        // the one holding 5. Removing first and cutting last is what keeps every crash point
        // a log without a hole.
        let ops = [
            Op::Append(entries(1, 10, 1)),
            Op::Truncate(5),
            Op::Append(entries(5, 7, 2)),
            Op::Truncate(4),
            Op::Append(entries(4, 4, 3)),
        ];
        explore_protocol(lab_seed(0x71), small_segments(SyncPolicy::EveryAppend), &ops, "ordered-recovery");
    }

    #[test]
    fn compaction_and_restart_survive_every_crash_point() {
        // Compacting past the end restarts the log: the new first segment must be durable
        // before the old ones go, or a crash leaves a log that lost everything.
        let ops = [
            Op::Append(entries(1, 8, 1)),
            Op::Compact(4),
            Op::Compact(12),
            Op::Append(entries(13, 16, 2)),
            Op::Compact(14),
        ];
        explore_protocol(lab_seed(0x72), small_segments(SyncPolicy::EveryAppend), &ops, "prefix-compaction");
    }

    /// What a crash image holds before recovery touches it: for each file with a segment's
    /// name, in order, its first index and whether it is sealed by a footer. Fails if a file
    /// under a segment's name does not hold a whole header naming it.
    fn segments_in_image(disk: &SimFs) -> Vec<(u64, bool)> {
        let mut names = disk.read_dir(Path::new(DIR)).unwrap_or_default();
        names.sort();
        names
            .iter()
            .filter_map(|name| Some((lab1::format::parse_segment_file_name(name)?, name)))
            .map(|(first, name)| {
                let bytes = disk.contents(format!("{DIR}/{name}")).unwrap_or_default();
                invariant!(
                    "atomic-write",
                    whole_header(&bytes, first),
                    "after the crash, {name} is a half-prepared segment ({} bytes, no whole header): a new \
                     segment is prepared under a temporary name and renamed into place only once its header \
                     is durable",
                    bytes.len()
                );
                (first, footer_of(&bytes).is_some())
            })
            .collect()
    }

    #[test]
    fn rollover_seals_with_a_footer_then_renames_the_next_segment_into_place() {
        // Eight 40-byte records, one per append, in 144-byte segments: two rollovers, each
        // explored at every step, strict and torn, under every policy.
        for sync in [SyncPolicy::EveryAppend, SyncPolicy::GroupCommit, SyncPolicy::Never] {
            let opts = small_segments(sync);
            let report = CrashExplorer::new(lab_seed(0x74)).torn_variants(4).explore(
                |sim, acked: &mut Vec<Entry>| -> Result<(), WalError> {
                    let wal = Wal::open(Arc::new(sim.clone()), DIR, opts)?;
                    let mut written = Vec::new();
                    for entry in entries(1, 8, 1) {
                        wal.append(std::slice::from_ref(&entry))?;
                        written.push(entry);
                        if sync != SyncPolicy::Never {
                            acked.clone_from(&written);
                        }
                    }
                    wal.sync()?;
                    acked.clone_from(&written);
                    Ok(())
                },
                |disk, acked| {
                    let image = segments_in_image(disk);
                    for (position, (first, sealed)) in image.iter().enumerate() {
                        invariant!(
                            "rollover",
                            *sealed || position + 1 == image.len(),
                            "after the crash, segment {first} has a successor but no footer that matches it: the \
                             footer is written and synced before the next segment exists"
                        );
                    }
                    let sealed_last = image.last().is_some_and(|(_, sealed)| *sealed);
                    let wal = Wal::open(Arc::new(disk.clone()), DIR, opts)
                        .unwrap_or_else(|e| distributed::fail!("rollover", "the log does not open after this crash: {e}"));
                    if !acked.is_empty() {
                        assert_holds(&wal, acked);
                    }
                    let leftovers: Vec<String> =
                        disk.read_dir(Path::new(DIR)).unwrap_or_default().into_iter().filter(|n| n.ends_with(".tmp")).collect();
                    invariant!(
                        "atomic-write",
                        leftovers.is_empty(),
                        "open left {leftovers:?}: a segment prepared under its temporary name and never renamed is removed"
                    );
                    let next = wal.last_index() + 1;
                    wal.append(&[Entry::new(next, 9, b"after".to_vec())])
                        .unwrap_or_else(|e| distributed::fail!("rollover", "the next append after recovery failed: {e}"));
                    if sealed_last {
                        let last = wal.segments().last().map(|s| s.first_index);
                        distributed::invariant_eq!(
                            "rollover",
                            last,
                            Some(next),
                            "the last segment was sealed (a crash after its footer, before its successor): the \
                             next append starts a new segment",
                        );
                    }
                },
            );
            invariant!("rollover", report.steps > 20, "the workload ran only {} steps", report.steps);
        }
    }

    #[test]
    fn rollover_seals_the_old_segment_under_every_sync_policy() {
        // A segment with a successor must be complete on disk whatever the policy: recovery
        // cuts a torn tail only in the last segment and refuses damage anywhere else.
        for sync in [SyncPolicy::EveryAppend, SyncPolicy::GroupCommit, SyncPolicy::Never] {
            let ops = [
                Op::Append(entries(1, 2, 1)),
                Op::Append(entries(3, 5, 1)),
                Op::Append(entries(6, 7, 1)),
                Op::Sync,
                Op::Append(entries(8, 11, 1)),
            ];
            explore_protocol(lab_seed(0x73), small_segments(sync), &ops, "rollover");
        }
    }
}

mod faults {
    use super::*;

    #[test]
    fn a_failed_fsync_stops_every_later_acknowledgement() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(1 << 20, SyncPolicy::EveryAppend));
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 3, 1)), "wal.append(..)");
        sim.fail_next_syncs(1);
        let failed = wal.append(&entries(4, 4, 1));
        invariant!("fail-stop", failed.is_err(), "an append whose sync failed was acknowledged");
        // A retried fsync succeeds with nothing to write (the kernel dropped the pages), so
        // the log must not acknowledge anything after the failure: not a retry, not a sync.
        let retry = wal.append(&entries(4, 4, 1));
        invariant!("fail-stop", retry.is_err(), "an append after a failed fsync was acknowledged: {retry:?}");
        let sync = wal.sync();
        invariant!("fail-stop", sync.is_err(), "a sync after a failed fsync reported success");
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(1 << 20, SyncPolicy::EveryAppend));
        assert_holds(&after, &entries(1, 3, 1));
    }

    #[test]
    fn damage_in_a_sealed_segment_is_refused_on_open() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let opts = small_segments_options();
        {
            let wal = open(&fs, opts);
            distributed::invariant_ok!("append-only", wal.append(&entries(1, 7, 1)), "wal.append(..)"); // segments 1-3, 4-6, 7
        }
        // A bit of entry 2's data, in the sealed first segment: recovery must not mistake it
        // for a torn tail and cut entries 2-3 away, which were acknowledged.
        let first = lab1::format::segment_file_name(1);
        sim.flip_bit(format!("{DIR}/{first}"), 8 * (24 + 40 + 30)).expect("setup: flip a bit");
        let opened = Wal::open(Arc::clone(&fs), DIR, opts);
        invariant!(
            "checksum",
            matches!(opened, Err(WalError::Corrupt { .. })),
            "a log whose sealed segment is damaged opened as {:?} instead of refusing with Corrupt",
            opened.as_ref().map(|w| (w.first_index(), w.last_index()))
        );
    }

    fn small_segments_options() -> WalOptions {
        options(144, SyncPolicy::EveryAppend)
    }
}

mod sync {
    use super::*;

    /// Appends `data` at the next free index, retrying if another thread took it first.
    /// Returns the entry once `append` acknowledged it.
    pub(crate) fn append_next(wal: &Wal, term: u64, data: Vec<u8>) -> Entry {
        loop {
            let entry = Entry::new(wal.last_index() + 1, term, data.clone());
            match wal.append(std::slice::from_ref(&entry)) {
                Ok(()) => return entry,
                Err(WalError::NotContiguous { .. }) => continue,
                Err(e) => distributed::fail!("group-commit", "append failed: {e}"),
            }
        }
    }

    #[test]
    fn group_commit_acknowledges_every_append_from_every_thread() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(4096, SyncPolicy::GroupCommit));
        let acked = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for thread in 0..4u64 {
                let (wal, acked) = (&wal, &acked);
                scope.spawn(move || {
                    for k in 0..10u64 {
                        let entry = append_next(wal, 1, payload(thread, k, 32));
                        acked.lock().expect("setup: the lock is not poisoned").push(entry);
                    }
                });
            }
        });
        let mut acked = acked.into_inner().expect("setup: the mutex is not poisoned");
        acked.sort_by_key(|e| e.index);
        distributed::invariant_eq!("group-commit", wal.last_index(), 40, "wal.last_index()");
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(4096, SyncPolicy::GroupCommit));
        assert_holds(&after, &acked);
    }

    #[test]
    fn group_commit_acknowledges_only_after_a_sync_that_began_after_the_write() {
        // Thread A appends and syncs; its completed sync is held while thread B writes its
        // append; then the sync returns. B's bytes were not covered by A's sync, so B may be
        // acknowledged only after a later one.
        let (sim, fs) = sim_disk(lab_seed(1));
        let hold = SyncHold::new(fs, std::time::Duration::from_secs(5));
        let wal = distributed::invariant_ok!(
            "durability",
            Wal::open(Arc::new(hold.clone()), DIR, options(4096, SyncPolicy::GroupCommit)),
            "Wal::open(..)"
        );
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 1, 1)), "wal.append(..)");
        hold.hold_next_sync();
        let b_wrote = std::thread::scope(|scope| {
            let a = scope.spawn(|| wal.append(&entries(2, 2, 1)));
            distributed::invariant!("group-commit", hold.wait_until_held(), "thread A's append never synced");
            let writes = hold.writes();
            let b = scope.spawn(|| wal.append(&entries(3, 3, 1)));
            let b_wrote = hold.wait_for_writes(writes + 1);
            hold.release();
            distributed::invariant_ok!(
                "group-commit",
                a.join().expect("setup: thread A does not panic"),
                "thread A's append"
            );
            distributed::invariant_ok!(
                "group-commit",
                b.join().expect("setup: thread B does not panic"),
                "thread B's append"
            );
            b_wrote
        });
        invariant!(
            "group-commit",
            b_wrote,
            "thread B could not write its append while thread A's sync was in flight: \
             sync outside the log's lock, so that appends can share syncs"
        );
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(4096, SyncPolicy::GroupCommit));
        invariant!(
            "group-commit",
            after.last_index() == 3,
            "entry 3 was acknowledged, but after a power loss the log ends at {}: its append was acknowledged \
             by a sync that began before its bytes were written",
            after.last_index()
        );
        assert_holds(&after, &entries(1, 3, 1));
    }

    #[test]
    fn with_no_sync_policy_only_sync_makes_appends_durable() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(1 << 20, SyncPolicy::Never));
        let synced = entries(1, 3, 1);
        distributed::invariant_ok!("append-only", wal.append(&synced), "wal.append(..)");
        distributed::invariant_ok!("durability", wal.sync(), "wal.sync(..)");
        distributed::invariant_ok!("append-only", wal.append(&entries(4, 6, 1)), "wal.append(..)");
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(1 << 20, SyncPolicy::Never));
        distributed::invariant_eq!(
            "durability",
            after.last_index(),
            3,
            "only the synced entries survive a strict crash",
        );
        assert_holds(&after, &synced);
    }
}
