//! Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`, a GitLab merge-request note): a
//! table of labs, then per lab a table of tests and the failures folded in `<details>`.

use std::fmt::Write;

use super::{percent, points};
use crate::grade::GradeReport;
use crate::runner::TestStatus;

pub fn render(report: &GradeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Grade: {}/{} ({})\n",
        points(report.score),
        points(report.max_score),
        percent(report.score, report.max_score)
    );
    let _ =
        writeln!(out, "Submission `{}`, earlier labs from the {}.\n", cell(&report.submission), report.deps.as_str());
    let _ = writeln!(out, "| lab | score | tests passed |\n|---|---:|---:|");
    for lab in &report.labs {
        let passed = lab.tests.iter().filter(|t| t.status == TestStatus::Passed).count();
        let title = lab.title.as_deref().map(|t| format!(" — {}", cell(t))).unwrap_or_default();
        let _ = writeln!(
            out,
            "| lab{}{title} | {}/{} | {passed}/{} |",
            lab.lab,
            points(lab.score),
            points(lab.max_score),
            lab.tests.len()
        );
    }
    for lab in &report.labs {
        let _ = writeln!(out, "\n### lab{}: {}/{}\n", lab.lab, points(lab.score), points(lab.max_score));
        for note in &lab.notes {
            let _ = writeln!(out, "> {}\n", cell(note));
        }
        if !lab.compiled {
            let _ =
                writeln!(out, "**The lab did not compile.**\n\n```text\n{}\n```\n", fence_safe(&lab.compile_errors));
        }
        let _ = writeln!(out, "| | test | invariant | points | status |\n|---|---|---|---:|---|");
        for test in &lab.tests {
            let mark = if test.status == TestStatus::Passed { "✅" } else { "❌" };
            let _ = writeln!(
                out,
                "| {mark} | `{}` / `{}` | {} | {}/{} | {} |",
                cell(&test.suite),
                cell(&test.name),
                test.invariant,
                points(test.score),
                points(test.max_score),
                test.status.as_str()
            );
        }
        let failures: Vec<_> =
            lab.tests.iter().filter(|t| !matches!(t.status, TestStatus::Passed | TestStatus::NotCompiled)).collect();
        for test in failures {
            let _ = writeln!(
                out,
                "\n<details><summary><code>{}</code>: {}</summary>\n\n```text\n{}\n```\n\n</details>",
                html(&test.name),
                html(test.status.as_str()),
                fence_safe(&test.message)
            );
        }
    }
    out
}

/// Text for a table cell: no line breaks, no column separators.
fn cell(value: &str) -> String {
    value.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn html(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Text inside a fenced block: a line of backticks would close the fence early.
fn fence_safe(value: &str) -> String {
    value.replace("```", "ˋˋˋ")
}

#[cfg(test)]
mod tests {
    use crate::report::tests::sample_report;

    #[test]
    fn the_summary_has_totals_tables_and_folded_failures() {
        let md = super::render(&sample_report());
        assert!(md.starts_with("## Grade: 2/6.5 (30.8%)"), "{md}");
        assert!(md.contains("| lab1 — Segmented WAL | 2/6.5 | 1/3 |"), "{md}");
        assert!(md.contains("| ✅ | `public` / `appends_then_reads` | durability | 2/2 | passed |"), "{md}");
        assert!(md.contains("entry 7 lost \\| <gone>") || md.contains("entry 7 lost | <gone>"), "{md}");
        assert_eq!(md.matches("<details>").count(), 2);
    }
}
