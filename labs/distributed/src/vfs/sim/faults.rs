//! The fault switches: what the next syncs and writes do wrong, and how full the disk is.
//!
//! Each switch is armed by a call on [`SimFs`](super::SimFs) and consulted by the operation it
//! affects, so a test says exactly which operation fails and how:
//!
//! | switch | armed by | affects |
//! |---|---|---|
//! | failing syncs | `fail_next_syncs(n)` | the next `n` file syncs: EIO, pending writes dropped |
//! | short writes | `short_next_writes(n)` | the next `n` writes store half their bytes |
//! | capacity | `set_capacity(Some(bytes))` | writes past the limit: short, then `StorageFull` |
//! | wrong bytes | `store_wrong_bytes(true)` | every write while on stores one bit flipped |
//!
//! Media corruption of data already stored (`flip_bit`, `overwrite`, `truncate_durable`) is not
//! a switch: it changes the disk at once.

use crate::rng::TestRng;

/// The armed faults of one disk.
#[derive(Clone, Debug, Default)]
pub(super) struct Faults {
    /// File syncs still to fail.
    pub failing_syncs: u32,
    /// Writes still to be cut to half their length.
    pub short_writes: u32,
    /// Total bytes the files may hold, `None` for no limit.
    pub capacity: Option<u64>,
    /// Whether writes store other bytes than they were given.
    pub wrong_bytes: bool,
}

impl Faults {
    /// Whether this sync fails, using up one armed failure if so.
    pub fn take_failing_sync(&mut self) -> bool {
        let fail = self.failing_syncs > 0;
        if fail {
            self.failing_syncs -= 1;
        }
        fail
    }

    /// How many of `len` bytes the next write stores, using up one armed short write.
    pub fn shorten(&mut self, len: usize) -> usize {
        if self.short_writes > 0 {
            self.short_writes -= 1;
            (len / 2).max(1)
        } else {
            len
        }
    }

    /// The bytes a write actually stores: `data`, or with the wrong-bytes switch on, `data`
    /// with one bit flipped, chosen by `seed` (the disk's seed and the step number, so the
    /// same workload damages the same bit every run).
    pub fn stored_bytes(&self, data: &[u8], seed: u64) -> Vec<u8> {
        let mut stored = data.to_vec();
        if self.wrong_bytes && !stored.is_empty() {
            let bit = TestRng::new(seed).below(stored.len() as u64 * 8);
            stored[(bit / 8) as usize] ^= 1 << (bit % 8);
        }
        stored
    }
}
