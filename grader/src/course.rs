//! Where things live in the course repository.
//!
//! The layout is fixed so that a newcomer can guess any path (see the book's instructors'
//! chapter): lab N's stub and public tests in `labs/labN`, its reference solution in
//! `solutions/labN`, its hidden suite in `grader/suites/labN/main.rs`, its bug zoo in
//! `grader/zoo/labN.toml`, and every test's points in `grader/points.toml`.

use std::path::{Path, PathBuf};

use crate::error::{GraderError, Result};

/// A lab number, as in `lab1`.
pub type LabNumber = u32;

/// The name of the hidden suite's test target in a generated workspace.
pub const HIDDEN_SUITE: &str = "hidden";

/// The course repository the grader belongs to.
#[derive(Clone, Debug)]
pub struct Course {
    root: PathBuf,
}

impl Course {
    /// Opens the course at `root`, checking that it looks like one.
    pub fn open(root: impl Into<PathBuf>) -> Result<Course> {
        let root = root.into();
        let root = root.canonicalize().map_err(GraderError::io("open the course at", &root))?;
        let course = Course { root };
        for required in [course.manifest(), course.kit_dir().join("Cargo.toml"), course.points_file()] {
            if !required.is_file() {
                return Err(GraderError::config(
                    &required,
                    "missing: is this the course repository? (pass --course DIR)",
                ));
            }
        }
        Ok(course)
    }

    /// The course this grader was built from: `GRADER_COURSE` if set, else the workspace that
    /// holds the grader's own sources. `cargo run -p grader` therefore grades with the course
    /// it sits in, from any working directory.
    pub fn locate() -> Result<Course> {
        match std::env::var_os("GRADER_COURSE") {
            Some(root) => Course::open(PathBuf::from(root)),
            None => Course::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root `Cargo.toml` (a virtual workspace manifest).
    pub fn manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    pub fn lockfile(&self) -> PathBuf {
        self.root.join("Cargo.lock")
    }

    /// The course kit, crate `distributed`.
    pub fn kit_dir(&self) -> PathBuf {
        self.root.join("labs").join("distributed")
    }

    /// `labs/labN`: the stub the students start from, with its public tests.
    pub fn stub_dir(&self, lab: LabNumber) -> PathBuf {
        self.root.join("labs").join(format!("lab{lab}"))
    }

    /// `solutions/labN`: the reference solution.
    pub fn solution_dir(&self, lab: LabNumber) -> PathBuf {
        self.root.join("solutions").join(format!("lab{lab}"))
    }

    /// `grader/suites/labN`: the hidden suite (entry `main.rs`).
    pub fn hidden_suite_dir(&self, lab: LabNumber) -> PathBuf {
        self.grader_dir().join("suites").join(format!("lab{lab}"))
    }

    pub fn grader_dir(&self) -> PathBuf {
        self.root.join("grader")
    }

    pub fn points_file(&self) -> PathBuf {
        self.grader_dir().join("points.toml")
    }

    /// `grader/policy.toml`: what each lab's code may name (optional: defaults otherwise).
    pub fn policy_file(&self) -> PathBuf {
        self.grader_dir().join("policy.toml")
    }

    /// `grader/zoo/labN.toml`: the lab's bug zoo (optional).
    pub fn zoo_file(&self, lab: LabNumber) -> PathBuf {
        self.grader_dir().join("zoo").join(format!("lab{lab}.toml"))
    }

    pub fn book_dir(&self) -> PathBuf {
        self.root.join("book")
    }

    /// The channel `rust-toolchain.toml` pins (`1.95.0`), if the course pins one.
    pub fn pinned_toolchain(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.root.join("rust-toolchain.toml")).ok()?;
        let table: toml::Table = text.parse().ok()?;
        let channel = table.get("toolchain")?.get("channel")?.as_str()?;
        Some(channel.to_string())
    }

    /// Where generated workspaces are built: shared across grades so that dependencies are
    /// compiled once. Not `target/` itself, whose lock a running `cargo test` holds.
    pub fn default_target_dir(&self) -> PathBuf {
        self.root.join("target").join("grader")
    }

    /// Every lab with a stub (`labs/labN/Cargo.toml`), in order.
    pub fn labs(&self) -> Result<Vec<LabNumber>> {
        let labs_dir = self.root.join("labs");
        let mut labs = Vec::new();
        for entry in std::fs::read_dir(&labs_dir).map_err(GraderError::io("list", &labs_dir))? {
            let entry = entry.map_err(GraderError::io("list", &labs_dir))?;
            let name = entry.file_name();
            let Some(number) = name.to_str().and_then(parse_lab_name) else { continue };
            if entry.path().join("Cargo.toml").is_file() {
                labs.push(number);
            }
        }
        labs.sort_unstable();
        Ok(labs)
    }

    /// The labs that can be graded: a stub and a hidden suite. A grading bundle
    /// (`export-bundle`) has no reference of the lab it grades; the selfcheck, which needs one,
    /// checks for it itself.
    pub fn gradable_labs(&self) -> Result<Vec<LabNumber>> {
        Ok(self.labs()?.into_iter().filter(|&lab| self.hidden_suite_dir(lab).join("main.rs").is_file()).collect())
    }

    /// Whether the course holds lab `lab`'s reference solution (a bundle does not).
    pub fn has_reference(&self, lab: LabNumber) -> bool {
        self.solution_dir(lab).join("Cargo.toml").is_file()
    }

    /// The public test targets of a lab: `tests/NAME.rs` and `tests/NAME/main.rs`, as cargo
    /// discovers them, sorted.
    pub fn public_suites(&self, lab: LabNumber) -> Result<Vec<String>> {
        let tests_dir = self.stub_dir(lab).join("tests");
        let mut suites = Vec::new();
        if !tests_dir.is_dir() {
            return Ok(suites);
        }
        for entry in std::fs::read_dir(&tests_dir).map_err(GraderError::io("list", &tests_dir))? {
            let entry = entry.map_err(GraderError::io("list", &tests_dir))?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            if path.is_file() {
                if let Some(stem) = name.strip_suffix(".rs") {
                    suites.push(stem.to_string());
                }
            } else if path.join("main.rs").is_file() {
                suites.push(name.to_string());
            }
        }
        suites.sort();
        if suites.iter().any(|suite| suite == HIDDEN_SUITE) {
            return Err(GraderError::config(
                tests_dir,
                format!(
                    "a public test target may not be named `{HIDDEN_SUITE}`: the grader uses that name for the hidden suite"
                ),
            ));
        }
        Ok(suites)
    }
}

/// `lab12` → 12.
pub fn parse_lab_name(name: &str) -> Option<LabNumber> {
    let digits = name.strip_prefix("lab")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names_parse_only_when_exact() {
        assert_eq!(parse_lab_name("lab1"), Some(1));
        assert_eq!(parse_lab_name("lab12"), Some(12));
        assert_eq!(parse_lab_name("lab"), None);
        assert_eq!(parse_lab_name("lab1-solution"), None);
        assert_eq!(parse_lab_name("distributed"), None);
    }
}
