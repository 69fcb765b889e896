//! The book's example crash traces (`book/src/viewer/examples/*.js`): each is the trace the
//! grader attaches to a report when a real zoo bug fails a public test.
//!
//! By default this checks, cheaply, that every example is a trace of the kit's current format
//! and names a zoo bug whose edit still applies to the reference, so that regenerating it
//! would work. With `COURSE_EXAMPLE_TRACES=write` it regenerates them: for each example it
//! applies the zoo bug to a copy of the reference, grades that variant with the grader (which
//! reads the trace the failing test wrote), and writes the trace of the named public test.
//!
//! ```sh
//! COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces -- --nocapture
//! COURSE_EXAMPLE_TRACES=write:lab3 cargo test -p grader --test example_traces   # lab 3's only
//! ```
//!
//! An example keeps only the steps shortly before the crash point ([`STEPS_SHOWN`]), with the
//! others counted in `steps_omitted`: enough to see which pending operation the code relied on,
//! not the reference's whole order of steps, which the lab asks the student to work out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use distributed::crash_trace::CrashTrace;
use grader::course::Course;
use grader::grade::{GradeOptions, Grader, Submission};
use grader::runner::TestRun;
use grader::zoo;

/// One example: the lab, the zoo bug, and the public test whose trace is shown.
struct Example {
    lab: u32,
    bug: &'static str,
    test: &'static str,
}

const EXAMPLES: &[Example] = &[
    Example {
        lab: 1,
        bug: "new-segment-name-never-synced",
        test: "crash::every_crash_point_of_a_short_workload_recovers",
    },
    Example {
        lab: 2,
        bug: "set-aside-not-synced",
        test: "repair::a_repair_cut_short_by_a_crash_loses_nothing_and_a_finished_one_is_durable",
    },
    Example {
        lab: 3,
        bug: "rename-without-directory-sync",
        test: "crash::a_power_cut_at_every_step_of_a_save_leaves_the_old_or_the_new_snapshot",
    },
    Example {
        lab: 4,
        bug: "hard-state-before-the-log-is-durable",
        test: "commit::a_power_cut_at_every_step_of_commit_never_loses_an_acknowledged_commit",
    },
    Example {
        lab: 5,
        bug: "read-served-before-replay",
        test: "recovery::reads_never_go_back_in_time_at_any_crash_point",
    },
    Example {
        lab: 6,
        bug: "new-downstream-key-per-attempt",
        test: "crash::a_crash_during_a_side_effect_resumes_with_the_same_downstream_key",
    },
    Example {
        lab: 7,
        bug: "gc-before-the-new-manifest-is-durable",
        test: "gc::a_power_cut_at_every_step_of_gc_never_breaks_the_durable_manifest",
    },
];

/// Steps shown before the crash point (the crash point's own step included).
const STEPS_SHOWN: u64 = 12;

fn course_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn example_path(example: &Example) -> PathBuf {
    course_root().join(format!("book/src/viewer/examples/lab{}-{}.js", example.lab, example.bug))
}

/// The variable every example script adds its trace to.
const GLOBAL: &str = "window.CRASH_TRACE_EXAMPLES";

/// The trace inside an example script.
fn trace_of_script(script: &str) -> CrashTrace {
    let start = script.find("] = ").expect("an assignment") + 4;
    let end = script.rfind(';').expect("a closing semicolon");
    CrashTrace::from_json(&script[start..end]).expect("a crash trace of the kit's format")
}

fn script_of_trace(example: &Example, trace: &CrashTrace) -> String {
    // The comment names the test the trace comes from, which is the example's unless that one
    // no longer catches the bug.
    format!(
        "// Lab {lab}'s zoo bug `{bug}` (grader/zoo/lab{lab}.toml), caught by the public test\n\
         // `{test}`: the crash trace the grader attached to the report.\n\
         // Regenerate: COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces\n\
         {GLOBAL} = {GLOBAL} || {{}};\n\
         {GLOBAL}[\"lab{lab}-{bug}\"] = {json};\n",
        lab = example.lab,
        bug = example.bug,
        test = trace.test,
        json = trace.to_json(),
    )
}

/// Keeps the steps shortly before the crash point, and says how many it left out.
fn shorten(trace: &mut CrashTrace) {
    let crash = trace.crash.after_step;
    let before = trace.steps.len() as u64 + trace.steps_omitted;
    trace.steps.retain(|step| step.step + STEPS_SHOWN > crash && step.step <= crash);
    trace.steps_omitted = before - trace.steps.len() as u64;
}

#[test]
fn every_example_trace_is_current_and_names_a_zoo_bug_that_applies() {
    match std::env::var("COURSE_EXAMPLE_TRACES").as_deref() {
        Ok("write") => write_examples(|_| true),
        Ok(other) => {
            // `write:lab5` regenerates the examples whose file name starts with `lab5`.
            if let Some(prefix) = other.strip_prefix("write:") {
                write_examples(|example| format!("lab{}-{}", example.lab, example.bug).starts_with(prefix));
            }
        }
        Err(_) => {}
    }
    let course = Course::open(course_root()).expect("the course opens");
    for example in EXAMPLES {
        let path = example_path(example);
        let script = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let trace = trace_of_script(&script);
        assert!(script.contains(&format!("`{}`", trace.test)), "{}: the comment names the test", path.display());
        assert!(trace.failure.invariant.is_some(), "{}: the failure names an invariant", path.display());
        assert!(trace.steps.iter().all(|step| step.step <= trace.crash.after_step), "{}", path.display());
        let bugs = zoo::load(&course.grader_dir().join(format!("zoo/lab{}.toml", example.lab))).unwrap();
        let bug =
            bugs.iter().find(|bug| bug.name == example.bug).unwrap_or_else(|| panic!("no zoo bug {}", example.bug));
        let source = std::fs::read_to_string(course.solution_dir(example.lab).join("src").join(&bug.file)).unwrap();
        assert_eq!(source.matches(&bug.find).count(), 1, "the edit of {} still applies", example.bug);
    }
}

fn write_examples(wanted: impl Fn(&Example) -> bool) {
    let course = Course::open(course_root()).expect("the course opens");
    let mut options = GradeOptions::new(&course);
    options.progress = true;
    // The variants are the course's own code, as in the zoo sweep.
    options.source_policy = false;
    // Beside this test's own target, like the selfcheck's `target/grader`.
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        options.cargo.target_dir = PathBuf::from(target).join("grader");
    }
    let scratch = options.cargo.target_dir.join("example-traces");
    let grader = Grader::new(course.clone(), options).expect("the grader starts");
    for example in EXAMPLES.iter().filter(|example| wanted(example)) {
        let bugs = zoo::load(&course.grader_dir().join(format!("zoo/lab{}.toml", example.lab))).unwrap();
        let bug = bugs.iter().find(|bug| bug.name == example.bug).expect("the zoo bug");
        let src = scratch.join(format!("lab{}-{}", example.lab, example.bug));
        if src.exists() {
            std::fs::remove_dir_all(&src).unwrap();
        }
        grader::fsutil::copy_tree(&course.solution_dir(example.lab).join("src"), &src, &[]).unwrap();
        let file = src.join(&bug.file);
        let original = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, original.replacen(&bug.find, &bug.replace, 1)).unwrap();
        let submission = Submission::from_sources(format!("zoo:{}", bug.name), BTreeMap::from([(example.lab, src)]));
        let wanted = example.test;
        let stop = |run: &TestRun| run.trace.as_ref().is_some_and(|trace| trace["test"] == wanted);
        let report = grader.grade_lab(&submission, example.lab, &stop).expect("the variant is graded");
        let failed_with_trace =
            |test: &&grader::grade::TestReport| test.suite == "public" && test.crash_trace.is_some();
        let test = report
            .tests
            .iter()
            .filter(failed_with_trace)
            .find(|test| test.name == example.test)
            .or_else(|| report.tests.iter().find(failed_with_trace))
            .unwrap_or_else(|| {
                let tests: Vec<String> =
                    report.tests.iter().map(|t| format!("{} {}: {}", t.name, t.status.as_str(), t.message)).collect();
                panic!(
                    "lab {} bug {}: no public test left a trace (compiled: {}; notes: {:?}; {})\n{}",
                    example.lab,
                    bug.name,
                    report.compiled,
                    report.notes,
                    report.compile_errors,
                    tests.join("\n")
                )
            });
        if test.name != example.test {
            eprintln!("lab {} bug {}: {} left no trace; {} did", example.lab, bug.name, example.test, test.name);
        }
        let json = test.crash_trace.as_ref().expect("a trace");
        let mut trace = CrashTrace::from_json(&json.to_string()).expect("the grader kept the kit's format");
        shorten(&mut trace);
        let path = example_path(example);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, script_of_trace(example, &trace)).unwrap();
        eprintln!("wrote {}", Path::new(&path).display());
    }
}
