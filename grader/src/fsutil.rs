//! File-tree helpers.
//!
//! Generated workspaces live at stable paths and are updated in place, writing a file only
//! when its content changed: cargo decides what to rebuild from modification times, so an
//! untouched kit is not recompiled on every grade.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{GraderError, Result};

/// What [`mirror_tree`] skipped or refused.
#[derive(Debug, Default)]
pub struct MirrorSummary {
    /// Symbolic links, which are never followed (a submission could point one at any file).
    pub skipped_links: Vec<PathBuf>,
    pub bytes: u64,
}

/// Every regular file under `dir`, relative to it, sorted. Directories named in `skip_dirs`
/// (relative paths) are not entered. A missing `dir` has no files.
pub fn list_files(dir: &Path, skip_dirs: &[&Path]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if dir.is_dir() {
        walk(dir, Path::new(""), skip_dirs, &mut files, &mut Vec::new())?;
    }
    files.sort();
    Ok(files)
}

fn walk(
    root: &Path,
    relative: &Path,
    skip_dirs: &[&Path],
    files: &mut Vec<PathBuf>,
    links: &mut Vec<PathBuf>,
) -> Result<()> {
    let dir = root.join(relative);
    for entry in fs::read_dir(&dir).map_err(GraderError::io("list", &dir))? {
        let entry = entry.map_err(GraderError::io("list", &dir))?;
        let path = relative.join(entry.file_name());
        let kind = entry.file_type().map_err(GraderError::io("inspect", entry.path()))?;
        if kind.is_symlink() {
            links.push(path);
        } else if kind.is_dir() {
            if !skip_dirs.contains(&path.as_path()) {
                walk(root, &path, skip_dirs, files, links)?;
            }
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Writes `contents` to `path` unless it already holds exactly that, creating parents.
pub fn write_if_changed(path: &Path, contents: &[u8]) -> Result<()> {
    if fs::read(path).is_ok_and(|existing| existing == contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(GraderError::io("create", parent))?;
    }
    fs::write(path, contents).map_err(GraderError::io("write", path))
}

/// Makes `dst` hold exactly the regular files of `src`, touching only what differs.
/// `skip_dirs` are neither copied from `src` nor cleaned in `dst`. Fails if the files add up to more than `max_bytes`.
pub fn mirror_tree(src: &Path, dst: &Path, skip_dirs: &[&Path], max_bytes: u64) -> Result<MirrorSummary> {
    let mut summary = MirrorSummary::default();
    let mut files = Vec::new();
    if src.is_dir() {
        walk(src, Path::new(""), skip_dirs, &mut files, &mut summary.skipped_links)?;
    }
    for file in &files {
        let from = src.join(file);
        let len = fs::metadata(&from).map_err(GraderError::io("inspect", &from))?.len();
        summary.bytes += len;
        if summary.bytes > max_bytes {
            return Err(GraderError::Tool(format!(
                "{} holds more than {max_bytes} bytes of files; refusing to copy it",
                src.display()
            )));
        }
    }
    for file in &files {
        let from = src.join(file);
        let contents = fs::read(&from).map_err(GraderError::io("read", &from))?;
        write_if_changed(&dst.join(file), &contents)?;
    }
    remove_extra(dst, &files.into_iter().collect(), skip_dirs)?;
    Ok(summary)
}

/// Makes `dst` hold exactly `files` (relative path → contents), touching only what differs.
pub fn mirror_files(files: &BTreeMap<PathBuf, Vec<u8>>, dst: &Path) -> Result<()> {
    for (file, contents) in files {
        write_if_changed(&dst.join(file), contents)?;
    }
    remove_extra(dst, &files.keys().cloned().collect(), &[])?;
    if !dst.exists() {
        fs::create_dir_all(dst).map_err(GraderError::io("create", dst))?;
    }
    Ok(())
}

/// Removes from `dst` every file not in `keep` (outside `skip_dirs`), and directories left
/// empty.
fn remove_extra(dst: &Path, keep: &BTreeSet<PathBuf>, skip_dirs: &[&Path]) -> Result<()> {
    if !dst.is_dir() {
        return Ok(());
    }
    let mut existing = Vec::new();
    let mut links = Vec::new();
    walk(dst, Path::new(""), skip_dirs, &mut existing, &mut links)?;
    for stale in existing.into_iter().chain(links).filter(|file| !keep.contains(file)) {
        let path = dst.join(stale);
        fs::remove_file(&path).map_err(GraderError::io("remove", &path))?;
    }
    remove_empty_dirs(dst)?;
    Ok(())
}

fn remove_empty_dirs(dir: &Path) -> Result<bool> {
    let mut empty = true;
    for entry in fs::read_dir(dir).map_err(GraderError::io("list", dir))? {
        let entry = entry.map_err(GraderError::io("list", dir))?;
        let kind = entry.file_type().map_err(GraderError::io("inspect", entry.path()))?;
        if kind.is_dir() && remove_empty_dirs(&entry.path())? {
            fs::remove_dir(entry.path()).map_err(GraderError::io("remove", entry.path()))?;
        } else {
            empty = false;
        }
    }
    Ok(empty)
}

/// Makes `dst` a private copy of the build directory `cache` that costs almost nothing: the
/// directories are new, large build outputs are hard links (rustc and the linker replace an
/// output file rather than write into it), and the files cargo rewrites in place (fingerprints,
/// dep-info, small JSON, lock files) are copied. A grade's build therefore never changes a
/// file of the cache, and nothing a grade leaves behind reaches the next one.
pub fn layer_over(cache: &Path, dst: &Path) -> Result<()> {
    fs::create_dir_all(dst).map_err(GraderError::io("create", dst))?;
    if !cache.is_dir() {
        return Ok(());
    }
    let mut files = Vec::new();
    let mut links = Vec::new();
    walk(cache, Path::new(""), &[], &mut files, &mut links)?;
    for file in files {
        let from = cache.join(&file);
        let to = dst.join(&file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(GraderError::io("create", parent))?;
        }
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let rewritten_in_place = file.components().any(|c| c.as_os_str() == ".fingerprint")
            || name.ends_with(".d")
            || name.ends_with(".json")
            || name.starts_with('.');
        let large = fs::metadata(&from).map(|meta| meta.len() > 64 << 10).unwrap_or(false);
        if rewritten_in_place || !large || fs::hard_link(&from, &to).is_err() {
            // Cargo compares modification times: a copy keeps the original's.
            fs::copy(&from, &to).map_err(GraderError::io("copy to", &to))?;
            let modified = fs::metadata(&from).and_then(|meta| meta.modified());
            let copy = fs::File::options().write(true).open(&to);
            if let (Ok(modified), Ok(copy)) = (modified, copy) {
                copy.set_modified(modified).map_err(GraderError::io("set the time of", &to))?;
            }
        }
    }
    Ok(())
}

/// Whether two trees hold different files or contents (missing trees are empty).
pub fn trees_differ(a: &Path, b: &Path) -> Result<bool> {
    let files_a = list_files(a, &[])?;
    let files_b = list_files(b, &[])?;
    if files_a != files_b {
        return Ok(true);
    }
    for file in files_a {
        let (path_a, path_b) = (a.join(&file), b.join(&file));
        let content_a = fs::read(&path_a).map_err(GraderError::io("read", &path_a))?;
        let content_b = fs::read(&path_b).map_err(GraderError::io("read", &path_b))?;
        if content_a != content_b {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Copies a whole tree (used to make bug-zoo variants and handouts).
pub fn copy_tree(src: &Path, dst: &Path, skip_dirs: &[&Path]) -> Result<()> {
    for file in list_files(src, skip_dirs)? {
        let to = dst.join(&file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(GraderError::io("create", parent))?;
        }
        fs::copy(src.join(&file), &to).map_err(GraderError::io("copy to", &to))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirroring_updates_only_what_changed_and_removes_the_rest() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("a/b")).unwrap();
        fs::write(src.path().join("a/b/same.rs"), "same").unwrap();
        fs::write(src.path().join("new.rs"), "new").unwrap();
        fs::create_dir_all(dst.path().join("a/b")).unwrap();
        fs::create_dir_all(dst.path().join("old/dir")).unwrap();
        fs::write(dst.path().join("a/b/same.rs"), "same").unwrap();
        fs::write(dst.path().join("old/dir/stale.rs"), "stale").unwrap();
        let before = fs::metadata(dst.path().join("a/b/same.rs")).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));

        mirror_tree(src.path(), dst.path(), &[], 1 << 20).unwrap();

        assert_eq!(list_files(dst.path(), &[]).unwrap(), [PathBuf::from("a/b/same.rs"), PathBuf::from("new.rs")]);
        let after = fs::metadata(dst.path().join("a/b/same.rs")).unwrap().modified().unwrap();
        assert_eq!(before, after, "an unchanged file is not rewritten");
        assert!(!dst.path().join("old").exists());
        assert!(!trees_differ(src.path(), dst.path()).unwrap());
    }

    #[test]
    fn mirroring_refuses_oversized_trees() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        fs::write(src.path().join("big.rs"), vec![b'x'; 100]).unwrap();
        assert!(mirror_tree(src.path(), dst.path(), &[], 99).is_err());
    }
}
