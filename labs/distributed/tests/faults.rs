//! Each fault of the fault model (the book's "The fault model" chapter) really happens on
//! `SimFs`, and happens the same way for the same seed.

use std::io::ErrorKind;
use std::path::Path;

use distributed::vfs::{CrashMode, OpKind, OpenMode, SECTOR_SIZE, SimFs, SimFsConfig, Vfs, VfsFile};

const TORN_SEEDS: u64 = 200;

fn read(fs: &SimFs, path: &str) -> Option<Vec<u8>> {
    match fs.open(Path::new(path), OpenMode::Read) {
        Ok(file) => Some(file.read_all().unwrap()),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => panic!("reading {path}: {e}"),
    }
}

/// A file created, written and synced, with its name made durable too.
fn durable_file(fs: &SimFs, path: &str, data: &[u8]) -> Box<dyn VfsFile> {
    let file = fs.open(Path::new(path), OpenMode::Create).unwrap();
    file.write_all_at(0, data).unwrap();
    file.sync_data().unwrap();
    fs.sync_dir(Path::new("")).unwrap();
    file
}

#[test]
fn a_synced_file_whose_name_was_not_synced_is_gone_after_a_crash() {
    let fs = SimFs::new(1);
    let file = fs.open(Path::new("snapshot"), OpenMode::Create).unwrap();
    file.write_all_at(0, b"state").unwrap();
    file.sync_data().unwrap();
    assert_eq!(read(&fs.crash(CrashMode::Strict), "snapshot"), None);
    for seed in 0..TORN_SEEDS {
        // The create was never synced, but a torn crash may keep it: a real disk might.
        let after = fs.crash(CrashMode::Torn { seed });
        if let Some(bytes) = read(&after, "snapshot") {
            assert_eq!(bytes, b"state", "synced bytes survive whenever the name does");
        }
    }
}

#[test]
fn syncing_the_directory_makes_a_created_file_survive() {
    let fs = SimFs::new(1);
    durable_file(&fs, "snapshot", b"state");
    assert_eq!(read(&fs.crash(CrashMode::Strict), "snapshot").as_deref(), Some(&b"state"[..]));
}

#[test]
fn a_rename_without_a_directory_sync_reverts() {
    let fs = SimFs::new(1);
    durable_file(&fs, "current", b"old");
    let tmp = fs.open(Path::new("current.tmp"), OpenMode::Create).unwrap();
    tmp.write_all_at(0, b"new").unwrap();
    tmp.sync_data().unwrap();
    fs.rename(Path::new("current.tmp"), Path::new("current")).unwrap();
    assert_eq!(read(&fs, "current").as_deref(), Some(&b"new"[..]), "before the crash the rename is visible");
    let after = fs.crash(CrashMode::Strict);
    assert_eq!(read(&after, "current").as_deref(), Some(&b"old"[..]), "after it, the old file is back");
    assert_eq!(read(&after, "current.tmp"), None, "and the temporary file was never durable");
}

#[test]
fn a_remove_without_a_directory_sync_reverts() {
    let fs = SimFs::new(1);
    durable_file(&fs, "segment", b"entries");
    fs.remove_file(Path::new("segment")).unwrap();
    assert_eq!(read(&fs.crash(CrashMode::Strict), "segment").as_deref(), Some(&b"entries"[..]));
    fs.sync_dir(Path::new("")).unwrap_err(); // the old disk is off for good after a crash
}

#[test]
fn directory_operations_survive_a_torn_crash_as_an_ordered_prefix() {
    let fs = SimFs::new(1);
    for name in ["a", "b", "c"] {
        fs.open(Path::new(name), OpenMode::Create).unwrap().sync_data().unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..TORN_SEEDS {
        let names = fs.crash(CrashMode::Torn { seed }).read_dir(Path::new("")).unwrap();
        assert!(["a", "b", "c"].starts_with(&names.iter().map(String::as_str).collect::<Vec<_>>()), "{names:?}");
        seen.insert(names.len());
    }
    assert_eq!(seen.len(), 4, "every prefix length occurs: {seen:?}");
}

#[test]
fn an_unsynced_append_vanishes_or_survives_as_a_sector_prefix() {
    let fs = SimFs::new(1);
    let file = durable_file(&fs, "log", &[1; 100]);
    let appended = vec![2u8; 3 * SECTOR_SIZE as usize];
    file.write_all_at(100, &appended).unwrap();
    assert_eq!(read(&fs.crash(CrashMode::Strict), "log").unwrap(), vec![1; 100], "strict: the append is lost");
    let (mut full, mut none, mut partial, mut zeros, mut garbage) = (0, 0, 0, 0, 0);
    for seed in 0..TORN_SEEDS {
        let bytes = read(&fs.crash(CrashMode::Torn { seed }), "log").unwrap();
        assert_eq!(&bytes[..100], &[1; 100], "synced bytes are never lost");
        let kept = bytes[100..].iter().take_while(|&&b| b == 2).count() as u64;
        // A torn write ends at a sector boundary of the file, unless it kept everything.
        assert!(kept == 0 || kept == 3 * SECTOR_SIZE || (100 + kept).is_multiple_of(SECTOR_SIZE), "kept {kept}");
        let rest = &bytes[100 + kept as usize..];
        match (kept, rest.is_empty()) {
            (0, true) => none += 1,
            (k, _) if k == 3 * SECTOR_SIZE => full += 1,
            _ => partial += 1,
        }
        if !rest.is_empty() {
            assert_eq!(bytes.len(), 100 + appended.len(), "a grown length is the length that was written");
            if rest.iter().all(|&b| b == 0) { zeros += 1 } else { garbage += 1 }
        }
    }
    assert!(full > 0 && none > 0 && partial > 0, "full {full}, none {none}, partial {partial}");
    assert!(zeros > 0 && garbage > 0, "a grown tail holds zeros ({zeros}) or garbage ({garbage})");
}

#[test]
fn the_same_seed_gives_the_same_disk_after_a_crash() {
    let build = || {
        let fs = SimFs::new(9);
        let file = durable_file(&fs, "log", b"synced");
        file.write_all_at(6, &[7; 2000]).unwrap();
        fs.open(Path::new("other"), OpenMode::Create).unwrap().write_all_at(0, &[8; 700]).unwrap();
        fs
    };
    let (a, b) = (build(), build());
    let mut differ = 0;
    for seed in 0..20 {
        let image = a.crash(CrashMode::Torn { seed }).listing();
        assert_eq!(image, b.crash(CrashMode::Torn { seed }).listing(), "seed {seed}");
        differ += usize::from(image != a.crash(CrashMode::Torn { seed: seed + 1000 }).listing());
    }
    assert!(differ > 0, "different seeds give different outcomes");
}

#[test]
fn a_flipped_bit_in_synced_data_is_what_the_next_boot_reads() {
    let fs = SimFs::new(1);
    durable_file(&fs, "log", &[0; 16]);
    fs.flip_bit("log", 8 * 3 + 5).unwrap();
    let mut expected = vec![0; 16];
    expected[3] = 1 << 5;
    assert_eq!(read(&fs, "log").unwrap(), expected, "visible at once");
    assert_eq!(read(&fs.crash(CrashMode::Strict), "log").unwrap(), expected, "and durable");
}

#[test]
fn a_reused_file_keeps_its_stale_records_past_what_was_rewritten() {
    let fs = SimFs::new(1);
    durable_file(&fs, "segment-1", b"HDR1|rec1|rec2|rec3");
    // Recycle the file as segment 2: rename it and rewrite only its header.
    fs.rename(Path::new("segment-1"), Path::new("segment-2")).unwrap();
    let file = fs.open(Path::new("segment-2"), OpenMode::ReadWrite).unwrap();
    file.write_all_at(0, b"HDR2").unwrap();
    file.sync_data().unwrap();
    fs.sync_dir(Path::new("")).unwrap();
    let after = fs.crash(CrashMode::Strict);
    assert_eq!(read(&after, "segment-2").unwrap(), b"HDR2|rec1|rec2|rec3", "old records follow the new header");
}

#[test]
fn a_failed_fsync_drops_the_pending_writes_and_a_retry_lies() {
    let fs = SimFs::new(1);
    let file = durable_file(&fs, "log", b"acked");
    file.write_all_at(5, b"+more").unwrap();
    fs.fail_next_syncs(1);
    assert!(file.sync_data().is_err(), "the first sync fails with EIO");
    assert_eq!(read(&fs, "log").unwrap(), b"acked+more", "reads still show the data");
    file.sync_data().expect("the retry succeeds");
    assert_eq!(read(&fs.crash(CrashMode::Strict), "log").unwrap(), b"acked", "but the data never reached the disk");
    assert!(fs.ops().iter().any(|op| op.kind == OpKind::SyncFile && op.failed));
}

#[test]
fn a_full_disk_writes_what_fits_then_refuses() {
    let fs = SimFs::with_config(SimFsConfig { seed: 1, capacity: Some(10) });
    let file = fs.open(Path::new("log"), OpenMode::Create).unwrap();
    assert_eq!(file.write_at(0, b"0123456").unwrap(), 7);
    assert_eq!(file.write_at(7, b"789abc").unwrap(), 3, "a short write at the limit");
    let err = file.write_at(10, b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageFull);
    let err = file.write_all_at(10, b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageFull, "write_all_at reports the full disk");
    assert_eq!(file.write_at(2, b"AB").unwrap(), 2, "overwriting in place needs no space");
    fs.set_capacity(None);
    assert_eq!(file.write_at(10, b"x").unwrap(), 1);
}

#[test]
fn a_short_write_writes_a_prefix_and_write_all_at_finishes_it() {
    let fs = SimFs::new(1);
    let file = fs.open(Path::new("log"), OpenMode::Create).unwrap();
    fs.short_next_writes(2);
    assert_eq!(file.write_at(0, b"abcdefgh").unwrap(), 4);
    file.write_all_at(4, b"efgh").unwrap();
    assert_eq!(file.read_all().unwrap(), b"abcdefgh");
}

#[test]
fn the_power_goes_off_right_after_the_chosen_step() {
    let fs = SimFs::new(1);
    fs.crash_after(2);
    let file = fs.open(Path::new("log"), OpenMode::Create).unwrap(); // step 1
    file.write_all_at(0, b"a").unwrap(); // step 2, then the power is cut
    assert!(fs.is_powered_off());
    assert!(file.write_at(1, b"b").is_err());
    assert!(file.read_all().is_err());
    assert!(fs.sync_dir(Path::new("")).is_err());
    let ops = fs.ops();
    assert_eq!(ops.len(), 2);
    assert_eq!((ops[0].kind, ops[1].kind), (OpKind::Create, OpKind::Write));
    assert_eq!(ops[1].to_string(), "#2 write log @0 +1 bytes");
}

#[test]
fn killing_only_the_process_keeps_everything_which_is_why_tests_need_a_simulated_disk() {
    let fs = SimFs::new(1);
    let file = fs.open(Path::new("log"), OpenMode::Create).unwrap();
    file.write_all_at(0, b"never synced").unwrap();
    assert_eq!(read(&fs.crash(CrashMode::ProcessExit), "log").unwrap(), b"never synced");
    assert_eq!(read(&fs.crash(CrashMode::Strict), "log"), None);
}
