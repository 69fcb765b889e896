//! The grading bundle of a lab (`grader export-bundle --lab N`) holds what grading lab N
//! needs and nothing an instructor keeps from the students of lab N: no reference of lab N or
//! later, no other lab's hidden suite or points; and its manifests name nothing it left out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use grader::course::Course;

fn course() -> Course {
    Course::open(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).expect("the course opens")
}

#[test]
fn a_bundle_holds_no_reference_of_its_lab_or_later_and_no_other_hidden_suite() {
    let course = course();
    let lab = 3;
    let bundle = grader::bundle::build(&course, lab).expect("the bundle builds");
    let files: BTreeSet<&PathBuf> = bundle.files.keys().collect();
    for later in course.labs().unwrap().into_iter().filter(|&k| k >= lab) {
        let reference = format!("solutions/lab{later}");
        assert!(!files.iter().any(|f| f.starts_with(&reference)), "the bundle of lab {lab} holds {reference}");
    }
    for earlier in 1..lab {
        assert!(
            files.contains(&PathBuf::from(format!("solutions/lab{earlier}/Cargo.toml"))),
            "lab {earlier}'s reference"
        );
    }
    for file in &files {
        if let Ok(suite) = file.strip_prefix("grader/suites") {
            assert!(suite.starts_with(format!("lab{lab}")), "another lab's hidden suite: {}", file.display());
        }
        assert!(!file.starts_with("grader/zoo") && !file.starts_with("grader/bench") && !file.starts_with("book"));
    }
    let points: toml::Table =
        String::from_utf8_lossy(&bundle.files[Path::new("grader/points.toml")]).parse().expect("points.toml parses");
    let tables: Vec<&String> = points.keys().collect();
    assert_eq!(tables, [&format!("lab{lab}")], "only lab {lab}'s points");
}

#[test]
fn every_manifest_of_a_bundle_names_only_what_it_holds() {
    let course = course();
    let bundle = grader::bundle::build(&course, 2).expect("the bundle builds");
    let read = |path: &str| -> toml::Table {
        let bytes = bundle.files.get(Path::new(path)).unwrap_or_else(|| panic!("the bundle has no {path}"));
        String::from_utf8_lossy(bytes).parse().unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let root = read("Cargo.toml");
    let members = root["workspace"]["members"].as_array().expect("members");
    for member in members {
        let member = member.as_str().unwrap();
        let manifest_path = format!("{member}/Cargo.toml");
        let manifest = read(&manifest_path);
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            for (name, spec) in manifest.get(section).and_then(|s| s.as_table()).into_iter().flatten() {
                if let Some(path) = spec.get("path").and_then(|p| p.as_str()) {
                    let target = Path::new(member).join(path).join("Cargo.toml");
                    let target: PathBuf = normalize(&target);
                    assert!(
                        bundle.files.contains_key(&target),
                        "{manifest_path}: {name} at {} is not in the bundle",
                        target.display()
                    );
                }
            }
        }
    }
    let grader = read("grader/Cargo.toml");
    assert!(grader.get("dev-dependencies").is_none() && grader.get("example").is_none(), "{grader:#?}");
    for (name, spec) in root["workspace"]["dependencies"].as_table().unwrap() {
        if let Some(path) = spec.get("path").and_then(|p| p.as_str()) {
            assert!(bundle.files.contains_key(&Path::new(path).join("Cargo.toml")), "workspace dependency {name}");
        }
    }
}

/// `a/b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
