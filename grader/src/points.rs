//! `grader/points.toml`: every graded test's points, the invariant it guards, its visibility.
//!
//! One table per lab, one entry per test, in one file an instructor can read and change:
//!
//! ```toml
//! [lab1]
//! title = "Segmented WAL"
//! tests = [
//!   { suite = "public", name = "appends_then_reads", points = 2, invariant = "append-only" },
//!   { suite = "hidden", name = "crash::every_point", points = 5, invariant = "durability", timeout_secs = 120 },
//! ]
//! ```
//!
//! `suite` is the test target: `hidden` for the hidden suite, or the stem of a public test file
//! (`public` for `labs/lab1/tests/public.rs`). `name` is the test's path exactly as libtest
//! lists it. Hidden tests are reported with Gradescope's visibility `hidden`, the others
//! `visible`. The selfcheck fails when a test exists in a binary but not here, or the reverse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::course::{HIDDEN_SUITE, LabNumber, parse_lab_name};
use crate::error::{GraderError, Result};

/// The time limit of a test that does not set `timeout_secs`.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// The canonical invariant names (the book's glossary). A failure message starts with one of
/// them in brackets, and every graded test names the one it guards.
pub const INVARIANTS: &[&str] = &[
    "append-only",
    "prefix-compaction",
    "monotonic",
    "matching",
    "durability",
    "ordered-recovery",
    "torn-tail",
    "checksum",
    "on-disk-format",
    "rollover",
    "group-commit",
    "fail-stop",
    "atomic-write",
    "recovery-equivalence",
    "determinism",
    "in-order-apply",
    "idempotent-replay",
    "persisted-commit",
    "read-barrier",
    "exactly-once",
    "same-result",
    "ttl-log-time",
    "fingerprint-conflict",
    "marker-resolution",
    "bounded-gc",
    "atomic-visibility",
    "degraded-read",
    "bounded-progress",
    "point-in-time",
    "incremental",
    "gc-safety",
    // Lab 8: storage engines behind one trait.
    "atomic-batch",
    "model-equivalence",
    "ordered-range",
    // Lab 8, part 2: openraft over the engines.
    "storage-contract",
    "vote-once",
    "snapshot-install",
    // Lab 9: the storage monitor's summaries, analysis and advice.
    "sketch-bound",
    "hot-data",
    "percentile-bound",
    "io-accounting",
    "write-amplification",
    "measured-advice",
    "advice-rule",
];

/// Who sees a test's result, in Gradescope's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Visible,
    Hidden,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
        }
    }
}

/// One graded test, as `points.toml` declares it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// The test target: `hidden`, or a public test file's stem.
    pub suite: String,
    /// The test's name exactly as `--list` prints it.
    pub name: String,
    pub points: f64,
    /// The canonical invariant the test guards.
    pub invariant: String,
    /// The test's time limit; [`DEFAULT_TIMEOUT_SECS`] if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// The chapter section a hidden test's expectation comes from, as `lab1-wal-truncate.md#task-5-...`
    /// (a book page and the anchor mdBook gives one of its headings). A hidden test may demand
    /// only what the chapter states, so the self-check refuses a hidden test without one, or
    /// with one that names no heading of the book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
}

impl TestSpec {
    pub fn visibility(&self) -> Visibility {
        if self.suite == HIDDEN_SUITE { Visibility::Hidden } else { Visibility::Visible }
    }

    pub fn timeout_secs(&self) -> u64 {
        self.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)
    }
}

/// One lab's table.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabPoints {
    /// A short title for reports ("Segmented WAL").
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub tests: Vec<TestSpec>,
    /// The most the lab's tests may take together, in seconds (the grader's default if absent):
    /// tests not started when it is spent are not run and score 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_secs: Option<u64>,
    /// The files of `src/` that the stub shares with the reference (errors, reports, request
    /// types): given by the course, not written by the student. The self-check proves the two
    /// copies identical, and a grade builds the course's copy whatever the submission holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
}

impl LabPoints {
    pub fn max_score(&self) -> f64 {
        self.tests.iter().map(|test| test.points).sum()
    }

    /// The entry for `suite`/`name`, if graded.
    pub fn find(&self, suite: &str, name: &str) -> Option<&TestSpec> {
        self.tests.iter().find(|test| test.suite == suite && test.name == name)
    }
}

/// The whole `points.toml`.
#[derive(Clone, Debug, Default)]
pub struct PointsTable {
    pub path: PathBuf,
    pub labs: BTreeMap<LabNumber, LabPoints>,
}

impl PointsTable {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<PointsTable> {
        let text = std::fs::read_to_string(path).map_err(GraderError::io("read", path))?;
        PointsTable::parse(path, &text)
    }

    /// Parses and validates the text of a points file; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<PointsTable> {
        let raw: BTreeMap<String, LabPoints> =
            toml::from_str(text).map_err(|error| GraderError::config(path, error.to_string()))?;
        let mut labs = BTreeMap::new();
        for (key, lab_points) in raw {
            let lab = parse_lab_name(&key).ok_or_else(|| {
                GraderError::config(path, format!("table [{key}]: expected a lab name such as [lab1]"))
            })?;
            validate_lab(path, &key, &lab_points)?;
            labs.insert(lab, lab_points);
        }
        Ok(PointsTable { path: path.to_path_buf(), labs })
    }

    /// The lab's table; an empty one if the file has none (every test then counts as ungraded).
    pub fn lab(&self, lab: LabNumber) -> LabPoints {
        self.labs.get(&lab).cloned().unwrap_or_default()
    }
}

fn validate_lab(path: &Path, key: &str, lab: &LabPoints) -> Result<()> {
    for given in &lab.given {
        let plain = Path::new(given).components().all(|part| matches!(part, std::path::Component::Normal(_)));
        if !plain || !given.ends_with(".rs") {
            return Err(GraderError::config(
                path,
                format!("[{key}] given {given:?}: expected a Rust file's path under src/, such as \"error.rs\""),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for test in &lab.tests {
        let at = format!("[{key}] test {}/{}", test.suite, test.name);
        if test.suite.is_empty() || test.name.is_empty() {
            return Err(GraderError::config(path, format!("{at}: suite and name must not be empty")));
        }
        if !(test.points.is_finite() && test.points > 0.0) {
            return Err(GraderError::config(
                path,
                format!("{at}: points must be a positive number, not {}", test.points),
            ));
        }
        if !INVARIANTS.contains(&test.invariant.as_str()) {
            return Err(GraderError::config(
                path,
                format!(
                    "{at}: unknown invariant {:?}; the canonical names are: {}",
                    test.invariant,
                    INVARIANTS.join(", ")
                ),
            ));
        }
        if test.timeout_secs == Some(0) {
            return Err(GraderError::config(path, format!("{at}: timeout_secs must be at least 1")));
        }
        if !seen.insert((test.suite.as_str(), test.name.as_str())) {
            return Err(GraderError::config(path, format!("{at}: listed twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PointsTable> {
        PointsTable::parse(Path::new("points.toml"), text)
    }

    #[test]
    fn a_lab_table_reads_with_defaults() {
        let table = parse(
            r#"
            [lab1]
            title = "Segmented WAL"
            tests = [
              { suite = "public", name = "format::round_trip", points = 2, invariant = "on-disk-format" },
              { suite = "hidden", name = "crash", points = 1.5, invariant = "durability", timeout_secs = 5 },
            ]
            "#,
        )
        .unwrap();
        let lab = table.lab(1);
        assert_eq!(lab.max_score(), 3.5);
        let public = lab.find("public", "format::round_trip").unwrap();
        assert_eq!((public.visibility(), public.timeout_secs()), (Visibility::Visible, DEFAULT_TIMEOUT_SECS));
        let hidden = lab.find("hidden", "crash").unwrap();
        assert_eq!((hidden.visibility(), hidden.timeout_secs()), (Visibility::Hidden, 5));
        assert!(table.lab(2).tests.is_empty());
    }

    #[test]
    fn mistakes_are_reported_with_the_test_they_concern() {
        let cases = [
            (
                r#"[lab1]
                tests = [{ suite = "public", name = "a", points = 1, invariant = "durable" }]"#,
                "unknown invariant",
            ),
            (
                r#"[lab1]
                tests = [{ suite = "public", name = "a", points = 0, invariant = "durability" }]"#,
                "positive",
            ),
            (
                r#"[lab1]
                tests = [{ suite = "public", name = "a", points = 1, invariant = "durability" },
                         { suite = "public", name = "a", points = 2, invariant = "durability" }]"#,
                "listed twice",
            ),
            (
                r#"[lab1]
                tests = [{ suite = "public", name = "a", point = 1, invariant = "durability" }]"#,
                "unknown field",
            ),
            (
                r#"[one]
                tests = []"#,
                "expected a lab name",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
