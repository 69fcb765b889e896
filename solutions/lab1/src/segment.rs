//! One segment file: its header, where each record starts, the terms of its entries, and its
//! footer once it is sealed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::storage::{Entry, Index, Term};
use distributed::vfs::{OpenMode, Vfs, VfsFile};

use crate::WalError;
use crate::format::{self, FOOTER_LEN, FormatError, HEADER_LEN, SegmentFooter, SegmentHeader};

/// Buffered records are written once they take this many bytes.
const FLUSH_AT: usize = 256 << 10;
/// [`Segment::read_range`] reads at most this many bytes with one call (more only for a
/// single record larger than this). Small enough that the buffer comes from the allocator's
/// heap and goes back to it cheaply (glibc maps blocks of 128 KiB and more, and consolidates
/// its free lists whenever a block of 64 KiB or more is freed), large enough that the system
/// call costs little beside the copy.
const READ_SPAN: u64 = 32 << 10;

/// A segment in memory: the open file and an index of its records. Entry data stays on disk
/// and is read on demand; terms are kept in memory because Raft asks for them constantly.
///
/// New records collect in a buffer and reach the file in one write when the buffer fills or
/// before a sync, as etcd's WAL does with its page writer: one system call for many small
/// records. A record is never split between the buffer and the file.
#[derive(Debug)]
pub(crate) struct Segment {
    pub header: SegmentHeader,
    pub file_name: String,
    pub file: Arc<dyn VfsFile>,
    /// Byte offset of each record; record `k` holds entry `first_index + k`.
    offsets: Vec<u64>,
    terms: Vec<Term>,
    /// Bytes in use: the end of the last record.
    pub len: u64,
    /// Bytes already written to the file; records from here to `len` are in `buffer`.
    written: u64,
    buffer: Vec<u8>,
    /// Written since the last sync.
    pub dirty: bool,
    /// The footer, once the segment is sealed: it follows the last record, at `len`.
    pub sealed: Option<SegmentFooter>,
    /// CRC32 of bytes `0..len` (header and records, buffered ones included): the footer's
    /// segment checksum, kept as records are added so that sealing reads nothing back.
    crc: crc32fast::Hasher,
}

/// How a scan of a segment ended.
pub(crate) enum ScanEnd {
    /// At the end of the file.
    Clean,
    /// At bytes that are not the next record; `offset` is where the valid records end.
    Invalid { offset: u64, reason: String },
}

/// What opening an existing segment file found.
pub(crate) enum Opened {
    Segment(Box<Segment>, ScanEnd),
    /// The header is missing or damaged and no record can be read: a segment whose creation
    /// never completed.
    Unfinished,
}

impl Segment {
    /// Creates a segment file holding only its header, durably and never half-made: the file
    /// is prepared under its temporary name (`<name>.tmp`, which is not a segment name), its
    /// header written and synced, read back and checked, and only then renamed into place and
    /// the directory synced. A crash at any step leaves either no segment of that name or a
    /// complete one (and perhaps a `.tmp` file, which `open` removes).
    ///
    /// A segment of that name may already exist: an empty last segment left by a rollover
    /// that crashed before its first record, which a restart reuses. The rename replaces it.
    pub fn create(fs: &dyn Vfs, dir: &Path, header: SegmentHeader) -> Result<Segment, WalError> {
        let file_name = format::segment_file_name(header.first_index);
        let temp = dir.join(format::temp_segment_file_name(header.first_index));
        // `Create`, not `CreateNew`: a temporary file of that name may be left by a crash; it
        // holds nothing acknowledged, so it is overwritten.
        let file: Arc<dyn VfsFile> = Arc::from(fs.open(&temp, OpenMode::Create)?);
        file.set_len(0)?;
        let encoded = header.encode();
        file.write_all_at(0, &encoded)?;
        file.sync_data()?;
        let mut back = [0u8; HEADER_LEN as usize];
        file.read_exact_at(0, &mut back)?;
        if SegmentHeader::decode(&back) != Ok(header) {
            return Err(WalError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the header of {file_name} reads back as other bytes than were written"),
            )));
        }
        fs.rename(&temp, &dir.join(&file_name))?;
        fs.sync_dir(dir)?;
        let mut segment = Segment::holding_no_record(header, file_name, file, false);
        segment.crc.update(&encoded);
        Ok(segment)
    }

    /// Opens a segment file and indexes every valid record, stopping at the first bytes that
    /// are not the next record.
    pub fn open(fs: &dyn Vfs, dir: &Path, file_name: &str, named_first: Index) -> Result<Opened, WalError> {
        let path: PathBuf = dir.join(file_name);
        let file: Arc<dyn VfsFile> = Arc::from(fs.open(&path, OpenMode::ReadWrite)?);
        let bytes = file.read_all()?;
        let header = match SegmentHeader::decode(&bytes) {
            Ok(header) => header,
            Err(e) => {
                // A damaged header on a segment whose records are intact is corruption; a
                // header that never got written leaves no record behind it.
                let first_record = bytes.get(HEADER_LEN as usize..).unwrap_or_default();
                return match format::decode_record(named_first, first_record) {
                    Ok(_) => Err(corrupt(file_name, 0, format!("segment header: {e}"))),
                    Err(_) => Ok(Opened::Unfinished),
                };
            }
        };
        if header.first_index != named_first {
            return Err(corrupt(
                file_name,
                8,
                format!("header says first index {}, the name says {named_first}", header.first_index),
            ));
        }
        let mut segment = Segment::holding_no_record(header, file_name.to_string(), file, false);
        let mut offset = HEADER_LEN as usize;
        let end = loop {
            if offset == bytes.len() {
                break ScanEnd::Clean;
            }
            let expected = segment.next_index();
            match format::decode_record(header.first_index, &bytes[offset..]) {
                Ok((entry, _)) if entry.index != expected => {
                    break ScanEnd::Invalid {
                        offset: offset as u64,
                        reason: format!("record holds index {}, expected {expected}", entry.index),
                    };
                }
                Ok((entry, _)) if entry.index > crate::wal::LAST_USABLE_INDEX => {
                    break ScanEnd::Invalid {
                        offset: offset as u64,
                        reason: format!("record holds index {}, past the last a log can hold", entry.index),
                    };
                }
                Ok((entry, consumed)) => {
                    segment.offsets.push(offset as u64);
                    segment.terms.push(entry.term);
                    offset += consumed;
                    segment.len = offset as u64;
                    segment.written = segment.len;
                }
                Err(FormatError::Footer) => match check_footer(&bytes, offset, segment.last_index()) {
                    Ok(footer) => {
                        segment.sealed = Some(footer);
                        break ScanEnd::Clean;
                    }
                    Err(reason) => break ScanEnd::Invalid { offset: offset as u64, reason },
                },
                Err(e) => break ScanEnd::Invalid { offset: offset as u64, reason: e.to_string() },
            }
        };
        segment.crc.update(&bytes[..segment.len as usize]);
        Ok(Opened::Segment(Box::new(segment), end))
    }

    fn holding_no_record(header: SegmentHeader, file_name: String, file: Arc<dyn VfsFile>, dirty: bool) -> Segment {
        Segment {
            header,
            file_name,
            file,
            offsets: Vec::new(),
            terms: Vec::new(),
            len: HEADER_LEN,
            written: HEADER_LEN,
            buffer: Vec::new(),
            dirty,
            sealed: None,
            crc: crc32fast::Hasher::new(),
        }
    }

    /// The file's length: header, records and, once sealed, the footer.
    pub fn file_len(&self) -> u64 {
        self.len + if self.sealed.is_some() { FOOTER_LEN } else { 0 }
    }

    /// Seals the segment: writes out its buffered records, then its footer right after the
    /// last one, and syncs the file, so that the footer is durable before a successor exists.
    pub fn seal(&mut self) -> Result<(), WalError> {
        self.flush()?;
        let footer = SegmentFooter { segment_crc: self.crc.clone().finalize(), last_index: self.last_index() };
        self.file.write_all_at(self.len, &footer.encode())?;
        self.file.sync_data()?;
        self.sealed = Some(footer);
        self.dirty = false;
        Ok(())
    }

    pub fn first_index(&self) -> Index {
        self.header.first_index
    }

    /// The index of the last entry held, or `first_index() - 1` if none.
    pub fn last_index(&self) -> Index {
        self.header.first_index + self.terms.len() as u64 - 1
    }

    pub fn next_index(&self) -> Index {
        self.header.first_index + self.terms.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn last_term(&self) -> Option<Term> {
        self.terms.last().copied()
    }

    /// The term of entry `index`, which this segment must hold.
    pub fn term(&self, index: Index) -> Term {
        self.terms[(index - self.header.first_index) as usize]
    }

    /// Adds the record of `entry`, which must be the next index, to the buffer. Neither
    /// written nor synced unless the buffer is full.
    pub fn append(&mut self, entry: &Entry) -> Result<(), WalError> {
        let start = self.buffer.len();
        format::encode_record_into(self.header.first_index, entry, &mut self.buffer);
        self.crc.update(&self.buffer[start..]);
        self.offsets.push(self.len);
        self.terms.push(entry.term);
        self.len += (self.buffer.len() - start) as u64;
        self.dirty = true;
        if self.buffer.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered records to the file (not synced).
    pub fn flush(&mut self) -> Result<(), WalError> {
        if !self.buffer.is_empty() {
            self.file.write_all_at(self.written, &self.buffer)?;
            self.written = self.len;
            self.buffer.clear();
        }
        Ok(())
    }

    /// Reads entry `index`, which this segment must hold, checking its checksum: a record
    /// damaged since it was written is an error, never a wrong entry.
    pub fn read(&self, index: Index) -> Result<Entry, WalError> {
        let k = (index - self.header.first_index) as usize;
        let start = self.offsets[k];
        let end = self.offsets.get(k + 1).copied().unwrap_or(self.len);
        let bytes = if start >= self.written {
            let at = (start - self.written) as usize;
            self.buffer[at..at + (end - start) as usize].to_vec()
        } else {
            let mut bytes = vec![0; (end - start) as usize];
            self.file.read_exact_at(start, &mut bytes)?;
            bytes
        };
        match format::decode_record(self.header.first_index, &bytes) {
            Ok((entry, _)) if entry.index == index => Ok(entry),
            Ok((entry, _)) => Err(corrupt(&self.file_name, start, format!("record holds index {}", entry.index))),
            Err(e) => Err(corrupt(&self.file_name, start, e.to_string())),
        }
    }

    /// Appends entries `low..high`, which this segment must hold, to `out`, checking each
    /// record's checksum and index as [`Segment::read`] does.
    ///
    /// Records are contiguous in the file, so a span of them is read with one call of up to
    /// [`READ_SPAN`] bytes rather than one per record: replaying a log costs about what
    /// decoding it does, not a system call per entry.
    pub fn read_range(&self, low: Index, high: Index, out: &mut Vec<Entry>) -> Result<(), WalError> {
        let first = self.header.first_index;
        let mut bytes = Vec::new();
        let mut index = low;
        while index < high {
            let start = self.offset_of(index);
            // At least one record, then as many more as fit in READ_SPAN.
            let mut next = index + 1;
            while next < high && self.offset_of(next + 1) - start <= READ_SPAN {
                next += 1;
            }
            self.read_bytes(start, self.offset_of(next), &mut bytes)?;
            for index in index..next {
                let offset = self.offset_of(index);
                let at = (offset - start) as usize;
                let record_len = (self.offset_of(index + 1) - offset) as usize;
                match format::decode_record(first, &bytes[at..at + record_len]) {
                    Ok((entry, _)) if entry.index == index => out.push(entry),
                    Ok((entry, _)) => {
                        return Err(corrupt(&self.file_name, offset, format!("record holds index {}", entry.index)));
                    }
                    Err(e) => return Err(corrupt(&self.file_name, offset, e.to_string())),
                }
            }
            index = next;
        }
        Ok(())
    }

    /// Where the record of `index` starts; for `next_index()`, where the last one ends.
    fn offset_of(&self, index: Index) -> u64 {
        self.offsets.get((index - self.header.first_index) as usize).copied().unwrap_or(self.len)
    }

    /// Replaces `bytes` with the bytes `start..end` of the segment, from the file and then
    /// from the buffer (a record is never split between the two).
    fn read_bytes(&self, start: u64, end: u64, bytes: &mut Vec<u8>) -> Result<(), WalError> {
        bytes.clear();
        bytes.resize((end.min(self.written).saturating_sub(start)) as usize, 0);
        if !bytes.is_empty() {
            self.file.read_exact_at(start, bytes)?;
        }
        if end > self.written {
            let from = (start.max(self.written) - self.written) as usize;
            bytes.extend_from_slice(&self.buffer[from..(end - self.written) as usize]);
        }
        Ok(())
    }

    /// Drops entries `from` and after, cutting the file (not synced). `from` must be in
    /// `first_index()..=next_index()`. A sealed segment loses its footer with the cut: it
    /// becomes the active one again.
    pub fn truncate_from(&mut self, from: Index) -> Result<(), WalError> {
        self.flush()?;
        let keep = (from - self.header.first_index) as usize;
        let cut = self.offsets.get(keep).copied().unwrap_or(self.len);
        self.offsets.truncate(keep);
        self.terms.truncate(keep);
        self.file.set_len(cut)?;
        self.len = cut;
        self.written = cut;
        self.dirty = true;
        self.sealed = None;
        let mut kept = vec![0; cut as usize];
        self.file.read_exact_at(0, &mut kept)?;
        self.crc = crc32fast::Hasher::new();
        self.crc.update(&kept);
        Ok(())
    }

    /// Cuts the file back to where the valid records end, durably: a torn tail goes away
    /// before anything is appended after it.
    pub fn cut_torn_tail(&mut self) -> Result<(), WalError> {
        self.file.set_len(self.len)?;
        self.file.sync_data()?;
        Ok(())
    }
}

/// Checks the footer at `offset` of a segment's `bytes`, where its records end: it decodes, its
/// checksum is that of every byte before it, it names `last_index`, and it ends the file.
fn check_footer(bytes: &[u8], offset: usize, last_index: Index) -> Result<SegmentFooter, String> {
    let footer = SegmentFooter::decode(&bytes[offset..]).map_err(|e| format!("footer: {e}"))?;
    footer.verify(&bytes[..offset]).map_err(|e| format!("footer: the segment's bytes do not match it: {e}"))?;
    if footer.last_index != last_index {
        return Err(format!("footer names last index {}, the records end at {last_index}", footer.last_index));
    }
    let end = offset + FOOTER_LEN as usize;
    if end != bytes.len() {
        return Err(format!("{} bytes after the footer", bytes.len() - end));
    }
    Ok(footer)
}

pub(crate) fn corrupt(file: &str, offset: u64, reason: String) -> WalError {
    WalError::Corrupt { file: file.to_string(), offset, reason }
}
