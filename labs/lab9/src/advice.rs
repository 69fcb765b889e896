//! Task 5: advice rules, each with its evidence and its measured effect.

use crate::recording::{Advice, Experiment, Findings, Options};

/// The suggestions the findings support, in the order of [`Rule`], each measured.
///
/// A rule fires when its evidence passes its threshold (see [`thresholds`]) and the option
/// it would change is not already set that way:
///
/// - [`Rule::GroupCommit`]: more than `SYNCS_PER_ENTRY` syncs per entry with at least
///   `WRITERS` writers, and group commit off → [`Change::GroupCommit`];
/// - [`Rule::LargerSegments`]: more than `ROLLOVERS_PER_1000_ENTRIES` →
///   [`Change::SegmentSize`] of `SEGMENT_GROWTH` times the current size;
/// - [`Rule::SnapshotThreshold`]: a restart replayed more than `REPLAYED_ENTRIES` →
///   [`Change::SnapshotEvery`] of `SNAPSHOT_EVERY`, or half the current threshold if smaller;
/// - [`Rule::Compression`]: snapshot bytes above `SNAPSHOT_SHARE` of all bytes written, and
///   compression off → [`Change::Compression`].
///
/// Every advice carries the workload measured as recorded (`before`, one run shared by all
/// advice) and with its change (`after`). A rule whose experiment fails gives no advice: a
/// suggestion without its measured effect is an opinion.
pub fn advise(findings: &Findings, options: &Options, experiment: &mut dyn Experiment) -> Vec<Advice> {
    let _ = (findings, options, experiment);
    todo!("lab 9, task 5: advise")
}
