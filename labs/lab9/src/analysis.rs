//! Task 4: from a summary to findings.

use crate::histogram::LatencyHistogram;
use crate::recording::{Findings, Percentiles, Summary, WriteAmplification};

/// p50, p90, p99, p99.9 and the maximum of a histogram (all 0 if it is empty).
pub fn percentiles(histogram: &LatencyHistogram) -> Percentiles {
    let _ = histogram;
    todo!("lab 9, task 4: percentiles")
}

/// Bytes written to each kind of file per acknowledged byte; `total` is their sum. Every
/// byte written counts: the log's, and the snapshots', chunks' and manifests' that exist only
/// because the log is compacted.
pub fn write_amplification(summary: &Summary) -> WriteAmplification {
    let _ = summary;
    todo!("lab 9, task 4: write_amplification")
}

/// Everything the report shows, computed from the summary alone.
pub fn analyze(summary: &Summary) -> Findings {
    let _ = summary;
    todo!("lab 9, task 4: analyze")
}

/// The figures advice is judged by, from one run's summary.
pub fn measure(summary: &Summary) -> crate::recording::Measurement {
    let _ = summary;
    todo!("lab 9, task 4: measure")
}
