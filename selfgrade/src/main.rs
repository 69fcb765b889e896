//! `cargo run -p selfgrade -- lab1`: your lab graded on its public tests, the way the course's
//! grader grades it (one process per test, the course's seeds), with the points, the invariant
//! each test guards and the replay line of each failure.
//!
//! The points come from `selfgrade/points.toml` (the public rows of the course's
//! `grader/points.toml`, written by the handout export), or from `grader/points.toml` in the
//! course repository itself. The hidden tests are not here: the instructors' grade adds them.

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

fn points(lab: &str) -> Result<Lab, String> {
    let root = root();
    let path = [root.join("selfgrade/points.toml"), root.join("grader/points.toml")]
        .into_iter()
        .find(|path| path.is_file())
        .ok_or("no points.toml found")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut labs: BTreeMap<String, Lab> = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut table = labs.remove(&format!("lab{lab}")).ok_or(format!("{} has no [lab{lab}]", path.display()))?;
    table.tests.retain(|test| test.suite != "hidden");
    Ok(table)
}

fn grade(lab: &str) -> Result<(), String> {
    let table = points(lab)?;
    let package = format!("lab{lab}");
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
