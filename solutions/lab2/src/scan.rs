//! Verification: read every segment, check every header and record, and say what each
//! problem is and where. Read-only.
//!
//! The hard part is telling a torn tail from corruption with nothing but the bytes. The rule,
//! after etcd (only the end of the last file is repairable) and mini-lsm PR #213 (a frame that
//! ends the file is a crash tail, one followed by more data is corruption):
//!
//! - in a **sealed** segment (one with a successor), any bad record is corruption: lab 1 syncs
//!   a segment before it creates the next one, so no crash tears it;
//! - in the **last** segment, a bad record is a torn tail only if **no valid record of the log
//!   follows it**. After the bad bytes, [`resync`] looks at every later offset for a record
//!   that passes its checksum and carries an index at or after the missing one. A crash leaves
//!   a prefix of the writes in flight and then zeros or garbage, never a valid record after the
//!   torn one; bit rot in the middle leaves exactly that.
//! - zeros end the log only when **everything** after them is zero (preallocated space);
//!   zeros with data after them are damage like any other.

use std::path::Path;

use distributed::storage::{Entry, Index, Term};
use distributed::vfs::{FsRef, OpenMode, Vfs};
use lab1::format::{self, ENTRY_HEADER_LEN, HEADER_LEN, MAX_ENTRY_DATA, RECORD_HEADER_LEN, SegmentHeader};

use crate::RepairError;
use crate::report::{Damage, DamageClass, LogReport, SegmentReport};

/// Verifies the log in `dir` without changing anything, and reports every problem with its
/// file and offset, in log order.
///
/// Checks each segment's header (magic, CRC, first index equal to the name's), every record's
/// CRC (which lab 1 salts with the segment's first index, so a record from another segment
/// fails), index continuity within and across segments, and that terms never go down.
pub fn scan(fs: &FsRef, dir: impl AsRef<Path>) -> Result<LogReport, RepairError> {
    let dir = dir.as_ref();
    let mut files = Vec::new();
    for (first, name) in segment_files(fs.as_ref(), dir)? {
        let bytes = fs.open(&dir.join(&name), OpenMode::Read)?.read_all()?;
        files.push(scan_file(name, first, &bytes));
    }
    Ok(assemble(files))
}

/// The segment files in `dir`, sorted by first index (none if `dir` does not exist).
pub(crate) fn segment_files(fs: &dyn Vfs, dir: &Path) -> Result<Vec<(Index, String)>, RepairError> {
    if !fs.exists(dir)? {
        return Ok(Vec::new());
    }
    let mut names: Vec<(Index, String)> = fs
        .read_dir(dir)?
        .into_iter()
        .filter_map(|name| format::parse_segment_file_name(&name).map(|first| (first, name)))
        .collect();
    names.sort();
    Ok(names)
}

/// Reads entry `index` from the valid prefix of the segment the report says holds it.
pub(crate) fn read_entry(
    fs: &dyn Vfs,
    dir: &Path,
    report: &LogReport,
    index: Index,
) -> Result<Option<Entry>, RepairError> {
    let Some(segment) = report.segments.iter().find(|s| s.first_index <= index && index <= s.last_index) else {
        return Ok(None);
    };
    let bytes = fs.open(&dir.join(&segment.file_name), OpenMode::Read)?.read_all()?;
    let mut offset = HEADER_LEN as usize;
    while offset < bytes.len() {
        match format::decode_record(segment.first_index, &bytes[offset..]) {
            Ok((entry, _)) if entry.index == index => return Ok(Some(entry)),
            Ok((_, used)) => offset += used,
            Err(_) => break,
        }
    }
    Ok(None)
}

/// A problem inside one file's records.
#[derive(Debug)]
struct Problem {
    offset: u64,
    /// The index the record here should hold.
    index: Index,
    kind: ProblemKind,
    /// Whether a valid record of the log was found after it, in the same file.
    resumed: bool,
}

#[derive(Debug)]
enum ProblemKind {
    /// Zeros from here to the end of the file.
    Zeros,
    /// A record with a valid checksum that does not continue the log.
    Stale { index: Index, term: Term, reason: String },
    /// Anything else that is not the next record.
    Bad(String),
}

/// One file, scanned on its own.
#[derive(Debug)]
struct FileScan {
    name: String,
    named_first: Index,
    file_len: u64,
    /// The header, or why it is not usable.
    header: Result<SegmentHeader, String>,
    /// Whether the header decodes at all (even if it names another first index).
    header_intact: bool,
    /// Valid records before the first problem: count, last index, first and last term, end.
    prefix: (u64, Index, Option<(Term, Term)>, u64),
    problems: Vec<Problem>,
    /// The highest index in any valid record of the file, and the last valid record's term.
    last_seen: Option<(Index, Term)>,
    /// Whether the file ends in valid records or zeros (not in a problem that nothing follows).
    tail_ok: bool,
    /// The index after the last valid record.
    next_index: Index,
}

fn scan_file(name: String, named_first: Index, bytes: &[u8]) -> FileScan {
    let decoded = SegmentHeader::decode(bytes);
    let header_intact = decoded.is_ok();
    let header = match decoded {
        Ok(header) if header.first_index == named_first => Ok(header),
        Ok(header) => Err(format!("the header says first index {}, the name says {named_first}", header.first_index)),
        Err(e) => Err(e.to_string()),
    };
    // Records are checked with the name's first index even under a bad header, so the report
    // can say what lies beyond the damage.
    let first = named_first;
    let mut scan = FileScan {
        name,
        named_first,
        file_len: bytes.len() as u64,
        header,
        header_intact,
        prefix: (0, first - 1, None, HEADER_LEN.min(bytes.len() as u64)),
        problems: Vec::new(),
        last_seen: None,
        tail_ok: true,
        next_index: first,
    };
    let mut offset = HEADER_LEN as usize;
    let mut previous_term: Option<Term> = None;
    while offset < bytes.len() {
        let expected = scan.next_index;
        let decoded = format::decode_record(first, &bytes[offset..]);
        let kind = match decoded {
            Ok((entry, used)) if entry.index == expected && previous_term.is_none_or(|t| entry.term >= t) => {
                if scan.problems.is_empty() {
                    let terms = scan.prefix.2.map_or((entry.term, entry.term), |(f, _)| (f, entry.term));
                    scan.prefix = (scan.prefix.0 + 1, entry.index, Some(terms), (offset + used) as u64);
                }
                scan.last_seen = Some((entry.index, entry.term));
                previous_term = Some(entry.term);
                scan.next_index = expected + 1;
                offset += used;
                continue;
            }
            _ if bytes[offset..].iter().all(|&b| b == 0) => ProblemKind::Zeros,
            Ok((entry, _)) => {
                let reason = if entry.index != expected {
                    format!("holds index {}, the log needs {expected} here", entry.index)
                } else {
                    format!(
                        "term {} is lower than the previous entry's term {}",
                        entry.term,
                        previous_term.unwrap_or(0)
                    )
                };
                ProblemKind::Stale { index: entry.index, term: entry.term, reason }
            }
            Err(format::FormatError::Zeroed) => ProblemKind::Bad("zeros where a record starts, data after them".into()),
            Err(e) => ProblemKind::Bad(e.to_string()),
        };
        if matches!(kind, ProblemKind::Zeros) {
            scan.problems.push(Problem { offset: offset as u64, index: expected, kind, resumed: false });
            break;
        }
        let resumed = resync(first, bytes, offset + 1, expected, previous_term);
        scan.problems.push(Problem { offset: offset as u64, index: expected, kind, resumed: resumed.is_some() });
        match resumed {
            Some((at, index)) => {
                offset = at;
                scan.next_index = index;
            }
            None => {
                scan.tail_ok = false;
                break;
            }
        }
    }
    scan
}

/// The first offset from `from` on where a record of this segment starts that could continue
/// the log: its checksum is valid, its index is `expected` or later, and its term is not
/// below `previous_term`. Cheap tests on the length and index fields come first, so the
/// search costs a CRC only where a record is plausible.
fn resync(
    first: Index,
    bytes: &[u8],
    from: usize,
    expected: Index,
    previous_term: Option<Term>,
) -> Option<(usize, Index)> {
    let smallest = (RECORD_HEADER_LEN + ENTRY_HEADER_LEN) as usize;
    let highest_index = expected + (bytes.len() / smallest) as u64;
    let last_start = bytes.len().checked_sub(smallest)?;
    (from..=last_start).find_map(|at| {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().ok()?) as usize;
        if len < ENTRY_HEADER_LEN as usize || len > ENTRY_HEADER_LEN as usize + MAX_ENTRY_DATA {
            return None;
        }
        if at + RECORD_HEADER_LEN as usize + len > bytes.len() {
            return None;
        }
        let index = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().ok()?);
        if index < expected || index > highest_index {
            return None;
        }
        match format::decode_record(first, &bytes[at..]) {
            Ok((entry, _)) if previous_term.is_none_or(|t| entry.term >= t) => Some((at, entry.index)),
            _ => None,
        }
    })
}

/// Puts the files together into the log: leftovers, the last segment, continuity across
/// segments, and the classification of every problem.
fn assemble(files: Vec<FileScan>) -> LogReport {
    // Files older than the newest log start are leftovers of an interrupted restart.
    let start = files.iter().rposition(|f| f.header.as_ref().is_ok_and(SegmentHeader::is_log_start)).unwrap_or(0);
    let leftovers = files[..start].iter().map(|f| f.name.clone()).collect();
    let log = &files[start..];
    // A last file with no header and no record is a rollover or restart that never finished;
    // the segment before it is then the one that may have a torn tail. (A header that decodes
    // but names another segment was written whole: that file is misplaced, not unfinished.)
    let unfinished = log.last().is_some_and(|f| !f.header_intact && f.last_seen.is_none());
    let active = log.len().saturating_sub(1 + usize::from(unfinished));

    let first_index = log.first().map_or(1, |f| f.named_first);
    let mut damage = Vec::new();
    let mut segments = Vec::new();
    let mut consistent = true;
    let mut last_consistent = first_index - 1;
    let mut last_seen = first_index - 1;
    // The index the next segment must start at, and the term it may not go below; `None`
    // after a segment whose end is damaged.
    let mut expected: Option<Index> = None;
    let mut previous_term: Option<Term> = None;

    for (position, file) in log.iter().enumerate() {
        let (records, prefix_last, terms, valid_len) = file.prefix;
        segments.push(SegmentReport {
            file_name: file.name.clone(),
            first_index: file.named_first,
            log_start: file.header.as_ref().is_ok_and(SegmentHeader::is_log_start),
            records,
            last_index: prefix_last,
            terms,
            valid_len,
            file_len: file.file_len,
        });
        // A segment exists from here, so every entry before it existed.
        last_seen = last_seen.max(file.named_first - 1);
        if unfinished && position + 1 == log.len() {
            damage.push(Damage::UnfinishedSegment { file: file.name.clone(), bytes: file.file_len });
            break;
        }
        let mut whole = true;
        if let Err(reason) = &file.header {
            damage.push(Damage::BadHeader { file: file.name.clone(), reason: reason.clone() });
            whole = false;
        } else if let Some(next) = expected.filter(|&next| next != file.named_first) {
            damage.push(Damage::Gap { file: file.name.clone(), expected: next, found: file.named_first });
            whole = false;
        } else if let (Some((term, _)), Some(previous)) = (terms, previous_term)
            && term < previous
        {
            damage.push(Damage::StaleRecord {
                file: file.name.clone(),
                offset: HEADER_LEN,
                index: file.named_first,
                term,
                reason: format!("term {term} is lower than the previous segment's last term {previous}"),
            });
            whole = false;
        }
        if !whole {
            consistent = false;
        }
        if consistent {
            last_consistent = prefix_last;
        }
        // Under a bad header the records were checked against the name's first index only
        // to learn what lies beyond; the header's damage already makes the file unusable.
        let problems = if file.header.is_ok() { file.problems.as_slice() } else { &[] };
        for problem in problems {
            let found = classify(file, problem, position == active);
            if found.class() != DamageClass::Benign {
                consistent = false;
            }
            damage.push(found);
        }
        if let Some((index, term)) = file.last_seen {
            last_seen = last_seen.max(index);
            previous_term = Some(term);
        }
        expected = file.tail_ok.then_some(file.next_index);
    }
    LogReport {
        segments,
        leftovers,
        damage,
        first_index,
        last_consistent_index: last_consistent,
        last_seen_index: last_seen.max(last_consistent),
    }
}

fn classify(file: &FileScan, problem: &Problem, is_active: bool) -> Damage {
    let (name, offset) = (file.name.clone(), problem.offset);
    match &problem.kind {
        ProblemKind::Zeros => Damage::ZeroedTail { file: name, offset, bytes: file.file_len - offset },
        ProblemKind::Stale { index, term, reason } => {
            Damage::StaleRecord { file: name, offset, index: *index, term: *term, reason: reason.clone() }
        }
        ProblemKind::Bad(reason) if is_active && !problem.resumed => {
            Damage::TornTail { file: name, offset, bytes: file.file_len - offset, reason: reason.clone() }
        }
        ProblemKind::Bad(reason) => {
            let reason = if problem.resumed {
                format!("{reason}; valid records follow")
            } else {
                format!("{reason}; in a sealed segment")
            };
            Damage::Corrupt { file: name, offset, index: problem.index, reason }
        }
    }
}
