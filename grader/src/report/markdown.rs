//! Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`, a GitLab merge-request note): a
//! table of labs, then per lab a table of tests and the failures folded in `<details>`.

use std::fmt::Write;

use super::{TRACE_HEADING, percent, plain, points};

/// The largest crash trace shown inline: a CI job summary has a size limit (GitHub's is 1 MiB).
const MARKDOWN_TRACE_BYTES: usize = 64 * 1024;
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
    let _ = writeln!(
        out,
        "Submission <code>{}</code>, earlier labs from the {}.\n",
        cell(&report.submission),
        report.deps.as_str()
    );
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
            let _ = writeln!(out, "**The lab did not compile.**\n\n{}\n", fenced(&lab.compile_errors));
        }
        let _ = writeln!(out, "| | test | invariant | points | status |\n|---|---|---|---:|---|");
        for test in &lab.tests {
            let mark = if test.status == TestStatus::Passed { "✅" } else { "❌" };
            let _ = writeln!(
                out,
                "| {mark} | <code>{}</code> / <code>{}</code> | {} | {}/{} | {} |",
                cell(&test.suite),
                cell(&test.name),
                cell(&test.invariant),
                points(test.score),
                points(test.max_score),
                test.status.as_str()
            );
        }
        let failures: Vec<_> =
            lab.tests.iter().filter(|t| !matches!(t.status, TestStatus::Passed | TestStatus::NotCompiled)).collect();
        for test in failures {
            let trace = match &test.crash_trace {
                Some(trace) => {
                    // `<`, `>` and `&` occur only inside JSON strings, where `\u003c` is the same
                    // character: the block then holds no markup at all, even where a renderer
                    // mistakes where the fence ends.
                    let json = serde_json::to_string(trace)
                        .unwrap_or_default()
                        .replace('<', "\\u003c")
                        .replace('>', "\\u003e")
                        .replace('&', "\\u0026");
                    if json.len() <= MARKDOWN_TRACE_BYTES {
                        format!("\n\n{}:\n\n{}", html(TRACE_HEADING), fenced(&json))
                    } else {
                        format!("\n\nA crash trace of {} bytes is in the JSON report.", json.len())
                    }
                }
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "\n<details><summary><code>{}</code>: {}</summary>\n\n{}{trace}\n\n</details>",
                cell(&test.name),
                html(test.status.as_str()),
                fenced(&test.message)
            );
        }
    }
    out
}

/// Text from a report (a name, a note, a message) as inert Markdown: no HTML (`<`, `>`, `&`
/// and quotes are entities), no Markdown (every punctuation character that could start
/// emphasis, a link, an image, a code span or a heading is escaped), no line breaks, no column
/// separators, no control characters.
fn cell(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in plain(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~' | '{' | '}' | '+' | '-' | '.'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn html(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A fenced block that no line of the text can close: the fence is longer than the longest
/// run of backticks in it.
fn fenced(value: &str) -> String {
    let value = plain(value);
    let mut longest = 0;
    let mut run = 0;
    for c in value.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{value}\n{fence}")
}

#[cfg(test)]
mod tests {
    use crate::report::tests::sample_report;

    #[test]
    fn the_summary_has_totals_tables_and_folded_failures() {
        let md = super::render(&sample_report());
        assert!(md.starts_with("## Grade: 2/6.5 (30.8%)"), "{md}");
        assert!(md.contains("| lab1 — Segmented WAL | 2/6.5 | 1/3 |"), "{md}");
        assert!(
            md.contains(
                "| ✅ | <code>public</code> / <code>appends\\_then\\_reads</code> | durability | 2/2 | passed |"
            ),
            "{md}"
        );
        assert!(
            md.contains("<code>format::a&lt;b&gt;&amp;&quot;c&quot;</code>")
                || md.contains("format\\:\\:a&lt;b&gt;&amp;&quot;c&quot;"),
            "{md}"
        );
        assert!(!md.contains("<b>") && !md.contains('\u{1b}'), "{md}");
        assert_eq!(md.matches("<details>").count(), 2);
        assert_eq!(md.matches("durable-storage-crash-trace").count(), 1, "the visible failure's trace: {md}");
    }
}
