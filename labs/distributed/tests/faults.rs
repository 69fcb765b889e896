//! Each fault of the fault model (the book's "The fault model" chapter) really happens on
//! `SimFs`, and happens the same way for the same seed.

use std::io::ErrorKind;
use std::path::Path;

use distributed::vfs::{CrashMode, OpKind, OpenMode, PAGE_SIZE, SECTOR_SIZE, SimFs, SimFsConfig, Vfs, VfsFile};

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

#[test]
fn removed_and_replaced_files_free_their_space() {
    let fs = SimFs::with_config(SimFsConfig { seed: 1, capacity: Some(100) });
    durable_file(&fs, "a", &[1; 60]);
    assert_eq!(fs.used_bytes(), 60);
    // Replace `a` with a new file by rename: the old bytes are freed at once, synced or not.
    let b = fs.open(Path::new("b"), OpenMode::Create).unwrap();
    b.write_all_at(0, &[2; 40]).unwrap();
    drop(b);
    assert_eq!(fs.used_bytes(), 100);
    fs.rename(Path::new("b"), Path::new("a")).unwrap();
    assert_eq!(fs.used_bytes(), 40, "the replaced file's 60 bytes are free");
    fs.remove_file(Path::new("a")).unwrap();
    assert_eq!(fs.used_bytes(), 0, "a removed file with no open handle takes no space");
    let c = fs.open(Path::new("c"), OpenMode::Create).unwrap();
    c.write_all_at(0, &[3; 100]).expect("the whole capacity is free again");
    // A strict crash before the directory sync brings the old `a` back, with its bytes.
    assert_eq!(read(&fs.crash(CrashMode::Strict), "a").unwrap(), vec![1; 60]);
}

#[test]
fn an_open_handle_keeps_a_removed_file_s_space_until_it_is_dropped() {
    let fs = SimFs::with_config(SimFsConfig { seed: 1, capacity: Some(100) });
    let file = fs.open(Path::new("a"), OpenMode::Create).unwrap();
    file.write_all_at(0, &[1; 70]).unwrap();
    fs.remove_file(Path::new("a")).unwrap();
    assert_eq!(fs.used_bytes(), 70, "as with unlink on POSIX, the bytes stay while a handle is open");
    assert_eq!(file.read_all().unwrap(), vec![1; 70]);
    drop(file);
    assert_eq!(fs.used_bytes(), 0);
}

#[test]
fn growing_a_file_with_set_len_takes_no_space_until_it_is_written() {
    let fs = SimFs::with_config(SimFsConfig { seed: 1, capacity: Some(100) });
    let file = fs.open(Path::new("a"), OpenMode::Create).unwrap();
    file.set_len(1000).unwrap();
    assert_eq!(file.len().unwrap(), 1000);
    assert_eq!(fs.used_bytes(), 0, "a sparse file: the hole takes no space");
    assert_eq!(file.write_at(500, &[1; 150]).unwrap(), 100, "writing into the hole takes space");
    assert_eq!(fs.used_bytes(), 100);
    assert_eq!(file.write_at(500, &[2; 100]).unwrap(), 100, "overwriting what was written does not");
    file.set_len(550).unwrap();
    assert_eq!(fs.used_bytes(), 50, "cutting a file frees what was cut");
    assert_eq!(file.read_all().unwrap()[..500], [0; 500][..], "the hole reads as zeros");
}

#[test]
fn a_reordering_crash_may_keep_a_later_page_without_an_earlier_one() {
    let fs = SimFs::new(1);
    let file = durable_file(&fs, "log", &[]);
    let page = PAGE_SIZE as usize;
    let mut data = vec![1u8; page];
    data.extend(vec![2u8; page]);
    data.extend(vec![3u8; page]);
    file.write_all_at(0, &data).unwrap();
    let mut holes = 0;
    let mut shapes = std::collections::BTreeSet::new();
    for seed in 0..TORN_SEEDS {
        let bytes = read(&fs.crash(CrashMode::Reordered { seed }), "log").unwrap();
        let pages: Vec<u8> = bytes.chunks(page).map(|p| if p.iter().all(|&b| b == 0) { 0 } else { p[0] }).collect();
        for (k, chunk) in bytes.chunks(page).enumerate() {
            // Each page is whole or absent (zeros or garbage past the kept end): never cut.
            let expected = k as u8 + 1;
            let matching = chunk.iter().filter(|&&b| b == expected).count();
            assert!(matching == page || matching < page / 2, "page {k} is cut: {pages:?}");
        }
        if pages.first() == Some(&0) && pages.contains(&2) {
            holes += 1;
        }
        shapes.insert(pages);
    }
    assert!(holes > 0, "a later page survives without the first: {shapes:?}");
    // The torn mode keeps the old guarantee: never a later byte without every earlier one.
    for seed in 0..TORN_SEEDS {
        let bytes = read(&fs.crash(CrashMode::Torn { seed }), "log").unwrap();
        let second_kept = bytes.len() >= 2 * page && bytes[page..2 * page] == data[page..2 * page];
        assert!(!second_kept || bytes[..page] == data[..page], "a torn crash kept a later page alone");
    }
}

#[test]
fn a_reordering_crash_keeps_directory_operations_in_any_order_that_respects_creation() {
    let fs = SimFs::new(1);
    durable_file(&fs, "old", b"old");
    // Pending: create tmp, rename tmp -> current, remove old, create other.
    let tmp = fs.open(Path::new("tmp"), OpenMode::Create).unwrap();
    tmp.write_all_at(0, b"new").unwrap();
    tmp.sync_data().unwrap();
    fs.rename(Path::new("tmp"), Path::new("current")).unwrap();
    fs.remove_file(Path::new("old")).unwrap();
    fs.open(Path::new("other"), OpenMode::Create).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..TORN_SEEDS {
        let names = fs.crash(CrashMode::Reordered { seed }).read_dir(Path::new("")).unwrap();
        assert!(
            !names.contains(&"current".to_string()) || !names.contains(&"tmp".to_string()),
            "a rename is one namespace change: {names:?}"
        );
        seen.insert(names);
    }
    let other_without_old_removed =
        seen.iter().any(|n| n.contains(&"other".to_string()) && n.contains(&"old".to_string()));
    let removed_without_create = seen.iter().any(|n| !n.contains(&"old".to_string()) && n.len() == 1);
    assert!(other_without_old_removed && removed_without_create, "operations survive out of order: {seen:?}");
    // The rename depends on the create of `tmp`, so `current` never appears without it: the
    // only way to `current` is through `tmp`, which is checked above; and when neither
    // survived, the directory holds no trace of the new file.
    assert!(seen.iter().any(|n| !n.contains(&"tmp".to_string()) && !n.contains(&"current".to_string())));
}

#[test]
fn an_operation_on_a_name_never_survives_without_the_create_of_that_name() {
    let fs = SimFs::new(1);
    fs.open(Path::new("a"), OpenMode::Create).unwrap();
    fs.rename(Path::new("a"), Path::new("b")).unwrap();
    fs.rename(Path::new("b"), Path::new("c")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..TORN_SEEDS {
        let names = fs.crash(CrashMode::Reordered { seed }).read_dir(Path::new("")).unwrap();
        // Only a prefix of the chain create -> rename -> rename can survive.
        assert!(
            [vec![], vec!["a".to_string()], vec!["b".to_string()], vec!["c".to_string()]].contains(&names),
            "{names:?}"
        );
        seen.insert(names);
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[test]
fn synced_state_survives_a_reordering_crash() {
    let fs = SimFs::new(1);
    let file = durable_file(&fs, "log", &[5; 5000]);
    file.write_all_at(5000, &[6; 9000]).unwrap();
    for seed in 0..TORN_SEEDS {
        let bytes = read(&fs.crash(CrashMode::Reordered { seed }), "log").expect("a durable name survives");
        assert_eq!(&bytes[..5000], &[5; 5000][..], "synced bytes are never lost");
    }
}

#[test]
fn a_write_with_wrong_bytes_stores_one_flipped_bit_and_a_read_back_sees_it() {
    let fs = SimFs::new(1);
    let file = fs.open(Path::new("snap"), OpenMode::Create).unwrap();
    fs.store_wrong_bytes(true);
    file.write_all_at(0, &[0; 64]).expect("the write reports success");
    let stored = file.read_all().unwrap();
    assert_eq!(stored.iter().map(|b| b.count_ones()).sum::<u32>(), 1, "exactly one bit differs: {stored:?}");
    file.sync_data().unwrap();
    fs.sync_dir(Path::new("")).unwrap();
    assert_eq!(read(&fs.crash(CrashMode::Strict), "snap").unwrap(), stored, "and it is what reaches the disk");
    let again = SimFs::new(1);
    let file = again.open(Path::new("snap"), OpenMode::Create).unwrap();
    again.store_wrong_bytes(true);
    file.write_all_at(0, &[0; 64]).unwrap();
    assert_eq!(file.read_all().unwrap(), stored, "the same seed flips the same bit");
    again.store_wrong_bytes(false);
    file.write_all_at(0, &[0; 64]).unwrap();
    assert_eq!(file.read_all().unwrap(), vec![0; 64], "switched off, writes are faithful again");
}
