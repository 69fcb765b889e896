//! The hard-state record, `(term, vote, commit)`, in the file [`crate::HARD_STATE_FILE`].
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
//!
//! The checks run in the order of the table's trust: the length first (nothing else can be
//! read without it), then the magic (is this a hard-state file at all?), then the checksum
//! (are the bytes the ones written?), and only then the meaning of a field (the vote flag),
//! so a damaged record is reported as damage rather than as a strange vote.

use distributed::storage::HardState;

/// The first 8 bytes of a hard-state record. The last two characters are the format version.
pub const HARD_STATE_MAGIC: [u8; 8] = *b"RSMHST01";
/// The length of a hard-state record.
pub const HARD_STATE_LEN: usize = 40;

/// Where the checksum is stored: it covers every byte before it.
const CRC_AT: usize = 36;

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
    let mut bytes = [0u8; HARD_STATE_LEN];
    bytes[0..8].copy_from_slice(&HARD_STATE_MAGIC);
    bytes[8..16].copy_from_slice(&state.term.to_le_bytes());
    let (flag, vote) = match state.vote {
        Some(candidate) => (1u32, candidate),
        None => (0u32, 0u64),
    };
    bytes[16..20].copy_from_slice(&flag.to_le_bytes());
    bytes[20..28].copy_from_slice(&vote.to_le_bytes());
    bytes[28..36].copy_from_slice(&state.commit.to_le_bytes());
    let crc = crc32fast::hash(&bytes[..CRC_AT]);
    bytes[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// The hard state in `bytes`, or why they are not a record.
pub fn decode_hard_state(bytes: &[u8]) -> Result<HardState, HardStateFormatError> {
    let bytes: &[u8; HARD_STATE_LEN] = bytes.try_into().map_err(|_| HardStateFormatError::Length(bytes.len()))?;
    if bytes[0..8] != HARD_STATE_MAGIC {
        return Err(HardStateFormatError::Magic);
    }
    let stored = u32::from_le_bytes(bytes[CRC_AT..].try_into().expect("4 bytes"));
    let computed = crc32fast::hash(&bytes[..CRC_AT]);
    if stored != computed {
        return Err(HardStateFormatError::Checksum { stored, computed });
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let flag = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let vote = match (flag, u64_at(20)) {
        (1, candidate) => Some(candidate),
        (0, 0) => None,
        _ => return Err(HardStateFormatError::VoteFlag(flag)),
    };
    Ok(HardState { term: u64_at(8), vote, commit: u64_at(28) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field survives the round trip, with and without a vote.
    #[test]
    fn records_round_trip() {
        for state in [
            HardState::default(),
            HardState { term: 7, vote: Some(0), commit: 42 },
            HardState { term: u64::MAX, vote: Some(u64::MAX), commit: u64::MAX },
        ] {
            assert_eq!(decode_hard_state(&encode_hard_state(&state)), Ok(state));
        }
    }

    /// A record cut at any length, or with any bit flipped, is refused, never misread.
    #[test]
    fn damage_anywhere_is_refused() {
        let bytes = encode_hard_state(&HardState { term: 3, vote: Some(2), commit: 9 });
        for cut in 0..HARD_STATE_LEN {
            assert_eq!(decode_hard_state(&bytes[..cut]), Err(HardStateFormatError::Length(cut)));
        }
        for bit in 0..HARD_STATE_LEN * 8 {
            let mut damaged = bytes;
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_hard_state(&damaged).is_err(), "bit {bit}");
        }
    }
}
