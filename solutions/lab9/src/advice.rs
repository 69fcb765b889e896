//! Task 5: advice rules, each with its evidence and its measured effect.

use crate::recording::{Advice, Change, Experiment, Findings, Measurement, Options, Rule, thresholds};

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
    let mut fired = Vec::new();
    if findings.syncs_per_entry > thresholds::SYNCS_PER_ENTRY
        && findings.writers >= thresholds::WRITERS
        && !options.group_commit
    {
        fired.push((
            Rule::GroupCommit,
            Change::GroupCommit,
            format!("{:.2} syncs per acknowledged entry with {} writers", findings.syncs_per_entry, findings.writers),
        ));
    }
    if findings.rollovers_per_1000_entries > thresholds::ROLLOVERS_PER_1000_ENTRIES {
        fired.push((
            Rule::LargerSegments,
            Change::SegmentSize(options.segment_size.saturating_mul(thresholds::SEGMENT_GROWTH)),
            format!(
                "{:.1} segment rollovers per 1000 entries at {} bytes per segment",
                findings.rollovers_per_1000_entries, options.segment_size
            ),
        ));
    }
    if findings.max_replayed_entries > thresholds::REPLAYED_ENTRIES {
        let every = match options.snapshot_every {
            0 => thresholds::SNAPSHOT_EVERY,
            current => thresholds::SNAPSHOT_EVERY.min(current / 2).max(1),
        };
        fired.push((
            Rule::SnapshotThreshold,
            Change::SnapshotEvery(every),
            format!("a restart replayed {} entries", findings.max_replayed_entries),
        ));
    }
    if findings.snapshot_share > thresholds::SNAPSHOT_SHARE && !options.compression {
        fired.push((
            Rule::Compression,
            Change::Compression,
            format!("snapshots take {:.0}% of the bytes written", findings.snapshot_share * 100.0),
        ));
    }
    if fired.is_empty() {
        return Vec::new();
    }
    let Ok(before) = experiment.measure(None) else {
        return Vec::new();
    };
    fired
        .into_iter()
        .filter_map(|(rule, change, evidence)| {
            let after: Measurement = experiment.measure(Some(change)).ok()?;
            Some(Advice { rule, change, evidence, before, after })
        })
        .collect()
}
