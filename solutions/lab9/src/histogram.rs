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
        LatencyHistogram { precision_bits: precision_bits.clamp(1, 16), counts: Vec::new(), total: 0, min: 0, max: 0 }
    }

    /// The bucket that counts `value`.
    pub fn bucket_index(&self, value: u64) -> usize {
        let p = self.precision_bits;
        if value < (1 << p) {
            return value as usize;
        }
        let magnitude = 63 - value.leading_zeros();
        let shift = magnitude - p;
        ((shift as usize + 1) << p) + ((value >> shift) as usize - (1 << p))
    }

    /// The smallest and largest value bucket `index` counts.
    pub fn bucket_range(&self, index: usize) -> (u64, u64) {
        let p = self.precision_bits;
        let sub = 1usize << p;
        if index < sub {
            return (index as u64, index as u64);
        }
        let shift = (index >> p) as u32 - 1;
        let low = (((index & (sub - 1)) + sub) as u64) << shift;
        (low, low + ((1u64 << shift) - 1))
    }

    /// Counts `value`.
    pub fn record(&mut self, value: u64) {
        let index = self.bucket_index(value);
        if self.counts.len() <= index {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += 1;
        self.min = if self.total == 0 { value } else { self.min.min(value) };
        self.max = self.max.max(value);
        self.total += 1;
    }

    /// The value at quantile `q` (0 to 1) by the nearest-rank method: the value of rank
    /// `max(1, ⌈q·n⌉)` in sorted order, read as the top of its bucket (never above `max`).
    /// `None` when nothing was recorded.
    pub fn value_at_quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(self.bucket_range(index).1.min(self.max));
            }
        }
        Some(self.max)
    }
}

/// The value at quantile `q` of `sample` by the nearest-rank method (the value of rank
/// `max(1, ⌈q·n⌉)` in sorted order), exactly: what a whole trace allows, and what the
/// histogram is checked against. `None` for an empty sample.
pub fn exact_quantile(sample: &[u64], q: f64) -> Option<u64> {
    if sample.is_empty() {
        return None;
    }
    let mut sorted = sample.to_vec();
    sorted.sort_unstable();
    let rank = ((q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).max(1);
    Some(sorted[rank - 1])
}
