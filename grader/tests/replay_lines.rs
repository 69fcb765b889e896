//! The `replay:` line a failure prints runs that failure again, as the student would run it.
//!
//! In the handout (the course as students get it), each lab's stub is replaced by its
//! reference and, one at a time, by variants of the bug zoo. The lab's public tests run on a
//! variant (`cargo test -p labN --test public`); every `replay:` line the failures print is
//! then run exactly as printed, from the handout's root, with the environment it names. Each
//! replay must run exactly one test, and that test must fail under the same invariant in
//! brackets as the first time.
//!
//! The stubs' own failures are `todo!()` panics, which name no invariant and print no replay
//! line, so the variants of the zoo (bugs a student could write) stand in for them.
//!
//! It builds every lab of the handout, so it is not in the root `cargo test`: CI runs it as its
//! own step, `cargo test -p grader --test replay_lines -- --ignored` (see the instructors'
//! chapter). `REPLAY_LABS=1,3` limits it to some labs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use grader::course::Course;

/// At most this many replay lines are run per lab (the first ones printed).
const REPLAYS_PER_LAB: usize = 3;

/// Runs `line` with `sh` from `dir`, exactly as a student pastes it.
fn shell(dir: &Path, line: &str, target: &Path) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        // The grading profile's debug setting, so that the dependencies the grades' cache
        // holds are found there (see below); it changes nothing a test observes.
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env("CARGO_PROFILE_TEST_DEBUG", "false")
        .env_remove("LAB_SEED")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("sh runs");
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Each failed test's name, with the first `[invariant]` of its message and its replay line.
fn failures(output: &str) -> Vec<(String, Option<String>, Option<String>)> {
    let mut found = Vec::new();
    for block in output.split("\n---- ").skip(1) {
        let Some(name) = block.split(" stdout ----").next() else { continue };
        let invariant = block
            .lines()
            .find_map(|line| line.strip_prefix('[').and_then(|rest| rest.split(']').next()).map(str::to_string));
        let replay = block.lines().find_map(|line| line.trim_start().strip_prefix("replay: ")).map(str::to_string);
        found.push((name.trim().to_string(), invariant, replay));
    }
    found
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("read a directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy a file");
        }
    }
}

#[test]
#[ignore = "builds every lab of the handout: run by CI as its own step (see the module's doc)"]
fn every_printed_replay_line_reruns_its_failure() {
    let course = Course::open(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).expect("the course opens");
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay-lines");
    let handout = scratch.join("handout");
    let target = scratch.join("target");
    if handout.exists() {
        std::fs::remove_dir_all(&handout).expect("remove the last handout");
    }
    grader::handout::export(&course, &handout).expect("the handout exports");
    if !target.exists() {
        // Laid over the grades' dependency cache when a self-check left one (CI runs the
        // self-check first), as the self-check's own handout build is: the registry crates
        // (lab 8's storage engines above all) are then found built, and only the course's own
        // crates compile. Without a cache, everything builds here once.
        let cache = course.default_target_dir().join("cache");
        grader::fsutil::layer_over(&cache, &target).expect("the build directory is laid over the grades' cache");
    }
    let labs: Vec<u32> = match std::env::var("REPLAY_LABS") {
        Ok(list) => list.split(',').map(|lab| lab.trim().parse().expect("REPLAY_LABS lists lab numbers")).collect(),
        Err(_) => course
            .gradable_labs()
            .expect("the labs list")
            .into_iter()
            .filter(|&lab| course.has_reference(lab))
            .collect(),
    };
    // Every reference in place of its stub: a lab's tests use the earlier labs too.
    for lab in course.gradable_labs().expect("the labs list") {
        if course.has_reference(lab) {
            let src = handout.join(format!("labs/lab{lab}/src"));
            std::fs::remove_dir_all(&src).expect("remove a stub's src");
            copy_dir(&course.solution_dir(lab).join("src"), &src);
        }
    }

    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut replayed = 0;
    for &lab in &labs {
        let zoo = grader::zoo::load(&course.zoo_file(lab)).expect("the zoo reads");
        let mut lines = Vec::new();
        for bug in &zoo {
            let file = handout.join(format!("labs/lab{lab}/src/{}", bug.file));
            let original = std::fs::read_to_string(&file).expect("the reference file reads");
            std::fs::write(&file, original.replacen(&bug.find, &bug.replace, 1)).expect("write the variant");
            let output = shell(&handout, &format!("cargo test -p lab{lab} --test public --no-fail-fast"), &target);
            std::fs::write(&file, &original).expect("restore the reference file");
            for (test, invariant, replay) in failures(&output) {
                match (invariant, replay) {
                    (Some(invariant), Some(replay)) => lines.push((bug.name.clone(), test, invariant, replay)),
                    // Failures outside the reporting (the explorer's own, a `todo!()`) are
                    // listed, not refused: this test is about the lines that are printed.
                    (invariant, None) => notes.push(format!(
                        "lab{lab} under zoo bug {}: {test} failed with {} but printed no replay line",
                        bug.name,
                        invariant.map_or("no invariant".to_string(), |i| format!("[{i}]"))
                    )),
                    (None, Some(_)) => problems.push(format!(
                        "lab{lab} under zoo bug {}: {test} printed a replay line but names no invariant first",
                        bug.name
                    )),
                }
            }
            if !lines.is_empty() {
                // Replay while the variant is in place.
                std::fs::write(&file, original.replacen(&bug.find, &bug.replace, 1)).expect("write the variant");
                let mut seen = BTreeSet::new();
                for (bug_name, test, invariant, replay) in
                    lines.iter().filter(|l| seen.insert(l.1.clone())).take(REPLAYS_PER_LAB)
                {
                    replayed += 1;
                    let again = shell(&handout, replay, &target);
                    let ran_one = again.contains("running 1 test\n");
                    let rerun = failures(&again);
                    let same =
                        rerun.len() == 1 && rerun[0].0 == *test && rerun[0].1.as_deref() == Some(invariant.as_str());
                    eprintln!(
                        "lab{lab} ({bug_name}): {replay} -> {}",
                        if ran_one && same { "same failure" } else { "DIFFERENT" }
                    );
                    if !ran_one || !same {
                        problems.push(format!(
                            "lab{lab} under zoo bug {bug_name}: `{replay}` (from {test}, [{invariant}]) ran {} and failed as {:?}",
                            if ran_one { "one test" } else { "other than one test" },
                            rerun.iter().map(|(t, i, _)| format!("{t} [{}]", i.as_deref().unwrap_or("?"))).collect::<Vec<_>>()
                        ));
                    }
                }
                std::fs::write(&file, &original).expect("restore the reference file");
                break;
            }
        }
        if lines.is_empty() {
            problems.push(format!("lab{lab}: no zoo bug made a public test print a replay line"));
        }
    }
    eprintln!("{replayed} replay lines run over {} labs", labs.len());
    eprintln!("{} failures printed no replay line:\n{}", notes.len(), notes.join("\n"));
    assert!(problems.is_empty(), "{} problems with replay lines:\n{}", problems.len(), problems.join("\n"));
}
