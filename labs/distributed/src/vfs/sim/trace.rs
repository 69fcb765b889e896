//! The trace: every mutating operation as a numbered step, and the power switch that a crash
//! point turns off.
//!
//! The crash explorer counts steps, so what counts as one is part of the contract: a create,
//! a write, a `set_len`, a file sync, a directory sync, a rename, a remove, and a
//! `create_dir_all` that made a directory. Reads, listings and `exists` are not steps. A step
//! that failed (an injected EIO, a full disk) is still a step, marked `failed`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The kind of a mutating operation, as counted by the crash explorer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// A file was created.
    Create,
    /// Bytes were written.
    Write,
    /// A file's length was set.
    SetLen,
    /// A file's bytes were synced (`sync_data` or `sync_all`).
    SyncFile,
    /// A directory's entries were synced.
    SyncDir,
    /// A file was renamed.
    Rename,
    /// A file was removed.
    Remove,
    /// A directory was created.
    CreateDir,
}

/// One step of a workload's I/O, as recorded by [`SimFs::ops`](super::SimFs::ops).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// 1-based step number: a crash "after step k" keeps steps `1..=k`.
    pub step: u64,
    /// What kind of operation it was.
    pub kind: OpKind,
    /// The file or directory it touched.
    pub path: PathBuf,
    /// Offsets, lengths, targets: enough to recognise the step in a failure message.
    pub detail: String,
    /// Whether it failed (an injected EIO, a full disk).
    pub failed: bool,
}

impl fmt::Display for OpRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            OpKind::Create => "create",
            OpKind::Write => "write",
            OpKind::SetLen => "set_len",
            OpKind::SyncFile => "sync",
            OpKind::SyncDir => "sync_dir",
            OpKind::Rename => "rename",
            OpKind::Remove => "remove",
            OpKind::CreateDir => "create_dir",
        };
        write!(f, "#{} {kind} {}", self.step, self.path.display())?;
        if !self.detail.is_empty() {
            write!(f, " {}", self.detail)?;
        }
        if self.failed {
            write!(f, " (failed)")?;
        }
        Ok(())
    }
}

/// What the crash trace shows of a step besides its [`OpRecord`]: the numbers the viewer
/// replays the disk from, and the first bytes a write stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StepArgs {
    pub offset: Option<u64>,
    pub len: Option<u64>,
    /// A rename's new name.
    pub to: Option<PathBuf>,
    /// The first [`HEAD_BYTES`] bytes a write stored.
    pub head: Vec<u8>,
}

/// How many bytes of each write the trace keeps for its preview.
pub(crate) const HEAD_BYTES: usize = 32;

/// The steps so far, and whether the power is still on.
#[derive(Clone, Debug, Default)]
pub(super) struct Trace {
    pub ops: Vec<OpRecord>,
    /// Parallel to `ops`.
    pub args: Vec<StepArgs>,
    /// The last step allowed to run, if a crash point is set.
    pub crash_after: Option<u64>,
    pub powered_off: bool,
}

impl Trace {
    pub fn check_power(&self) -> io::Result<()> {
        if self.powered_off { Err(power_lost()) } else { Ok(()) }
    }

    /// Records a completed mutating step and cuts the power if it was the last one allowed.
    pub fn record(&mut self, kind: OpKind, path: &Path, detail: String, failed: bool) {
        self.record_args(kind, path, detail, failed, StepArgs::default());
    }

    /// [`Trace::record`] with the numbers and bytes the crash trace shows.
    pub fn record_args(&mut self, kind: OpKind, path: &Path, detail: String, failed: bool, args: StepArgs) {
        let step = self.ops.len() as u64 + 1;
        self.ops.push(OpRecord { step, kind, path: path.to_path_buf(), detail, failed });
        self.args.push(args);
        if self.crash_after == Some(step) {
            self.powered_off = true;
        }
    }

    /// Sets the crash point; the power goes off at once if that step has already run.
    pub fn crash_after(&mut self, step: u64) {
        self.crash_after = Some(step);
        if self.ops.len() as u64 >= step {
            self.powered_off = true;
        }
    }

    /// How many steps have run; also the number of the last one.
    pub fn steps(&self) -> u64 {
        self.ops.len() as u64
    }
}

fn power_lost() -> io::Error {
    io::Error::other("simulated power loss: the machine is off (crash point reached)")
}
