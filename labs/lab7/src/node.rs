//! Tasks 6 and 7: a replica that snapshots by policy, and installs a snapshot streamed chunk
//! by chunk.
//!
//! The public API below is fixed (the tests use it); everything behind it is yours.
//!
//! [`SnapshottingReplica`] is lab 4's [`Replica`] with a [`ChunkedKv`] as its state machine
//! and a [`ChunkStore`] as its snapshot store (lab 4's two type parameters), plus what lab 4
//! has no place for: a policy, and a snapshot split in three so that writes go on in the
//! middle, and the writers wait only for the two bounded ends:
//!
//! 1. [`SnapshottingReplica::begin_snapshot`] freezes the state at `last_applied` (one `Arc`
//!    per chunk);
//! 2. [`PendingSnapshot::write`] writes the frozen view's dirty chunks and a manifest, on any
//!    thread, while the replica applies more entries;
//! 3. [`SnapshottingReplica::finish_snapshot`], once the manifest is durable, is lab 4's
//!    `compact_to`: it records the saved snapshot and compacts the log up to the index it
//!    covers, reading and writing no chunk.

use std::path::PathBuf;

use distributed::storage::{Entry, Index, SnapshotMeta};
use distributed::vfs::FsRef;
use lab4::{Applied, Replica, ReplicaOptions};

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
        todo!("Task 6: is a snapshot due after {entries} entries and {bytes} bytes?")
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
    // Your fields here.
    _private: (),
}

impl PendingSnapshot {
    /// What the snapshot covers.
    pub fn meta(&self) -> SnapshotMeta {
        todo!("Task 6: the pending snapshot's metadata")
    }

    /// The frozen state.
    pub fn frozen(&self) -> &Frozen {
        todo!("Task 6: the frozen state")
    }

    /// Writes the snapshot's dirty chunks and its manifest to `store` (a handle to the
    /// replica's own store), while the replica goes on. Step 2 of the module docs. The view is
    /// given up: a save that lets each chunk go once written holds less and less memory.
    pub fn write(self, store: &ChunkStore) -> Result<SaveReport, StoreError> {
        todo!("Task 6: write the frozen view to the store in {}", store.dir().display())
    }
}

/// Lab 4's replica over a chunked state and a chunk store, with snapshots by policy.
#[derive(Debug)]
pub struct SnapshottingReplica {
    // Your fields here: lab 4's replica over the chunked state and a chunk store, a second
    // handle to the store, the policy, and what was applied and appended since the last
    // snapshot.
    _replica: std::marker::PhantomData<Replica<ChunkedKv, ChunkStore>>,
}

impl SnapshottingReplica {
    /// Opens (or creates) the replica in `dir`, with its chunk store in `dir/snapshots`
    /// ([`lab4::SNAPSHOT_DIR`]), by lab 4's `open_with_snapshots` (newest manifest, verified
    /// log, hard state). The state restored from the manifest is marked clean, chunk by chunk.
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: NodeOptions) -> Result<Self, NodeError> {
        let _ = (fs, dir.into(), options);
        todo!("Task 6: open the store, then lab 4's replica over it, then seal what the manifest lists")
    }

    /// The replica (lab 4), for everything this type does not wrap.
    pub fn replica(&self) -> &Replica<ChunkedKv, ChunkStore> {
        todo!("Task 6: the replica")
    }

    /// The state machine, as of `last_applied`.
    pub fn state(&self) -> &ChunkedKv {
        todo!("Task 6: the state")
    }

    /// A handle to the chunk store (shared with the replica).
    pub fn store(&self) -> &ChunkStore {
        todo!("Task 6: the store")
    }

    /// Lab 4's `append`, counting the bytes of new entries toward the policy (entries the log
    /// already held, resent by the leader, are not counted again).
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), NodeError> {
        todo!("Task 6: append {} entries, counting their bytes", entries.len())
    }

    /// Lab 4's `commit`.
    pub fn commit(&mut self, index: Index) -> Result<(), NodeError> {
        todo!("Task 6: commit {index}")
    }

    /// Lab 4's `apply_next`, counting toward the policy (no automatic snapshot here: a caller
    /// applying one entry at a time decides when to call [`Self::snapshot_now`]).
    pub fn apply_next(&mut self) -> Result<Option<Applied>, NodeError> {
        todo!("Task 6: apply the next entry, counting it")
    }

    /// Applies every committed entry, and takes a snapshot whenever the policy says one is due
    /// (right after the entry that made it due, so the snapshot covers exactly that index).
    pub fn apply_committed(&mut self) -> Result<Vec<Applied>, NodeError> {
        todo!("Task 6: apply, snapshotting whenever the policy says")
    }

    /// Step 1: freezes the state at `last_applied`. Costs one `Arc` copy per chunk.
    pub fn begin_snapshot(&mut self) -> Result<PendingSnapshot, NodeError> {
        todo!("Task 6: freeze at last_applied")
    }

    /// Step 3, once step 2 returned `Ok` for the snapshot covering `saved`: lab 4's
    /// `compact_to` (the snapshot is durable, so the log prefix it covers goes), and the
    /// policy's counters restart from it. The chunks step 2 wrote are already clean; those
    /// written since the freeze stay dirty for the next snapshot. Bounded: no chunk is read or
    /// written here. A snapshot that is not the store's newest durable one, or that covers
    /// entries not applied, is lab 4's `CompactRefused`, and nothing changes.
    pub fn finish_snapshot(&mut self, saved: SnapshotMeta) -> Result<SnapshotMeta, NodeError> {
        todo!("Task 6: lab 4's compact_to({saved:?}), then restart the policy's counters")
    }

    /// The three steps in a row, on this thread.
    pub fn snapshot_now(&mut self) -> Result<SnapshotMeta, NodeError> {
        todo!("Task 6: begin, write, finish")
    }

    /// Installs a leader's snapshot whose chunks were streamed into this replica's store
    /// ([`ChunkStore::missing`], then [`ChunkStore::receive_chunk`] for each): assembles it from
    /// the local chunk files and installs it with lab 4's `install_snapshot`, whose save is the
    /// atomic switch. Chunks still missing are [`NodeError::Incomplete`], and nothing changes.
    pub fn install_streamed(&mut self, manifest: &Manifest) -> Result<bool, NodeError> {
        todo!("Task 7: install the streamed snapshot {:?}", manifest.meta)
    }
}

/// Copies the chunks a follower lacks from a leader's store into the follower's, then installs
/// the leader's newest snapshot: what a leader's InstallSnapshot stream does, with the network
/// left out. Returns the number of chunk files sent and their bytes.
pub fn stream_snapshot(leader: &ChunkStore, follower: &mut SnapshottingReplica) -> Result<(usize, u64), NodeError> {
    let _ = (leader, follower);
    todo!("Task 7: send the missing chunks, then install")
}
