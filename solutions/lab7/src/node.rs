//! Tasks 6 and 7: a replica that snapshots by policy, and installs a snapshot streamed chunk
//! by chunk.
//!
//! [`SnapshottingReplica`] is lab 4's [`Replica`] with a [`ChunkedKv`] as its state machine
//! and a [`ChunkStore`] as its snapshot store (lab 4's two type parameters), plus what lab 4
//! has no place for: a policy, and a snapshot split in three so that writes go on in the
//! middle, and the writers wait only for the two bounded ends:
//!
//! 1. [`SnapshottingReplica::begin_snapshot`] freezes the state at `last_applied` (one `Arc`
//!    per chunk);
//! 2. [`PendingSnapshot::write`] writes the frozen view's dirty chunks and a manifest, on any
//!    thread, while the replica applies more entries; it lets each chunk go once written;
//! 3. [`SnapshottingReplica::finish_snapshot`], once the manifest is durable, is lab 4's
//!    `compact_to`: it records the saved snapshot and compacts the log up to the index it
//!    covers. It reads and writes no chunk, so it costs the writer the removal of the log's
//!    whole segments before that index, whatever the size of the state.

use std::path::PathBuf;

use distributed::storage::{Entry, Index, SnapshotMeta};
use distributed::vfs::FsRef;
use lab4::{Applied, Replica, ReplicaOptions, SNAPSHOT_DIR};

use crate::format::Manifest;
use crate::state::{ChunkedKv, DEFAULT_CHUNKS, Frozen};
use crate::store::{ChunkStore, SaveReport, StoreOptions};
use crate::{NodeError, StoreError};

/// When a snapshot is taken automatically: after `max_entries` entries applied, or `max_bytes`
/// bytes of entry data appended to the log, since the last one (0 turns a limit off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// Entries applied since the last snapshot that trigger the next (0: never).
    pub max_entries: u64,
    /// Bytes of entry data appended since the last snapshot that trigger the next (0: never).
    pub max_bytes: u64,
}

impl SnapshotPolicy {
    /// Whether a snapshot is due after `entries` entries and `bytes` bytes.
    pub fn due(&self, entries: u64, bytes: u64) -> bool {
        (self.max_entries > 0 && entries >= self.max_entries) || (self.max_bytes > 0 && bytes >= self.max_bytes)
    }
}

/// Settings for [`SnapshottingReplica::open`].
#[derive(Clone, Copy, Debug)]
pub struct NodeOptions {
    /// The replica's log, retention and recovery mode (lab 4).
    pub replica: ReplicaOptions,
    /// The chunk store's codec.
    pub store: StoreOptions,
    /// When to snapshot automatically.
    pub policy: SnapshotPolicy,
    /// How many chunks an empty state starts with (a restored state keeps its snapshot's).
    pub chunks: usize,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            replica: ReplicaOptions::default(),
            store: StoreOptions::default(),
            policy: SnapshotPolicy::default(),
            chunks: DEFAULT_CHUNKS,
        }
    }
}

/// A snapshot begun and not yet written: the frozen state and what it covers. It is `Send`:
/// step 2 moves it to the thread that writes it.
#[derive(Clone, Debug)]
pub struct PendingSnapshot {
    meta: SnapshotMeta,
    frozen: Frozen,
}

impl PendingSnapshot {
    /// What the snapshot covers.
    pub fn meta(&self) -> SnapshotMeta {
        self.meta
    }

    /// The frozen state.
    pub fn frozen(&self) -> &Frozen {
        &self.frozen
    }

    /// Writes the snapshot's dirty chunks and its manifest to `store` (a handle to the
    /// replica's own store), while the replica goes on. Step 2 of the module docs. The view is
    /// given up chunk by chunk as the save goes: a chunk is released once written, so the
    /// memory the save holds on to shrinks as it runs.
    pub fn write(self, store: &ChunkStore) -> Result<SaveReport, StoreError> {
        store.save_owned(self.frozen, self.meta)
    }
}

/// Lab 4's replica over a chunked state and a chunk store, with snapshots by policy.
#[derive(Debug)]
pub struct SnapshottingReplica {
    replica: Replica<ChunkedKv, ChunkStore>,
    store: ChunkStore,
    policy: SnapshotPolicy,
    /// Entries applied since the newest snapshot's index.
    entries_since: u64,
    /// Bytes of entry data appended since the replica opened, and that count when the newest
    /// snapshot's view was frozen: the policy counts the difference.
    bytes_appended: u64,
    bytes_at_snapshot: u64,
    /// The index of the view frozen last, and `bytes_appended` then.
    frozen_at: Option<(Index, u64)>,
}

impl SnapshottingReplica {
    /// Opens (or creates) the replica in `dir`, with its chunk store in `dir/snapshots`, by
    /// lab 4's `open_with_snapshots` (newest manifest, verified log, hard state). The state
    /// restored from the manifest is marked clean, chunk by chunk.
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: NodeOptions) -> Result<Self, NodeError> {
        let dir = dir.into();
        let store = ChunkStore::open(fs.clone(), dir.join(SNAPSHOT_DIR), options.store)?;
        let replica = Replica::open_with_snapshots(
            fs,
            dir,
            options.replica,
            ChunkedKv::with_chunks(options.chunks),
            store.clone(),
        )?;
        store.seal_clean(&replica.state().freeze());
        Ok(SnapshottingReplica {
            replica,
            store,
            policy: options.policy,
            entries_since: 0,
            bytes_appended: 0,
            bytes_at_snapshot: 0,
            frozen_at: None,
        })
    }

    /// The replica (lab 4), for everything this type does not wrap.
    pub fn replica(&self) -> &Replica<ChunkedKv, ChunkStore> {
        &self.replica
    }

    /// The state machine, as of `last_applied`.
    pub fn state(&self) -> &ChunkedKv {
        self.replica.state()
    }

    /// A handle to the chunk store (shared with the replica).
    pub fn store(&self) -> &ChunkStore {
        &self.store
    }

    /// Lab 4's `append`, counting the bytes of new entries toward the policy (entries the log
    /// already held, resent by the leader, are not counted again).
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), NodeError> {
        let last = self.replica.last_log_index();
        self.replica.append(entries)?;
        self.bytes_appended += entries.iter().filter(|e| e.index > last).map(|e| e.data.len() as u64).sum::<u64>();
        Ok(())
    }

    /// Lab 4's `commit`.
    pub fn commit(&mut self, index: Index) -> Result<(), NodeError> {
        Ok(self.replica.commit(index)?)
    }

    /// Lab 4's `apply_next`, counting toward the policy (no automatic snapshot here: a caller
    /// applying one entry at a time decides when to call [`Self::snapshot_now`]).
    pub fn apply_next(&mut self) -> Result<Option<Applied>, NodeError> {
        let applied = self.replica.apply_next()?;
        if applied.is_some() {
            self.entries_since += 1;
        }
        Ok(applied)
    }

    /// Applies every committed entry, and takes a snapshot whenever the policy says one is due
    /// (right after the entry that made it due, so the snapshot covers exactly that index).
    pub fn apply_committed(&mut self) -> Result<Vec<Applied>, NodeError> {
        let mut out = Vec::new();
        while let Some(applied) = self.replica.apply_next()? {
            self.entries_since += 1;
            out.push(applied);
            if self.policy.due(self.entries_since, self.bytes_appended - self.bytes_at_snapshot) {
                self.snapshot_now()?;
            }
        }
        Ok(out)
    }

    /// Step 1: freezes the state at `last_applied`. Costs one `Arc` copy per chunk.
    pub fn begin_snapshot(&mut self) -> Result<PendingSnapshot, NodeError> {
        let last_index = self.replica.last_applied();
        let meta = SnapshotMeta { last_index, last_term: self.replica.term(last_index)? };
        self.frozen_at = Some((last_index, self.bytes_appended));
        Ok(PendingSnapshot { meta, frozen: self.replica.state().freeze() })
    }

    /// Step 3, once step 2 returned `Ok` for the snapshot covering `saved`: lab 4's
    /// `compact_to` (the snapshot is durable, so the log prefix it covers goes), and the
    /// policy's counters restart from it. The chunks step 2 wrote are already clean; those
    /// written since the freeze stay dirty for the next snapshot. Bounded: no chunk is read or
    /// written here. A snapshot that is not the store's newest durable one, or that covers
    /// entries not applied, is lab 4's `CompactRefused`, and nothing changes.
    pub fn finish_snapshot(&mut self, saved: SnapshotMeta) -> Result<SnapshotMeta, NodeError> {
        let meta = self.replica.compact_to(saved)?;
        self.entries_since = self.replica.last_applied() - meta.last_index;
        self.bytes_at_snapshot = match self.frozen_at.take() {
            Some((index, bytes)) if index == meta.last_index => bytes,
            _ => self.bytes_appended,
        };
        Ok(meta)
    }

    /// The three steps in a row, on this thread.
    pub fn snapshot_now(&mut self) -> Result<SnapshotMeta, NodeError> {
        if self.replica.last_applied() == self.replica.snapshot_meta().last_index {
            return Ok(self.replica.snapshot_meta());
        }
        let pending = self.begin_snapshot()?;
        let meta = pending.meta();
        pending.write(&self.store)?;
        self.finish_snapshot(meta)
    }

    /// Installs a leader's snapshot whose chunks were streamed into this replica's store
    /// ([`ChunkStore::missing`], then [`ChunkStore::receive_chunk`] for each): assembles it from
    /// the local chunk files and installs it with lab 4's `install_snapshot`, whose save is the
    /// atomic switch. Chunks still missing are [`NodeError::Incomplete`], and nothing changes.
    pub fn install_streamed(&mut self, manifest: &Manifest) -> Result<bool, NodeError> {
        let missing = self.store.missing(manifest).len();
        if missing > 0 {
            return Err(NodeError::Incomplete { missing });
        }
        let snapshot = self.store.assemble(manifest)?;
        let installed = self.replica.install_snapshot(&snapshot)?;
        if installed {
            self.store.seal_clean(&self.replica.state().freeze());
            self.entries_since = 0;
            self.bytes_at_snapshot = self.bytes_appended;
        }
        Ok(installed)
    }
}

/// Copies the chunks a follower lacks from a leader's store into the follower's, then installs
/// the leader's newest snapshot: what a leader's InstallSnapshot stream does, with the network
/// left out. Returns the number of chunk files sent and their bytes.
pub fn stream_snapshot(leader: &ChunkStore, follower: &mut SnapshottingReplica) -> Result<(usize, u64), NodeError> {
    let Some(manifest) = leader.manifest() else { return Ok((0, 0)) };
    let mut sent = (0, 0);
    for id in follower.store().missing(&manifest) {
        let file = leader.chunk_file(&id)?;
        follower.store().receive_chunk(&id, &file)?;
        sent.0 += 1;
        sent.1 += file.len() as u64;
    }
    follower.install_streamed(&manifest)?;
    Ok(sent)
}
