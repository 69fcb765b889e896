//! Bad arguments get typed errors and change nothing.

use distributed::rng::lab_seed;
use distributed::storage::Entry;
use distributed::testing::{entries, sim_disk};
use lab1::format::MAX_ENTRY_DATA;
use lab1::{SyncPolicy, WalError};

use crate::{Model, assert_matches_model, open_on, options};

fn log_of_ten() -> (lab1::Wal, Model) {
    let (_, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs, options(144, SyncPolicy::EveryAppend));
    distributed::invariant_ok!("append-only", wal.append(&entries(1, 10, 2)), "wal.append(..)");
    (wal, Model::of(entries(1, 10, 2)))
}

#[test]
fn a_gap_is_refused() {
    let (wal, model) = log_of_ten();
    let result = wal.append(&entries(12, 13, 2));
    distributed::invariant_matches!(
        "append-only",
        result,
        Err(WalError::NotContiguous { expected: 11, got: 12 }),
        "appending 12 after 10: {result:?}",
    );
    let inner_gap = wal.append(&[entries(11, 11, 2), entries(13, 13, 2)].concat());
    distributed::invariant_matches!(
        "append-only",
        inner_gap,
        Err(WalError::NotContiguous { expected: 12, got: 13 }),
        "a gap inside a batch: {inner_gap:?}",
    );
    assert_matches_model(&wal, &model);
}

#[test]
fn a_stale_index_is_refused() {
    let (wal, model) = log_of_ten();
    for stale in [1, 5, 10] {
        let result = wal.append(&entries(stale, stale, 2));
        distributed::invariant_matches!(
            "append-only",
            result,
            Err(WalError::NotContiguous { expected: 11, .. }),
            "re-appending {stale}: {result:?}",
        );
    }
    assert_matches_model(&wal, &model);
}

#[test]
fn a_lower_term_is_refused() {
    let (wal, model) = log_of_ten();
    let result = wal.append(&entries(11, 11, 1));
    distributed::invariant_matches!(
        "append-only",
        result,
        Err(WalError::TermRegression { index: 11, previous: 2, got: 1 }),
        "{result:?}",
    );
    let inside = wal.append(&[entries(11, 11, 3), entries(12, 12, 2)].concat());
    distributed::invariant_matches!(
        "append-only",
        inside,
        Err(WalError::TermRegression { index: 12, .. }),
        "a lower term inside a batch: {inside:?}",
    );
    assert_matches_model(&wal, &model);
}

#[test]
fn truncating_below_the_first_index_is_refused() {
    let (wal, mut model) = log_of_ten();
    distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(4), "wal.compact_prefix(..)");
    model.compact(4);
    for from in [1, 4] {
        let result = wal.truncate_suffix(from);
        distributed::invariant_matches!(
            "prefix-compaction",
            result,
            Err(WalError::TruncateCompacted { first_index: 5, .. }),
            "truncate_suffix({from}) after compacting up to 4: {result:?}",
        );
    }
    distributed::invariant_ok!("matching", wal.truncate_suffix(11), "truncating past the end does nothing");
    assert_matches_model(&wal, &model);
}

#[test]
fn reads_outside_the_log_are_typed_errors() {
    let (wal, _) = log_of_ten();
    distributed::invariant_ok!("prefix-compaction", wal.compact_prefix(3), "wal.compact_prefix(..)");
    let compacted = wal.entry(3);
    distributed::invariant_matches!(
        "prefix-compaction",
        compacted,
        Err(WalError::Compacted { index: 3, first_index: 4 }),
        "reading entry 3 after compacting up to 3: {compacted:?}",
    );
    let term = wal.term(2);
    distributed::invariant_matches!(
        "prefix-compaction",
        term,
        Err(WalError::Compacted { .. }),
        "the term of compacted entry 2: {term:?}",
    );
    let past = wal.entry(11);
    distributed::invariant_matches!(
        "append-only",
        past,
        Err(WalError::Unavailable { index: 11, last_index: 10 }),
        "reading entry 11 of a log ending at 10: {past:?}",
    );
    let below = wal.entries(2, 5);
    distributed::invariant_matches!(
        "prefix-compaction",
        below,
        Err(WalError::Compacted { .. }),
        "entries(2, 5) after compacting up to 3: {below:?}",
    );
    let beyond = wal.entries(9, 12);
    distributed::invariant_matches!(
        "append-only",
        beyond,
        Err(WalError::Unavailable { .. }),
        "entries(9, 12) of a log ending at 10: {beyond:?}",
    );
}

#[test]
fn an_oversized_entry_is_refused() {
    let (wal, model) = log_of_ten();
    let result = wal.append(&[Entry::new(11, 2, vec![7; MAX_ENTRY_DATA + 1])]);
    distributed::invariant_matches!(
        "append-only",
        result,
        Err(WalError::TooLarge { .. }),
        "an entry over MAX_ENTRY_DATA: {result:?}",
    );
    assert_matches_model(&wal, &model);
    distributed::invariant_ok!(
        "append-only",
        wal.append(&[Entry::new(11, 2, vec![7; 1000])]),
        "after a refused append the log is still usable"
    );
}
