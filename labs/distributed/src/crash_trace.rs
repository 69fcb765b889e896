//! Crash traces: what a failed crash check saw, written as a JSON file that the book's trace
//! viewer opens.
//!
//! When a check fails under the [crash explorer](crate::explore), the explorer writes one trace
//! and adds its path to the failure message, after the replay line:
//!
//! ```text
//!   crash trace: target/crash-traces/crash__every_crash_point_of_a_short_workload_recovers.json
//! ```
//!
//! # Where
//!
//! In the directory named by the environment variable `LAB_TRACE_DIR` if it is set (the grader
//! sets it), or else in `crash-traces/` of the cargo target directory the test executable was
//! built in (`target/crash-traces/`), or else in `crash-traces/` of the system's temporary
//! directory. The file is named after the test (`::` becomes `__`), so a rerun replaces it.
//!
//! # The format, version 1
//!
//! One JSON object ([`CrashTrace`]). A reader checks `format` and `version` first: a change that
//! removes or renames a field, or changes what one means, gets a new version; new fields may be
//! added within a version, and readers ignore fields they do not know.
//!
//! | field | meaning |
//! |---|---|
//! | `format`, `version` | `"durable-storage-crash-trace"`, `1` |
//! | `test`, `replay` | the test's name and the command that replays it (from the failure's replay line) |
//! | `explorer_seed` | the explorer's seed, in hex |
//! | `failure` | `invariant` (the name in brackets at the start of the message, if any) and `message` |
//! | `crash` | `after_step` (the crash point: steps `1..=after_step` ran), `steps` (of the run without a crash), `mode` (`strict`, `torn`, `reordered`), `mode_seed`, `acked` (acknowledgements the workload had recorded when the power went) |
//! | `steps` | the workload's steps in order, each a [`Step`]; the ones after the crash point did not run in the crashed run |
//! | `files` | every file of the disk at the crash, each a [`FileAtCrash`]: its names, durable, visible and image lengths, and each pending write with what the image kept of it |
//! | `directories` | every directory with pending operations or names, each a [`DirAtCrash`]: durable names, pending operations with whether the image kept each, and the names the next boot found |
//! | `recovery` | the mutating steps the check ran on the image (the recovery's writes, syncs, renames…) before it failed |
//! | `*_omitted` | how many entries of the list beside it were left out to bound the size |
//!
//! A [`Step`] has `step` (1-based), `op` (`create`, `write`, `set_len`, `sync`, `sync_dir`,
//! `rename`, `remove`, `create_dir`), `path` (the root directory is `.`), `offset` and `len` (a
//! write's; a `set_len`'s new length in `len`), `to` (a rename's new name), `data` (a write's
//! first bytes as a [`Preview`]), `failed` (an injected EIO or full disk), and `acked`: how many
//! acknowledgements the workload had recorded when a crash right after this step cut it off
//! (known for the steps up to the crash point).
//!
//! A pending write's `kept` is `all`, `part` or `none`, and `kept_ranges` lists the byte ranges
//! `[start, end)` of the file the image holds of it: a torn crash keeps a prefix cut at a sector
//! boundary, a reordered one any set of its pages. A pending directory operation's `kept` is
//! `true` or `false`. A file's `grown` says its length reached the disk without its bytes:
//! `from..to` reads as `zeros` or `garbage`.
//!
//! # Bounded size
//!
//! A trace never exceeds [`MAX_BYTES`]: a write's bytes appear as a [`Preview`] of at most
//! [`PREVIEW_BYTES`] bytes, strings are cut at [`MAX_STRING`] characters, and the lists keep
//! their first and last entries (the steps: the first ones and those around the crash point),
//! counting what they left out. If the result is still too large, the lists are cut further.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The value of [`CrashTrace::format`].
pub const FORMAT: &str = "durable-storage-crash-trace";
/// The version of the format this kit writes.
pub const VERSION: u32 = 1;
/// The most bytes a trace file holds.
pub const MAX_BYTES: usize = 512 * 1024;
/// The most bytes of a write shown in its preview.
pub const PREVIEW_BYTES: usize = 32;
/// The most characters of a name or path; longer ones are cut, ending in `…`.
pub const MAX_STRING: usize = 300;
/// The most characters of the failure message.
pub const MAX_MESSAGE: usize = 4000;

/// One failed crash check. See the [module documentation](self) for the format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrashTrace {
    pub format: String,
    pub version: u32,
    pub test: String,
    pub replay: Option<String>,
    pub explorer_seed: String,
    pub failure: Failure,
    pub crash: CrashPoint,
    pub steps: Vec<Step>,
    pub steps_omitted: u64,
    pub files: Vec<FileAtCrash>,
    pub files_omitted: u64,
    pub directories: Vec<DirAtCrash>,
    pub directories_omitted: u64,
    pub recovery: Vec<Step>,
    pub recovery_omitted: u64,
}

/// The check that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The invariant named in brackets at the start of the message.
    pub invariant: Option<String>,
    pub message: String,
}

/// Where the power went, and which image the check saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrashPoint {
    /// Steps `1..=after_step` ran.
    pub after_step: u64,
    /// Steps of the workload's run without a crash.
    pub steps: u64,
    /// `strict`, `torn`, `reordered` or `process-exit`.
    pub mode: String,
    /// The seed that chose the torn or reordered outcome, in hex.
    pub mode_seed: Option<String>,
    /// Acknowledgements the workload had recorded when the power went.
    pub acked: u64,
}

/// One mutating step of the workload or of the recovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub step: u64,
    pub op: String,
    pub path: String,
    pub offset: Option<u64>,
    pub len: Option<u64>,
    pub to: Option<String>,
    pub data: Option<Preview>,
    pub failed: bool,
    /// Acknowledgements recorded when a crash right after this step cut the workload off.
    pub acked: Option<u64>,
}

/// The first bytes of some data: hex, and ASCII with `.` for what is not printable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub hex: String,
    pub text: String,
    /// Bytes shown (at most [`PREVIEW_BYTES`]).
    pub shown: u64,
    /// Bytes in all.
    pub len: u64,
}

impl Preview {
    /// A preview of `head`, the first bytes of `len` bytes.
    pub fn of(head: &[u8], len: u64) -> Preview {
        let head = &head[..head.len().min(PREVIEW_BYTES)];
        let mut hex = String::with_capacity(head.len() * 3);
        for (i, byte) in head.iter().enumerate() {
            if i > 0 {
                hex.push(' ');
            }
            let _ = write!(hex, "{byte:02x}");
        }
        let text = head.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
        Preview { hex, text, shown: head.len() as u64, len }
    }
}

/// One file (inode) of the disk at the crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAtCrash {
    /// The name to show: a visible name, else a durable one, else one the image has.
    pub path: String,
    /// Names reads saw before the crash.
    pub visible_names: Vec<String>,
    /// Names a strict crash keeps.
    pub durable_names: Vec<String>,
    /// Names the next boot found (empty: the file is gone).
    pub image_names: Vec<String>,
    pub durable_len: u64,
    pub visible_len: u64,
    /// The length the next boot found, if a name reaches the file.
    pub image_len: Option<u64>,
    /// Writes and `set_len`s since the last sync, in order.
    pub pending: Vec<PendingWrite>,
    pub pending_omitted: u64,
    pub grown: Option<GrownTail>,
}

/// A write or `set_len` not yet synced, and what the image kept of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWrite {
    /// The step that made it.
    pub step: Option<u64>,
    /// `write` or `set_len`.
    pub op: String,
    /// A write's offset (`None` for a `set_len`).
    pub offset: Option<u64>,
    /// A write's length, or a `set_len`'s new length.
    pub len: u64,
    pub data: Option<Preview>,
    pub kept: Kept,
    /// Byte ranges `[start, end)` of the file the image holds of this write.
    pub kept_ranges: Vec<[u64; 2]>,
}

/// How much of a pending operation the image kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kept {
    All,
    Part,
    None,
}

/// A length that reached the disk without its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrownTail {
    pub from: u64,
    pub to: u64,
    /// `zeros` or `garbage`.
    pub fill: String,
}

/// One directory at the crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirAtCrash {
    pub path: String,
    /// Names a strict crash keeps.
    pub durable: Vec<String>,
    /// Creates, renames and removes since the directory's last sync, in order.
    pub pending: Vec<DirOp>,
    pub pending_omitted: u64,
    /// Names the next boot found.
    pub image: Vec<String>,
    pub names_omitted: u64,
}

/// A pending directory operation, and whether the image kept it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirOp {
    pub step: Option<u64>,
    /// `create`, `rename` or `remove`.
    pub op: String,
    pub name: String,
    pub to: Option<String>,
    pub kept: bool,
}

/// The disk part of a trace, as [`SimFs`](crate::vfs::SimFs) records it at a crash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskAtCrash {
    pub files: Vec<FileAtCrash>,
    pub directories: Vec<DirAtCrash>,
}

/// A path as the trace shows it: `/`-separated, the root directory as `.`, cut to
/// [`MAX_STRING`] characters.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn show_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    if text.is_empty() { ".".to_string() } else { cut(&text, MAX_STRING) }
}

/// `text` cut to `max` characters, ending in `…` if it was cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Keeps the first `head` and last `tail` entries of `list`; returns how many it dropped.
fn keep_ends<T>(list: &mut Vec<T>, head: usize, tail: usize) -> u64 {
    if list.len() <= head + tail {
        return 0;
    }
    let dropped = list.len() - head - tail;
    list.drain(head..head + dropped);
    dropped as u64
}

/// How many entries of each list a trace keeps; [`CrashTrace::bound`] halves them until the
/// trace fits [`MAX_BYTES`].
#[derive(Clone, Copy, Debug)]
struct Limits {
    steps_head: usize,
    steps_before_crash: usize,
    steps_after_crash: usize,
    files: usize,
    pending: usize,
    directories: usize,
    names: usize,
    recovery: usize,
}

const LIMITS: Limits = Limits {
    steps_head: 20,
    steps_before_crash: 400,
    steps_after_crash: 40,
    files: 64,
    pending: 64,
    directories: 32,
    names: 200,
    recovery: 200,
};

impl Limits {
    fn halved(self) -> Limits {
        Limits {
            steps_head: self.steps_head / 2,
            steps_before_crash: self.steps_before_crash / 2,
            steps_after_crash: self.steps_after_crash / 2,
            files: self.files / 2,
            pending: self.pending / 2,
            directories: self.directories / 2,
            names: self.names / 2,
            recovery: self.recovery / 2,
        }
    }
}

impl CrashTrace {
    /// The trace as JSON, at most [`MAX_BYTES`] long: lists are cut (and their cuts counted)
    /// until it fits.
    pub fn to_json(&self) -> String {
        let mut limits = LIMITS;
        loop {
            let mut bounded = self.clone();
            bounded.bound(limits);
            let json = serde_json::to_string_pretty(&bounded).expect("a crash trace always serializes");
            if json.len() <= MAX_BYTES || limits.steps_before_crash == 0 {
                return json;
            }
            limits = limits.halved();
        }
    }

    /// Reads a trace written by [`CrashTrace::to_json`], refusing another format or version.
    pub fn from_json(json: &str) -> Result<CrashTrace, String> {
        let trace: CrashTrace = serde_json::from_str(json).map_err(|e| format!("not a crash trace: {e}"))?;
        if trace.format != FORMAT || trace.version != VERSION {
            return Err(format!(
                "a trace of format {:?} version {}; this kit reads {FORMAT:?} version {VERSION}",
                trace.format, trace.version
            ));
        }
        Ok(trace)
    }

    fn bound(&mut self, limits: Limits) {
        self.failure.message = cut(&self.failure.message, MAX_MESSAGE);
        self.test = cut(&self.test, MAX_STRING);
        self.replay = self.replay.as_deref().map(|replay| cut(replay, MAX_MESSAGE));
        // The steps: the first ones (how the workload began), and a window around the crash.
        let crash = self.crash.after_step;
        let before = self.steps.len();
        let head = limits.steps_head as u64;
        let from = crash.saturating_sub(limits.steps_before_crash as u64);
        let to = crash + limits.steps_after_crash as u64;
        self.steps.retain(|step| step.step <= head || (from < step.step && step.step <= to));
        self.steps_omitted += (before - self.steps.len()) as u64;
        self.recovery_omitted +=
            keep_ends(&mut self.recovery, limits.recovery / 4, limits.recovery - limits.recovery / 4);
        // Files with pending writes first: they are what a crash decides about.
        self.files.sort_by_key(|file| (file.pending.is_empty(), file.path.clone()));
        self.files_omitted += keep_ends(&mut self.files, limits.files, 0);
        for file in &mut self.files {
            let names = limits.names;
            for list in [&mut file.visible_names, &mut file.durable_names, &mut file.image_names] {
                list.truncate(names.max(1));
            }
            file.pending_omitted +=
                keep_ends(&mut file.pending, limits.pending / 4, limits.pending - limits.pending / 4);
        }
        self.directories.sort_by_key(|dir| (dir.pending.is_empty(), dir.path.clone()));
        self.directories_omitted += keep_ends(&mut self.directories, limits.directories, 0);
        for dir in &mut self.directories {
            dir.pending_omitted += keep_ends(&mut dir.pending, limits.pending / 4, limits.pending - limits.pending / 4);
            let names = dir.durable.len().max(dir.image.len());
            dir.durable.truncate(limits.names);
            dir.image.truncate(limits.names);
            dir.names_omitted += names.saturating_sub(limits.names) as u64;
        }
    }

    /// Writes the trace to [`trace_dir`], named after its test; returns the path.
    pub fn write(&self) -> io::Result<PathBuf> {
        let dir = trace_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(file_name(&self.test));
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, self.to_json())?;
        std::fs::rename(&temporary, &path)?;
        Ok(path)
    }
}

/// The file name of the trace of `test`: `crash::every_point` becomes
/// `crash__every_point.json`; characters other than ASCII letters, digits, `_` and `-` become `_`.
pub fn file_name(test: &str) -> String {
    let stem: String = test
        .replace("::", "__")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(150)
        .collect();
    let stem = if stem.is_empty() { "explore".to_string() } else { stem };
    format!("{stem}.json")
}

/// Where traces go: `$LAB_TRACE_DIR`, or `crash-traces/` of the target directory the running
/// test executable was built in, or `crash-traces/` of the temporary directory.
pub fn trace_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LAB_TRACE_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    // A test executable lives in `<target>/<profile>/deps/`.
    let exe = std::env::current_exe().ok();
    let target = exe.as_deref().and_then(Path::parent).filter(|deps| deps.ends_with("deps")).and_then(|deps| {
        let profile = deps.parent()?;
        profile.parent()
    });
    match target {
        Some(target) => target.join("crash-traces"),
        None => std::env::temp_dir().join("crash-traces"),
    }
}

/// The invariant named in brackets at the start of a failure message.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn invariant_of(message: &str) -> Option<String> {
    let rest = message.strip_prefix('[')?;
    let name = &rest[..rest.find(']')?];
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then(|| name.to_string())
}

/// The command of the message's `replay:` line.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn replay_of(message: &str) -> Option<String> {
    message.lines().find_map(|line| line.trim_start().strip_prefix("replay: ")).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(step: u64, len: u64) -> Step {
        Step {
            step,
            op: "write".into(),
            path: "wal/00000000000000000001.wal".into(),
            offset: Some(step * len),
            len: Some(len),
            to: None,
            data: Some(Preview::of(&vec![0xab; len as usize], len)),
            failed: false,
            acked: Some(step / 2),
        }
    }

    fn pending(step: u64) -> PendingWrite {
        PendingWrite {
            step: Some(step),
            op: "write".into(),
            offset: Some(step * 100),
            len: 100,
            data: Some(Preview::of(b"\x00\x01record \"quoted\" \\ <b>", 100)),
            kept: if step.is_multiple_of(2) { Kept::Part } else { Kept::None },
            kept_ranges: if step.is_multiple_of(2) { vec![[step * 100, step * 100 + 50]] } else { Vec::new() },
        }
    }

    fn trace(steps: u64, files: usize, pending_per_file: u64) -> CrashTrace {
        CrashTrace {
            format: FORMAT.into(),
            version: VERSION,
            test: "crash::a \"quoted\" test\n<script>".into(),
            replay: Some("LAB_SEED=0x3 cargo test -p lab1 --test public -- --exact crash::x".into()),
            explorer_seed: "0x3".into(),
            failure: Failure {
                invariant: Some("durability".into()),
                message: "[durability] entry 1 was acknowledged \u{1b}[31m and is gone".repeat(200),
            },
            crash: CrashPoint {
                after_step: steps / 2,
                steps,
                mode: "reordered".into(),
                mode_seed: Some("0x9".into()),
                acked: 4,
            },
            steps: (1..=steps).map(|s| step(s, 700)).collect(),
            steps_omitted: 0,
            files: (0..files)
                .map(|f| FileAtCrash {
                    path: format!("dir/file-{f}"),
                    visible_names: vec![format!("dir/file-{f}")],
                    durable_names: Vec::new(),
                    image_names: Vec::new(),
                    durable_len: 0,
                    visible_len: 100 * pending_per_file,
                    image_len: None,
                    pending: (1..=pending_per_file).map(pending).collect(),
                    pending_omitted: 0,
                    grown: Some(GrownTail { from: 10, to: 20, fill: "garbage".into() }),
                })
                .collect(),
            files_omitted: 0,
            directories: vec![DirAtCrash {
                path: ".".into(),
                durable: (0..1000).map(|n| format!("name-{n}")).collect(),
                pending: (0..1000)
                    .map(|n| DirOp {
                        step: Some(n),
                        op: "rename".into(),
                        name: format!("tmp-{n}"),
                        to: Some(format!("name-{n}")),
                        kept: n.is_multiple_of(3),
                    })
                    .collect(),
                pending_omitted: 0,
                image: vec!["name-1".into()],
                names_omitted: 0,
            }],
            directories_omitted: 0,
            recovery: (1..=5000).map(|s| step(s, 3)).collect(),
            recovery_omitted: 0,
        }
    }

    #[test]
    fn a_small_trace_round_trips_unchanged() {
        let original = trace(30, 3, 4);
        let json = original.to_json();
        let back = CrashTrace::from_json(&json).expect("the trace reads back");
        // Only the recovery list and the directory were over their limits.
        assert_eq!(back.steps, original.steps);
        assert_eq!(back.files, original.files);
        assert_eq!(back.failure.invariant, original.failure.invariant);
        assert_eq!(back.test, original.test, "quotes, line breaks and markup survive the escaping");
        assert_eq!(back.recovery_omitted, 5000 - 200);
        assert_eq!(back.directories[0].pending_omitted, 1000 - 64);
    }

    #[test]
    fn a_bounded_trace_round_trips_exactly() {
        let json = trace(100, 5, 10).to_json();
        let back = CrashTrace::from_json(&json).unwrap();
        assert_eq!(back.to_json(), json, "reading and writing again changes nothing");
    }

    #[test]
    fn a_huge_trace_stays_under_the_bound_and_keeps_the_crash_point() {
        let original = trace(100_000, 500, 2_000);
        let json = original.to_json();
        assert!(json.len() <= MAX_BYTES, "{} bytes", json.len());
        let back = CrashTrace::from_json(&json).unwrap();
        assert!(back.steps.iter().any(|s| s.step == original.crash.after_step), "the crash point's step is kept");
        assert!(back.steps.iter().any(|s| s.step == 1), "the first step is kept");
        let total = back.steps.len() as u64 + back.steps_omitted;
        assert_eq!(total, 100_000, "every step is either kept or counted");
        assert_eq!(back.files.len() as u64 + back.files_omitted, 500);
        for file in &back.files {
            assert_eq!(file.pending.len() as u64 + file.pending_omitted, 2_000);
        }
        assert!(back.failure.message.chars().count() <= MAX_MESSAGE + 1);
    }

    #[test]
    fn another_version_is_refused() {
        let mut other = trace(3, 1, 1);
        other.version = VERSION + 1;
        let json = serde_json::to_string(&other).unwrap();
        assert!(CrashTrace::from_json(&json).unwrap_err().contains("version"));
    }

    #[test]
    fn previews_are_short_and_printable() {
        let preview = Preview::of(&[0x00, b'h', b'i', 0xff, b' '], 5000);
        assert_eq!(preview.hex, "00 68 69 ff 20");
        assert_eq!(preview.text, ".hi. ");
        assert_eq!((preview.shown, preview.len), (5, 5000));
        assert_eq!(Preview::of(&[7; 100], 100).shown, PREVIEW_BYTES as u64);
    }

    #[test]
    fn names_and_messages_are_parsed_from_the_failure() {
        let message = "[torn-tail] reopening failed\n  replay: LAB_SEED=0x1 cargo test -p lab1";
        assert_eq!(invariant_of(message).as_deref(), Some("torn-tail"));
        assert_eq!(replay_of(message).as_deref(), Some("LAB_SEED=0x1 cargo test -p lab1"));
        assert_eq!(invariant_of("no bracket"), None);
        assert_eq!(file_name("crash::every point"), "crash__every_point.json");
        assert_eq!(file_name("../../etc/passwd"), "______etc_passwd.json");
    }
}
