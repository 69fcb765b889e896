//! What the crash trace shows of a disk at a crash: each file's durable and pending bytes, each
//! directory's durable and pending names, and what the crash image kept of each pending
//! operation. Built only when a check fails (see [`SimFs::crash_recorded`](super::SimFs)), from
//! the disk before the crash, the fates the crash drew, and the image.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::crash_trace::{self, DirAtCrash, DirOp as TraceDirOp, FileAtCrash, GrownTail, Kept, Preview, show_path};

use super::inodes::{InodeId, PendingWrite};
use super::namespace::DirOp;
use super::trace::StepArgs;
use super::{Disk, ImageFates, OpKind, OpRecord};

/// The disk part of a crash trace.
pub(crate) type CrashRecord = crash_trace::DiskAtCrash;

/// The name the trace gives an operation kind (the same as [`OpRecord`]'s display).
pub(super) fn op_name(kind: OpKind) -> &'static str {
    match kind {
        OpKind::Create => "create",
        OpKind::Write => "write",
        OpKind::SetLen => "set_len",
        OpKind::SyncFile => "sync",
        OpKind::SyncDir => "sync_dir",
        OpKind::Rename => "rename",
        OpKind::Remove => "remove",
        OpKind::CreateDir => "create_dir",
    }
}

/// One step as the trace shows it (its `acked` is filled in by the explorer).
pub(super) fn step(op: &OpRecord, args: &StepArgs) -> crash_trace::Step {
    crash_trace::Step {
        step: op.step,
        op: op_name(op.kind).to_string(),
        path: show_path(&op.path),
        offset: args.offset,
        len: args.len,
        to: args.to.as_deref().map(show_path),
        data: (op.kind == OpKind::Write && !op.failed).then(|| Preview::of(&args.head, args.len.unwrap_or(0))),
        failed: op.failed,
        acked: None,
    }
}

fn names_of(names: &BTreeMap<PathBuf, InodeId>, id: InodeId) -> Vec<String> {
    names.iter().filter(|(_, other)| **other == id).map(|(name, _)| show_path(name)).collect()
}

/// The record of a crash of `disk` that drew `fates` and left `image`.
pub(super) fn record(disk: &Disk, fates: &ImageFates, image: &Disk) -> CrashRecord {
    let namespace = &disk.namespace;
    // Every inode a name or a pending directory operation reaches, in id order.
    let mut ids: BTreeSet<InodeId> = namespace.referenced().into_iter().collect();
    ids.extend(image.namespace.visible.values().copied());
    let mut files = Vec::new();
    for id in ids {
        let Some(inode) = disk.inodes.table.get(&id) else { continue };
        let visible_names = names_of(&namespace.visible, id);
        let durable_names = names_of(&namespace.durable, id);
        let image_names = names_of(&image.namespace.visible, id);
        let path = visible_names
            .first()
            .or(durable_names.first())
            .or(image_names.first())
            .cloned()
            .unwrap_or_else(|| format!("(inode {id}, removed)"));
        let file_fates = fates.files.get(&id);
        let pending = inode
            .pending
            .iter()
            .enumerate()
            .map(|(k, write)| {
                let fate = file_fates.and_then(|f| f.writes.get(k));
                let ranges: Vec<[u64; 2]> =
                    fate.map(|f| f.ranges.iter().map(|&(s, e)| [s, e]).collect()).unwrap_or_default();
                let (op, offset, len, data, kept) = match write {
                    PendingWrite::Write { offset, data } => {
                        let kept_bytes: u64 = ranges.iter().map(|[s, e]| e - s).sum();
                        let kept = match kept_bytes {
                            0 => Kept::None,
                            n if n == data.len() as u64 => Kept::All,
                            _ => Kept::Part,
                        };
                        ("write", Some(*offset), data.len() as u64, Some(Preview::of(data, data.len() as u64)), kept)
                    }
                    PendingWrite::SetLen(len) => {
                        let kept = if fate.is_some_and(|f| f.applied) { Kept::All } else { Kept::None };
                        ("set_len", None, *len, None, kept)
                    }
                };
                crash_trace::PendingWrite {
                    step: inode.pending_steps.get(k).copied(),
                    op: op.to_string(),
                    offset,
                    len,
                    data,
                    kept,
                    kept_ranges: ranges,
                }
            })
            .collect();
        files.push(FileAtCrash {
            path,
            visible_names,
            durable_names,
            image_len: image
                .inodes
                .table
                .get(&id)
                .filter(|_| !image_names.is_empty())
                .map(|i| i.visible.bytes.len() as u64),
            image_names,
            durable_len: inode.durable.bytes.len() as u64,
            visible_len: inode.visible.bytes.len() as u64,
            pending,
            pending_omitted: 0,
            grown: file_fates.and_then(|f| f.grown).map(|g| GrownTail {
                from: g.from,
                to: g.to,
                fill: if g.garbage { "garbage" } else { "zeros" }.to_string(),
            }),
        });
    }
    // Directories: every one with a pending operation or a name.
    let mut dirs: BTreeSet<PathBuf> = namespace.pending.keys().cloned().collect();
    for names in [&namespace.durable, &namespace.visible, &image.namespace.visible] {
        dirs.extend(names.keys().map(|name| super::parent_of(name)));
    }
    let in_dir = |names: &BTreeMap<PathBuf, InodeId>, dir: &Path| -> Vec<String> {
        names.keys().filter(|name| super::parent_of(name) == dir).map(|name| show_path(name)).collect()
    };
    let steps = step_numbers_of_dir_ops(disk);
    let directories = dirs
        .into_iter()
        .map(|dir| {
            let ops = namespace.pending.get(&dir).map(Vec::as_slice).unwrap_or_default();
            let kept = fates.dirs.get(&dir);
            let numbers = steps.get(&dir);
            let pending = ops
                .iter()
                .enumerate()
                .map(|(k, op)| {
                    let (name, to, kind) = match op {
                        DirOp::Link { name, .. } => (name, None, "create"),
                        DirOp::Rename { from, to, .. } => (from, Some(show_path(to)), "rename"),
                        DirOp::Unlink { name } => (name, None, "remove"),
                    };
                    TraceDirOp {
                        step: numbers.and_then(|n| n.get(k)).copied(),
                        op: kind.to_string(),
                        name: show_path(name),
                        to,
                        kept: kept.and_then(|k2| k2.get(k)).copied().unwrap_or(false),
                    }
                })
                .collect();
            DirAtCrash {
                path: show_path(&dir),
                durable: in_dir(&namespace.durable, &dir),
                pending,
                pending_omitted: 0,
                image: in_dir(&image.namespace.visible, &dir),
                names_omitted: 0,
            }
        })
        .collect();
    CrashRecord { files, directories }
}

/// The step that queued each pending directory operation: a directory's queue holds its
/// creates, renames and removes since its last `sync_dir`, in order, so they are the steps of
/// those kinds in that directory after its last sync. A directory whose count does not match
/// (a failed operation recorded as a step) gets no numbers.
fn step_numbers_of_dir_ops(disk: &Disk) -> BTreeMap<PathBuf, Vec<u64>> {
    let mut numbers: BTreeMap<PathBuf, Vec<u64>> = BTreeMap::new();
    for op in &disk.trace.ops {
        match op.kind {
            OpKind::Create | OpKind::Rename | OpKind::Remove if !op.failed => {
                numbers.entry(super::parent_of(&op.path)).or_default().push(op.step);
            }
            OpKind::SyncDir if !op.failed => {
                numbers.remove(&op.path);
            }
            _ => {}
        }
    }
    numbers.retain(|dir, steps| disk.namespace.pending.get(dir).is_some_and(|ops| ops.len() == steps.len()));
    numbers
}
