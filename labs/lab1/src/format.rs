//! Task 1: the on-disk format: segment headers, records, file names.
//!
//! Everything here is a pure function of bytes, so it can be tested without a disk and reused
//! by lab 2, which verifies and repairs what this module writes. The chapter's byte tables are
//! the specification: other tools (and the grader) read your files by them.
//!
//! A segment file is a 24-byte header followed by records, back to back (all integers are
//! little-endian):
//!
//! ```text
//! header:  magic "RSMWAL01" (8) | first_index u64 | flags u32 | crc32(bytes 0..20) u32
//! record:  len u32 | crc u32 | index u64 | term u64 | data (len - 16 bytes)
//!          crc = crc32(segment first_index u64 | len u32 | index | term | data)
//! ```
//!
//! Two choices carry the design:
//!
//! 1. A record's length is never 0 (it always holds an index and a term), so a run of zeros —
//!    a preallocated or zero-filled tail — can never be read as a record.
//! 2. The checksum covers the segment's first index as well as the record. A record copied
//!    into another segment, or left behind in a recycled file, fails its checksum there, so a
//!    stale record is rejected even when its own bytes are intact.

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

/// Why bytes are not a valid header or record.
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
    /// A header that does not start with [`SEGMENT_MAGIC`].
    #[error("not a segment header (bad magic)")]
    BadMagic,
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
        todo!("Task 1: encode a segment header (magic, first index, flags, CRC32 of bytes 0..20)")
    }

    /// Parses a header from the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, FormatError> {
        todo!("Task 1: decode a segment header from {} bytes, checking its length, magic and CRC", bytes.len())
    }

    /// Whether the segment begins the log.
    pub fn is_log_start(&self) -> bool {
        self.flags & FLAG_LOG_START != 0
    }
}

/// The file name of the segment whose first entry is `first_index`: 20 decimal digits, so
/// names sort in index order.
pub fn segment_file_name(first_index: Index) -> String {
    todo!("Task 1: name the segment that starts at {first_index}")
}

/// The first index a segment file name stands for, or `None` if it is not a segment's name.
///
/// Twenty digits can spell numbers past `u64::MAX` (18446744073709551615), and index 0 is
/// never an entry's: neither names a segment.
pub fn parse_segment_file_name(name: &str) -> Option<Index> {
    todo!("Task 1: parse the segment file name {name:?}")
}

/// The bytes of the record holding `entry` in the segment that starts at
/// `segment_first_index`.
///
/// # Panics
///
/// If `entry.data` is longer than [`MAX_ENTRY_DATA`]; callers check first.
pub fn encode_record(segment_first_index: Index, entry: &Entry) -> Vec<u8> {
    todo!("Task 1: frame entry {} as a record of segment {segment_first_index}", entry.index)
}

/// Parses the record at the start of `bytes`, in the segment that starts at
/// `segment_first_index`; returns the entry and the record's length in bytes.
pub fn decode_record(segment_first_index: Index, bytes: &[u8]) -> Result<(Entry, usize), FormatError> {
    todo!("Task 1: decode a record of segment {segment_first_index} from {} bytes", bytes.len())
}
