//! Truncation and compaction across segment boundaries, each followed by a reopen.

use std::sync::Arc;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::{entries, sim_disk};
use distributed::vfs::{CrashMode, FsRef};
use lab1::SyncPolicy;

use crate::{Model, assert_matches_model, open_on, options, reopen_after};

const SEGMENT: u64 = 144; // three 40-byte records

fn reopened(fs: &FsRef) -> lab1::Wal {
    open_on(Arc::clone(fs), options(SEGMENT, SyncPolicy::EveryAppend))
}

#[test]
fn truncation_at_every_position_survives_a_reopen() {
    for from in 1..=11 {
        let (sim, fs) = sim_disk(lab_seed(1));
        let mut model = Model::default();
        {
            let wal = reopened(&fs);
            distributed::invariant_ok!("append-only", wal.append(&entries(1, 10, 1)), "wal.append(..)");
            model.append(&entries(1, 10, 1));
            distributed::invariant_ok!("matching", wal.truncate_suffix(from), "wal.truncate_suffix(..)");
            model.truncate(from);
            assert_matches_model(&wal, &model);
        }
        let wal = reopened(&fs);
        assert_matches_model(&wal, &model);
        let replacement = entries(from, from + 4, 2);
        distributed::invariant_ok!("append-only", wal.append(&replacement), "wal.append(..)");
        model.append(&replacement);
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(SEGMENT, SyncPolicy::EveryAppend));
        assert_matches_model(&after, &model);
        let spans: Vec<(u64, u64)> = after.segments().iter().map(|s| (s.first_index, s.last_index)).collect();
        invariant!(
            "rollover",
            spans.windows(2).all(|w| w[1].0 == w[0].1 + 1),
            "truncating from {from} then appending left segments {spans:?}, which do not follow each other"
        );
    }
}

#[test]
fn compaction_at_every_position_survives_a_reopen() {
    for upto in 0..=12 {
        let (sim, fs) = sim_disk(lab_seed(1));
        let mut model = Model::default();
        let wal = reopened(&fs);
        distributed::invariant_ok!("append-only", wal.append(&entries(1, 10, 1)), "wal.append(..)");
        model.append(&entries(1, 10, 1));
        distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(upto), "wal.compact_prefix(..)");
        model.compact(upto);
        invariant!(
            "prefix-compaction",
            wal.first_index() == model.first,
            "after compact_prefix({upto}) the first index is {}, expected {}",
            wal.first_index(),
            model.first
        );
        assert_matches_model(&wal, &model);
        let more = entries(model.last() + 1, model.last() + 3, 2);
        distributed::invariant_ok!("append-only", wal.append(&more), "wal.append(..)");
        model.append(&more);
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(SEGMENT, SyncPolicy::EveryAppend));
        // Entries before the compaction point may come back from a segment that also held
        // later ones; everything from the compaction point on must be exact.
        assert_matches_model(&after, &model);
        invariant!(
            "prefix-compaction",
            upto < 3 || after.first_index() >= 4,
            "compact_prefix({upto}) covers the whole segment of entries 1-3, but after a reopen the log still starts at {}",
            after.first_index()
        );
    }
}

#[test]
fn truncate_then_compact_then_truncate_again() {
    let (_, fs) = sim_disk(lab_seed(1));
    let mut model = Model::default();
    let wal = reopened(&fs);
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 12, 1)), "wal.append(..)");
    model.append(&entries(1, 12, 1));
    distributed::invariant_ok!("matching", wal.truncate_suffix(9), "wal.truncate_suffix(..)");
    model.truncate(9);
    distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(6), "wal.compact_prefix(..)");
    model.compact(6);
    distributed::invariant_ok!("append-only", wal.append(&entries(9, 14, 2)), "wal.append(..)");
    model.append(&entries(9, 14, 2));
    distributed::invariant_ok!("matching", wal.truncate_suffix(7), "wal.truncate_suffix(..)");
    model.truncate(7);
    assert_matches_model(&wal, &model);
    drop(wal);
    let wal = reopened(&fs);
    assert_matches_model(&wal, &model);
    distributed::invariant_ok!("append-only", wal.append(&entries(7, 7, 3)), "wal.append(..)");
}

#[test]
fn compacting_past_the_end_restarts_the_log_there() {
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = reopened(&fs);
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 5, 1)), "wal.append(..)");
    distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(100), "wal.compact_prefix(..)");
    invariant!(
        "prefix-compaction",
        wal.first_index() == 101 && wal.last_index() == 100,
        "after compacting past the end the log should be empty at 101, found {}..={}",
        wal.first_index(),
        wal.last_index()
    );
    let (_, after) = reopen_after(&sim, CrashMode::Strict, options(SEGMENT, SyncPolicy::EveryAppend));
    invariant!(
        "prefix-compaction",
        after.first_index() == 101,
        "after a reopen the restarted log starts at {}, expected 101: the restart was not durable",
        after.first_index()
    );
    distributed::invariant_ok!(
        "append-only",
        after.append(&entries(101, 103, 2)),
        "the restarted log continues at 101"
    );
    let mut model = Model { first: 101, ..Model::default() };
    model.append(&entries(101, 103, 2));
    assert_matches_model(&after, &model);
}

/// Labs 4 and later hold the log as the kit's `LogStorage`, not as a `Wal`: every operation
/// through the trait does what the `Wal`'s own method does, and survives a reopen.
#[test]
fn the_log_through_the_kits_log_storage_trait_behaves_as_itself() {
    use distributed::storage::LogStorage;

    fn drive(log: &mut dyn LogStorage<Error = lab1::WalError>, model: &mut Model) {
        distributed::invariant_ok!("matching", log.append(&entries(1, 9, 1)), "LogStorage::append(1..=9)");
        model.append(&entries(1, 9, 1));
        distributed::invariant_ok!("matching", log.truncate_suffix(7), "LogStorage::truncate_suffix(7)");
        model.truncate(7);
        distributed::invariant_ok!("matching", log.append(&entries(7, 11, 2)), "LogStorage::append(7..=11)");
        model.append(&entries(7, 11, 2));
        distributed::invariant_ok!("prefix-compaction", log.compact_prefix(3), "LogStorage::compact_prefix(3)");
        model.compact(3);
        distributed::invariant_ok!("durability", log.sync(), "LogStorage::sync()");
        distributed::invariant_eq!(
            "prefix-compaction",
            log.first_index(),
            model.first,
            "first_index through the trait"
        );
        distributed::invariant_eq!("matching", log.last_index(), model.last(), "last_index through the trait");
        let term = distributed::invariant_ok!("matching", log.term(8), "LogStorage::term(8)");
        distributed::invariant_eq!("matching", term, 2, "the term of entry 8 through the trait");
        let read = distributed::invariant_ok!("matching", log.entries(model.first, 12), "LogStorage::entries(..)");
        let expected: Vec<_> = (model.first..=11).filter_map(|i| model.get(i).cloned()).collect();
        invariant!(
            "matching",
            read == expected,
            "entries through the trait: {} read, {} expected",
            read.len(),
            expected.len()
        );
    }

    // Under `Never`, so that only the trait's `sync` makes the entries durable.
    let (sim, fs) = sim_disk(lab_seed(7));
    let mut model = Model::default();
    let mut wal = open_on(Arc::clone(&fs), options(SEGMENT, SyncPolicy::Never));
    drive(&mut wal, &mut model);
    let (_, after) = reopen_after(&sim, CrashMode::Strict, options(SEGMENT, SyncPolicy::Never));
    assert_matches_model(&after, &model);
}
