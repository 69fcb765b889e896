//! What a scan finds, and what recovery and repair did about it.
//!
//! These types are the lab's vocabulary: a [`LogReport`] lists every [`Damage`] with its file
//! and byte offset, a [`RecoveryMode`] says which damage may be cut away, and a [`Recovery`]
//! lists the [`Action`]s taken, each keeping a copy of what it removed.

use std::fmt;
use std::ops::{Range, RangeInclusive};

use distributed::storage::{Index, Term};

/// How [`recover`](crate::recover) treats damage, after raft-engine's `RecoveryMode`, adapted
/// to a log that must stay contiguous.
///
/// | found | `TolerateTailCorruption` | `AbsoluteConsistency` | `TolerateAnyCorruption` |
/// |---|---|---|---|
/// | zeros after the last record ([`DamageClass::Benign`]) | trimmed | trimmed | trimmed |
/// | a torn tail, lost pages or an unfinished last segment ([`DamageClass::Tail`]) | cut, copy kept | refused | cut, copy kept |
/// | corruption anywhere ([`DamageClass::Corruption`]) | refused | refused | the log is cut back to the last consistent position, copies kept |
///
/// "Refused" means [`RepairError::Refused`](crate::RepairError::Refused) with the report,
/// and nothing on disk changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RecoveryMode {
    /// Cut what a crash can leave at the end of the log; refuse anything else. The default:
    /// every crash image of a correct log opens, and no bit rot is silently dropped.
    #[default]
    TolerateTailCorruption,
    /// Refuse anything but a clean log (zeros after the last record are clean: they are never
    /// a record). For a log that must not lose a single byte without an operator deciding.
    AbsoluteConsistency,
    /// Keep the longest valid prefix of the log and set everything after it aside, reporting
    /// what was lost. For a replica whose peers can send the rest back
    /// ([`repair_from_peer`](crate::repair_from_peer)), or disaster recovery.
    TolerateAnyCorruption,
}

/// How serious a [`Damage`] is, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DamageClass {
    /// Nothing of the log is lost: zeros, which are never a record.
    Benign,
    /// What a crash leaves at the end of the log: a write that never completed.
    Tail,
    /// What no crash of a correct log leaves: bit rot, lost or misplaced files, stale data.
    Corruption,
}

/// One problem a scan found, with where it is. Offsets are bytes from the start of the file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Damage {
    /// The last segment ends, from `offset`, in `bytes` bytes that are not the next record
    /// (a partial record, garbage, a checksum mismatch), and no valid record of the log follows
    /// them: a write that a crash cut short. [`DamageClass::Tail`].
    TornTail {
        /// The segment file.
        file: String,
        /// Where the valid records end.
        offset: u64,
        /// How many bytes follow, to the end of the file.
        bytes: u64,
        /// What the first of them is.
        reason: String,
    },
    /// From `offset` to the end of `file`, `bytes` zero bytes: preallocated or zero-extended
    /// space, never a record. [`DamageClass::Benign`].
    ZeroedTail {
        /// The segment file.
        file: String,
        /// Where the zeros start (the end of the last valid record).
        offset: u64,
        /// How many zeros.
        bytes: u64,
    },
    /// In the last segment (not sealed), from `offset`, bytes that are not the next record,
    /// then zeros up to a page boundary, then valid records of the log again at `resumed`:
    /// what a power loss leaves when the page cache wrote a later page of unsynced appends back
    /// and an earlier one not (a lost page reads as zeros). Only unsynced pages are lost that
    /// way, so no sync acknowledged anything from `offset` on. Bit rot that zeroed exactly those
    /// bytes would look the same: the damage is ambiguous, and is treated as the crash it
    /// most likely is. [`DamageClass::Tail`].
    LostPages {
        /// The segment file.
        file: String,
        /// Where the valid records end.
        offset: u64,
        /// Where valid records of the log start again.
        resumed: u64,
        /// `resumed - offset`.
        bytes: u64,
    },
    /// The last file has no valid header and no record after it: a segment whose creation a
    /// crash interrupted. [`DamageClass::Tail`].
    UnfinishedSegment {
        /// The file.
        file: String,
        /// Its length.
        bytes: u64,
    },
    /// At `offset`, bytes that are not record `index`, although the log goes on after them:
    /// a valid record of the log follows in the same segment, or the segment is sealed (a
    /// later segment exists). [`DamageClass::Corruption`].
    Corrupt {
        /// The segment file.
        file: String,
        /// Where the bad bytes start.
        offset: u64,
        /// The index the record there should hold.
        index: Index,
        /// What was found.
        reason: String,
    },
    /// A record whose checksum is valid in this segment but that does not continue the log:
    /// another index than the next one, or a term lower than the entry before it. A leftover
    /// of an earlier life of the file. [`DamageClass::Corruption`].
    StaleRecord {
        /// The segment file.
        file: String,
        /// Where the record starts.
        offset: u64,
        /// The index it holds.
        index: Index,
        /// The term it holds.
        term: Term,
        /// Why it does not belong.
        reason: String,
    },
    /// A segment header that is damaged or names another first index than the file name, in
    /// a file that is not an unfinished last segment. [`DamageClass::Corruption`].
    BadHeader {
        /// The segment file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A sealed segment (one with a successor, or one whose footer decodes) whose records are
    /// all valid but whose footer, at `offset` where the records end, is missing, damaged,
    /// does not match the segment's bytes, names another last index, or is followed by bytes
    /// that are not zeros. [`DamageClass::Corruption`]: lab 1 syncs a segment's footer before
    /// it creates the segment's successor.
    BadFooter {
        /// The segment file.
        file: String,
        /// Where the footer starts, or should start: the end of the last valid record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A segment that does not start where its predecessor ended: `expected` is the index
    /// after the predecessor's last record, `found` the segment's first index (a missing
    /// segment if larger, an overlap if smaller). [`DamageClass::Corruption`].
    Gap {
        /// The segment file that starts at the wrong index.
        file: String,
        /// The index it should start at.
        expected: Index,
        /// The index it starts at.
        found: Index,
    },
}

impl Damage {
    /// How serious it is.
    pub fn class(&self) -> DamageClass {
        match self {
            Damage::ZeroedTail { .. } => DamageClass::Benign,
            Damage::TornTail { .. } | Damage::LostPages { .. } | Damage::UnfinishedSegment { .. } => DamageClass::Tail,
            Damage::Corrupt { .. }
            | Damage::StaleRecord { .. }
            | Damage::BadHeader { .. }
            | Damage::BadFooter { .. }
            | Damage::Gap { .. } => DamageClass::Corruption,
        }
    }

    /// The file it is in.
    pub fn file(&self) -> &str {
        match self {
            Damage::TornTail { file, .. }
            | Damage::LostPages { file, .. }
            | Damage::ZeroedTail { file, .. }
            | Damage::UnfinishedSegment { file, .. }
            | Damage::Corrupt { file, .. }
            | Damage::StaleRecord { file, .. }
            | Damage::BadHeader { file, .. }
            | Damage::BadFooter { file, .. }
            | Damage::Gap { file, .. } => file,
        }
    }

    /// Where in the file it starts: the byte offset of the bad record, or 0 for damage that
    /// makes the whole file unusable (its header, its place in the log).
    pub fn offset(&self) -> u64 {
        match self {
            Damage::TornTail { offset, .. }
            | Damage::LostPages { offset, .. }
            | Damage::ZeroedTail { offset, .. }
            | Damage::Corrupt { offset, .. }
            | Damage::StaleRecord { offset, .. }
            | Damage::BadFooter { offset, .. } => *offset,
            Damage::UnfinishedSegment { .. } | Damage::BadHeader { .. } | Damage::Gap { .. } => 0,
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::TornTail { file, offset, bytes, reason } => {
                write!(f, "{file} at offset {offset}: torn tail, {bytes} bytes to the end of the file ({reason})")
            }
            Damage::LostPages { file, offset, resumed, bytes } => write!(
                f,
                "{file} at offset {offset}: {bytes} bytes of lost pages, valid records again at {resumed} (an \
                 unsynced write-back that a power loss cut, or bit rot that looks like one)"
            ),
            Damage::ZeroedTail { file, offset, bytes } => {
                write!(f, "{file} at offset {offset}: {bytes} zero bytes to the end of the file")
            }
            Damage::UnfinishedSegment { file, bytes } => {
                write!(f, "{file}: unfinished segment ({bytes} bytes, no valid header, no record)")
            }
            Damage::Corrupt { file, offset, index, reason } => {
                write!(f, "{file} at offset {offset}: corrupt, where entry {index} should be ({reason})")
            }
            Damage::StaleRecord { file, offset, index, term, reason } => {
                write!(f, "{file} at offset {offset}: stale record of entry {index}, term {term} ({reason})")
            }
            Damage::BadHeader { file, reason } => write!(f, "{file} at offset 0: bad segment header ({reason})"),
            Damage::BadFooter { file, offset, reason } => {
                write!(f, "{file} at offset {offset}: bad footer of a sealed segment ({reason})")
            }
            Damage::Gap { file, expected, found } => {
                write!(f, "{file}: starts at index {found}, but the previous segment ends before {expected}")
            }
        }
    }
}

/// One segment file as a scan saw it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SegmentReport {
    /// Its file name.
    pub file_name: String,
    /// The first index its name stands for.
    pub first_index: Index,
    /// Whether its header is valid and flagged `FLAG_LOG_START`.
    pub log_start: bool,
    /// How many valid records it starts with, before anything that is not the next record.
    pub records: u64,
    /// The index of the last of those records (`first_index - 1` if none).
    pub last_index: Index,
    /// The terms of the first and last of those records (`None` if none).
    pub terms: Option<(Term, Term)>,
    /// Where those records end (a sealed segment's footer starts there).
    pub valid_len: u64,
    /// The file's length.
    pub file_len: u64,
}

/// Everything a scan found, in log order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LogReport {
    /// The segments of the log, oldest first (leftovers excluded).
    pub segments: Vec<SegmentReport>,
    /// Segment files older than the newest one flagged `FLAG_LOG_START`: leftovers of an
    /// interrupted compaction, not part of the log (lab 1's open removes them).
    pub leftovers: Vec<String>,
    /// Every problem found, in log order.
    pub damage: Vec<Damage>,
    /// The log's first index (1 for an empty directory).
    pub first_index: Index,
    /// The last index of the longest valid prefix of the log: where recovery rolls back to.
    pub last_consistent_index: Index,
    /// The highest index the log is known to have held: in any valid record, even after
    /// damage, or implied by a later segment's first index.
    pub last_seen_index: Index,
}

impl LogReport {
    /// The most serious damage found, or `None` for a clean log.
    pub fn worst(&self) -> Option<DamageClass> {
        self.damage.iter().map(Damage::class).max()
    }

    /// Whether the log is whole: no damage, or only zeros after the last record.
    pub fn is_clean(&self) -> bool {
        self.worst().is_none_or(|class| class == DamageClass::Benign)
    }

    /// The entries known to have been in the log but not in its valid prefix, if any.
    pub fn lost(&self) -> Option<RangeInclusive<Index>> {
        (self.last_seen_index > self.last_consistent_index)
            .then(|| self.last_consistent_index + 1..=self.last_seen_index)
    }
}

impl fmt::Display for LogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} segment(s), entries {}..={} consistent",
            self.segments.len(),
            self.first_index,
            self.last_consistent_index
        )?;
        if let Some(lost) = self.lost() {
            write!(f, ", entries {}..={} known but past the damage", lost.start(), lost.end())?;
        }
        for damage in &self.damage {
            write!(f, "\n  - {damage}")?;
        }
        Ok(())
    }
}

/// One change [`recover`](crate::recover) or [`repair_from_peer`](crate::repair_from_peer)
/// made on disk, in the order made.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Zeros from `offset` to the end of `file` were cut off (nothing is kept: zeros are
    /// never a record).
    TrimmedZeros {
        /// The segment file.
        file: String,
        /// Its new length.
        offset: u64,
        /// How many zeros were cut.
        bytes: u64,
    },
    /// Bytes `offset..offset + bytes` of `file` were copied to the file `kept` (synced), then
    /// cut off.
    Cut {
        /// The segment file.
        file: String,
        /// Its new length.
        offset: u64,
        /// How many bytes were cut.
        bytes: u64,
        /// The name of the copy, in the same directory.
        kept: String,
    },
    /// The whole file was renamed to `kept`, which is not a segment name.
    SetAside {
        /// The segment file.
        file: String,
        /// Its new name.
        kept: String,
    },
    /// A leftover of an interrupted compaction was removed, as lab 1's open would.
    RemovedLeftover {
        /// The segment file.
        file: String,
    },
}

/// What [`recover`](crate::recover) found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// The scan before anything changed.
    pub report: LogReport,
    /// The changes made, in order.
    pub actions: Vec<Action>,
    /// The log's last index afterwards (as `lab1::Wal::open` sees it).
    pub last_index: Index,
}

/// What [`repair_from_peer`](crate::repair_from_peer) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairOutcome {
    /// The rollback to the last consistent position.
    pub rollback: Recovery,
    /// The entries fetched from the peer and appended (empty if nothing was lost).
    pub fetched: Range<Index>,
    /// The log's last index afterwards.
    pub last_index: Index,
}
