//! Task 1: the on-disk format: segment headers, records, file names.
//!
//! Everything here is a pure function of bytes, so it can be tested without a disk and reused
//! by lab 2, which verifies and repairs what this module writes. The chapter's byte tables are
//! the specification: other tools (and the grader) read your files by them.
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
        todo!("Task 3: the footer of {} sealed bytes ending at entry {last_index}", sealed.len())
    }

    /// The footer's 20 bytes.
    pub fn encode(&self) -> [u8; 20] {
        todo!("Task 3: encode a footer (marker, segment CRC, last index, CRC32 of bytes 0..16)")
    }

    /// Parses a footer from the start of `bytes`, checking its length, marker and its own
    /// CRC (not the segment's: see [`SegmentFooter::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<SegmentFooter, FormatError> {
        todo!("Task 3: decode a footer from {} bytes, checking its length, marker and CRC", bytes.len())
    }

    /// Checks the footer against `sealed`, the segment's bytes before it: `Ok` if their CRC32
    /// is the one the footer holds.
    pub fn verify(&self, sealed: &[u8]) -> Result<(), FormatError> {
        todo!("Task 3: check {} sealed bytes against the footer's segment CRC", sealed.len())
    }
}

/// The file name of the segment whose first entry is `first_index`: 20 decimal digits, so
/// names sort in index order.
pub fn segment_file_name(first_index: Index) -> String {
    todo!("Task 1: name the segment that starts at {first_index}")
}

/// The name under which the segment starting at `first_index` is prepared before it is renamed
/// into place: its segment name followed by `.tmp`, which [`parse_segment_file_name`] does
/// not accept, so a crash can never leave a half-prepared file under a segment's name.
pub fn temp_segment_file_name(first_index: Index) -> String {
    todo!("Task 3: the temporary name of the segment that starts at {first_index}")
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
