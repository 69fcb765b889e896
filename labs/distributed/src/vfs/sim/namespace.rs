//! The namespace: which names reach which inodes, in the view reads see (**visible**), in the
//! view a strict crash keeps (**durable**), and the directory operations between them
//! (**pending**).
//!
//! Creating, renaming and removing a file change the visible view at once and queue an
//! operation on the parent directory; [`Namespace::sync_dir`] applies that directory's queue
//! to the durable view, in order. A crash builds the next boot's names from the durable view
//! and, depending on the crash mode, some of the pending operations:
//!
//! - torn: an ordered prefix of each directory's queue, as a filesystem that journals
//!   directory operations in order (ext4 with `data=ordered`) keeps them;
//! - reordered: any subset of each queue that respects dependencies — an operation on a name
//!   never survives without the pending operation that created that name — applied in the
//!   original order. This is what ALICE observed of btrfs, which may persist a later rename
//!   without an earlier one.
//!
//! Directories themselves are durable as soon as they are created.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::rng::TestRng;

use super::inodes::InodeId;

/// One create, rename or remove, queued on its directory until the directory is synced.
#[derive(Clone, Debug)]
pub(super) enum DirOp {
    Link { name: PathBuf, inode: InodeId },
    Rename { from: PathBuf, to: PathBuf, inode: InodeId },
    Unlink { name: PathBuf },
}

impl DirOp {
    fn apply(&self, names: &mut BTreeMap<PathBuf, InodeId>) {
        match self {
            DirOp::Link { name, inode } => {
                names.insert(name.clone(), *inode);
            }
            DirOp::Rename { from, to, inode } => {
                names.remove(from);
                names.insert(to.clone(), *inode);
            }
            DirOp::Unlink { name } => {
                names.remove(name);
            }
        }
    }

    fn inode(&self) -> Option<InodeId> {
        match self {
            DirOp::Link { inode, .. } | DirOp::Rename { inode, .. } => Some(*inode),
            DirOp::Unlink { .. } => None,
        }
    }
}

/// What a crash keeps of the pending directory operations.
#[derive(Clone, Copy, Debug)]
pub(super) enum KeepOps {
    None,
    All,
    /// An ordered prefix of each directory's queue.
    Prefix,
    /// A subset of each directory's queue that respects dependencies.
    Subset,
}

#[derive(Clone, Debug)]
pub(super) struct Namespace {
    pub visible: BTreeMap<PathBuf, InodeId>,
    pub durable: BTreeMap<PathBuf, InodeId>,
    pub dirs: BTreeSet<PathBuf>,
    pub pending: BTreeMap<PathBuf, Vec<DirOp>>,
}

impl Default for Namespace {
    fn default() -> Self {
        let mut dirs = BTreeSet::new();
        dirs.insert(PathBuf::new());
        Namespace { visible: BTreeMap::new(), durable: BTreeMap::new(), dirs, pending: BTreeMap::new() }
    }
}

impl Namespace {
    /// The names of a disk just booted: every name durable, nothing pending.
    pub fn settled(names: BTreeMap<PathBuf, InodeId>, dirs: BTreeSet<PathBuf>) -> Namespace {
        Namespace { visible: names.clone(), durable: names, dirs, pending: BTreeMap::new() }
    }

    pub fn link(&mut self, path: &Path, inode: InodeId) {
        self.visible.insert(path.to_path_buf(), inode);
        self.queue(DirOp::Link { name: path.to_path_buf(), inode });
    }

    pub fn rename(&mut self, from: &Path, to: &Path, inode: InodeId) {
        self.visible.remove(from);
        self.visible.insert(to.to_path_buf(), inode);
        self.queue(DirOp::Rename { from: from.to_path_buf(), to: to.to_path_buf(), inode });
    }

    /// Removes `path` from the visible view; `false` if it was not there.
    pub fn unlink(&mut self, path: &Path) -> bool {
        if self.visible.remove(path).is_none() {
            return false;
        }
        self.queue(DirOp::Unlink { name: path.to_path_buf() });
        true
    }

    fn queue(&mut self, op: DirOp) {
        let name = match &op {
            DirOp::Link { name, .. } | DirOp::Unlink { name } => name,
            DirOp::Rename { from, .. } => from,
        };
        self.pending.entry(parent_of(name)).or_default().push(op);
    }

    /// Makes `dir`'s pending operations durable, in order; returns how many there were.
    pub fn sync_dir(&mut self, dir: &Path) -> usize {
        let ops = self.pending.remove(dir).unwrap_or_default();
        for op in &ops {
            op.apply(&mut self.durable);
        }
        ops.len()
    }

    /// A visible name of `inode`, for the trace.
    pub fn name_of(&self, inode: InodeId) -> PathBuf {
        self.visible
            .iter()
            .find(|(_, id)| **id == inode)
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| PathBuf::from("<removed>"))
    }

    /// The inodes that a view, or a pending operation a crash may keep, reaches.
    pub fn referenced(&self) -> HashSet<InodeId> {
        let pending = self.pending.values().flatten().filter_map(DirOp::inode);
        self.visible.values().chain(self.durable.values()).copied().chain(pending).collect()
    }

    /// The names after a crash that keeps `keep` of the pending operations, and for each
    /// directory with pending operations whether the crash kept each of them, in queue order
    /// (for the crash trace).
    pub fn after_crash_traced(
        &self,
        keep: KeepOps,
        rng: &mut TestRng,
    ) -> (BTreeMap<PathBuf, InodeId>, BTreeMap<PathBuf, Vec<bool>>) {
        let mut fates: BTreeMap<PathBuf, Vec<bool>> = BTreeMap::new();
        let names = match keep {
            KeepOps::None | KeepOps::All => {
                let kept = matches!(keep, KeepOps::All);
                for (dir, ops) in &self.pending {
                    fates.insert(dir.clone(), vec![kept; ops.len()]);
                }
                if kept { self.visible.clone() } else { self.durable.clone() }
            }
            KeepOps::Prefix => {
                let mut names = self.durable.clone();
                for (dir, ops) in &self.pending {
                    let keep = rng.below(ops.len() as u64 + 1) as usize;
                    for op in &ops[..keep] {
                        op.apply(&mut names);
                    }
                    fates.insert(dir.clone(), (0..ops.len()).map(|k| k < keep).collect());
                }
                names
            }
            KeepOps::Subset => {
                let mut names = self.durable.clone();
                for (dir, ops) in &self.pending {
                    let mut kept = vec![false; ops.len()];
                    for k in kept_subset(ops, rng) {
                        ops[k].apply(&mut names);
                        kept[k] = true;
                    }
                    fates.insert(dir.clone(), kept);
                }
                names
            }
        };
        (names, fates)
    }
}

/// The positions of one directory's pending operations that a reordering crash keeps: each
/// is kept on a coin flip, unless it acts on a name whose creating operation (a pending
/// create, or a pending rename onto it) was not kept.
fn kept_subset(ops: &[DirOp], rng: &mut TestRng) -> Vec<usize> {
    // The pending operation that last made each name exist.
    let mut creator: HashMap<&Path, usize> = HashMap::new();
    let mut kept = Vec::new();
    let mut is_kept = vec![false; ops.len()];
    for (k, op) in ops.iter().enumerate() {
        let depends_on = match op {
            DirOp::Link { .. } => None,
            DirOp::Rename { from, .. } => creator.get(from.as_path()).copied(),
            DirOp::Unlink { name } => creator.get(name.as_path()).copied(),
        };
        let keep = rng.coin() && depends_on.is_none_or(|d| is_kept[d]);
        if keep {
            is_kept[k] = true;
            kept.push(k);
        }
        match op {
            DirOp::Link { name, .. } => {
                creator.insert(name, k);
            }
            DirOp::Rename { from, to, .. } => {
                creator.remove(from.as_path());
                creator.insert(to, k);
            }
            DirOp::Unlink { name } => {
                creator.remove(name.as_path());
            }
        }
    }
    kept
}

pub(super) fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
