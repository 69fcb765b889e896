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
use distributed::testing::{entries, payload, sim_disk};
use distributed::vfs::{CrashMode, FsRef, SimFs};
use lab1::{Entry, SyncPolicy, Wal, WalError, WalOptions};

const DIR: &str = "wal";

fn options(segment_size: u64, sync: SyncPolicy) -> WalOptions {
    WalOptions { segment_size, sync }
}

fn open(fs: &FsRef, options: WalOptions) -> Wal {
    Wal::open(Arc::clone(fs), DIR, options).expect("open the log")
}

/// Reopens the log on the disk a crash left, as a restarted node would.
fn reopen_after(sim: &SimFs, mode: CrashMode, options: WalOptions) -> (SimFs, Wal) {
    let disk = sim.crash(mode);
    let fs: FsRef = Arc::new(disk.clone());
    let wal = Wal::open(fs, DIR, options)
        .unwrap_or_else(|e| panic!("[torn-tail] reopening after a {mode} crash failed: {e}"));
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
        let got =
            wal.entry(want.index).unwrap_or_else(|e| panic!("[durability] entry {} is unreadable: {e}", want.index));
        invariant!("matching", got == *want, "entry {} reads back as {got:?}, expected {want:?}", want.index);
    }
    let range = wal.entries(first, last + 1).expect("read the range back");
    invariant!("matching", range == expected, "entries({first}, {}) differs from what was appended", last + 1);
}

mod format {
    use super::*;
    use lab1::format::{self as wal_format, FormatError, SegmentHeader};

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let header = SegmentHeader { first_index: 42, flags: wal_format::FLAG_LOG_START };
        let bytes = header.encode();
        assert_eq!(&bytes[0..8], b"RSMWAL01", "[on-disk-format] the header starts with the magic");
        assert_eq!(&bytes[8..16], &42u64.to_le_bytes(), "[on-disk-format] then the first index, little-endian");
        assert_eq!(SegmentHeader::decode(&bytes), Ok(header));
        let mut damaged = bytes;
        damaged[9] ^= 1;
        assert!(
            matches!(SegmentHeader::decode(&damaged), Err(FormatError::ChecksumMismatch { .. })),
            "[checksum] a flipped bit in the header is detected"
        );
        assert!(matches!(SegmentHeader::decode(&bytes[..10]), Err(FormatError::Truncated { .. })));
    }

    #[test]
    fn record_round_trips_and_reports_its_length() {
        let entry = Entry::new(7, 3, b"set x = 1".to_vec());
        let record = wal_format::encode_record(5, &entry);
        assert_eq!(record.len(), 8 + 16 + 9, "[on-disk-format] len + crc + index + term + data");
        assert_eq!(&record[0..4], &25u32.to_le_bytes(), "[on-disk-format] len counts index, term and data");
        let mut followed = record.clone();
        followed.extend_from_slice(b"next record");
        assert_eq!(wal_format::decode_record(5, &followed), Ok((entry, record.len())));
        for cut in 0..record.len() {
            assert!(
                matches!(
                    wal_format::decode_record(5, &record[..cut]),
                    Err(FormatError::Truncated { .. } | FormatError::Zeroed)
                ),
                "[torn-tail] a record cut at byte {cut} is reported as truncated"
            );
        }
    }

    #[test]
    fn zeros_are_never_a_record() {
        assert_eq!(
            wal_format::decode_record(1, &[0; 64]),
            Err(FormatError::Zeroed),
            "[torn-tail] zeros are the end, not a record"
        );
    }

    #[test]
    fn a_record_moved_to_another_segment_fails_its_checksum() {
        let record = wal_format::encode_record(1, &Entry::new(3, 1, b"stale".to_vec()));
        assert!(
            matches!(wal_format::decode_record(2, &record), Err(FormatError::ChecksumMismatch { .. })),
            "[checksum] the segment's first index is part of every record's checksum"
        );
    }

    #[test]
    fn segment_names_sort_by_first_index() {
        assert_eq!(wal_format::segment_file_name(1), "00000000000000000001.wal");
        assert_eq!(wal_format::parse_segment_file_name("00000000000000000123.wal"), Some(123));
        assert_eq!(wal_format::parse_segment_file_name("123.wal"), None);
        assert_eq!(wal_format::parse_segment_file_name("00000000000000000123.wal.tmp"), None);
        assert!(wal_format::segment_file_name(9) < wal_format::segment_file_name(10), "[rollover] names sort by index");
    }
}

mod append {
    use super::*;

    #[test]
    fn a_new_log_is_empty_and_starts_at_index_one() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, WalOptions::default());
        assert_eq!((wal.first_index(), wal.last_index()), (1, 0));
        assert!(matches!(wal.entry(1), Err(WalError::Unavailable { index: 1, .. })));
    }

    #[test]
    fn appended_entries_read_back_by_index_and_range() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, WalOptions::default());
        let appended = entries(1, 10, 1);
        wal.append(&appended[..4]).unwrap();
        wal.append(&appended[4..]).unwrap();
        assert_eq!(wal.last_index(), 10);
        assert_holds(&wal, &appended);
        assert_eq!(wal.term(5).unwrap(), 1);
        assert_eq!(wal.entries(3, 3).unwrap(), vec![], "an empty range is empty");
        assert!(matches!(wal.entries(8, 12), Err(WalError::Unavailable { .. })));
    }

    #[test]
    fn a_gap_or_a_stale_index_is_refused() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, WalOptions::default());
        wal.append(&entries(1, 3, 1)).unwrap();
        let gap = wal.append(&entries(5, 5, 1));
        assert!(matches!(gap, Err(WalError::NotContiguous { expected: 4, got: 5 })), "[append-only] a gap: {gap:?}");
        let stale = wal.append(&entries(2, 2, 1));
        assert!(
            matches!(stale, Err(WalError::NotContiguous { expected: 4, got: 2 })),
            "[append-only] a stale index: {stale:?}"
        );
        assert_eq!(wal.last_index(), 3, "[append-only] a refused append changes nothing");
    }

    #[test]
    fn terms_never_decrease() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, WalOptions::default());
        wal.append(&entries(1, 2, 3)).unwrap();
        let lower = wal.append(&entries(3, 3, 2));
        assert!(
            matches!(lower, Err(WalError::TermRegression { index: 3, previous: 3, got: 2 })),
            "[append-only] {lower:?}"
        );
        wal.append(&entries(3, 3, 4)).expect("a higher term is fine");
    }
}

mod rollover {
    use super::*;

    #[test]
    fn segments_roll_over_at_the_size_threshold() {
        let (_, fs) = sim_disk(lab_seed(1));
        // Each record is 8 + 16 + 16 = 40 bytes; 24 + 3 * 40 = 144 fits, a fourth does not.
        let wal = open(&fs, options(144, SyncPolicy::EveryAppend));
        wal.append(&entries(1, 7, 1)).unwrap();
        let segments = wal.segments();
        let spans: Vec<_> = segments.iter().map(|s| (s.first_index, s.last_index)).collect();
        assert_eq!(spans, [(1, 3), (4, 6), (7, 7)], "[rollover] three entries per segment");
        assert_eq!(segments[1].file_name, lab1::format::segment_file_name(4), "[rollover] named by first index");
        let names = fs.read_dir(Path::new(DIR)).unwrap();
        assert_eq!(names, segments.iter().map(|s| s.file_name.clone()).collect::<Vec<_>>(), "one file per segment");
    }

    #[test]
    fn reads_cross_segment_boundaries() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(200, SyncPolicy::EveryAppend));
        let appended = entries(1, 30, 2);
        for entry in &appended {
            wal.append(std::slice::from_ref(entry)).unwrap();
        }
        assert!(wal.segments().len() > 5);
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
            wal.append(&appended).unwrap();
        }
        let wal = open(&fs, options(300, SyncPolicy::EveryAppend));
        assert_holds(&wal, &appended);
        wal.append(&entries(26, 26, 1)).expect("[append-only] appending after a reopen continues the log");
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(300, SyncPolicy::EveryAppend));
        assert_eq!(after.last_index(), 26);
    }
}

mod truncate {
    use super::*;

    #[test]
    fn truncating_a_suffix_removes_it_and_allows_new_entries() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(200, SyncPolicy::EveryAppend));
        wal.append(&entries(1, 20, 1)).unwrap();
        wal.truncate_suffix(8).unwrap();
        assert_eq!(wal.last_index(), 7);
        invariant!("matching", wal.entry(8).is_err(), "entry 8 is still readable after truncating from 8");
        let replacement = entries(8, 12, 2);
        wal.append(&replacement).unwrap();
        assert_holds(&wal, &replacement);
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(200, SyncPolicy::EveryAppend));
        assert_holds(&after, &replacement);
        let truncated = wal.truncate_suffix(0);
        assert!(matches!(truncated, Err(WalError::TruncateCompacted { .. })), "{truncated:?}");
    }
}

mod compact {
    use super::*;

    #[test]
    fn compacting_a_prefix_hides_it_and_removes_whole_segments() {
        let (_, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(144, SyncPolicy::EveryAppend));
        wal.append(&entries(1, 9, 1)).unwrap(); // segments 1-3, 4-6, 7-9
        wal.compact_prefix(5).unwrap();
        assert_eq!(wal.first_index(), 6, "[prefix-compaction] the log starts after the snapshot");
        assert!(matches!(wal.entry(5), Err(WalError::Compacted { .. })));
        assert_holds(&wal, &entries(6, 9, 1));
        let firsts: Vec<_> = wal.segments().iter().map(|s| s.first_index).collect();
        assert_eq!(firsts, [4, 7], "[prefix-compaction] only the segment of 1-3 was wholly covered");
        let truncated = wal.truncate_suffix(5);
        assert!(matches!(truncated, Err(WalError::TruncateCompacted { from: 5, first_index: 6 })), "{truncated:?}");
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
            wal.append(std::slice::from_ref(entry)).unwrap();
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
        wal.append(&acked).unwrap();
        wal.sync().unwrap();
        let mut rng = TestRng::new(seed);
        let unsynced: Vec<Entry> =
            (6..=9).map(|i| Entry::new(i, 1, payload(i, 1, 300 + rng.below(900) as usize))).collect();
        wal.append(&unsynced).unwrap();
        for variant in 0..20 {
            let (_, after) =
                reopen_after(&sim, CrashMode::Torn { seed: seed + variant }, options(1 << 20, SyncPolicy::Never));
            assert_holds(&after, &acked);
            let last = after.last_index();
            if last > 5 {
                assert_holds(&after, &unsynced[..(last - 5) as usize]);
            }
            after.append(&entries(last + 1, last + 1, 2)).expect("[torn-tail] the next append after recovery works");
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
                    .unwrap_or_else(|e| panic!("[torn-tail] recovery failed: {e}"));
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
        assert!(report.crash_points > 20, "the workload has {} steps", report.steps);
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
                Err(e) => panic!("append failed: {e}"),
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
                        acked.lock().unwrap().push(entry);
                    }
                });
            }
        });
        let mut acked = acked.into_inner().unwrap();
        acked.sort_by_key(|e| e.index);
        assert_eq!(wal.last_index(), 40);
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(4096, SyncPolicy::GroupCommit));
        assert_holds(&after, &acked);
    }

    #[test]
    fn with_no_sync_policy_only_sync_makes_appends_durable() {
        let (sim, fs) = sim_disk(lab_seed(1));
        let wal = open(&fs, options(1 << 20, SyncPolicy::Never));
        let synced = entries(1, 3, 1);
        wal.append(&synced).unwrap();
        wal.sync().unwrap();
        wal.append(&entries(4, 6, 1)).unwrap();
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(1 << 20, SyncPolicy::Never));
        assert_eq!(after.last_index(), 3, "[durability] only the synced entries survive a strict crash");
        assert_holds(&after, &synced);
    }
}
