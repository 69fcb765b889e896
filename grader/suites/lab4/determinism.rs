//! Determinism: one log, replayed on fresh replicas, gives the same state, the same snapshot
//! image and the same outputs, in this process and in two others.
//!
//! A `HashMap`'s iteration order is seeded per process (and per map), so a state machine that
//! iterates one can agree with itself in one process and disagree across two. The test re-runs
//! its own test binary (course-owned code may start processes; a student's may not) with
//! [`CHILD`] set; the child replays the same seeded log on a fresh simulated disk and prints
//! its digests on one line, which the parent compares.

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::StateMachineStorage;
use distributed::testing::sim_disk;
use distributed::vfs::CrashMode;
use lab1::SyncPolicy;
use lab4::Entry;
use std::process::Command as Process;

use crate::{commands, log_of, open, reopen};

/// Set in the child processes: replay and print, nothing else.
const CHILD: &str = "LAB4_DETERMINISM_CHILD";
/// The prefix of the child's line of digests.
const MARK: &str = "lab4-digests:";

/// The log every process replays: increments, batches, deletes and no-ops over 40 keys.
fn shared_log(seed: u64) -> Vec<Entry> {
    let mut commands = commands(seed, 150);
    for (i, command) in commands.iter_mut().enumerate().step_by(5) {
        command.op = lab4::Op::Put { key: format!("wide{i:03}"), value: vec![i as u8; 3] };
    }
    log_of(&commands, 1)
}

/// Appends and commits `log` on a fresh replica, takes a snapshot halfway, crashes, reopens
/// and replays: returns the CRC of the final image, the CRC of every output in order (first
/// application, then replay), and the image's length.
fn digests(seed: u64, log: &[Entry]) -> (u32, u32, usize) {
    let (sim, fs) = sim_disk(seed);
    let mut replica = open(&fs, SyncPolicy::EveryAppend);
    distributed::invariant_ok!("determinism", replica.append(log), "append");
    let half = log.len() as u64 / 2;
    distributed::invariant_ok!("determinism", replica.commit(half), "commit");
    let mut outputs = crc32fast::Hasher::new();
    for applied in distributed::invariant_ok!("determinism", replica.apply_committed(), "apply") {
        outputs.update(&applied.output);
    }
    distributed::invariant_ok!("determinism", replica.take_snapshot(), "snapshot");
    distributed::invariant_ok!("determinism", replica.commit(log.len() as u64), "commit");
    drop(replica);
    let mut replica = reopen(&sim.crash(CrashMode::Strict), SyncPolicy::EveryAppend);
    for applied in distributed::invariant_ok!("determinism", replica.apply_committed(), "replay") {
        outputs.update(&applied.output);
    }
    let image = distributed::invariant_ok!("determinism", replica.state().snapshot(), "image");
    (crc32fast::hash(&image), outputs.finalize(), image.len())
}

#[test]
fn one_log_replayed_in_two_processes_gives_the_same_digests() {
    let seed = lab_seed(0x4501);
    let log = shared_log(seed);
    let here = digests(seed, &log);
    if std::env::var_os(CHILD).is_some() {
        println!("{MARK} {:08x} {:08x} {}", here.0, here.1, here.2);
        return;
    }
    let again = digests(seed, &log);
    invariant!("determinism", here == again, "two replays in one process differ: {here:x?} and {again:x?}");
    let exe = std::env::current_exe().expect("setup: the test binary");
    let name = "determinism::one_log_replayed_in_two_processes_gives_the_same_digests";
    let mut seen = Vec::new();
    for child in 0..2 {
        let output = Process::new(&exe)
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("LAB_SEED", seed.to_string())
            .output()
            .expect("setup: start a child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().find_map(|l| l.find(MARK).map(|at| l[at + MARK.len()..].trim().to_string()));
        let Some(line) = line else {
            distributed::fail!(
                "determinism",
                "child {child} printed no digests (status {}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr),
            );
        };
        seen.push(line);
    }
    let mine = format!("{:08x} {:08x} {}", here.0, here.1, here.2);
    invariant!(
        "determinism",
        seen.iter().all(|line| *line == mine),
        "the same log replayed in three processes gave different (image CRC, outputs CRC, image length): this one {mine}, \
         the others {seen:?}"
    );
}

#[test]
fn replicas_fed_the_same_log_in_different_batches_agree() {
    let seed = lab_seed(0x4502);
    let log = shared_log(seed);
    let reference = digests(seed, &log);
    let (_, fs) = sim_disk(seed ^ 1);
    let mut replica = open(&fs, SyncPolicy::Never);
    let mut outputs = Vec::new();
    for chunk in log.chunks(7) {
        distributed::invariant_ok!("determinism", replica.append(chunk), "append");
        distributed::invariant_ok!("determinism", replica.commit(chunk[chunk.len() - 1].index), "commit");
        while let Some(applied) = distributed::invariant_ok!("determinism", replica.apply_next(), "apply_next") {
            outputs.push(applied.output);
        }
    }
    let image = distributed::invariant_ok!("determinism", replica.state().snapshot(), "image");
    let mut direct = lab4::KvStore::new();
    for entry in &log {
        distributed::invariant_ok!("determinism", direct.apply(&entry.data), "apply");
    }
    invariant!(
        "determinism",
        crc32fast::hash(&image) == reference.0
            && distributed::invariant_ok!("determinism", direct.snapshot(), "image") == image,
        "the same log gave another image when fed in batches of 7 under SyncPolicy::Never"
    );
}
