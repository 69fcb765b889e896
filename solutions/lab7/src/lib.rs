//! Lab 7: incremental snapshots. Reference solution.
//!
//! Read the book's chapter "Lab 7: Incremental snapshots" first. Lab 4 saves the whole state
//! machine at every snapshot, and stops every write while it does. This lab divides the state
//! into chunks and saves only the chunks that changed, from a frozen view that writes do not
//! disturb:
//!
//! 1. [`ChunkedKv`]: lab 4's key-value state machine in copy-on-write chunks, with dirty
//!    tracking and [`ChunkedKv::freeze`] (`cargo test -p lab7 chunks::`);
//! 2. [`format`]: chunk files (content-addressed, checksummed, compressed) and the manifest
//!    (`format::`);
//! 3. [`ChunkStore::save_frozen`]: only dirty chunks written, the manifest switched atomically
//!    (`incremental::`, `switch::`);
//! 4. restore: [`ChunkStore::latest`](distributed::storage::SnapshotStorage::latest) reads the
//!    manifest and its chunks, each verified (`restore::`);
//! 5. garbage collection that never breaks a durable manifest (`gc::`);
//! 6. [`SnapshottingReplica`]: snapshots by policy, the log compacted after each (`policy::`);
//! 7. a lagging replica receives only the chunks it lacks and installs them atomically
//!    (`stream::`).
//!
//! It plugs into lab 4 through lab 4's own type parameters: `Replica<ChunkedKv, ChunkStore>`.
//! All I/O goes through the [`distributed::vfs::FsRef`] it is given.

mod codec;
mod error;
pub mod format;
mod node;
mod state;
mod store;

pub use distributed::storage::{Entry, Index, Snapshot, SnapshotMeta, SnapshotStorage, StateMachineStorage, Term};
pub use error::{NodeError, StoreError};
pub use format::{ChunkId, Codec, Manifest};
pub use node::{NodeOptions, PendingSnapshot, SnapshotPolicy, SnapshottingReplica, stream_snapshot};
pub use state::{ChunkImage, ChunkedKv, DEFAULT_CHUNKS, Frozen, Image, chunk_of};
pub use store::{CHUNK_DIR, ChunkStore, MANIFEST_FILE, MANIFEST_TMP, SaveReport, StoreOptions};
