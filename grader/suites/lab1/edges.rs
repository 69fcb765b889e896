//! The edge cases the chapter lists beside the methods they concern: an empty append, the
//! index an out-of-range read names, names that look like segments but are not, and a
//! compaction under `SyncPolicy::Never`.

use std::path::Path;
use std::sync::Arc;

use distributed::rng::lab_seed;
use distributed::storage::Entry;
use distributed::testing::{entries, sim_disk};
use distributed::vfs::{CrashMode, FsRef, OpenMode, StatsFs, Vfs};
use distributed::{fail, invariant};
use lab1::format::{SegmentHeader, parse_segment_file_name};
use lab1::{SyncPolicy, WalError};

use crate::{DIR, Model, assert_matches_model, open_on, options, reopen_after};

#[test]
fn an_empty_append_does_nothing_under_every_policy() {
    for policy in [SyncPolicy::EveryAppend, SyncPolicy::GroupCommit, SyncPolicy::Never] {
        let (sim, fs) = sim_disk(lab_seed(1));
        let stats = StatsFs::new(fs);
        let wal = open_on(Arc::new(stats.clone()) as FsRef, options(144, policy));
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 3, 1)), "wal.append(..)");
        let before = stats.stats();
        let result = wal.append(&[]);
        invariant!("append-only", result.is_ok(), "under {policy:?}, append(&[]) returned {result:?}");
        let after = stats.stats();
        invariant!(
            "append-only",
            after.total().writes == before.total().writes && after.all_syncs() == before.all_syncs(),
            "under {policy:?}, append(&[]) wrote {} times and synced {} times: an empty batch appends nothing",
            after.total().writes - before.total().writes,
            after.all_syncs() - before.all_syncs()
        );
        assert_matches_model(&wal, &Model::of(entries(1, 3, 1)));

        // A failed sync poisons the log; an empty append is refused like any other.
        sim.fail_next_syncs(1);
        let failed = match policy {
            SyncPolicy::Never => wal.append(&entries(4, 4, 1)).and_then(|()| wal.sync()),
            _ => wal.append(&entries(4, 4, 1)),
        };
        invariant!("fail-stop", failed.is_err(), "under {policy:?}, the failed sync was not reported: {failed:?}");
        let empty = wal.append(&[]);
        invariant!(
            "fail-stop",
            matches!(empty, Err(WalError::Poisoned)),
            "under {policy:?}, append(&[]) on a poisoned log returned {empty:?}, expected Poisoned"
        );
    }
}

#[test]
fn a_read_past_the_end_names_the_end_of_the_range_that_failed() {
    let (_, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, options(144, SyncPolicy::EveryAppend));
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 10, 2)), "wal.append(..)");
    distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(3), "wal.compact_prefix(..)"); // first index 4, last index 10
    let cases: [(u64, u64, &str); 4] = [
        (2, 12, "Compacted { index: 2, .. }"),
        (11, 13, "Unavailable { index: 11, .. }"),
        (9, 12, "Unavailable { index: 11, .. }"),
        (5, 20, "Unavailable { index: 19, .. }"),
    ];
    for (low, high, want) in cases {
        let got = wal.entries(low, high);
        let right = match got {
            Err(WalError::Compacted { index, first_index: 4 }) => want.starts_with("Compacted") && index == low,
            Err(WalError::Unavailable { index, last_index: 10 }) => {
                want.starts_with("Unavailable") && want.contains(&format!("index: {index},"))
            }
            _ => false,
        };
        invariant!("append-only", right, "entries({low}, {high}) of the log 4..=10 returned {got:?}, expected {want}");
    }
    for (low, high) in [(5, 5), (20, 20), (2, 2), (9, 3)] {
        let got = wal.entries(low, high);
        invariant!(
            "append-only",
            matches!(&got, Ok(found) if found.is_empty()),
            "entries({low}, {high}) is an empty range, expected Ok([]), got {got:?}"
        );
    }
    for index in [11, 12, 1000] {
        let entry = wal.entry(index);
        invariant!(
            "append-only",
            matches!(entry, Err(WalError::Unavailable { index: i, last_index: 10 }) if i == index),
            "entry({index}) of the log 4..=10 returned {entry:?}"
        );
        let term = wal.term(index);
        invariant!(
            "append-only",
            matches!(term, Err(WalError::Unavailable { index: i, last_index: 10 }) if i == index),
            "term({index}) of the log 4..=10 returned {term:?}"
        );
    }
}

#[test]
fn names_with_index_zero_or_past_u64_are_not_segments() {
    for (name, want) in [
        ("00000000000000000000.wal", None),
        ("99999999999999999999.wal", None),
        ("18446744073709551616.wal", None),
        ("18446744073709551615.wal", Some(u64::MAX)),
        ("00000000000000000001.wal", Some(1)),
    ] {
        let got = parse_segment_file_name(name);
        invariant!("on-disk-format", got == want, "parse_segment_file_name({name:?}) is {got:?}, expected {want:?}");
    }

    // Files with those names, even holding what looks like a segment, are not the log's:
    // open ignores them and leaves them alone.
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(Arc::clone(&fs), options(144, SyncPolicy::EveryAppend));
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 5, 1)), "wal.append(..)");
    drop(wal);
    let strays = [
        ("00000000000000000000.wal", SegmentHeader { first_index: 0, flags: 0 }.encode().to_vec()),
        ("99999999999999999999.wal", vec![0xAB; 40]),
    ];
    for (name, bytes) in &strays {
        let path = Path::new(DIR).join(name);
        let file = fs.open(&path, OpenMode::CreateNew).expect("setup: open the file");
        file.write_all_at(0, bytes).expect("setup: write the file");
        file.sync_data().expect("setup: sync the file");
    }
    fs.sync_dir(Path::new(DIR)).expect("setup: sync the directory");
    let (disk, after) = reopen_after(&sim, CrashMode::Strict, options(144, SyncPolicy::EveryAppend));
    assert_matches_model(&after, &Model::of(entries(1, 5, 1)));
    distributed::invariant_ok!(
        "append-only",
        after.append(&entries(6, 6, 1)),
        "appending after the stray files were ignored"
    );
    for (name, bytes) in &strays {
        let path = Path::new(DIR).join(name);
        let kept = disk.open(&path, OpenMode::Read).and_then(|file| file.read_all());
        match kept {
            Ok(kept) => invariant!("on-disk-format", kept == *bytes, "open changed the stray file {name}"),
            Err(e) => fail!("on-disk-format", "open removed the stray file {name}, which is not a segment: {e}"),
        }
    }
}

#[test]
fn compaction_under_never_is_durable_when_it_returns() {
    // 40-byte records: segments 1-3, 4-6, 7-9.
    let opts = options(144, SyncPolicy::Never);
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, opts);
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 9, 1)), "wal.append(..)");
    distributed::invariant_ok!("durability", wal.sync(), "wal.sync(..)");
    distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(5), "wal.compact_prefix(..)");
    let (_, after) = reopen_after(&sim, CrashMode::Strict, opts);
    invariant!(
        "prefix-compaction",
        after.first_index() == 4,
        "under Never, compact_prefix(5) returned and the power went: the log starts at {}, expected 4 \
         (segment 1 removed, durably: compaction is durable when it returns under every policy)",
        after.first_index()
    );

    // Past the end, on a log like the first: the log restarts at 13.
    let (sim, fs) = sim_disk(lab_seed(2));
    let wal = open_on(fs, opts);
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 9, 1)), "wal.append(..)");
    distributed::invariant_ok!("durability", wal.sync(), "wal.sync(..)");
    distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(12), "wal.compact_prefix(..)");
    let (_, after) = reopen_after(&sim, CrashMode::Strict, opts);
    invariant!(
        "prefix-compaction",
        after.first_index() == 13 && after.last_index() == 12,
        "under Never, compact_prefix(12) restarted the log at 13 and the power went: the log is {}..={}, \
         expected empty at 13",
        after.first_index(),
        after.last_index()
    );
    distributed::invariant_ok!("append-only", after.append(&entries(13, 14, 2)), "the restarted log continues at 13");
}

#[test]
fn the_top_of_the_index_space_is_a_typed_error_never_a_panic() {
    let opts = options(144, SyncPolicy::EveryAppend);
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, opts);
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 5, 1)), "wal.append(..)");

    // compact_prefix(u64::MAX) would restart the log at an index past u64::MAX.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wal.compact_prefix(u64::MAX)));
    match outcome {
        Err(_) => fail!("prefix-compaction", "compact_prefix(u64::MAX) panicked: it must be a typed error"),
        Ok(Ok(())) => {
            fail!("prefix-compaction", "compact_prefix(u64::MAX) returned Ok: no log can start at u64::MAX + 1")
        }
        Ok(Err(WalError::Poisoned)) => {
            fail!("prefix-compaction", "compact_prefix(u64::MAX) poisoned the log: a refused argument changes nothing")
        }
        Ok(Err(_)) => {}
    }
    assert_matches_model(&wal, &Model::of(entries(1, 5, 1)));

    // The last usable index is u64::MAX - 1: a restart there leaves a log whose next index is
    // u64::MAX, and an entry at u64::MAX is refused.
    wal.compact_prefix(u64::MAX - 2)
        .unwrap_or_else(|e| fail!("prefix-compaction", "compact_prefix(u64::MAX - 2) failed: {e}"));
    let last = Entry::new(u64::MAX - 1, 1, vec![7u8; 8]);
    wal.append(std::slice::from_ref(&last)).unwrap_or_else(|e| {
        fail!("append-only", "appending index u64::MAX - 1 to a log that starts there failed: {e}")
    });
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wal.append(&[Entry::new(u64::MAX, 1, vec![8u8; 8])])));
    match outcome {
        Err(_) => fail!("append-only", "appending index u64::MAX panicked: it must be a typed error"),
        Ok(Ok(())) => fail!("append-only", "appending index u64::MAX succeeded: the log's next index would not exist"),
        Ok(Err(WalError::Poisoned)) => fail!("append-only", "appending index u64::MAX poisoned the log"),
        Ok(Err(_)) => {}
    }
    let held = wal.last_index();
    invariant!(
        "append-only",
        held == u64::MAX - 1,
        "after the refused append the last index is {held}, expected u64::MAX - 1"
    );
    drop(wal);

    // A segment named u64::MAX holding a record that claims index u64::MAX: damage that no
    // log could have written. Opening must not panic.
    let disk = sim.crash(CrashMode::Strict);
    let name = "18446744073709551615.wal";
    let mut bytes = SegmentHeader { first_index: u64::MAX, flags: 0 }.encode().to_vec();
    bytes.extend_from_slice(&lab1::format::encode_record(u64::MAX, &Entry::new(u64::MAX, 1, vec![9u8; 8])));
    let file = disk.open(&Path::new(DIR).join(name), OpenMode::Create).expect("setup: create the file");
    file.write_all_at(0, &bytes).expect("setup: write the file");
    file.sync_data().expect("setup: sync the file");
    disk.sync_dir(Path::new(DIR)).expect("setup: sync the directory");
    let fs: FsRef = Arc::new(disk.clone());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lab1::Wal::open(fs, DIR, opts)
            .map(|wal| (wal.last_index(), wal.append(&[Entry::new(u64::MAX, 1, vec![1u8])]).is_ok()))
    }));
    match outcome {
        Err(_) => fail!("on-disk-format", "open panicked on a segment named {name} holding index u64::MAX"),
        Ok(Ok((last, appended))) => {
            invariant!(
                "on-disk-format",
                last < u64::MAX && !appended,
                "open kept a record at index u64::MAX (last index {last}, append at u64::MAX accepted: {appended})"
            );
        }
        Ok(Err(_)) => {}
    }
}
