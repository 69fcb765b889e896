//! Boundaries the other modules reach only where a wrong computation agrees with the right one:
//! a log far from index 1 read across records, segments and read spans; records at the limits of
//! the byte table; a checksummed record out of sequence; a torn tail followed by a rollover; an
//! unfinished segment file; compaction at exact segment boundaries; the top of the index space;
//! and what `Never` hands to the filesystem when the log is closed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::rng::{TestRng, lab_seed};
use distributed::storage::Entry;
use distributed::testing::{entries, payload, sim_disk};
use distributed::vfs::{CrashMode, FsRef, SimFs, Vfs};
use distributed::{fail, invariant, invariant_eq, invariant_ok};
use lab1::format::{
    self, FormatError, MAX_ENTRY_DATA, decode_record, encode_record, segment_file_name, temp_segment_file_name,
};
use lab1::{SyncPolicy, Wal, WalError, WalOptions};

use crate::{DIR, open_on, options, reopen_after};

fn segment_path(first_index: u64) -> PathBuf {
    Path::new(DIR).join(segment_file_name(first_index))
}

/// Entries from `first`, in batches of one to eight, whose data is empty, small, a few KiB, or
/// larger than any sensible read span (33 to 41 KiB), and whose term rises every few entries.
fn varied_batches(first: u64, count: u64, rng: &mut TestRng) -> Vec<Vec<Entry>> {
    let mut batches = Vec::new();
    let mut index = first;
    while index < first + count {
        let size = (1 + rng.below(8)).min(first + count - index);
        let batch = (index..index + size)
            .map(|i| {
                let len = match rng.below(10) {
                    0 => 0,
                    1..=5 => rng.below(200) as usize,
                    6..=8 => 2048 + rng.below(7 << 10) as usize,
                    _ => (33 << 10) + rng.below(8 << 10) as usize,
                };
                Entry::new(i, 3 + (i - first) / 7, payload(i, 3 + (i - first) / 7, len))
            })
            .collect();
        batches.push(batch);
        index += size;
    }
    batches
}

/// Runs a read, failing under `matching` if it panics: a read of a held entry returns it.
fn unpanicked<T>(when: &str, read: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(value) => value,
        Err(_) => fail!("matching", "{when}: a read of entries the log holds panicked"),
    }
}

/// Checks every entry and term one by one, and ranges that start at every fifth index and
/// end 1, 2, 3, 5, 9, 17 and 40 entries later and at the end, against `held`.
fn check_reads(wal: &Wal, held: &[Entry], when: &str) {
    let first = held[0].index;
    let end = first + held.len() as u64;
    for want in held {
        let got =
            invariant_ok!("matching", unpanicked(when, || wal.entry(want.index)), "{when}: entry({})", want.index);
        invariant!(
            "matching",
            got == *want,
            "{when}: entry({}) read back other bytes ({} bytes of data, term {}; expected {} bytes, term {})",
            want.index,
            got.data.len(),
            got.term,
            want.data.len(),
            want.term
        );
        let term = invariant_ok!("matching", unpanicked(when, || wal.term(want.index)), "{when}: term({})", want.index);
        invariant_eq!("matching", term, want.term, "{when}: term({})", want.index);
    }
    for low in (first..end).step_by(5) {
        for high in [1, 2, 3, 5, 9, 17, 40].map(|n| (low + n).min(end)).into_iter().chain([end]) {
            let got = invariant_ok!(
                "matching",
                unpanicked(when, || wal.entries(low, high)),
                "{when}: entries({low}, {high})"
            );
            let want = &held[(low - first) as usize..(high - first) as usize];
            if got != want {
                let wrong = got.iter().zip(want).position(|(g, w)| g != w);
                fail!(
                    "matching",
                    "{when}: entries({low}, {high}) returned {} entries, expected {}; the first that differs is at \
                     position {wrong:?} (indexes seen: {:?})",
                    got.len(),
                    want.len(),
                    got.iter().map(|e| e.index).collect::<Vec<_>>()
                );
            }
        }
    }
}

#[test]
fn ranges_across_records_segments_and_read_spans_read_back_exactly_far_from_index_one() {
    // 160 KiB segments: several sealed ones and an active one; 1 MiB: one segment whose records
    // are partly written out and partly still collected in memory under `Never`.
    const FIRST: u64 = 1_000_001;
    for (segment_size, policy) in
        [(160 << 10, SyncPolicy::Never), (1 << 20, SyncPolicy::Never), (160 << 10, SyncPolicy::EveryAppend)]
    {
        let (sim, fs) = sim_disk(lab_seed(1));
        let opts = options(segment_size, policy);
        let wal = open_on(Arc::clone(&fs), opts);
        // A snapshot far ahead: the log restarts at FIRST.
        invariant_ok!("prefix-compaction", wal.compact_prefix(FIRST - 1), "compact_prefix({})", FIRST - 1);
        let mut rng = TestRng::new(lab_seed(segment_size));
        let mut held = Vec::new();
        for batch in varied_batches(FIRST, 120, &mut rng) {
            invariant_ok!("append-only", wal.append(&batch), "append(entries {}..)", batch[0].index);
            held.extend(batch);
        }
        let when = format!("{policy:?}, {} KiB segments", segment_size >> 10);
        check_reads(&wal, &held, &format!("{when}, just appended"));
        invariant_ok!("durability", wal.sync(), "sync()");
        check_reads(&wal, &held, &format!("{when}, synced"));
        drop(wal);
        let (_, after) = reopen_after(&sim, CrashMode::Strict, opts);
        invariant_eq!("prefix-compaction", after.first_index(), FIRST, "{when}: first index after a reopen");
        check_reads(&after, &held, &format!("{when}, reopened"));
    }
}

#[test]
fn record_lengths_at_the_bounds_of_the_byte_table() {
    let framed = |len: u32, rest: usize| {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.resize(8 + rest, 0x5A);
        bytes
    };
    // Too few bytes for the framing comes first; eight bytes are enough to read the length.
    for short in [vec![0u8; 4], vec![0u8; 7], vec![0xFF; 7]] {
        let got = decode_record(1, &short);
        invariant!(
            "on-disk-format",
            matches!(got, Err(FormatError::Truncated { .. })),
            "decode_record of {} bytes (fewer than the 8 of len and crc) returned {got:?}, expected Truncated",
            short.len()
        );
    }
    let got = decode_record(1, &[0u8; 8]);
    invariant!(
        "on-disk-format",
        matches!(got, Err(FormatError::Zeroed)),
        "decode_record of 8 zero bytes returned {got:?}, expected Zeroed (the framing is there; its length is 0)"
    );
    let got = decode_record(1, &framed(u32::MAX, 0));
    invariant!(
        "on-disk-format",
        matches!(got, Err(FormatError::Footer)),
        "decode_record of 8 bytes starting with the footer marker returned {got:?}, expected Footer"
    );
    // Lengths 1 and 15 are impossible, with or without the bytes they announce.
    for (len, rest) in [(1, 1), (15, 15), (15, 40), (15, 0)] {
        let got = decode_record(1, &framed(len, rest));
        invariant!(
            "on-disk-format",
            got == Err(FormatError::BadLength(len)),
            "decode_record of a record whose len is {len} ({rest} bytes follow the framing) returned {got:?}, \
             expected BadLength({len})"
        );
    }
    // 16 is the shortest record: an entry without data.
    let empty = Entry::new(7, 2, Vec::new());
    let bytes = encode_record(7, &empty);
    invariant_eq!("on-disk-format", bytes.len(), 24, "the record of an entry without data");
    let got = decode_record(7, &bytes);
    invariant!(
        "on-disk-format",
        got == Ok((empty.clone(), 24)),
        "decode_record of the 24-byte record of an entry without data returned {got:?}"
    );
    // 16 + MAX_ENTRY_DATA is the longest; one more is impossible even before its bytes are there.
    let largest = Entry::new(9, 3, vec![0xA5; MAX_ENTRY_DATA]);
    let bytes = encode_record(9, &largest);
    match decode_record(9, &bytes) {
        Ok((entry, used)) => invariant!(
            "on-disk-format",
            entry == largest && used == 24 + MAX_ENTRY_DATA,
            "the record of an entry of MAX_ENTRY_DATA bytes decoded as entry {} with {} bytes of data, using {used} \
             bytes",
            entry.index,
            entry.data.len()
        ),
        Err(e) => fail!("on-disk-format", "the record of an entry of MAX_ENTRY_DATA bytes did not decode: {e:?}"),
    }
    let over = (16 + MAX_ENTRY_DATA + 1) as u32;
    for rest in [0, 64] {
        let got = decode_record(9, &framed(over, rest));
        invariant!(
            "on-disk-format",
            got == Err(FormatError::BadLength(over)),
            "decode_record of a len of 16 + MAX_ENTRY_DATA + 1 ({rest} bytes follow) returned {got:?}, expected \
             BadLength({over})"
        );
    }
    // Within the bounds, missing bytes are Truncated.
    let record = encode_record(3, &entries(3, 3, 1)[0]);
    let got = decode_record(3, &record[..record.len() - 1]);
    invariant!(
        "on-disk-format",
        matches!(got, Err(FormatError::Truncated { .. })),
        "decode_record of a record missing its last byte returned {got:?}, expected Truncated"
    );
}

#[test]
fn the_temporary_name_of_a_segment_is_its_name_followed_by_tmp() {
    for first in [1, 7, 1_000_001, u64::MAX - 1] {
        let got = temp_segment_file_name(first);
        let want = format!("{}.tmp", segment_file_name(first));
        invariant_eq!("on-disk-format", got, want, "temp_segment_file_name({first})");
        let parsed = format::parse_segment_file_name(&got);
        invariant_eq!("on-disk-format", parsed, None, "parse_segment_file_name({got:?}): not a segment's name");
    }
}

/// A log of entries 1..=5 in one segment of 40-byte records, synced, and its disk.
fn five_entries(seed: u64) -> (SimFs, WalOptions) {
    let opts = options(1 << 20, SyncPolicy::EveryAppend);
    let (sim, fs) = sim_disk(lab_seed(seed));
    let wal = open_on(fs, opts);
    invariant_ok!("append-only", wal.append(&entries(1, 5, 1)), "append(entries 1..=5)");
    (sim, opts)
}

#[test]
fn a_checksummed_record_out_of_sequence_ends_the_last_segment() {
    // After the five records, a record whose checksum is right for this segment but whose index
    // is not 6: an older life's record left in a reused file (3), or one after a lost record (7).
    for stale in [3, 7, 5, 1] {
        let (sim, opts) = five_entries(stale);
        let old = encode_record(1, &Entry::new(stale, 1, payload(stale, 1, 16)));
        sim.overwrite(segment_path(1), 24 + 5 * 40, &old).expect("setup: write the stale record");
        let (disk, wal) = reopen_after(&sim, CrashMode::Strict, opts);
        invariant!(
            "checksum",
            wal.last_index() == 5,
            "a record holding index {stale} where index 6 would start was taken into the log: last index {}, \
             expected 5 (recovery checks that each record's index is one more than the last)",
            wal.last_index()
        );
        let new = Entry::new(6, 2, b"the real sixth".to_vec());
        invariant_ok!("append-only", wal.append(std::slice::from_ref(&new)), "append(6) after the stale record");
        drop(wal);
        let (_, again) = reopen_after(&disk, CrashMode::Strict, opts);
        invariant_eq!("matching", again.last_index(), 6, "last index after appending 6 and reopening");
        let six = invariant_ok!("matching", again.entry(6), "entry(6)");
        invariant!("matching", six == new, "entry 6 read back as {six:?} after the reopen, expected {new:?}");
        let all = invariant_ok!("matching", again.entries(1, 7), "entries(1, 7)");
        let mut want = entries(1, 5, 1);
        want.push(new);
        invariant!("matching", all == want, "entries(1, 7) after the reopen differs from what was appended");
    }

    // The same kind of record put in place of record 4 of an open log: its checksum is right,
    // its index is not 4, and it is never returned as entry 4.
    let (sim, opts) = five_entries(9);
    let (disk, wal) = reopen_after(&sim, CrashMode::Strict, opts);
    let two = encode_record(1, &entries(2, 2, 1)[0]);
    disk.overwrite(segment_path(1), 24 + 3 * 40, &two).expect("setup: put record 2 in place of record 4");
    let got = wal.entry(4);
    invariant!(
        "checksum",
        got.is_err(),
        "record 4 was replaced on disk by record 2 (a valid record of this segment): entry(4) returned {got:?}"
    );
    let got = wal.entries(1, 6);
    invariant!(
        "checksum",
        got.is_err(),
        "record 4 was replaced on disk by record 2: entries(1, 6) returned Ok with indexes {:?}",
        got.map(|found| found.iter().map(|e| e.index).collect::<Vec<_>>())
    );
    invariant_ok!("checksum", wal.entries(1, 4), "entries(1, 4), which do not reach the replaced record");
}

#[test]
fn a_torn_tail_is_cut_before_the_log_appends_and_seals_after_it() {
    // 1 KiB segments. Entries 1..=3 (40 bytes each), then entry 4 of 724 bytes torn after 400.
    let opts = options(1024, SyncPolicy::EveryAppend);
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, opts);
    invariant_ok!("append-only", wal.append(&entries(1, 3, 1)), "append(entries 1..=3)");
    invariant_ok!("append-only", wal.append(&[Entry::new(4, 1, vec![0x44; 700])]), "append(entry 4)");
    drop(wal);
    sim.truncate_durable(segment_path(1), 144 + 400).expect("setup: tear record 4");

    let (disk, wal) = reopen_after(&sim, CrashMode::Strict, opts);
    invariant_eq!("torn-tail", wal.last_index(), 3, "last index after the torn record 4 was cut");
    // A short entry 4 takes 40 of the torn bytes; entry 5 does not fit in the segment, so the
    // segment is sealed with its footer right after entry 4 and entry 5 starts segment 5.
    let four = Entry::new(4, 2, b"a short four".to_vec());
    let five = Entry::new(5, 2, vec![0x55; 900]);
    invariant_ok!("append-only", wal.append(std::slice::from_ref(&four)), "append(4) after the cut");
    invariant_ok!("append-only", wal.append(std::slice::from_ref(&five)), "append(5), which rolls over");
    drop(wal);

    let after = Wal::open(Arc::new(disk.crash(CrashMode::Strict)), DIR, opts);
    let after = match after {
        Ok(after) => after,
        Err(e) => fail!(
            "torn-tail",
            "after a torn tail was cut, two appends and a rollover, the next open failed: {e} (torn bytes left \
             behind the records follow the new segment's footer)"
        ),
    };
    let mut want = entries(1, 3, 1);
    want.extend([four, five]);
    let all = invariant_ok!("torn-tail", after.entries(1, 6), "entries(1, 6) after the second reopen");
    invariant!("torn-tail", all == want, "entries(1, 6) after the second reopen differ from what was appended");
    let first = after.segments().first().map(|s| s.len);
    let sealed: u64 = 24 + 3 * 40 + (24 + 12) + 20;
    invariant_eq!("torn-tail", first, Some(sealed), "length of segment 1 (header, records 1-4, footer)");
}

#[test]
fn an_unfinished_last_segment_is_removed_and_an_unfinished_earlier_one_refused() {
    // 40-byte records in 144-byte segments: 1-3 and 4-6. Then a file named for segment 7 whose
    // header never reached the disk (zeros): a crashed rollover of a log that creates segments
    // in place. It is the last file: nothing in it was acknowledged, and open removes it.
    let opts = options(144, SyncPolicy::EveryAppend);
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(Arc::clone(&fs), opts);
    invariant_ok!("append-only", wal.append(&entries(1, 6, 1)), "append(entries 1..=6)");
    drop(wal);
    let seven = segment_path(7);
    let file = fs.open(&seven, distributed::vfs::OpenMode::CreateNew).expect("setup: create segment 7");
    file.write_all_at(0, &[0u8; 10]).expect("setup: write zeros");
    file.sync_data().expect("setup: sync segment 7");
    fs.sync_dir(Path::new(DIR)).expect("setup: sync the directory");
    let (disk, wal) = reopen_after(&sim, CrashMode::Strict, opts);
    invariant_eq!("torn-tail", wal.last_index(), 6, "last index with an unfinished segment 7 on disk");
    invariant!(
        "torn-tail",
        !disk.exists(&seven).expect("setup: look for segment 7"),
        "open kept the unfinished last segment 7 (its header was never written)"
    );
    invariant_ok!("torn-tail", wal.append(&entries(7, 8, 1)), "append(7..=8) after the unfinished segment went");
    drop(wal);
    let (_, again) = reopen_after(&disk, CrashMode::Strict, opts);
    let all = invariant_ok!("torn-tail", again.entries(1, 9), "entries(1, 9) after a second reopen");
    invariant!("torn-tail", all == entries(1, 8, 1), "entries(1, 9) after a second reopen differ");

    // The same zeros in place of segment 4, which has a successor: not a crash, corruption.
    let (sim, fs) = sim_disk(lab_seed(2));
    let wal = open_on(Arc::clone(&fs), opts);
    invariant_ok!("append-only", wal.append(&entries(1, 9, 1)), "append(entries 1..=9)");
    drop(wal);
    sim.truncate_durable(segment_path(4), 0).expect("setup: empty segment 4");
    sim.overwrite(segment_path(4), 0, &[0u8; 10]).expect("setup: zeros in segment 4");
    let got = Wal::open(Arc::new(sim.crash(CrashMode::Strict)), DIR, opts).map(|wal| wal.last_index());
    invariant!(
        "checksum",
        matches!(got, Err(WalError::Corrupt { .. })),
        "segment 4, followed by segment 7, holds only zeros: open returned {got:?}, expected Corrupt"
    );

    // The same zeros in the oldest segment left by a compaction (4, after 1 went): no segment
    // before it shows a gap, and it is still corruption, never a file to remove with 4-6.
    let (sim, fs) = sim_disk(lab_seed(3));
    let wal = open_on(Arc::clone(&fs), opts);
    invariant_ok!("append-only", wal.append(&entries(1, 9, 1)), "append(entries 1..=9)");
    invariant_ok!("prefix-compaction", wal.compact_prefix(3), "compact_prefix(3)");
    drop(wal);
    sim.truncate_durable(segment_path(4), 0).expect("setup: empty segment 4");
    sim.overwrite(segment_path(4), 0, &[0u8; 10]).expect("setup: zeros in segment 4");
    let got = Wal::open(Arc::new(sim.crash(CrashMode::Strict)), DIR, opts).map(|wal| wal.first_index());
    invariant!(
        "checksum",
        matches!(got, Err(WalError::Corrupt { .. })),
        "segment 4, the oldest, followed by segment 7, holds only zeros: open returned {got:?} (first index), \
         expected Corrupt"
    );
}

#[test]
fn compaction_moves_the_first_index_exactly_and_removes_whole_segments() {
    // 40-byte records in 144-byte segments: 1-3, 4-6, 7-9.
    let opts = options(144, SyncPolicy::EveryAppend);
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(Arc::clone(&fs), opts);
    invariant_ok!("append-only", wal.append(&entries(1, 9, 1)), "append(entries 1..=9)");
    let files = |fs: &FsRef| {
        let mut names = fs.read_dir(Path::new(DIR)).expect("setup: list the directory");
        names.sort();
        names
    };
    let names = |firsts: &[u64]| firsts.iter().map(|&f| segment_file_name(f)).collect::<Vec<_>>();
    for (upto, first, segments) in [(1, 2, vec![1, 4, 7]), (5, 6, vec![4, 7]), (6, 7, vec![7])] {
        invariant_ok!("prefix-compaction", wal.compact_prefix(upto), "compact_prefix({upto})");
        invariant_eq!("prefix-compaction", wal.first_index(), first, "first index after compact_prefix({upto})");
        let below = wal.entry(upto);
        invariant!(
            "prefix-compaction",
            matches!(below, Err(WalError::Compacted { index, first_index }) if index == upto && first_index == first),
            "entry({upto}) after compact_prefix({upto}) returned {below:?}, expected Compacted {{ index: {upto}, \
             first_index: {first} }}"
        );
        let kept = invariant_ok!("prefix-compaction", wal.entries(first, 10), "entries({first}, 10)");
        invariant!("prefix-compaction", kept == entries(first, 9, 1), "entries({first}, 10) after compaction differ");
        let held: Vec<u64> = wal.segments().iter().map(|s| s.first_index).collect();
        invariant_eq!("prefix-compaction", held, segments, "segments after compact_prefix({upto})");
        invariant_eq!("prefix-compaction", files(&fs), names(&segments), "segment files after compact_prefix({upto})");
    }
    // Past the end: the log restarts at 21, and no older file remains.
    invariant_ok!("prefix-compaction", wal.compact_prefix(20), "compact_prefix(20)");
    invariant_eq!("prefix-compaction", files(&fs), names(&[21]), "segment files after compact_prefix(20)");
    invariant_eq!(
        "prefix-compaction",
        (wal.first_index(), wal.last_index()),
        (21, 20),
        "first and last index after compact_prefix(20)"
    );
    drop(wal);
    let (_, after) = reopen_after(&sim, CrashMode::Strict, opts);
    invariant_ok!("append-only", after.append(&entries(21, 22, 2)), "append(21..=22) after the restart");
}

#[test]
fn a_log_at_the_top_of_the_index_space_survives_a_reopen() {
    let opts = options(144, SyncPolicy::EveryAppend);
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, opts);
    invariant_ok!("prefix-compaction", wal.compact_prefix(u64::MAX - 3), "compact_prefix(u64::MAX - 3)");
    let top = entries(u64::MAX - 2, u64::MAX - 1, 4);
    invariant_ok!("append-only", wal.append(&top), "append(u64::MAX - 2..=u64::MAX - 1)");
    drop(wal);
    // After them, in sequence and with the right checksum, a record that claims index u64::MAX:
    // damage no log wrote, which open neither keeps nor panics on.
    for beyond in [false, true] {
        if beyond {
            let record = encode_record(u64::MAX - 2, &Entry::new(u64::MAX, 4, payload(u64::MAX, 4, 16)));
            let end = 24 + top.iter().map(|e| encode_record(u64::MAX - 2, e).len() as u64).sum::<u64>();
            sim.overwrite(segment_path(u64::MAX - 2), end, &record).expect("setup: write the record");
        }
        let when = if beyond { "with a record at u64::MAX after it" } else { "as written" };
        let disk: FsRef = Arc::new(sim.crash(CrashMode::Strict));
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Wal::open(disk, DIR, opts).map(|after| (after.last_index(), after.entries(u64::MAX - 2, u64::MAX)))
        }));
        match opened {
            Err(_) => fail!("append-only", "opening a log that ends at u64::MAX - 1 ({when}) panicked"),
            Ok(Err(e)) => fail!("append-only", "opening a log that ends at u64::MAX - 1 ({when}) failed: {e}"),
            Ok(Ok((last, read))) => {
                invariant_eq!(
                    "append-only",
                    last,
                    u64::MAX - 1,
                    "last index after a reopen of a log ending at u64::MAX - 1 (the last index an entry may have), {when}"
                );
                let read = invariant_ok!("append-only", read, "entries(u64::MAX - 2, u64::MAX), {when}");
                invariant!("append-only", read == top, "the last two entries of the index space read back differently");
            }
        }
    }
}

#[test]
fn under_never_a_closed_log_has_written_its_records() {
    // Under Never, append returns once its records are written (readable, in the page cache):
    // a log closed without a sync and opened again, with no power loss between, reads them.
    for count in [1, 5, 40] {
        let opts = options(1 << 20, SyncPolicy::Never);
        let (_, fs) = sim_disk(lab_seed(count));
        let wal = open_on(Arc::clone(&fs), opts);
        for batch in entries(1, count, 1).chunks(2) {
            invariant_ok!("append-only", wal.append(batch), "append(entries {}..)", batch[0].index);
        }
        drop(wal);
        let again = open_on(fs, opts);
        invariant_eq!(
            "durability",
            again.last_index(),
            count,
            "under Never, {count} entries were appended (written, in the page cache) and the log closed: the \
             last index on opening it again, without a power loss"
        );
        let all = invariant_ok!("durability", again.entries(1, count + 1), "entries(1, {})", count + 1);
        invariant!("durability", all == entries(1, count, 1), "the entries read after closing and opening differ");
    }
}

#[test]
fn an_entry_of_exactly_max_entry_data_bytes_is_appended_and_read_back() {
    let opts = options(1 << 20, SyncPolicy::EveryAppend);
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, opts);
    invariant_ok!("append-only", wal.append(&entries(1, 2, 1)), "append(entries 1..=2)");
    let largest = Entry::new(3, 1, vec![0x3C; MAX_ENTRY_DATA]);
    invariant_ok!(
        "append-only",
        wal.append(std::slice::from_ref(&largest)),
        "append of an entry of exactly MAX_ENTRY_DATA bytes (the most a record may carry)"
    );
    invariant_ok!("append-only", wal.append(&entries(4, 4, 1)), "append(4) after the largest entry");
    drop(wal);
    let (_, after) = reopen_after(&sim, CrashMode::Strict, opts);
    let got = invariant_ok!("matching", after.entry(3), "entry(3), of MAX_ENTRY_DATA bytes, after a reopen");
    invariant!(
        "matching",
        got == largest,
        "entry 3 of MAX_ENTRY_DATA bytes read back as {} bytes in term {}",
        got.data.len(),
        got.term
    );
    invariant_eq!("matching", after.last_index(), 4, "last index after a reopen");
}
