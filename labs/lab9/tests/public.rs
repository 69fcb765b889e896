//! Lab 9's public tests, in the order of the chapter's tasks: the count-min sketch and its
//! top-k, the latency histogram and exact percentiles, the streaming summary, the analysis,
//! and advice with its measured effect.
//!
//! Run them with `cargo test -p lab9`; one task at a time with, for example,
//! `cargo test -p lab9 sketch::`. A failure starts with the invariant it broke, in brackets,
//! and ends with the command that replays it.
//!
//! The inputs are the known workloads of `lab9::fixtures`, generated from a seed and the
//! seeded latency model: the right answer of each finding is known.

use std::collections::BTreeMap;

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use lab9::fixtures::{self, ModelExperiment};
use lab9::{
    Change, CountMinSketch, FileKind, IoEvent, IoOp, LatencyHistogram, Options, Rule, Served, Summary, TopK, advise,
    analyze, exact_quantile, summarize, thresholds,
};

/// A skewed stream: key `k` (of `keys`) drawn with weight about 1/(k+1) (Zipf, s = 1).
fn zipf_stream(seed: u64, len: usize, keys: u64) -> Vec<String> {
    let mut rng = TestRng::new(seed);
    let weights: Vec<f64> = (0..keys).map(|k| 1.0 / (k + 1) as f64).collect();
    let total: f64 = weights.iter().sum();
    (0..len)
        .map(|_| {
            let mut x = rng.below(1 << 30) as f64 / (1u64 << 30) as f64 * total;
            let mut k = 0;
            while k + 1 < weights.len() && x >= weights[k] {
                x -= weights[k];
                k += 1;
            }
            format!("key-{k}")
        })
        .collect()
}

fn counts(stream: &[String]) -> BTreeMap<&str, u64> {
    let mut counts = BTreeMap::new();
    for key in stream {
        *counts.entry(key.as_str()).or_insert(0) += 1;
    }
    counts
}

/// Task 1: the count-min sketch and the top-k.
mod sketch {
    use super::*;

    #[test]
    fn an_estimate_is_never_below_the_true_count_even_under_skew() {
        let seed = lab_seed(0x9001);
        let stream = zipf_stream(seed, 20_000, 2_000);
        let mut sketch = CountMinSketch::new(256, 4);
        for key in &stream {
            sketch.add(key, 1);
        }
        invariant!("sketch-bound", sketch.total == 20_000, "total {} after 20000 adds", sketch.total);
        for (key, &truth) in &counts(&stream) {
            let estimate = sketch.estimate(key);
            invariant!("sketch-bound", estimate >= truth, "{key}: estimate {estimate} below its true count {truth}");
        }
        let absent = sketch.estimate("never-added");
        invariant!("sketch-bound", absent <= sketch.total, "an absent key estimated at {absent}, above N");
    }

    #[test]
    fn with_error_sizes_the_sketch_and_keeps_most_errors_within_epsilon_n() {
        let seed = lab_seed(0x9002);
        let sketch = CountMinSketch::with_error(0.01, 0.01);
        invariant!(
            "sketch-bound",
            (sketch.width, sketch.depth) == (272, 5),
            "ε = 0.01, δ = 0.01 gives width {} and depth {}, expected ⌈e/ε⌉ = 272 and ⌈ln(1/δ)⌉ = 5",
            sketch.width,
            sketch.depth
        );
        let stream = zipf_stream(seed, 30_000, 5_000);
        let mut sketch = sketch;
        for key in &stream {
            sketch.add(key, 1);
        }
        let bound = (0.01 * sketch.total as f64) as u64;
        let truth = counts(&stream);
        let over = truth.iter().filter(|&(key, &count)| sketch.estimate(key) > count + bound).count();
        // The bound holds for each key with probability 1 - δ: a few keys in a hundred may miss.
        invariant!(
            "sketch-bound",
            over * 100 <= truth.len() * 3,
            "{over} of {} keys over-estimated by more than εN = {bound}",
            truth.len()
        );
    }

    #[test]
    fn top_k_finds_a_hot_key_that_arrives_after_the_list_is_full() {
        let seed = lab_seed(0x9003);
        let mut rng = TestRng::new(seed);
        let mut top = TopK::new(5, 512, 4);
        // Twenty keys fill the list first; the hot key comes later and then dominates.
        for i in 0..20 {
            top.add(&format!("early-{i}"), 3);
        }
        for _ in 0..2_000 {
            let key = if rng.ratio(1, 4) { "hot".to_string() } else { format!("cold-{}", rng.below(500)) };
            top.add(&key, 1);
        }
        let list = top.top();
        invariant!("hot-data", list.len() <= 5, "the top-5 holds {} keys", list.len());
        invariant!(
            "hot-data",
            list.first().map(|(k, _)| k.as_str()) == Some("hot"),
            "the hottest key is {:?}, expected \"hot\" (a quarter of the stream): {list:?}",
            list.first()
        );
        invariant!(
            "hot-data",
            list.windows(2).all(|w| w[0].1 >= w[1].1),
            "the list is not in decreasing order of estimate: {list:?}"
        );
        invariant!("hot-data", list[0].1 >= 400, "the hot key is counted {} times, it occurred ~500 times", list[0].1);
    }
}

/// Task 2: the histogram and exact percentiles.
mod histogram {
    use super::*;

    #[test]
    fn buckets_tile_the_values_and_hold_each_within_the_relative_error() {
        let h = LatencyHistogram::new(7);
        let mut value = 0u64;
        let mut next_low = 0u64;
        for index in 0..(20 << 7) {
            let (low, high) = h.bucket_range(index);
            invariant!("percentile-bound", low == next_low, "bucket {index} starts at {low}, expected {next_low}");
            invariant!(
                "percentile-bound",
                high - low <= low >> 7,
                "bucket {index} [{low}, {high}] is wider than 2^-7 of its values"
            );
            next_low = high + 1;
        }
        let mut rng = TestRng::new(lab_seed(0x9004));
        for _ in 0..10_000 {
            value = value.wrapping_add(rng.below(1 << 40)) >> rng.below(30);
            let (low, high) = h.bucket_range(h.bucket_index(value));
            invariant!("percentile-bound", low <= value && value <= high, "{value} is counted in [{low}, {high}]");
        }
    }

    #[test]
    fn exact_quantile_is_the_nearest_rank_of_the_sorted_sample() {
        let sample = [50, 10, 40, 20, 30, 100, 90, 60, 80, 70];
        for (q, expected) in [(0.0, 10), (0.1, 10), (0.15, 20), (0.5, 50), (0.9, 90), (0.99, 100), (1.0, 100)] {
            let got = exact_quantile(&sample, q);
            invariant!(
                "percentile-bound",
                got == Some(expected),
                "quantile {q} of {sample:?}: {got:?}, expected {expected}"
            );
        }
        invariant!("percentile-bound", exact_quantile(&[], 0.5).is_none(), "an empty sample has no quantile");
    }

    #[test]
    fn histogram_percentiles_match_the_sorted_sample_within_the_bucket_error() {
        let seed = lab_seed(0x9005);
        let mut rng = TestRng::new(seed);
        let mut h = LatencyHistogram::new(7);
        let mut sample = Vec::new();
        for _ in 0..5_000 {
            // Mostly fast, with a slow tail, as syncs are.
            let v = if rng.ratio(1, 50) { 10_000_000 + rng.below(5_000_000) } else { 900_000 + rng.below(300_000) };
            h.record(v);
            sample.push(v);
        }
        invariant!("percentile-bound", h.total == 5_000, "{} values counted", h.total);
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            let truth = exact_quantile(&sample, q).unwrap_or_else(|| {
                distributed::fail!("percentile-bound", "exact_quantile(..): expected Some, seen None")
            });
            let got = h.value_at_quantile(q).unwrap_or_else(|| {
                distributed::fail!("percentile-bound", "h.value_at_quantile(..): expected Some, seen None")
            });
            invariant!(
                "percentile-bound",
                truth <= got && got <= truth + (truth >> 7),
                "p{}: histogram says {got}, the sorted sample {truth} (allowed: up to 2^-7 above)",
                q * 100.0
            );
        }
        invariant!("percentile-bound", LatencyHistogram::new(7).value_at_quantile(0.5).is_none(), "empty: no p50");
    }
}

/// Task 3: the streaming summary.
mod summary {
    use super::*;

    fn event(file: &str, op: IoOp, offset: u64, len: u64, served: Served) -> IoEvent {
        IoEvent {
            at_ns: 1000,
            file: file.into(),
            kind: FileKind::of_path(file),
            op,
            offset,
            len,
            latency_ns: 500,
            served,
        }
    }

    #[test]
    fn observe_counts_by_kind_and_tells_sequential_from_random_per_file() {
        let log = "log/00000000000000000001.wal";
        let snap = "snapshots/0000000000000001-0000000000000010.snap";
        let events = [
            event(log, IoOp::Create, 0, 0, Served::Nothing),
            event(log, IoOp::Write, 0, 100, Served::Index(1)),
            event(snap, IoOp::Write, 0, 4096, Served::Nothing),
            event(log, IoOp::Write, 100, 50, Served::Index(2)),
            event(snap, IoOp::Write, 8192, 4096, Served::Nothing),
            event(log, IoOp::Sync, 0, 0, Served::Nothing),
            event("log", IoOp::DirSync, 0, 0, Served::Nothing),
            event(log, IoOp::Read, 0, 150, Served::Key("k".into())),
        ];
        let s = summarize(&events);
        let (l, n) = (s.kind(FileKind::Log), s.kind(FileKind::Snapshot));
        invariant!(
            "io-accounting",
            (l.writes, l.write_bytes, l.sequential_writes, l.syncs, l.creates, l.reads, l.read_bytes)
                == (2, 150, 2, 1, 1, 1, 150),
            "log counters {l:?}: expected 2 writes of 150 bytes, both sequential (interleaved with another file's), 1 sync, 1 create, 1 read of 150 bytes"
        );
        invariant!(
            "io-accounting",
            (n.writes, n.write_bytes, n.sequential_writes) == (2, 8192, 1),
            "snapshot counters {n:?}: 2 writes, 8192 bytes, only the first sequential"
        );
        invariant!(
            "io-accounting",
            s.dir_syncs == 1 && s.sync_latency.total == 2,
            "syncs: {} dir, {} timed",
            s.dir_syncs,
            s.sync_latency.total
        );
        invariant!(
            "io-accounting",
            s.events == 8 && s.duration_ns == 1500,
            "{} events, duration {}",
            s.events,
            s.duration_ns
        );
        invariant!("io-accounting", s.hot_keys.sketch.estimate("k") == 1, "the read served for key k is not counted");
        invariant!(
            "io-accounting",
            s.hot_segments.sketch.total == 3,
            "{} log reads and writes counted per segment, expected 3",
            s.hot_segments.sketch.total
        );
    }

    #[test]
    fn a_summary_stays_bounded_however_long_the_recording() {
        let seed = lab_seed(0x9006);
        let f = fixtures::planted_hot_key(seed, 40_000, 20_000, "hot", 10);
        let s = f.summary();
        invariant!(
            "io-accounting",
            s.timeline.slices.len() <= lab9::Timeline::MAX_SLICES,
            "{} timeline slices",
            s.timeline.slices.len()
        );
        invariant!(
            "io-accounting",
            s.hot_keys.candidates.len() <= Summary::TOP,
            "{} hot-key candidates",
            s.hot_keys.candidates.len()
        );
        let (width, depth) = Summary::SKETCH;
        invariant!("io-accounting", s.hot_keys.sketch.counters.len() == width * depth, "the sketch grew");
        invariant!("io-accounting", s.write_ends.len() == 1, "{} files' ends kept for one file", s.write_ends.len());
        let bytes: u64 = s.timeline.slices.iter().map(|t| t.bytes.iter().sum::<u64>()).sum();
        invariant!("io-accounting", bytes == 4_000_000, "the timeline holds {bytes} bytes, 4000000 were written");
    }
}

/// Task 4: the analysis.
mod analysis {
    use super::*;

    #[test]
    fn write_amplification_counts_the_log_the_snapshots_and_the_chunks() {
        let seed = lab_seed(0x9007);
        let f = fixtures::snapshot_heavy(seed, 400, 100, 256 << 10);
        let findings = analyze(&f.summary());
        let wa = findings.write_amplification;
        let acked = 400.0 * 100.0;
        let expect_log = 400.0 * 128.0 / acked;
        let expect_chunk = 4.0 * (256 << 10) as f64 / acked;
        let expect_manifest = 4.0 * 2048.0 / acked;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.max(1.0);
        invariant!(
            "write-amplification",
            close(wa.log, expect_log) && close(wa.chunk, expect_chunk) && close(wa.manifest, expect_manifest),
            "log {} chunk {} manifest {}, expected {expect_log}, {expect_chunk}, {expect_manifest}",
            wa.log,
            wa.chunk,
            wa.manifest
        );
        invariant!(
            "write-amplification",
            close(wa.total, expect_log + expect_chunk + expect_manifest),
            "total {} is not the sum of its parts ({})",
            wa.total,
            expect_log + expect_chunk + expect_manifest
        );
        invariant!("write-amplification", findings.snapshot_share > 0.9, "snapshot share {}", findings.snapshot_share);
    }

    #[test]
    fn syncs_per_entry_counts_file_and_directory_syncs() {
        let seed = lab_seed(0x9008);
        let f = fixtures::sync_storm(seed, 4, 128);
        let findings = analyze(&f.summary());
        // 512 entries, each synced, and a directory sync for each of the 8 segments.
        let expected = (512.0 + 8.0) / 512.0;
        invariant!(
            "io-accounting",
            (findings.syncs_per_entry - expected).abs() < 1e-9,
            "{} syncs per entry, expected {expected}",
            findings.syncs_per_entry
        );
        invariant!(
            "io-accounting",
            (findings.rollovers_per_1000_entries - 8000.0 / 512.0).abs() < 1e-9,
            "{} rollovers per 1000 entries, expected {}",
            findings.rollovers_per_1000_entries,
            8000.0 / 512.0
        );
        invariant!("io-accounting", findings.writers == 4, "{} writers", findings.writers);
        let sync_times: Vec<u64> =
            f.events.iter().filter(|e| matches!(e.op, IoOp::Sync | IoOp::DirSync)).map(|e| e.latency_ns).collect();
        let truth = exact_quantile(&sync_times, 0.99)
            .unwrap_or_else(|| distributed::fail!("io-accounting", "exact_quantile(..): expected Some, seen None"));
        let p99 = findings.sync_latency.p99;
        invariant!(
            "percentile-bound",
            truth <= p99 && p99 <= truth + (truth >> 7),
            "sync p99 {p99}, the trace says {truth}"
        );
    }

    #[test]
    fn a_planted_hot_key_comes_first_with_its_share() {
        let seed = lab_seed(0x9009);
        let f = fixtures::planted_hot_key(seed, 10_000, 1_000, "user:42", 20);
        let findings = analyze(&f.summary());
        let first = findings.hot_keys.first();
        invariant!("hot-data", first.map(|h| h.name.as_str()) == Some("user:42"), "hottest: {first:?}");
        let share = first.map_or(0.0, |h| h.share);
        invariant!("hot-data", (0.18..0.25).contains(&share), "user:42's share is {share}, planted at 20%");
    }
}

/// Task 5: advice.
mod advice {
    use super::*;

    #[test]
    fn every_advice_carries_the_measured_effect_of_its_change() {
        let seed = lab_seed(0x900a);
        let f = fixtures::sync_storm(seed, 4, 128);
        let mut experiment = ModelExperiment::default();
        let advice = advise(&analyze(&f.summary()), &f.options, &mut experiment);
        let rules: Vec<Rule> = advice.iter().map(|a| a.rule).collect();
        invariant!(
            "advice-rule",
            rules == [Rule::GroupCommit, Rule::LargerSegments],
            "a sync storm of 4 writers with a rollover every 64 entries gives {rules:?}"
        );
        for a in &advice {
            invariant!(
                "measured-advice",
                a.before == ModelExperiment::baseline() && a.after == ModelExperiment::effect(a.change),
                "{:?}: before {:?}, after {:?}: not what the experiment measured",
                a.rule,
                a.before,
                a.after
            );
            invariant!("measured-advice", experiment.calls.contains(&Some(a.change)), "{:?} was never run", a.change);
            invariant!("advice-rule", !a.evidence.is_empty(), "{:?} gives no evidence", a.rule);
        }
        invariant!(
            "advice-rule",
            advice.iter().any(|a| a.change == Change::SegmentSize(f.options.segment_size * thresholds::SEGMENT_GROWTH)),
            "larger segments should be {} times the current size: {advice:?}",
            thresholds::SEGMENT_GROWTH
        );
    }

    #[test]
    fn no_rule_fires_below_its_threshold_or_for_an_option_already_set() {
        let seed = lab_seed(0x900b);
        let quiet = fixtures::planted_hot_key(seed, 2_000, 100, "hot", 10);
        let mut experiment = ModelExperiment::default();
        let advice = advise(&analyze(&quiet.summary()), &quiet.options, &mut experiment);
        invariant!("advice-rule", advice.is_empty(), "a quiet workload (a sync per 16 entries) gets {advice:?}");
        let storm = fixtures::sync_storm(seed, 4, 128);
        let options = Options { group_commit: true, ..storm.options };
        let advice = advise(&analyze(&storm.summary()), &options, &mut experiment);
        invariant!(
            "advice-rule",
            advice.iter().all(|a| a.rule != Rule::GroupCommit),
            "group commit is suggested though it is on: {advice:?}"
        );
    }
}
