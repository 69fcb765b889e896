//! Repair from a peer: roll back to the last consistent position, then fetch what was lost
//! and append it through lab 1's log.

use std::path::Path;
use std::sync::Arc;

use distributed::storage::Entry;
use distributed::vfs::FsRef;
use lab1::{Wal, WalOptions};

use crate::peer::Peer;
use crate::recover::roll_back;
use crate::report::{LogReport, RepairOutcome};
use crate::scan::read_entry;
use crate::{RepairError, scan};

/// Repairs the log in `dir`, which `report` describes, with entries from `peer`: afterwards
/// the log holds every entry up to `report.last_seen_index`, those past the damage being the
/// peer's.
///
/// In order: the report must still describe the disk (else [`RepairError::StaleReport`]);
/// the missing range is fetched and checked **before anything changes** (the right count,
/// contiguous indexes, terms that never go down, and the entry at the boundary equal to the
/// one kept: otherwise [`RepairError::PeerMismatch`]); the log is rolled back to the last
/// consistent position, as [`recover`](crate::recover) does under `TolerateAnyCorruption`,
/// copies kept; then the fetched entries are appended and synced.
pub fn repair_from_peer(
    fs: &FsRef,
    dir: impl AsRef<Path>,
    report: &LogReport,
    peer: &dyn Peer,
    options: WalOptions,
) -> Result<RepairOutcome, RepairError> {
    let dir = dir.as_ref();
    if scan(fs, dir)? != *report {
        return Err(RepairError::StaleReport);
    }
    let low = report.last_consistent_index + 1;
    let high = report.last_seen_index + 1;
    let fetched = if low < high { fetch(fs, dir, report, peer)? } else { Vec::new() };

    let rollback = roll_back(fs, dir, report.clone())?;
    let wal = Wal::open(Arc::clone(fs), dir, options)?;
    if !fetched.is_empty() {
        if wal.last_index() + 1 != low && wal.last_index() < wal.first_index() {
            // Nothing of the log was kept (its first segment was unusable): start it again
            // where the peer's entries begin.
            wal.compact_prefix(low - 1)?;
        }
        wal.append(&fetched)?;
        wal.sync()?;
    }
    Ok(RepairOutcome { rollback, fetched: low..low + fetched.len() as u64, last_index: wal.last_index() })
}

/// Fetches `last_consistent_index + 1 ..= last_seen_index` from the peer, with the entry at
/// the boundary, and checks them against each other and the log.
fn fetch(fs: &FsRef, dir: &Path, report: &LogReport, peer: &dyn Peer) -> Result<Vec<Entry>, RepairError> {
    let boundary = report.last_consistent_index;
    let kept = if boundary >= report.first_index { read_entry(fs.as_ref(), dir, report, boundary)? } else { None };
    let low = if kept.is_some() { boundary } else { boundary + 1 };
    let high = report.last_seen_index + 1;
    let mut entries = peer.entries(low, high)?;
    let mismatch = |reason: String| Err(RepairError::PeerMismatch { reason });
    if entries.len() as u64 != high - low {
        return mismatch(format!("asked for entries {low}..{high}, got {} entries", entries.len()));
    }
    for (expected, entry) in (low..).zip(&entries) {
        if entry.index != expected {
            return mismatch(format!("entry {expected} came with index {}", entry.index));
        }
    }
    if let Some(pair) = entries.windows(2).find(|pair| pair[1].term < pair[0].term) {
        return mismatch(format!(
            "entry {} has term {}, lower than entry {}'s term {}",
            pair[1].index, pair[1].term, pair[0].index, pair[0].term
        ));
    }
    if let Some(kept) = kept {
        if entries[0] != kept {
            return mismatch(format!(
                "at the boundary, entry {boundary} is term {} on the peer and term {} here (or their data differ)",
                entries[0].term, kept.term
            ));
        }
        entries.remove(0);
    }
    Ok(entries)
}
