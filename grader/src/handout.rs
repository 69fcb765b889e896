//! `export-handout`: the repository students start from.
//!
//! It holds the book (minus its build output and its own test crate), the kit, every lab's
//! stub with its public tests, a workspace manifest with only those members, the lock file, a
//! `.gitignore` and a README for students. It must never hold a reference solution or a hidden
//! test: before anything is written, every line of the handout is compared with the lines that
//! only the solutions and the hidden suites contain, and the export is refused if one appears.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::course::{Course, LabNumber};
use crate::error::{GraderError, Result};
use crate::fsutil::list_files;

/// A line shorter than this (once whitespace is squeezed) is too common to be a secret:
/// `}`, `Ok(())`, `let mut entries = Vec::new();`.
const MIN_SECRET_LINE: usize = 32;

/// The handout's files, in memory until they have been checked.
pub struct Handout {
    pub files: BTreeMap<PathBuf, Vec<u8>>,
}

impl std::fmt::Debug for Handout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handout").field("files", &self.files.keys().collect::<Vec<_>>()).finish()
    }
}

/// A line of the handout that only a solution or a hidden suite should contain.
#[derive(Clone, Debug)]
pub struct Leak {
    pub handout_file: PathBuf,
    pub line_number: usize,
    pub line: String,
    /// Where the secret line comes from (`solutions/lab1/src/wal.rs`).
    pub source: PathBuf,
}

/// Builds the handout of `course` (nothing is written).
pub fn build(course: &Course) -> Result<Handout> {
    build_released(course, None)
}

/// Builds the handout of the labs in `released` only (all labs if `None`): a staged release
/// leaves out the later labs' stubs, tests and chapters. The instructors' pages
/// (`instructors.md`, `instructors-*.md`) are never in it.
pub fn build_released(course: &Course, released: Option<&[LabNumber]>) -> Result<Handout> {
    let mut files = BTreeMap::new();
    let root = course.root();
    let labs: Vec<LabNumber> =
        course.labs()?.into_iter().filter(|lab| released.is_none_or(|released| released.contains(lab))).collect();

    // The book, minus its build output and the crate that tests its code.
    let book = course.book_dir();
    let build_dir = book_build_dir(&book)?;
    let skip = [build_dir.as_path(), Path::new("tests"), Path::new("target")];
    add_tree(&mut files, root, &book, &skip)?;
    // The kit and the stubs with their public tests.
    add_tree(&mut files, root, &course.kit_dir(), &[Path::new("target")])?;
    for &lab in &labs {
        add_tree(&mut files, root, &course.stub_dir(lab), &[Path::new("target")])?;
    }

    leave_out_chapters(&mut files, course, &labs)?;
    // The student-side grader of the public tests, with the public rows of the points.
    let selfgrade = root.join("selfgrade");
    if selfgrade.join("Cargo.toml").is_file() {
        add_tree(&mut files, root, &selfgrade, &[Path::new("target")])?;
        let table = crate::points::PointsTable::load(&course.points_file())?;
        let mut public = BTreeMap::new();
        for &lab in &labs {
            let mut points = table.lab(lab);
            points.tests.retain(|test| test.visibility() == crate::points::Visibility::Visible);
            public.insert(format!("lab{lab}"), points);
        }
        let text =
            toml::to_string(&public).map_err(|error| GraderError::config(course.points_file(), error.to_string()))?;
        let header = "# The public tests' points (written by the grader's export-handout from grader/points.toml).\n";
        files.insert(PathBuf::from("selfgrade/points.toml"), format!("{header}{text}").into_bytes());
        // The source policy selfgrade applies first, as the grader does.
        add_tree(&mut files, root, &root.join("source-policy"), &[Path::new("target")])?;
        let policy = course.policy_file();
        if policy.is_file() {
            let text = std::fs::read(&policy).map_err(GraderError::io("read", &policy))?;
            let header = b"# The source policy (copied by the grader's export-handout from grader/policy.toml).\n";
            files.insert(PathBuf::from("selfgrade/policy.toml"), [header.as_slice(), &text].concat());
        }
    }
    add_benchmarks(&mut files, course, &labs)?;
    files.insert(PathBuf::from("Cargo.toml"), handout_manifest(course, &labs, &files)?.into_bytes());
    if course.lockfile().is_file() {
        let lock = std::fs::read(course.lockfile()).map_err(GraderError::io("read", course.lockfile()))?;
        files.insert(PathBuf::from("Cargo.lock"), lock);
    }
    // The students build with the release the grader builds with.
    let toolchain = root.join("rust-toolchain.toml");
    if toolchain.is_file() {
        let text = std::fs::read(&toolchain).map_err(GraderError::io("read", &toolchain))?;
        files.insert(PathBuf::from("rust-toolchain.toml"), text);
    }
    files.insert(PathBuf::from(".gitignore"), format!("/target\n/book/{}\n", build_dir.display()).into_bytes());
    files.insert(PathBuf::from("README.md"), student_readme(course, &labs)?.into_bytes());
    Ok(Handout { files })
}

/// The handout's `bench` crate: the benchmarks of the released labs (`grader/bench/labN.rs`,
/// which the course runs on the references as the grader's examples `labN_bench`), copied
/// unchanged as its examples, with the student's labs as its dependencies. The same file
/// prints the same table, on the student's code: `cargo run --release -p bench --example
/// lab1`. A benchmark that uses a crate the handout does not have (a lab not released) is left
/// out. A lab's further benchmarks (`grader/bench/labN_<what>.rs`, the grader's example of the
/// same name) go along as examples of their own names: `--example lab8_cluster`.
fn add_benchmarks(files: &mut BTreeMap<PathBuf, Vec<u8>>, course: &Course, labs: &[LabNumber]) -> Result<()> {
    let bench_dir = course.grader_dir().join("bench");
    let common = bench_dir.join("common.rs");
    if !common.is_file() {
        return Ok(());
    }
    let released: BTreeSet<String> = labs.iter().map(|lab| format!("lab{lab}")).collect();
    // The workspace's pinned dependencies a benchmark may name (`crc32fast::Hasher`).
    let manifest_path = course.manifest();
    let manifest_text = std::fs::read_to_string(&manifest_path).map_err(GraderError::io("read", &manifest_path))?;
    let manifest: Table = manifest_text
        .parse()
        .map_err(|error: toml::de::Error| GraderError::config(&manifest_path, error.to_string()))?;
    let shared: BTreeSet<String> = manifest
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table)
        .map(|deps| deps.keys().filter(|name| name.as_str() != "distributed").cloned().collect())
        .unwrap_or_default();
    // A lab's benchmark is `labN.rs`; a lab may have more, `labN_<what>.rs` (lab 8's cluster),
    // which go along as examples of the same names.
    let mut extra: Vec<String> = std::fs::read_dir(&bench_dir)
        .map_err(GraderError::io("read", &bench_dir))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_string))
        .collect();
    extra.sort();
    let mut examples = Vec::new();
    let mut dependencies = BTreeSet::new();
    for &lab in labs {
        let main = format!("lab{lab}");
        let names = std::iter::once(main.clone()).chain(
            extra
                .iter()
                .filter(|name| name.strip_prefix(&format!("{main}_")).is_some_and(|rest| !rest.is_empty()))
                .cloned(),
        );
        for name in names {
            let path = bench_dir.join(format!("{name}.rs"));
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(GraderError::io("read", &path))?;
            let used = path_roots(&text);
            // A lab the handout does not have: the benchmark cannot build there.
            if used.iter().any(|name| crate::course::parse_lab_name(name).is_some() && !released.contains(name)) {
                continue;
            }
            dependencies.extend(used.into_iter().filter(|name| released.contains(name) || shared.contains(name)));
            files.insert(PathBuf::from(format!("bench/examples/{name}.rs")), text.into_bytes());
            examples.push(name);
        }
    }
    if examples.is_empty() {
        return Ok(());
    }
    let common_text = std::fs::read(&common).map_err(GraderError::io("read", &common))?;
    files.insert(PathBuf::from("bench/examples/common.rs"), common_text);
    let mut manifest = String::from(
        "# The labs' benchmarks, run on your code (written by the grader's export-handout from\n\
         # grader/bench/): `cargo run --release -p bench --example lab1`. The course runs the same\n\
         # files on its reference solutions, so both print the same table.\n\
         [package]\nname = \"bench\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\
         autoexamples = false\n\n[dependencies]\ndistributed = { path = \"../labs/distributed\" }\n",
    );
    for name in &dependencies {
        if released.contains(name) {
            manifest.push_str(&format!("{name} = {{ path = \"../labs/{name}\" }}\n"));
        } else {
            manifest.push_str(&format!("{name} = {{ workspace = true }}\n"));
        }
    }
    for name in examples {
        manifest.push_str(&format!("\n[[example]]\nname = \"{name}\"\npath = \"examples/{name}.rs\"\n"));
    }
    files.insert(PathBuf::from("bench/Cargo.toml"), manifest.into_bytes());
    Ok(())
}

/// The first segments of the paths a benchmark names (`lab1` in `use lab1::Wal`, `crc32fast`
/// in `crc32fast::Hasher::new()`): among them, the crates it needs. Types and modules come out
/// too (`Duration`, `common`); the caller keeps only names that are crates.
fn path_roots(text: &str) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    for (at, _) in text.match_indices("::") {
        let before = &text[..at];
        let start = before.rfind(|c: char| !is_ident(c)).map_or(0, |i| i + 1);
        let name = &before[start..];
        if name.is_empty() || before[..start].ends_with("::") {
            continue;
        }
        roots.insert(name.to_string());
    }
    roots
}

/// Removes the instructors' chapter and the chapters of labs not released (`book/src/labN-*.md`
/// and `labN.md`) from the book, and their lines from `SUMMARY.md`.
fn leave_out_chapters(files: &mut BTreeMap<PathBuf, Vec<u8>>, course: &Course, labs: &[LabNumber]) -> Result<()> {
    let book_src = course.book_dir().join("src");
    let book_src = book_src.strip_prefix(course.root()).unwrap_or(&book_src).to_path_buf();
    let left_out: Vec<String> = files
        .keys()
        .filter_map(|path| {
            let name = path.strip_prefix(&book_src).ok()?.to_str()?;
            // The instructors' pages: `instructors.md` and every `instructors-*.md`.
            if name == "instructors.md" || (name.starts_with("instructors-") && name.ends_with(".md")) {
                return Some(name.to_string());
            }
            let lab = name.strip_suffix(".md")?.split('-').next().and_then(crate::course::parse_lab_name)?;
            (!labs.contains(&lab)).then(|| name.to_string())
        })
        .collect();
    for name in &left_out {
        files.remove(&book_src.join(name));
    }
    let summary = book_src.join("SUMMARY.md");
    if let Some(text) = files.get(&summary) {
        let kept: Vec<&str> = std::str::from_utf8(text)
            .map_err(|_| GraderError::config(&summary, "not UTF-8"))?
            .lines()
            .filter(|line| !left_out.iter().any(|name| line.contains(&format!("({name})"))))
            .collect();
        files.insert(summary, (kept.join("\n") + "\n").into_bytes());
    }
    // A link to a page that was left out keeps its text: `[For instructors](instructors.md)`
    // becomes `For instructors`, so that the handout's book has no dead link.
    for (path, bytes) in files.iter_mut() {
        let is_page = path.starts_with(&book_src) && path.extension().is_some_and(|ext| ext == "md");
        if !is_page || path.ends_with("SUMMARY.md") {
            continue;
        }
        if let Ok(text) = std::str::from_utf8(bytes) {
            let unlinked = unlink_pages(text, &left_out);
            if unlinked != text {
                *bytes = unlinked.into_bytes();
            }
        }
    }
    Ok(())
}

/// `text` with every Markdown link to one of `pages` (`[words](page.md)` or
/// `[words](page.md#anchor)`) replaced by its words.
fn unlink_pages(text: &str, pages: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(close) = rest.find("](") {
        let target_end = rest[close + 2..].find(')').map(|end| close + 2 + end);
        let open = rest[..close].rfind('[');
        let (Some(open), Some(target_end)) = (open, target_end) else {
            out.push_str(&rest[..close + 2]);
            rest = &rest[close + 2..];
            continue;
        };
        let target = &rest[close + 2..target_end];
        let page = target.split('#').next().unwrap_or(target);
        if pages.iter().any(|name| name == page) && !rest[open + 1..close].contains('\n') {
            out.push_str(&rest[..open]);
            out.push_str(&rest[open + 1..close]);
        } else {
            out.push_str(&rest[..=target_end]);
        }
        rest = &rest[target_end + 1..];
    }
    out.push_str(rest);
    out
}

/// Adds every file under `dir` (but `skip`) to `files`, named relative to `root`.
pub(crate) fn add_tree(files: &mut BTreeMap<PathBuf, Vec<u8>>, root: &Path, dir: &Path, skip: &[&Path]) -> Result<()> {
    let relative_dir = dir.strip_prefix(root).unwrap_or(dir);
    for file in list_files(dir, skip)? {
        let path = dir.join(&file);
        let contents = std::fs::read(&path).map_err(GraderError::io("read", &path))?;
        files.insert(relative_dir.join(file), contents);
    }
    Ok(())
}

/// `[build] build-dir` of `book.toml` (mdBook's default is `book`).
fn book_build_dir(book: &Path) -> Result<PathBuf> {
    let book_toml = book.join("book.toml");
    let Ok(text) = std::fs::read_to_string(&book_toml) else { return Ok(PathBuf::from("book")) };
    let table: Table =
        text.parse().map_err(|error: toml::de::Error| GraderError::config(&book_toml, error.to_string()))?;
    Ok(PathBuf::from(table.get("build").and_then(|b| b.get("build-dir")).and_then(Value::as_str).unwrap_or("book")))
}

/// The handout's root manifest: the course's, with only the kit and the stubs as members and
/// only the workspace dependencies they use.
fn handout_manifest(course: &Course, labs: &[u32], files: &BTreeMap<PathBuf, Vec<u8>>) -> Result<String> {
    let path = course.manifest();
    let text = std::fs::read_to_string(&path).map_err(GraderError::io("read", &path))?;
    let original: Table =
        text.parse().map_err(|error: toml::de::Error| GraderError::config(&path, error.to_string()))?;
    let mut members = vec!["labs/distributed".to_string()];
    members.extend(labs.iter().map(|lab| format!("labs/lab{lab}")));
    if files.contains_key(Path::new("selfgrade/Cargo.toml")) {
        members.push("selfgrade".to_string());
    }
    if files.contains_key(Path::new("source-policy/Cargo.toml")) {
        members.push("source-policy".to_string());
    }
    if files.contains_key(Path::new("bench/Cargo.toml")) {
        members.push("bench".to_string());
    }

    let mut used = BTreeSet::new();
    for member in &members {
        let manifest_path = PathBuf::from(member).join("Cargo.toml");
        let Some(bytes) = files.get(&manifest_path) else { continue };
        let manifest: Table = String::from_utf8_lossy(bytes).parse().map_err(|error: toml::de::Error| {
            GraderError::config(course.root().join(&manifest_path), error.to_string())
        })?;
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            for (name, _) in manifest.get(section).and_then(Value::as_table).into_iter().flatten() {
                used.insert(name.clone());
            }
        }
    }

    let body = cut_workspace_manifest(&path, &original, members, |name| used.contains(name))?;
    Ok(format!(
        "# The course workspace: the kit (labs/distributed) and one crate per lab.\n# Run `cargo test -p lab1` to test lab 1.\n{body}"
    ))
}

/// The course's root manifest cut to `members`: its `[workspace]` settings (the workspace
/// dependencies `keep_dependency` accepts) and profiles, as TOML text. Shared by the handout
/// and the grading bundle.
pub(crate) fn cut_workspace_manifest(
    path: &Path,
    original: &Table,
    members: Vec<String>,
    keep_dependency: impl Fn(&str) -> bool,
) -> Result<String> {
    let mut workspace = Table::new();
    for (key, value) in original.get("workspace").and_then(Value::as_table).into_iter().flatten() {
        match key.as_str() {
            "members" | "default-members" | "exclude" => {}
            "dependencies" => {
                let kept: Table = value
                    .as_table()
                    .into_iter()
                    .flatten()
                    .filter(|(name, _)| keep_dependency(name))
                    .map(|(name, spec)| (name.clone(), spec.clone()))
                    .collect();
                workspace.insert(key.clone(), Value::Table(kept));
            }
            _ => {
                workspace.insert(key.clone(), value.clone());
            }
        }
    }
    workspace.insert("members".into(), Value::Array(members.into_iter().map(Value::String).collect()));
    let mut manifest = Table::new();
    manifest.insert("workspace".into(), Value::Table(workspace));
    if let Some(profile) = original.get("profile") {
        manifest.insert("profile".into(), profile.clone());
    }
    toml::to_string(&manifest).map_err(|error| GraderError::config(path, error.to_string()))
}

fn student_readme(course: &Course, labs: &[u32]) -> Result<String> {
    let template_path = course.grader_dir().join("handout").join("README.md");
    let template = std::fs::read_to_string(&template_path).map_err(GraderError::io("read", &template_path))?;
    let list: Vec<String> = labs
        .iter()
        .map(|lab| {
            let description = std::fs::read_to_string(course.stub_dir(*lab).join("Cargo.toml"))
                .ok()
                .and_then(|text| text.parse::<Table>().ok())
                .and_then(|t| t.get("package")?.get("description")?.as_str().map(str::to_string))
                .unwrap_or_default();
            // "Lab 1: a segmented WAL (your code goes here)" → "Lab 1: a segmented WAL".
            let description = match description.rfind(" (") {
                Some(cut) if description.ends_with(')') => description[..cut].to_string(),
                _ => description,
            };
            format!("- `labs/lab{lab}`: {description} (`cargo test -p lab{lab}`)")
        })
        .collect();
    Ok(template.replace("{{LABS}}", &list.join("\n")))
}

/// A line, squeezed: trimmed, inner whitespace runs made one space.
fn squeeze(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn lines_of(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes).lines().map(squeeze).collect()
}

/// The lines only the solutions and the hidden suites contain: theirs, minus every line of
/// the course's public material (stubs, public tests, kit, selfgrade and the source policy).
fn secret_lines(course: &Course) -> Result<BTreeMap<String, PathBuf>> {
    let root = course.root();
    let mut public = BTreeSet::new();
    // The student-side tools are public too: the grader ships them.
    // The benchmarks as well: the handout's `bench` crate runs them on the student's labs.
    let tools = [root.join("selfgrade"), root.join("source-policy"), course.grader_dir().join("bench")];
    let public_dirs = std::iter::once(course.kit_dir())
        .chain(course.labs()?.into_iter().map(|lab| course.stub_dir(lab)))
        .chain(tools.into_iter().filter(|dir| dir.is_dir()));
    for dir in public_dirs {
        for file in list_files(&dir, &[Path::new("target")])? {
            let path = dir.join(&file);
            let bytes = std::fs::read(&path).map_err(GraderError::io("read", &path))?;
            public.extend(lines_of(&bytes));
        }
    }
    let mut secret_dirs: Vec<PathBuf> = vec![course.grader_dir().join("suites")];
    let solutions = root.join("solutions");
    if solutions.is_dir() {
        for entry in std::fs::read_dir(&solutions).map_err(GraderError::io("list", &solutions))? {
            let entry = entry.map_err(GraderError::io("list", &solutions))?;
            secret_dirs.push(entry.path().join("src"));
        }
    }
    let mut secrets = BTreeMap::new();
    for dir in secret_dirs {
        for file in list_files(&dir, &[])? {
            let path = dir.join(&file);
            let bytes = std::fs::read(&path).map_err(GraderError::io("read", &path))?;
            for line in lines_of(&bytes) {
                if line.len() >= MIN_SECRET_LINE && line.chars().any(char::is_alphanumeric) && !public.contains(&line) {
                    secrets.entry(line).or_insert_with(|| path.strip_prefix(root).unwrap_or(&path).to_path_buf());
                }
            }
        }
    }
    Ok(secrets)
}

/// Every line of `handout` that gives away a solution or a hidden test.
pub fn find_leaks(course: &Course, handout: &Handout) -> Result<Vec<Leak>> {
    let secrets = secret_lines(course)?;
    let mut leaks = Vec::new();
    for (file, bytes) in &handout.files {
        for (index, line) in lines_of(bytes).into_iter().enumerate() {
            if let Some(source) = secrets.get(&line) {
                leaks.push(Leak { handout_file: file.clone(), line_number: index + 1, line, source: source.clone() });
            }
        }
    }
    Ok(leaks)
}

/// Builds, checks and writes the handout to `dest` (which must be absent or empty).
pub fn export(course: &Course, dest: &Path) -> Result<Handout> {
    export_released(course, dest, None)
}

/// [`export`] of the labs in `released` only (see [`build_released`]).
pub fn export_released(course: &Course, dest: &Path, released: Option<&[LabNumber]>) -> Result<Handout> {
    refuse_non_empty(dest, "the handout")?;
    let handout = build_released(course, released)?;
    let leaks = find_leaks(course, &handout)?;
    if !leaks.is_empty() {
        let mut text =
            format!("{} line(s) of the handout come from a reference solution or a hidden suite:", leaks.len());
        for leak in leaks.iter().take(20) {
            text.push_str(&format!(
                "\n  {}:{}: {}  (from {})",
                leak.handout_file.display(),
                leak.line_number,
                leak.line,
                leak.source.display()
            ));
        }
        return Err(GraderError::Leak(text));
    }
    write(&handout, dest)?;
    if handout.files.contains_key(Path::new("Cargo.lock")) {
        crate::bundle::prune_lockfile(dest)?;
    }
    Ok(handout)
}

/// An export goes to a new or empty directory, never over files it did not write.
pub(crate) fn refuse_non_empty(dest: &Path, what: &str) -> Result<()> {
    if dest.exists() {
        let mut entries = std::fs::read_dir(dest).map_err(GraderError::io("list", dest))?;
        if entries.next().is_some() {
            return Err(GraderError::Usage(format!(
                "{} exists and is not empty: export {what} to a new directory",
                dest.display()
            )));
        }
    }
    Ok(())
}

/// Writes the files of `handout` under `dest`.
pub fn write(handout: &Handout, dest: &Path) -> Result<()> {
    write_files(&handout.files, dest)
}

/// Writes `files` (relative paths) under `dest`, creating directories as needed.
pub(crate) fn write_files(files: &BTreeMap<PathBuf, Vec<u8>>, dest: &Path) -> Result<()> {
    for (file, contents) in files {
        let path = dest.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(GraderError::io("create", parent))?;
        }
        std::fs::write(&path, contents).map_err(GraderError::io("write", &path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_left_out_pages_keep_their_words() {
        let pages = vec!["instructors.md".to_string()];
        let text =
            "See [For instructors](instructors.md) and [the glossary](glossary.md#x), [them](instructors.md#zoo).";
        assert_eq!(unlink_pages(text, &pages), "See For instructors and [the glossary](glossary.md#x), them.");
        assert_eq!(unlink_pages("a ](b) [c", &pages), "a ](b) [c");
    }

    #[test]
    fn lines_are_compared_squeezed() {
        assert_eq!(squeeze("    let   x =\t1;  "), "let x = 1;");
    }
}
