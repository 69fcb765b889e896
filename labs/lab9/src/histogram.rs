//! Task 2: a latency histogram with bounded relative error, and exact percentiles of a sample.
//!
//! The layout is HdrHistogram's idea (Gil Tene): values below `2^p` (p: the precision bits)
//! each have their own bucket; above that, each power of two `[2^m, 2^(m+1))` is split into
//! `2^p` equal buckets of width `2^(m-p)`. A bucket is never wider than `2^-p` of the values in
//! it, so any value read back from a bucket is within that relative error of every value
//! counted there, from nanoseconds to hours, in a few thousand counters.

use serde::{Deserialize, Serialize};

/// Counts of values in log-linear buckets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    /// Precision bits `p`: `2^p` buckets per power of two.
    pub precision_bits: u32,
    /// Count per bucket, by [`LatencyHistogram::bucket_index`]; grown as needed.
    pub counts: Vec<u64>,
    /// Values recorded.
    pub total: u64,
    /// The smallest value recorded (0 if none).
    pub min: u64,
    /// The largest value recorded.
    pub max: u64,
}

impl LatencyHistogram {
    /// An empty histogram with `precision_bits` bits (1 to 16).
    pub fn new(precision_bits: u32) -> LatencyHistogram {
        let _ = precision_bits;
        todo!("lab 9, task 2: new")
    }

    /// The bucket that counts `value`.
    pub fn bucket_index(&self, value: u64) -> usize {
        let _ = value;
        todo!("lab 9, task 2: bucket_index")
    }

    /// The smallest and largest value bucket `index` counts.
    pub fn bucket_range(&self, index: usize) -> (u64, u64) {
        let _ = index;
        todo!("lab 9, task 2: bucket_range")
    }

    /// Counts `value`.
    pub fn record(&mut self, value: u64) {
        let _ = value;
        todo!("lab 9, task 2: record")
    }

    /// The value at quantile `q` (0 to 1) by the nearest-rank method: the value of rank
    /// `max(1, ⌈q·n⌉)` in sorted order, read as the top of its bucket (never above `max`).
    /// `None` when nothing was recorded.
    pub fn value_at_quantile(&self, q: f64) -> Option<u64> {
        let _ = q;
        todo!("lab 9, task 2: value_at_quantile")
    }
}

/// The value at quantile `q` of `sample` by the nearest-rank method (the value of rank
/// `max(1, ⌈q·n⌉)` in sorted order), exactly: what a whole trace allows, and what the
/// histogram is checked against. `None` for an empty sample.
pub fn exact_quantile(sample: &[u64], q: f64) -> Option<u64> {
    let _ = (sample, q);
    todo!("lab 9, task 2: exact_quantile")
}
