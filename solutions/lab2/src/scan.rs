//! Verification: read every segment, check every header and record, and say what each
//! problem is and where. Read-only.
//!
//! The hard part is telling a torn tail from corruption with nothing but the bytes. The rule,
//! after etcd (only the end of the last file is repairable) and mini-lsm PR #213 (a frame that
//! ends the file is a crash tail, one followed by more data is corruption):
//!
//! - in a **sealed** segment (one with a successor, or one whose footer decodes), any bad
//!   record is corruption: lab 1 writes and syncs a segment's footer before it creates the
//!   next one, so no crash tears it. Its footer must be there and match: the CRC32 of every
//!   byte before it and the last index. A sealed segment whose records are valid but whose
//!   footer is missing or wrong is a [`Damage::BadFooter`];
//! - in the **last** segment, a bad record is a torn tail only if **no valid record of the log
//!   follows it**. After the bad bytes, [`resync`] looks at every later offset for a record
//!   that passes its checksum and carries an index at or after the missing one. A crash leaves
//!   a prefix of the writes in flight and then zeros or garbage, never a valid record after the
//!   torn one; bit rot in the middle leaves exactly that.
//! - zeros end the log only when **everything** after them is zero (preallocated space);
//!   zeros with data after them are damage like any other.
//!
//! A clean log is the common case, so the scan is built for it: each file is read in blocks
//! into one buffer reused from file to file, and each record's checksum is computed where the
//! record lies ([`check_record`]), never copied out into an entry. Only at the first problem
//! in a file does the scan hold the whole file, which the search for a valid record after the
//! damage needs.

use std::io;
use std::path::Path;

use distributed::storage::{Entry, Index, Term};
use distributed::vfs::{FsRef, OpenMode, Vfs, VfsFile};
use lab1::format::{
    self, ENTRY_HEADER_LEN, FOOTER_LEN, HEADER_LEN, MAX_ENTRY_DATA, RECORD_HEADER_LEN, SegmentFooter, SegmentHeader,
};

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
    let mut buf = Vec::new();
    for (first, name) in segment_files(fs.as_ref(), dir)? {
        let file = fs.open(&dir.join(&name), OpenMode::Read)?;
        files.push(scan_file(name, first, Window::new(file.as_ref(), &mut buf)?)?);
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
    /// A footer where the records end that does not decode, match the segment's bytes, name
    /// the last index, or end the file (but for zeros).
    BadFooter(String),
    /// Bad bytes, then zeros up to a page boundary, then a valid record of the log at
    /// `resumed_at`: the shape of pages lost from the page cache's writeback ([`lost_pages`]).
    LostPages { reason: String, resumed_at: u64 },
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
    /// Whether the segment is sealed: a footer decodes where its valid records end, or in its
    /// last 20 bytes.
    sealed: bool,
    /// Whether a footer that matches the segment ends its records.
    footer_ok: bool,
}

fn scan_file(name: String, named_first: Index, mut window: Window<'_>) -> io::Result<FileScan> {
    let file_len = window.len;
    let decoded = SegmentHeader::decode(window.get(0, HEADER_LEN as usize)?);
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
        file_len: file_len as u64,
        header,
        header_intact,
        prefix: (0, first - 1, None, HEADER_LEN.min(file_len as u64)),
        problems: Vec::new(),
        last_seen: None,
        tail_ok: true,
        next_index: first,
        sealed: false,
        footer_ok: false,
    };
    // A footer of this segment in the last 20 bytes says it was sealed, even if damage before
    // it keeps the walk from reaching it. Of this segment: its last index is one the segment
    // can hold (a footer left in a recycled file by another segment names another).
    if file_len >= (HEADER_LEN + FOOTER_LEN) as usize {
        let tail = window.get(file_len - FOOTER_LEN as usize, FOOTER_LEN as usize)?;
        let most =
            ((file_len - (HEADER_LEN + FOOTER_LEN) as usize) / (RECORD_HEADER_LEN + ENTRY_HEADER_LEN) as usize) as u64;
        scan.sealed = SegmentFooter::decode(tail)
            .is_ok_and(|f| f.last_index >= named_first - 1 && f.last_index - (named_first - 1) <= most);
    }
    let mut offset = HEADER_LEN as usize;
    let mut previous_term: Option<Term> = None;
    while offset < file_len {
        let expected = scan.next_index;
        match check_record(first, window.record_at(offset)?) {
            Ok(record) if record.index == expected && previous_term.is_none_or(|t| record.term >= t) => {
                if scan.problems.is_empty() {
                    let terms = scan.prefix.2.map_or((record.term, record.term), |(f, _)| (f, record.term));
                    scan.prefix = (scan.prefix.0 + 1, record.index, Some(terms), (offset + record.len) as u64);
                }
                scan.last_seen = Some((record.index, record.term));
                previous_term = Some(record.term);
                scan.next_index = expected + 1;
                offset += record.len;
                continue;
            }
            Err(format::FormatError::Footer) => {
                let bytes = window.get(0, file_len)?;
                scan.sealed |= SegmentFooter::decode(&bytes[offset..]).is_ok();
                if !scan.problems.is_empty() {
                    // Damage before the footer: its checksum cannot match, and the damage is
                    // already reported.
                    break;
                }
                match check_footer(bytes, offset, expected - 1) {
                    Ok(()) => {
                        scan.footer_ok = true;
                        let end = offset + FOOTER_LEN as usize;
                        if bytes[end..].iter().all(|&b| b == 0) {
                            if end < file_len {
                                let kind = ProblemKind::Zeros;
                                scan.problems.push(Problem {
                                    offset: end as u64,
                                    index: expected,
                                    kind,
                                    resumed: false,
                                });
                            }
                        } else {
                            let reason = format!("{} bytes after the footer", file_len - end);
                            let kind = ProblemKind::BadFooter(reason);
                            scan.problems.push(Problem {
                                offset: offset as u64,
                                index: expected,
                                kind,
                                resumed: false,
                            });
                        }
                    }
                    Err(reason) => {
                        let kind = ProblemKind::BadFooter(reason);
                        scan.problems.push(Problem { offset: offset as u64, index: expected, kind, resumed: false });
                    }
                }
                break;
            }
            _ => {}
        }
        // Not the record the log needs here. Telling what it is, and looking for a valid
        // record after it, takes the rest of the file: from here on, hold all of it.
        let bytes = window.get(0, file_len)?;
        let kind = match check_record(first, &bytes[offset..]) {
            _ if bytes[offset..].iter().all(|&b| b == 0) => ProblemKind::Zeros,
            Ok(record) => {
                let reason = if record.index != expected {
                    format!("holds index {}, the log needs {expected} here", record.index)
                } else {
                    format!(
                        "term {} is lower than the previous entry's term {}",
                        record.term,
                        previous_term.unwrap_or(0)
                    )
                };
                ProblemKind::Stale { index: record.index, term: record.term, reason }
            }
            Err(format::FormatError::Zeroed) => ProblemKind::Bad("zeros where a record starts, data after them".into()),
            Err(e) => ProblemKind::Bad(e.to_string()),
        };
        if matches!(kind, ProblemKind::Zeros) {
            scan.problems.push(Problem { offset: offset as u64, index: expected, kind, resumed: false });
            break;
        }
        let resumed = resync(first, bytes, offset + 1, expected, previous_term);
        let kind = match (kind, resumed) {
            (ProblemKind::Bad(reason), Some((at, _))) if lost_pages(bytes, offset, at) => {
                ProblemKind::LostPages { reason, resumed_at: at as u64 }
            }
            (kind, _) => kind,
        };
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
    Ok(scan)
}

/// The page size of the page cache (and of the kit's reordering crash mode): the unit in which
/// unsynced writes reach the disk, or do not.
const PAGE: usize = distributed::vfs::PAGE_SIZE as usize;

/// Whether the bad bytes from `offset` to the valid record at `resumed_at` have the shape of
/// lost pages: for some page boundary `q` after `offset` and at most `resumed_at`, the bytes
/// from `offset` (or from the start of that page, if later) up to `q` are all zero. A page that
/// the page cache never wrote back reads as zeros, the record straddling into it is cut, and
/// records on later pages that were written back are intact. Bit rot that zeroed exactly such
/// a range looks the same.
fn lost_pages(bytes: &[u8], offset: usize, resumed_at: usize) -> bool {
    let mut boundary = (offset / PAGE + 1) * PAGE;
    while boundary <= resumed_at {
        let from = offset.max(boundary - PAGE);
        if bytes[from..boundary].iter().all(|&b| b == 0) {
            return true;
        }
        boundary += PAGE;
    }
    false
}

/// Checks the footer at `offset`, where a segment's valid records end: it decodes, matches
/// every byte before it, and names `last_index`.
fn check_footer(bytes: &[u8], offset: usize, last_index: Index) -> Result<(), String> {
    let footer = SegmentFooter::decode(&bytes[offset..]).map_err(|e| format!("footer: {e}"))?;
    footer.verify(&bytes[..offset]).map_err(|e| format!("the segment's bytes do not match its footer: {e}"))?;
    if footer.last_index != last_index {
        return Err(format!("the footer names last index {}, the records end at {last_index}", footer.last_index));
    }
    Ok(())
}

/// How much of a segment the scan reads at a time: enough that system calls do not count,
/// little enough that the block is still in the CPU's cache when its checksums are computed.
const BLOCK: usize = 256 << 10;

/// A window on one segment file, read in blocks into a buffer that the scan reuses for every
/// file. Reading a whole file into a new buffer would cost a fresh allocation per file and a
/// trip through main memory between the read and the checksum.
struct Window<'a> {
    file: &'a dyn VfsFile,
    /// The file's length when the scan began.
    len: usize,
    buf: &'a mut Vec<u8>,
    /// The file offsets that `buf[..end - start]` holds.
    start: usize,
    end: usize,
}

impl<'a> Window<'a> {
    fn new(file: &'a dyn VfsFile, buf: &'a mut Vec<u8>) -> io::Result<Window<'a>> {
        let len = usize::try_from(file.len()?)
            .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "segment too large to scan"))?;
        Ok(Window { file, len, buf, start: 0, end: 0 })
    }

    /// The `want` bytes at `offset`, or fewer if the file ends first; reads a block from
    /// `offset` on if they are not all held.
    fn get(&mut self, offset: usize, want: usize) -> io::Result<&[u8]> {
        let end = offset.saturating_add(want).min(self.len);
        if offset < self.start || end > self.end {
            let read_end = end.max(offset.saturating_add(BLOCK)).min(self.len);
            let read = read_end.saturating_sub(offset);
            if self.buf.len() < read {
                self.buf.resize(read, 0);
            }
            self.file.read_exact_at(offset as u64, &mut self.buf[..read])?;
            (self.start, self.end) = (offset, read_end);
        }
        Ok(&self.buf[offset - self.start..end.max(offset) - self.start])
    }

    /// The bytes of the record starting at `offset`, as far as its length field says it
    /// reaches (or to the end of the file); just its framing if the length is impossible.
    fn record_at(&mut self, offset: usize) -> io::Result<&[u8]> {
        let framing = RECORD_HEADER_LEN as usize;
        let head = self.get(offset, framing)?;
        let want = match head.get(..4) {
            Some(len) if head.len() == framing => {
                let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
                framing + len.min(ENTRY_HEADER_LEN as usize + MAX_ENTRY_DATA)
            }
            _ => framing,
        };
        self.get(offset, want)
    }
}

/// What the scan needs of a valid record: where it sits in the log, and its length in bytes.
#[derive(Debug, PartialEq, Eq)]
struct RecordHead {
    index: Index,
    term: Term,
    len: usize,
}

/// Checks the record at the start of `bytes` exactly as lab 1's `format::decode_record` does
/// (the same errors, in the same order: lab 1's byte table, checksum included), but computes
/// the checksum where the bytes lie and copies nothing out. A scan never needs the data.
fn check_record(segment_first_index: Index, bytes: &[u8]) -> Result<RecordHead, format::FormatError> {
    let framing = RECORD_HEADER_LEN as usize;
    if bytes.len() < framing {
        return Err(format::FormatError::Truncated { needed: RECORD_HEADER_LEN, available: bytes.len() as u64 });
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
    if len == 0 {
        return Err(format::FormatError::Zeroed);
    }
    if len == format::FOOTER_MARKER {
        return Err(format::FormatError::Footer);
    }
    if (len as u64) < ENTRY_HEADER_LEN || len as usize > ENTRY_HEADER_LEN as usize + MAX_ENTRY_DATA {
        return Err(format::FormatError::BadLength(len));
    }
    let total = framing + len as usize;
    if bytes.len() < total {
        return Err(format::FormatError::Truncated { needed: total as u64, available: bytes.len() as u64 });
    }
    let stored = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&segment_first_index.to_le_bytes());
    hasher.update(&len.to_le_bytes());
    hasher.update(&bytes[framing..total]);
    let computed = hasher.finalize();
    if stored != computed {
        return Err(format::FormatError::ChecksumMismatch { stored, computed });
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    Ok(RecordHead { index: u64_at(framing), term: u64_at(framing + 8), len: total })
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
        match check_record(first, &bytes[at..]) {
            Ok(record) if previous_term.is_none_or(|t| record.term >= t) => Some((at, record.index)),
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
        // The segment with a successor must end with its footer: when every record is valid
        // (zeros after them aside) and none is there, that is damage of its own.
        let records_whole = problems.iter().all(|p| matches!(p.kind, ProblemKind::Zeros));
        if file.header.is_ok() && position < active && records_whole && !file.footer_ok {
            let reason = "no footer: a segment with a successor ends with one".to_string();
            damage.push(Damage::BadFooter { file: file.name.clone(), offset: valid_len, reason });
            consistent = false;
        }
        for problem in problems {
            let found = classify(file, problem, position == active && !file.sealed);
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
        ProblemKind::BadFooter(reason) if is_active => {
            Damage::TornTail { file: name, offset, bytes: file.file_len - offset, reason: reason.clone() }
        }
        ProblemKind::BadFooter(reason) => Damage::BadFooter { file: name, offset, reason: reason.clone() },
        ProblemKind::LostPages { resumed_at, .. } if is_active => {
            Damage::LostPages { file: name, offset, resumed: *resumed_at, bytes: resumed_at - offset }
        }
        ProblemKind::LostPages { reason, .. } => {
            let reason = format!("{reason}; valid records follow");
            Damage::Corrupt { file: name, offset, index: problem.index, reason }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_record` is lab 1's `decode_record` without the copy: on a record, every cut of
    /// it, and every byte of it set to each of a few values, both give the same verdict.
    #[test]
    fn check_record_agrees_with_lab_1s_decoder() {
        for (first, index, term, len) in [(1u64, 1u64, 1u64, 0usize), (7, 9, 3, 1), (100, 164, 2, 300)] {
            let entry = Entry::new(index, term, (0..len).map(|i| (i * 7) as u8).collect::<Vec<u8>>());
            let mut record = format::encode_record(first, &entry);
            record.extend_from_slice(&[0xA5; 9]);
            let mut cases = Vec::new();
            for cut in 0..=record.len() {
                cases.push(record[..cut].to_vec());
            }
            for at in 0..record.len() {
                for value in [0x00, 0x01, 0x80, 0xFF] {
                    let mut mutated = record.clone();
                    mutated[at] = value;
                    cases.push(mutated);
                }
            }
            for bytes in cases {
                let expected = format::decode_record(first, &bytes).map(|(e, used)| RecordHead {
                    index: e.index,
                    term: e.term,
                    len: used,
                });
                assert_eq!(check_record(first, &bytes), expected, "bytes {bytes:02x?}");
            }
        }
    }
}
