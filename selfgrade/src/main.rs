//! `cargo run -p selfgrade -- lab1`: your lab graded on its public tests, the way the course's
//! grader grades it (one process per test, the course's seeds), with the points, the invariant
//! each test guards and the replay line of each failure.
//!
//! The points come from `selfgrade/points.toml` (the public rows of the course's
//! `grader/points.toml`, written by the handout export), or from `grader/points.toml` in the
//! course repository itself. The hidden tests are not here: the instructors' grade adds them.
//!
//! First it applies the course's source policy (`selfgrade/policy.toml` or
//! `grader/policy.toml`), with the same code as the grader: a lab that names what labs may not
//! (`std::fs`, `unsafe`, `include_str!`, …) scores 0 there, and learns it here first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde::Deserialize;

#[derive(Deserialize)]
struct Lab {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    tests: Vec<Test>,
    /// Files of src/ the course gives: the grader uses its own copy, and the policy does not
    /// refuse them (lab 8's handles open the real disk there).
    #[serde(default)]
    given: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    budget_secs: Option<u64>,
}

#[derive(Deserialize)]
struct Test {
    suite: String,
    name: String,
    points: f64,
    invariant: String,
    #[serde(default)]
    #[allow(dead_code)]
    timeout_secs: Option<u64>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [lab] = args.as_slice() else {
        eprintln!("usage: cargo run -p selfgrade -- labN");
        return ExitCode::from(2);
    };
    let lab = lab.trim_start_matches("lab");
    match grade(lab) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The course file `name`: the handout's copy in `selfgrade/`, or the course's own in
/// `grader/` when run in the course repository.
fn course_file(name: &str) -> Result<PathBuf, String> {
    let root = root();
    [root.join("selfgrade").join(name), root.join("grader").join(name)]
        .into_iter()
        .find(|path| path.is_file())
        .ok_or(format!("no {name} found in selfgrade/ or grader/"))
}

fn points(lab: &str) -> Result<Lab, String> {
    let path = course_file("points.toml")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut labs: BTreeMap<String, Lab> = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut table = labs.remove(&format!("lab{lab}")).ok_or(format!("{} has no [lab{lab}]", path.display()))?;
    table.tests.retain(|test| test.suite != "hidden");
    Ok(table)
}

/// The source policy's refusals for `labs/labN/src`, as the grader words them.
fn policy_refusals(lab: &str) -> Result<Vec<String>, String> {
    let root = root();
    let number: source_policy::LabNumber = lab.parse().map_err(|_| format!("not a lab number: {lab}"))?;
    let policy = source_policy::Policy::load(&course_file("policy.toml")?).map_err(|e| e.to_string())?;
    let shown = format!("labs/lab{lab}/src");
    let mut files = Vec::new();
    let mut refusals = Vec::new();
    read_sources(&root.join(&shown), &shown, &mut files, &mut refusals)?;
    let sources = source_policy::SourceSet {
        files: files.iter().map(|(name, bytes)| (name.clone(), bytes.as_slice())).collect(),
    };
    let given = points(lab)?.given;
    for violation in source_policy::check_outside_given(&sources, &policy.lab(number), &shown, &given) {
        refusals.push(format!("refused: {violation}"));
    }
    Ok(refusals)
}

/// Every file under `dir`, named `shown/…`; a link or anything but a file or directory is a
/// refusal, as in the grader (it never follows a link out of a submission).
fn read_sources(
    dir: &Path,
    shown: &str,
    files: &mut Vec<(String, Vec<u8>)>,
    refusals: &mut Vec<String>,
) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{shown}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{shown}: {e}"))?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = format!("{shown}/{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type().map_err(|e| format!("{name}: {e}"))?;
        if kind.is_dir() {
            read_sources(&entry.path(), &name, files, refusals)?;
        } else if kind.is_file() {
            files.push((name.clone(), std::fs::read(entry.path()).map_err(|e| format!("{name}: {e}"))?));
        } else {
            refusals.push(format!("refused: {name} is a link or a special file; the grader reads only plain files"));
        }
    }
    Ok(())
}

fn grade(lab: &str) -> Result<(), String> {
    let table = points(lab)?;
    let package = format!("lab{lab}");
    let refusals = policy_refusals(lab)?;
    if !refusals.is_empty() {
        let max: f64 = table.tests.iter().map(|test| test.points).sum();
        println!("{package}: 0/{max} — the grader refuses to build this lab:");
        for refusal in &refusals {
            println!("  {}", refusal.chars().filter(|c| !c.is_control()).collect::<String>());
        }
        println!("\nLabs do all I/O through the kit's Vfs and need no unsafe code, no std::fs, no std::process.");
        return Ok(());
    }
    eprintln!("building the tests of {package} …");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args(["test", "-p", &package, "--no-run", "--message-format=json"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut executables = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let is_test =
            message.pointer("/target/kind").and_then(|k| k.as_array()).is_some_and(|k| k.iter().any(|k| k == "test"));
        if let (true, Some(name), Some(exe)) = (
            is_test,
            message.pointer("/target/name").and_then(|n| n.as_str()),
            message.get("executable").and_then(|e| e.as_str()),
        ) {
            executables.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    if !output.status.success() {
        return Err(format!("{package} does not compile (see cargo's errors above)"));
    }
    let lab_dir = root().join("labs").join(&package);
    let (mut score, mut max) = (0.0, 0.0);
    let title = table.title.as_deref().map(|t| format!(" — {t}")).unwrap_or_default();
    println!("{package}{title} (public tests; the hidden ones are graded by the instructors)");
    for test in &table.tests {
        max += test.points;
        let Some(exe) = executables.get(&test.suite) else {
            println!("  missing  0/{}  {}  {}  {}", test.points, test.suite, test.name, test.invariant);
            continue;
        };
        let run = Command::new(exe)
            .current_dir(&lab_dir)
            .args(["--exact", &test.name, "--test-threads=1"])
            .env_remove("LAB_SEED")
            .env_remove("PROPTEST_CASES")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
        let passed = run.status.success() && text.contains("test result: ok. 1 passed");
        if passed {
            score += test.points;
        }
        let status = if passed { "passed" } else { "failed" };
        let got = if passed { test.points } else { 0.0 };
        println!("  {status:<7} {got}/{}  {}  {}  [{}]", test.points, test.suite, test.name, test.invariant);
        if !passed {
            for line in panic_lines(&text) {
                println!("      {line}");
            }
        }
    }
    println!("\nTotal: {score}/{max} on the public tests");
    Ok(())
}

/// The lines after `panicked at …:`: the invariant, what was seen, and the replay line.
fn panic_lines(output: &str) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    let Some(start) = lines.iter().position(|line| line.contains(" panicked at ")) else {
        return vec!["(no panic message: see `cargo test` output)".into()];
    };
    lines[start + 1..]
        .iter()
        .take_while(|line| !line.starts_with("note: run with") && !line.trim().is_empty())
        .take(8)
        .map(|line| line.chars().filter(|c| !c.is_control()).collect())
        .collect()
}
