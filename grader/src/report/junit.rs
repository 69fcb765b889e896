//! JUnit XML, as CI test reports read it (GitLab's `artifacts:reports:junit`, GitHub actions
//! such as test-reporter, Jenkins).
//!
//! One `<testsuite>` per lab, one `<testcase>` per graded test. GitLab shows a test case's
//! `classname` as its suite and ignores the `message` attribute of `<failure>`, so the class is
//! `labN.suite` and the failure's text repeats the message before the output. Every test that
//! did not pass is a `<failure>` whose `type` says how it ended (failed, timed out, crashed,
//! exited, did not compile, missing); a test the grader skipped is `<skipped>`. Points go in
//! the suite's `<properties>`, the one place the Ant schema allows extra data.

use std::fmt::Write;

use super::points;
use crate::grade::GradeReport;
use crate::runner::TestStatus;

pub fn render(report: &GradeReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all_tests = report.tests().count();
    let all_failures = report.tests().filter(|t| !matches!(t.status, TestStatus::Passed | TestStatus::NotRun)).count();
    let all_skipped = report.tests().filter(|t| t.status == TestStatus::NotRun).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"0\" skipped=\"{all_skipped}\" time=\"{:.3}\">",
        attribute(&format!("grade of {}", report.submission)),
        report.duration_secs
    );
    for lab in &report.labs {
        let failures =
            lab.tests.iter().filter(|t| !matches!(t.status, TestStatus::Passed | TestStatus::NotRun)).count();
        let skipped = lab.tests.iter().filter(|t| t.status == TestStatus::NotRun).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"lab{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
            lab.lab,
            lab.tests.len(),
            lab.duration_secs
        );
        let _ = writeln!(out, "    <properties>");
        for (name, value) in [
            ("score", points(lab.score)),
            ("max_score", points(lab.max_score)),
            ("compiled", lab.compiled.to_string()),
            ("deps", report.deps.as_str().to_string()),
        ] {
            let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", attribute(&value));
        }
        let _ = writeln!(out, "    </properties>");
        for test in &lab.tests {
            let _ = write!(
                out,
                "    <testcase classname=\"lab{}.{}\" name=\"{}\" time=\"{:.3}\"",
                test.lab,
                attribute(&test.suite),
                attribute(&test.name),
                test.duration_secs
            );
            match test.status {
                TestStatus::Passed => {
                    let _ = writeln!(out, "/>");
                    continue;
                }
                TestStatus::NotRun => {
                    let _ = writeln!(out, ">\n      <skipped message=\"{}\"/>", attribute(&test.message));
                }
                status => {
                    let first_line = test.message.lines().next().unwrap_or("");
                    let body = format!(
                        "{}\n\ninvariant: {}\npoints: {}/{}\n\n{}",
                        test.message,
                        test.invariant,
                        points(test.score),
                        points(test.max_score),
                        test.output
                    );
                    let _ = writeln!(
                        out,
                        ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        attribute(status.as_str()),
                        attribute(first_line),
                        text(&body)
                    );
                }
            }
            if !test.output.is_empty() {
                let _ = writeln!(out, "      <system-out>{}</system-out>", text(&test.output));
            }
            let _ = writeln!(out, "    </testcase>");
        }
        if !lab.notes.is_empty() || !lab.compiled {
            let mut notes = lab.notes.join("\n");
            if !lab.compiled {
                notes.push_str(&format!("\nthe lab did not compile:\n{}", lab.compile_errors));
            }
            let _ = writeln!(out, "    <system-out>{}</system-out>", text(notes.trim_start()));
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes character data; characters XML 1.0 forbids (most control characters, such as the
/// escape that starts a terminal colour) are written as `\u{..}`.
fn text(value: &str) -> String {
    escape(value, false)
}

/// Escapes an attribute value, keeping line breaks and tabs as character references.
fn attribute(value: &str) -> String {
    escape(value, true)
}

fn escape(value: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\'' if in_attribute => out.push_str("&apos;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\r' if in_attribute => out.push_str("&#13;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(attribute("a<b>&\"c'\nd"), "a&lt;b&gt;&amp;&quot;c&apos;&#10;d");
        assert_eq!(text("\u{1b}[31m<red>"), "\\u{1b}[31m&lt;red&gt;");
    }

    #[test]
    fn the_report_is_well_formed_with_one_case_per_test() {
        let xml = render(&sample_report());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "), "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), 3);
        assert_eq!(xml.matches("<failure ").count(), 2);
        assert!(xml.contains("type=\"timed out\""));
        assert!(!xml.contains('\u{1b}'));
        assert_balanced(&xml);
    }

    /// A small check that every element opened is closed, in order.
    pub(crate) fn assert_balanced(xml: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("an unclosed tag") + start;
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            if tag.starts_with('?') || tag.ends_with('/') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                stack.push(tag.split_whitespace().next().unwrap().to_string());
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }
}
