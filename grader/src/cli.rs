//! The command line: `grade`, `export-handout`, `selfcheck`.
//!
//! Exit codes: 0 when the command did its job (a grade of 0% is still a grade), 1 when the
//! selfcheck found a problem, 2 when the grader itself failed (bad arguments, a missing or
//! malformed course file, an I/O error).

use std::path::PathBuf;

use crate::course::{Course, LabNumber, parse_lab_name};
use crate::error::{GraderError, Result};
use crate::grade::{DepsMode, GradeOptions, Grader, Submission};
use crate::report::{Format, render};
use crate::selfcheck::{self, SelfcheckOptions};

pub const USAGE: &str = "\
usage:
  grader grade --submission DIR [--lab N|all] [--deps reference|submission]
               [--format text|json|gradescope|junit|markdown] [--out FILE]
  grader export-handout DIR
  grader selfcheck [--lab N] [--no-zoo] [--no-handout]

options for every command:
  --course DIR        the course repository (default: the one the grader was built in,
                      or $GRADER_COURSE)
  --target-dir DIR    where generated workspaces are built (default: <course>/target/grader)
options for grade and selfcheck:
  --jobs N            tests run in parallel (default 2)
  --output-limit N    bytes of output kept per test, head and tail (default 8192)

exit codes: 0 graded (whatever the score) or checked, 1 selfcheck failed,
            2 the grader itself failed (arguments, course files, I/O)";

/// The grader's exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    pub const SELFCHECK_FAILED: i32 = 1;
    pub const GRADER_FAILED: i32 = 2;
}

/// Runs the command line `args` (without the program name) and returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    crate::sandbox::install();
    match run(args) {
        Ok(code) => code,
        Err(GraderError::Usage(message)) => {
            eprintln!("error: {message}\n\n{USAGE}");
            exit::GRADER_FAILED
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::GRADER_FAILED
        }
    }
}

/// Options common to every command, parsed out of the argument list.
struct Common {
    course: Option<PathBuf>,
    target_dir: Option<PathBuf>,
    jobs: Option<usize>,
    output_limit: Option<usize>,
}

/// A small argument reader: `--flag value` pairs and positional arguments.
struct Args {
    items: std::collections::VecDeque<String>,
}

impl Args {
    fn value(&mut self, flag: &str) -> Result<String> {
        self.items
            .pop_front()
            .filter(|v| !v.starts_with("--"))
            .ok_or_else(|| GraderError::Usage(format!("{flag} needs a value")))
    }
}

fn run(args: Vec<String>) -> Result<i32> {
    let mut args = Args { items: args.into() };
    let Some(command) = args.items.pop_front() else { return Err(GraderError::Usage("no command given".into())) };
    if matches!(command.as_str(), "help" | "--help" | "-h") {
        println!("{USAGE}");
        return Ok(exit::OK);
    }
    let mut common = Common { course: None, target_dir: None, jobs: None, output_limit: None };
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    let mut positional = Vec::new();
    while let Some(item) = args.items.pop_front() {
        match item.as_str() {
            "--course" => common.course = Some(args.value(&item)?.into()),
            "--target-dir" => common.target_dir = Some(args.value(&item)?.into()),
            "--jobs" => common.jobs = Some(parse_number(&item, &args.value(&item)?)?),
            "--output-limit" => common.output_limit = Some(parse_number(&item, &args.value(&item)?)?),
            "--submission" | "--lab" | "--deps" | "--format" | "--out" => {
                let value = args.value(&item)?;
                flags.push((item, Some(value)));
            }
            "--no-zoo" | "--no-handout" => flags.push((item, None)),
            other if other.starts_with("--") => return Err(GraderError::Usage(format!("unknown option {other}"))),
            _ => positional.push(item),
        }
    }
    let flag = |name: &str| flags.iter().rev().find(|(flag, _)| flag == name).and_then(|(_, value)| value.clone());
    let has = |name: &str| flags.iter().any(|(flag, _)| flag == name);
    let course = match &common.course {
        Some(root) => Course::open(root.clone())?,
        None => Course::locate()?,
    };
    let mut options = GradeOptions::new(&course);
    if let Some(dir) = &common.target_dir {
        options.cargo.target_dir = absolute(dir)?;
    }
    if let Some(jobs) = common.jobs {
        options.workers = jobs.max(1);
    }
    if let Some(limit) = common.output_limit {
        options.output_limit = limit.max(256);
    }

    match command.as_str() {
        "grade" => {
            reject_extra(&positional)?;
            let submission_dir =
                flag("--submission").ok_or_else(|| GraderError::Usage("grade needs --submission DIR".into()))?;
            let submission_dir = absolute(&PathBuf::from(submission_dir))?;
            if !submission_dir.is_dir() {
                return Err(GraderError::Usage(format!(
                    "the submission {} is not a directory",
                    submission_dir.display()
                )));
            }
            options.deps = match flag("--deps").as_deref() {
                None | Some("reference") => DepsMode::Reference,
                Some("submission") => DepsMode::Submission,
                Some(other) => {
                    return Err(GraderError::Usage(format!("--deps {other}: expected reference or submission")));
                }
            };
            let format: Format = flag("--format").as_deref().unwrap_or("text").parse()?;
            let labs = select_labs(&course, flag("--lab").as_deref())?;
            options.progress = true;
            let grader = Grader::new(course, options)?;
            let report = grader.grade(&Submission::from_dir(submission_dir), &labs)?;
            let text = render(&report, format);
            match flag("--out") {
                Some(out) => {
                    std::fs::write(&out, text).map_err(GraderError::io("write", &out))?;
                    eprintln!(
                        "total: {}/{}; report written to {out}",
                        crate::report::points(report.score),
                        crate::report::points(report.max_score)
                    );
                }
                None => print!("{text}"),
            }
            Ok(exit::OK)
        }
        "export-handout" => {
            let [dest] = positional.as_slice() else {
                return Err(GraderError::Usage("export-handout needs exactly one DIR".into()));
            };
            let handout = crate::handout::export(&course, &absolute(&PathBuf::from(dest))?)?;
            eprintln!(
                "wrote the handout ({} files) to {dest}; no line of a solution or a hidden test is in it",
                handout.files.len()
            );
            Ok(exit::OK)
        }
        "selfcheck" => {
            reject_extra(&positional)?;
            let labs = match flag("--lab") {
                Some(lab) => Some(select_labs(&course, Some(&lab))?),
                None => None,
            };
            let check_options = SelfcheckOptions { labs, zoo: !has("--no-zoo"), handout: !has("--no-handout") };
            options.progress = true;
            let report = selfcheck::run(&course, options, &check_options)?;
            print!("{}", report.summary());
            Ok(if report.passed() { exit::OK } else { exit::SELFCHECK_FAILED })
        }
        other => Err(GraderError::Usage(format!("unknown command {other:?}"))),
    }
}

fn reject_extra(positional: &[String]) -> Result<()> {
    match positional.first() {
        Some(extra) => Err(GraderError::Usage(format!("unexpected argument {extra:?}"))),
        None => Ok(()),
    }
}

fn parse_number(flag: &str, value: &str) -> Result<usize> {
    value.parse().map_err(|_| GraderError::Usage(format!("{flag} {value}: expected a number")))
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
