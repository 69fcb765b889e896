//! The key layout in the engine: one byte of prefix per kind of record, so each kind is one
//! contiguous range of the ordered key space.
//!
//! | prefix | key | value (postcard) |
//! |---|---|---|
//! | `L` | `L` + index, 8 bytes big-endian | the log entry |
//! | `M` | `Mvote`, `Mcommitted`, `Mpurged` | the vote, the committed log id, the last purged log id |
//! | `S` | `Sapplied`, `Smembership`, `Slog_time` | the state machine's applied log id, membership, log time |
//! | `D` | `D` + the key's UTF-8 bytes | the value, raw |
//! | `N` | `Nmeta`, `Ndata` | the current snapshot's metadata and image |
//!
//! Big-endian indexes sort like the numbers they encode, so a range read of `L` returns the log
//! in index order, and the last log entry is the last key below `M`.

/// The key of the log entry at `index`.
pub fn log(index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(b'L');
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The index a log key encodes, or `None` if it is not a log key.
pub fn log_index(key: &[u8]) -> Option<u64> {
    match key {
        [b'L', rest @ ..] => rest.try_into().ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// The first key after every log key (exclusive end of the log's range).
pub const LOG_END: &[u8] = b"M";
/// The vote.
pub const VOTE: &[u8] = b"Mvote";
/// The committed log id.
pub const COMMITTED: &[u8] = b"Mcommitted";
/// The last purged log id.
pub const PURGED: &[u8] = b"Mpurged";
/// The state machine's last applied log id.
pub const APPLIED: &[u8] = b"Sapplied";
/// The state machine's last applied membership.
pub const MEMBERSHIP: &[u8] = b"Smembership";
/// The state machine's log time (lab 4).
pub const LOG_TIME: &[u8] = b"Slog_time";
/// The first key of the state machine's data.
pub const DATA_START: &[u8] = b"D";
/// The first key after the state machine's data.
pub const DATA_END: &[u8] = b"E";
/// The current snapshot's metadata.
pub const SNAPSHOT_META: &[u8] = b"Nmeta";
/// The current snapshot's image.
pub const SNAPSHOT_DATA: &[u8] = b"Ndata";

/// The engine key of the state machine's `key`.
pub fn data(key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(b'D');
    out.extend_from_slice(key.as_bytes());
    out
}

/// The state machine key an engine key of the data range holds, if it is one.
pub fn data_key(key: &[u8]) -> Option<&str> {
    match key {
        [b'D', rest @ ..] => std::str::from_utf8(rest).ok(),
        _ => None,
    }
}
