//! The on-disk format: segment headers, records, file names.
//!
//! Everything here is a pure function of bytes, so it can be tested without a disk and reused
//! by lab 2, which verifies and repairs what this module writes.
//!
//! A segment file is a 24-byte header followed by records, back to back; a **sealed** segment
//! (every segment but the last) ends with a 20-byte footer right after its last record (all
//! integers are little-endian):
//!
//! ```text
//! header:  magic "RSMWAL01" (8) | first_index u64 | flags u32 | crc32(bytes 0..20) u32
//! record:  len u32 | crc u32 | index u64 | term u64 | data (len - 16 bytes)
//!          crc = crc32(segment first_index u64 | len u32 | index | term | data)
//! footer:  marker 0xFFFF_FFFF u32 | segment_crc u32 | last_index u64 | crc32(footer 0..16) u32
//!          segment_crc = crc32(every byte of the segment before the footer)
//! ```
//!
//! Two choices carry the design:
//!
//! 1. A record's length is never 0 (it always holds an index and a term), so a run of zeros —
//!    a preallocated or zero-filled tail — can never be read as a record.
//! 2. The checksum covers the segment's first index as well as the record. A record copied
//!    into another segment, or left behind in a recycled file, fails its checksum there, so a
//!    stale record is rejected even when its own bytes are intact.
//!
//! The footer's first 4 bytes sit where the next record's `len` would, and hold a value no
//! record can have ([`FOOTER_MARKER`], above `16 + MAX_ENTRY_DATA`): a reader walking records
//! meets it as [`FormatError::Footer`], never as a damaged length.

use distributed::storage::{Entry, Index};

/// The first 8 bytes of every segment file. The last two characters are the format version.
pub const SEGMENT_MAGIC: [u8; 8] = *b"RSMWAL01";
/// Length of a segment header.
pub const HEADER_LEN: u64 = 24;
/// Length of a record's framing: `len` and `crc`.
pub const RECORD_HEADER_LEN: u64 = 8;
/// Length of the entry header at the start of a record's payload: `index` and `term`.
pub const ENTRY_HEADER_LEN: u64 = 16;
/// The largest entry data a record may carry. A damaged length field larger than this is
/// rejected before anything is allocated for it.
pub const MAX_ENTRY_DATA: usize = 16 << 20;
/// Header flag: this segment begins the log. Every entry before its first index was compacted
/// away, and older segment files still present are leftovers to remove.
pub const FLAG_LOG_START: u32 = 1;

/// Length of a sealed segment's footer.
pub const FOOTER_LEN: u64 = 20;
/// The first 4 bytes of a footer, where a record's `len` would be: larger than any record's
/// length, so a footer is never read as a record, nor a record as a footer.
pub const FOOTER_MARKER: u32 = u32::MAX;

/// Why bytes are not a valid header, record or footer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes end before the header or record does: a torn or truncated write.
    #[error("truncated: needs {needed} bytes, only {available} remain")]
    Truncated {
        /// Bytes the header or record needs.
        needed: u64,
        /// Bytes there are.
        available: u64,
    },
    /// A zero length field: zeros where a record would start (a preallocated or zero-filled
    /// tail), never a real record.
    #[error("zeros where a record would start")]
    Zeroed,
    /// A header that does not start with [`SEGMENT_MAGIC`], or a footer that does not start
    /// with [`FOOTER_MARKER`].
    #[error("not a segment header or footer (bad magic)")]
    BadMagic,
    /// The footer marker where a record would start: the records of a sealed segment end
    /// here, and [`SegmentFooter::decode`] reads what follows.
    #[error("the footer of a sealed segment, where a record would start")]
    Footer,
    /// A length field outside what a record can have.
    #[error("impossible record length {0}")]
    BadLength(u32),
    /// The bytes do not match their checksum.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// The checksum in the bytes.
        stored: u32,
        /// The checksum of the bytes.
        computed: u32,
    },
}

/// A segment file's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Index of the first entry the segment holds (or will hold).
    pub first_index: Index,
    /// Flags, such as [`FLAG_LOG_START`].
    pub flags: u32,
}

impl SegmentHeader {
    /// The header's 24 bytes.
    pub fn encode(&self) -> [u8; 24] {
        let mut bytes = [0u8; 24];
        bytes[0..8].copy_from_slice(&SEGMENT_MAGIC);
        bytes[8..16].copy_from_slice(&self.first_index.to_le_bytes());
        bytes[16..20].copy_from_slice(&self.flags.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..20]);
        bytes[20..24].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Parses a header from the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, FormatError> {
        if bytes.len() < HEADER_LEN as usize {
            return Err(FormatError::Truncated { needed: HEADER_LEN, available: bytes.len() as u64 });
        }
        if bytes[0..8] != SEGMENT_MAGIC {
            return Err(FormatError::BadMagic);
        }
        let stored = u32_at(bytes, 20);
        let computed = crc32fast::hash(&bytes[0..20]);
        if stored != computed {
            return Err(FormatError::ChecksumMismatch { stored, computed });
        }
        Ok(SegmentHeader { first_index: u64_at(bytes, 8), flags: u32_at(bytes, 16) })
    }

    /// Whether the segment begins the log.
    pub fn is_log_start(&self) -> bool {
        self.flags & FLAG_LOG_START != 0
    }
}

/// The footer that seals a segment: written right after its last record when the next segment
/// is about to start, and synced before that segment exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentFooter {
    /// CRC32 of every byte of the segment before the footer: the header and every record.
    pub segment_crc: u32,
    /// The index of the segment's last entry (`first_index - 1` if it holds none).
    pub last_index: Index,
}

impl SegmentFooter {
    /// The footer of a segment whose bytes before the footer are `sealed` (header and
    /// records) and whose last entry is `last_index`.
    pub fn of(sealed: &[u8], last_index: Index) -> SegmentFooter {
        SegmentFooter { segment_crc: crc32fast::hash(sealed), last_index }
    }

    /// The footer's 20 bytes.
    pub fn encode(&self) -> [u8; 20] {
        let mut bytes = [0u8; 20];
        bytes[0..4].copy_from_slice(&FOOTER_MARKER.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.segment_crc.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.last_index.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..16]);
        bytes[16..20].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Parses a footer from the start of `bytes`, checking its length, marker and its own
    /// CRC (not the segment's: see [`SegmentFooter::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<SegmentFooter, FormatError> {
        if bytes.len() < FOOTER_LEN as usize {
            return Err(FormatError::Truncated { needed: FOOTER_LEN, available: bytes.len() as u64 });
        }
        if u32_at(bytes, 0) != FOOTER_MARKER {
            return Err(FormatError::BadMagic);
        }
        let stored = u32_at(bytes, 16);
        let computed = crc32fast::hash(&bytes[0..16]);
        if stored != computed {
            return Err(FormatError::ChecksumMismatch { stored, computed });
        }
        Ok(SegmentFooter { segment_crc: u32_at(bytes, 4), last_index: u64_at(bytes, 8) })
    }

    /// Checks the footer against `sealed`, the segment's bytes before it: `Ok` if their CRC32
    /// is the one the footer holds.
    pub fn verify(&self, sealed: &[u8]) -> Result<(), FormatError> {
        let computed = crc32fast::hash(sealed);
        if computed != self.segment_crc {
            return Err(FormatError::ChecksumMismatch { stored: self.segment_crc, computed });
        }
        Ok(())
    }
}

/// The file name of the segment whose first entry is `first_index`: 20 decimal digits, so
/// names sort in index order.
pub fn segment_file_name(first_index: Index) -> String {
    format!("{first_index:020}.wal")
}

/// The name under which the segment starting at `first_index` is prepared before it is renamed
/// into place: its segment name followed by `.tmp`, which [`parse_segment_file_name`] does
/// not accept, so a crash can never leave a half-prepared file under a segment's name.
pub fn temp_segment_file_name(first_index: Index) -> String {
    format!("{first_index:020}.wal.tmp")
}

/// The first index a segment file name stands for, or `None` if it is not a segment's name.
///
/// Twenty digits can spell numbers past `u64::MAX` (18446744073709551615), and index 0 is
/// never an entry's: neither names a segment.
pub fn parse_segment_file_name(name: &str) -> Option<Index> {
    let digits = name.strip_suffix(".wal")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&index| index > 0)
}

/// The bytes of the record holding `entry` in the segment that starts at
/// `segment_first_index`.
///
/// # Panics
///
/// If `entry.data` is longer than [`MAX_ENTRY_DATA`]; callers check first.
pub fn encode_record(segment_first_index: Index, entry: &Entry) -> Vec<u8> {
    let mut bytes = Vec::with_capacity((RECORD_HEADER_LEN + ENTRY_HEADER_LEN) as usize + entry.data.len());
    encode_record_into(segment_first_index, entry, &mut bytes);
    bytes
}

/// Like [`encode_record`], appending the record to `out` instead of allocating.
pub(crate) fn encode_record_into(segment_first_index: Index, entry: &Entry, out: &mut Vec<u8>) {
    assert!(entry.data.len() <= MAX_ENTRY_DATA, "entry data over MAX_ENTRY_DATA");
    let len = (ENTRY_HEADER_LEN as usize + entry.data.len()) as u32;
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&entry.index.to_le_bytes());
    out.extend_from_slice(&entry.term.to_le_bytes());
    out.extend_from_slice(&entry.data);
    let crc = record_crc(segment_first_index, len, &out[start + RECORD_HEADER_LEN as usize..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Parses the record at the start of `bytes`, in the segment that starts at
/// `segment_first_index`; returns the entry and the record's length in bytes.
pub fn decode_record(segment_first_index: Index, bytes: &[u8]) -> Result<(Entry, usize), FormatError> {
    let framing = RECORD_HEADER_LEN as usize;
    if bytes.len() < framing {
        return Err(FormatError::Truncated { needed: RECORD_HEADER_LEN, available: bytes.len() as u64 });
    }
    let len = u32_at(bytes, 0);
    if len == 0 {
        return Err(FormatError::Zeroed);
    }
    if len == FOOTER_MARKER {
        return Err(FormatError::Footer);
    }
    if (len as u64) < ENTRY_HEADER_LEN || len as usize > ENTRY_HEADER_LEN as usize + MAX_ENTRY_DATA {
        return Err(FormatError::BadLength(len));
    }
    let total = framing + len as usize;
    if bytes.len() < total {
        return Err(FormatError::Truncated { needed: total as u64, available: bytes.len() as u64 });
    }
    let payload = &bytes[framing..total];
    let stored = u32_at(bytes, 4);
    let computed = record_crc(segment_first_index, len, payload);
    if stored != computed {
        return Err(FormatError::ChecksumMismatch { stored, computed });
    }
    let entry = Entry { index: u64_at(payload, 0), term: u64_at(payload, 8), data: payload[16..].to_vec() };
    Ok((entry, total))
}

fn record_crc(segment_first_index: Index, len: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&segment_first_index.to_le_bytes());
    hasher.update(&len.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}
