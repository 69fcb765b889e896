//! A power cut after every step of longer workloads, strict and torn images, under every sync
//! policy: a leader change that cuts an uncommitted suffix, snapshots taken with committed
//! entries not yet applied, and installs over a stale log followed by more appends.

use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::StateMachineStorage;
use distributed::vfs::FsRef;
use lab1::SyncPolicy;
use lab4::{Entry, Index, Replica, ReplicaError, Snapshot, SnapshotMeta};

use crate::{Ack, POLICIES, check_indexes, check_recovery, commands, deep, entries_from, log_of, model_at, open_on};

fn explorer(seed: u64) -> CrashExplorer {
    CrashExplorer::new(seed).torn_variants(if deep() { 8 } else { 1 })
}

fn seeds(default: u64) -> Vec<u64> {
    let seed = lab_seed(default);
    if deep() { (0..6).map(|k| seed.wrapping_add(k)).collect() } else { vec![seed] }
}

/// Leader 1 (term 1) sends 1..=21 in rounds of 5, committing two behind its appends; leader 2
/// (term 2) keeps the committed prefix, replaces the rest, and commits everything.
fn leader_change_logs(seed: u64) -> (Vec<Entry>, Vec<Entry>, Index) {
    let first = log_of(&commands(seed, 20), 1);
    let kept: Index = 13;
    let mut second = first[..kept as usize].to_vec();
    second.extend(entries_from(kept + 1, 2, &commands(seed ^ 0xabcd, 12)));
    (first, second, kept)
}

fn leader_change_workload(
    fs: &distributed::vfs::SimFs,
    sync: SyncPolicy,
    first: &[Entry],
    second: &[Entry],
    kept: Index,
    acks: &mut Vec<Ack>,
) -> Result<(), ReplicaError> {
    let mut replica = open_on(Arc::new(fs.clone()), sync)?;
    for (round, chunk) in first.chunks(5).enumerate() {
        replica.append(chunk)?;
        let target = (chunk[chunk.len() - 1].index - 2).min(kept);
        replica.commit(target)?;
        acks.push(Ack::Committed(target));
        for applied in replica.apply_committed()? {
            acks.push(Ack::Applied(applied.index, applied.output));
        }
        if round == 1 {
            replica.take_snapshot()?;
        }
    }
    replica.append(&second[kept as usize..])?;
    let last = second.len() as Index;
    replica.commit(last)?;
    acks.push(Ack::Committed(last));
    for _ in 0..4 {
        if let Some(applied) = replica.apply_next()? {
            acks.push(Ack::Applied(applied.index, applied.output));
        }
    }
    // A snapshot while committed entries are still unapplied.
    replica.take_snapshot()?;
    for applied in replica.apply_committed()? {
        acks.push(Ack::Applied(applied.index, applied.output));
    }
    Ok(())
}

#[test]
fn a_leader_change_survives_every_crash_point_under_every_sync_policy() {
    for seed in seeds(0x4101) {
        let (first, second, kept) = leader_change_logs(seed);
        for sync in POLICIES {
            let report = explorer(seed).explore(
                |fs, acks| leader_change_workload(fs, sync, &first, &second, kept, acks),
                |disk, acks| {
                    let replica = check_recovery(disk, sync, &second, acks);
                    // Entries of leader 1 past the kept prefix are never committed.
                    let stale = (kept + 1..=replica.commit_index()).find(|&i| replica.term(i).ok() == Some(1));
                    invariant!("matching", stale.is_none(), "committed entry {stale:?} is of the replaced term 1");
                },
            );
            println!("{sync:?} seed {seed:#x}: {} steps, {} images", report.steps, report.images_checked);
        }
    }
}

/// A follower holding `1..=12` of term 1 with 4 committed; a leader whose log agrees up to 4
/// and then holds term-2 entries, snapshotted at 10, then two more entries after it.
fn install_scenario(seed: u64) -> (Vec<Entry>, Vec<Entry>, Snapshot) {
    let follower = log_of(&commands(seed, 11), 1);
    let mut leader = follower[..4].to_vec();
    leader.extend(entries_from(5, 2, &commands(seed ^ 0x77, 8)));
    let image = distributed::invariant_ok!("matching", model_at(&leader, 10).0.snapshot(), "image");
    (follower, leader, Snapshot { meta: SnapshotMeta { last_index: 10, last_term: 2 }, data: image })
}

#[test]
fn an_install_followed_by_appends_survives_every_crash_point_under_every_sync_policy() {
    for seed in seeds(0x4102) {
        let (follower, leader, snapshot) = install_scenario(seed);
        for sync in POLICIES {
            let report = explorer(seed).explore(
                |fs, acks: &mut Vec<Ack>| -> Result<(), ReplicaError> {
                    let mut replica = open_on(Arc::new(fs.clone()) as FsRef, sync)?;
                    replica.append(&follower)?;
                    replica.commit(4)?;
                    acks.push(Ack::Committed(4));
                    for applied in replica.apply_committed()? {
                        acks.push(Ack::Applied(applied.index, applied.output));
                    }
                    replica.install_snapshot(&snapshot)?;
                    acks.push(Ack::Committed(10));
                    replica.append(&leader[10..])?;
                    replica.commit(12)?;
                    acks.push(Ack::Committed(12));
                    Ok(())
                },
                |disk, acks| {
                    let mut replica = check_recovery(disk, sync, &leader, acks);
                    check_indexes(&replica, "after replay");
                    if replica.snapshot_meta() == snapshot.meta {
                        let stale = (11..=replica.last_log_index()).find(|&i| replica.term(i).ok() == Some(1));
                        invariant!(
                            "matching",
                            stale.is_none(),
                            "the snapshot (10, 2) is installed, but the log holds entry {stale:?} of term 1"
                        );
                        // Whatever the crash interrupted, the leader's entries after the
                        // snapshot continue the log (those already held match and are kept).
                        distributed::invariant_ok!(
                            "matching",
                            replica.append(&leader[10..]),
                            "append the leader's entries 11 and 12 after the installed snapshot (10, 2)"
                        );
                        invariant!(
                            "matching",
                            replica.last_log_index() == 12,
                            "after appending the leader's entries 11 and 12, the last log index is {}",
                            replica.last_log_index()
                        );
                    } else {
                        invariant!(
                            "recovery-equivalence",
                            replica.commit_index() <= 4,
                            "the commit index is {} but the snapshot that covers it is not there",
                            replica.commit_index()
                        );
                    }
                },
            );
            println!("{sync:?} seed {seed:#x}: {} steps, {} images", report.steps, report.images_checked);
        }
    }
}

#[test]
fn repeated_snapshots_and_compactions_survive_every_crash_point() {
    let seed = lab_seed(0x4103);
    let log = log_of(&commands(seed, 35), 1);
    for sync in [SyncPolicy::EveryAppend, SyncPolicy::Never] {
        let report = explorer(seed).explore(
            |fs, acks: &mut Vec<Ack>| -> Result<(), ReplicaError> {
                let mut replica = Replica::open(
                    Arc::new(fs.clone()),
                    crate::DIR,
                    lab4::ReplicaOptions { snapshots: lab3::StoreOptions { keep: 1 }, ..crate::options(sync) },
                    lab4::KvStore::new(),
                )?;
                for chunk in log.chunks(4) {
                    replica.append(chunk)?;
                    let last = chunk[chunk.len() - 1].index;
                    replica.commit(last)?;
                    acks.push(Ack::Committed(last));
                    for applied in replica.apply_committed()? {
                        acks.push(Ack::Applied(applied.index, applied.output));
                    }
                    replica.take_snapshot()?;
                }
                Ok(())
            },
            |disk, acks| {
                check_recovery(disk, sync, &log, acks);
            },
        );
        println!("{sync:?}: {} steps, {} images", report.steps, report.images_checked);
    }
}
