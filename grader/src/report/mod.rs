//! A grade as text, JSON, Gradescope `results.json`, JUnit XML or Markdown.

mod gradescope;
mod junit;
mod markdown;
mod text;

use std::str::FromStr;

use crate::error::GraderError;
use crate::grade::GradeReport;

/// An output format of `grade --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table per lab and a total, for a terminal.
    Text,
    /// The whole report, for scripts.
    Json,
    /// Gradescope's `results.json`.
    Gradescope,
    /// JUnit XML, for CI test reports (GitHub, GitLab, Jenkins).
    Junit,
    /// Markdown, for `$GITHUB_STEP_SUMMARY` or a merge-request comment.
    Markdown,
}

impl FromStr for Format {
    type Err = GraderError;

    fn from_str(text: &str) -> Result<Format, GraderError> {
        match text {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "gradescope" => Ok(Format::Gradescope),
            "junit" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            other => Err(GraderError::Usage(format!(
                "unknown format {other:?}: expected text, json, gradescope, junit or markdown"
            ))),
        }
    }
}

/// Renders `report` in `format`.
pub fn render(report: &GradeReport, format: Format) -> String {
    match format {
        Format::Text => text::render(report),
        Format::Json => {
            let mut json =
                serde_json::to_string_pretty(report).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
            json.push('\n');
            json
        }
        Format::Gradescope => gradescope::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
    }
}

/// Text that a terminal shows as written: every control character but the line break and the
/// tab (the escape that starts a colour or moves the cursor, a carriage return that lets a line
/// overwrite another, a backspace) is written as `\u{..}`, and so are the bidirectional
/// overrides that reorder what is shown. Names and messages come from the submission's
/// processes, so a report never lets them draw a fake row.
pub(crate) fn plain(value: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if (c.is_control() && c != '\n' && c != '\t') || bidi {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// What a report says above a failed visible test's crash trace.
pub(crate) const TRACE_HEADING: &str = "crash trace (save it as a .json file and open it in the book's trace viewer)";

/// `12`, `12.5`: points without a needless `.0`.
pub(crate) fn points(value: f64) -> String {
    // An empty sum is -0.0; adding 0.0 makes it 0.
    let value = value + 0.0;
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}").trim_end_matches('0').to_string() }
}

/// `75.0%` of `max` (100% of nothing is 100%).
pub(crate) fn percent(score: f64, max: f64) -> String {
    if max == 0.0 { "100.0%".to_string() } else { format!("{:.1}%", 100.0 * score / max) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::{DepsMode, LabReport, TestReport};
    use crate::points::Visibility;
    use crate::runner::TestStatus;

    /// A small report with one test of each kind of ending, shared by the format tests.
    pub fn sample_report() -> GradeReport {
        let test = |suite: &str, name: &str, status: TestStatus, message: &str, points: f64| TestReport {
            lab: 1,
            suite: suite.into(),
            name: name.into(),
            invariant: "durability".into(),
            visibility: if suite == "hidden" { Visibility::Hidden } else { Visibility::Visible },
            score: if status == TestStatus::Passed { points } else { 0.0 },
            max_score: points,
            status,
            message: message.into(),
            output: format!("running 1 test\n{message}\n"),
            duration_secs: 0.25,
            crash_trace: (suite == "public" && status != TestStatus::Passed)
                .then(|| serde_json::json!({ "format": "durable-storage-crash-trace", "version": 1, "test": name })),
        };
        let tests = vec![
            test("public", "appends_then_reads", TestStatus::Passed, "passed", 2.0),
            test(
                "public",
                "format::a<b>&\"c\"",
                TestStatus::Failed,
                "[durability] entry 7 lost | <gone> & \u{1b}[31mred\u{1b}[0m\n  replay: LAB_SEED=0x2a cargo test",
                1.5,
            ),
            test("hidden", "crash::hangs", TestStatus::TimedOut, "timed out after 60 s", 3.0),
        ];
        let lab = LabReport {
            lab: 1,
            title: Some("Segmented WAL".into()),
            score: 2.0,
            max_score: 6.5,
            compiled: true,
            compile_errors: String::new(),
            notes: vec![
                "ignored: labs/lab1/tests differs from the course's; the grader uses the course's tests".into(),
            ],
            tests,
            ungraded_tests: Vec::new(),
            build_secs: 1.0,
            duration_secs: 2.0,
        };
        GradeReport {
            submission: "student-42".into(),
            deps: DepsMode::Reference,
            score: 2.0,
            max_score: 6.5,
            labs: vec![lab],
            duration_secs: 2.0,
            grader_version: "0.1.0".into(),
        }
    }

    #[test]
    fn points_print_without_needless_decimals() {
        assert_eq!(points(3.0), "3");
        assert_eq!(points(1.5), "1.5");
        assert_eq!(percent(1.0, 4.0), "25.0%");
    }

    #[test]
    fn formats_parse() {
        assert_eq!("junit".parse::<Format>().unwrap(), Format::Junit);
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn json_round_trips_as_json() {
        let json: serde_json::Value = serde_json::from_str(&render(&sample_report(), Format::Json)).unwrap();
        assert_eq!(json["labs"][0]["tests"][2]["status"], "timed_out");
        assert_eq!(json["labs"][0]["tests"][2]["visibility"], "hidden");
    }
}
