//! Sealed segments and the segment switch: a footer damaged in each field or cut away, a
//! leftover temporary segment, a header the disk stores wrongly, truncations into a sealed
//! segment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::{entries, sim_disk};
use distributed::vfs::{CrashMode, FsRef, OpenMode, SimFs, Vfs};
use lab1::format::segment_file_name;
use lab1::{SyncPolicy, Wal, WalError};

use crate::layout::parse_segment;
use crate::{DIR, Model, assert_matches_model, open_on, options, reopen_after};

fn segment_path(first_index: u64) -> PathBuf {
    Path::new(DIR).join(segment_file_name(first_index))
}

/// A log of entries 1-7 in 144-byte segments: 1-3 and 4-6 sealed (footers at 144..164), 7.
fn sealed_log() -> (SimFs, FsRef) {
    let (sim, fs) = sim_disk(lab_seed(1));
    let wal = open_on(fs.clone(), options(144, SyncPolicy::EveryAppend));
    wal.append(&entries(1, 7, 1)).unwrap_or_else(|e| distributed::fail!("durability", "appending 1-7 failed: {e}"));
    drop(wal);
    (sim, fs)
}

fn expect_corrupt(fs: &FsRef, what: &str) {
    match Wal::open(Arc::clone(fs), DIR, options(144, SyncPolicy::EveryAppend)) {
        Err(WalError::Corrupt { .. }) => {}
        Err(other) => distributed::fail!("checksum", "{what}: open gave {other:?}, expected WalError::Corrupt"),
        Ok(wal) => distributed::fail!(
            "checksum",
            "{what}: the log opened with {}..={} instead of refusing a sealed segment whose footer is not right",
            wal.first_index(),
            wal.last_index()
        ),
    }
}

#[test]
fn a_sealed_segment_whose_footer_is_damaged_cut_or_followed_by_bytes_is_refused() {
    // Every byte of the footer of the sealed segment 1: marker, segment CRC, last index,
    // footer CRC.
    for byte in 144..164u64 {
        let (sim, fs) = sealed_log();
        sim.flip_bit(segment_path(1), byte * 8 + (byte % 8)).expect("setup: flip a bit");
        expect_corrupt(&fs, &format!("bit {} of byte {byte} (in the footer) of segment 1 flipped", byte % 8));
    }
    // The footer cut away entirely, or in part.
    for len in [144u64, 148, 152, 160, 163] {
        let (sim, fs) = sealed_log();
        sim.truncate_durable(segment_path(1), len).expect("setup: cut the durable file");
        expect_corrupt(&fs, &format!("segment 1 cut to {len} bytes (its footer starts at 144)"));
    }
    // The last record and the footer cut away: the records left are all valid.
    let (sim, fs) = sealed_log();
    sim.truncate_durable(segment_path(4), 104).expect("setup: cut the durable file");
    expect_corrupt(&fs, "segment 4 cut to 104 bytes, before its last record");
    // Bytes after the footer.
    for extra in [&[0u8][..], &[7, 7, 7]] {
        let (sim, fs) = sealed_log();
        sim.overwrite(segment_path(4), 164, extra).expect("setup: overwrite bytes");
        expect_corrupt(&fs, &format!("{} bytes after the footer of segment 4", extra.len()));
    }
}

#[test]
fn a_leftover_temporary_segment_is_removed_and_never_read() {
    // A rollover that crashed before its rename: a complete, synced segment 4 under its
    // temporary name, after a log of 1-3 whose segment was sealed.
    let (sim, fs) = sim_disk(lab_seed(2));
    let wal = open_on(fs.clone(), options(144, SyncPolicy::EveryAppend));
    wal.append(&entries(1, 6, 1)).unwrap_or_else(|e| distributed::fail!("durability", "appending 1-6 failed: {e}"));
    drop(wal);
    let four = sim.contents(segment_path(4)).expect("setup: read the file");
    let temp = Path::new(DIR).join(format!("{}.tmp", segment_file_name(4)));
    fs.remove_file(&segment_path(4)).expect("setup: remove the file");
    let file = fs.open(&temp, OpenMode::Create).expect("setup: open the file");
    file.write_all_at(0, &four).expect("setup: write the file");
    file.sync_data().expect("setup: sync the file");
    fs.sync_dir(Path::new(DIR)).expect("setup: sync the directory");
    let (disk, wal) = reopen_after(&sim, CrashMode::Strict, options(144, SyncPolicy::EveryAppend));
    assert_matches_model(&wal, &Model::of(entries(1, 3, 1)));
    invariant!(
        "atomic-write",
        wal.last_index() == 3,
        "a segment under its temporary name was read as part of the log: last index {}",
        wal.last_index()
    );
    invariant!(
        "atomic-write",
        !disk.exists(&temp).expect("setup: check the file exists"),
        "open left {} in place: the chapter has open remove a leftover temporary segment",
        temp.display()
    );
    let fresh = entries(4, 5, 2);
    wal.append(&fresh).unwrap_or_else(|e| distributed::fail!("atomic-write", "the next append failed: {e}"));
    drop(wal);
    let (_, again) = reopen_after(&disk, CrashMode::Strict, options(144, SyncPolicy::EveryAppend));
    assert_matches_model(&again, &Model::of([entries(1, 3, 1), fresh].concat()));
}

#[test]
fn a_new_segment_whose_header_the_disk_stores_wrongly_is_never_renamed_into_place() {
    for policy in [SyncPolicy::EveryAppend, SyncPolicy::Never] {
        let (sim, fs) = sim_disk(lab_seed(3));
        let wal = open_on(fs.clone(), options(144, policy));
        wal.append(&entries(1, 3, 1)).unwrap_or_else(|e| distributed::fail!("durability", "appending 1-3 failed: {e}"));
        wal.sync().unwrap_or_else(|e| distributed::fail!("durability", "sync failed: {e}"));
        // Entry 4 rolls over: the new segment's header is written wrongly, and only reading
        // it back before the rename can tell.
        sim.store_wrong_bytes(true);
        let result = wal.append(&entries(4, 4, 1));
        sim.store_wrong_bytes(false);
        invariant!(
            "atomic-write",
            result.is_err(),
            "{policy:?}: the append that rolled over onto a header the disk stored wrongly was acknowledged"
        );
        let named = fs.exists(&segment_path(4)).expect("setup: check the file exists");
        if named {
            let bytes = sim.contents(segment_path(4)).expect("setup: read the file");
            let first = u64::from_le_bytes(
                bytes.get(8..16).unwrap_or(&[0; 8]).try_into().expect("setup: a slice of the right length"),
            );
            invariant!(
                "atomic-write",
                bytes.len() >= 24 && bytes[20..24] == crc32fast::hash(&bytes[0..20]).to_le_bytes() && first == 4,
                "{policy:?}: a segment header the disk stored wrongly was renamed into place: read it back and check \
                 it before the rename"
            );
        }
        drop(wal);
        let (_, after) = reopen_after(&sim, CrashMode::Strict, options(144, policy));
        assert_matches_model(&after, &Model::of(entries(1, 3, 1)));
    }
}

#[test]
fn a_truncation_into_a_sealed_segment_takes_its_footer() {
    // Cutting into segment 4 (sealed): the footer goes with the cut, and 4 is the active
    // segment again.
    let (sim, fs) = sealed_log();
    let wal = open_on(fs.clone(), options(144, SyncPolicy::EveryAppend));
    wal.truncate_suffix(5).unwrap_or_else(|e| distributed::fail!("rollover", "truncate_suffix(5) failed: {e}"));
    let four = parse_segment(&segment_file_name(4), &sim.contents(segment_path(4)).expect("setup: read the file"));
    invariant!(
        "rollover",
        four.sealed.is_none() && four.entries == entries(4, 4, 1),
        "after truncate_suffix(5), segment 4 holds {:?} and {} a footer: it should hold entry 4 and no footer",
        four.entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        if four.sealed.is_some() { "still has" } else { "has no" }
    );
    wal.append(&entries(5, 8, 2)).unwrap_or_else(|e| distributed::fail!("rollover", "appending 5-8 failed: {e}"));
    drop(wal);
    let (disk, after) = reopen_after(&sim, CrashMode::Strict, options(144, SyncPolicy::EveryAppend));
    assert_matches_model(&after, &Model::of([entries(1, 4, 1), entries(5, 8, 2)].concat()));
    drop(after);
    // Removing only segment 7: 4 is last, sealed or not (the chapter keeps its footer); the
    // log opens and the next append continues it.
    let fs: FsRef = Arc::new(disk.clone());
    let wal = open_on(fs, options(144, SyncPolicy::EveryAppend));
    wal.truncate_suffix(7).unwrap_or_else(|e| distributed::fail!("rollover", "truncate_suffix(7) failed: {e}"));
    let four = parse_segment(&segment_file_name(4), &disk.contents(segment_path(4)).expect("setup: read the file"));
    invariant!(
        "rollover",
        four.entries == [entries(4, 4, 1), entries(5, 6, 2)].concat(),
        "after truncate_suffix(7), segment 4 should still hold entries 4-6"
    );
    wal.append(&entries(7, 9, 3)).unwrap_or_else(|e| distributed::fail!("rollover", "appending 7-9 failed: {e}"));
    drop(wal);
    let (_, after) = reopen_after(&disk, CrashMode::Strict, options(144, SyncPolicy::EveryAppend));
    assert_matches_model(&after, &Model::of([entries(1, 4, 1), entries(5, 6, 2), entries(7, 9, 3)].concat()));
}
