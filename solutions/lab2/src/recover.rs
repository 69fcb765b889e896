//! Recovery: apply a [`RecoveryMode`] to what [`scan`] found.
//!
//! Every cut keeps a copy, like etcd's `Repair`, which copies the file to `<name>.broken`
//! before it truncates: a recovery that guessed wrong can be undone by hand, and an operator
//! can look at what was removed. The order of the steps makes a crash during recovery safe:
//!
//! 1. the copy of the bytes to cut is written atomically (temporary file, sync, rename,
//!    directory sync) before the segment is cut, so the bytes exist in one place or both;
//! 2. the segment at the damage is cut and synced **before** the segments after it are set
//!    aside, so a crash in between leaves a gap after the cut: corruption that the default
//!    mode refuses, never a shorter log that looks whole;
//! 3. later segments are set aside newest first, then the directory is synced once.

use std::path::Path;
use std::sync::Arc;

use distributed::vfs::{FsRef, OpenMode, write_atomic};
use lab1::{Wal, WalOptions};

use crate::report::{Action, Damage, DamageClass, LogReport, Recovery, RecoveryMode};
use crate::{RepairError, scan};

/// Verifies the log in `dir` and makes it openable by `lab1::Wal::open`, as far as `mode`
/// allows: see [`RecoveryMode`] for the decision table. Damage the mode does not allow is
/// [`RepairError::Refused`], and then nothing on disk has changed. Otherwise the log is cut
/// back to its last consistent position ([`LogReport::last_consistent_index`]), keeping a
/// copy of everything cut.
pub fn recover(fs: &FsRef, dir: impl AsRef<Path>, mode: RecoveryMode) -> Result<Recovery, RepairError> {
    let dir = dir.as_ref();
    let report = scan(fs, dir)?;
    let allowed = match report.worst() {
        None | Some(DamageClass::Benign) => true,
        Some(DamageClass::Tail) => mode != RecoveryMode::AbsoluteConsistency,
        Some(DamageClass::Corruption) => mode == RecoveryMode::TolerateAnyCorruption,
    };
    if !allowed {
        return Err(RepairError::Refused { mode, report: Box::new(report) });
    }
    roll_back(fs, dir, report)
}

/// Cuts the log back to the last consistent position of `report`, which must describe the
/// disk as it is: trims zeros before the first real damage, cuts the segment holding it (a
/// copy kept), sets aside every later segment, and removes leftovers of a compaction.
pub(crate) fn roll_back(fs: &FsRef, dir: &Path, report: LogReport) -> Result<Recovery, RepairError> {
    let mut actions = Vec::new();
    let mut dir_dirty = false;
    for file in &report.leftovers {
        fs.remove_file(&dir.join(file))?;
        actions.push(Action::RemovedLeftover { file: file.clone() });
        dir_dirty = true;
    }
    let first_real = report.damage.iter().position(|d| d.class() != DamageClass::Benign);
    for damage in &report.damage[..first_real.unwrap_or(report.damage.len())] {
        if let Damage::ZeroedTail { file, offset, bytes } = damage {
            cut_file(fs, dir, file, *offset)?;
            actions.push(Action::TrimmedZeros { file: file.clone(), offset: *offset, bytes: *bytes });
        }
    }
    if let Some(at) = first_real {
        let damage = &report.damage[at];
        let position = report
            .segments
            .iter()
            .position(|s| s.file_name == damage.file())
            .expect("every damage is in a segment of the report");
        let segment = &report.segments[position];
        let later = &report.segments[position + 1..];
        if damage.offset() == 0 {
            // The whole file is unusable (header, place in the log): it goes with the rest.
            set_aside(fs, dir, &segment.file_name, &mut actions)?;
        } else {
            let offset = damage.offset();
            let path = dir.join(&segment.file_name);
            let bytes = fs.open(&path, OpenMode::Read)?.read_all()?;
            let kept = free_name(fs, dir, &segment.file_name)?;
            write_atomic(fs.as_ref(), &dir.join(&kept), &bytes[offset as usize..])?;
            cut_file(fs, dir, &segment.file_name, offset)?;
            actions.push(Action::Cut {
                file: segment.file_name.clone(),
                offset,
                bytes: bytes.len() as u64 - offset,
                kept,
            });
        }
        for later in later.iter().rev() {
            set_aside(fs, dir, &later.file_name, &mut actions)?;
        }
        dir_dirty = true;
    }
    if dir_dirty {
        fs.sync_dir(dir)?;
    }
    let wal = Wal::open(Arc::clone(fs), dir, WalOptions::default())?;
    Ok(Recovery { report, actions, last_index: wal.last_index() })
}

/// Cuts `file` to `len` bytes, durably.
fn cut_file(fs: &FsRef, dir: &Path, file: &str, len: u64) -> Result<(), RepairError> {
    let handle = fs.open(&dir.join(file), OpenMode::ReadWrite)?;
    handle.set_len(len)?;
    handle.sync_data()?;
    Ok(())
}

/// Renames `file` to a name that is not a segment's (durable with the next directory sync).
fn set_aside(fs: &FsRef, dir: &Path, file: &str, actions: &mut Vec<Action>) -> Result<(), RepairError> {
    let kept = free_name(fs, dir, file)?;
    fs.rename(&dir.join(file), &dir.join(&kept))?;
    actions.push(Action::SetAside { file: file.to_string(), kept });
    Ok(())
}

/// `<file>.broken`, or `<file>.broken.2`, `.3` … if taken: an earlier recovery's copy is
/// never overwritten.
fn free_name(fs: &FsRef, dir: &Path, file: &str) -> Result<String, RepairError> {
    let mut name = format!("{file}.broken");
    let mut n = 1;
    while fs.exists(&dir.join(&name))? {
        n += 1;
        name = format!("{file}.broken.{n}");
    }
    Ok(name)
}
