//! Reading a submission without trusting it.
//!
//! A submission is a directory someone else made: any entry may be a symbolic link (to a
//! solution, to `/dev/zero`), a FIFO that blocks whoever opens it, a device, a socket, or a
//! file of any size. The grader reads it once, here, into memory, and everything after (the
//! source policy, the generated workspace) works on those bytes, so what is checked is what is
//! built. Anything but plain directories and regular files is refused with a note naming it,
//! and so are files over [`MAX_FILE_BYTES`] and labs over [`MAX_LAB_BYTES`]; every read is
//! capped, and opened with `O_NOFOLLOW | O_NONBLOCK` so that an entry swapped after the check
//! can neither redirect nor block it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest file the grader reads from a submission.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The most one lab directory of a submission may hold, all files together.
pub const MAX_LAB_BYTES: u64 = 4 << 20;
/// The most entries (files and directories) one lab directory may hold.
pub const MAX_ENTRIES: usize = 2000;
/// The deepest directory nesting read.
pub const MAX_DEPTH: usize = 16;

/// Files read from a submission: relative path → contents.
pub type Files = BTreeMap<PathBuf, Vec<u8>>;

/// Why (part of) a submission was not read. Each string is a note for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refusal {
    pub notes: Vec<String>,
}

/// Reads the tree at `dir`, which reports call `shown` (`labs/lab1`), skipping the top-level
/// directories named in `skip` (a build's `target/`). `dir` itself must be a real directory.
pub fn read_tree(dir: &Path, shown: &str, skip: &[&str]) -> Result<Files, Refusal> {
    let mut reader = TreeReader { files: Files::new(), notes: Vec::new(), bytes: 0, entries: 0, shown };
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_dir() => {
            reader.walk(dir, Path::new(""), 0, skip);
        }
        Ok(meta) => reader.notes.push(format!("refused: {shown} is {}, not a directory", kind_of(&meta))),
        Err(error) => reader.notes.push(format!("refused: {shown} cannot be read ({error})")),
    }
    if reader.notes.is_empty() { Ok(reader.files) } else { Err(Refusal { notes: reader.notes }) }
}

/// Checks that each of `ancestors` (in order, outermost first) is a real directory, not a
/// symbolic link: `labs` and `labs/labN` of a repository.
pub fn check_directories(ancestors: &[(PathBuf, String)]) -> Result<(), Refusal> {
    for (path, shown) in ancestors {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(meta) => {
                return Err(Refusal {
                    notes: vec![format!("refused: {shown} is {}, not a directory", kind_of(&meta))],
                });
            }
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

struct TreeReader<'a> {
    files: Files,
    notes: Vec<String>,
    bytes: u64,
    entries: usize,
    shown: &'a str,
}

impl TreeReader<'_> {
    fn walk(&mut self, root: &Path, relative: &Path, depth: usize, skip: &[&str]) {
        let dir = root.join(relative);
        let shown_dir = join_shown(self.shown, relative);
        if depth > MAX_DEPTH {
            self.notes.push(format!("refused: {shown_dir} is nested more than {MAX_DEPTH} directories deep"));
            return;
        }
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) => {
                self.notes.push(format!("refused: {shown_dir} cannot be listed ({error})"));
                return;
            }
        };
        let mut names: Vec<_> = entries.filter_map(|entry| entry.ok()).map(|entry| entry.file_name()).collect();
        names.sort();
        for name in names {
            self.entries += 1;
            if self.entries > MAX_ENTRIES {
                self.notes.push(format!("refused: {} holds more than {MAX_ENTRIES} entries", self.shown));
                return;
            }
            let path = relative.join(&name);
            if depth == 0 && skip.iter().any(|s| name == *s) {
                continue;
            }
            let shown = join_shown(self.shown, &path);
            let meta = match fs::symlink_metadata(root.join(&path)) {
                Ok(meta) => meta,
                Err(error) => {
                    self.notes.push(format!("refused: {shown} cannot be read ({error})"));
                    continue;
                }
            };
            let kind = meta.file_type();
            if kind.is_dir() {
                self.walk(root, &path, depth + 1, skip);
            } else if kind.is_file() {
                if meta.len() > MAX_FILE_BYTES {
                    self.notes.push(format!(
                        "refused: {shown} is {} bytes; a file may hold at most {MAX_FILE_BYTES}",
                        meta.len()
                    ));
                    continue;
                }
                self.bytes += meta.len();
                if self.bytes > MAX_LAB_BYTES {
                    self.notes.push(format!("refused: {} holds more than {MAX_LAB_BYTES} bytes of files", self.shown));
                    return;
                }
                match read_capped(&root.join(&path), MAX_FILE_BYTES) {
                    Ok(bytes) => {
                        self.files.insert(path, bytes);
                    }
                    Err(why) => self.notes.push(format!("refused: {shown} {why}")),
                }
            } else {
                self.notes.push(format!(
                    "refused: {shown} is {}; only regular files and directories are read",
                    kind_of(&meta)
                ));
            }
        }
    }
}

fn join_shown(shown: &str, relative: &Path) -> String {
    if relative.as_os_str().is_empty() { shown.to_string() } else { format!("{shown}/{}", relative.display()) }
}

/// What kind of entry `meta` describes, for a note.
fn kind_of(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "a regular file"
    }
}

/// Reads at most `cap` bytes of the regular file at `path`, refusing anything else: the file
/// is opened without following a link and without blocking, then checked again through the
/// open handle.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| format!("cannot be opened ({error})"))?;
    let meta = file.metadata().map_err(|error| format!("cannot be inspected ({error})"))?;
    if !meta.file_type().is_file() {
        return Err(format!("is {}", kind_of(&meta)));
    }
    if meta.len() > cap {
        return Err(format!("is {} bytes; at most {cap} are read", meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(|error| format!("cannot be read ({error})"))?;
    if bytes.len() as u64 > cap {
        return Err(format!("grew past {cap} bytes while being read"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fifos_devices_and_big_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("nested")).unwrap();
        fs::write(src.join("lib.rs"), "pub fn f() {}\n").unwrap();
        fs::write(src.join("nested/ok.rs"), "").unwrap();
        let files = read_tree(&src, "labs/lab1/src", &[]).unwrap();
        assert_eq!(files.len(), 2);

        std::os::unix::fs::symlink("/dev/zero", src.join("zero.rs")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", src.join("nested/dev")).unwrap();
        let fifo = std::ffi::CString::new(src.join("pipe").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system entry.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        fs::write(src.join("big.rs"), vec![b'/'; (MAX_FILE_BYTES + 1) as usize]).unwrap();
        let notes = read_tree(&src, "labs/lab1/src", &[]).unwrap_err().notes.join("\n");
        for expected in [
            "labs/lab1/src/zero.rs is a symbolic link",
            "labs/lab1/src/nested/dev is a symbolic link",
            "labs/lab1/src/pipe is a FIFO",
            "labs/lab1/src/big.rs is 1048577 bytes",
        ] {
            assert!(notes.contains(expected), "{expected}: {notes}");
        }

        let link = dir.path().join("linked-src");
        std::os::unix::fs::symlink(&src, &link).unwrap();
        let notes = read_tree(&link, "labs/lab1/src", &[]).unwrap_err().notes.join("\n");
        assert!(notes.contains("labs/lab1/src is a symbolic link"), "{notes}");
        assert!(read_capped(Path::new("/dev/zero"), 10).is_err());
    }
}
