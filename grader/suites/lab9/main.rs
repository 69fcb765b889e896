//! Lab 9's hidden suite: fixed recordings of known workloads (a planted hot key, a
//! random-write pattern, a sync storm, a replay-heavy restart, snapshot-heavy and
//! rollover-heavy logs), generated from seeds and the latency model, fed through the
//! student's summary, analysis and advice; the findings and suggestions are checked against
//! what each workload was built to show. Adds breadth to the public tests, no new rule.

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use lab9::fixtures::{self, ModelExperiment};
use lab9::{
    Change, CountMinSketch, FileKind, IoOp, LatencyHistogram, Options, Rule, Summary, TopK, advise, analyze,
    exact_quantile, thresholds,
};

fn rules(advice: &[lab9::Advice]) -> Vec<Rule> {
    advice.iter().map(|a| a.rule).collect()
}

/// Findings of each known workload.
mod findings {
    use super::*;

    #[test]
    fn a_planted_hot_key_leads_the_hot_keys_at_several_skews() {
        for (i, percent) in [5u64, 15, 40].into_iter().enumerate() {
            let seed = lab_seed(0x9101) + i as u64;
            let f = fixtures::planted_hot_key(seed, 20_000, 5_000, "tenant:7/balance", percent);
            let findings = analyze(&f.summary());
            let truth =
                f.events.iter().filter(|e| e.served == lab9::Served::Key("tenant:7/balance".into())).count() as u64;
            let first = findings.hot_keys.first().cloned();
            invariant!(
                "hot-data",
                first.as_ref().map(|h| h.name.as_str()) == Some("tenant:7/balance"),
                "planted at {percent}%: the hottest key is {first:?}"
            );
            let count = first.map_or(0, |h| h.count);
            invariant!("sketch-bound", count >= truth, "planted at {percent}%: counted {count}, occurred {truth}");
            invariant!(
                "hot-data",
                findings.hot_keys.len() <= Summary::TOP,
                "{} hot keys reported",
                findings.hot_keys.len()
            );
        }
    }

    #[test]
    fn random_chunk_writes_are_told_from_the_sequential_log() {
        let seed = lab_seed(0x9102);
        let f = fixtures::random_writes(seed, 2_000);
        let findings = analyze(&f.summary());
        let log = findings.sequential_ratio[FileKind::Log as usize];
        let chunk = findings.sequential_ratio[FileKind::Chunk as usize];
        invariant!("io-accounting", log == 1.0, "the log was appended in order; sequential ratio {log}");
        invariant!(
            "io-accounting",
            chunk < 0.01,
            "the chunk file was written at random offsets; sequential ratio {chunk}"
        );
        let wa = findings.write_amplification;
        invariant!(
            "write-amplification",
            (wa.log - 1.0).abs() < 1e-9 && (wa.chunk - 1.0).abs() < 1e-9 && (wa.total - 2.0).abs() < 1e-9,
            "every acknowledged byte went to the log and to a chunk: {wa:?}"
        );
    }

    #[test]
    fn a_sync_storm_shows_its_syncs_per_entry_per_second_and_tail() {
        let seed = lab_seed(0x9103);
        let f = fixtures::sync_storm(seed, 8, 250);
        let s = f.summary();
        let findings = analyze(&s);
        let syncs = f.events.iter().filter(|e| matches!(e.op, IoOp::Sync | IoOp::DirSync)).count() as f64;
        invariant!(
            "io-accounting",
            (findings.syncs_per_entry - syncs / 2000.0).abs() < 1e-9,
            "{} syncs per entry, the recording has {syncs} syncs for 2000 entries",
            findings.syncs_per_entry
        );
        let per_second = syncs / (s.duration_ns as f64 / 1e9);
        invariant!(
            "io-accounting",
            (findings.syncs_per_second - per_second).abs() < 1e-6 * per_second,
            "{} syncs per second, expected {per_second}",
            findings.syncs_per_second
        );
        let sample: Vec<u64> =
            f.events.iter().filter(|e| matches!(e.op, IoOp::Sync | IoOp::DirSync)).map(|e| e.latency_ns).collect();
        for (q, got) in [
            (0.5, findings.sync_latency.p50),
            (0.9, findings.sync_latency.p90),
            (0.99, findings.sync_latency.p99),
            (0.999, findings.sync_latency.p999),
        ] {
            let truth = exact_quantile(&sample, q).unwrap_or(0);
            invariant!(
                "percentile-bound",
                truth <= got && got <= truth + (truth >> 7),
                "sync latency at {q}: {got}, the trace's nearest rank is {truth}"
            );
        }
        let max = sample.iter().copied().max().unwrap_or(0);
        invariant!("percentile-bound", findings.sync_latency.max == max, "max {} vs {max}", findings.sync_latency.max);
    }

    #[test]
    fn a_replay_heavy_restart_reports_its_replay() {
        let seed = lab_seed(0x9104);
        let f = fixtures::replay_heavy_restart(seed, 12_000);
        let findings = analyze(&f.summary());
        invariant!(
            "io-accounting",
            findings.max_replayed_entries == 12_000 && findings.max_replay_ns == f.restarts[0].replay_ns,
            "replayed {} in {} ns, expected 12000 in {}",
            findings.max_replayed_entries,
            findings.max_replay_ns,
            f.restarts[0].replay_ns
        );
        invariant!(
            "io-accounting",
            findings.read_latency.count == 12_000u64.div_ceil(1024),
            "{} reads timed",
            findings.read_latency.count
        );
    }

    #[test]
    fn snapshot_bytes_count_in_write_amplification_and_in_their_share() {
        let seed = lab_seed(0x9105);
        let f = fixtures::snapshot_heavy(seed, 1_000, 250, 512 << 10);
        let s = f.summary();
        let findings = analyze(&s);
        let all: u64 = s.kinds.iter().map(|k| k.write_bytes).sum();
        let snap: u64 = s.kind(FileKind::Chunk).write_bytes + s.kind(FileKind::Manifest).write_bytes;
        invariant!(
            "write-amplification",
            (findings.write_amplification.total - all as f64 / 100_000.0).abs() < 1e-9,
            "total write amplification {}, expected {} (every byte written per acknowledged byte)",
            findings.write_amplification.total,
            all as f64 / 100_000.0
        );
        invariant!(
            "write-amplification",
            (findings.snapshot_share - snap as f64 / all as f64).abs() < 1e-9,
            "snapshot share {}, expected {}",
            findings.snapshot_share,
            snap as f64 / all as f64
        );
        invariant!(
            "io-accounting",
            findings.snapshots == 4 && findings.snapshot_mean_ns == f.snapshots.iter().sum::<u64>() / 4,
            "{} snapshots of {} ns on average",
            findings.snapshots,
            findings.snapshot_mean_ns
        );
    }

    #[test]
    fn an_empty_recording_has_zero_findings_not_a_division_by_zero() {
        let findings = analyze(&Summary::new());
        invariant!(
            "io-accounting",
            findings.syncs_per_entry == 0.0
                && findings.write_amplification.total == 0.0
                && findings.syncs_per_second == 0.0
                && findings.snapshot_share == 0.0
                && findings.read_latency == lab9::Percentiles::default(),
            "an empty summary gives {findings:?}"
        );
    }
}

/// The sketches and histograms on more streams.
mod summaries {
    use super::*;

    #[test]
    fn weighted_adds_are_never_under_counted() {
        let mut rng = TestRng::new(lab_seed(0x9106));
        let mut sketch = CountMinSketch::new(64, 3);
        let mut truth = std::collections::BTreeMap::new();
        for _ in 0..5_000 {
            let key = format!("segment-{}", rng.below(300));
            let weight = 1 + rng.below(4096);
            sketch.add(&key, weight);
            *truth.entry(key).or_insert(0u64) += weight;
        }
        for (key, count) in &truth {
            let estimate = sketch.estimate(key);
            invariant!("sketch-bound", estimate >= *count, "{key}: {estimate} < {count}");
        }
    }

    #[test]
    fn top_k_keeps_the_k_heaviest_of_a_stream_with_a_clear_gap() {
        let mut top = TopK::new(3, 1024, 4);
        let mut rng = TestRng::new(lab_seed(0x9107));
        for _ in 0..6_000 {
            let r = rng.below(100);
            let key = match r {
                0..20 => "a".to_string(),
                20..35 => "b".to_string(),
                35..45 => "c".to_string(),
                _ => format!("tail-{}", rng.below(2_000)),
            };
            top.add(&key, 1);
        }
        let names: Vec<String> = top.top().into_iter().map(|(k, _)| k).collect();
        invariant!("hot-data", names == ["a", "b", "c"], "top-3 {names:?}, expected a, b, c");
    }

    #[test]
    fn percentiles_hold_from_nanoseconds_to_seconds() {
        let mut rng = TestRng::new(lab_seed(0x9108));
        let mut h = LatencyHistogram::new(7);
        let mut sample = Vec::new();
        for _ in 0..20_000 {
            let bits = rng.below(34);
            let v = rng.below(1 << bits);
            h.record(v);
            sample.push(v);
        }
        for q in [0.01, 0.25, 0.5, 0.75, 0.95, 0.999] {
            let truth = exact_quantile(&sample, q).unwrap_or_else(|| {
                distributed::fail!("percentile-bound", "exact_quantile(..): expected Some, seen None")
            });
            let got = h.value_at_quantile(q).unwrap_or_else(|| {
                distributed::fail!("percentile-bound", "h.value_at_quantile(..): expected Some, seen None")
            });
            invariant!(
                "percentile-bound",
                truth <= got && got <= truth + (truth >> 7),
                "at {q}: {got}, the sorted sample says {truth}"
            );
        }
        invariant!(
            "percentile-bound",
            h.min == *sample.iter().min().expect("setup: sample.iter().min()"),
            "min {}",
            h.min
        );
    }

    #[test]
    fn exact_quantile_does_not_depend_on_the_order_of_the_sample() {
        let mut rng = TestRng::new(lab_seed(0x9109));
        let mut sample: Vec<u64> = (0..1_001).map(|_| rng.below(1_000_000)).collect();
        let mut sorted = sample.clone();
        sorted.sort_unstable();
        sample.reverse();
        for (q, rank) in [(0.5, 501), (0.9, 901), (0.99, 991)] {
            let got = exact_quantile(&sample, q);
            invariant!(
                "percentile-bound",
                got == Some(sorted[rank - 1]),
                "at {q}: {got:?}, expected {}",
                sorted[rank - 1]
            );
        }
    }
}

/// Advice on each known workload.
mod advice {
    use super::*;

    #[test]
    fn a_sync_storm_gets_group_commit_with_its_measured_effect() {
        let f = fixtures::sync_storm(lab_seed(0x9110), 8, 250);
        let mut experiment = ModelExperiment::default();
        let advice = advise(&analyze(&f.summary()), &f.options, &mut experiment);
        let group = advice.iter().find(|a| a.rule == Rule::GroupCommit);
        invariant!(
            "advice-rule",
            group.is_some(),
            "no group commit for 8 writers syncing every entry: {:?}",
            rules(&advice)
        );
        let group = group.unwrap_or_else(|| distributed::fail!("measured-advice", "group: expected Some, seen None"));
        invariant!(
            "measured-advice",
            group.change == Change::GroupCommit
                && group.before == ModelExperiment::baseline()
                && group.after == ModelExperiment::effect(Change::GroupCommit),
            "group commit advice {group:?} does not carry the experiment's before and after"
        );
    }

    #[test]
    fn one_writer_syncing_every_entry_gets_no_group_commit() {
        let f = fixtures::sync_storm(lab_seed(0x9111), 1, 500);
        let advice = advise(&analyze(&f.summary()), &f.options, &mut ModelExperiment::default());
        invariant!(
            "advice-rule",
            !rules(&advice).contains(&Rule::GroupCommit),
            "one writer has nobody to share a sync with: {:?}",
            rules(&advice)
        );
    }

    #[test]
    fn a_replay_heavy_restart_gets_a_snapshot_threshold() {
        let f = fixtures::replay_heavy_restart(lab_seed(0x9112), 12_000);
        let mut experiment = ModelExperiment::default();
        let advice = advise(&analyze(&f.summary()), &f.options, &mut experiment);
        invariant!(
            "advice-rule",
            rules(&advice) == [Rule::SnapshotThreshold],
            "a long replay gives {:?}",
            rules(&advice)
        );
        invariant!(
            "advice-rule",
            advice[0].change == Change::SnapshotEvery(thresholds::SNAPSHOT_EVERY),
            "with no threshold set, the suggestion is {:?}",
            advice[0].change
        );
        invariant!(
            "measured-advice",
            advice[0].after.max_replayed_entries == 499 && experiment.calls.contains(&None),
            "the after figures {:?} are not the re-run's; runs: {:?}",
            advice[0].after,
            experiment.calls
        );
        let options = Options { snapshot_every: 600, ..f.options };
        let advice = advise(&analyze(&f.summary()), &options, &mut ModelExperiment::default());
        invariant!(
            "advice-rule",
            advice.first().map(|a| a.change) == Some(Change::SnapshotEvery(300)),
            "with a threshold of 600 already, the suggestion is {:?} (expected half of it, 300)",
            advice.first().map(|a| a.change)
        );
    }

    #[test]
    fn snapshot_heavy_writes_get_compression_unless_it_is_on() {
        let f = fixtures::snapshot_heavy(lab_seed(0x9113), 1_000, 250, 512 << 10);
        let advice = advise(&analyze(&f.summary()), &f.options, &mut ModelExperiment::default());
        invariant!(
            "advice-rule",
            rules(&advice) == [Rule::Compression],
            "snapshot-heavy writes give {:?}",
            rules(&advice)
        );
        invariant!(
            "measured-advice",
            advice[0].after == ModelExperiment::effect(Change::Compression),
            "compression's after figures {:?}",
            advice[0].after
        );
        let options = Options { compression: true, ..f.options };
        let advice = advise(&analyze(&f.summary()), &options, &mut ModelExperiment::default());
        invariant!("advice-rule", advice.is_empty(), "compression is on already, yet: {:?}", rules(&advice));
    }

    #[test]
    fn frequent_rollovers_get_larger_segments_even_under_group_commit() {
        let f = fixtures::rollover_heavy(lab_seed(0x9114), 4_000, 40);
        let advice = advise(&analyze(&f.summary()), &f.options, &mut ModelExperiment::default());
        invariant!(
            "advice-rule",
            rules(&advice) == [Rule::LargerSegments],
            "a rollover every 40 entries gives {:?}",
            rules(&advice)
        );
        invariant!(
            "advice-rule",
            advice[0].change == Change::SegmentSize(40 * 1048 * thresholds::SEGMENT_GROWTH),
            "suggested {:?}",
            advice[0].change
        );
    }

    #[test]
    fn a_rule_whose_experiment_fails_gives_no_advice() {
        let f = fixtures::sync_storm(lab_seed(0x9115), 4, 256);
        let mut experiment = ModelExperiment { failing: vec![Change::GroupCommit], ..ModelExperiment::default() };
        let advice = advise(&analyze(&f.summary()), &f.options, &mut experiment);
        invariant!(
            "measured-advice",
            rules(&advice) == [Rule::LargerSegments],
            "group commit could not be measured, so only larger segments may be advised: {:?}",
            rules(&advice)
        );
        invariant!(
            "measured-advice",
            experiment.calls.iter().filter(|c| c.is_none()).count() == 1,
            "the recorded workload was re-run {} times, once is enough: {:?}",
            experiment.calls.iter().filter(|c| c.is_none()).count(),
            experiment.calls
        );
    }
}
