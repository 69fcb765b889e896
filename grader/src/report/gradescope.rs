//! Gradescope's `results.json`.
//!
//! Per Gradescope's autograder specification: a top-level `score` (which overrides the sum of
//! the tests), optional `output`, `execution_time` and `visibility`, and `tests`, each with
//! `name`, `score`, `max_score`, `status` (`passed`/`failed`, which colours the test),
//! `output` and `visibility` (`visible`, `hidden`, `after_due_date`, `after_published`).
//! Hidden tests keep their points but students do not see their names or output.

use serde_json::{Value, json};

use super::{TRACE_HEADING, plain, points};
use crate::grade::GradeReport;
use crate::runner::TestStatus;

pub fn render(report: &GradeReport) -> String {
    let tests: Vec<Value> = report
        .tests()
        .map(|test| {
            let mut output = plain(&test.message);
            if test.status != TestStatus::Passed && !test.output.is_empty() {
                output.push_str("\n\n--- test output ---\n");
                output.push_str(&plain(&test.output));
            }
            if let Some(trace) = &test.crash_trace {
                output.push_str(&format!("\n\n--- {TRACE_HEADING} ---\n"));
                output.push_str(&serde_json::to_string(trace).unwrap_or_default());
            }
            json!({
                "name": format!("lab{} {} {} [{}]", test.lab, test.suite, test.name, test.invariant),
                "score": test.score,
                "max_score": test.max_score,
                "status": if test.status == TestStatus::Passed { "passed" } else { "failed" },
                "output": output,
                "output_format": "text",
                "visibility": test.visibility.as_str(),
                "tags": [format!("lab{}", test.lab), test.invariant.clone()],
            })
        })
        .collect();
    let mut summary = Vec::new();
    for lab in &report.labs {
        summary.push(format!("lab{}: {}/{}", lab.lab, points(lab.score), points(lab.max_score)));
        if !lab.compiled {
            summary.push(format!("lab{} did not compile:\n{}", lab.lab, plain(&lab.compile_errors)));
        }
        summary.extend(lab.notes.iter().map(|note| format!("lab{}: {}", lab.lab, plain(note))));
    }
    let results = json!({
        "score": report.score,
        "execution_time": report.duration_secs.round() as u64,
        "output": summary.join("\n"),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
    });
    let mut text = serde_json::to_string_pretty(&results).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use crate::report::tests::sample_report;

    #[test]
    fn results_follow_the_autograder_specification() {
        let results: serde_json::Value = serde_json::from_str(&super::render(&sample_report())).unwrap();
        assert_eq!(results["score"], 2.0);
        let tests = results["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 3);
        for test in tests {
            for field in ["name", "score", "max_score", "status", "output", "visibility"] {
                assert!(test.get(field).is_some(), "{field} missing in {test}");
            }
        }
        assert_eq!(tests[0]["status"], "passed");
        assert_eq!(tests[1]["status"], "failed");
        assert_eq!(tests[2]["visibility"], "hidden");
        assert_eq!(tests[1]["max_score"], 1.5);
        let output = tests[1]["output"].as_str().unwrap();
        assert!(output.contains(super::TRACE_HEADING) && output.contains("durable-storage-crash-trace"), "{output}");
    }
}
