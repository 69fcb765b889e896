//! Task 2: the hard-state record, `(term, vote, commit)`, in the file [`crate::HARD_STATE_FILE`].
//!
//! A Raft node must persist its term and vote before it answers a vote request, and this course
//! also persists the commit index as it grows (the seed's "进度点：在 commit_index 增长时落盘持久化"),
//! so that recovery never moves the commit point backwards. The three live in one small record,
//! replaced atomically as a whole (temporary file, sync, rename, directory sync), so they can
//! never be read from two different moments.
//!
//! The record is 40 bytes, all integers little-endian:
//!
//! ```text
//! magic "RSMHST01" (8) | term u64 | vote_flag u32 | vote u64 | commit u64 | crc32(bytes 0..36) u32
//! ```
//!
//! `vote_flag` is 1 when the node voted (then `vote` names the candidate) and 0 when it did
//! not (then `vote` is 0). Any other flag, a wrong magic, a wrong length or a wrong checksum
//! is damage.

use distributed::storage::HardState;

/// The first 8 bytes of a hard-state record. The last two characters are the format version.
pub const HARD_STATE_MAGIC: [u8; 8] = *b"RSMHST01";
/// The length of a hard-state record.
pub const HARD_STATE_LEN: usize = 40;

/// Why bytes are not a hard-state record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HardStateFormatError {
    /// Not exactly [`HARD_STATE_LEN`] bytes.
    #[error("a hard-state record is {HARD_STATE_LEN} bytes, found {0}")]
    Length(usize),
    /// The first 8 bytes are not [`HARD_STATE_MAGIC`].
    #[error("bad magic")]
    Magic,
    /// The stored checksum does not match the bytes.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The CRC in the record.
        stored: u32,
        /// The CRC of its bytes.
        computed: u32,
    },
    /// `vote_flag` is neither 0 nor 1, or is 0 with a nonzero `vote`.
    #[error("bad vote flag {0}")]
    VoteFlag(u32),
}

/// The record for `state`.
pub fn encode_hard_state(state: &HardState) -> [u8; HARD_STATE_LEN] {
    todo!("Task 2: encode {state:?} by the byte table above")
}

/// The hard state in `bytes`, or why they are not a record.
pub fn decode_hard_state(bytes: &[u8]) -> Result<HardState, HardStateFormatError> {
    todo!("Task 2: decode a hard-state record of {} bytes", bytes.len())
}
