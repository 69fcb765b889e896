//! Task 4: repair from a peer.

use std::path::Path;

use distributed::vfs::FsRef;
use lab1::WalOptions;

use crate::RepairError;
use crate::peer::Peer;
use crate::report::{LogReport, RepairOutcome};

/// Repairs the log in `dir`, which `report` describes, with entries from `peer`: afterwards
/// the log holds every entry up to `report.last_seen_index`, those past the damage being the
/// peer's.
///
/// In order: the report must still describe the disk (else [`RepairError::StaleReport`]);
/// the missing range is fetched and checked **before anything changes** (the right count,
/// contiguous indexes, terms that never go down, and the entry at the boundary equal to the
/// one kept: otherwise [`RepairError::PeerMismatch`]); the log is rolled back to the last
/// consistent position, as [`recover`](crate::recover) does under `TolerateAnyCorruption`,
/// copies kept; then the fetched entries are appended through `lab1::Wal` and synced.
pub fn repair_from_peer(
    fs: &FsRef,
    dir: impl AsRef<Path>,
    report: &LogReport,
    peer: &dyn Peer,
    options: WalOptions,
) -> Result<RepairOutcome, RepairError> {
    let _ = (fs, dir.as_ref(), report, peer, options);
    todo!("Task 4: check the report is current, fetch and verify the lost range, roll back, then append it")
}
