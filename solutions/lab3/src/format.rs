//! The on-disk format: one snapshot per file, and the files' names.
//!
//! Everything here is a pure function of bytes, so it can be tested without a disk, and the
//! grader (or an operator's tool) can read a snapshot file with nothing but the chapter's byte
//! table. All integers are little-endian:
//!
//! ```text
//! header (36 bytes): magic "RSMSNP01" (8) | last_index u64 | last_term u64 | data_len u64
//!                    | header_crc u32 = crc32(bytes 0..32)
//! data:              data_len bytes, the state machine's image
//! footer (4 bytes):  file_crc u32 = crc32(every byte before it: header and data)
//! ```
//!
//! Why two checksums rather than one: the header's own CRC lets a reader trust `data_len` and
//! the metadata *before* it reads (or allocates for) the data, so a flipped bit in the length
//! is reported as damage instead of as a request for a terabyte; the footer's CRC covers the
//! whole file, so a torn or rotten byte anywhere is caught, and because it is the last thing
//! in the file a file cut short loses it. The file's length must be exactly `36 + data_len +
//! 4`: a short file is torn, a long one has bytes nobody wrote.
//!
//! The metadata is in fixed-width fields rather than a postcard-encoded [`SnapshotMeta`], so
//! the header has one length and its fields sit at fixed offsets that a byte table can give;
//! postcard is for the state inside `data`, which this format treats as opaque bytes.

use distributed::storage::{Snapshot, SnapshotMeta};

/// The first 8 bytes of every snapshot file. The last two characters are the format version.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"RSMSNP01";
/// Length of the header.
pub const HEADER_LEN: u64 = 36;
/// Length of the footer (the file's CRC).
pub const FOOTER_LEN: u64 = 4;
/// The suffix of a snapshot file's name.
pub const SNAPSHOT_SUFFIX: &str = ".snap";
/// The suffix of a snapshot being written: never read as a snapshot, removed on open.
pub const TEMP_SUFFIX: &str = ".snap.tmp";
/// The suffix of a damaged snapshot that was set aside: never read, never deleted.
pub const BROKEN_SUFFIX: &str = ".snap.broken";

/// Why bytes are not a valid snapshot file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes end before the header or the file does: a torn or truncated write.
    #[error("truncated: needs {needed} bytes, only {available} present")]
    Truncated {
        /// Bytes the header, or the whole file, needs.
        needed: u64,
        /// Bytes there are.
        available: u64,
    },
    /// Bytes after the footer: the file is longer than its header says.
    #[error("{extra} bytes after the end the header gives")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// A file that does not start with [`SNAPSHOT_MAGIC`].
    #[error("not a snapshot file (bad magic)")]
    BadMagic,
    /// The header does not match its checksum.
    #[error("header checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    HeaderChecksum {
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the header's bytes.
        computed: u32,
    },
    /// The file does not match the checksum in its footer.
    #[error("file checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    FileChecksum {
        /// The checksum in the footer.
        stored: u32,
        /// The checksum of the bytes before it.
        computed: u32,
    },
}

/// A snapshot file's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// Length of the data that follows the header.
    pub data_len: u64,
}

impl SnapshotHeader {
    /// The header's 36 bytes.
    pub fn encode(&self) -> [u8; 36] {
        let mut bytes = [0u8; 36];
        bytes[0..8].copy_from_slice(&SNAPSHOT_MAGIC);
        bytes[8..16].copy_from_slice(&self.meta.last_index.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.meta.last_term.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.data_len.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..32]);
        bytes[32..36].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Parses a header from the start of `bytes`, checking the length, the magic and the CRC
    /// (in that order).
    pub fn decode(bytes: &[u8]) -> Result<SnapshotHeader, FormatError> {
        if (bytes.len() as u64) < HEADER_LEN {
            return Err(FormatError::Truncated { needed: HEADER_LEN, available: bytes.len() as u64 });
        }
        if bytes[0..8] != SNAPSHOT_MAGIC {
            return Err(FormatError::BadMagic);
        }
        let stored = u32_at(bytes, 32);
        let computed = crc32fast::hash(&bytes[0..32]);
        if stored != computed {
            return Err(FormatError::HeaderChecksum { stored, computed });
        }
        let meta = SnapshotMeta { last_index: u64_at(bytes, 8), last_term: u64_at(bytes, 16) };
        Ok(SnapshotHeader { meta, data_len: u64_at(bytes, 24) })
    }

    /// The length of the whole file this header begins.
    pub fn file_len(&self) -> u64 {
        HEADER_LEN.saturating_add(self.data_len).saturating_add(FOOTER_LEN)
    }
}

/// The bytes of the file holding `snapshot`.
pub fn encode_snapshot(snapshot: &Snapshot) -> Vec<u8> {
    let (header, footer) = frame(snapshot);
    let mut bytes = Vec::with_capacity(header.len() + snapshot.data.len() + footer.len());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&snapshot.data);
    bytes.extend_from_slice(&footer);
    bytes
}

/// The header and the footer that frame `snapshot.data` in its file. The store writes the
/// three pieces where they go instead of first copying them into one buffer: for a large
/// snapshot, that copy (and the fresh allocation it needs) costs as much as handing the bytes
/// to the kernel.
pub(crate) fn frame(snapshot: &Snapshot) -> ([u8; HEADER_LEN as usize], [u8; FOOTER_LEN as usize]) {
    let header = SnapshotHeader { meta: snapshot.meta, data_len: snapshot.data.len() as u64 }.encode();
    (header, file_crc(&header, &snapshot.data).to_le_bytes())
}

/// The file CRC: of the header's bytes, then the data's, as if they were one buffer.
pub(crate) fn file_crc(header: &[u8], data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(data);
    hasher.finalize()
}

/// Parses a whole snapshot file: the header, then the length, then the file's CRC.
pub fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, FormatError> {
    let header = SnapshotHeader::decode(bytes)?;
    check_length(&header, bytes.len() as u64)?;
    let body = bytes.len() - FOOTER_LEN as usize;
    check_footer(crc32fast::hash(&bytes[..body]), &bytes[body..])?;
    Ok(Snapshot { meta: header.meta, data: bytes[HEADER_LEN as usize..body].to_vec() })
}

/// Checks that a file of `available` bytes has the length `header` gives: shorter is torn,
/// longer holds bytes nobody wrote.
pub(crate) fn check_length(header: &SnapshotHeader, available: u64) -> Result<(), FormatError> {
    let expected = header.file_len();
    if available < expected {
        return Err(FormatError::Truncated { needed: expected, available });
    }
    if available > expected {
        return Err(FormatError::TrailingBytes { extra: available - expected });
    }
    Ok(())
}

/// Checks the 4-byte `footer` against `computed`, the CRC of every byte before it.
pub(crate) fn check_footer(computed: u32, footer: &[u8]) -> Result<(), FormatError> {
    let stored = u32_at(footer, 0);
    if stored != computed {
        return Err(FormatError::FileChecksum { stored, computed });
    }
    Ok(())
}

/// The file name of the snapshot covering `meta`: `{term:016x}-{index:016x}.snap`, as etcd's
/// snapshotter names them. Fixed-width hexadecimal makes names sort as (term, index).
pub fn snapshot_file_name(meta: SnapshotMeta) -> String {
    format!("{:016x}-{:016x}{SNAPSHOT_SUFFIX}", meta.last_term, meta.last_index)
}

/// The metadata a snapshot file name stands for, or `None` if it is not a snapshot's name
/// (temporary and set-aside files are not).
pub fn parse_snapshot_file_name(name: &str) -> Option<SnapshotMeta> {
    let stem = name.strip_suffix(SNAPSHOT_SUFFIX)?;
    let (term, index) = stem.split_once('-')?;
    let hex16 = |s: &str| s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hex16(term) || !hex16(index) {
        return None;
    }
    let last_term = u64::from_str_radix(term, 16).ok()?;
    let last_index = u64::from_str_radix(index, 16).ok()?;
    Some(SnapshotMeta { last_index, last_term })
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}
