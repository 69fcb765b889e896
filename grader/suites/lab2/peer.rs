//! Repair from a peer.

use std::sync::Arc;

use distributed::invariant;
use distributed::storage::Entry;
use distributed::vfs::{CrashMode, FsRef, SimFs};
use lab1::format::{FLAG_LOG_START, SegmentHeader, encode_record};
use lab1::{Wal, WalOptions};
use lab2::{Action, Peer, PeerError, RepairError, repair_from_peer, scan};

use crate::{DIR, Files, disk_with, footer_bytes, log_entries, name, segment_bytes, three_segments};

struct TestPeer {
    log: Vec<Entry>,
    fail: bool,
}

impl Peer for TestPeer {
    fn entries(&self, low: u64, high: u64) -> Result<Vec<Entry>, PeerError> {
        if self.fail {
            return Err(PeerError("unreachable".into()));
        }
        Ok(self.log.iter().filter(|e| (low..high).contains(&e.index)).cloned().collect())
    }
}

fn honest() -> TestPeer {
    TestPeer { log: log_entries(), fail: false }
}

/// Damaged disks, each with the last consistent and the last seen index its report must give.
fn damaged() -> Vec<(&'static str, SimFs, FsRef, (u64, u64))> {
    let mut out = Vec::new();
    let mut add = |what, change: &dyn Fn(&mut Files), indexes| {
        let mut files = three_segments();
        change(&mut files);
        let (sim, fs) = disk_with(&files);
        out.push((what, sim, fs, indexes));
    };
    add("a flipped bit in sealed entry 5", &|f| f.get_mut(&name(4)).expect("setup: segment 4")[70] ^= 1, (4, 9));
    add("segment 4 missing", &|f| drop(f.remove(&name(4))), (3, 9));
    add("segment 4's header damaged", &|f| f.get_mut(&name(4)).expect("setup: segment 4")[12] ^= 1, (3, 9));
    add("entry 7 damaged, 8 and 9 intact", &|f| f.get_mut(&name(7)).expect("setup: segment 7")[40] ^= 1, (6, 9));
    add("segment 1's header damaged", &|f| f.get_mut(&name(1)).expect("setup: segment 1")[0] ^= 1, (0, 9));
    add("a torn tail", &|f| f.get_mut(&name(7)).expect("setup: segment 7").truncate(120), (8, 8));
    // A crash right after a rollover left segment 7 with its header and no record: entry 6,
    // damaged, is the only one lost, known from segment 7's first index.
    add(
        "entry 6 damaged, segment 7 empty",
        &|f| {
            f.get_mut(&name(4)).expect("setup: segment 4")[110] ^= 1;
            f.insert(name(7), segment_bytes(7, &[]));
        },
        (5, 6),
    );
    // A log that starts at 4 (compacted before): its first segment's header is damaged, so
    // every segment is set aside and the log restarts where the peer's entries begin.
    add(
        "the first segment of a log starting at 4 has a bad header",
        &|f| {
            let entries = log_entries();
            let mut four = SegmentHeader { first_index: 4, flags: FLAG_LOG_START }.encode().to_vec();
            for entry in &entries[3..6] {
                four.extend(encode_record(4, entry));
            }
            four.extend(footer_bytes(&four.clone(), 6));
            four[12] ^= 1;
            f.remove(&name(1));
            f.insert(name(4), four);
        },
        (3, 9),
    );
    out
}

#[test]
fn repair_makes_the_log_whole_after_every_kind_of_damage() {
    for (what, sim, fs, (consistent, seen)) in damaged() {
        let report = distributed::invariant_ok!("durability", scan(&fs, DIR), "{what}: scan(..)");
        distributed::invariant_eq!(
            "durability",
            (report.last_consistent_index, report.last_seen_index),
            (consistent, seen),
            "{what}: the last consistent and last seen indexes: {report}"
        );
        // The peer lent by reference: a `&P` is a peer too (`impl Peer for &P`).
        let peer = honest();
        let lent: &TestPeer = &peer;
        let outcome = repair_from_peer(&fs, DIR, &report, &lent, WalOptions::default())
            .unwrap_or_else(|e| distributed::fail!("durability", "{what}: repair from an honest peer failed: {e}"));
        // Rolled back to the last consistent entry; to an empty log (which lab 1 opens at 0) if
        // nothing of the log was kept.
        let rolled_back_to = if consistent < report.first_index { 0 } else { consistent };
        invariant!(
            "ordered-recovery",
            outcome.rollback.last_index == rolled_back_to,
            "{what}: repair must roll back to {rolled_back_to} before appending, it rolled back to {}",
            outcome.rollback.last_index
        );
        let expected_last = report.last_seen_index;
        invariant!(
            "durability",
            outcome.last_index == expected_last && outcome.fetched == (consistent + 1..expected_last + 1),
            "{what}: expected entries {}..={expected_last} fetched, got {:?}, log ends at {}",
            consistent + 1,
            outcome.fetched,
            outcome.last_index
        );
        let after: FsRef = Arc::new(sim.crash(CrashMode::Strict));
        let wal = Wal::open(Arc::clone(&after), DIR, WalOptions::default()).unwrap_or_else(|e| {
            distributed::fail!("durability", "{what}: the repaired log does not open after a power cut: {e}",)
        });
        invariant!(
            "durability",
            (wal.first_index(), wal.last_index()) == (report.first_index, expected_last),
            "{what}: after a power cut the log holds {}..={}, expected {}..={expected_last}",
            wal.first_index(),
            wal.last_index(),
            report.first_index
        );
        for index in wal.first_index()..=expected_last {
            let got =
                wal.entry(index).unwrap_or_else(|e| distributed::fail!("durability", "{what}: entry {index}: {e}",));
            invariant!("matching", got == log_entries()[index as usize - 1], "{what}: entry {index} is {got:?}");
        }
        let rescanned = distributed::invariant_ok!("checksum", scan(&after, DIR), "{what}: scan after the repair");
        invariant!("checksum", rescanned.is_clean(), "{what}: the repaired log does not scan clean");
    }
}

#[test]
fn repair_replaces_everything_past_the_damage_with_the_peer_s_entries() {
    // The peer's history diverges after entry 5: entries 6..=9 have term 4. Ours (in segment 7
    // and entry 6) must not survive next to them.
    let mut peer = honest();
    for entry in peer.log.iter_mut().skip(5) {
        entry.term = 4;
        entry.data = format!("peer {}", entry.index).into_bytes();
    }
    let mut files = three_segments();
    files.get_mut(&name(4)).expect("setup: segment 4")[110] ^= 1; // entry 6
    let (_, fs) = disk_with(&files);
    let report = distributed::invariant_ok!("ordered-recovery", scan(&fs, DIR), "scan(..)");
    let outcome = repair_from_peer(&fs, DIR, &report, &peer, WalOptions::default())
        .unwrap_or_else(|e| distributed::fail!("ordered-recovery", "repair failed: {e}"));
    invariant!(
        "ordered-recovery",
        outcome.rollback.actions.iter().any(|a| matches!(a, Action::SetAside { file, .. } if *file == name(7))),
        "segment 7 lies past the damage and must be set aside before the peer's entries go in: {:?}",
        outcome.rollback.actions
    );
    let wal =
        distributed::invariant_ok!("ordered-recovery", Wal::open(fs, DIR, WalOptions::default()), "Wal::open(..)");
    for index in 1..=9 {
        let got = distributed::invariant_ok!("ordered-recovery", wal.entry(index), "wal.entry({index})");
        invariant!("matching", got == peer.log[index as usize - 1], "entry {index} is {got:?}, not the peer's");
    }
}

#[test]
fn a_lying_or_failing_peer_is_refused_before_anything_changes() {
    type Lie = Box<dyn Fn(&mut Vec<Entry>)>;
    // Each lie with the byte of segment 4 damaged: in entry 5 (the last entry kept is 4, the
    // first of its segment) or in entry 6 (the last kept is 5, in the middle of its segment).
    let lies: Vec<(&str, usize, Lie)> = vec![
        ("skips an entry", 70, Box::new(|log| log.retain(|e| e.index != 6))),
        ("sends an entry twice", 70, Box::new(|log| log.insert(7, log[6].clone()))),
        ("numbers its entries wrong", 70, Box::new(|log| log[6].index = 70)),
        ("goes back in term", 70, Box::new(|log| log[5].term = 1)),
        ("disagrees about the last entry kept", 70, Box::new(|log| log[3].term = 2)),
        ("disagrees about entry 5, the last kept", 110, Box::new(|log| log[4].data = b"other".to_vec())),
    ];
    for (what, damaged_byte, lie) in lies {
        let mut files = three_segments();
        files.get_mut(&name(4)).expect("setup: segment 4")[damaged_byte] ^= 1;
        let (sim, fs) = disk_with(&files);
        let report = distributed::invariant_ok!("matching", scan(&fs, DIR), "scan(..)");
        let before = sim.listing();
        let mut peer = honest();
        lie(&mut peer.log);
        let result = repair_from_peer(&fs, DIR, &report, &peer, WalOptions::default());
        invariant!(
            "matching",
            matches!(result, Err(RepairError::PeerMismatch { .. })),
            "a peer that {what} must be refused, got {result:?}"
        );
        invariant!("matching", sim.listing() == before, "a peer that {what} was refused, but the disk changed");
    }
    let mut files = three_segments();
    files.get_mut(&name(4)).expect("setup: segment 4")[70] ^= 1;
    let (sim, fs) = disk_with(&files);
    let report = distributed::invariant_ok!("matching", scan(&fs, DIR), "scan(..)");
    let before = sim.listing();
    let result = repair_from_peer(&fs, DIR, &report, &TestPeer { log: Vec::new(), fail: true }, WalOptions::default());
    invariant!("matching", matches!(result, Err(RepairError::Peer(_))), "a failing peer: {result:?}");
    invariant!("matching", sim.listing() == before, "a failing peer, but the disk changed");
}

#[test]
fn a_report_that_no_longer_describes_the_disk_is_refused() {
    let mut files = three_segments();
    files.get_mut(&name(4)).expect("setup: segment 4")[70] ^= 1;
    let (sim, fs) = disk_with(&files);
    let report = distributed::invariant_ok!("ordered-recovery", scan(&fs, DIR), "scan(..)");
    sim.flip_bit(crate::path(&name(1)), 30 * 8).expect("setup: flip a bit"); // new damage after the scan
    let result = repair_from_peer(&fs, DIR, &report, &honest(), WalOptions::default());
    invariant!(
        "ordered-recovery",
        matches!(result, Err(RepairError::StaleReport)),
        "the log changed after the scan; repairing by the old report could keep damaged entry 2: {result:?}"
    );
}
