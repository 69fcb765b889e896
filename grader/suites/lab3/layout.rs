//! The files on disk, read by a parser written from the chapter alone.

use std::sync::Arc;

use distributed::invariant;
use distributed::rng::{TestRng, lab_seed};
use distributed::storage::Snapshot;
use distributed::testing::sim_disk;
use distributed::vfs::OpenMode;
use lab3::format::{parse_snapshot_file_name, snapshot_file_name};

use crate::{latest, meta, name_of, names, open_on, parse_file, path_of, snapshot};

#[test]
fn snapshot_files_follow_the_byte_table() {
    let (sim, fs) = sim_disk(lab_seed(0x61));
    let store = open_on(Arc::clone(&fs), 3);
    let mut rng = TestRng::new(lab_seed(0x61));
    let saved: Vec<Snapshot> = (1..=3u64).map(|k| snapshot(k * 100, k, rng.in_range(0, 3000) as usize)).collect();
    for s in &saved {
        distributed::invariant_ok!("on-disk-format", store.save(s), "store.save(..)");
    }
    let files = names(&sim);
    let expected: Vec<String> = saved.iter().map(|s| name_of(s.meta)).collect();
    invariant!("on-disk-format", files == expected, "the directory holds {files:?}, expected {expected:?}");
    for s in &saved {
        let bytes = sim.durable_contents(path_of(&name_of(s.meta))).expect("setup: sim.durable_contents(..)");
        let parsed = bytes.as_deref().map(parse_file);
        invariant!(
            "on-disk-format",
            parsed == Some(Ok(s.clone())),
            "the durable file of {:?} does not parse as the chapter's format: {:?}",
            s.meta,
            parsed.map(|p| p.map(|s| s.meta))
        );
    }
}

#[test]
fn a_file_written_from_the_byte_table_is_read() {
    // A snapshot written by another tool, from the table alone.
    let (sim, fs) = sim_disk(lab_seed(0x62));
    let data = b"written by hand".to_vec();
    let mut bytes = b"RSMSNP01".to_vec();
    bytes.extend_from_slice(&77u64.to_le_bytes());
    bytes.extend_from_slice(&5u64.to_le_bytes());
    bytes.extend_from_slice(&(data.len() as u64).to_le_bytes());
    let header_crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&header_crc.to_le_bytes());
    bytes.extend_from_slice(&data);
    let file_crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&file_crc.to_le_bytes());
    fs.create_dir_all(std::path::Path::new(crate::DIR)).expect("setup: fs.create_dir_all(..)");
    let file = fs.open(&path_of(&name_of(meta(77, 5))), OpenMode::Create).expect("setup: fs.open(..)");
    file.write_all_at(0, &bytes).expect("setup: file.write_all_at(..)");
    drop(file);
    let store = open_on(fs, 2);
    invariant!(
        "on-disk-format",
        latest(&store) == Some(Snapshot { meta: meta(77, 5), data }),
        "a file built from the chapter's byte table was not read back as its snapshot"
    );
    let _ = sim;
}

#[test]
fn names_sort_by_term_then_index_and_only_snapshot_names_parse() {
    let mut rng = TestRng::new(lab_seed(0x63));
    let mut metas: Vec<_> = (0..200).map(|_| meta(rng.next_u64() >> rng.below(64), rng.below(1 << 20))).collect();
    metas.push(meta(u64::MAX, u64::MAX));
    metas.push(meta(0, 0));
    for m in &metas {
        let name = snapshot_file_name(*m);
        invariant!("on-disk-format", name == name_of(*m), "the name of {m:?} is {name:?}, expected {:?}", name_of(*m));
        invariant!("on-disk-format", parse_snapshot_file_name(&name) == Some(*m), "{name:?} does not parse back");
    }
    let mut by_name = metas.clone();
    by_name.sort_by_key(|m| snapshot_file_name(*m));
    let mut by_key = metas;
    by_key.sort_by_key(|m| (m.last_term, m.last_index));
    invariant!("on-disk-format", by_name == by_key, "names do not sort as (term, index)");
    for bad in [
        "0000000000000001-0000000000000002.snap.tmp",
        "0000000000000001-0000000000000002.snap.broken",
        "0000000000000001-000000000000000G.snap",
        "0000000000000001-0000000000000002.wal",
        "000000000000001-0000000000000002.snap",
        "0000000000000001_0000000000000002.snap",
        "0000000000000001-0000000000000002",
        "",
    ] {
        invariant!("on-disk-format", parse_snapshot_file_name(bad).is_none(), "{bad:?} parsed as a snapshot name");
    }
}

#[test]
fn unrelated_files_are_left_alone() {
    let (sim, fs) = sim_disk(lab_seed(0x64));
    fs.create_dir_all(std::path::Path::new(crate::DIR)).expect("setup: fs.create_dir_all(..)");
    for name in ["README", "0000000000000001-0000000000000002.snap.broken", "notes.snapx"] {
        let file = fs.open(&path_of(name), OpenMode::Create).expect("setup: fs.open(..)");
        file.write_all_at(0, b"keep me").expect("setup: file.write_all_at(..)");
    }
    let store = open_on(Arc::clone(&fs), 1);
    for k in 1..=3 {
        distributed::invariant_ok!("atomic-write", store.save(&snapshot(k, 1, 10)), "store.save(..)");
    }
    for name in ["README", "0000000000000001-0000000000000002.snap.broken", "notes.snapx"] {
        invariant!(
            "atomic-write",
            sim.contents(path_of(name)).ok().as_deref() == Some(&b"keep me"[..]),
            "{name} was changed or removed by the store"
        );
    }
}

/// Snapshots of sizes around and well past any buffer a store reads or verifies with (the
/// reference's are 256 KiB), none a multiple of a page: each is read back whole and exactly,
/// and its file follows the byte table.
#[test]
fn snapshots_larger_than_any_buffer_round_trip_exactly() {
    let (sim, fs) = sim_disk(lab_seed(0x63));
    let store = open_on(Arc::clone(&fs), 1);
    for (k, len) in [(1u64, 4097usize), (2, 300_001), (3, (1 << 20) + 7), (4, (3 << 18) + 4095)] {
        let saved = snapshot(k * 10, 1, len);
        distributed::invariant_ok!("durability", store.save(&saved), "store.save(..) of {len} bytes");
        let read = latest(&store);
        invariant!(
            "durability",
            read.as_ref() == Some(&saved),
            "latest() after saving {len} bytes returned {:?} ({} bytes)",
            read.as_ref().map(|s| s.meta),
            read.as_ref().map_or(0, |s| s.data.len())
        );
        let bytes = sim.durable_contents(path_of(&name_of(saved.meta))).expect("setup: sim.durable_contents(..)");
        let parsed = bytes.as_deref().map(parse_file);
        invariant!(
            "on-disk-format",
            parsed == Some(Ok(saved.clone())),
            "the durable file of {len} bytes does not parse as the chapter's format"
        );
    }
}
