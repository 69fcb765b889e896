//! Grading a submission: one generated workspace, one build and one process per test, per lab.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::compile::{CargoOptions, Phase, build};
use crate::course::HIDDEN_SUITE;
use crate::course::{Course, LabNumber};
use crate::error::GraderError;
use crate::error::Result;
use crate::points::{LabPoints, PointsTable, TestSpec, Visibility};
use crate::policy::{self, Policy, SourceSet};
use crate::process::cut_text;
use crate::runner::{RunOptions, TestJob, TestRun, TestStatus, list_tests, run_tests};
use crate::sandbox::{Limits, Mode};
use crate::submission::{Files, Refusal, check_directories, read_tree};
use crate::workspace::{LabSource, WorkspaceRequest, generate};

/// Where a lab's earlier labs come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepsMode {
    /// The reference solutions: a bug in lab 1 costs no points in lab 4.
    Reference,
    /// The student's own earlier labs.
    Submission,
}

impl DepsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DepsMode::Reference => "reference",
            DepsMode::Submission => "submission",
        }
    }
}

/// What is graded: a directory laid out like the student repository, or explicit `src/`
/// directories (the reference, the stubs, bug-zoo variants).
#[derive(Clone, Debug)]
pub struct Submission {
    /// How reports name it.
    pub label: String,
    /// The repository root, when there is one; its `labs/labN/tests` and `Cargo.toml` are
    /// compared with the course's so a report can say that they were ignored.
    pub root: Option<PathBuf>,
    sources: BTreeMap<LabNumber, PathBuf>,
}

impl Submission {
    /// A student repository: lab N's code is `DIR/labs/labN/src`.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Submission {
        let dir = dir.into();
        Submission { label: dir.display().to_string(), root: Some(dir), sources: BTreeMap::new() }
    }

    /// Explicit `src/` directories, one per lab.
    pub fn from_sources(label: impl Into<String>, sources: BTreeMap<LabNumber, PathBuf>) -> Submission {
        Submission { label: label.into(), root: None, sources }
    }

    /// The `src/` directory of `lab`.
    pub fn src(&self, lab: LabNumber) -> PathBuf {
        match (&self.root, self.sources.get(&lab)) {
            (_, Some(src)) => src.clone(),
            (Some(root), None) => root.join("labs").join(format!("lab{lab}")).join("src"),
            (None, None) => PathBuf::from(format!("<no source for lab {lab}>")),
        }
    }
}

/// How to grade.
#[derive(Clone, Debug)]
pub struct GradeOptions {
    pub cargo: CargoOptions,
    pub deps: DepsMode,
    /// Parallel test processes.
    pub workers: usize,
    /// The most output kept per test (head and tail).
    pub output_limit: usize,
    /// Print progress to stderr (one line per lab).
    pub progress: bool,
    /// Check the code against the source policy before building it (on unless the self-check
    /// proves the other layers on their own).
    pub source_policy: bool,
    /// How test processes are confined ([`Mode::detect`] by default).
    pub mode: Mode,
    pub limits: Limits,
    /// The most a lab's tests may take together (a lab's `budget_secs` in points.toml wins).
    pub lab_budget: Duration,
}

impl GradeOptions {
    pub fn new(course: &Course) -> GradeOptions {
        GradeOptions {
            cargo: CargoOptions {
                toolchain: course.pinned_toolchain(),
                ..CargoOptions::new(course.default_target_dir())
            },
            deps: DepsMode::Reference,
            workers: 2,
            output_limit: 8 << 10,
            progress: false,
            source_policy: true,
            mode: Mode::detect(),
            limits: Limits::default(),
            lab_budget: Duration::from_secs(DEFAULT_LAB_BUDGET_SECS),
        }
    }
}

/// The time limit of building a lab's dependency cache from the reference.
const CACHE_BUILD_TIMEOUT_SECS: u64 = 3600;

/// The default time budget of a lab's whole test run.
pub const DEFAULT_LAB_BUDGET_SECS: u64 = 900;

/// One grade's own target directory, removed when dropped.
struct GradeTarget {
    path: PathBuf,
}

impl GradeTarget {
    fn new(target_dir: &Path, cache: &Path) -> Result<GradeTarget> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let number = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = target_dir.join("grades").join(format!("{}-{number}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(GraderError::io("remove", &path))?;
        }
        crate::fsutil::layer_over(cache, &path)?;
        Ok(GradeTarget { path })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for GradeTarget {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// One test's result in a report.
#[derive(Clone, Debug, Serialize)]
pub struct TestReport {
    pub lab: LabNumber,
    pub suite: String,
    pub name: String,
    pub invariant: String,
    pub visibility: Visibility,
    pub score: f64,
    pub max_score: f64,
    pub status: TestStatus,
    /// The panic message, or what ended the process.
    pub message: String,
    /// What the test printed, cut to the limit.
    pub output: String,
    pub duration_secs: f64,
    /// The crash trace of a failed visible test (the kit's JSON format, which the book's trace
    /// viewer opens); never one of a hidden test, whose workload the student does not see.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_trace: Option<serde_json::Value>,
}

impl TestReport {
    /// `lab1 / public / appends_then_reads`.
    pub fn full_name(&self) -> String {
        format!("lab{} / {} / {}", self.lab, self.suite, self.name)
    }
}

/// One lab's results.
#[derive(Clone, Debug, Serialize)]
pub struct LabReport {
    pub lab: LabNumber,
    pub title: Option<String>,
    pub score: f64,
    pub max_score: f64,
    /// Whether the lab's library compiled.
    pub compiled: bool,
    /// The compiler's errors (cut), when something did not compile.
    pub compile_errors: String,
    /// What the grader noticed and did about it (ignored test edits, skipped links, …).
    pub notes: Vec<String>,
    pub tests: Vec<TestReport>,
    /// Tests that exist in a test executable but not in `points.toml` (not run, no points).
    pub ungraded_tests: Vec<String>,
    pub build_secs: f64,
    pub duration_secs: f64,
}

/// A whole grade.
#[derive(Clone, Debug, Serialize)]
pub struct GradeReport {
    pub submission: String,
    pub deps: DepsMode,
    pub score: f64,
    pub max_score: f64,
    pub labs: Vec<LabReport>,
    pub duration_secs: f64,
    pub grader_version: String,
}

impl GradeReport {
    pub fn tests(&self) -> impl Iterator<Item = &TestReport> {
        self.labs.iter().flat_map(|lab| lab.tests.iter())
    }
}

/// Grades submissions against one course.
pub struct Grader {
    pub course: Course,
    pub points: PointsTable,
    pub policy: Policy,
    pub options: GradeOptions,
    /// Labs whose dependency cache this grader has built.
    prepared: std::sync::Mutex<BTreeSet<LabNumber>>,
}

impl Grader {
    pub fn new(course: Course, options: GradeOptions) -> Result<Grader> {
        let points = PointsTable::load(&course.points_file())?;
        let mut policy = policy::load(&course.policy_file())?;
        policy.enabled = options.source_policy;
        Ok(Grader { course, points, policy, options, prepared: Default::default() })
    }

    /// Grades `labs` of `submission`.
    pub fn grade(&self, submission: &Submission, labs: &[LabNumber]) -> Result<GradeReport> {
        let started = Instant::now();
        let mut reports = Vec::new();
        for &lab in labs {
            if self.options.progress {
                eprintln!("grading lab{lab} of {} …", submission.label);
            }
            // One lab that cannot be graded never costs the others their grade: it gets 0 and
            // a note. Only a broken course file stops the whole grade.
            let report = match self.grade_lab(submission, lab, &|_| false) {
                Ok(report) => report,
                Err(error @ GraderError::Config { .. }) => return Err(error),
                Err(error) => self.ungradable(lab, &error),
            };
            if self.options.progress {
                eprintln!(
                    "lab{lab}: {}/{} (build {:.1} s, total {:.1} s)",
                    crate::report::points(report.score),
                    crate::report::points(report.max_score),
                    report.build_secs,
                    report.duration_secs
                );
            }
            reports.push(report);
        }
        Ok(GradeReport {
            submission: submission.label.clone(),
            deps: self.options.deps,
            score: reports.iter().map(|lab| lab.score).sum(),
            max_score: reports.iter().map(|lab| lab.max_score).sum(),
            labs: reports,
            duration_secs: started.elapsed().as_secs_f64(),
            grader_version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }

    /// The report of a lab the grader could not grade (0, and the reason in a note).
    fn ungradable(&self, lab: LabNumber, error: &GraderError) -> LabReport {
        let points = self.points.lab(lab);
        let message = format!("not graded: the grader could not grade this lab: {error}");
        LabReport {
            lab,
            title: points.title.clone(),
            score: 0.0,
            max_score: points.max_score(),
            compiled: false,
            compile_errors: String::new(),
            notes: vec![message.clone()],
            tests: not_compiled(lab, &points, TestStatus::NotRun, &message),
            ungraded_tests: Vec::new(),
            build_secs: 0.0,
            duration_secs: 0.0,
        }
    }

    /// Grades one lab. After each test, `stop` says whether the rest may be skipped (the bug
    /// zoo stops at the first test that catches its bug).
    pub fn grade_lab(
        &self,
        submission: &Submission,
        lab: LabNumber,
        stop: &(dyn Fn(&TestRun) -> bool + Sync),
    ) -> Result<LabReport> {
        let started = Instant::now();
        let points = self.points.lab(lab);
        let mut report = LabReport {
            lab,
            title: points.title.clone(),
            score: 0.0,
            max_score: points.max_score(),
            compiled: false,
            compile_errors: String::new(),
            notes: Vec::new(),
            tests: Vec::new(),
            ungraded_tests: Vec::new(),
            build_secs: 0.0,
            duration_secs: 0.0,
        };
        let finish = |mut report: LabReport, notes: Vec<String>, status: TestStatus, message: String| {
            report.tests = not_compiled(lab, &points, status, &message);
            if status == TestStatus::NotCompiled {
                report.compile_errors = message;
            }
            report.notes = notes;
            report.duration_secs = started.elapsed().as_secs_f64();
            Ok(report)
        };

        // Read the submission once (paths and sizes checked), then check its code.
        let mut notes = Vec::new();
        let src = match self.read_lab(submission, lab, &mut notes) {
            LabFiles::Read(files) => files,
            LabFiles::Missing => {
                let message = format!("did not compile: the submission has no {}", display_src(submission, lab));
                return finish(report, notes, TestStatus::NotCompiled, message);
            }
            LabFiles::Refused(refusal) => {
                notes.extend(refusal.notes);
                let message = "refused: the submission's files could not be read safely (see the notes)".to_string();
                return finish(report, notes, TestStatus::Refused, message);
            }
        };
        let mut unparsed = Vec::new();
        let mut refusals = self.policy_violations(submission, lab, lab, &src, &mut unparsed);

        let mut earlier_labs = BTreeMap::new();
        for earlier in self.course.labs()?.into_iter().filter(|&k| k < lab) {
            let source = match self.options.deps {
                DepsMode::Reference => LabSource::Reference,
                DepsMode::Submission => {
                    let files = match self.read_lab(submission, earlier, &mut notes) {
                        LabFiles::Read(files) => files,
                        LabFiles::Missing => {
                            notes.push(format!(
                                "--deps submission: the submission has no {}",
                                display_src(submission, earlier)
                            ));
                            Files::new()
                        }
                        LabFiles::Refused(refusal) => {
                            refusals.extend(refusal.notes);
                            Files::new()
                        }
                    };
                    refusals.extend(self.policy_violations(submission, lab, earlier, &files, &mut unparsed));
                    LabSource::Submission(files)
                }
            };
            earlier_labs.insert(earlier, source);
        }
        if !refusals.is_empty() {
            let count = refusals.len();
            notes.extend(refusals.into_iter().take(MAX_REFUSAL_NOTES));
            if count > MAX_REFUSAL_NOTES {
                notes.push(format!("refused: … and {} more", count - MAX_REFUSAL_NOTES));
            }
            let message = format!(
                "refused: lab{lab}'s code uses what labs may not (see the notes); it was not built. \
                 Labs do all I/O through the kit's Vfs and need no unsafe code, no std::fs, no std::process."
            );
            return finish(report, notes, TestStatus::Refused, message);
        }
        if !unparsed.is_empty() {
            let errors: Vec<String> =
                unparsed.iter().map(|note| format!("error: {}", note.trim_start_matches("refused: "))).collect();
            let message = format!("did not compile: lab{lab} has a file that is not valid Rust\n{}", errors.join("\n"));
            return finish(report, notes, TestStatus::NotCompiled, message);
        }
        let request = WorkspaceRequest { lab, src, earlier_labs };
        let work_root = self.options.cargo.target_dir.join("work");
        let cache = self.prepare_cache(lab, &work_root)?;
        let workspace = generate(&self.course, &work_root, &request)?;
        // This grade's own target directory, over the prebuilt dependencies (see
        // `fsutil::layer_over`): nothing an earlier grade built or left there is reused.
        let layering = Instant::now();
        let grade_target = GradeTarget::new(&self.options.cargo.target_dir, &cache)?;
        if self.options.progress {
            eprintln!(
                "lab{lab}: own target layered over the dependency cache in {:.0} ms; tests run {}",
                layering.elapsed().as_secs_f64() * 1000.0,
                self.options.mode.as_str()
            );
        }
        let library = build(&workspace, &self.options.cargo, grade_target.path(), Phase::Library)?;
        report.build_secs = library.duration.as_secs_f64();
        let limit = self.options.output_limit * 4;
        if !library.succeeded() {
            let errors = library.errors_text(None, limit);
            let message = format!("did not compile: lab{lab} failed to build\n{errors}");
            let mut report = finish(report, notes, TestStatus::NotCompiled, message)?;
            report.compile_errors = errors;
            return Ok(report);
        }
        workspace.install_hidden_suite()?;
        let tests_build = build(&workspace, &self.options.cargo, grade_target.path(), Phase::Tests)?;
        report.build_secs += tests_build.duration.as_secs_f64();
        if tests_build.timed_out || tests_build.library_failed() {
            let message = format!(
                "did not compile: the tests of lab{lab} could not be built against it{}",
                if tests_build.timed_out { " within the build's time limit" } else { "" }
            );
            return finish(report, notes, TestStatus::NotCompiled, message);
        }
        let build = tests_build;
        report.compiled = true;

        let budget = points.budget_secs.map(Duration::from_secs).unwrap_or(self.options.lab_budget);
        let mut mode = self.options.mode;
        if mode == Mode::Isolated && !crate::sandbox::reachable_by_others(grade_target.path()) {
            mode = Mode::SameUser;
            notes.push(format!(
                "the tests ran as the grader's own user: {} is not reachable by other users, so the sandbox user could not run them",
                grade_target.path().display()
            ));
        }
        let run_options = RunOptions {
            mode,
            limits: self.options.limits,
            scratch: grade_target.path().join("scratch"),
            deadline: Some(Instant::now() + budget),
            package_dir: workspace.package_dir.clone(),
            workers: self.options.workers,
            output_limit: self.options.output_limit,
        };
        let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut unlistable: BTreeMap<String, String> = BTreeMap::new();
        for (target, executable) in &build.executables {
            match list_tests(executable, &run_options)? {
                Ok(names) => {
                    for name in &names {
                        if points.find(target, name).is_none() {
                            report.ungraded_tests.push(format!("{target}/{name}"));
                        }
                    }
                    listed.insert(target.clone(), names.into_iter().collect());
                }
                Err(why) => {
                    notes.push(format!("the test target `{target}` could not list its tests: {}", first_line(&why)));
                    unlistable.insert(target.clone(), why);
                }
            }
        }

        let mut jobs = Vec::new();
        let mut pending: Vec<(usize, &TestSpec)> = Vec::new();
        let mut results: Vec<Option<(TestStatus, String, String, Duration)>> = vec![None; points.tests.len()];
        for (index, spec) in points.tests.iter().enumerate() {
            results[index] = match (build.executables.get(&spec.suite), listed.get(&spec.suite)) {
                (Some(executable), Some(names)) if names.contains(&spec.name) => {
                    jobs.push(TestJob {
                        executable: executable.clone(),
                        name: spec.name.clone(),
                        timeout: Duration::from_secs(spec.timeout_secs()),
                    });
                    pending.push((index, spec));
                    None
                }
                (Some(_), None) => Some((
                    TestStatus::Failed,
                    format!(
                        "failed: the test target `{}` did not list its tests\n{}",
                        spec.suite,
                        unlistable.get(&spec.suite).map(String::as_str).unwrap_or("")
                    ),
                    String::new(),
                    Duration::ZERO,
                )),
                (Some(_), _) => Some((
                    TestStatus::Missing,
                    format!("missing: `{}` has no test named {}", spec.suite, spec.name),
                    String::new(),
                    Duration::ZERO,
                )),
                (None, _) if workspace.test_targets.contains(&spec.suite) => {
                    // A public suite's errors are shown (students have its source); the hidden
                    // suite's never are: only the items it names that the lab lacks.
                    let errors = if spec.suite == HIDDEN_SUITE {
                        let items = build.missing_items(HIDDEN_SUITE, &workspace.package);
                        format!(
                            "the hidden tests use items this lab does not have, or has with another type: {}",
                            if items.is_empty() {
                                "(see the chapter's API)".to_string()
                            } else {
                                items.iter().map(|item| format!("`{item}`")).collect::<Vec<_>>().join(", ")
                            }
                        )
                    } else {
                        build.errors_text(Some(&spec.suite), limit)
                    };
                    if !errors.is_empty() {
                        append_unique(&mut report.compile_errors, &errors);
                    }
                    Some((
                        TestStatus::NotCompiled,
                        format!(
                            "did not compile: the test target `{}` failed to build against this lab\n{errors}",
                            spec.suite
                        ),
                        String::new(),
                        Duration::ZERO,
                    ))
                }
                (None, _) => Some((
                    TestStatus::Missing,
                    format!("missing: lab{lab} has no test target `{}`", spec.suite),
                    String::new(),
                    Duration::ZERO,
                )),
            };
        }
        let runs = run_tests(&jobs, &run_options, stop)?;
        let mut traces: Vec<Option<serde_json::Value>> = vec![None; points.tests.len()];
        for ((index, spec), run) in pending.into_iter().zip(runs) {
            let trace = run.trace.filter(|_| spec.visibility() == Visibility::Visible);
            results[index] = Some((run.status, run.message, run.output, run.duration));
            traces[index] = trace;
        }
        report.tests = points
            .tests
            .iter()
            .zip(results)
            .zip(traces)
            .map(|((spec, result), trace)| {
                let (status, message, output, duration) =
                    result.unwrap_or((TestStatus::NotRun, String::new(), String::new(), Duration::ZERO));
                let mut report = test_report(lab, spec, status, message, output, duration);
                report.crash_trace = trace;
                report
            })
            .collect();
        report.score = report.tests.iter().map(|test| test.score).sum();
        report.notes = notes;
        report.duration_secs = started.elapsed().as_secs_f64();
        drop(workspace);
        drop(grade_target);
        Ok(report)
    }

    /// The prebuilt dependency cache of `lab`: every dependency, the kit, the earlier labs'
    /// references and the tests built once from the lab's stub (course code only, no student
    /// code; the stub rather than the reference, so that a grading bundle without the reference
    /// builds it too), in `<target>/cache`. Built at most once per grader; grades layer their
    /// own target over it.
    fn prepare_cache(&self, lab: LabNumber, work_root: &Path) -> Result<PathBuf> {
        let cache = self.options.cargo.target_dir.join("cache");
        let mut prepared = self.prepared.lock().unwrap_or_else(|poison| poison.into_inner());
        if prepared.contains(&lab) {
            return Ok(cache);
        }
        // A cache built from the same course files (by this grader or an earlier run) is used
        // as it is: rebuilding it would rewrite the reference into the shared workspace.
        let fingerprint = self.cache_fingerprint(lab)?;
        let marker = cache.join(format!(".prepared-lab{lab}"));
        if std::fs::read_to_string(&marker).is_ok_and(|text| text == fingerprint) {
            prepared.insert(lab);
            return Ok(cache);
        }
        let mut earlier_labs = BTreeMap::new();
        for earlier in self.course.labs()?.into_iter().filter(|&k| k < lab) {
            earlier_labs.insert(earlier, LabSource::Reference);
        }
        let stub = crate::submission::read_tree(&self.course.stub_dir(lab).join("src"), "stub", &[])
            .map_err(|refusal| GraderError::config(self.course.stub_dir(lab), refusal.notes.join("; ")))?;
        let workspace = generate(&self.course, work_root, &WorkspaceRequest { lab, src: stub, earlier_labs })?;
        // Course code only, and a first build compiles every dependency: the time limit of a
        // submission's build does not apply.
        workspace.install_hidden_suite()?;
        let mut cargo = self.options.cargo.clone();
        cargo.build_timeout = cargo.build_timeout.max(Duration::from_secs(CACHE_BUILD_TIMEOUT_SECS));
        // Both phases: the library phase builds the kit without its `testing` feature (a lab's
        // library does not get the test tooling), the test phase with it, so each phase finds
        // its own build of the kit and the earlier labs here.
        let mut outcome = build(&workspace, &cargo, &cache, Phase::Library)?;
        if outcome.succeeded() {
            outcome = build(&workspace, &cargo, &cache, Phase::Tests)?;
        }
        if !outcome.succeeded() {
            return Err(GraderError::Tool(format!(
                "the dependency cache for lab{lab} (the stub, built in {}) did not build:\n{}",
                cache.display(),
                outcome.errors_text(None, 8 << 10)
            )));
        }
        std::fs::write(&marker, &fingerprint).map_err(GraderError::io("write", &marker))?;
        prepared.insert(lab);
        Ok(cache)
    }

    /// A digest of every course file a lab's cache is built from (kit, references, tests,
    /// manifests, lock file, the grader's version).
    fn cache_fingerprint(&self, lab: LabNumber) -> Result<String> {
        use std::hash::{Hash, Hasher};
        let course = &self.course;
        let mut dirs = vec![course.kit_dir(), course.stub_dir(lab), course.hidden_suite_dir(lab)];
        for earlier in course.labs()?.into_iter().filter(|&k| k < lab) {
            dirs.push(course.solution_dir(earlier));
            dirs.push(course.stub_dir(earlier).join("Cargo.toml"));
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        for file in [course.manifest(), course.lockfile(), course.grader_dir().join("Cargo.toml")].iter().chain(&dirs) {
            let files = if file.is_dir() {
                crate::fsutil::list_files(file, &[Path::new("target")])?.into_iter().map(|f| file.join(f)).collect()
            } else {
                vec![file.clone()]
            };
            for path in files {
                path.hash(&mut hasher);
                std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
            }
        }
        Ok(format!("{:016x}", hasher.finish()))
    }

    /// Reads lab `lab` of `submission` (its `src/` files), checking every path on the way, and
    /// adds notes on what the grader ignores in a student repository (edited tests or manifest,
    /// files outside `src/`).
    fn read_lab(&self, submission: &Submission, lab: LabNumber, notes: &mut Vec<String>) -> LabFiles {
        let Some(root) = &submission.root else {
            let src = submission.src(lab);
            if std::fs::symlink_metadata(&src).is_err() {
                return LabFiles::Missing;
            }
            return match read_tree(&src, &format!("{}/src", submission.label), &[]) {
                Ok(mut files) => {
                    self.use_given_files(lab, &mut files, &format!("{}/src", submission.label), notes);
                    LabFiles::Read(files)
                }
                Err(refusal) => LabFiles::Refused(refusal),
            };
        };
        let shown = format!("labs/lab{lab}");
        let lab_dir = root.join("labs").join(format!("lab{lab}"));
        if let Err(refusal) =
            check_directories(&[(root.join("labs"), "labs".to_string()), (lab_dir.clone(), shown.clone())])
        {
            return LabFiles::Refused(refusal);
        }
        if std::fs::symlink_metadata(&lab_dir).is_err() {
            return LabFiles::Missing;
        }
        let all = match read_tree(&lab_dir, &shown, &["target"]) {
            Ok(files) => files,
            Err(refusal) => return LabFiles::Refused(refusal),
        };
        if std::fs::symlink_metadata(lab_dir.join("src")).is_err() {
            return LabFiles::Missing;
        }
        let mut src = Files::new();
        let mut tests = Files::new();
        let mut others = Vec::new();
        for (path, contents) in all {
            if let Ok(inside) = path.strip_prefix("src") {
                src.insert(inside.to_path_buf(), contents);
            } else if let Ok(inside) = path.strip_prefix("tests") {
                tests.insert(inside.to_path_buf(), contents);
            } else if path.as_os_str() == "Cargo.toml" {
                let course_manifest = std::fs::read(self.course.stub_dir(lab).join("Cargo.toml")).ok();
                if Some(&contents) != course_manifest.as_ref() {
                    notes.push(format!("ignored: {shown}/Cargo.toml differs from the course's; the grader uses the course's manifest and dependencies"));
                }
            } else {
                others.push(path.display().to_string());
            }
        }
        let course_tests = read_tree(&self.course.stub_dir(lab).join("tests"), "tests", &[]).unwrap_or_default();
        if tests != course_tests {
            notes.push(format!("ignored: {shown}/tests differs from the course's; the grader uses the course's tests"));
        }
        if !others.is_empty() {
            notes.push(format!("ignored: files outside src/ in {shown}: {}", others.join(", ")));
        }
        self.use_given_files(lab, &mut src, &format!("{shown}/src"), notes);
        LabFiles::Read(src)
    }

    /// Puts the course's copy of each file the lab declares `given` (points.toml) into
    /// `files`: those files (errors, reports, request types) are the course's, shared by the
    /// stub and the reference, and every submission is graded with the same ones.
    fn use_given_files(&self, lab: LabNumber, files: &mut Files, shown: &str, notes: &mut Vec<String>) {
        for given in &self.points.lab(lab).given {
            let Ok(course_copy) = std::fs::read(self.course.stub_dir(lab).join("src").join(given)) else {
                continue;
            };
            let path = PathBuf::from(given);
            match files.get(&path) {
                Some(contents) if *contents == course_copy => {}
                Some(_) => notes.push(format!(
                    "replaced: {shown}/{given} is given by the course and was edited; the grade uses the course's copy"
                )),
                None => notes
                    .push(format!("added: {shown}/{given} is given by the course; the grade uses the course's copy")),
            }
            files.insert(path, course_copy);
        }
    }

    /// The source policy's refusals for the code of lab `of_lab` used while grading `lab`.
    /// Files that do not parse go to `unparsed`: the build decides (see `policy::Violation::unparsed`).
    fn policy_violations(
        &self,
        submission: &Submission,
        lab: LabNumber,
        of_lab: LabNumber,
        files: &Files,
        unparsed: &mut Vec<String>,
    ) -> Vec<String> {
        if !self.policy.enabled {
            return Vec::new();
        }
        let prefix = match &submission.root {
            Some(_) => format!("labs/lab{of_lab}/src"),
            None => format!("{}/lab{of_lab}/src", submission.label),
        };
        let sources = SourceSet {
            files: files
                .iter()
                .map(|(path, bytes)| (format!("{prefix}/{}", path.display()), bytes.as_slice()))
                .collect(),
        };
        let via = if of_lab == lab {
            String::new()
        } else {
            format!(" (lab{of_lab}, built into lab{lab} by --deps submission)")
        };
        // The files the course gives are graded from the course's copy: see
        // `policy::check_outside_given`.
        let given = &self.points.lab(of_lab).given;
        let mut refusals = Vec::new();
        for violation in policy::check_outside_given(&sources, &self.policy.lab(of_lab), &prefix, given) {
            let note = format!("refused: {violation}{via}");
            if violation.unparsed { unparsed.push(note) } else { refusals.push(note) }
        }
        refusals
    }
}

/// The notes of one refusal are listed up to this many; the rest are counted.
const MAX_REFUSAL_NOTES: usize = 20;

/// What [`Grader::read_lab`] found.
enum LabFiles {
    Read(Files),
    Missing,
    Refused(Refusal),
}

fn display_src(submission: &Submission, lab: LabNumber) -> String {
    match &submission.root {
        Some(_) => format!("labs/lab{lab}/src directory"),
        None => format!("source for lab {lab} ({})", submission.src(lab).display()),
    }
}

fn append_unique(all: &mut String, more: &str) {
    if !all.contains(more) {
        if !all.is_empty() {
            all.push('\n');
        }
        all.push_str(more);
    }
}

fn not_compiled(lab: LabNumber, points: &LabPoints, status: TestStatus, message: &str) -> Vec<TestReport> {
    let message = cut_text(message, 4 << 10);
    points
        .tests
        .iter()
        .map(|spec| test_report(lab, spec, status, message.clone(), String::new(), Duration::ZERO))
        .collect()
}

fn test_report(
    lab: LabNumber,
    spec: &TestSpec,
    status: TestStatus,
    message: String,
    output: String,
    duration: Duration,
) -> TestReport {
    TestReport {
        lab,
        suite: spec.suite.clone(),
        name: spec.name.clone(),
        invariant: spec.invariant.clone(),
        visibility: spec.visibility(),
        score: if status == TestStatus::Passed { spec.points } else { 0.0 },
        max_score: spec.points,
        status,
        message,
        output,
        duration_secs: duration.as_secs_f64(),
        crash_trace: None,
    }
}
