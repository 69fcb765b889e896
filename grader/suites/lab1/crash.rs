//! Power loss after every step of several workloads, with torn variants of each.
//!
//! Each workload records, around every operation, the model it intends (`Intent`) and, once
//! the operation returned, the model it acknowledged (`Acked`). After a crash, the recovered
//! log must agree with the last acknowledged model, or with the intended one where the
//! operation in flight may have partly reached the disk:
//!
//! - from its first index on, the log is a prefix of one of the two models (nothing out of
//!   order, nothing that was never written) [ordered-recovery];
//! - it is at least as long as the shorter of them (nothing acknowledged lost) [durability].

use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::Entry;
use distributed::testing::payload;
use distributed::vfs::{OpenMode, SimFs, Vfs};
use lab1::{SyncPolicy, Wal, WalError, WalOptions};

use crate::{DIR, Model, options};

#[derive(Clone, Debug)]
enum Event {
    Intent(Model),
    Acked(Model),
}

/// Runs operations on a log and records what each one promises.
struct Recorder<'a> {
    wal: Wal,
    model: Model,
    events: &'a mut Vec<Event>,
    policy: SyncPolicy,
}

impl<'a> Recorder<'a> {
    fn open(sim: &SimFs, options: WalOptions, events: &'a mut Vec<Event>) -> Result<Self, WalError> {
        let wal = Wal::open(Arc::new(sim.clone()), DIR, options)?;
        Ok(Recorder { wal, model: Model::default(), events, policy: options.sync })
    }

    fn step(
        &mut self,
        change: impl FnOnce(&mut Model),
        op: impl FnOnce(&Wal) -> Result<(), WalError>,
    ) -> Result<(), WalError> {
        change(&mut self.model);
        self.events.push(Event::Intent(self.model.clone()));
        op(&self.wal)?;
        if self.policy != SyncPolicy::Never {
            self.events.push(Event::Acked(self.model.clone()));
        }
        Ok(())
    }

    fn append(&mut self, entries: Vec<Entry>) -> Result<(), WalError> {
        let copy = entries.clone();
        self.step(|m| m.append(&copy), |wal| wal.append(&entries))
    }

    fn truncate(&mut self, from: u64) -> Result<(), WalError> {
        self.step(|m| m.truncate(from), |wal| wal.truncate_suffix(from))
    }

    fn compact(&mut self, upto: u64) -> Result<(), WalError> {
        self.step(|m| m.compact(upto), |wal| wal.compact_prefix(upto))
    }

    /// Drops the log and opens it again on `sim`, as a restart of the process would.
    fn reopen(&mut self, sim: &SimFs, options: WalOptions) -> Result<(), WalError> {
        self.wal = Wal::open(Arc::new(sim.clone()), DIR, options)?;
        Ok(())
    }

    /// With `SyncPolicy::Never`, only a sync acknowledges.
    fn sync(&mut self) -> Result<(), WalError> {
        self.wal.sync()?;
        self.events.push(Event::Acked(self.model.clone()));
        Ok(())
    }
}

/// Entries `first..first+count` in `term`, with sizes drawn from `sizes` so records straddle
/// sector boundaries.
fn batch(rng: &mut TestRng, first: u64, count: u64, term: u64, sizes: (u64, u64)) -> Vec<Entry> {
    (first..first + count)
        .map(|i| Entry::new(i, term, payload(i, term, rng.in_range(sizes.0, sizes.1) as usize)))
        .collect()
}

/// The check every crash image must pass.
fn check_recovery(disk: &SimFs, events: &[Event], options: WalOptions) {
    let wal = Wal::open(Arc::new(disk.clone()), DIR, options)
        .unwrap_or_else(|e| distributed::fail!("torn-tail", "the log does not open after the crash: {e}"));
    let acked_at = events.iter().rposition(|e| matches!(e, Event::Acked(_)));
    let acked = match acked_at {
        Some(at) => match &events[at] {
            Event::Acked(model) => model.clone(),
            Event::Intent(_) => unreachable!(),
        },
        None => Model::default(),
    };
    let intent = events[acked_at.map_or(0, |at| at + 1)..].iter().rev().find_map(|e| match e {
        Event::Intent(model) => Some(model.clone()),
        Event::Acked(_) => None,
    });
    let candidates: Vec<&Model> = std::iter::once(&acked).chain(intent.as_ref()).collect();
    let (first, last) = (wal.first_index(), wal.last_index());
    let mut recovered = Vec::new();
    for index in first..=last {
        match wal.entry(index) {
            Ok(entry) => recovered.push(entry),
            Err(e) => distributed::fail!(
                "durability",
                "after recovery the log claims {first}..={last} but entry {index} is unreadable: {e}",
            ),
        }
    }
    let max_first = candidates.iter().map(|m| m.first).max().expect("setup: one candidate");
    let min_last = candidates.iter().map(|m| m.last()).min().expect("setup: one candidate");
    distributed::invariant!(
        "prefix-compaction",
        first <= max_first,
        "the recovered log starts at {first}, after the compaction point {}",
        max_first - 1
    );
    distributed::invariant!(
        "durability",
        last >= min_last,
        "the recovered log ends at {last}, but entries up to {} were acknowledged ({} operation in flight)",
        acked.last(),
        if intent.is_some() { "one" } else { "no" }
    );
    let is_prefix_of =
        |model: &Model| recovered.iter().filter(|e| e.index >= model.first).all(|e| model.get(e.index) == Some(e));
    if !candidates.iter().any(|m| is_prefix_of(m)) {
        let wrong = recovered
            .iter()
            .find(|e| candidates.iter().all(|m| e.index >= m.first && m.get(e.index) != Some(e)))
            .map_or_else(|| "an entry".to_string(), |e| format!("entry {} (term {})", e.index, e.term));
        distributed::fail!(
            "ordered-recovery",
            "after recovery {wrong} is not what was acknowledged or being written at that index \
             (recovered {first}..={last}, acknowledged {}..={})",
            acked.first,
            acked.last(),
        );
    }
    // The recovered log must accept the next entry.
    let next =
        Entry::new(last + 1, recovered.last().map_or(0, |e| e.term).max(acked.last_term()) + 1, b"after".to_vec());
    if let Err(e) = wal.append(std::slice::from_ref(&next)) {
        distributed::fail!("torn-tail", "appending entry {} after recovery failed: {e}", next.index);
    }
}

fn explore(seed: u64, options: WalOptions, workload: impl Fn(&mut Recorder, &mut TestRng) -> Result<(), WalError>) {
    let report = CrashExplorer::new(seed).torn_variants(8).explore(
        |sim, events: &mut Vec<Event>| -> Result<(), WalError> {
            let mut rng = TestRng::new(seed);
            let mut recorder = Recorder::open(sim, options, events)?;
            workload(&mut recorder, &mut rng)
        },
        |disk, events| check_recovery(disk, events, options),
    );
    distributed::invariant!("durability", report.steps >= 20, "the workload ran only {} steps", report.steps);
    eprintln!("explored {} crash points, {} disk images", report.crash_points, report.images_checked);
}

#[test]
fn appends_with_rollover_survive_every_crash_point() {
    explore(lab_seed(0x11), options(700, SyncPolicy::EveryAppend), |log, rng| {
        let mut next = 1;
        for _ in 0..14 {
            let count = rng.in_range(1, 3);
            log.append(batch(rng, next, count, 1, (10, 600)))?;
            next += count;
        }
        Ok(())
    });
}

#[test]
fn group_commit_from_one_thread_survives_every_crash_point() {
    explore(lab_seed(0x12), options(500, SyncPolicy::GroupCommit), |log, rng| {
        let mut next = 1;
        for _ in 0..12 {
            let count = rng.in_range(1, 2);
            log.append(batch(rng, next, count, 1, (10, 400)))?;
            next += count;
        }
        Ok(())
    });
}

#[test]
fn truncation_across_segments_survives_every_crash_point() {
    // 40-byte records (16 bytes of data): 3 per 144-byte segment.
    explore(lab_seed(0x13), options(144, SyncPolicy::EveryAppend), |log, rng| {
        log.append(batch(rng, 1, 10, 1, (16, 16)))?; // segments 1-3, 4-6, 7-9, 10
        log.truncate(8)?; // inside a segment, removing a later one
        log.append(batch(rng, 8, 3, 2, (16, 16)))?;
        log.truncate(4)?; // at a segment's first index
        log.append(batch(rng, 4, 4, 3, (16, 16)))?;
        log.truncate(1)?; // the whole log
        log.append(batch(rng, 1, 2, 4, (16, 16)))
    });
}

#[test]
fn compaction_and_restart_survive_every_crash_point() {
    explore(lab_seed(0x14), options(144, SyncPolicy::EveryAppend), |log, rng| {
        log.append(batch(rng, 1, 8, 1, (16, 16)))?;
        log.compact(4)?; // removes the segment of 1-3
        log.append(batch(rng, 9, 2, 1, (16, 16)))?;
        log.compact(15)?; // past the end: the log restarts at 16
        log.append(batch(rng, 16, 4, 2, (16, 16)))?;
        log.compact(17)?;
        log.append(batch(rng, 20, 1, 2, (16, 16)))
    });
}

#[test]
fn unsynced_appends_never_appear_out_of_order() {
    explore(lab_seed(0x15), options(600, SyncPolicy::Never), |log, rng| {
        let mut next = 1;
        for round in 0..5 {
            for _ in 0..3 {
                log.append(batch(rng, next, 1, 1 + round, (20, 700)))?;
                next += 1;
            }
            log.sync()?;
        }
        Ok(())
    });
}

#[test]
fn a_restart_onto_an_empty_last_segment_survives_every_crash_point() {
    // A rollover that crashed after segment 10 was renamed into place, before its first
    // record: the log holds 1-9 (segment 7 sealed by its footer) and an empty segment 10.
    // compact_prefix(9) restarts the log at 10, a name that is taken.
    let opts = options(144, SyncPolicy::EveryAppend);
    let seed = lab_seed(0x16);
    let report = CrashExplorer::new(seed).torn_variants(8).explore(
        |sim, events: &mut Vec<Event>| -> Result<(), WalError> {
            let mut rng = TestRng::new(seed);
            let mut log = Recorder::open(sim, opts, events)?;
            log.append(batch(&mut rng, 1, 9, 1, (16, 16)))?; // segments 1-3, 4-6, 7-9
            let sealed = std::path::Path::new(DIR).join(lab1::format::segment_file_name(7));
            let file = sim.open(&sealed, OpenMode::ReadWrite)?;
            let bytes = file.read_all()?;
            file.write_all_at(bytes.len() as u64, &lab1::format::SegmentFooter::of(&bytes, 9).encode())?;
            file.sync_data()?;
            let path = std::path::Path::new(DIR).join(lab1::format::segment_file_name(10));
            let file = sim.open(&path, OpenMode::CreateNew)?;
            file.write_all_at(0, &lab1::format::SegmentHeader { first_index: 10, flags: 0 }.encode())?;
            file.sync_data()?;
            sim.sync_dir(std::path::Path::new(DIR))?;
            log.reopen(sim, opts)?;
            log.compact(9)?; // restarts at 10
            log.append(batch(&mut rng, 10, 2, 2, (16, 16)))
        },
        |disk, events| check_recovery(disk, events, opts),
    );
    distributed::invariant!("prefix-compaction", report.steps >= 20, "the workload ran only {} steps", report.steps);
    eprintln!("explored {} crash points, {} disk images", report.crash_points, report.images_checked);
}

/// Checks a crash image before recovery touches it: every file under a segment's name holds a
/// whole header naming it [atomic-write], and every segment but the last ends with a footer
/// that matches it [rollover] (both read by the chapter's byte tables).
fn check_image(disk: &SimFs) {
    let mut names = disk.read_dir(std::path::Path::new(DIR)).unwrap_or_default();
    names.sort();
    let segments: Vec<(u64, String)> =
        names.into_iter().filter_map(|name| Some((lab1::format::parse_segment_file_name(&name)?, name))).collect();
    for (position, (first, name)) in segments.iter().enumerate() {
        let bytes = disk.contents(std::path::Path::new(DIR).join(name)).unwrap_or_default();
        let whole = bytes.len() >= 24
            && &bytes[0..8] == b"RSMWAL01"
            && bytes[8..16] == first.to_le_bytes()
            && bytes[20..24] == crc32fast::hash(&bytes[0..20]).to_le_bytes();
        distributed::invariant!(
            "atomic-write",
            whole,
            "after the crash, {name} ({} bytes) has no whole header: a half-prepared segment under a segment's name",
            bytes.len()
        );
        if position + 1 < segments.len() {
            let at = bytes.len().saturating_sub(20).max(24).min(bytes.len());
            let footer = &bytes[at..];
            let sealed = footer.len() == 20
                && footer[0..4] == [0xFF; 4]
                && footer[4..8] == crc32fast::hash(&bytes[..at]).to_le_bytes()
                && footer[16..20] == crc32fast::hash(&footer[..16]).to_le_bytes();
            distributed::invariant!(
                "rollover",
                sealed,
                "after the crash, {name} has a successor but does not end with a footer that matches it"
            );
        }
    }
}

/// One operation of a workload, on the recorder.
type Step = dyn Fn(&mut Recorder, &mut TestRng) -> Result<(), WalError>;

#[test]
fn rollover_with_truncations_into_sealed_segments_survives_every_crash_point_under_every_policy() {
    // 40-byte records, 3 per 144-byte segment; batches that cross boundaries, a truncation
    // that cuts into a sealed segment (its footer goes) and one that removes only its
    // successor (it stays sealed, and last). Under `Never` a sync follows every operation.
    for policy in [SyncPolicy::EveryAppend, SyncPolicy::GroupCommit, SyncPolicy::Never] {
        let opts = options(144, policy);
        let seed = lab_seed(0x17);
        let report = CrashExplorer::new(seed).torn_variants(6).explore(
            |sim, events: &mut Vec<Event>| -> Result<(), WalError> {
                let mut rng = TestRng::new(seed);
                let mut log = Recorder::open(sim, opts, events)?;
                let never = policy == SyncPolicy::Never;
                let ops: [&Step; 6] = [
                    &|log, rng| log.append(batch(rng, 1, 5, 1, (16, 16))),
                    &|log, rng| log.append(batch(rng, 6, 4, 1, (16, 16))),
                    &|log, _| log.truncate(5),
                    &|log, rng| log.append(batch(rng, 5, 5, 2, (16, 16))),
                    &|log, _| log.truncate(7),
                    &|log, rng| log.append(batch(rng, 7, 4, 3, (16, 16))),
                ];
                for op in ops {
                    op(&mut log, &mut rng)?;
                    if never {
                        log.sync()?;
                    }
                }
                Ok(())
            },
            |disk, events| {
                check_image(disk);
                check_recovery(disk, events, opts);
            },
        );
        distributed::invariant!("rollover", report.steps >= 40, "the workload ran only {} steps", report.steps);
    }
}
