//! Repair from a peer.

use std::sync::Arc;

use distributed::invariant;
use distributed::storage::Entry;
use distributed::vfs::{CrashMode, FsRef, SimFs};
use lab1::{Wal, WalOptions};
use lab2::{Action, Peer, PeerError, RepairError, repair_from_peer, scan};

use crate::{DIR, Files, disk_with, log_entries, name, three_segments};

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

/// Damaged disks, each with the last consistent index its report must give.
fn damaged() -> Vec<(&'static str, SimFs, FsRef, u64)> {
    let mut out = Vec::new();
    let mut add = |what, change: &dyn Fn(&mut Files), consistent| {
        let mut files = three_segments();
        change(&mut files);
        let (sim, fs) = disk_with(&files);
        out.push((what, sim, fs, consistent));
    };
    add("a flipped bit in sealed entry 5", &|f| f.get_mut(&name(4)).unwrap()[70] ^= 1, 4);
    add("segment 4 missing", &|f| drop(f.remove(&name(4))), 3);
    add("segment 4's header damaged", &|f| f.get_mut(&name(4)).unwrap()[12] ^= 1, 3);
    add("entry 7 damaged, 8 and 9 intact", &|f| f.get_mut(&name(7)).unwrap()[40] ^= 1, 6);
    add("segment 1's header damaged", &|f| f.get_mut(&name(1)).unwrap()[0] ^= 1, 0);
    add("a torn tail", &|f| f.get_mut(&name(7)).unwrap().truncate(120), 8);
    out
}

#[test]
fn repair_makes_the_log_whole_after_every_kind_of_damage() {
    for (what, sim, fs, consistent) in damaged() {
        let report = scan(&fs, DIR).unwrap();
        distributed::invariant_eq!("durability", report.last_consistent_index, consistent, "{what}: {report}");
        let outcome = repair_from_peer(&fs, DIR, &report, &honest(), WalOptions::default())
            .unwrap_or_else(|e| distributed::fail!("durability", "{what}: repair from an honest peer failed: {e}"));
        invariant!(
            "ordered-recovery",
            outcome.rollback.last_index == consistent,
            "{what}: repair must roll back to {consistent} before appending, it rolled back to {}",
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
            wal.last_index() == expected_last,
            "{what}: after a power cut the log ends at {}",
            wal.last_index()
        );
        for index in wal.first_index()..=expected_last {
            let got =
                wal.entry(index).unwrap_or_else(|e| distributed::fail!("durability", "{what}: entry {index}: {e}",));
            invariant!("matching", got == log_entries()[index as usize - 1], "{what}: entry {index} is {got:?}");
        }
        invariant!("checksum", scan(&after, DIR).unwrap().is_clean(), "{what}: the repaired log does not scan clean");
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
    files.get_mut(&name(4)).unwrap()[110] ^= 1; // entry 6
    let (_, fs) = disk_with(&files);
    let report = scan(&fs, DIR).unwrap();
    let outcome = repair_from_peer(&fs, DIR, &report, &peer, WalOptions::default())
        .unwrap_or_else(|e| distributed::fail!("ordered-recovery", "repair failed: {e}"));
    invariant!(
        "ordered-recovery",
        outcome.rollback.actions.iter().any(|a| matches!(a, Action::SetAside { file, .. } if *file == name(7))),
        "segment 7 lies past the damage and must be set aside before the peer's entries go in: {:?}",
        outcome.rollback.actions
    );
    let wal = Wal::open(fs, DIR, WalOptions::default()).unwrap();
    for index in 1..=9 {
        let got = wal.entry(index).unwrap();
        invariant!("matching", got == peer.log[index as usize - 1], "entry {index} is {got:?}, not the peer's");
    }
}

#[test]
fn a_lying_or_failing_peer_is_refused_before_anything_changes() {
    type Lie = Box<dyn Fn(&mut Vec<Entry>)>;
    let lies: Vec<(&str, Lie)> = vec![
        ("skips an entry", Box::new(|log| log.retain(|e| e.index != 6))),
        ("sends an entry twice", Box::new(|log| log.insert(7, log[6].clone()))),
        ("numbers its entries wrong", Box::new(|log| log[6].index = 70)),
        ("goes back in term", Box::new(|log| log[5].term = 1)),
        ("disagrees about the last entry kept", Box::new(|log| log[3].term = 2)),
    ];
    for (what, lie) in lies {
        let mut files = three_segments();
        files.get_mut(&name(4)).unwrap()[70] ^= 1;
        let (sim, fs) = disk_with(&files);
        let report = scan(&fs, DIR).unwrap();
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
    files.get_mut(&name(4)).unwrap()[70] ^= 1;
    let (sim, fs) = disk_with(&files);
    let report = scan(&fs, DIR).unwrap();
    let before = sim.listing();
    let result = repair_from_peer(&fs, DIR, &report, &TestPeer { log: Vec::new(), fail: true }, WalOptions::default());
    invariant!("matching", matches!(result, Err(RepairError::Peer(_))), "a failing peer: {result:?}");
    invariant!("matching", sim.listing() == before, "a failing peer, but the disk changed");
}

#[test]
fn a_report_that_no_longer_describes_the_disk_is_refused() {
    let mut files = three_segments();
    files.get_mut(&name(4)).unwrap()[70] ^= 1;
    let (sim, fs) = disk_with(&files);
    let report = scan(&fs, DIR).unwrap();
    sim.flip_bit(crate::path(&name(1)), 30 * 8).unwrap(); // new damage after the scan
    let result = repair_from_peer(&fs, DIR, &report, &honest(), WalOptions::default());
    invariant!(
        "ordered-recovery",
        matches!(result, Err(RepairError::StaleReport)),
        "the log changed after the scan; repairing by the old report could keep damaged entry 2: {result:?}"
    );
}
