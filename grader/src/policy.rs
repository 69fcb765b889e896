//! The source policy (the `source-policy` crate, shared with the students' `selfgrade`), read
//! from the course's `grader/policy.toml`.

pub use source_policy::{LabPolicy, Policy, PolicyError, SourceSet, Violation, check, check_outside_given};

use std::path::Path;

use crate::error::{GraderError, Result};

/// Reads the course's policy file (the defaults if it has none).
pub fn load(path: &Path) -> Result<Policy> {
    Policy::load(path).map_err(|error| GraderError::config(&error.path, error.message))
}
