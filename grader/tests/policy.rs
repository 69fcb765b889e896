//! Every reference solution and every stub of the course passes its lab's source policy
//! (`grader/policy.toml`): the policy refuses nothing an honest lab needs.

use grader::course::Course;
use grader::policy::{Policy, SourceSet, check_outside_given};
use grader::submission::read_tree;

#[test]
fn every_reference_and_stub_passes_the_source_policy() {
    let course = Course::open(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).expect("the course opens");
    let policy = Policy::load(&course.policy_file()).expect("policy.toml reads");
    let points = grader::points::PointsTable::load(&course.points_file()).expect("points.toml reads");
    for lab in course.labs().unwrap() {
        for dir in [course.stub_dir(lab), course.solution_dir(lab)] {
            let src = dir.join("src");
            if !src.is_dir() {
                continue;
            }
            let shown = src.strip_prefix(course.root()).unwrap().display().to_string();
            let files = read_tree(&src, &shown, &[]).unwrap_or_else(|refusal| panic!("{shown}: {:?}", refusal.notes));
            let sources = SourceSet {
                files: files
                    .iter()
                    .map(|(path, bytes)| (format!("{shown}/{}", path.display()), bytes.as_slice()))
                    .collect(),
            };
            // Given files are the course's code, graded from the course's copy (as a grade does).
            let violations = check_outside_given(&sources, &policy.lab(lab), &shown, &points.lab(lab).given);
            assert!(
                violations.is_empty(),
                "lab{lab}: {shown} breaks the source policy:\n{}",
                violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\n")
            );
        }
    }
}
