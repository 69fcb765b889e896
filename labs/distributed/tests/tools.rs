//! The kit's test tools work: the crash explorer visits every step and catches a broken
//! atomic write; the I/O counter counts.

use std::io;
use std::path::Path;
use std::sync::Arc;

use distributed::check::panic_text;
use distributed::explore::CrashExplorer;
use distributed::vfs::{OpenMode, SimFs, StatsFs, StdFs, Vfs, write_atomic};

/// A workload that replaces `config` three times with `replace`, acknowledging each version.
fn replace_three_times(
    replace: impl Fn(&SimFs, &[u8]) -> io::Result<()>,
) -> impl Fn(&SimFs, &mut Vec<Vec<u8>>) -> io::Result<()> {
    move |fs, acked| {
        for version in [&b"version one"[..], b"version two, longer than one", b"v3"] {
            replace(fs, version)?;
            acked.push(version.to_vec());
        }
        Ok(())
    }
}

/// After any crash, `config` holds the last acknowledged version or the one being written,
/// and exists if anything was acknowledged.
fn check_atomic(disk: &SimFs, acked: &[Vec<u8>]) {
    let versions: [&[u8]; 3] = [b"version one", b"version two, longer than one", b"v3"];
    let content = disk.open(Path::new("config"), OpenMode::Read).and_then(|f| f.read_all()).ok();
    match (acked.last(), content) {
        (None, None) => {}
        (Some(last), None) => panic!("[atomic-write] acknowledged version {:?} is gone", String::from_utf8_lossy(last)),
        (_, Some(bytes)) => {
            let next = versions.get(acked.len()).copied();
            let ok = acked.last().is_some_and(|last| *last == bytes) || next == Some(&bytes[..]);
            assert!(ok, "[atomic-write] config holds {:?}, a torn or stale version", String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn the_explorer_visits_every_step_of_a_workload_with_each_image() {
    let explorer = CrashExplorer::new(3).torn_variants(2);
    let checked = std::cell::Cell::new(0u64);
    let report =
        explorer.explore(replace_three_times(|fs, data| write_atomic(fs, Path::new("config"), data)), |disk, acked| {
            checked.set(checked.get() + 1);
            check_atomic(disk, acked);
        });
    // write_atomic is create, set_len, write, sync, rename, sync_dir: six steps, three times.
    assert_eq!(report.steps, 18, "{:#?}", report.ops);
    assert_eq!(report.crash_points, 19);
    assert_eq!(report.images_checked, 19 * 3);
    assert_eq!(checked.get(), report.images_checked);
}

#[test]
fn the_explorer_catches_an_atomic_write_that_does_not_sync_the_directory() {
    let no_dir_sync = |fs: &SimFs, data: &[u8]| -> io::Result<()> {
        let tmp = fs.open(Path::new("config.tmp"), OpenMode::Create)?;
        tmp.set_len(0)?;
        tmp.write_all_at(0, data)?;
        tmp.sync_data()?;
        fs.rename(Path::new("config.tmp"), Path::new("config"))
    };
    let caught = std::panic::catch_unwind(|| {
        CrashExplorer::new(3).explore(replace_three_times(no_dir_sync), check_atomic);
    });
    let message = panic_text(caught.expect_err("the missing directory sync is caught").as_ref());
    assert!(message.starts_with("[atomic-write] acknowledged version"), "{message}");
    assert!(message.contains("crash point: after step"), "{message}");
    assert!(message.contains("disk image: strict"), "{message}");
}

#[test]
fn the_explorer_catches_a_write_in_place() {
    let in_place = |fs: &SimFs, data: &[u8]| -> io::Result<()> {
        let file = fs.open(Path::new("config"), OpenMode::Create)?;
        file.set_len(0)?;
        file.write_all_at(0, data)?;
        file.sync_data()?;
        fs.sync_dir(Path::new(""))
    };
    let caught = std::panic::catch_unwind(|| {
        CrashExplorer::new(3).explore(replace_three_times(in_place), check_atomic);
    });
    let message = panic_text(caught.expect_err("writing in place is caught").as_ref());
    assert!(message.starts_with("[atomic-write]"), "{message}");
}

#[test]
fn the_explorer_refuses_a_workload_that_is_not_deterministic() {
    let runs = std::sync::atomic::AtomicU64::new(0);
    let caught = std::panic::catch_unwind(|| {
        CrashExplorer::new(3).explore(
            |fs, _: &mut Vec<()>| -> io::Result<()> {
                let n = runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                fs.open(Path::new(&format!("file-{n}")), OpenMode::Create)?;
                Ok(())
            },
            |_, _| {},
        );
    });
    let message = panic_text(caught.expect_err("a changing workload is refused").as_ref());
    assert!(message.contains("not deterministic"), "{message}");
}

fn count_io(fs: Arc<dyn Vfs>) {
    let stats = StatsFs::new(fs);
    stats.create_dir_all(Path::new("wal")).unwrap();
    let a = stats.open(Path::new("wal/a"), OpenMode::Create).unwrap();
    a.write_all_at(0, &[1; 100]).unwrap();
    a.write_all_at(100, &[2; 50]).unwrap();
    a.sync_data().unwrap();
    let mut buf = [0; 30];
    a.read_exact_at(0, &mut buf).unwrap();
    write_atomic(&stats, Path::new("wal/meta"), b"xyz").unwrap();
    let s = stats.stats();
    let a_stats = s.files[Path::new("wal/a")];
    assert_eq!((a_stats.writes, a_stats.bytes_written, a_stats.syncs), (2, 150, 1));
    assert_eq!((a_stats.reads, a_stats.bytes_read), (1, 30));
    assert_eq!(s.files[Path::new("wal/meta.tmp")].bytes_written, 3);
    assert_eq!((s.creates, s.renames, s.dir_syncs), (2, 1, 1));
    assert_eq!(s.total().syncs, 2);
    assert_eq!(s.all_syncs(), 3);
    assert!(s.to_string().contains("wal/a: 2 writes (150 B)"), "{s}");
    stats.reset();
    assert_eq!(stats.stats().total().writes, 0);
}

#[test]
fn the_io_counter_counts_per_file_on_the_simulated_disk() {
    count_io(Arc::new(SimFs::new(1)));
}

#[test]
fn the_io_counter_counts_per_file_on_the_real_disk() {
    let dir = tempfile::tempdir().unwrap();
    count_io(Arc::new(StdFs::new(dir.path())));
}

#[test]
fn the_sync_gate_holds_a_sync_until_every_participant_has_written() {
    let gate = distributed::testing::SyncGate::new(Arc::new(SimFs::new(1)), 2, std::time::Duration::from_secs(5));
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for name in ["a", "b"] {
            let (gate, barrier) = (&gate, &barrier);
            scope.spawn(move || {
                let file = gate.open(Path::new(name), OpenMode::Create).unwrap();
                for round in 0..5u64 {
                    if barrier.wait().is_leader() {
                        gate.start_round();
                    }
                    barrier.wait();
                    file.write_all_at(round, b"x").unwrap();
                    file.sync_data().unwrap();
                }
            });
        }
    });
    assert!(!gate.gave_up(), "both threads wrote in every round, so no sync waited out its patience");
}

#[test]
fn the_sync_gate_gives_up_when_the_others_cannot_write() {
    let gate = distributed::testing::SyncGate::new(Arc::new(SimFs::new(1)), 2, std::time::Duration::from_millis(20));
    let file = gate.open(Path::new("a"), OpenMode::Create).unwrap();
    file.write_all_at(0, b"x").unwrap();
    file.sync_data().expect("the sync goes through once the gate gives up");
    assert!(gate.gave_up(), "the second participant never wrote");
    file.sync_data().unwrap();
}

#[test]
fn a_workload_that_panics_after_the_power_is_cut_is_not_a_failure() {
    // Like a log that unwraps every I/O result: once the power is off, its next call panics.
    let report = CrashExplorer::new(3).torn_variants(1).explore(
        |fs, _: &mut Vec<()>| -> io::Result<()> {
            let file = fs.open(Path::new("log"), OpenMode::Create).expect("open");
            for i in 0..4u64 {
                file.write_all_at(i, b"x").expect("write");
            }
            Ok(())
        },
        |_, _| {},
    );
    assert_eq!(report.crash_points, 6);
}

#[test]
fn a_workload_that_panics_with_the_power_on_is_reported_with_its_message() {
    let caught = std::panic::catch_unwind(|| {
        CrashExplorer::new(3).explore(
            |fs, _: &mut Vec<()>| -> io::Result<()> {
                fs.open(Path::new("log"), OpenMode::Create)?;
                fs.open(Path::new("missing"), OpenMode::Read).expect("[durability] a bug of the workload");
                Ok(())
            },
            |_, _| {},
        );
    });
    let message = panic_text(caught.expect_err("the panic is reported").as_ref());
    assert!(message.contains("[durability] a bug of the workload"), "{message}");
}

#[test]
fn the_explorer_checks_reordered_images_when_asked() {
    let workload = replace_three_times(|fs, data| write_atomic(fs, Path::new("config"), data));
    let default = CrashExplorer::new(3).explore(&workload, check_atomic);
    let reordered = CrashExplorer::new(3).reordered_variants(2).explore(&workload, check_atomic);
    assert_eq!(default.images_checked, default.crash_points * 4, "strict and three torn by default");
    assert_eq!(reordered.images_checked, reordered.crash_points * 6, "and two reordered when asked");
}

#[test]
fn the_explorer_with_reordering_catches_a_log_that_trusts_in_order_writeback() {
    // Two unsynced appends, then a sync of the first only as "acknowledgement" of both: a
    // reordered crash can keep the second record's page without the first's, which an
    // ordered-prefix log would never see.
    let workload = |fs: &SimFs, acked: &mut Vec<u8>| -> io::Result<()> {
        let file = fs.open(Path::new("log"), OpenMode::Create)?;
        fs.sync_dir(Path::new(""))?;
        file.write_all_at(0, &[1; 4096])?;
        file.write_all_at(4096, &[2; 4096])?;
        acked.push(0);
        file.sync_data()?;
        Ok(())
    };
    let check = |disk: &SimFs, _: &[u8]| {
        let bytes = disk.open(Path::new("log"), OpenMode::Read).and_then(|f| f.read_all()).unwrap_or_default();
        let first_lost = bytes.len() < 4096 || bytes[..4096] != [1; 4096];
        let second_kept = bytes.len() >= 8192 && bytes[4096..] == [2; 4096];
        assert!(!(first_lost && second_kept), "[ordered-recovery] the second record survived without the first");
    };
    CrashExplorer::new(5).explore(workload, check);
    let caught = std::panic::catch_unwind(|| CrashExplorer::new(5).reordered_variants(8).explore(workload, check));
    let text = panic_text(caught.expect_err("a reordered image breaks the order").as_ref());
    assert!(text.contains("[ordered-recovery]") && text.contains("reordered(seed="), "{text}");
}

#[test]
fn a_directory_snapshot_sees_every_change_and_none_where_there_is_none() {
    use distributed::testing::DirSnapshot;
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("log/broken")).unwrap();
    fs.open(Path::new("log/a"), OpenMode::Create).unwrap().write_all_at(0, b"abc").unwrap();
    fs.open(Path::new("log/broken/x"), OpenMode::Create).unwrap().write_all_at(0, b"xyz").unwrap();
    let before = DirSnapshot::take(&fs, "log").unwrap();
    assert_eq!(before.files(), [Path::new("log/a"), Path::new("log/broken/x")]);
    assert!(before.differences(&DirSnapshot::take(&fs, "log").unwrap()).is_empty());
    fs.open(Path::new("log/a"), OpenMode::ReadWrite).unwrap().set_len(2).unwrap();
    fs.open(Path::new("log/b"), OpenMode::Create).unwrap();
    fs.remove_file(Path::new("log/broken/x")).unwrap();
    let changes = before.differences(&DirSnapshot::take(&fs, "log").unwrap());
    assert_eq!(changes, ["log/a: length changed (3 -> 2)", "log/broken/x: gone", "log/b: a new file"], "{changes:?}");
    let real = tempfile::tempdir().unwrap();
    let std_fs = StdFs::new(real.path());
    std_fs.create_dir_all(Path::new("d/sub")).unwrap();
    std_fs.open(Path::new("d/sub/f"), OpenMode::Create).unwrap().write_all_at(0, b"1").unwrap();
    assert_eq!(DirSnapshot::take(&std_fs, "d").unwrap().files(), [Path::new("d/sub/f")], "the real disk too");
}

#[test]
fn the_sync_hold_pauses_a_completed_sync_while_another_thread_writes() {
    use distributed::testing::SyncHold;
    use distributed::vfs::{CrashMode, VfsFile};
    use std::time::Duration;
    let sim = SimFs::new(1);
    let hold = SyncHold::new(Arc::new(sim.clone()), Duration::from_secs(5));
    let file: Arc<dyn VfsFile> = Arc::from(hold.open(Path::new("log"), OpenMode::Create).unwrap());
    hold.sync_dir(Path::new("")).unwrap();
    hold.hold_next_sync();
    std::thread::scope(|scope| {
        let syncer = Arc::clone(&file);
        scope.spawn(move || {
            syncer.write_all_at(0, b"first").unwrap();
            syncer.sync_data().unwrap();
        });
        assert!(hold.wait_until_held(), "the sync completes and is held");
        let writes = hold.writes();
        file.write_all_at(5, b"second").unwrap();
        assert!(hold.wait_for_writes(writes + 1));
        hold.release();
    });
    let after = sim.crash(CrashMode::Strict);
    let bytes = after.open(Path::new("log"), OpenMode::Read).unwrap().read_all().unwrap();
    assert_eq!(bytes, b"first", "the write made during the hold was not covered by the held sync");
}
