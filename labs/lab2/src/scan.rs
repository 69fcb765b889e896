//! Tasks 1 and 2: verification. Read every segment, check every header and record, and say
//! what each problem is and where. Read-only.

use std::path::Path;

use distributed::vfs::FsRef;

use crate::RepairError;
use crate::report::LogReport;

/// Verifies the log in `dir` without changing anything, and reports every problem with its
/// file and offset, in log order.
///
/// Checks each segment's header (magic, CRC, first index equal to the name's), every record's
/// CRC (which lab 1 salts with the segment's first index, so a record from another segment
/// fails), each sealed segment's footer (its CRC of the whole segment and its last index),
/// index continuity within and across segments, and that terms never go down. Files
/// whose names are not segment names are ignored; a missing directory is an empty log.
///
/// Classify each problem as the chapter's section "Telling the kinds of damage apart" says:
/// a bad record in the last segment is a [`Damage::TornTail`](crate::Damage::TornTail) only
/// if the segment is not sealed and no valid record of the log follows it; a sealed segment
/// whose records are valid but whose footer is missing or wrong is a
/// [`Damage::BadFooter`](crate::Damage::BadFooter); bad bytes in the unsealed last segment
/// that end in zeros up to a page boundary before valid records are
/// [`Damage::LostPages`](crate::Damage::LostPages); zeros are a
/// [`Damage::ZeroedTail`](crate::Damage::ZeroedTail) only if everything after them is zero.
pub fn scan(fs: &FsRef, dir: impl AsRef<Path>) -> Result<LogReport, RepairError> {
    let _ = (fs, dir.as_ref());
    todo!(
        "Task 1: verify every segment header and record; Task 2: classify each problem (torn tail, zeros, corruption, stale record, bad footer, gap)"
    )
}
