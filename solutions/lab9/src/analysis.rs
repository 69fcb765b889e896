//! Task 4: from a summary to findings.

use crate::histogram::LatencyHistogram;
use crate::recording::{FileKind, Findings, Hot, Percentiles, Summary, WriteAmplification};
use crate::sketch::TopK;

/// `numerator / denominator`, 0 when the denominator is 0.
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 { 0.0 } else { numerator / denominator }
}

/// p50, p90, p99, p99.9 and the maximum of a histogram (all 0 if it is empty).
pub fn percentiles(histogram: &LatencyHistogram) -> Percentiles {
    let at = |q| histogram.value_at_quantile(q).unwrap_or(0);
    Percentiles {
        count: histogram.total,
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        p999: at(0.999),
        max: histogram.max,
    }
}

/// Bytes written to each kind of file per acknowledged byte; `total` is their sum. Every
/// byte written counts: the log's, and the snapshots', chunks' and manifests' that exist only
/// because the log is compacted.
pub fn write_amplification(summary: &Summary) -> WriteAmplification {
    let acked = summary.acked_bytes as f64;
    let of = |kind| ratio(summary.kind(kind).write_bytes as f64, acked);
    let total_bytes: u64 = summary.kinds.iter().map(|k| k.write_bytes).sum();
    WriteAmplification {
        log: of(FileKind::Log),
        snapshot: of(FileKind::Snapshot),
        chunk: of(FileKind::Chunk),
        manifest: of(FileKind::Manifest),
        other: of(FileKind::Other),
        total: ratio(total_bytes as f64, acked),
    }
}

/// The hottest entries of a top-k, with their share of the sketch's total.
fn hottest(top: &TopK) -> Vec<Hot> {
    top.top()
        .into_iter()
        .map(|(name, count)| Hot { share: ratio(count as f64, top.sketch.total as f64), name, count })
        .collect()
}

/// Everything the report shows, computed from the summary alone.
pub fn analyze(summary: &Summary) -> Findings {
    let syncs = summary.kinds.iter().map(|k| k.syncs).sum::<u64>() + summary.dir_syncs;
    let seconds = summary.duration_ns as f64 / 1e9;
    let all_bytes: u64 = summary.kinds.iter().map(|k| k.write_bytes).sum();
    let snapshot_bytes: u64 = [FileKind::Snapshot, FileKind::Chunk, FileKind::Manifest]
        .iter()
        .map(|&kind| summary.kind(kind).write_bytes)
        .sum();
    let mut sequential_ratio = [0.0; 5];
    for (slot, stats) in sequential_ratio.iter_mut().zip(&summary.kinds) {
        *slot = ratio(stats.sequential_writes as f64, stats.writes as f64);
    }
    Findings {
        write_amplification: write_amplification(summary),
        sequential_ratio,
        syncs_per_entry: ratio(syncs as f64, summary.acked_entries as f64),
        syncs_per_second: ratio(syncs as f64, seconds),
        read_latency: percentiles(&summary.read_latency),
        write_latency: percentiles(&summary.write_latency),
        sync_latency: percentiles(&summary.sync_latency),
        hot_keys: hottest(&summary.hot_keys),
        hot_segments: hottest(&summary.hot_segments),
        rollovers_per_1000_entries: ratio(
            summary.kind(FileKind::Log).creates as f64 * 1000.0,
            summary.acked_entries as f64,
        ),
        snapshots: summary.snapshots,
        snapshot_mean_ns: summary.snapshot_ns.checked_div(summary.snapshots).unwrap_or(0),
        snapshot_share: ratio(snapshot_bytes as f64, all_bytes as f64),
        max_replayed_entries: summary.restarts.iter().map(|r| r.replayed_entries).max().unwrap_or(0),
        max_replay_ns: summary.restarts.iter().map(|r| r.replay_ns).max().unwrap_or(0),
        barrier_wait_share: ratio(summary.barrier_wait_ns as f64, summary.duration_ns as f64),
        writers: summary.writers,
    }
}

/// The figures advice is judged by, from one run's summary.
pub fn measure(summary: &Summary) -> crate::recording::Measurement {
    let findings = analyze(summary);
    crate::recording::Measurement {
        entries_per_second: ratio(summary.acked_entries as f64, summary.duration_ns as f64 / 1e9),
        syncs_per_entry: findings.syncs_per_entry,
        write_amplification: findings.write_amplification.total,
        rollovers_per_1000_entries: findings.rollovers_per_1000_entries,
        max_replayed_entries: findings.max_replayed_entries,
        snapshot_bytes: [FileKind::Snapshot, FileKind::Chunk, FileKind::Manifest]
            .iter()
            .map(|&kind| summary.kind(kind).write_bytes)
            .sum(),
    }
}
