//! Task 1: a count-min sketch, and the top-k of hot keys built on it.
//!
//! A count-min sketch (Cormode and Muthukrishnan, 2005) counts how often each key occurs in a
//! stream in `width × depth` counters, whatever the number of distinct keys. Each of the
//! `depth` rows hashes a key to one of its `width` counters and adds to it; an estimate is the
//! smallest of the key's `depth` counters. Other keys that share a counter can only add to it,
//! so an estimate is **never below** the true count; with `width = ⌈e/ε⌉` and
//! `depth = ⌈ln(1/δ)⌉` it is above it by more than `ε·N` (N: the stream's total) with
//! probability at most `δ`.

use serde::{Deserialize, Serialize};

/// The hash of `key` in row `row`: the key's bytes taken eight at a time, each word mixed in
/// with a multiply and a rotation, the row mixed into the start state, then a final
/// avalanche (so rows are independent enough for the sketch's bound in practice). Given.
pub fn row_hash(row: usize, key: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ (row as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut words = key.as_bytes().chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        hash = (hash ^ word).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(29);
    }
    let mut last = [0u8; 8];
    let rest = words.remainder();
    last[..rest.len()].copy_from_slice(rest);
    hash = (hash ^ u64::from_le_bytes(last) ^ key.len() as u64).wrapping_mul(0x0000_0100_0000_01B3);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// A count-min sketch over string keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountMinSketch {
    /// Counters per row.
    pub width: usize,
    /// Rows (independent hashes).
    pub depth: usize,
    /// `depth` rows of `width` counters, row after row.
    pub counters: Vec<u64>,
    /// The sum of every count added (the stream's N).
    pub total: u64,
}

impl CountMinSketch {
    /// An empty sketch of `depth` rows of `width` counters (both at least 1).
    pub fn new(width: usize, depth: usize) -> CountMinSketch {
        let (width, depth) = (width.max(1), depth.max(1));
        CountMinSketch { width, depth, counters: vec![0; width * depth], total: 0 }
    }

    /// The smallest sketch whose estimates exceed the true count by more than `epsilon × N`
    /// with probability at most `delta`: `width = ⌈e/ε⌉`, `depth = ⌈ln(1/δ)⌉`.
    pub fn with_error(epsilon: f64, delta: f64) -> CountMinSketch {
        let width = (std::f64::consts::E / epsilon).ceil() as usize;
        let depth = (1.0 / delta).ln().ceil() as usize;
        CountMinSketch::new(width, depth)
    }

    /// Adds `count` occurrences of `key`.
    pub fn add(&mut self, key: &str, count: u64) {
        for row in 0..self.depth {
            let column = (row_hash(row, key) % self.width as u64) as usize;
            self.counters[row * self.width + column] += count;
        }
        self.total += count;
    }

    /// How often `key` occurred: never less than the truth.
    pub fn estimate(&self, key: &str) -> u64 {
        (0..self.depth)
            .map(|row| {
                let column = (row_hash(row, key) % self.width as u64) as usize;
                self.counters[row * self.width + column]
            })
            .min()
            .unwrap_or(0)
    }
}

/// The `k` keys with the largest estimates seen so far, over a count-min sketch.
///
/// Each add updates the sketch, then the key's estimate; the key joins the candidates if it
/// is one of them already, if there is room, or if its estimate beats the smallest candidate's
/// (which it replaces). Candidates' counts are estimates taken from the sketch, so a key that
/// left the list and came back is not counted from zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopK {
    /// How many keys to keep.
    pub k: usize,
    /// The counts of every key.
    pub sketch: CountMinSketch,
    /// The candidates and their estimates, in no particular order.
    pub candidates: Vec<(String, u64)>,
}

impl TopK {
    /// An empty top-`k` over a `width × depth` sketch.
    pub fn new(k: usize, width: usize, depth: usize) -> TopK {
        TopK { k, sketch: CountMinSketch::new(width, depth), candidates: Vec::new() }
    }

    /// Adds `count` occurrences of `key`.
    pub fn add(&mut self, key: &str, count: u64) {
        // The sketch's add and estimate in one pass: each row's counter is found once.
        let sketch = &mut self.sketch;
        let mut estimate = u64::MAX;
        for row in 0..sketch.depth {
            let column = (row_hash(row, key) % sketch.width as u64) as usize;
            let counter = &mut sketch.counters[row * sketch.width + column];
            *counter += count;
            estimate = estimate.min(*counter);
        }
        sketch.total += count;
        if let Some(candidate) = self.candidates.iter_mut().find(|(name, _)| name == key) {
            candidate.1 = estimate;
        } else if self.candidates.len() < self.k {
            self.candidates.push((key.to_string(), estimate));
        } else if let Some(smallest) = self.candidates.iter_mut().min_by_key(|(_, c)| *c)
            && smallest.1 < estimate
        {
            *smallest = (key.to_string(), estimate);
        }
    }

    /// The candidates, largest estimate first (ties by name).
    pub fn top(&self) -> Vec<(String, u64)> {
        let mut top = self.candidates.clone();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top
    }
}
