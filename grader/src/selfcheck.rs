//! `selfcheck`: proof that the course grades what it claims to (run by the root `cargo test`).
//!
//! For every gradable lab: the reference solution scores 100%; every graded test fails on
//! the stub (a test the stub passes proves nothing: talent-plan PR #377); every test in a
//! test executable is in `points.toml` and the reverse; every bug of the zoo is caught by a
//! test that names its invariant. Then the handout is exported and checked for leaks, and
//! (unless told not to) built, its public tests run red as a student's first
//! `cargo test -p lab1` should.
//!
//! The handout's build compiles every lab a second time in a workspace of its own, the
//! longest step of the check (about 8 of 12 minutes cold on 2 cores, nine labs): the root
//! `cargo test` exports and checks the handout but leaves its build to CI's selfcheck step
//! (`handout_build`), as it leaves the zoo sweep.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::course::{Course, LabNumber};
use crate::error::{GraderError, Result};
use crate::fsutil::mirror_tree;
use crate::grade::{GradeOptions, Grader, LabReport, Submission};
use crate::handout;
use crate::process::{Termination, run_with_timeout};
use crate::report::points;
use crate::runner::TestStatus;
use crate::zoo::{self, ZooResult};

/// What to check.
#[derive(Clone, Debug)]
pub struct SelfcheckOptions {
    /// Labs to check; all gradable labs if `None`.
    pub labs: Option<Vec<LabNumber>>,
    pub zoo: bool,
    /// Export the handout and check it for leaks.
    pub handout: bool,
    /// Also build the exported handout and run its public tests (red on the stubs).
    pub handout_build: bool,
}

impl Default for SelfcheckOptions {
    fn default() -> SelfcheckOptions {
        SelfcheckOptions { labs: None, zoo: true, handout: true, handout_build: true }
    }
}

/// One lab's checks.
#[derive(Clone, Debug)]
pub struct LabCheck {
    pub lab: LabNumber,
    pub reference: LabReport,
    pub stub: LabReport,
    pub zoo: Vec<ZooResult>,
    pub problems: Vec<String>,
    /// The lab has no test yet (neither in its suites nor in `points.toml`): only its build
    /// was checked.
    pub in_progress: bool,
    pub duration_secs: f64,
}

/// The handout's checks.
#[derive(Clone, Debug, Default)]
pub struct HandoutCheck {
    pub files: usize,
    /// Whether it was built and its public tests run (see [`SelfcheckOptions::handout_build`]).
    pub built: bool,
    pub problems: Vec<String>,
    pub duration_secs: f64,
}

/// Everything the selfcheck found.
#[derive(Clone, Debug)]
pub struct SelfcheckReport {
    pub labs: Vec<LabCheck>,
    pub handout: Option<HandoutCheck>,
    /// Problems that concern no single lab.
    pub problems: Vec<String>,
    pub duration_secs: f64,
}

impl SelfcheckReport {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
            && self.labs.iter().all(|lab| lab.problems.is_empty())
            && self.handout.as_ref().is_none_or(|handout| handout.problems.is_empty())
    }

    /// A short summary: per lab the reference and stub scores, the zoo, the time taken; then
    /// every problem.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for lab in &self.labs {
            if lab.in_progress {
                let _ = writeln!(
                    out,
                    "lab{}: no tests yet (being written): its stub, solution and suite build; nothing else checked",
                    lab.lab
                );
                continue;
            }
            let caught = lab.zoo.iter().filter(|bug| bug.caught()).count();
            let _ = writeln!(
                out,
                "lab{}: reference {}/{}, stub {}/{}, bug zoo {caught}/{} caught, {:.0} s",
                lab.lab,
                points(lab.reference.score),
                points(lab.reference.max_score),
                points(lab.stub.score),
                points(lab.stub.max_score),
                lab.zoo.len(),
                lab.duration_secs
            );
            for bug in &lab.zoo {
                let verdict = match (&bug.problem, bug.caught_by.first()) {
                    (Some(problem), _) => format!("NOT CHECKED: {}", problem.lines().next().unwrap_or("")),
                    (None, Some(test)) => format!("caught by {test}"),
                    (None, None) => "NOT CAUGHT".to_string(),
                };
                let _ = writeln!(out, "  zoo {} [{}]: {verdict} ({:.0} s)", bug.name, bug.invariant, bug.duration_secs);
            }
            for problem in &lab.problems {
                let _ = writeln!(out, "  PROBLEM: {problem}");
            }
        }
        if let Some(handout) = &self.handout {
            let verdict = match (handout.problems.is_empty(), handout.built) {
                (false, _) => "PROBLEMS",
                (true, true) => "clean, builds, public tests red",
                (true, false) => "clean (not built: CI's selfcheck step builds it)",
            };
            let _ = writeln!(out, "handout: {} files, {verdict}, {:.0} s", handout.files, handout.duration_secs);
            for problem in &handout.problems {
                let _ = writeln!(out, "  PROBLEM: {problem}");
            }
        }
        for problem in &self.problems {
            let _ = writeln!(out, "PROBLEM: {problem}");
        }
        let _ = writeln!(
            out,
            "selfcheck {} in {:.0} s",
            if self.passed() { "passed" } else { "FAILED" },
            self.duration_secs
        );
        out
    }
}

/// Runs the selfcheck of `course`.
pub fn run(course: &Course, grade_options: GradeOptions, options: &SelfcheckOptions) -> Result<SelfcheckReport> {
    let started = Instant::now();
    let grader = Grader::new(course.clone(), grade_options)?;
    let gradable = course.gradable_labs()?;
    let mut problems = Vec::new();
    for lab in course.labs()? {
        if !gradable.contains(&lab) || !course.has_reference(lab) {
            problems.push(format!(
                "lab{lab} has a stub but no reference solution (solutions/lab{lab}) or hidden suite (grader/suites/lab{lab}/main.rs)"
            ));
        }
    }
    for lab in grader.points.labs.keys() {
        if !gradable.contains(lab) {
            problems.push(format!("points.toml has [lab{lab}], which is not a gradable lab"));
        }
    }
    let labs = match &options.labs {
        Some(labs) => labs.clone(),
        None => gradable.iter().copied().filter(|&lab| course.has_reference(lab)).collect(),
    };
    let mut checks = Vec::new();
    // The book's headings, read once for every lab's chapter sections.
    let anchors = crate::consistency::book_anchors(course)?;
    for lab in labs {
        if !gradable.contains(&lab) || !course.has_reference(lab) {
            return Err(GraderError::Usage(format!(
                "lab{lab} cannot be checked: it needs a stub, a reference solution and a hidden suite"
            )));
        }
        checks.push(check_lab(&grader, lab, options.zoo, &anchors)?);
    }
    let handout = if options.handout { Some(check_handout(&grader, options.handout_build)?) } else { None };
    Ok(SelfcheckReport { labs: checks, handout, problems, duration_secs: started.elapsed().as_secs_f64() })
}

/// The `src/` directories of every lab, from the solutions or from the stubs.
fn all_sources(course: &Course, reference: bool) -> Result<BTreeMap<LabNumber, PathBuf>> {
    Ok(course
        .labs()?
        .into_iter()
        .map(|lab| {
            let dir = if reference { course.solution_dir(lab) } else { course.stub_dir(lab) };
            (lab, dir.join("src"))
        })
        .collect())
}

fn check_lab(
    grader: &Grader,
    lab: LabNumber,
    with_zoo: bool,
    anchors: &BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Result<LabCheck> {
    let started = Instant::now();
    let course = &grader.course;
    let points = grader.points.lab(lab);
    let mut problems = crate::consistency::lab_problems(course, lab, &points, anchors)?;

    let reference =
        grader.grade_lab(&Submission::from_sources("reference", all_sources(course, true)?), lab, &|_| false)?;
    if points.tests.is_empty() && reference.compiled && reference.ungraded_tests.is_empty() {
        // A lab being written: stub, solution and suite exist but hold no test yet. It is
        // reported, not failed, so the course's CI stays green while the lab grows.
        let stub = reference.clone();
        return Ok(LabCheck {
            lab,
            reference,
            stub,
            zoo: Vec::new(),
            problems: Vec::new(),
            in_progress: true,
            duration_secs: started.elapsed().as_secs_f64(),
        });
    }
    if !reference.compiled {
        problems.push(format!(
            "the reference solution does not compile:\n{}{}",
            reference.compile_errors,
            why_not_built(&reference)
        ));
    }
    for test in &reference.ungraded_tests {
        problems.push(format!("test {test} exists but is not in points.toml"));
    }
    for test in &reference.tests {
        match test.status {
            TestStatus::Passed => {}
            TestStatus::Missing => {
                problems.push(format!("points.toml lists {}/{}, which no test executable holds", test.suite, test.name))
            }
            _ if reference.compiled => problems.push(format!(
                "the reference fails {}/{} ({}): {}",
                test.suite,
                test.name,
                test.status.as_str(),
                test.message.lines().next().unwrap_or("")
            )),
            _ => {}
        }
    }

    let stub = grader.grade_lab(&Submission::from_sources("stub", all_sources(course, false)?), lab, &|_| false)?;
    if !stub.compiled {
        problems.push(format!(
            "the stub does not compile (students must start from code that builds):\n{}{}",
            stub.compile_errors,
            why_not_built(&stub)
        ));
    }
    if stub.compiled {
        let drifted: Vec<String> = stub
            .tests
            .iter()
            .filter(|test| test.status == TestStatus::NotCompiled)
            .map(|test| format!("{}/{}", test.suite, test.name))
            .collect();
        if !drifted.is_empty() {
            problems.push(format!(
                "the stub's API differs from the reference's: these tests do not compile against the stub: {}\n{}",
                drifted.join(", "),
                stub.compile_errors
            ));
        }
    }
    for test in stub.tests.iter().filter(|test| test.status == TestStatus::Passed) {
        problems
            .push(format!("{}/{} passes on the stub: a test the stub passes proves nothing", test.suite, test.name));
    }

    let mut zoo_results = Vec::new();
    if with_zoo {
        let scratch = grader.options.cargo.target_dir.join("selfcheck");
        for entry in zoo::load(&course.zoo_file(lab))? {
            let result = zoo::check(grader, lab, &entry, &scratch)?;
            if let Some(problem) = &result.problem {
                problems.push(format!("zoo bug {} could not be checked: {problem}", result.name));
            } else if !result.caught() {
                let mut text =
                    format!("zoo bug {} is not caught by any test naming [{}]", result.name, result.invariant);
                if !result.other_failures.is_empty() {
                    text.push_str(&format!(" (it fails without naming it: {})", result.other_failures.join("; ")));
                }
                problems.push(text);
            }
            zoo_results.push(result);
        }
    }
    Ok(LabCheck {
        lab,
        reference,
        stub,
        zoo: zoo_results,
        problems,
        in_progress: false,
        duration_secs: started.elapsed().as_secs_f64(),
    })
}

/// A lab that was not built for a reason other than the compiler (the source policy refused
/// it, its files could not be read) says why in its notes and in its tests' messages.
fn why_not_built(report: &LabReport) -> String {
    let mut why: Vec<&str> =
        report.notes.iter().map(String::as_str).filter(|note| note.starts_with("refused")).collect();
    if let Some(test) = report.tests.first().filter(|test| test.status == TestStatus::Refused) {
        why.push(test.message.as_str());
    }
    if why.is_empty() { String::new() } else { format!("\n{}", why.join("\n")) }
}

/// Exports the handout (refusing leaks), builds every lab in it, and checks that the public
/// tests start red.
fn check_handout(grader: &Grader, build: bool) -> Result<HandoutCheck> {
    let started = Instant::now();
    let course = &grader.course;
    let mut check = HandoutCheck::default();
    let staging = tempfile::tempdir().map_err(GraderError::io("create", std::env::temp_dir()))?;
    let staged = staging.path().join("handout");
    match handout::export(course, &staged) {
        Ok(handout) => check.files = handout.files.len(),
        Err(GraderError::Leak(text)) => {
            check.problems.push(text);
            return Ok(check);
        }
        Err(error) => return Err(error),
    }
    if !build {
        check.duration_secs = started.elapsed().as_secs_f64();
        return Ok(check);
    }
    check.built = true;
    let scratch = grader.options.cargo.target_dir.join("selfcheck");
    let built = scratch.join("handout");
    mirror_tree(&staged, &built, &[Path::new("target")], u64::MAX)?;
    // A fresh target each time, as a student's first build is, laid over the grades'
    // dependency cache (see `fsutil::layer_over`): the registry crates the grades compiled
    // are found there, built with the same profile (the grading profile has no debug info,
    // hence the two settings below), so only the course's own crates are compiled again.
    let target = scratch.join("handout-target");
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(GraderError::io("remove", &target))?;
    }
    crate::fsutil::layer_over(&grader.options.cargo.target_dir.join("cache"), &target)?;
    for lab in course.labs()? {
        let package = format!("lab{lab}");
        let build = cargo_in(grader, &built, &target, &["test", "-p", &package, "--no-run"])?;
        if build.0 != Termination::Exited(0) {
            check.problems.push(format!("the handout's `cargo test -p {package} --no-run` fails:\n{}", build.1));
            continue;
        }
        if !grader.points.lab(lab).tests.iter().any(|test| test.visibility() == crate::points::Visibility::Visible) {
            // No public test yet: there is nothing to start red.
            continue;
        }
        let run = cargo_in(grader, &built, &target, &["test", "-p", &package, "--no-fail-fast"])?;
        let red = run.0 != Termination::Exited(0) && run.1.contains("test result: FAILED");
        if !red {
            check.problems.push(format!(
                "the handout's `cargo test -p {package}` does not fail as a fresh student expects:\n{}",
                run.1
            ));
        }
    }
    check.duration_secs = started.elapsed().as_secs_f64();
    Ok(check)
}

fn cargo_in(grader: &Grader, dir: &Path, target: &Path, args: &[&str]) -> Result<(Termination, String)> {
    let cargo = &grader.options.cargo;
    let mut command: Command = cargo.command();
    command.current_dir(dir).args(args).arg("--target-dir").arg(target);
    command.env("CARGO_PROFILE_DEV_DEBUG", "false").env("CARGO_PROFILE_TEST_DEBUG", "false");
    for knob in ["LAB_SEED", "PROPTEST_CASES", "RUST_TEST_THREADS"] {
        command.env_remove(knob);
    }
    let outcome = run_with_timeout(command, Duration::from_secs(1800), 16 << 10)?;
    Ok((outcome.termination, outcome.output.text))
}
