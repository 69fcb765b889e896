//! Lab 1, reference solution: a segmented write-ahead log.
//!
//! Read this after doing the lab. The design, in one paragraph: entries are framed as
//! records (length, CRC32, index, term, data) and appended to segment files named by their
//! first index ([`format`]). One mutex guards the list of segments ([`Wal`]); the last
//! segment is active, the others sealed, and a segment is synced before its successor is
//! created, so that on reopen damage in a sealed segment is corruption and damage at the end
//! of the last one is a torn write to cut away. Group commit lets concurrent appenders share
//! one sync: the first to wait syncs for all.
//!
//! Where to look: [`format`] for the bytes, `segment.rs` for one file, `wal.rs` for the
//! rules that keep the log whole across crashes (the doc comments of `open`,
//! `truncate_suffix`, `compact_prefix` and `roll_over` say why each step is in its order).

mod error;
pub mod format;
mod segment;
mod wal;

pub use distributed::storage::{Entry, Index, Term};
pub use error::WalError;
pub use wal::{SegmentInfo, SyncPolicy, Wal, WalOptions};
