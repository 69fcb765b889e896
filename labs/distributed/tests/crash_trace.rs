//! A failed crash check writes a trace that says, for every pending operation, whether the
//! image the check saw kept it, under the strict, torn and reordered crash modes.

use std::io;
use std::path::{Path, PathBuf};

use distributed::check::panic_text;
use distributed::crash_trace::{CrashTrace, Kept, MAX_BYTES};
use distributed::explore::CrashExplorer;
use distributed::vfs::{OpenMode, SimFs, Vfs};

/// Runs an exploration that must fail, and reads the trace its message names.
fn failing_trace(explore: impl FnOnce() + std::panic::UnwindSafe) -> (String, CrashTrace) {
    let message = panic_text(std::panic::catch_unwind(explore).expect_err("the check fails").as_ref());
    let line = message.lines().find_map(|line| line.trim().strip_prefix("crash trace: ")).expect("a trace line");
    let path =
        PathBuf::from(line.strip_suffix(" (open it in the book's trace viewer)").expect("the trace was written"));
    let json = std::fs::read_to_string(&path).expect("the trace file exists");
    assert!(json.len() <= MAX_BYTES);
    let trace = CrashTrace::from_json(&json).expect("the trace reads back");
    assert_eq!(trace.to_json(), json, "the trace round-trips");
    (message, trace)
}

#[test]
fn a_trace_shows_the_rename_that_a_strict_crash_dropped() {
    // Replace `config` atomically but never sync the directory: after the rename, the
    // acknowledged version lives only in a pending directory operation.
    let workload = |fs: &SimFs, acked: &mut Vec<&'static str>| -> io::Result<()> {
        let tmp = fs.open(Path::new("config.tmp"), OpenMode::Create)?;
        tmp.write_all_at(0, b"version one")?;
        tmp.sync_data()?;
        fs.rename(Path::new("config.tmp"), Path::new("config"))?;
        acked.push("version one");
        Ok(())
    };
    let check = |disk: &SimFs, acked: &[&str]| {
        if let Some(last) = acked.last() {
            assert!(disk.exists(Path::new("config")).unwrap(), "[atomic-write] acknowledged {last:?} is gone");
        }
    };
    let (message, trace) = failing_trace(|| {
        CrashExplorer::new(3).torn_variants(0).explore(workload, check);
    });
    assert!(message.contains("crash point: after step 4 of 4"), "{message}");
    assert_eq!(trace.failure.invariant.as_deref(), Some("atomic-write"));
    assert_eq!((trace.crash.after_step, trace.crash.mode.as_str(), trace.crash.acked), (4, "strict", 1));
    let ops: Vec<&str> = trace.steps.iter().map(|step| step.op.as_str()).collect();
    assert_eq!(ops, ["create", "write", "sync", "rename"]);
    let acked: Vec<Option<u64>> = trace.steps.iter().map(|step| step.acked).collect();
    assert_eq!(acked, [Some(0), Some(0), Some(0), Some(1)], "acknowledged after the rename only");
    let write = &trace.steps[1];
    assert_eq!(write.data.as_ref().map(|data| data.text.as_str()), Some("version one"));
    let root = trace.directories.iter().find(|dir| dir.path == ".").expect("the root directory");
    let pending: Vec<(&str, Option<u64>, bool)> =
        root.pending.iter().map(|op| (op.op.as_str(), op.step, op.kept)).collect();
    assert_eq!(pending, [("create", Some(1), false), ("rename", Some(4), false)]);
    assert!(root.image.is_empty(), "the next boot found no name: {root:?}");
    let file = &trace.files[0];
    assert_eq!((file.durable_len, file.visible_len, file.image_len), (11, 11, None), "synced bytes, no name");
}

#[test]
fn a_trace_shows_which_pages_a_reordered_crash_kept() {
    // Two appends, one page each, never synced: a reordered crash can keep the second page
    // without the first.
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
    let (_, trace) = failing_trace(|| {
        CrashExplorer::new(5).torn_variants(0).reordered_variants(8).explore(workload, check);
    });
    assert_eq!(trace.crash.mode, "reordered");
    let log = trace.files.iter().find(|file| file.path == "log").expect("the log");
    let fates: Vec<(Option<u64>, Kept, Vec<[u64; 2]>)> =
        log.pending.iter().map(|write| (write.step, write.kept, write.kept_ranges.clone())).collect();
    assert_eq!(fates, [(Some(3), Kept::None, vec![]), (Some(4), Kept::All, vec![[4096, 8192]])]);
    assert_eq!(log.image_len, Some(8192));
}

#[test]
fn a_trace_shows_where_a_torn_crash_cut_a_write() {
    let workload = |fs: &SimFs, acked: &mut Vec<u8>| -> io::Result<()> {
        let file = fs.open(Path::new("log"), OpenMode::Create)?;
        fs.sync_dir(Path::new(""))?;
        file.write_all_at(0, &[7; 2000])?;
        acked.push(0);
        Ok(())
    };
    // A check that refuses any torn image: the trace must say where the cut was.
    let check = |disk: &SimFs, _: &[u8]| {
        let kept = disk.open(Path::new("log"), OpenMode::Read).and_then(|f| f.read_all()).unwrap_or_default();
        let whole = kept.iter().take_while(|&&b| b == 7).count();
        assert!(whole == 0 || whole == 2000, "[torn-tail] {whole} of 2000 bytes survived");
    };
    let (_, trace) = failing_trace(|| {
        CrashExplorer::new(11).torn_variants(16).explore(workload, check);
    });
    assert_eq!(trace.crash.mode, "torn");
    let write = &trace.files[0].pending[0];
    assert_eq!(write.kept, Kept::Part);
    let [start, end] = write.kept_ranges[0];
    assert_eq!(start, 0);
    assert!(end.is_multiple_of(512) && end < 2000, "cut at a sector boundary: {end}");
}
