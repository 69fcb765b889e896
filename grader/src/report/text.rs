//! The terminal report: per lab a table of tests, then the total.

use std::fmt::Write;

use super::{percent, plain, points};
use crate::grade::GradeReport;
use crate::runner::TestStatus;

/// Lines of a failure message shown under its test; the JSON report keeps all of it.
const MESSAGE_LINES: usize = 8;

pub fn render(report: &GradeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Grade of {} (earlier labs from: {})", plain(&report.submission), report.deps.as_str());
    for lab in &report.labs {
        let title = lab.title.as_deref().map(|t| format!(" — {}", plain(t))).unwrap_or_default();
        let _ = writeln!(
            out,
            "\nlab{}{title}: {}/{} ({})",
            lab.lab,
            points(lab.score),
            points(lab.max_score),
            percent(lab.score, lab.max_score)
        );
        for note in &lab.notes {
            let _ = writeln!(out, "  note: {}", plain(note).replace('\n', "\n        "));
        }
        if !lab.compiled {
            let _ = writeln!(out, "  the lab did not compile; every test scores 0. The compiler said:");
            for line in plain(&lab.compile_errors).lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        let rows: Vec<[String; 5]> = lab
            .tests
            .iter()
            .map(|test| {
                [
                    test.status.as_str().to_string(),
                    format!("{}/{}", points(test.score), points(test.max_score)),
                    plain(&test.suite),
                    plain(&test.name),
                    plain(&test.invariant),
                ]
            })
            .collect();
        let header = ["status", "points", "suite", "test", "invariant"].map(str::to_string);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 5]| {
            let padded: Vec<String> = cells.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            format!("  {}", padded.join("  ").trim_end())
        };
        let _ = writeln!(out, "{}", line(&header));
        for (row, test) in rows.iter().zip(&lab.tests) {
            let _ = writeln!(out, "{}", line(row));
            if lab.compiled && test.status != TestStatus::Passed {
                let message = plain(&test.message);
                let lines: Vec<&str> = message.lines().collect();
                for message_line in lines.iter().take(MESSAGE_LINES) {
                    let _ = writeln!(out, "      {message_line}");
                }
                if lines.len() > MESSAGE_LINES {
                    let _ = writeln!(out, "      … ({} more lines in the JSON report)", lines.len() - MESSAGE_LINES);
                }
                if test.crash_trace.is_some() {
                    // The path in the message was the test's private directory, gone by now.
                    let _ = writeln!(
                        out,
                        "      its crash trace is attached to the JSON report (crash_trace) and the Gradescope output: open it in the book's trace viewer"
                    );
                }
            }
        }
        if !lab.ungraded_tests.is_empty() {
            let _ = writeln!(out, "  not in points.toml (not run): {}", plain(&lab.ungraded_tests.join(", ")));
        }
    }
    let _ = writeln!(
        out,
        "\nTotal: {}/{} ({})",
        points(report.score),
        points(report.max_score),
        percent(report.score, report.max_score)
    );
    out
}

#[cfg(test)]
mod tests {
    use crate::report::tests::sample_report;

    #[test]
    fn the_table_shows_each_test_and_the_total() {
        let text = super::render(&sample_report());
        assert!(text.contains("lab1 — Segmented WAL: 2/6.5 (30.8%)"), "{text}");
        assert!(text.contains("passed     2/2"), "{text}");
        assert!(text.contains("      [durability] entry 7 lost"), "{text}");
        assert!(text.contains("note: ignored: labs/lab1/tests differs"), "{text}");
        assert_eq!(text.matches("its crash trace is attached to the JSON report").count(), 1, "{text}");
        assert!(text.trim_end().ends_with("Total: 2/6.5 (30.8%)"), "{text}");
        assert!(!text.contains('\u{1b}') && text.contains("\\u{1b}[31mred"), "{text}");
    }
}
