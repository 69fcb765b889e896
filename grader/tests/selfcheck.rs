//! The course's own check, run by the root `cargo test`: every reference solution scores 100%
//! on its public and hidden suites, every graded test fails on the stubs, every bug of the zoo
//! is caught by a test naming its invariant, and the handout is clean and builds.
//!
//! It builds in `target/grader` (not `target/debug`, whose lock this `cargo test` holds), so
//! dependencies are compiled once and later runs rebuild only what changed.

use grader::course::Course;
use grader::grade::GradeOptions;
use grader::selfcheck::{self, SelfcheckOptions};

#[test]
fn the_course_grades_what_it_claims_to() {
    let course = Course::open(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).expect("the course opens");
    let mut options = GradeOptions::new(&course);
    options.progress = true;
    let report = selfcheck::run(&course, options, &SelfcheckOptions::default()).expect("the selfcheck runs");
    println!("{}", report.summary());
    assert!(report.passed(), "the selfcheck found problems:\n{}", report.summary());
}
