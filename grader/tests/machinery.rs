//! The grader's machinery on a tiny fake course: every way a submission can go wrong is
//! graded fairly and reported, and every format is valid.

mod support;

use std::fs;

use grader::grade::Submission;
use grader::report::{Format, render};
use grader::runner::TestStatus;
use grader::selfcheck::{self, SelfcheckOptions};
use support::{FakeCourse, REFERENCE, STUB, reference_with_add};

fn statuses(report: &grader::grade::GradeReport) -> Vec<(String, TestStatus)> {
    report.tests().map(|t| (t.name.clone(), t.status)).collect()
}

#[test]
fn the_reference_scores_everything_and_the_stub_nothing_in_every_format() {
    let fake = FakeCourse::new();
    let grader = fake.grader();
    let reference = grader.grade(&Submission::from_dir(fake.submission("reference", REFERENCE)), &[1]).unwrap();
    assert_eq!((reference.score, reference.max_score), (7.5, 7.5), "{}", render(&reference, Format::Text));
    let stub = grader.grade(&Submission::from_dir(fake.submission("stub", STUB)), &[1]).unwrap();
    assert_eq!(stub.score, 0.0);
    assert!(stub.tests().all(|t| t.status == TestStatus::Failed), "{:?}", statuses(&stub));
    let failure = stub.tests().next().unwrap();
    assert!(failure.message.contains("not yet implemented"), "{}", failure.message);

    for (report, score) in [(&reference, 7.5), (&stub, 0.0)] {
        let text = render(report, Format::Text);
        assert!(
            text.contains(&format!("Total: {}/7.5", if score == 0.0 { "0".into() } else { "7.5".to_string() })),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&render(report, Format::Json)).unwrap();
        assert_eq!(json["score"], score);
        let gradescope: serde_json::Value = serde_json::from_str(&render(report, Format::Gradescope)).unwrap();
        assert_eq!(gradescope["score"], score);
        assert_eq!(gradescope["tests"].as_array().unwrap().len(), 5);
        assert_eq!(gradescope["tests"][3]["visibility"], "hidden");
        let xml = render(report, Format::Junit);
        assert_eq!(xml.matches("<testcase ").count(), 5);
        assert_eq!(xml.matches("<failure ").count(), if score == 0.0 { 5 } else { 0 });
        let markdown = render(report, Format::Markdown);
        assert!(
            markdown.starts_with(&format!("## Grade: {}/7.5", if score == 0.0 { "0" } else { "7.5" })),
            "{markdown}"
        );
    }
}

#[test]
fn panics_hangs_exits_and_aborts_cost_only_their_tests() {
    let fake = FakeCourse::new();
    // `process::exit` and `abort` are refused by the source policy; with it off, the runner
    // still tells each ending apart.
    let grader = fake.grader_without_policy();
    let cases = [
        (
            "hangs",
            "loop { std::thread::sleep(std::time::Duration::from_millis(50)); }",
            TestStatus::TimedOut,
            "timed out",
        ),
        ("exits", "std::process::exit(0)", TestStatus::Exited, "exited"),
        ("aborts", "std::process::abort()", TestStatus::Crashed, "SIGABRT"),
        ("panics", "panic!(\"{}\", \"x\".repeat(100_000))", TestStatus::Failed, "xxxx"),
    ];
    for (name, body, status, words) in cases {
        let report =
            grader.grade(&Submission::from_dir(fake.submission(name, &reference_with_add(body))), &[1]).unwrap();
        let lab = &report.labs[0];
        // The checksum tests (3.5 points) pass; every adding test ends as the case says.
        assert_eq!(report.score, 3.5, "{name}: {}", render(&report, Format::Text));
        for test in lab.tests.iter().filter(|t| t.name.contains("add")) {
            assert_eq!(test.status, status, "{name}: {}", test.message);
            assert!(test.message.contains(words) || test.output.contains(words), "{name}: {}", test.message);
            assert!(test.output.len() < 10_000, "{name}: the output is cut to the limit");
        }
    }
}

#[test]
fn a_submission_that_does_not_compile_gets_the_compilers_errors_and_zero() {
    let fake = FakeCourse::new();
    let grader = fake.grader();
    let broken = REFERENCE.replace("a + b;", "a + ;");
    let report = grader.grade(&Submission::from_dir(fake.submission("broken", &broken)), &[1]).unwrap();
    let lab = &report.labs[0];
    assert!(!lab.compiled);
    assert_eq!(report.score, 0.0);
    assert!(lab.compile_errors.contains("error"), "{}", lab.compile_errors);
    assert!(lab.tests.iter().all(|t| t.status == TestStatus::NotCompiled));
    assert!(render(&report, Format::Text).contains("did not compile"));

    let missing = fake.root().join("submissions/empty");
    fs::create_dir_all(&missing).unwrap();
    let report = grader.grade(&Submission::from_dir(missing), &[1]).unwrap();
    assert!(report.labs[0].compile_errors.contains("has no labs/lab1/src"), "{}", report.labs[0].compile_errors);
}

#[test]
fn edited_tests_and_manifests_are_ignored_and_reported() {
    let fake = FakeCourse::new();
    let grader = fake.grader();
    let root = fake.submission("cheat", STUB);
    fs::write(root.join("labs/lab1/tests/public.rs"), "#[test]\nfn adds_small_numbers() {}\n").unwrap();
    fs::write(root.join("labs/lab1/Cargo.toml"), "[package]\nname = \"lab1\"\n").unwrap();
    fs::write(root.join("labs/lab1/build.rs"), "fn main() {}\n").unwrap();
    let report = grader.grade(&Submission::from_dir(root), &[1]).unwrap();
    assert_eq!(report.score, 0.0);
    let notes = report.labs[0].notes.join("\n");
    assert!(notes.contains("labs/lab1/tests differs from the course's"), "{notes}");
    assert!(notes.contains("labs/lab1/Cargo.toml differs"), "{notes}");
    assert!(notes.contains("build.rs"), "{notes}");
}

#[test]
fn a_given_file_is_graded_from_the_courses_copy() {
    let fake = FakeCourse::new();
    // A file the stub shares with the reference, used by both.
    let given = "/// The course's constant.\npub const ZERO: u64 = 0;\n";
    fake.write("labs/lab1/src/given.rs", given);
    fake.write("solutions/lab1/src/given.rs", given);
    let points = fs::read_to_string(fake.root().join("grader/points.toml")).unwrap();
    fake.write(
        "grader/points.toml",
        &points.replace("title = \"Adding\"", "title = \"Adding\"\ngiven = [\"given.rs\"]"),
    );
    let grader = fake.grader();
    let with_module = |lib: &str| format!("{lib}\nmod given;\npub fn zero() -> u64 {{ given::ZERO }}\n");

    // An edited copy is replaced by the course's, with a note; the reference still scores all.
    let edited = fake.submission("edited", &with_module(REFERENCE));
    fs::write(edited.join("labs/lab1/src/given.rs"), "pub const ZERO: u64 = 1;\n").unwrap();
    let report = grader.grade(&Submission::from_dir(edited), &[1]).unwrap();
    assert_eq!(report.score, report.max_score, "{}", render(&report, Format::Text));
    let notes = report.labs[0].notes.join("\n");
    assert!(notes.contains("labs/lab1/src/given.rs is given by the course and was edited"), "{notes}");

    // A missing copy is added.
    let missing = fake.submission("missing", &with_module(REFERENCE));
    let report = grader.grade(&Submission::from_dir(missing), &[1]).unwrap();
    assert_eq!(report.score, report.max_score, "{}", render(&report, Format::Text));
    assert!(report.labs[0].notes.join("\n").contains("added: labs/lab1/src/given.rs"), "{:?}", report.labs[0].notes);
}

#[test]
fn the_selfcheck_says_why_a_refused_reference_was_not_built() {
    let fake = FakeCourse::new();
    fake.write(
        "solutions/lab1/src/lib.rs",
        &format!("{REFERENCE}\npub fn peek() {{ let _ = std::fs::read(\"x\"); }}\n"),
    );
    let options = SelfcheckOptions { zoo: false, handout: false, ..SelfcheckOptions::default() };
    let report = selfcheck::run(&fake.course(), fake.options(), &options).unwrap();
    let summary = report.summary();
    assert!(!report.passed(), "{summary}");
    assert!(summary.contains("the reference solution does not compile") && summary.contains("std::fs"), "{summary}");
}

#[test]
fn the_selfcheck_passes_and_catches_the_zoo() {
    let fake = FakeCourse::new();
    let report = selfcheck::run(&fake.course(), fake.options(), &SelfcheckOptions::default()).unwrap();
    assert!(report.passed(), "{}", report.summary());
    let caught_by = report.labs[0].zoo[0].caught_by.len();
    assert!((1..=2).contains(&caught_by), "the zoo stops at the first catch (the second worker may add one)");
    let summary = report.summary();
    assert!(summary.contains("lab1: reference 7.5/7.5, stub 0/7.5, bug zoo 1/1 caught"), "{summary}");
    assert!(summary.contains("handout: "), "{summary}");
}

#[test]
fn the_selfcheck_reports_a_zoo_bug_named_with_the_wrong_invariant_and_untracked_tests() {
    let fake = FakeCourse::new();
    fake.write("grader/zoo/lab1.toml", &support_zoo_with_wrong_invariant());
    fake.write(
        "grader/suites/lab1/main.rs",
        &(fs::read_to_string(fake.root().join("grader/suites/lab1/main.rs")).unwrap()
            + "\n#[test]\nfn not_in_points() {}\n"),
    );
    let options = SelfcheckOptions { handout: false, ..SelfcheckOptions::default() };
    let report = selfcheck::run(&fake.course(), fake.options(), &options).unwrap();
    assert!(!report.passed());
    let summary = report.summary();
    assert!(summary.contains("zoo bug off-by-one is not caught by any test naming [checksum]"), "{summary}");
    assert!(summary.contains("hidden/not_in_points exists but is not in points.toml"), "{summary}");
}

fn support_zoo_with_wrong_invariant() -> String {
    "[[bug]]\nname = \"off-by-one\"\ndescription = \"x\"\nfile = \"lib.rs\"\nfind = \"a + b;\"\nreplace = \"a + b + 1;\"\ninvariant = \"checksum\"\n".into()
}

#[test]
fn the_handout_is_refused_when_it_would_leak_a_solution_line() {
    let fake = FakeCourse::new();
    let dest = fake.root().join("handout-ok");
    let handout = grader::handout::export(&fake.course(), &dest).unwrap();
    assert!(dest.join("labs/lab1/tests/public.rs").is_file());
    assert!(!dest.join("solutions").exists() && !dest.join("grader").exists());
    assert!(!dest.join("book/book").exists(), "build output is left out");
    let manifest = fs::read_to_string(dest.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("labs/lab1") && !manifest.contains("solutions"), "{manifest}");
    assert!(fs::read_to_string(dest.join("README.md")).unwrap().contains("labs/lab1"));
    assert!(handout.files.len() >= 8);

    fake.write("book/src/lab1.md", "# Lab 1\n\n```rust\n    let total_of_both_numbers_for_the_caller = a + b;\n```\n");
    let dest = fake.root().join("handout-leaky");
    let error = grader::handout::export(&fake.course(), &dest).unwrap_err().to_string();
    assert!(error.contains("book/src/lab1.md:4") && error.contains("solutions/lab1/src/lib.rs"), "{error}");
    assert!(!dest.exists(), "nothing is written when the export is refused");

    fake.write("book/src/lab1.md", "# Lab 1\n\n```rust\nfn adds_large_numbers() {\n    check(\"matching\", lab1::add(1 << 40, 1) == (1 << 40) + 1, \"a large sum is wrong for the hidden test\");\n}\n```\n");
    let error = grader::handout::export(&fake.course(), &fake.root().join("handout-hidden")).unwrap_err().to_string();
    assert!(error.contains("grader/suites/lab1/main.rs"), "{error}");
}

#[test]
fn the_command_line_exit_codes_tell_a_grade_from_a_grader_failure() {
    let fake = FakeCourse::new();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_grader"))
            .arg(args[0])
            .args(["--course", fake.root().to_str().unwrap()])
            .args(&args[1..])
            .output()
            .unwrap()
    };
    let stub = fake.submission("cli-stub", STUB);
    let out = fake.root().join("results.json");
    let graded = run(&[
        "grade",
        "--submission",
        stub.to_str().unwrap(),
        "--format",
        "gradescope",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(graded.status.code(), Some(0), "{}", String::from_utf8_lossy(&graded.stderr));
    let results: serde_json::Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(results["score"], 0.0);

    let bad = run(&["grade", "--submission", stub.to_str().unwrap(), "--format", "xml"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid value 'xml'"));
    let missing = run(&["grade", "--submission", "/nonexistent/submission"]);
    assert_eq!(missing.status.code(), Some(2));

    // A conventional command line: help and version exit 0, a misplaced or mistyped flag exits
    // 2 with a suggestion.
    let plain = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_grader")).args(args).output().unwrap();
    assert_eq!(plain(&["--version"]).status.code(), Some(0));
    let help = plain(&["grade", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--submission <DIR>"));
    let typo = plain(&["grade", "--submision", "x"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("a similar argument exists: '--submission'"));
    let misplaced = run(&["export-handout", fake.root().join("h").to_str().unwrap(), "--jobs", "3"]);
    assert_eq!(misplaced.status.code(), Some(2), "--jobs belongs to grade and selfcheck");

    // A staged release: only the labs named, never the instructors' pages.
    fake.write("book/src/instructors.md", "# For instructors\n");
    fake.write("book/src/instructors-answers.md", "# Answers\n");
    fake.write(
        "book/src/SUMMARY.md",
        "# Summary\n\n- [Lab 1](lab1.md)\n[For instructors](instructors.md)\n[Answers](instructors-answers.md)\n",
    );
    let staged = fake.root().join("staged");
    let export = run(&["export-handout", staged.to_str().unwrap(), "--labs", "1"]);
    assert_eq!(export.status.code(), Some(0), "{}", String::from_utf8_lossy(&export.stderr));
    assert!(staged.join("labs/lab1/src/lib.rs").is_file() && !staged.join("book/src/instructors.md").exists());
    assert!(!staged.join("book/src/instructors-answers.md").exists());
    assert!(!fs::read_to_string(staged.join("book/src/SUMMARY.md")).unwrap().contains("instructors"));
    assert_eq!(
        run(&["export-handout", fake.root().join("h2").to_str().unwrap(), "--labs", "1-9"]).status.code(),
        Some(2)
    );

    fake.write("grader/zoo/lab1.toml", &support_zoo_with_wrong_invariant());
    let failed = run(&["selfcheck", "--no-handout"]);
    assert_eq!(failed.status.code(), Some(1), "{}", String::from_utf8_lossy(&failed.stdout));
}

#[test]
fn the_grading_workspace_exports_with_the_reference_or_the_stub_and_the_hidden_suite() {
    let fake = FakeCourse::new();
    let course = fake.course();
    let dest = fake.root().join("workspace-reference");
    let workspace = grader::workspace::export(&course, 1, true, &dest).unwrap();
    assert_eq!(workspace.test_targets, ["public", "hidden"]);
    let graded = dest.join("graded/lab1");
    assert_eq!(fs::read_to_string(graded.join("src/lib.rs")).unwrap(), REFERENCE);
    let hidden = fs::read_to_string(graded.join("tests/hidden/main.rs")).unwrap();
    assert_eq!(hidden, fs::read_to_string(fake.root().join("grader/suites/lab1/main.rs")).unwrap());
    assert!(!hidden.contains("__grader"), "the suite runs without the grade's harness");
    assert!(dest.join("Cargo.toml").is_file());

    let dest = fake.root().join("workspace-stub");
    grader::workspace::export(&course, 1, false, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("graded/lab1/src/lib.rs")).unwrap(), STUB);

    let error = grader::workspace::export(&course, 1, true, &dest).unwrap_err().to_string();
    assert!(error.contains("not empty"), "an export never writes over files it did not write: {error}");
}
