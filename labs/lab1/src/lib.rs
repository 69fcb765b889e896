//! Lab 1: a segmented write-ahead log.
//!
//! Read the book's chapter "Lab 1: A segmented write-ahead log" first. Then work through the
//! tasks in order, each with its public tests:
//!
//! 1. [`format`]: segment headers, records and file names (`cargo test -p lab1 format::`);
//! 2. [`Wal::open`], [`Wal::append`] and the reads (`append::`);
//! 3. rollover at the size threshold: the old segment sealed with a footer, the new one
//!    prepared under a temporary name and renamed into place (`rollover::`);
//! 4. reopening and recovery (`reopen::`);
//! 5. [`Wal::truncate_suffix`] and [`Wal::compact_prefix`] (`truncate::`, `compact::`);
//! 6. surviving a power loss at any step (`crash::`);
//! 7. the sync policies and group commit (`sync::`).
//!
//! All I/O goes through the [`distributed::vfs::FsRef`] you are given: never `std::fs`.

mod error;
pub mod format;
mod wal;

pub use distributed::storage::{Entry, Index, Term};
pub use error::WalError;
pub use wal::{SegmentInfo, SyncPolicy, Wal, WalOptions};
