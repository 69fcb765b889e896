//! Lab 8: one storage-engine abstraction over several engines, and the same storage under a
//! real Raft engine (openraft).
//!
//! Read the book's chapter "Lab 8: Storage engines under Raft" first. The trait is given
//! ([`engine::Engine`]), and so is the model ([`mem::MemEngine`]) and the handles to the real
//! disk ([`handles`]). Then, in order:
//!
//! 1. [`files::FilesEngine`]: your own files: a write-ahead log of whole batches over lab 1's
//!    log, a full checkpoint through lab 3's store, recovery = checkpoint + replay
//!    (`cargo test -p lab8 engine::files` and `conformance::`);
//! 2. [`redb_engine::RedbEngine`]: redb (a copy-on-write B-tree) on the kit's filesystem
//!    through redb's pluggable storage backend (`engine::redb`);
//! 3. [`fjall_engine::FjallEngine`]: fjall (an LSM tree) on the real disk, through the
//!    handle the course opens (`engine::fjall`);
//! 4. [`raft`]: openraft's storage traits over any engine, and a three-node cluster.
//!
//! All I/O goes through the [`distributed::vfs::FsRef`] you are given, or the handles of
//! [`handles`]: never `std::fs`, and never fjall's or redb's own functions that open a path.

pub mod engine;
pub mod files;
pub mod fjall_engine;
pub mod handles;
pub mod mem;
pub mod raft;
pub mod redb_engine;

pub use engine::{Batch, BatchOp, Engine, EngineError, Pairs, SnapshotIter};
pub use files::{FilesEngine, FilesOptions};
pub use fjall_engine::FjallEngine;
pub use handles::{DiskDir, FjallHandle};
pub use mem::MemEngine;
pub use redb_engine::{RedbEngine, VfsBackend};
