//! The command line (clap): `grade`, `export-handout`, `selfcheck`; `--help` and `--version`
//! on each, flags that belong to one command only, and a suggestion for a mistyped one.
//!
//! Exit codes: 0 when the command did its job (a grade of 0% is still a grade), 1 when the
//! selfcheck found a problem, 2 when the grader itself failed (bad arguments, a missing or
//! malformed course file, an I/O error).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::course::{Course, LabNumber, parse_lab_name};
use crate::error::{GraderError, Result};
use crate::grade::{DepsMode, GradeOptions, Grader, Submission};
use crate::report::{Format, render};
use crate::selfcheck::{self, SelfcheckOptions};

/// The grader's command line.
#[derive(Debug, Parser)]
#[command(
    name = "grader",
    version,
    about = "Grades course submissions, exports the student handout, and checks the course itself",
    after_help = "Exit codes: 0 graded (whatever the score) or checked, 1 selfcheck failed,\n            2 the grader itself failed (arguments, course files, I/O)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the course is and where its builds go.
#[derive(Debug, Args)]
struct CourseArgs {
    /// The course repository (default: the one the grader was built in, or $GRADER_COURSE).
    #[arg(long, value_name = "DIR")]
    course: Option<PathBuf>,
    /// Where generated workspaces, the dependency cache and each grade's build go
    /// (default: <course>/target/grader).
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
}

/// How tests run.
#[derive(Debug, Args)]
struct RunArgs {
    /// Tests run in parallel.
    #[arg(long, default_value_t = 2, value_name = "N")]
    jobs: usize,
    /// Bytes of output kept per test, head and tail.
    #[arg(long, default_value_t = 8192, value_name = "BYTES")]
    output_limit: usize,
    /// The most one lab's tests may take together, in seconds (a lab's `budget_secs` in
    /// points.toml wins).
    #[arg(long, value_name = "SECONDS")]
    lab_budget: Option<u64>,
    /// The most one build of a submission may take, in seconds.
    #[arg(long, value_name = "SECONDS")]
    build_timeout: Option<u64>,
    /// Turn the source policy off, to prove the other layers on their own (never to grade).
    #[arg(long)]
    no_source_policy: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Grade a submission (a repository laid out like the handout).
    Grade {
        /// The student's repository.
        #[arg(long, value_name = "DIR")]
        submission: PathBuf,
        /// The lab to grade: N, labN or all.
        #[arg(long, default_value = "all", value_name = "N|all")]
        lab: String,
        /// Where earlier labs come from.
        #[arg(long, default_value = "reference", value_parser = ["reference", "submission"])]
        deps: String,
        /// The report's format.
        #[arg(long, default_value = "text", value_parser = ["text", "json", "gradescope", "junit", "markdown", "md"])]
        format: String,
        /// Write the report to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        course: CourseArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Export the student handout (no solution, no hidden test, no instructors' chapter).
    ExportHandout {
        /// An absent or empty directory.
        dir: PathBuf,
        /// The released labs only (a staged release), such as 1-3 or 1,2,4.
        #[arg(long, value_name = "LABS")]
        labs: Option<String>,
        #[command(flatten)]
        course: CourseArgs,
    },
    /// Export what a grading machine needs to grade one lab: no reference of that lab or later
    ExportBundle {
        /// An absent or empty directory.
        dir: PathBuf,
        /// The lab the bundle grades: N or labN.
        #[arg(long, value_name = "N")]
        lab: String,
        #[command(flatten)]
        course: CourseArgs,
    },
    /// Write the workspace the grader builds to grade one lab, with the reference (or the
    /// stub) as the graded code and the hidden suite in place: where an instructor runs
    /// cargo-mutants on a reference, or reruns one graded test by hand.
    ExportWorkspace {
        /// An absent or empty directory.
        dir: PathBuf,
        /// The lab: N or labN.
        #[arg(long, value_name = "N")]
        lab: String,
        /// Grade the stub's code instead of the reference's.
        #[arg(long)]
        stub: bool,
        #[command(flatten)]
        course: CourseArgs,
    },
    /// Check that the course grades what it claims to: references 100%, stubs 0, zoo caught.
    Selfcheck {
        /// Check one lab only.
        #[arg(long, value_name = "N")]
        lab: Option<String>,
        /// Skip the bug zoo.
        #[arg(long)]
        no_zoo: bool,
        /// Skip the handout's export and build.
        #[arg(long)]
        no_handout: bool,
        /// Export the handout and check it for leaks, but do not build it.
        #[arg(long, conflicts_with = "no_handout")]
        no_handout_build: bool,
        #[command(flatten)]
        course: CourseArgs,
        #[command(flatten)]
        run: RunArgs,
    },
}

/// The grader's exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    pub const SELFCHECK_FAILED: i32 = 1;
    pub const GRADER_FAILED: i32 = 2;
}

/// Runs the command line `args` (without the program name) and returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    crate::sandbox::install();
    let cli = match Cli::try_parse_from(std::iter::once("grader".to_string()).chain(args)) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { exit::GRADER_FAILED } else { exit::OK };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            exit::GRADER_FAILED
        }
    }
}

fn open_course(args: &CourseArgs) -> Result<Course> {
    match &args.course {
        Some(root) => Course::open(root.clone()),
        None => Course::locate(),
    }
}

fn grade_options(course: &Course, args: &CourseArgs, run: &RunArgs) -> Result<GradeOptions> {
    let mut options = GradeOptions::new(course);
    if let Some(dir) = &args.target_dir {
        options.cargo.target_dir = absolute(dir)?;
    }
    options.workers = run.jobs.max(1);
    options.output_limit = run.output_limit.max(256);
    if let Some(budget) = run.lab_budget {
        options.lab_budget = std::time::Duration::from_secs(budget.max(1));
    }
    if let Some(timeout) = run.build_timeout {
        options.cargo.build_timeout = std::time::Duration::from_secs(timeout.max(1));
    }
    options.source_policy = !run.no_source_policy;
    options.progress = true;
    Ok(options)
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Grade { submission, lab, deps, format, out, course: course_args, run } => {
            let course = open_course(&course_args)?;
            let mut options = grade_options(&course, &course_args, &run)?;
            let submission_dir = absolute(&submission)?;
            if !submission_dir.is_dir() {
                return Err(GraderError::Usage(format!(
                    "the submission {} is not a directory",
                    submission_dir.display()
                )));
            }
            options.deps = if deps == "submission" { DepsMode::Submission } else { DepsMode::Reference };
            let format: Format = format.parse()?;
            let labs = select_labs(&course, Some(&lab))?;
            let grader = Grader::new(course, options)?;
            let report = grader.grade(&Submission::from_dir(submission_dir), &labs)?;
            let text = render(&report, format);
            match out {
                Some(out) => {
                    std::fs::write(&out, text).map_err(GraderError::io("write", &out))?;
                    eprintln!(
                        "total: {}/{}; report written to {}",
                        crate::report::points(report.score),
                        crate::report::points(report.max_score),
                        out.display()
                    );
                }
                None => print!("{text}"),
            }
            Ok(exit::OK)
        }
        Command::ExportHandout { dir, labs, course: course_args } => {
            let course = open_course(&course_args)?;
            let released = match &labs {
                Some(text) => Some(parse_lab_list(&course, text)?),
                None => None,
            };
            let handout = crate::handout::export_released(&course, &absolute(&dir)?, released.as_deref())?;
            eprintln!(
                "wrote the handout ({} files) to {}; no line of a solution or a hidden test is in it",
                handout.files.len(),
                dir.display()
            );
            Ok(exit::OK)
        }
        Command::ExportBundle { dir, lab, course: course_args } => {
            let course = open_course(&course_args)?;
            let [lab] = select_labs(&course, Some(&lab))?[..] else {
                return Err(GraderError::Usage("--lab names one lab".into()));
            };
            let bundle = crate::bundle::export(&course, lab, &absolute(&dir)?)?;
            eprintln!(
                "wrote the grading bundle of lab{lab} ({} files) to {}: no reference of lab{lab} or later, no other lab's hidden suite",
                bundle.files.len(),
                dir.display()
            );
            Ok(exit::OK)
        }
        Command::ExportWorkspace { dir, lab, stub, course: course_args } => {
            let course = open_course(&course_args)?;
            let [lab] = select_labs(&course, Some(&lab))?[..] else {
                return Err(GraderError::Usage("--lab names one lab".into()));
            };
            let workspace = crate::workspace::export(&course, lab, !stub, &absolute(&dir)?)?;
            eprintln!(
                "wrote the grading workspace of lab{lab} ({} as the graded code, test targets {}) to {}",
                if stub { "the stub" } else { "the reference" },
                workspace.test_targets.join(", "),
                dir.display()
            );
            Ok(exit::OK)
        }
        Command::Selfcheck { lab, no_zoo, no_handout, no_handout_build, course: course_args, run } => {
            let course = open_course(&course_args)?;
            let options = grade_options(&course, &course_args, &run)?;
            let labs = match lab {
                Some(lab) => Some(select_labs(&course, Some(&lab))?),
                None => None,
            };
            let check_options =
                SelfcheckOptions { labs, zoo: !no_zoo, handout: !no_handout, handout_build: !no_handout_build };
            let report = selfcheck::run(&course, options, &check_options)?;
            print!("{}", report.summary());
            Ok(if report.passed() { exit::OK } else { exit::SELFCHECK_FAILED })
        }
    }
}

/// `1-3`, `1,2,4`, `lab1-lab3`: the labs meant, each of which must exist.
fn parse_lab_list(course: &Course, text: &str) -> Result<Vec<LabNumber>> {
    let known = course.labs()?;
    let number = |piece: &str| -> Result<LabNumber> {
        let piece = piece.trim();
        piece
            .parse()
            .ok()
            .or_else(|| parse_lab_name(piece))
            .filter(|lab| known.contains(lab))
            .ok_or_else(|| GraderError::Usage(format!("--labs {text}: {piece:?} is not a lab of this course")))
    };
    let mut labs = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (number(first)?, number(last)?);
                labs.extend(known.iter().copied().filter(|lab| (first..=last).contains(lab)));
            }
            None => labs.push(number(part)?),
        }
    }
    labs.sort_unstable();
    labs.dedup();
    Ok(labs)
}

fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(GraderError::io("resolve", path))
}

/// `--lab N`, `--lab labN` or `--lab all` (the default): the gradable labs meant.
fn select_labs(course: &Course, lab: Option<&str>) -> Result<Vec<LabNumber>> {
    let gradable = course.gradable_labs()?;
    match lab {
        None | Some("all") => {
            // Labs still being written (no graded test yet) would only add 0/0 lines.
            let points = crate::points::PointsTable::load(&course.points_file())?;
            let gradable: Vec<LabNumber> =
                gradable.into_iter().filter(|&lab| !points.lab(lab).tests.is_empty()).collect();
            if gradable.is_empty() {
                return Err(GraderError::Usage(
                    "the course has no gradable lab yet (a stub, a solution and a hidden suite)".into(),
                ));
            }
            Ok(gradable)
        }
        Some(text) => {
            let number = text.parse().ok().or_else(|| parse_lab_name(text));
            match number {
                Some(number) if gradable.contains(&number) => Ok(vec![number]),
                _ => Err(GraderError::Usage(format!(
                    "--lab {text}: not a gradable lab (gradable: {})",
                    gradable.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
                ))),
            }
        }
    }
}
