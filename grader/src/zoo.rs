//! The bug zoo: classic storage bugs reproduced as small variants of a reference solution.
//!
//! `grader/zoo/labN.toml` lists them:
//!
//! ```toml
//! [[bug]]
//! name = "no-fsync-on-append"
//! description = "append returns before the segment is synced"
//! file = "wal.rs"                 # relative to solutions/labN/src
//! find = "self.sync_segment()?;"  # must occur exactly once in the file
//! replace = ""
//! invariant = "durability"        # a failing test's output must name it: [durability]
//! ```
//!
//! The selfcheck copies the reference `src/`, makes the replacement, grades the variant, and
//! requires at least one failing test whose output contains `[<invariant>]`: the suites must
//! not only fail on the bug but say which invariant it broke. It stops at the first such test.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Deserialize;

use crate::course::LabNumber;
use crate::error::{GraderError, Result};
use crate::fsutil::copy_tree;
use crate::grade::{Grader, Submission};
use crate::points::INVARIANTS;
use crate::runner::{TestRun, TestStatus};

/// One bug.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZooEntry {
    pub name: String,
    pub description: String,
    /// The file to change, relative to `solutions/labN/src`.
    pub file: String,
    /// Text that occurs exactly once in the file.
    pub find: String,
    pub replace: String,
    /// The invariant a test must name when it catches the bug.
    pub invariant: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZooFile {
    #[serde(default, alias = "bugs", alias = "entry", alias = "entries")]
    bug: Vec<ZooEntry>,
}

/// Reads a lab's zoo; a lab without a zoo file has no bugs.
pub fn load(path: &Path) -> Result<Vec<ZooEntry>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(GraderError::io("read", path))?;
    let file: ZooFile = toml::from_str(&text).map_err(|error| GraderError::config(path, error.to_string()))?;
    let mut names = std::collections::BTreeSet::new();
    for entry in &file.bug {
        if !INVARIANTS.contains(&entry.invariant.as_str()) {
            return Err(GraderError::config(
                path,
                format!("bug {}: unknown invariant {:?}", entry.name, entry.invariant),
            ));
        }
        if entry.find.is_empty() || entry.find == entry.replace {
            return Err(GraderError::config(
                path,
                format!("bug {}: `find` must be non-empty and differ from `replace`", entry.name),
            ));
        }
        if !names.insert(entry.name.as_str()) {
            return Err(GraderError::config(path, format!("bug {} is listed twice", entry.name)));
        }
    }
    Ok(file.bug)
}

/// How one bug fared.
#[derive(Clone, Debug)]
pub struct ZooResult {
    pub name: String,
    pub invariant: String,
    /// Tests that failed naming the invariant.
    pub caught_by: Vec<String>,
    /// Tests that failed without naming it (`test: first line of the message`).
    pub other_failures: Vec<String>,
    /// Why the variant could not be checked (the find text, a compile error), if so.
    pub problem: Option<String>,
    pub duration_secs: f64,
}

impl ZooResult {
    pub fn caught(&self) -> bool {
        self.problem.is_none() && !self.caught_by.is_empty()
    }
}

/// Builds the variant of `entry` and grades it.
pub fn check(grader: &Grader, lab: LabNumber, entry: &ZooEntry, scratch: &Path) -> Result<ZooResult> {
    let started = Instant::now();
    let mut result = ZooResult {
        name: entry.name.clone(),
        invariant: entry.invariant.clone(),
        caught_by: Vec::new(),
        other_failures: Vec::new(),
        problem: None,
        duration_secs: 0.0,
    };
    let reference_src = grader.course.solution_dir(lab).join("src");
    let original_path = reference_src.join(&entry.file);
    let original = match std::fs::read_to_string(&original_path) {
        Ok(text) => text,
        Err(error) => {
            result.problem = Some(format!("cannot read solutions/lab{lab}/src/{}: {error}", entry.file));
            return Ok(result);
        }
    };
    let occurrences = original.matches(&entry.find).count();
    if occurrences != 1 {
        result.problem = Some(format!(
            "its `find` text occurs {occurrences} times in solutions/lab{lab}/src/{} (exactly once is required)",
            entry.file
        ));
        return Ok(result);
    }
    let variant_src = scratch.join(format!("lab{lab}-zoo-src"));
    if variant_src.exists() {
        std::fs::remove_dir_all(&variant_src).map_err(GraderError::io("remove", &variant_src))?;
    }
    copy_tree(&reference_src, &variant_src, &[])?;
    let mutated = variant_src.join(&entry.file);
    std::fs::write(&mutated, original.replacen(&entry.find, &entry.replace, 1))
        .map_err(GraderError::io("write", &mutated))?;

    let mut sources = BTreeMap::new();
    sources.insert(lab, variant_src);
    let submission = Submission::from_sources(format!("zoo:{}", entry.name), sources);
    let marker = format!("[{}]", entry.invariant);
    let caught = |run: &TestRun| {
        run.status != TestStatus::Passed && (run.output.contains(&marker) || run.message.contains(&marker))
    };
    let report = grader.grade_lab(&submission, lab, &caught)?;
    if !report.compiled {
        result.problem = Some(format!("the variant does not compile:\n{}", report.compile_errors));
    }
    for test in &report.tests {
        if matches!(test.status, TestStatus::Passed | TestStatus::NotRun) {
            continue;
        }
        let name = format!("{}/{}", test.suite, test.name);
        if test.output.contains(&marker) || test.message.contains(&marker) {
            result.caught_by.push(name);
        } else if report.compiled {
            result.other_failures.push(format!("{name}: {}", test.message.lines().next().unwrap_or("")));
        }
    }
    result.duration_secs = started.elapsed().as_secs_f64();
    Ok(result)
}
