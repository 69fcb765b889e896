//! The report: a text summary for the terminal, and a self-contained HTML page with SVG plots.
//!
//! The page has no external resource (no script, style sheet or font from elsewhere), so it
//! opens from a file, in CI and in the book. Every string that comes from a recording (file
//! names, keys, evidence) goes through [`escape`] before it reaches the page. One small inline
//! script counts the plots the browser laid out with a non-zero size and writes the count
//! into `data-plots-rendered` on the body: that is what `.ci/monitor-check` looks for.

use std::fmt::Write as _;

use crate::analysis::{Advice, Change, FileKind, Findings, LatencyHistogram, Measurement, Summary};
use crate::workload::WorkloadSpec;

/// `text` with `& < > " '` replaced by entities: safe in element content and in quoted
/// attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration in nanoseconds, in the unit that reads best.
pub fn duration(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} ms", ns as f64 / 1e6),
        _ => format!("{:.2} s", ns as f64 / 1e9),
    }
}

/// A byte count in the unit that reads best.
pub fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// The change an advice proposes, in words.
pub fn change_text(change: Change) -> String {
    match change {
        Change::GroupCommit => "turn group commit on (lab 1's SyncPolicy::GroupCommit)".into(),
        Change::SegmentSize(size) => format!("segment size {} (lab 1's WalOptions::segment_size)", bytes(size)),
        Change::SnapshotEvery(n) => {
            format!("snapshot every {n} entries (lab 7's SnapshotPolicy::max_entries; lab 4's take_snapshot)")
        }
        Change::Compression => "compress snapshots with LZ4 (lab 7's Codec::Lz4)".into(),
    }
}

fn measurement_text(m: &Measurement) -> String {
    format!(
        "{:.0} entries/s, {:.3} syncs/entry, write amplification {:.2}, {:.1} rollovers/1000 entries, {} replayed, {} of snapshots",
        m.entries_per_second,
        m.syncs_per_entry,
        m.write_amplification,
        m.rollovers_per_1000_entries,
        m.max_replayed_entries,
        bytes(m.snapshot_bytes)
    )
}

fn workload_text(spec: &WorkloadSpec) -> String {
    format!(
        "lab {} workload on {:?} disk, seed {}, {} requests, {} writer(s); group commit {}, segment size {}, snapshot every {}, compression {}",
        spec.lab,
        spec.disk,
        spec.seed,
        spec.requests,
        spec.writers,
        if spec.options.group_commit { "on" } else { "off" },
        bytes(spec.options.segment_size),
        spec.options.snapshot_every,
        if spec.options.compression { "on" } else { "off" },
    )
}

/// The terminal summary.
pub fn text(spec: &WorkloadSpec, summary: &Summary, findings: &Findings, advice: &[Advice]) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "Storage monitor report: {}", workload_text(spec));
    let _ = writeln!(
        w,
        "{} events over {}; {} entries ({}) acknowledged",
        summary.events,
        duration(summary.duration_ns),
        summary.acked_entries,
        bytes(summary.acked_bytes)
    );
    let _ = writeln!(w, "\nI/O by kind of file:");
    let _ = writeln!(
        w,
        "  {:<9} {:>8} {:>11} {:>8} {:>11} {:>7} {:>6} {:>11}",
        "kind", "writes", "bytes", "reads", "bytes", "syncs", "seq", "WA"
    );
    let wa = findings.write_amplification;
    let was = [wa.log, wa.snapshot, wa.chunk, wa.manifest, wa.other];
    for kind in FileKind::ALL {
        let k = summary.kind(kind);
        let _ = writeln!(
            w,
            "  {:<9} {:>8} {:>11} {:>8} {:>11} {:>7} {:>5.0}% {:>11.3}",
            kind.name(),
            k.writes,
            bytes(k.write_bytes),
            k.reads,
            bytes(k.read_bytes),
            k.syncs,
            findings.sequential_ratio[kind as usize] * 100.0,
            was[kind as usize]
        );
    }
    let _ = writeln!(w, "  directory syncs: {}; write amplification in all: {:.3}", summary.dir_syncs, wa.total);
    let _ = writeln!(
        w,
        "\nSyncs: {:.3} per acknowledged entry, {:.0} per second",
        findings.syncs_per_entry, findings.syncs_per_second
    );
    let _ = writeln!(w, "Latency          p50        p90        p99      p99.9        max      count");
    for (name, p) in
        [("read", findings.read_latency), ("write", findings.write_latency), ("sync", findings.sync_latency)]
    {
        let _ = writeln!(
            w,
            "  {:<6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            name,
            duration(p.p50),
            duration(p.p90),
            duration(p.p99),
            duration(p.p999),
            duration(p.max),
            p.count
        );
    }
    for (title, hot) in [("Hot keys", &findings.hot_keys), ("Hot segments", &findings.hot_segments)] {
        if hot.is_empty() {
            continue;
        }
        let _ = writeln!(w, "{title} (I/O calls, count-min estimate):");
        for h in hot.iter().take(5) {
            let _ = writeln!(w, "  {:<32} {:>8} {:>5.1}%", h.name, h.count, h.share * 100.0);
        }
    }
    let _ = writeln!(
        w,
        "Snapshots: {} taken, {} each on average, {:.0}% of bytes written; segment rollovers: {:.1} per 1000 entries",
        findings.snapshots,
        duration(findings.snapshot_mean_ns),
        findings.snapshot_share * 100.0,
        findings.rollovers_per_1000_entries
    );
    let _ = writeln!(
        w,
        "Restart: {} entries replayed in {}; read barrier: {:.1}% of the time",
        findings.max_replayed_entries,
        duration(findings.max_replay_ns),
        findings.barrier_wait_share * 100.0
    );
    if advice.is_empty() {
        let _ = writeln!(w, "\nAdvice: none (no rule's evidence passed its threshold)");
    }
    for a in advice {
        let _ = writeln!(w, "\nAdvice ({:?}): {}", a.rule, change_text(a.change));
        let _ = writeln!(w, "  because {}", a.evidence);
        let _ = writeln!(w, "  before: {}", measurement_text(&a.before));
        let _ = writeln!(w, "  after:  {}", measurement_text(&a.after));
    }
    out
}

const COLORS: [&str; 5] = ["#3366cc", "#dc7633", "#28a745", "#8e44ad", "#7f8c8d"];

/// A bar chart: `bars` of (label, value) left to right, as an SVG of fixed size.
fn bar_chart(id: &str, title: &str, bars: &[(String, u64)], color: &str) -> String {
    let (width, height, left, bottom) = (560.0, 220.0, 50.0, 40.0);
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let n = bars.len().max(1) as f64;
    let slot = (width - left - 10.0) / n;
    let mut svg = format!(
        "<svg id=\"{}\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\"><title>{}</title>",
        escape(id),
        escape(title)
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#333\"/><text x=\"4\" y=\"14\" font-size=\"11\">{2}</text>",
        height - bottom,
        width - 5.0,
        max as u64
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let h = (*value as f64 / max) * (height - bottom - 20.0);
        let x = left + i as f64 * slot;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{color}\"><title>{}: {value}</title></rect>",
            height - bottom - h,
            (slot - 2.0).max(1.0),
            escape(label)
        );
        let every = (bars.len() / 8).max(1);
        if i % every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
                height - bottom + 14.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Counts of a latency histogram per power of two, for plotting.
fn latency_bars(histogram: &LatencyHistogram) -> Vec<(String, u64)> {
    let mut bins: Vec<u64> = Vec::new();
    for (index, &count) in histogram.counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let low = histogram.bucket_range(index).0.max(1);
        let bin = 63 - low.leading_zeros() as usize;
        if bins.len() <= bin {
            bins.resize(bin + 1, 0);
        }
        bins[bin] += count;
    }
    let first = bins.iter().position(|&c| c > 0).unwrap_or(0);
    bins.iter().enumerate().skip(first).map(|(bin, &count)| (format!("≥{}", duration(1 << bin)), count)).collect()
}

fn stacked_bytes(summary: &Summary) -> String {
    let (width, height, left, bottom) = (560.0, 220.0, 50.0, 40.0);
    let slices = &summary.timeline.slices;
    let max = slices.iter().map(|s| s.bytes.iter().sum::<u64>()).max().unwrap_or(0).max(1) as f64;
    let slot = (width - left - 10.0) / slices.len().max(1) as f64;
    let mut svg = format!(
        "<svg id=\"bytes-over-time\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\"><title>Bytes written over time, by kind of file</title>"
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#333\"/><text x=\"4\" y=\"14\" font-size=\"11\">{2}</text>",
        height - bottom,
        width - 5.0,
        escape(&bytes(max as u64))
    );
    for (i, slice) in slices.iter().enumerate() {
        let x = left + i as f64 * slot;
        let mut y = height - bottom;
        for kind in FileKind::ALL {
            let value = slice.bytes[kind as usize];
            if value == 0 {
                continue;
            }
            let h = value as f64 / max * (height - bottom - 20.0);
            y -= h;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
                (slot - 1.0).max(0.5),
                COLORS[kind as usize],
                kind.name(),
                escape(&bytes(value))
            );
        }
    }
    for (i, kind) in FileKind::ALL.iter().enumerate() {
        let _ = write!(
            svg,
            "<rect x=\"{0}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"{2}\"/><text x=\"{3}\" y=\"{4}\" font-size=\"11\">{5}</text>",
            left + i as f64 * 95.0,
            height - 18.0,
            COLORS[i],
            left + 14.0 + i as f64 * 95.0,
            height - 9.0,
            kind.name()
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\">time → ({} per bar)</text>",
        width - 170.0,
        height - bottom + 14.0,
        escape(&duration(summary.timeline.slice_ns))
    );
    svg.push_str("</svg>");
    svg
}

/// The number of plots [`html`] draws.
pub const PLOTS: usize = 6;

/// The self-contained HTML report.
pub fn html(spec: &WorkloadSpec, summary: &Summary, findings: &Findings, advice: &[Advice]) -> String {
    let mut page = String::new();
    let p = &mut page;
    let _ = write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Storage monitor: lab {}</title>\
<style>body{{font-family:sans-serif;max-width:1200px;margin:1em auto;color:#222}}\
.plots{{display:flex;flex-wrap:wrap;gap:12px}}figure{{margin:0;border:1px solid #ddd;padding:6px}}\
figcaption{{font-size:13px;color:#444}}table{{border-collapse:collapse;font-size:13px}}\
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#f4f4f4}}\
td:first-child{{text-align:left}}.advice{{border-left:4px solid #28a745;padding:4px 10px;margin:8px 0;background:#f6fff6}}</style>\
</head><body data-plots-expected=\"{PLOTS}\" data-plots-rendered=\"0\">",
        spec.lab
    );
    let _ = write!(p, "<h1>Storage monitor report</h1><p>{}</p>", escape(&workload_text(spec)));
    let _ = write!(
        p,
        "<p>{} events over {}; {} entries ({}) acknowledged.</p>",
        summary.events,
        escape(&duration(summary.duration_ns)),
        summary.acked_entries,
        escape(&bytes(summary.acked_bytes))
    );
    // Findings table.
    let wa = findings.write_amplification;
    let was = [wa.log, wa.snapshot, wa.chunk, wa.manifest, wa.other];
    let _ = write!(
        p,
        "<h2>I/O by kind of file</h2><table><tr><th>kind</th><th>writes</th><th>bytes written</th><th>reads</th><th>bytes read</th><th>syncs</th><th>sequential writes</th><th>write amplification</th></tr>"
    );
    for kind in FileKind::ALL {
        let k = summary.kind(kind);
        let _ = write!(
            p,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td><td>{:.3}</td></tr>",
            kind.name(),
            k.writes,
            escape(&bytes(k.write_bytes)),
            k.reads,
            escape(&bytes(k.read_bytes)),
            k.syncs,
            findings.sequential_ratio[kind as usize] * 100.0,
            was[kind as usize]
        );
    }
    let _ = write!(
        p,
        "</table><p>Directory syncs: {}. Write amplification in all: <b>{:.3}</b> bytes written per acknowledged byte. \
Syncs: <b>{:.3}</b> per acknowledged entry, {:.0} per second. Segment rollovers: {:.1} per 1000 entries. \
Snapshots: {} taken, {} each, {:.0}% of the bytes written. Restart: {} entries replayed in {}.</p>",
        summary.dir_syncs,
        wa.total,
        findings.syncs_per_entry,
        findings.syncs_per_second,
        findings.rollovers_per_1000_entries,
        findings.snapshots,
        escape(&duration(findings.snapshot_mean_ns)),
        findings.snapshot_share * 100.0,
        findings.max_replayed_entries,
        escape(&duration(findings.max_replay_ns))
    );
    let _ = write!(
        p,
        "<table><tr><th>latency</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>count</th></tr>"
    );
    for (name, q) in
        [("read", findings.read_latency), ("write", findings.write_latency), ("sync", findings.sync_latency)]
    {
        let _ = write!(
            p,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&duration(q.p50)),
            escape(&duration(q.p90)),
            escape(&duration(q.p99)),
            escape(&duration(q.p999)),
            escape(&duration(q.max)),
            q.count
        );
    }
    p.push_str("</table>");
    // Plots.
    p.push_str("<h2>Plots</h2><div class=\"plots\">");
    let figures = [
        (
            bar_chart(
                "latency-sync",
                "Sync latency (calls per power of two)",
                &latency_bars(&summary.sync_latency),
                COLORS[0],
            ),
            "Sync latency: calls per power-of-two bucket",
        ),
        (
            bar_chart("latency-write", "Write latency", &latency_bars(&summary.write_latency), COLORS[1]),
            "Write latency: calls per power-of-two bucket",
        ),
        (
            bar_chart("latency-read", "Read latency", &latency_bars(&summary.read_latency), COLORS[2]),
            "Read latency: calls per power-of-two bucket",
        ),
        (stacked_bytes(summary), "Bytes written over time, by kind of file"),
        (
            bar_chart(
                "hot-keys",
                "Hot keys",
                &findings.hot_keys.iter().map(|h| (h.name.clone(), h.count)).collect::<Vec<_>>(),
                COLORS[3],
            ),
            "Hot keys: I/O calls per key (count-min estimates, top 10)",
        ),
        (
            bar_chart(
                "sync-timeline",
                "Syncs over time",
                &summary
                    .timeline
                    .slices
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (duration(i as u64 * summary.timeline.slice_ns), s.syncs))
                    .collect::<Vec<_>>(),
                COLORS[4],
            ),
            "Sync timeline: file and directory syncs per slice of time",
        ),
    ];
    for (svg, caption) in figures {
        let _ = write!(p, "<figure>{svg}<figcaption>{}</figcaption></figure>", escape(caption));
    }
    p.push_str("</div>");
    // Hot segments and advice.
    if !findings.hot_segments.is_empty() {
        p.push_str("<h2>Hot segments</h2><table><tr><th>segment</th><th>reads and writes</th><th>share</th></tr>");
        for h in &findings.hot_segments {
            let _ =
                write!(p, "<tr><td>{}</td><td>{}</td><td>{:.1}%</td></tr>", escape(&h.name), h.count, h.share * 100.0);
        }
        p.push_str("</table>");
    }
    p.push_str("<h2>Advice, with its measured effect</h2>");
    if advice.is_empty() {
        p.push_str("<p>None: no rule's evidence passed its threshold.</p>");
    }
    for a in advice {
        let _ = write!(
            p,
            "<div class=\"advice\"><b>{}</b>: {}<br>because {}<br>before: {}<br>after: {}</div>",
            escape(&format!("{:?}", a.rule)),
            escape(&change_text(a.change)),
            escape(&a.evidence),
            escape(&measurement_text(&a.before)),
            escape(&measurement_text(&a.after))
        );
    }
    p.push_str(
        "<script>(function(){var n=0;document.querySelectorAll('svg.plot').forEach(function(s){var r=s.getBoundingClientRect();if(r.width>0&&r.height>0&&s.querySelectorAll('rect,line').length>0)n++;});document.body.setAttribute('data-plots-rendered',String(n));})();</script>",
    );
    p.push_str("</body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_every_character_that_ends_text_or_an_attribute() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn a_key_with_markup_is_escaped_in_the_page() {
        let spec = crate::workload::WorkloadSpec::default_for(4, crate::workload::Disk::Sim, 1).unwrap();
        let mut summary = Summary::new();
        summary.hot_keys.add("<script>alert(1)</script>", 3);
        let findings = crate::analysis::analyze(&summary);
        let page = html(&spec, &summary, &findings, &[]);
        assert!(!page.contains("<script>alert"), "a key reached the page unescaped");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
}
