//! The state machine: a key-value map that the committed log drives.

use std::collections::BTreeMap;

use distributed::storage::StateMachineStorage;
use serde::{Deserialize, Serialize};

use crate::KvError;
use crate::command::{Command, Op, Output, Write};

/// A deterministic key-value state machine.
///
/// Determinism is the whole contract. Every replica applies the same committed entries in the
/// same order, and recovery applies them again after a crash; all of them must reach the same
/// state and return the same outputs. So `apply` is a pure function of the state and the
/// entry: it reads no clock, no randomness, and nothing whose order can change between
/// processes (a `HashMap`'s iteration order is seeded per process). The same goes for
/// [`StateMachineStorage::snapshot`]: equal states give equal bytes, because replicas compare
/// digests of their images to find one that diverged.
///
/// The state also holds its *log time*: the largest [`crate::Command::timestamp`] applied so
/// far (0 before any). Every command advances it, a [`Op::Noop`] and a refused one included
/// (time passed, even if no key changed). It never moves backwards, even if a new leader's
/// clock is behind, and it is part of the snapshot image.
///
/// Design choices of this solution:
///
/// - the map is a `BTreeMap`, so iteration, and therefore the image, is in key order whatever
///   the process; a `HashMap` would make two replicas with equal states write different
///   images;
/// - the image is postcard of `(log_time, [(key, value)…])` in key order: the encoding is
///   canonical (one state, one byte string), so digests compare states;
/// - a command is checked completely before anything changes (an [`Op::Increment`] of a value
///   that is not a counter is refused with the state untouched), so a refusal needs no undo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    map: BTreeMap<String, Vec<u8>>,
    log_time: u64,
}

/// The snapshot image, as postcard encodes it.
#[derive(Serialize, Deserialize)]
struct Image {
    log_time: u64,
    pairs: Vec<(String, Vec<u8>)>,
}

impl KvStore {
    /// An empty state.
    pub fn new() -> KvStore {
        KvStore::default()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.map.get(key).map(Vec::as_slice)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.map.iter().map(|(key, value)| (key.as_str(), value.as_slice()))
    }

    /// The largest command timestamp applied so far (log time), 0 before any.
    pub fn log_time(&self) -> u64 {
        self.log_time
    }

    /// Runs one operation and returns what the client is told.
    fn execute(&mut self, op: Op) -> Output {
        match op {
            Op::Noop => Output::Done,
            Op::Put { key, value } => Output::Previous(self.map.insert(key, value)),
            Op::Delete { key } => Output::Previous(self.map.remove(&key)),
            Op::Increment { key, delta } => {
                let current = match self.map.get(&key) {
                    None => 0,
                    Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                        Ok(bytes) => i64::from_le_bytes(bytes),
                        Err(_) => {
                            return Output::Rejected(format!(
                                "{key:?} holds {} bytes, not an 8-byte counter",
                                bytes.len()
                            ));
                        }
                    },
                };
                match current.checked_add(delta) {
                    Some(sum) => {
                        self.map.insert(key, sum.to_le_bytes().to_vec());
                        Output::Counter(sum)
                    }
                    None => Output::Rejected(format!("{key:?}: {current} + {delta} overflows")),
                }
            }
            Op::Batch(writes) => {
                for write in writes {
                    match write {
                        Write::Put { key, value } => self.map.insert(key, value),
                        Write::Delete { key } => self.map.remove(&key),
                    };
                }
                Output::Done
            }
        }
    }
}

impl StateMachineStorage for KvStore {
    type Error = KvError;

    /// Applies one committed entry's data: an encoded [`crate::Command`], or empty data (a
    /// leader's no-op entry), which changes nothing and returns [`crate::Output::Done`]. Returns
    /// the encoded [`crate::Output`]. Data that is not a command is [`KvError::BadCommand`], and
    /// changes nothing.
    fn apply(&mut self, entry: &[u8]) -> Result<Vec<u8>, KvError> {
        if entry.is_empty() {
            return Ok(Output::Done.encode());
        }
        let command = Command::decode(entry)?;
        self.log_time = self.log_time.max(command.timestamp);
        Ok(self.execute(command.op).encode())
    }

    /// The state as bytes: every key and value, and the log time. Equal states give equal bytes.
    fn snapshot(&self) -> Result<Vec<u8>, KvError> {
        let image = Image {
            log_time: self.log_time,
            pairs: self.map.iter().map(|(key, value)| (key.clone(), value.clone())).collect(),
        };
        postcard::to_stdvec(&image).map_err(|e| KvError::BadImage(e.to_string()))
    }

    /// Replaces the whole state with one from [`StateMachineStorage::snapshot`]. Bytes that are
    /// not such an image are [`KvError::BadImage`], and leave the state as it was.
    ///
    /// An image is refused unless it is canonical: keys strictly increasing and no byte left
    /// over. Anything else was not written by `snapshot`, and accepting it would let two
    /// different byte strings stand for one state.
    fn restore(&mut self, image: &[u8]) -> Result<(), KvError> {
        let (decoded, rest): (Image, &[u8]) =
            postcard::take_from_bytes(image).map_err(|e| KvError::BadImage(e.to_string()))?;
        if !rest.is_empty() {
            return Err(KvError::BadImage(format!("{} bytes after the image", rest.len())));
        }
        if let Some(pair) = decoded.pairs.windows(2).find(|pair| pair[0].0 >= pair[1].0) {
            return Err(KvError::BadImage(format!("keys out of order: {:?} before {:?}", pair[0].0, pair[1].0)));
        }
        *self = KvStore { map: decoded.pairs.into_iter().collect(), log_time: decoded.log_time };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(kv: &mut KvStore, timestamp: u64, op: Op) -> Output {
        Output::decode(&kv.apply(&Command::new(timestamp, op).encode()).unwrap()).unwrap()
    }

    /// A refused increment changes no key, and the image round-trips exactly.
    #[test]
    fn refusals_change_nothing_and_images_round_trip() {
        let mut kv = KvStore::new();
        apply(&mut kv, 5, Op::Put { key: "a".into(), value: b"xyz".to_vec() });
        let before = kv.clone();
        let out = apply(&mut kv, 6, Op::Increment { key: "a".into(), delta: 1 });
        assert!(matches!(out, Output::Rejected(_)), "{out:?}");
        assert_eq!(kv.map, before.map);
        let mut restored = KvStore::new();
        restored.restore(&kv.snapshot().unwrap()).unwrap();
        assert_eq!(restored, kv);
        assert!(restored.restore(b"\xff\xff").is_err());
        assert_eq!(restored, kv, "a bad image leaves the state as it was");
    }
}
