//! Lab 3's hidden suite: what the grader checks beyond the public tests.
//!
//! - `crash`: save sequences and cleanups with a power loss after every step, strict and torn
//!   images, checked against what was acknowledged and what was in flight;
//! - `faults`: a flipped bit or a cut at every position of the newest file, damage everywhere,
//!   a failed fsync, a full disk;
//! - `retention`: keep-N, across reopens and crashes;
//! - `layout`: the files follow the chapter's byte table, read by an independent parser;
//!   names sort by (term, index); temporary, set-aside and unrelated files;
//! - `arguments`: outdated saves and bad options get typed errors;
//! - `typed`: typed states, interchangeable with `InMemorySnapshot<T>`, and a property test
//!   against a model.

mod arguments;
mod crash;
mod faults;
mod layout;
mod retention;
mod rules;
mod typed;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::invariant;
use distributed::storage::{Snapshot, SnapshotMeta};
use distributed::testing::payload;
use distributed::vfs::{CrashMode, FsRef, SimFs, Vfs};
use lab3::{SnapshotStore, StoreOptions};

pub const DIR: &str = "snapshots";

pub fn meta(last_index: u64, last_term: u64) -> SnapshotMeta {
    SnapshotMeta { last_index, last_term }
}

/// A snapshot of `len` bytes whose data names its index and term.
pub fn snapshot(last_index: u64, last_term: u64, len: usize) -> Snapshot {
    Snapshot { meta: meta(last_index, last_term), data: payload(last_index, last_term, len) }
}

pub fn open_on(fs: FsRef, keep: usize) -> SnapshotStore {
    SnapshotStore::open(fs, DIR, StoreOptions { keep })
        .unwrap_or_else(|e| distributed::fail!("atomic-write", "opening the store failed: {e}"))
}

/// Opens the store on the disk a crash of `sim` leaves.
pub fn reopen_after(sim: &SimFs, mode: CrashMode, keep: usize) -> (SimFs, SnapshotStore) {
    let disk = sim.crash(mode);
    let store = SnapshotStore::open(Arc::new(disk.clone()), DIR, StoreOptions { keep })
        .unwrap_or_else(|e| distributed::fail!("atomic-write", "reopening after a {mode} crash failed: {e}"));
    (disk, store)
}

pub fn latest(store: &SnapshotStore) -> Option<Snapshot> {
    store.latest().unwrap_or_else(|e| distributed::fail!("durability", "latest() failed: {e}"))
}

pub fn names(fs: &dyn Vfs) -> Vec<String> {
    fs.read_dir(Path::new(DIR)).unwrap_or_default()
}

pub fn path_of(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// The name the chapter gives the snapshot of `meta`, written here from the chapter.
pub fn name_of(meta: SnapshotMeta) -> String {
    format!("{:016x}-{:016x}.snap", meta.last_term, meta.last_index)
}

/// An independent parser of the chapter's byte table: `Ok(snapshot)` or what is wrong.
pub fn parse_file(bytes: &[u8]) -> Result<Snapshot, String> {
    if bytes.len() < 40 {
        return Err(format!("{} bytes: shorter than header and footer", bytes.len()));
    }
    if &bytes[0..8] != b"RSMSNP01" {
        return Err("bad magic".into());
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("setup: bytes[..].try_into()"));
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("setup: bytes[..].try_into()"));
    if u32_at(32) != crc32fast::hash(&bytes[..32]) {
        return Err("header CRC does not match bytes 0..32".into());
    }
    let len = u64_at(24);
    if bytes.len() as u64 != 40 + len {
        return Err(format!("file is {} bytes, header says 36 + {len} + 4", bytes.len()));
    }
    let end = bytes.len() - 4;
    if u32_at(end) != crc32fast::hash(&bytes[..end]) {
        return Err("footer CRC does not match the bytes before it".into());
    }
    Ok(Snapshot { meta: meta(u64_at(8), u64_at(16)), data: bytes[36..end].to_vec() })
}

/// Checks what a store's directory holds after a recovery from a crash alone (no media
/// damage): no temporary files (open removed them), nothing set aside (a crash alone never
/// leaves a damaged file under a snapshot's name), and every snapshot file complete.
pub fn assert_clean_after_crash(disk: &SimFs) {
    for name in names(disk) {
        invariant!(
            "atomic-write",
            !name.ends_with(".tmp"),
            "{name} is still in the directory after open: leftover temporary files must be removed"
        );
        invariant!(
            "atomic-write",
            !name.ends_with(".broken"),
            "after a power cut (no media damage) {name} was set aside: a crash left a damaged file under a snapshot's \
             name, so the save was not atomic"
        );
        if name.ends_with(".snap") {
            let bytes = disk.contents(path_of(&name)).expect("setup: read a listed file");
            let parsed = parse_file(&bytes);
            invariant!(
                "atomic-write",
                parsed.is_ok(),
                "after a power cut {name} is not a complete snapshot file: {}",
                parsed.err().unwrap_or_default()
            );
        }
    }
}
