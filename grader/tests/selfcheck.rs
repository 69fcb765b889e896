//! The course's own check, run by the root `cargo test`: every reference solution scores 100%
//! on its public and hidden suites, every graded test fails on the stubs, and the handout is
//! clean and builds.
//!
//! Two longer checks are left to CI's selfcheck step (`cargo run -p grader -- selfcheck`, one
//! lab at a time with `--lab N`), so that a cold root `cargo test` stays within its budget:
//!
//! - the bug zoo (every bug caught by a test naming its invariant), here only with
//!   `GRADER_ZOO=1`: each grade builds in a fresh target without incremental state (the price
//!   of isolating hostile submissions), and the sweep over every zoo bug of nine labs takes
//!   about ten minutes;
//! - the handout's build and its red first run, here only with `GRADER_HANDOUT=1`: it builds
//!   every lab again in the handout's own workspace. The handout's export and its leak check
//!   run here always.
//!
//! It builds in `target/grader` (not `target/debug`, whose lock this `cargo test` holds), so
//! dependencies are compiled once and later runs rebuild only what changed.

use grader::course::Course;
use grader::grade::GradeOptions;
use grader::selfcheck::{self, SelfcheckOptions};

/// The checks that need no build (see `grader::consistency`), on their own so that a missing
/// chapter section or a drifted given file fails in milliseconds.
#[test]
fn course_files_are_consistent() {
    let course = Course::open(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).expect("the course opens");
    let points = grader::points::PointsTable::load(&course.points_file()).expect("points.toml reads");
    let anchors = grader::consistency::book_anchors(&course).expect("the book reads");
    let mut problems = Vec::new();
    for lab in course.gradable_labs().expect("the labs list") {
        problems.extend(grader::consistency::lab_problems(&course, lab, &points.lab(lab), &anchors).expect("reads"));
    }
    assert!(problems.is_empty(), "{} problems in the course's files:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_course_grades_what_it_claims_to() {
    let course = Course::open(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).expect("the course opens");
    let mut options = GradeOptions::new(&course);
    options.progress = true;
    let enabled = |knob: &str| std::env::var_os(knob).is_some_and(|value| value == "1");
    let checks = SelfcheckOptions {
        zoo: enabled("GRADER_ZOO"),
        handout_build: enabled("GRADER_HANDOUT"),
        ..SelfcheckOptions::default()
    };
    let report = selfcheck::run(&course, options, &checks).expect("the selfcheck runs");
    println!("{}", report.summary());
    assert!(report.passed(), "the selfcheck found problems:\n{}", report.summary());
}
