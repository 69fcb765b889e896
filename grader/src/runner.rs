//! Running a lab's tests one process each.
//!
//! libtest's JSON output is nightly-only, so the grader asks a test executable for its tests
//! (`--list --format terse`), runs each with `--exact NAME --test-threads=1` in a process of its
//! own, and reads the exit status and libtest's summary line. A panic, a hang, an abort or a
//! `process::exit` in one test therefore costs only that test.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::time::Instant;

use crate::error::{GraderError, Result};
use crate::process::{Termination, run_with_timeout, signal_name};
use crate::sandbox::{
    Confinement, Limits, Mode, UidLease, confine, hand_over, hand_over_file, kill_user, namespaces_available,
    reap_orphans,
};

/// What happened to one test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    Passed,
    /// It panicked (an assertion or an invariant check failed).
    Failed,
    /// It ran past its time limit and was killed.
    TimedOut,
    /// A signal ended the process: an abort, a stack overflow, a segmentation fault.
    Crashed,
    /// The process exited before libtest could report (`process::exit`).
    Exited,
    /// The lab, or this test's target, did not compile.
    NotCompiled,
    /// `points.toml` lists it, but the test executable does not hold it.
    Missing,
    /// Not run: a bug-zoo check had already seen what it needed, or the lab's time budget
    /// was spent.
    NotRun,
    /// The grader refused the submission's code or files (see the lab's notes): not built.
    Refused,
}

impl TestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Passed => "passed",
            TestStatus::Failed => "failed",
            TestStatus::TimedOut => "timed out",
            TestStatus::Crashed => "crashed",
            TestStatus::Exited => "exited",
            TestStatus::NotCompiled => "did not compile",
            TestStatus::Missing => "missing",
            TestStatus::NotRun => "not run",
            TestStatus::Refused => "refused",
        }
    }
}

/// The result of running one test.
#[derive(Clone, Debug)]
pub struct TestRun {
    pub status: TestStatus,
    /// One paragraph for a report: the panic message, or what ended the process.
    pub message: String,
    /// Everything the process printed, cut to the limit.
    pub output: String,
    pub duration: Duration,
    /// The crash trace a failed crash check left (see [`read_crash_trace`]), as the grader
    /// parsed it.
    pub trace: Option<serde_json::Value>,
}

/// The most bytes of a crash trace the grader reads: the kit's bound
/// (`distributed::crash_trace::MAX_BYTES`).
pub const TRACE_CAP: u64 = 512 * 1024;

/// The crash trace the test `test` left in its private directory `place`, if any, read as
/// hostile input: the test ran the submission's code in the same process that wrote it, so
/// the file may be anything. The directory must be a real directory of the place (not a
/// link), the file a regular file opened without following links, at most [`TRACE_CAP`]
/// bytes, and a JSON object of the kit's format and version; reports then carry the grader's
/// own serialization of what it parsed, never the file's bytes. Reports show it as text, and
/// the book's viewer shows every string of it as text.
pub fn read_crash_trace(place: &Path, test: &str) -> Option<serde_json::Value> {
    let dir = place.join(TRACE_DIR);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    if !meta.file_type().is_dir() {
        return None;
    }
    let bytes = crate::submission::read_capped(&dir.join(trace_file_name(test)), TRACE_CAP).ok()?;
    let trace: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let known = trace.get("format").and_then(|f| f.as_str()) == Some("durable-storage-crash-trace")
        && trace.get("version").and_then(|v| v.as_u64()) == Some(1);
    known.then_some(trace)
}

/// The name the kit gives the trace of `test` (`distributed::crash_trace::file_name`; a test
/// checks that the two agree).
fn trace_file_name(test: &str) -> String {
    let stem: String = test
        .replace("::", "__")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(150)
        .collect();
    let stem = if stem.is_empty() { "explore".to_string() } else { stem };
    format!("{stem}.json")
}

/// The directory of a test's private place where it writes its crash trace (`LAB_TRACE_DIR`).
const TRACE_DIR: &str = "crash-traces";

/// One test to run.
#[derive(Clone, Debug)]
pub struct TestJob {
    pub executable: PathBuf,
    pub name: String,
    pub timeout: Duration,
}

/// How test processes are started.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Isolated (an unprivileged uid per worker) or the grader's own user.
    pub mode: Mode,
    pub limits: Limits,
    /// Where each test's private temporary directory is made.
    pub scratch: PathBuf,
    /// When the lab's time budget is spent: tests not started by then are not run, and a
    /// running test's limit never goes past it.
    pub deadline: Option<Instant>,
    /// The working directory and `CARGO_MANIFEST_DIR` of the tests (the package directory,
    /// as under `cargo test`).
    pub package_dir: PathBuf,
    /// Parallel test processes.
    pub workers: usize,
    /// The most output kept per test.
    pub output_limit: usize,
}

/// A test executable's tests, as `--list --format terse` prints them.
///
/// The executable was built from the student's code, so a failure here is the submission's
/// doing: it comes back as `Err(message)` for the report, never as a grader error.
pub fn list_tests(executable: &Path, options: &RunOptions) -> Result<Result<Vec<String>, String>> {
    let place = TestPlace::new(options)?;
    let mut command = test_command(executable, options, &place);
    command.args(["--list", "--format", "terse"]);
    confine(
        &mut command,
        &Confinement {
            limits: options.limits,
            uid: place.uid,
            inherited_fds: Vec::new(),
            namespaces: place.uid.is_some() && namespaces_available(),
            keep_visible: vec![executable.to_path_buf(), options.scratch.clone(), options.package_dir.clone()],
        },
    );
    let outcome = run_with_timeout(command, Duration::from_secs(60), 1 << 20);
    place.clean_up();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => return Ok(Err(format!("the test executable could not be started: {error}"))),
    };
    if outcome.termination != Termination::Exited(0) {
        return Ok(Err(format!(
            "listing its tests failed ({:?}):\n{}",
            outcome.termination,
            crate::process::cut_text(&outcome.output.text, 2048)
        )));
    }
    Ok(Ok(outcome.output.text.lines().filter_map(|line| line.strip_suffix(": test")).map(str::to_string).collect()))
}

/// One test's private place: its temporary directory, and the uid it runs as.
struct TestPlace {
    dir: Option<tempfile::TempDir>,
    uid: Option<u32>,
    lease: Option<UidLease>,
}

impl TestPlace {
    fn new(options: &RunOptions) -> Result<TestPlace> {
        std::fs::create_dir_all(&options.scratch).map_err(GraderError::io("create", &options.scratch))?;
        let dir = tempfile::tempdir_in(&options.scratch)
            .map_err(GraderError::io("create a directory in", &options.scratch))?;
        let lease = match options.mode {
            Mode::Isolated => {
                let lease = UidLease::take().map_err(GraderError::io("lease a uid in", "/run/grader-uids"))?;
                // Whatever an earlier grader left running as this uid goes first.
                kill_user(lease.uid);
                hand_over(dir.path(), lease.uid).map_err(GraderError::io("hand over", dir.path()))?;
                Some(lease)
            }
            Mode::SameUser => None,
        };
        Ok(TestPlace { dir: Some(dir), uid: lease.as_ref().map(|lease| lease.uid), lease })
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().map(|dir| dir.path()).unwrap_or(Path::new("/nonexistent"))
    }

    /// Kills whatever the test left running, then removes its directory.
    fn clean_up(mut self) {
        if let Some(uid) = self.uid {
            kill_user(uid);
        }
        reap_orphans();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
        self.lease.take();
    }
}

/// Runs `jobs` on `options.workers` threads, one process per test. After each run `stop` is
/// asked whether the remaining tests are still needed; those not started then are `NotRun`.
pub fn run_tests(
    jobs: &[TestJob],
    options: &RunOptions,
    stop: &(dyn Fn(&TestRun) -> bool + Sync),
) -> Result<Vec<TestRun>> {
    let queue = Mutex::new(jobs.iter().enumerate().collect::<VecDeque<_>>());
    let results: Mutex<Vec<Option<TestRun>>> = Mutex::new(vec![None; jobs.len()]);
    let first_error: Mutex<Option<GraderError>> = Mutex::new(None);
    let stopped = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..options.workers.max(1) {
            let queue = &queue;
            let results = &results;
            let first_error = &first_error;
            let stopped = &stopped;
            scope.spawn(move || {
                loop {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let Some((index, job)) = lock(queue).pop_front() else { break };
                    if options.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                        lock(results)[index] = Some(TestRun {
                            status: TestStatus::NotRun,
                            message: "not run: the lab's time budget was spent before this test could start".into(),
                            output: String::new(),
                            duration: Duration::ZERO,
                            trace: None,
                        });
                        continue;
                    }
                    match run_one(job, options) {
                        Ok(run) => {
                            if stop(&run) {
                                stopped.store(true, Ordering::SeqCst);
                            }
                            lock(results)[index] = Some(run);
                        }
                        Err(error) => {
                            lock(first_error).get_or_insert(error);
                            stopped.store(true, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
    });
    if let Some(error) = first_error.into_inner().unwrap_or_else(|poison| poison.into_inner()) {
        return Err(error);
    }
    let results = results.into_inner().unwrap_or_else(|poison| poison.into_inner());
    Ok(results
        .into_iter()
        .map(|run| {
            run.unwrap_or_else(|| TestRun {
                status: TestStatus::NotRun,
                message: "not run: the check already had its answer".into(),
                output: String::new(),
                duration: Duration::ZERO,
                trace: None,
            })
        })
        .collect())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A test process with the environment `cargo test` would give it, minus the knobs that
/// change which cases run: a grade uses the course's fixed seeds.
fn test_command(executable: &Path, options: &RunOptions, place: &TestPlace) -> Command {
    let mut command = Command::new(executable);
    command
        .current_dir(&options.package_dir)
        .env("CARGO_MANIFEST_DIR", &options.package_dir)
        .env("RUST_BACKTRACE", "0")
        .env("HOME", place.path())
        .env("TMPDIR", place.path())
        .env("LAB_TRACE_DIR", place.path().join(TRACE_DIR));
    for knob in [
        "LAB_SEED",
        "PROPTEST_CASES",
        "PROPTEST_RNG_SEED",
        "PROPTEST_MAX_SHRINK_ITERS",
        "RUST_TEST_THREADS",
        "RUST_TEST_NOCAPTURE",
    ] {
        command.env_remove(knob);
    }
    command
}

fn run_one(job: &TestJob, options: &RunOptions) -> Result<TestRun> {
    let place = TestPlace::new(options)?;
    // The harness's secret (descriptor 3) and where it is handed back (descriptor 4): see
    // `crate::harness`.
    let secret = crate::sandbox::secret().map_err(GraderError::io("read", "/dev/urandom"))?;
    let scratch = &options.scratch;
    let mut secret_file = tempfile::tempfile_in(scratch).map_err(GraderError::io("create a file in", scratch))?;
    let mut result_file = tempfile::tempfile_in(scratch).map_err(GraderError::io("create a file in", scratch))?;
    secret_file.write_all(&secret).map_err(GraderError::io("write", scratch))?;
    if let Some(uid) = place.uid {
        for file in [&secret_file, &result_file] {
            hand_over_file(file, uid).map_err(GraderError::io("hand over a file in", scratch))?;
        }
    }
    let mut command = test_command(&job.executable, options, &place);
    command.args(["--exact", &job.name, "--test-threads=1"]);
    confine(
        &mut command,
        &Confinement {
            limits: options.limits,
            uid: place.uid,
            inherited_fds: vec![secret_file.as_raw_fd(), result_file.as_raw_fd()],
            namespaces: place.uid.is_some() && namespaces_available(),
            keep_visible: vec![job.executable.clone(), options.scratch.clone(), options.package_dir.clone()],
        },
    );
    let timeout = match options.deadline {
        Some(deadline) => {
            job.timeout.min(deadline.saturating_duration_since(Instant::now())).max(Duration::from_secs(1))
        }
        None => job.timeout,
    };
    let outcome = run_with_timeout(command, timeout, options.output_limit);
    // Only a failed test that made its trace directory can have left a trace (a stub's
    // `todo!()` never does), so most failures cost no extra kill.
    let trace_dir_made = place.path().join(TRACE_DIR).symlink_metadata().is_ok();
    let trace = match &outcome {
        Ok(outcome) if outcome.termination != Termination::Exited(0) && trace_dir_made => {
            // Nothing of the test may still run while its trace is read.
            if let Some(uid) = place.uid {
                kill_user(uid);
            }
            read_crash_trace(place.path(), &job.name)
        }
        _ => None,
    };
    place.clean_up();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        // The executable was built from the submission: that it cannot run is its failure.
        Err(error) => {
            return Ok(TestRun {
                status: TestStatus::Failed,
                message: format!("failed: the test process could not be started: {error}"),
                output: String::new(),
                duration: Duration::ZERO,
                trace: None,
            });
        }
    };
    let mut handed_back = Vec::new();
    result_file.seek(SeekFrom::Start(0)).map_err(GraderError::io("read", scratch))?;
    (&mut result_file).take(4096).read_to_end(&mut handed_back).map_err(GraderError::io("read", scratch))?;
    let finished = handed_back.windows(secret.len()).any(|window| window == secret.as_slice());
    let output = outcome.output.text;
    let (mut status, mut message) = classify(&job.name, outcome.termination, &output, timeout);
    if status == TestStatus::Passed && !finished {
        status = TestStatus::Failed;
        message = "failed: the process reported a pass, but the course's harness never saw the test body finish \
                   (a forged pass: the code printed libtest's lines or ended the process early)"
            .into();
    }
    let trace = trace.filter(|_| status != TestStatus::Passed);
    Ok(TestRun { status, message, output, duration: outcome.duration, trace })
}

/// Reads a test's fate from how its process ended and what libtest printed.
pub fn classify(name: &str, termination: Termination, output: &str, timeout: Duration) -> (TestStatus, String) {
    let summary = output.lines().rev().find_map(|line| line.strip_prefix("test result: "));
    match termination {
        Termination::TimedOut => (
            TestStatus::TimedOut,
            format!(
                "timed out: the test did not finish within {} s and was stopped (a deadlock, or a loop that never ends?)",
                timeout.as_secs()
            ),
        ),
        Termination::Signaled(signal) => {
            let mut message = format!("crashed: the test process was killed by {}", signal_name(signal));
            if let Some(line) = output.lines().find(|line| line.contains("has overflowed its stack")) {
                message.push_str(&format!(" — {}", line.trim()));
            } else if signal == 6 {
                message.push_str(" (process::abort, a panic while panicking, or a failed allocation)");
            }
            (TestStatus::Crashed, message)
        }
        Termination::Exited(code) => match summary {
            Some(summary) if code == 0 && summary.starts_with("ok. 1 passed") => (TestStatus::Passed, "passed".into()),
            Some(summary) if summary.contains(" 1 ignored") => {
                (TestStatus::Failed, "failed: the test is marked #[ignore], so it did not run".into())
            }
            Some(summary) if code == 0 && summary.starts_with("ok. 0 passed") => {
                (TestStatus::Missing, format!("missing: the test executable has no test named {name}"))
            }
            Some(_) => (TestStatus::Failed, panic_message(output)),
            None => (
                TestStatus::Exited,
                format!("exited: the test process exited with code {code} before the test finished (process::exit?)"),
            ),
        },
    }
}

/// The panic message libtest printed for a failed test: the lines after `panicked at …:`.
/// Course tests start it with the invariant in brackets and end it with a `replay:` line.
pub fn panic_message(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let Some(start) = lines.iter().position(|line| line.contains(" panicked at ")) else {
        return "failed (see the output)".into();
    };
    let mut message: Vec<&str> = Vec::new();
    for line in &lines[start + 1..] {
        if line.starts_with("note: run with `RUST_BACKTRACE")
            || line.starts_with("stack backtrace:")
            || line.starts_with("---- ")
            || *line == "failures:"
        {
            break;
        }
        message.push(line);
    }
    while message.last().is_some_and(|line| line.trim().is_empty()) {
        message.pop();
    }
    if message.is_empty() { lines[start].trim().to_string() } else { message.join("\n") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILED: &str = "\nrunning 1 test\ntest wal::appends ... FAILED\n\nfailures:\n\n---- wal::appends stdout ----\nstudent print\n\nthread 'wal::appends' (4242) panicked at tests/public.rs:10:5:\n[durability] entry 7 lost after a crash\n  replay: LAB_SEED=0x2a cargo test -p lab1 --test public -- --exact wal::appends\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    wal::appends\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 12 filtered out; finished in 0.01s\n\n";

    #[test]
    fn a_failure_yields_its_panic_message() {
        let (status, message) = classify("wal::appends", Termination::Exited(101), FAILED, Duration::from_secs(1));
        assert_eq!(status, TestStatus::Failed);
        assert_eq!(
            message,
            "[durability] entry 7 lost after a crash\n  replay: LAB_SEED=0x2a cargo test -p lab1 --test public -- --exact wal::appends"
        );
    }

    #[test]
    fn the_trace_file_name_is_the_kits() {
        for test in ["crash::every_point", "a b/../c", "", "x::y::z-1"] {
            assert_eq!(trace_file_name(test), distributed::crash_trace::file_name(test));
        }
        assert_eq!(TRACE_CAP, distributed::crash_trace::MAX_BYTES as u64);
    }

    #[test]
    fn a_crash_trace_is_read_only_from_a_real_file_of_the_right_format() {
        let place = tempfile::tempdir().unwrap();
        let test = "crash::every_point";
        assert_eq!(read_crash_trace(place.path(), test), None, "no directory, no trace");
        let dir = place.path().join(TRACE_DIR);
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join(trace_file_name(test));
        std::fs::write(&file, r#"{"format":"durable-storage-crash-trace","version":1,"test":"<b>x</b>"}"#).unwrap();
        let read = read_crash_trace(place.path(), test).expect("a trace of the kit's format");
        assert_eq!(read["test"], "<b>x</b>", "kept as data: {read}");
        std::fs::write(&file, r#"{"format":"durable-storage-crash-trace","version":2}"#).unwrap();
        assert_eq!(read_crash_trace(place.path(), test), None, "another version");
        std::fs::write(&file, "not json").unwrap();
        assert_eq!(read_crash_trace(place.path(), test), None);
        std::fs::write(&file, vec![b' '; TRACE_CAP as usize + 1]).unwrap();
        assert_eq!(read_crash_trace(place.path(), test), None, "too big");
        std::fs::remove_file(&file).unwrap();
        let elsewhere = place.path().join("secret.json");
        std::fs::write(&elsewhere, r#"{"format":"durable-storage-crash-trace","version":1}"#).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        assert_eq!(read_crash_trace(place.path(), test), None, "a link is not followed");
        std::fs::remove_file(&file).unwrap();
        std::fs::remove_dir(&dir).unwrap();
        std::fs::create_dir(place.path().join("real")).unwrap();
        std::fs::copy(&elsewhere, place.path().join("real").join(trace_file_name(test))).unwrap();
        std::os::unix::fs::symlink(place.path().join("real"), &dir).unwrap();
        assert_eq!(read_crash_trace(place.path(), test), None, "a linked directory is not followed");
    }

    #[test]
    fn each_way_of_ending_is_told_apart() {
        let ok = "running 1 test\ntest a ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out\n";
        let none = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 4 filtered out\n";
        let second = Duration::from_secs(1);
        assert_eq!(classify("a", Termination::Exited(0), ok, second).0, TestStatus::Passed);
        assert_eq!(classify("a", Termination::Exited(0), none, second).0, TestStatus::Missing);
        assert_eq!(classify("a", Termination::Exited(0), "running 1 test\n", second).0, TestStatus::Exited);
        assert_eq!(classify("a", Termination::Exited(3), "running 1 test\n", second).0, TestStatus::Exited);
        assert_eq!(classify("a", Termination::Signaled(6), "", second).0, TestStatus::Crashed);
        assert_eq!(classify("a", Termination::TimedOut, "", second).0, TestStatus::TimedOut);
        // A forged summary does not pass a process that failed.
        assert_eq!(classify("a", Termination::Exited(101), ok, second).0, TestStatus::Failed);
    }
}
