//! Lab 3: atomic snapshots.
//!
//! Read the book's chapter "Lab 3: Atomic snapshots" first. Then work through the tasks in
//! order, each with its public tests:
//!
//! 1. [`format`]: the header, the whole file, the file names (`cargo test -p lab3 format::`);
//! 2. [`SnapshotStore::open`], [`SnapshotStore::save`], [`SnapshotStore::latest`] and
//!    [`SnapshotStore::list`] on a healthy disk (`save::`);
//! 3. the save protocol that survives a power cut at every step (`crash::`);
//! 4. keeping the newest N (`retention::`);
//! 5. recovery: leftover temporary files, damaged snapshots set aside (`recovery::`);
//! 6. fail-stop after a failed sync (`faults::`);
//! 7. typed states, as `InMemorySnapshot<T>` keeps them (`typed::`).
//!
//! All I/O goes through the [`distributed::vfs::FsRef`] you are given: never `std::fs`.

mod error;
pub mod format;
mod store;

pub use distributed::storage::{Snapshot, SnapshotMeta};
pub use error::SnapshotError;
pub use store::{SnapshotStore, StoreOptions};
