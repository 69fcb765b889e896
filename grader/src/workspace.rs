//! The generated workspace a submission's lab is built in.
//!
//! It is made only of the course's own files plus the submission's `labs/labN/src/**`: the
//! kit, the lab's manifest, the public tests and the hidden suite all come from the course, so
//! a student cannot change tests, the kit or dependencies. Earlier labs come from the
//! reference solutions or from the submission (`--deps`).
//!
//! Layout, under `<target-dir>/work`:
//!
//! ```text
//! Cargo.toml          [workspace.package], [workspace.dependencies], [profile.*] of the course
//! Cargo.lock          the course's, so every dependency has the version the course tested
//! distributed/        the kit
//! graded/labN/        the lab's manifest, the submission's src/, tests/ = public + hidden/
//! deps/labK-reference/ or deps/labK-submission/   earlier labs
//! ```
//!
//! The paths are stable and files are rewritten only when they change, so the kit and the
//! dependencies are compiled once and only the submission's code is rebuilt on each grade.
//! A lock file keeps two grader processes from using one workspace at the same time.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Component, Path, PathBuf};

use toml::{Table, Value};

use crate::course::{Course, HIDDEN_SUITE, LabNumber, parse_lab_name};
use crate::error::{GraderError, Result};
use crate::fsutil::{mirror_files, mirror_tree, write_if_changed};
use crate::harness::instrument;
use crate::submission::Files;

/// Where an earlier lab comes from.
#[derive(Clone, Debug)]
pub enum LabSource {
    /// The course's reference solution.
    Reference,
    /// The files of a submitted `src/` (`labs/labK/src`), already read and checked.
    Submission(Files),
}

/// What to generate: the graded lab's sources and its earlier labs.
#[derive(Clone, Debug)]
pub struct WorkspaceRequest {
    pub lab: LabNumber,
    /// The files of the `src/` directory to grade, already read and checked.
    pub src: Files,
    /// One entry for each earlier lab.
    pub earlier_labs: BTreeMap<LabNumber, LabSource>,
}

/// A generated workspace, locked for as long as this value lives.
#[derive(Debug)]
pub struct GeneratedWorkspace {
    pub root: PathBuf,
    /// The graded package's directory (`graded/labN`).
    pub package_dir: PathBuf,
    /// The graded package's name (`labN`).
    pub package: String,
    /// Public test targets, then `hidden`.
    pub test_targets: Vec<String>,
    /// Where the hidden suite waits until [`GeneratedWorkspace::install_hidden_suite`].
    hidden_staging: PathBuf,
    _lock: File,
}

/// Writes (or updates) the workspace for `request` under `work_root`.
pub fn generate(course: &Course, work_root: &Path, request: &WorkspaceRequest) -> Result<GeneratedWorkspace> {
    std::fs::create_dir_all(work_root).map_err(GraderError::io("create", work_root))?;
    let lock_path = work_root.join(".grader-lock");
    let lock = File::create(&lock_path).map_err(GraderError::io("create", &lock_path))?;
    lock.lock().map_err(GraderError::io("lock", &lock_path))?;

    let lab = request.lab;
    let kit_dir = work_root.join("distributed");
    let package_dir = work_root.join("graded").join(format!("lab{lab}"));
    let mut lab_dirs = BTreeMap::new();
    for (&earlier, source) in &request.earlier_labs {
        let (dir, package) = match source {
            LabSource::Reference => {
                (work_root.join("deps").join(format!("lab{earlier}-reference")), format!("lab{earlier}-solution"))
            }
            LabSource::Submission(_) => {
                (work_root.join("deps").join(format!("lab{earlier}-submission")), format!("lab{earlier}"))
            }
        };
        lab_dirs.insert(earlier, GeneratedLab { dir, package });
    }
    lab_dirs.insert(lab, GeneratedLab { dir: package_dir.clone(), package: format!("lab{lab}") });
    let rewriter = PathRewriter { course, kit_dir: kit_dir.clone(), labs: &lab_dirs };

    // The root manifest and the lock file.
    let mut members = vec!["distributed".to_string(), format!("graded/lab{lab}")];
    for (&earlier, generated) in &lab_dirs {
        if earlier != lab {
            members.push(relative_member(work_root, &generated.dir));
        }
    }
    // The packages built from what was submitted (the graded lab, and earlier labs under
    // `--deps submission`); the references come prebuilt from the cache.
    let submitted: Vec<String> = lab_dirs
        .iter()
        .filter(|&(&k, _)| k == lab || matches!(request.earlier_labs.get(&k), Some(LabSource::Submission(_))))
        .map(|(_, generated)| generated.package.clone())
        .collect();
    let root_manifest = workspace_manifest(course, &rewriter, &members, &submitted)?;
    write_if_changed(&work_root.join("Cargo.toml"), root_manifest.as_bytes())?;
    if course.lockfile().is_file() {
        let lock_text = std::fs::read(course.lockfile()).map_err(GraderError::io("read", course.lockfile()))?;
        write_if_changed(&work_root.join("Cargo.lock"), &lock_text)?;
    }

    // The kit.
    mirror_tree(&course.kit_dir(), &kit_dir, &[Path::new("target")], u64::MAX)?;
    let kit_manifest = read_manifest(&course.kit_dir().join("Cargo.toml"))?;
    let kit_manifest = rewriter.rewrite_member(kit_manifest, &course.kit_dir(), &[])?;
    write_if_changed(&kit_dir.join("Cargo.toml"), kit_manifest.as_bytes())?;

    // Earlier labs.
    for (&earlier, source) in &request.earlier_labs {
        let generated = &lab_dirs[&earlier];
        let manifest_dir = match source {
            LabSource::Reference => course.solution_dir(earlier),
            LabSource::Submission(_) => course.stub_dir(earlier),
        };
        let manifest = read_manifest(&manifest_dir.join("Cargo.toml"))?;
        let manifest = rewriter.rewrite_member(manifest, &manifest_dir, &[])?;
        write_if_changed(&generated.dir.join("Cargo.toml"), manifest.as_bytes())?;
        match source {
            LabSource::Reference => {
                mirror_tree(&course.solution_dir(earlier).join("src"), &generated.dir.join("src"), &[], u64::MAX)?;
            }
            LabSource::Submission(files) => mirror_files(files, &generated.dir.join("src"))?,
        }
    }

    // The graded lab: the course's manifest plus the hidden suite's dev-dependencies.
    let stub_dir = course.stub_dir(lab);
    let manifest = read_manifest(&stub_dir.join("Cargo.toml"))?;
    let grader_manifest = read_manifest(&course.grader_dir().join("Cargo.toml"))?;
    let suite_dev_deps = suite_dev_dependencies(&grader_manifest, &course.grader_dir());
    let manifest = rewriter.rewrite_member(manifest, &stub_dir, &suite_dev_deps)?;
    write_if_changed(&package_dir.join("Cargo.toml"), manifest.as_bytes())?;
    mirror_files(&request.src, &package_dir.join("src"))?;
    // The course's tests, each test body guarded by the harness (see `crate::harness`).
    let mut test_targets = course.public_suites(lab)?;
    test_targets.push(HIDDEN_SUITE.to_string());
    let mut tests = course_files(&stub_dir.join("tests"))?;
    tests.retain(|path, _| !path.starts_with(HIDDEN_SUITE));
    for (path, contents) in course_files(&course.hidden_suite_dir(lab))? {
        tests.insert(Path::new(HIDDEN_SUITE).join(path), contents);
    }
    let roots: Vec<PathBuf> = test_targets
        .iter()
        .flat_map(|target| [PathBuf::from(format!("{target}.rs")), Path::new(target).join("main.rs")])
        .collect();
    for (path, contents) in tests.iter_mut() {
        if path.extension().is_some_and(|ext| ext == "rs") {
            let shown = stub_dir.join("tests").join(path.as_path());
            let text = String::from_utf8(std::mem::take(contents))
                .map_err(|_| GraderError::config(&shown, "a test file is not UTF-8"))?;
            *contents = instrument(&shown, &text, roots.contains(path))?.into_bytes();
        }
    }
    // The hidden suite is written only after the library has built (see
    // `GeneratedWorkspace::install_hidden_suite`): while the student's code compiles, there is
    // no hidden file for it to name.
    let hidden_files: Files = tests
        .iter()
        .filter_map(|(path, contents)| Some((path.strip_prefix(HIDDEN_SUITE).ok()?.to_path_buf(), contents.clone())))
        .collect();
    tests.retain(|path, _| !path.starts_with(HIDDEN_SUITE));
    // Moved aside and back by renames, which keep modification times: an unchanged suite is
    // not rebuilt.
    let hidden_staging = work_root.join("hidden-staging").join(format!("lab{lab}"));
    let hidden_in_place = package_dir.join("tests").join(HIDDEN_SUITE);
    if hidden_in_place.exists() {
        if hidden_staging.exists() {
            std::fs::remove_dir_all(&hidden_staging).map_err(GraderError::io("remove", &hidden_staging))?;
        }
        std::fs::create_dir_all(work_root.join("hidden-staging")).map_err(GraderError::io("create", work_root))?;
        std::fs::rename(&hidden_in_place, &hidden_staging).map_err(GraderError::io("move", &hidden_in_place))?;
    }
    mirror_files(&hidden_files, &hidden_staging)?;
    mirror_files(&tests, &package_dir.join("tests"))?;
    Ok(GeneratedWorkspace {
        root: work_root.to_path_buf(),
        package_dir,
        package: format!("lab{lab}"),
        test_targets,
        hidden_staging,
        _lock: lock,
    })
}

/// The files of a course directory (trusted: it is the course's own), in memory.
fn course_files(dir: &Path) -> Result<Files> {
    let mut files = Files::new();
    for file in crate::fsutil::list_files(dir, &[])? {
        let path = dir.join(&file);
        files.insert(file, std::fs::read(&path).map_err(GraderError::io("read", &path))?);
    }
    Ok(files)
}

impl GeneratedWorkspace {
    /// Writes the hidden suite into the graded package, readable by its owner only (test
    /// processes run as another user and need only the built executable).
    pub fn install_hidden_suite(&self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.package_dir.join("tests").join(HIDDEN_SUITE);
        if self.hidden_staging.exists() {
            std::fs::rename(&self.hidden_staging, &dir).map_err(GraderError::io("move", &self.hidden_staging))?;
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(GraderError::io("protect", &dir))
    }
}

/// Writes, in the new or empty directory `dest`, the workspace a grade of `lab` builds: the
/// reference's code (or the stub's) as the graded package, earlier labs as references, and the
/// hidden suite in place. Nothing else of the grade happens (no policy check, no sandbox): it
/// is the instructors' bench for cargo-mutants on a reference (`cargo mutants --package labN
/// -- --test public --test hidden`, see the instructors' chapter) and for rerunning a graded
/// test by hand.
pub fn export(course: &Course, lab: LabNumber, reference: bool, dest: &Path) -> Result<GeneratedWorkspace> {
    crate::handout::refuse_non_empty(dest, "the workspace")?;
    let (dir, shown) = if reference { (course.solution_dir(lab), "reference") } else { (course.stub_dir(lab), "stub") };
    let src = crate::submission::read_tree(&dir.join("src"), shown, &[])
        .map_err(|refusal| GraderError::config(dir.clone(), refusal.notes.join("; ")))?;
    let earlier_labs = course
        .labs()?
        .into_iter()
        .filter(|&earlier| earlier < lab)
        .map(|earlier| (earlier, LabSource::Reference))
        .collect();
    let workspace = generate(course, dest, &WorkspaceRequest { lab, src, earlier_labs })?;
    workspace.install_hidden_suite()?;
    // The course's tests as they are, without the grade's harness (`crate::harness`), whose
    // guard reads a secret from descriptor 3: only a grade provides one, and elsewhere that
    // descriptor may be a pipe (cargo's jobserver) that a read would wait on for ever.
    let tests = workspace.package_dir.join("tests");
    for (path, contents) in course_files(&course.stub_dir(lab).join("tests"))? {
        if !path.starts_with(HIDDEN_SUITE) {
            write_if_changed(&tests.join(path), &contents)?;
        }
    }
    for (path, contents) in course_files(&course.hidden_suite_dir(lab))? {
        write_if_changed(&tests.join(HIDDEN_SUITE).join(path), &contents)?;
    }
    relative_manifest_paths(dest)?;
    Ok(workspace)
}

/// Rewrites the absolute paths a generated workspace's manifests hold into `dest` as paths
/// relative to each manifest, so that a copy of the workspace (cargo-mutants builds in one)
/// refers to itself, not to the original.
fn relative_manifest_paths(dest: &Path) -> Result<()> {
    let root = format!("\"{}", dest.display());
    for file in crate::fsutil::list_files(dest, &[Path::new("target")])? {
        if file.file_name().is_none_or(|name| name != "Cargo.toml") {
            continue;
        }
        let path = dest.join(&file);
        let text = std::fs::read_to_string(&path).map_err(GraderError::io("read", &path))?;
        if !text.contains(&root) {
            continue;
        }
        let depth = file.components().count() - 1;
        let up = if depth == 0 { ".".to_string() } else { vec![".."; depth].join("/") };
        let text =
            text.replace(&format!("{root}/"), &format!("\"{up}/")).replace(&format!("{root}\""), &format!("\"{up}\""));
        std::fs::write(&path, text).map_err(GraderError::io("write", &path))?;
    }
    Ok(())
}

struct GeneratedLab {
    dir: PathBuf,
    package: String,
}

fn relative_member(root: &Path, dir: &Path) -> String {
    dir.strip_prefix(root).unwrap_or(dir).to_string_lossy().replace('\\', "/")
}

fn read_manifest(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path).map_err(GraderError::io("read", path))?;
    text.parse::<Table>().map_err(|error| GraderError::config(path, error.to_string()))
}

/// The generated root manifest: the course's `[workspace]` settings and profiles, with the
/// members of this build and dependency paths that point into the generated tree.
fn workspace_manifest(
    course: &Course,
    rewriter: &PathRewriter<'_>,
    members: &[String],
    submitted: &[String],
) -> Result<String> {
    let path = course.manifest();
    let original = read_manifest(&path)?;
    let workspace = original
        .get("workspace")
        .and_then(Value::as_table)
        .ok_or_else(|| GraderError::config(&path, "not a workspace manifest (no [workspace])"))?;
    let mut generated_workspace = Table::new();
    for (key, value) in workspace {
        match key.as_str() {
            "members" | "default-members" | "exclude" => {}
            "dependencies" => {
                let mut dependencies = Table::new();
                for (name, spec) in value.as_table().into_iter().flatten() {
                    if let Some(spec) = rewriter.rewrite_dependency(name, spec, course.root())? {
                        dependencies.insert(name.clone(), spec);
                    }
                }
                generated_workspace.insert(key.clone(), Value::Table(dependencies));
            }
            _ => {
                generated_workspace.insert(key.clone(), value.clone());
            }
        }
    }
    generated_workspace.insert("members".into(), Value::Array(members.iter().cloned().map(Value::String).collect()));
    let mut manifest = Table::new();
    manifest.insert("workspace".into(), Value::Table(generated_workspace));
    for key in ["profile", "patch"] {
        if let Some(value) = original.get(key) {
            let mut value = value.clone();
            if key == "patch" {
                absolutize_patch_paths(&mut value, course.root());
            }
            manifest.insert(key.into(), value);
        }
    }
    grading_profiles(&mut manifest, submitted);
    let body = toml::to_string(&manifest).map_err(|error| GraderError::config(&path, error.to_string()))?;
    Ok(format!(
        "# Generated by the grader from {}: do not edit, it is rewritten on every grade.\n{body}",
        path.display()
    ))
}

/// Every grade compiles the submitted labs and the course's test targets against them, so
/// their build is what a warm grade waits for. Two settings make it several times faster, and
/// change no test's verdict:
///
/// - no debug info (a failure's message names its file and line without it: panic locations
///   are compiled in; and the grader runs tests without backtraces);
/// - `opt-level = 0` for the submitted packages and their tests (the kit and every dependency
///   keep theirs): the labs' tests spend their time in the kit and in I/O, not in the lab's
///   code. Overflow checks and debug assertions are on at every level of the test profile.
///
/// Measured on lab 1's reference (2 cores, load 4 to 7): the test targets build in about 4 s
/// instead of 13 to 19 s, and the 58 tests run in 0.51 s instead of 0.30 s.
fn grading_profiles(manifest: &mut Table, submitted: &[String]) {
    let profiles = manifest.entry("profile").or_insert_with(|| Value::Table(Table::new()));
    let Some(profiles) = profiles.as_table_mut() else { return };
    for profile in ["dev", "test"] {
        let entry = profiles.entry(profile).or_insert_with(|| Value::Table(Table::new()));
        if let Some(table) = entry.as_table_mut() {
            table.insert("debug".into(), Value::Boolean(false));
        }
    }
    let Some(test) = profiles.get_mut("test").and_then(Value::as_table_mut) else { return };
    let packages = test.entry("package").or_insert_with(|| Value::Table(Table::new()));
    let Some(packages) = packages.as_table_mut() else { return };
    for package in submitted {
        let mut settings = Table::new();
        settings.insert("opt-level".into(), Value::Integer(0));
        packages.insert(package.clone(), Value::Table(settings));
    }
}

fn absolutize_patch_paths(patch: &mut Value, base: &Path) {
    for (_, registry) in patch.as_table_mut().into_iter().flatten() {
        for (_, spec) in registry.as_table_mut().into_iter().flatten() {
            if let Some(Value::String(path)) = spec.as_table_mut().and_then(|t| t.get_mut("path")) {
                *path = normalize(&base.join(&*path)).to_string_lossy().into_owned();
            }
        }
    }
}

/// The grader's `[dev-dependencies]` other than the labs: what the hidden suites use.
fn suite_dev_dependencies(grader_manifest: &Table, grader_dir: &Path) -> Vec<(String, Value, PathBuf)> {
    grader_manifest
        .get("dev-dependencies")
        .and_then(Value::as_table)
        .into_iter()
        .flatten()
        .filter(|(name, spec)| lab_of_dependency(name, spec).is_none())
        .map(|(name, spec)| (name.clone(), spec.clone(), grader_dir.to_path_buf()))
        .collect()
}

/// Which lab a dependency names, by its key (`lab1`) or its package (`lab1-solution`).
fn lab_of_dependency(name: &str, spec: &Value) -> Option<LabNumber> {
    let package = spec.as_table().and_then(|t| t.get("package")).and_then(Value::as_str).unwrap_or(name);
    parse_lab_name(package).or_else(|| package.strip_suffix("-solution").and_then(parse_lab_name))
}

/// Rewrites dependency paths of course manifests so that they point into the generated tree.
struct PathRewriter<'a> {
    course: &'a Course,
    kit_dir: PathBuf,
    labs: &'a BTreeMap<LabNumber, GeneratedLab>,
}

impl PathRewriter<'_> {
    /// One dependency; `None` drops it (a lab this workspace does not hold).
    fn rewrite_dependency(&self, name: &str, spec: &Value, manifest_dir: &Path) -> Result<Option<Value>> {
        let Some(table) = spec.as_table() else { return Ok(Some(spec.clone())) };
        if table.get("workspace").and_then(Value::as_bool) == Some(true) {
            return Ok(Some(spec.clone()));
        }
        let Some(path) = table.get("path").and_then(Value::as_str) else {
            if let Some(lab) = lab_of_dependency(name, spec) {
                return Err(GraderError::config(
                    manifest_dir.join("Cargo.toml"),
                    format!("dependency `{name}` names lab {lab} without a path"),
                ));
            }
            return Ok(Some(spec.clone()));
        };
        let target = normalize(&manifest_dir.join(path));
        let mut table = table.clone();
        let lab = target.file_name().and_then(|n| n.to_str()).and_then(parse_lab_name).filter(|&k| {
            target == normalize(&self.course.stub_dir(k)) || target == normalize(&self.course.solution_dir(k))
        });
        if let Some(lab) = lab {
            let Some(generated) = self.labs.get(&lab) else { return Ok(None) };
            table.insert("path".into(), Value::String(generated.dir.to_string_lossy().into_owned()));
            table.insert("package".into(), Value::String(generated.package.clone()));
        } else if target == normalize(&self.course.kit_dir()) {
            table.insert("path".into(), Value::String(self.kit_dir.to_string_lossy().into_owned()));
        } else {
            table.insert("path".into(), Value::String(target.to_string_lossy().into_owned()));
        }
        Ok(Some(Value::Table(table)))
    }

    /// A member manifest: dependency paths rewritten, and `extra_dev_dependencies` added where
    /// the manifest lacks them.
    fn rewrite_member(
        &self,
        mut manifest: Table,
        manifest_dir: &Path,
        extra_dev_dependencies: &[(String, Value, PathBuf)],
    ) -> Result<String> {
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            self.rewrite_section(manifest.get_mut(section), manifest_dir)?;
        }
        for (_, target) in manifest.get_mut("target").and_then(Value::as_table_mut).into_iter().flatten() {
            for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                self.rewrite_section(target.get_mut(section), manifest_dir)?;
            }
        }
        if !extra_dev_dependencies.is_empty() {
            let dev = manifest
                .entry("dev-dependencies")
                .or_insert_with(|| Value::Table(Table::new()))
                .as_table_mut()
                .ok_or_else(|| {
                GraderError::config(manifest_dir.join("Cargo.toml"), "[dev-dependencies] is not a table")
            })?;
            for (name, spec, origin) in extra_dev_dependencies {
                if !dev.contains_key(name)
                    && let Some(spec) = self.rewrite_dependency(name, spec, origin)?
                {
                    dev.insert(name.clone(), spec);
                }
            }
        }
        toml::to_string(&manifest)
            .map_err(|error| GraderError::config(manifest_dir.join("Cargo.toml"), error.to_string()))
    }

    fn rewrite_section(&self, section: Option<&mut Value>, manifest_dir: &Path) -> Result<()> {
        let Some(section) = section.and_then(Value::as_table_mut) else { return Ok(()) };
        let names: Vec<String> = section.keys().cloned().collect();
        for name in names {
            let rewritten = self.rewrite_dependency(&name, &section[&name], manifest_dir)?;
            match rewritten {
                Some(spec) => {
                    section.insert(name, spec);
                }
                None => {
                    return Err(GraderError::config(
                        manifest_dir.join("Cargo.toml"),
                        format!("dependency `{name}` is a lab this build does not include"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `a/b/../c` → `a/c`, without touching the file system (the path may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normalized.pop();
            }
            other => normalized.push(other),
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
    }

    #[test]
    fn labs_are_recognised_by_key_or_package() {
        let spec: Value =
            toml::from_str::<Table>(r#"x = { package = "lab2-solution", path = "../x" }"#).unwrap()["x"].clone();
        assert_eq!(lab_of_dependency("lab", &spec), Some(2));
        assert_eq!(lab_of_dependency("lab3", &Value::String("1".into())), Some(3));
        assert_eq!(lab_of_dependency("proptest", &Value::String("1".into())), None);
    }
}
