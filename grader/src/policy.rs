//! The source policy (the `source-policy` crate, shared with the students' `selfgrade`), read
//! from the course's `grader/policy.toml`.

pub use source_policy::{LabPolicy, Policy, PolicyError, SourceSet, Violation, check};

use std::path::Path;

use crate::error::{GraderError, Result};

/// Reads the course's policy file (the defaults if it has none).
pub fn load(path: &Path) -> Result<Policy> {
    Policy::load(path).map_err(|error| GraderError::config(&error.path, error.message))
}

/// The violations of `policy` in `sources`, leaving out those in the files the course gives
/// (points.toml's `given`, named relative to `src_prefix`, the `src/` directory as `sources`
/// names it). A given file is the course's code, not the student's: a grade always builds the
/// course's copy of it. It is still parsed with the rest, so that a `use` alias made in it is
/// seen in every file; its own violations are not refused (lab 8's handles to the real disk
/// open fjall and redb there, so that the lab's own code never needs to).
pub fn check_outside_given(
    sources: &SourceSet<'_>,
    policy: &LabPolicy,
    src_prefix: &str,
    given: &[String],
) -> Vec<Violation> {
    let given: Vec<String> = given.iter().map(|file| format!("{src_prefix}/{file}")).collect();
    check(sources, policy).into_iter().filter(|violation| !given.contains(&violation.file)).collect()
}
