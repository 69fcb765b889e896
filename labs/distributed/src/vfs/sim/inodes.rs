//! Inodes: each file's two views of its bytes, the writes between them, and what a crash
//! keeps of those writes.
//!
//! A file is an inode, not a name: handles follow it through renames and outlive a remove.
//! Each inode holds its **visible** contents (what reads see) and its **durable** contents
//! (what a strict crash keeps), and the ordered list of writes and `set_len` calls since its
//! last sync. A sync applies that list to the durable contents.
//!
//! Contents are sparse, as on a filesystem with sparse files: growing a file with `set_len`
//! reads as zeros but allocates nothing, and only bytes written take space. That is what the
//! capacity limit counts, for the inodes that still have a name or an open handle; an inode
//! that lost both frees its space at once, as `unlink` of a closed file does.

use std::collections::{HashMap, HashSet};

use crate::rng::TestRng;

use super::{PAGE_SIZE, SECTOR_SIZE};

pub(super) type InodeId = u64;

/// One write or length change, as queued until the next sync.
#[derive(Clone, Debug)]
pub(super) enum PendingWrite {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// The byte ranges of a file that were written (allocated), sorted and disjoint.
#[derive(Clone, Debug, Default)]
pub(super) struct Extents(Vec<(u64, u64)>);

impl Extents {
    /// Bytes allocated.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(start, end)| end - start).sum()
    }

    /// The longest prefix `start..start + n` (with `n <= len`) that allocates at most `free`
    /// new bytes.
    pub fn prefix_that_fits(&self, start: u64, len: u64, free: u64) -> u64 {
        let end = start + len;
        let mut at = start;
        let mut budget = free;
        for &(s, e) in self.0.iter().filter(|&&(_, e)| e > start) {
            if s >= end {
                break;
            }
            // The hole before this extent, then the extent itself (free).
            let hole = s.saturating_sub(at);
            if hole > budget {
                return at + budget - start;
            }
            budget -= hole;
            at = e.min(end).max(at);
        }
        let hole = end - at;
        if hole > budget { at + budget - start } else { len }
    }

    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut start, mut end) = (start, end);
        let mut kept = Vec::with_capacity(self.0.len() + 1);
        for &(s, e) in &self.0 {
            if e < start || s > end {
                kept.push((s, e));
            } else {
                start = start.min(s);
                end = end.max(e);
            }
        }
        kept.push((start, end));
        kept.sort_unstable();
        self.0 = kept;
    }

    pub fn truncate(&mut self, len: u64) {
        self.0.retain(|&(s, _)| s < len);
        if let Some(last) = self.0.last_mut() {
            last.1 = last.1.min(len);
        }
    }
}

/// One view of a file: its bytes, and which of them were allocated.
#[derive(Clone, Debug, Default)]
pub(super) struct Contents {
    pub bytes: Vec<u8>,
    pub allocated: Extents,
}

impl Contents {
    pub fn apply(&mut self, write: &PendingWrite) {
        match write {
            PendingWrite::Write { offset, data } => {
                let start = *offset as usize;
                let end = start + data.len();
                if self.bytes.len() < end {
                    self.bytes.resize(end, 0);
                }
                self.bytes[start..end].copy_from_slice(data);
                self.allocated.insert(*offset, end as u64);
            }
            PendingWrite::SetLen(len) => {
                self.bytes.resize(*len as usize, 0);
                self.allocated.truncate(*len);
            }
        }
    }

    /// Grows the file to `len` without writing: a hole, which reads as zeros.
    pub fn grow_sparse(&mut self, len: usize) {
        if self.bytes.len() < len {
            self.bytes.resize(len, 0);
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(super) struct Inode {
    pub durable: Contents,
    pub visible: Contents,
    pub pending: Vec<PendingWrite>,
    /// The step that queued each pending write, for the crash trace.
    pub pending_steps: Vec<u64>,
    /// Open handles: an inode with one keeps its space after its last name is removed.
    pub handles: usize,
}

impl Inode {
    /// An inode whose durable and visible contents are both `contents`, nothing pending.
    pub fn settled(contents: Contents) -> Inode {
        Inode {
            durable: contents.clone(),
            visible: contents,
            pending: Vec::new(),
            pending_steps: Vec::new(),
            handles: 0,
        }
    }

    /// Queues a write, made by step `step`: visible now, durable at the next successful sync.
    pub fn write(&mut self, write: PendingWrite, step: u64) {
        self.visible.apply(&write);
        self.pending.push(write);
        self.pending_steps.push(step);
    }

    /// A sync: the pending writes become durable, or with `fail`, are dropped (they stay
    /// visible, but no crash keeps them).
    pub fn sync(&mut self, fail: bool) -> usize {
        let pending = std::mem::take(&mut self.pending);
        self.pending_steps.clear();
        if !fail {
            for write in &pending {
                self.durable.apply(write);
            }
        }
        pending.len()
    }

    /// One torn outcome: the durable contents, then an ordered prefix of the pending writes,
    /// the first one not kept in full cut at a sector boundary, and maybe a length that grew
    /// without its bytes (zeros or garbage).
    ///
    /// The order of the generator's draws is part of the contract: a seed gives the same
    /// image in every version of the kit, so a failure reported with a seed replays.
    ///
    /// Also returns what it kept of each pending write, for the crash trace.
    pub fn torn_traced(&self, rng: &mut TestRng) -> (Contents, Fates) {
        let mut contents = self.durable.clone();
        let pending = &self.pending;
        let mut fates = Fates { writes: pending.iter().map(|_| KeptPart::default()).collect(), grown: None };
        let keep = rng.below(pending.len() as u64 + 1) as usize;
        for (write, fate) in pending[..keep].iter().zip(&mut fates.writes) {
            contents.apply(write);
            *fate = KeptPart::whole(write);
        }
        if let Some(torn) = pending.get(keep) {
            match torn {
                PendingWrite::Write { offset, data } => {
                    // Cut points are the sector boundaries strictly inside the write, and its
                    // start.
                    let end = offset + data.len() as u64;
                    let first_boundary = (offset / SECTOR_SIZE + 1) * SECTOR_SIZE;
                    let boundaries: Vec<u64> =
                        std::iter::once(*offset).chain((first_boundary..end).step_by(SECTOR_SIZE as usize)).collect();
                    let cut = boundaries[rng.below(boundaries.len() as u64) as usize];
                    let kept = (cut - offset) as usize;
                    if kept > 0 {
                        contents.apply(&PendingWrite::Write { offset: *offset, data: data[..kept].to_vec() });
                        fates.writes[keep].ranges.push((*offset, cut));
                    }
                }
                PendingWrite::SetLen(_) => {
                    if rng.coin() {
                        contents.apply(torn);
                        fates.writes[keep] = KeptPart::whole(torn);
                    }
                }
            }
            fates.grown = self.maybe_grown(&mut contents, rng);
        }
        (contents, fates)
    }

    /// One reordered outcome: the durable contents, then any subset of the pending writes'
    /// pages (each write split at `PAGE_SIZE` boundaries of the file, each piece kept or not
    /// on its own, a pending `set_len` likewise), applied in their original order, so a page
    /// kept twice holds its later content; then maybe a length that grew without its bytes.
    /// This is page-cache writeback: the kernel writes dirty pages back in whatever order it
    /// likes, and a power loss stops it anywhere.
    ///
    /// Also returns what it kept of each pending write, for the crash trace.
    pub fn reordered_traced(&self, rng: &mut TestRng) -> (Contents, Fates) {
        let mut contents = self.durable.clone();
        let mut fates = Fates { writes: Vec::with_capacity(self.pending.len()), grown: None };
        for write in &self.pending {
            let mut fate = KeptPart::default();
            match write {
                PendingWrite::Write { offset, data } => {
                    let end = offset + data.len() as u64;
                    let mut at = *offset;
                    while at < end {
                        let piece_end = ((at / PAGE_SIZE + 1) * PAGE_SIZE).min(end);
                        if rng.coin() {
                            let slice = &data[(at - offset) as usize..(piece_end - offset) as usize];
                            contents.apply(&PendingWrite::Write { offset: at, data: slice.to_vec() });
                            match fate.ranges.last_mut() {
                                Some(last) if last.1 == at => last.1 = piece_end,
                                _ => fate.ranges.push((at, piece_end)),
                            }
                        }
                        at = piece_end;
                    }
                }
                PendingWrite::SetLen(_) => {
                    if rng.coin() {
                        contents.apply(write);
                        fate = KeptPart::whole(write);
                    }
                }
            }
            fates.writes.push(fate);
        }
        if !self.pending.is_empty() {
            fates.grown = self.maybe_grown(&mut contents, rng);
        }
        (contents, fates)
    }

    /// The file's size may have reached the disk before its data did: the gap reads as zeros
    /// (a hole) or as garbage (blocks allocated, never written).
    ///
    /// Returns the grown range and whether it holds garbage, if the length grew.
    fn maybe_grown(&self, contents: &mut Contents, rng: &mut TestRng) -> Option<Grown> {
        let visible_len = self.visible.bytes.len();
        if rng.coin() && visible_len > contents.bytes.len() {
            let start = contents.bytes.len();
            contents.grow_sparse(visible_len);
            let garbage = rng.coin();
            if garbage {
                rng.fill(&mut contents.bytes[start..]);
                contents.allocated.insert(start as u64, visible_len as u64);
            }
            return Some(Grown { from: start as u64, to: visible_len as u64, garbage });
        }
        None
    }
}

/// What a crash kept of one pending write: the byte ranges of the file it kept (for a
/// `set_len`, `applied` alone says).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct KeptPart {
    pub ranges: Vec<(u64, u64)>,
    pub applied: bool,
}

impl KeptPart {
    fn whole(write: &PendingWrite) -> KeptPart {
        match write {
            PendingWrite::Write { offset, data } => {
                KeptPart { ranges: vec![(*offset, offset + data.len() as u64)], applied: true }
            }
            PendingWrite::SetLen(_) => KeptPart { ranges: Vec::new(), applied: true },
        }
    }
}

/// A length that reached the disk without its bytes: `from..to` reads as zeros or garbage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Grown {
    pub from: u64,
    pub to: u64,
    pub garbage: bool,
}

/// What one crash kept of one inode's pending writes, in queue order.
#[derive(Clone, Debug, Default)]
pub(super) struct Fates {
    pub writes: Vec<KeptPart>,
    pub grown: Option<Grown>,
}

impl Fates {
    /// A strict crash: nothing pending kept.
    pub fn lost(inode: &Inode) -> Fates {
        Fates { writes: inode.pending.iter().map(|_| KeptPart::default()).collect(), grown: None }
    }

    /// A process exit: everything kept.
    pub fn kept(inode: &Inode) -> Fates {
        Fates { writes: inode.pending.iter().map(KeptPart::whole).collect(), grown: None }
    }
}

/// Every inode of a disk, by id.
#[derive(Clone, Debug)]
pub(super) struct Inodes {
    pub table: HashMap<InodeId, Inode>,
    pub next_id: InodeId,
}

impl Default for Inodes {
    fn default() -> Self {
        Inodes { table: HashMap::new(), next_id: 1 }
    }
}

impl Inodes {
    pub fn allocate(&mut self) -> InodeId {
        let id = self.next_id;
        self.next_id += 1;
        self.table.insert(id, Inode::default());
        id
    }

    pub fn get(&self, id: InodeId) -> &Inode {
        &self.table[&id]
    }

    pub fn get_mut(&mut self, id: InodeId) -> &mut Inode {
        self.table.get_mut(&id).expect("an open handle or a name keeps its inode")
    }

    /// Drops the inodes that nothing can reach any more: no name (visible, durable or in a
    /// pending directory operation a crash may keep) and no open handle.
    pub fn collect(&mut self, referenced: &HashSet<InodeId>) {
        self.table.retain(|id, inode| inode.handles > 0 || referenced.contains(id));
    }
}
