//! Checks of the course's own files that need no build, run by the self-check and, because
//! they take milliseconds, by their own test in the root `cargo test`:
//!
//! - every hidden test names, in `points.toml`'s `section`, the chapter section its expectation
//!   comes from, and that section exists in the book (a hidden test may demand only what the
//!   chapter states: the fairness rule of the instructors' chapter);
//! - every file a lab declares `given` (shared by its stub and its reference: errors, reports,
//!   request types) is byte-identical in both, and no file is identical in both without being
//!   declared given (a shared file that is not declared would be graded as the student's own).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::course::{Course, LabNumber};
use crate::error::{GraderError, Result};
use crate::points::{LabPoints, Visibility};

/// The anchors of every heading of every page of the book, by page file name
/// (`lab1-wal.md` → `{"why-a-replica-needs-this", …}`).
pub fn book_anchors(course: &Course) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let src = course.book_dir().join("src");
    let mut pages = BTreeMap::new();
    let entries = std::fs::read_dir(&src).map_err(GraderError::io("read", &src))?;
    for entry in entries {
        let entry = entry.map_err(GraderError::io("read", &src))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".md") {
            continue;
        }
        let path = entry.path();
        let text = std::fs::read_to_string(&path).map_err(GraderError::io("read", &path))?;
        pages.insert(name, heading_anchors(&text));
    }
    Ok(pages)
}

/// The anchors mdBook gives the headings of a page: the heading's text without its markup,
/// lower-cased, whitespace turned into `-`, every other character but alphanumerics, `_`
/// and `-` dropped; a repeated anchor gets `-1`, `-2`… Lines inside fenced code are no
/// headings.
pub fn heading_anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&level) || !line[level..].starts_with(' ') {
            continue;
        }
        let text = line[level..].trim().trim_end_matches('#').trim();
        let base = anchor_of(text);
        let count = seen.entry(base.clone()).or_insert(0);
        let anchor = if *count == 0 { base.clone() } else { format!("{base}-{count}") };
        *count += 1;
        anchors.insert(anchor);
    }
    anchors
}

/// mdBook's id of a heading whose source text is `text`.
fn anchor_of(text: &str) -> String {
    // Link syntax keeps its text: `[word](url)` → `word`.
    let mut plain = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        plain.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find("](").and_then(|close| after[close..].find(')').map(|end| (close, close + end))) {
            Some((close, end)) => {
                plain.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            None => {
                plain.push('[');
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    plain
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().next().unwrap_or(c))
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// Every problem of `lab`'s course files (see the module's documentation).
pub fn lab_problems(
    course: &Course,
    lab: LabNumber,
    points: &LabPoints,
    anchors: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for test in points.tests.iter().filter(|test| test.visibility() == Visibility::Hidden) {
        let at = format!("points.toml: hidden test {}", test.name);
        let Some(section) = &test.section else {
            problems.push(format!(
                "{at} names no chapter section (`section = \"lab{lab}-….md#heading\"`): a hidden test may demand only what its chapter states"
            ));
            continue;
        };
        let (page, anchor) = section.split_once('#').unwrap_or((section.as_str(), ""));
        match anchors.get(page) {
            None => problems.push(format!("{at}: section {section:?} names no page of book/src")),
            Some(headings) if !headings.contains(anchor) => {
                problems.push(format!("{at}: section {section:?}: {page} has no heading with the anchor {anchor:?}"))
            }
            Some(_) => {}
        }
    }

    let stub_src = course.stub_dir(lab).join("src");
    let reference_src = course.solution_dir(lab).join("src");
    let given: BTreeSet<&str> = points.given.iter().map(String::as_str).collect();
    for file in &given {
        let stub = read_or_none(&stub_src.join(file))?;
        let reference = read_or_none(&reference_src.join(file))?;
        match (stub, reference) {
            (Some(stub), Some(reference)) if stub == reference => {}
            (Some(_), Some(_)) => problems.push(format!(
                "lab{lab}'s given file src/{file} differs between the stub and the reference: a given file has one content"
            )),
            _ => problems.push(format!(
                "lab{lab}'s given file src/{file} is missing from the stub or the reference (labs/lab{lab}/src, solutions/lab{lab}/src)"
            )),
        }
    }
    for file in crate::fsutil::list_files(&stub_src, &[])? {
        let name = file.to_string_lossy().replace('\\', "/");
        if given.contains(name.as_str()) {
            continue;
        }
        let reference = read_or_none(&reference_src.join(&file))?;
        if reference.is_some() && reference == read_or_none(&stub_src.join(&file))? {
            problems.push(format!(
                "lab{lab}'s src/{name} is the same in the stub and the reference but not declared `given` in points.toml"
            ));
        }
    }
    Ok(problems)
}

fn read_or_none(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(GraderError::io("read", path)(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_mdbook() {
        let page = "# Lab 1: a segmented WAL\n\n## Task 5: truncating a suffix, and `compact`\n\
                    ```bash\n# not a heading\n```\n## Questions\n### Questions\n## [Linked](x.md) part\n";
        let anchors: Vec<String> = heading_anchors(page).into_iter().collect();
        assert_eq!(
            anchors,
            [
                "lab-1-a-segmented-wal",
                "linked-part",
                "questions",
                "questions-1",
                "task-5-truncating-a-suffix-and-compact",
            ]
        );
    }
}
