//! `export-bundle`: what a grading machine needs to grade one lab, and nothing more.
//!
//! A Gradescope image or a CI runner that grades lab N holds student code next to the course,
//! so it must not hold lab N's reference solution (nor any later lab's, nor another lab's
//! hidden suite). The bundle is the course cut down to: the kit, the stubs of labs 1..=N (their
//! manifests and public tests), the references of labs 1..N-1 (for `--deps reference`), lab
//! N's hidden suite, its rows of `points.toml`, the source policy, the grader's source with a
//! manifest that names none of what was left out, the lock file and the pinned toolchain. The
//! grader builds its dependency cache from the stub (see `Grader::prepare_cache`), so the
//! bundle grades without the reference it does not carry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::course::{Course, LabNumber};
use crate::error::{GraderError, Result};
use crate::handout::add_tree;

/// The bundle's files, in memory until written.
pub struct Bundle {
    pub lab: LabNumber,
    pub files: BTreeMap<PathBuf, Vec<u8>>,
}

/// Builds the grading bundle of `lab` (nothing is written).
pub fn build(course: &Course, lab: LabNumber) -> Result<Bundle> {
    if !course.gradable_labs()?.contains(&lab) {
        return Err(GraderError::Usage(format!("lab{lab} is not a gradable lab of this course")));
    }
    let root = course.root();
    let mut files = BTreeMap::new();
    let skip_target = [Path::new("target")];
    add_tree(&mut files, root, &course.kit_dir(), &skip_target)?;
    for stub in course.labs()?.into_iter().filter(|&k| k <= lab) {
        add_tree(&mut files, root, &course.stub_dir(stub), &skip_target)?;
    }
    for earlier in course.labs()?.into_iter().filter(|&k| k < lab) {
        let dir = course.solution_dir(earlier);
        if !dir.join("Cargo.toml").is_file() {
            return Err(GraderError::config(dir, "an earlier lab's reference is needed for --deps reference"));
        }
        add_tree(&mut files, root, &dir, &skip_target)?;
    }
    add_tree(&mut files, root, &course.hidden_suite_dir(lab), &[])?;
    let grader = course.grader_dir();
    add_tree(&mut files, root, &grader.join("src"), &[])?;
    let source_policy = root.join("source-policy");
    add_tree(&mut files, root, &source_policy, &skip_target)?;
    for (from, to) in [
        (course.policy_file(), PathBuf::from("grader/policy.toml")),
        (course.lockfile(), PathBuf::from("Cargo.lock")),
        (root.join("rust-toolchain.toml"), PathBuf::from("rust-toolchain.toml")),
    ] {
        if from.is_file() {
            files.insert(to, std::fs::read(&from).map_err(GraderError::io("read", &from))?);
        }
    }

    // Only this lab's rows of the points: the other labs' hidden test names stay home.
    let points = crate::points::PointsTable::load(&course.points_file())?;
    let mut rows = BTreeMap::new();
    rows.insert(format!("lab{lab}"), points.lab(lab));
    let text = toml::to_string(&rows).map_err(|error| GraderError::config(course.points_file(), error.to_string()))?;
    let header = format!("# Lab {lab}'s points (written by the grader's export-bundle from grader/points.toml).\n");
    files.insert(PathBuf::from("grader/points.toml"), format!("{header}{text}").into_bytes());

    files.insert(PathBuf::from("grader/Cargo.toml"), grader_manifest(course)?.into_bytes());
    let mut members = vec!["labs/distributed".to_string()];
    members.extend(course.labs()?.into_iter().filter(|&k| k <= lab).map(|k| format!("labs/lab{k}")));
    members.extend(course.labs()?.into_iter().filter(|&k| k < lab).map(|k| format!("solutions/lab{k}")));
    members.extend(["source-policy".to_string(), "grader".to_string()]);
    files.insert(PathBuf::from("Cargo.toml"), workspace_manifest(course, lab, members)?.into_bytes());
    Ok(Bundle { lab, files })
}

/// The grader's manifest without what the bundle leaves out: the references it tests against
/// (dev-dependencies) and the benchmarks (examples).
fn grader_manifest(course: &Course) -> Result<String> {
    let path = course.grader_dir().join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(GraderError::io("read", &path))?;
    let mut manifest: Table =
        text.parse().map_err(|error: toml::de::Error| GraderError::config(&path, error.to_string()))?;
    for left_out in ["dev-dependencies", "example", "bench", "test"] {
        manifest.remove(left_out);
    }
    // The grader's own tests are not in the bundle: cargo must not look for them.
    let package = manifest.get_mut("package").and_then(Value::as_table_mut);
    if let Some(package) = package {
        package.insert("autotests".into(), Value::Boolean(false));
        package.insert("autoexamples".into(), Value::Boolean(false));
        package.insert("autobenches".into(), Value::Boolean(false));
    }
    let body = toml::to_string(&manifest).map_err(|error| GraderError::config(&path, error.to_string()))?;
    Ok(format!("# The grader, as a grading bundle carries it (written by export-bundle).\n{body}"))
}

fn workspace_manifest(course: &Course, lab: LabNumber, members: Vec<String>) -> Result<String> {
    let path = course.manifest();
    let text = std::fs::read_to_string(&path).map_err(GraderError::io("read", &path))?;
    let original: Table =
        text.parse().map_err(|error: toml::de::Error| GraderError::config(&path, error.to_string()))?;
    let body = crate::handout::cut_workspace_manifest(&path, &original, members, |_| true)?;
    Ok(format!(
        "# The grading bundle of lab {lab} (written by the grader's export-bundle): no reference of lab {lab} or later.\n\
         # Build the grader with `cargo build --release -p grader`, then `target/release/grader grade --lab {lab} …`.\n{body}"
    ))
}

/// Builds the bundle of `lab` and writes it to `dest` (absent or empty).
pub fn export(course: &Course, lab: LabNumber, dest: &Path) -> Result<Bundle> {
    crate::handout::refuse_non_empty(dest, "the bundle")?;
    let bundle = build(course, lab)?;
    crate::handout::write_files(&bundle.files, dest)?;
    prune_lockfile(dest)?;
    Ok(bundle)
}

/// Drops from the `Cargo.lock` of an exported workspace (the bundle, the handout) the
/// packages only the left-out crates used (cargo keeps every other version as locked), so that
/// `cargo fetch --locked` and `cargo build --locked` work there, and a first build does not
/// rewrite the lock file.
pub(crate) fn prune_lockfile(dest: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.current_dir(dest).args(["metadata", "--format-version", "1"]).env_remove("CARGO_TARGET_DIR");
    let outcome = crate::process::run_with_timeout(command, std::time::Duration::from_secs(600), 8 << 10)?;
    if outcome.termination != crate::process::Termination::Exited(0) {
        return Err(GraderError::Tool(format!(
            "cargo metadata in the exported workspace at {} failed:\n{}",
            dest.display(),
            crate::process::cut_text(&outcome.output.text, 4096)
        )));
    }
    Ok(())
}
