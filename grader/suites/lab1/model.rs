//! Random operations against an in-memory model, with reopens and crashes in between.

use proptest::prelude::*;

use distributed::storage::Entry;
use distributed::testing::{payload, proptest_config, sim_disk};
use distributed::vfs::CrashMode;
use lab1::SyncPolicy;

use crate::{Model, assert_matches_model, open_on, options, reopen_after};

#[derive(Clone, Debug)]
enum Op {
    /// Append `count` entries of `size` bytes, bumping the term if `new_term`.
    Append {
        count: u64,
        size: usize,
        new_term: bool,
    },
    /// Truncate from a position `fraction` of the way into the log.
    Truncate {
        fraction: f64,
    },
    /// Compact up to a position `fraction` of the way into the log (past it if > 1).
    Compact {
        fraction: f64,
    },
    Reopen,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (1u64..6, 0usize..300, any::<bool>()).prop_map(|(count, size, new_term)| Op::Append { count, size, new_term }),
        2 => (0.0f64..1.0).prop_map(|fraction| Op::Truncate { fraction }),
        2 => (0.0f64..1.3).prop_map(|fraction| Op::Compact { fraction }),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
    ]
}

proptest! {
    #![proptest_config(proptest_config(0x1AB1, 48))]

    #[test]
    fn random_operations_agree_with_the_model(ops in prop::collection::vec(op(), 1..40), segment_size in 100u64..2000) {
        let opts = options(segment_size, SyncPolicy::EveryAppend);
        let (mut sim, fs) = sim_disk(7);
        let mut wal = open_on(fs, opts);
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Append { count, size, new_term } => {
                    let term = model.last_term().max(1) + u64::from(new_term);
                    let batch: Vec<Entry> =
                        (model.last() + 1..=model.last() + count).map(|i| Entry::new(i, term, payload(i, term, size))).collect();
                    wal.append(&batch).unwrap_or_else(|e| distributed::fail!(
                        "append-only",
                        "appending {}..: {e}",
                        batch[0].index,
                    ));
                    model.append(&batch);
                }
                Op::Truncate { fraction } => {
                    let span = model.last() + 1 - model.first;
                    let from = model.first + (span as f64 * fraction) as u64;
                    wal.truncate_suffix(from).unwrap_or_else(|e| distributed::fail!(
                        "matching",
                        "truncate_suffix({from}): {e}",
                    ));
                    model.truncate(from);
                }
                Op::Compact { fraction } => {
                    let span = model.last() + 1 - model.first;
                    let upto = (model.first + (span as f64 * fraction) as u64).saturating_sub(1);
                    wal.compact_prefix(upto).unwrap_or_else(|e| distributed::fail!(
                        "matching",
                        "compact_prefix({upto}): {e}",
                    ));
                    model.compact(upto);
                }
                Op::Reopen => {
                    drop(wal);
                    let fs: distributed::vfs::FsRef = std::sync::Arc::new(sim.clone());
                    wal = open_on(fs, opts);
                }
                Op::Crash => {
                    let (disk, reopened) = reopen_after(&sim, CrashMode::Strict, opts);
                    sim = disk;
                    wal = reopened;
                }
            }
            assert_matches_model(&wal, &model);
        }
    }
}
