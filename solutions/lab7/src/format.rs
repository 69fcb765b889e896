//! Task 2: the two file formats, chunk files and the manifest.
//!
//! A **chunk file** holds one chunk of the state, named by the SHA-256 of its content before
//! compression (its [`ChunkId`]), so equal content always has one name and a file is never
//! rewritten. It is 28 bytes of header, then the stored (maybe compressed) bytes; integers are
//! little-endian:
//!
//! ```text
//! offset size field
//!      0    8 magic "RSMCHK01"
//!      8    1 codec (0 none, 1 lz4, 2 zstd)
//!      9    3 reserved, zero
//!     12    4 raw_len     length of the content once decompressed
//!     16    4 stored_len  length of the stored bytes that follow the header
//!     20    4 crc32 of the stored bytes
//!     24    4 crc32 of bytes 0..24 (the header)
//!     28    … the stored bytes
//! ```
//!
//! Reading checks, in order: the header's checksum, the stored bytes' checksum (cheap, and
//! it catches a torn or rotten file before a decompressor sees it), the decompressed length,
//! and last the SHA-256 of the decompressed content against the name. Only the last check
//! proves that the file holds the chunk the manifest asked for: a file copied under another
//! chunk's name, or a codec that decompresses wrongly, passes the first three.
//!
//! The **manifest** lists the chunks of one snapshot. It is 16 bytes of header, then a body
//! that postcard encodes ([`Manifest`]):
//!
//! ```text
//! offset size field
//!      0    8 magic "RSMMAN01"
//!      8    4 body_len
//!     12    4 crc32 of bytes 0..12 followed by the body
//!     16    … body: postcard of (last_index, last_term, log_time, [chunk id; n])
//! ```

use std::fmt;

use distributed::storage::SnapshotMeta;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::codec::{Compressor, compress, decompress};

/// The first 8 bytes of a chunk file. The last two characters are the format version.
pub const CHUNK_MAGIC: [u8; 8] = *b"RSMCHK01";
/// The length of a chunk file's header.
pub const CHUNK_HEADER_LEN: usize = 28;
/// The first 8 bytes of a manifest file.
pub const MANIFEST_MAGIC: [u8; 8] = *b"RSMMAN01";
/// The length of a manifest's header.
pub const MANIFEST_HEADER_LEN: usize = 16;

/// The name of a chunk: the SHA-256 of its content (before compression).
///
/// A 32-bit CRC would be enough to detect damage, but not to name content: with names, two
/// different chunks that collide would silently share one file. SHA-256 makes that as
/// unlikely as anything in computing gets, which is why content-addressed stores (git's
/// newer object format, restic, casync) use a cryptographic hash.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChunkId(pub [u8; 32]);

impl ChunkId {
    /// The id of `content`.
    pub fn of(content: &[u8]) -> ChunkId {
        ChunkId(Sha256::digest(content).into())
    }

    /// The file name: 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The id a file name stands for, if it is 64 lowercase hex digits.
    pub fn from_hex(name: &str) -> Option<ChunkId> {
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let mut id = [0u8; 32];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&name[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(ChunkId(id))
    }
}

impl fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkId({}…)", &self.to_hex()[..12])
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// How chunk files are compressed: a store option, recorded in each file's header, so a store
/// reads files written under any codec (the id names the content, not its encoding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Codec {
    /// Stored as is.
    None,
    /// LZ4 block format (the `lz4_flex` crate, pure Rust): fast, modest ratio.
    #[default]
    Lz4,
    /// Zstandard at `level` (the `zstd` crate, which builds the C library): slower, better
    /// ratio. Only with the crate's `zstd` feature; otherwise [`FormatError::CodecUnavailable`].
    Zstd {
        /// Compression level, 1 (fast) to 22 (small); 3 is zstd's default.
        level: i32,
    },
}

impl Codec {
    /// The codec byte of a chunk file's header.
    pub fn tag(self) -> u8 {
        match self {
            Codec::None => 0,
            Codec::Lz4 => 1,
            Codec::Zstd { .. } => 2,
        }
    }
}

/// What one snapshot is made of: what it covers, the state's log time, and its chunks in
/// order (chunk `k` of the state is `chunks[k]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// The state machine's log time at `meta.last_index`.
    pub log_time: u64,
    /// The chunks, by id, in chunk order.
    pub chunks: Vec<ChunkId>,
}

/// Why bytes are not a valid chunk file or manifest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file ends before its header or its data does.
    #[error("truncated: {needed} bytes needed, {found} found")]
    Truncated {
        /// Bytes the header says there are.
        needed: usize,
        /// Bytes there are.
        found: usize,
    },
    /// Bytes after the data the header describes.
    #[error("{0} bytes after the end of the data")]
    TrailingBytes(usize),
    /// The first 8 bytes are not the magic.
    #[error("bad magic")]
    BadMagic,
    /// The header's checksum does not match.
    #[error("header checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    HeaderChecksum {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the header's bytes.
        computed: u32,
    },
    /// The data's checksum does not match.
    #[error("data checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    DataChecksum {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the data.
        computed: u32,
    },
    /// A codec byte no codec has.
    #[error("unknown codec {0}")]
    UnknownCodec(u8),
    /// A codec this build does not include (zstd without the `zstd` feature).
    #[error("codec {0} is not built in (enable the crate's `zstd` feature)")]
    CodecUnavailable(&'static str),
    /// The compressed bytes do not decompress, or not to `raw_len` bytes.
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// The content's SHA-256 is not the id the file was asked for.
    #[error("content is chunk {found}, not {expected}")]
    WrongContent {
        /// The id asked for (the file's name).
        expected: ChunkId,
        /// The id of what the file holds.
        found: ChunkId,
    },
    /// A manifest's body is not postcard of a [`Manifest`].
    #[error("manifest body: {0}")]
    Body(String),
}

/// The chunk file for `content`, compressed with `codec`.
pub fn encode_chunk(content: &[u8], codec: Codec) -> Result<Vec<u8>, FormatError> {
    encode_chunk_with(content, &mut Compressor::new(codec)?)
}

/// The chunk file for `content`, compressed by `compressor` (a save passes the one it keeps for
/// all its chunks).
pub(crate) fn encode_chunk_with(content: &[u8], compressor: &mut Compressor) -> Result<Vec<u8>, FormatError> {
    let codec = compressor.codec();
    let stored = compressor.compress(content)?;
    let mut file = Vec::with_capacity(CHUNK_HEADER_LEN + stored.len());
    file.extend_from_slice(&CHUNK_MAGIC);
    file.push(codec.tag());
    file.extend_from_slice(&[0; 3]);
    file.extend_from_slice(&len_u32(content.len()).to_le_bytes());
    file.extend_from_slice(&len_u32(stored.len()).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(&stored).to_le_bytes());
    let header_crc = crc32fast::hash(&file[..24]);
    file.extend_from_slice(&header_crc.to_le_bytes());
    file.extend_from_slice(&stored);
    Ok(file)
}

/// The content of chunk `id` from the bytes of its file, verified as the module docs say.
pub fn decode_chunk(id: &ChunkId, file: &[u8]) -> Result<Vec<u8>, FormatError> {
    if file.len() < CHUNK_HEADER_LEN {
        return Err(FormatError::Truncated { needed: CHUNK_HEADER_LEN, found: file.len() });
    }
    if file[..8] != CHUNK_MAGIC {
        return Err(FormatError::BadMagic);
    }
    let stored_header_crc = u32_at(file, 24);
    let computed = crc32fast::hash(&file[..24]);
    if stored_header_crc != computed {
        return Err(FormatError::HeaderChecksum { stored: stored_header_crc, computed });
    }
    let codec_tag = file[8];
    let raw_len = u32_at(file, 12) as usize;
    let stored_len = u32_at(file, 16) as usize;
    let needed = CHUNK_HEADER_LEN + stored_len;
    if file.len() < needed {
        return Err(FormatError::Truncated { needed, found: file.len() });
    }
    if file.len() > needed {
        return Err(FormatError::TrailingBytes(file.len() - needed));
    }
    let stored = &file[CHUNK_HEADER_LEN..];
    let stored_crc = u32_at(file, 20);
    let computed = crc32fast::hash(stored);
    if stored_crc != computed {
        return Err(FormatError::DataChecksum { stored: stored_crc, computed });
    }
    let content = decompress(stored, codec_tag, raw_len)?;
    let found = ChunkId::of(&content);
    if found != *id {
        return Err(FormatError::WrongContent { expected: *id, found });
    }
    Ok(content)
}

/// The manifest file for `manifest`.
pub fn encode_manifest(manifest: &Manifest) -> Vec<u8> {
    let body = postcard::to_stdvec(manifest).expect("encoding a manifest into a Vec cannot fail");
    let mut file = Vec::with_capacity(MANIFEST_HEADER_LEN + body.len());
    file.extend_from_slice(&MANIFEST_MAGIC);
    file.extend_from_slice(&len_u32(body.len()).to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&file[..12]);
    crc.update(&body);
    file.extend_from_slice(&crc.finalize().to_le_bytes());
    file.extend_from_slice(&body);
    file
}

/// The manifest in `file`, or why it is not one.
pub fn decode_manifest(file: &[u8]) -> Result<Manifest, FormatError> {
    if file.len() < MANIFEST_HEADER_LEN {
        return Err(FormatError::Truncated { needed: MANIFEST_HEADER_LEN, found: file.len() });
    }
    if file[..8] != MANIFEST_MAGIC {
        return Err(FormatError::BadMagic);
    }
    let body_len = u32_at(file, 8) as usize;
    let needed = MANIFEST_HEADER_LEN + body_len;
    if file.len() < needed {
        return Err(FormatError::Truncated { needed, found: file.len() });
    }
    if file.len() > needed {
        return Err(FormatError::TrailingBytes(file.len() - needed));
    }
    let body = &file[MANIFEST_HEADER_LEN..];
    let mut crc = crc32fast::Hasher::new();
    crc.update(&file[..12]);
    crc.update(body);
    let (stored, computed) = (u32_at(file, 12), crc.finalize());
    if stored != computed {
        return Err(FormatError::DataChecksum { stored, computed });
    }
    let (manifest, rest): (Manifest, &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| FormatError::Body(e.to_string()))?;
    if !rest.is_empty() {
        return Err(FormatError::Body(format!("{} bytes after the manifest", rest.len())));
    }
    Ok(manifest)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// Chunks and manifests are far below 4 GiB (a chunk is a slice of one state machine).
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("a chunk or manifest of 4 GiB or more")
}
