//! Lab 3, reference solution: atomic snapshots.
//!
//! Read this after doing the lab. The design, in one paragraph: each snapshot is one file,
//! named by its (term, index) and framed with a header CRC and a whole-file CRC ([`format`]).
//! A save writes a temporary file, syncs it, reads it back and verifies it, renames it to its
//! final name and syncs the directory; only then are snapshots beyond the newest `keep`
//! removed. So after a power cut at any step the directory holds every snapshot it held
//! before, plus perhaps the new one complete: never a torn file under a snapshot's name, and
//! never fewer snapshots than were acknowledged. A snapshot found damaged later (bit rot) is
//! renamed `.snap.broken`, never deleted, and the next older one is used.
//!
//! Where to look: [`format`] for the bytes; `store.rs` for the protocol (the doc comments of
//! `write_durably`, `remove_beyond_keep` and `newest_valid` say why each step is in its
//! order).

mod error;
pub mod format;
mod store;

pub use distributed::storage::{Snapshot, SnapshotMeta};
pub use error::SnapshotError;
pub use store::{SnapshotStore, StoreOptions};
