//! Adversarial interleavings: a seed chooses, step by step, whether to commit the next entry,
//! apply one, start a read (with a deadline of 0, 5 or 10 ms) or move the clock by 5 ms. After
//! each step the test waits until every read has either returned or gone to sleep on the
//! barrier, then checks every answer against what the schedule allows:
//!
//! - an answer reflects at least its read index (the commit index when it was started);
//! - a Timeout comes only after its deadline, and only if last_applied was still below the
//!   read index when the clock passed the deadline: a read whose entries were applied in time
//!   is served, whatever came after.

use distributed::rng::{TestRng, lab_seed};
use distributed::testing::sim_disk;

use super::*;

const ENTRIES: Index = 12;
const STEP: Duration = Duration::from_millis(5);

struct Pending {
    reader: Option<Reader>,
    read_index: Index,
    deadline: Duration,
    /// last_applied when the clock reached the deadline.
    applied_at_deadline: Option<Index>,
}

fn check(read: &Pending, answer: &Result<Read, ReadError>, now: Duration, seed: u64) {
    let ri = read.read_index;
    match answer {
        Ok(r) => invariant!(
            "read-barrier",
            r.index >= ri && (ri == 0 || r.values == vec![value(&format!("v{ri}"))]),
            "a read started at commit index {ri} answered {r:?} (schedule seed {seed:#x})"
        ),
        Err(ReadError::Timeout { read_index, .. }) => {
            invariant!(
                "read-barrier",
                *read_index == ri && read.deadline <= now,
                "a read started at commit index {ri} with its deadline at {:?} answered {answer:?} with the clock at \
                 {now:?} (schedule seed {seed:#x})",
                read.deadline
            );
            let applied = read.applied_at_deadline.unwrap_or(0);
            invariant!(
                "bounded-progress",
                applied < ri,
                "a read with read index {ri} timed out although last_applied was already {applied} when its deadline \
                 passed: it was woken by that apply and must have been served (schedule seed {seed:#x})"
            );
        }
        Err(other) => invariant!(
            "read-barrier",
            false,
            "a read on a node with nothing to replay answered {other:?} (schedule seed {seed:#x})"
        ),
    }
}

/// Waits until every read still running is asleep on the barrier.
fn quiesce(node: &Node, reads: &[Pending]) {
    wait_until(|| {
        let running = reads.iter().filter(|r| r.reader.as_ref().is_some_and(|h| !h.is_finished())).count();
        node.status().waiting >= running
    });
}

fn run_schedule(seed: u64) {
    let mut rng = TestRng::new(seed);
    let (_, fs) = sim_disk(seed);
    let (node, clock) = open(&fs);
    distributed::invariant_ok!("read-barrier", node.append(&(1..=ENTRIES).map(numbered).collect::<Vec<_>>()), "append");
    let (mut committed, mut applied, mut now) = (0, 0, Duration::ZERO);
    let mut reads: Vec<Pending> = Vec::new();
    for _ in 0..70 {
        match rng.below(4) {
            0 if committed < ENTRIES => {
                committed += 1;
                distributed::invariant_ok!("read-barrier", node.commit(committed), "commit");
            }
            1 if applied < committed => {
                applied += 1;
                apply(&node, applied);
            }
            2 => {
                let timeout = STEP * rng.below(3) as u32;
                let key = format!("k{}", committed.max(1));
                let applied_at_deadline = (timeout == Duration::ZERO).then_some(applied);
                reads.push(Pending {
                    reader: Some(spawn_read(&node, &[&key], timeout)),
                    read_index: committed,
                    deadline: now + timeout,
                    applied_at_deadline,
                });
            }
            _ => {
                now += STEP;
                for read in reads.iter_mut().filter(|r| r.deadline <= now && r.applied_at_deadline.is_none()) {
                    read.applied_at_deadline = Some(applied);
                }
                clock.advance(STEP);
            }
        }
        quiesce(&node, &reads);
        for read in reads.iter_mut() {
            if read.reader.as_ref().is_some_and(JoinHandle::is_finished) {
                let answer = finish(read.reader.take().expect("setup: running"));
                check(read, &answer, now, seed);
            }
        }
    }
    // The end: commit and apply everything, then let every deadline pass.
    while committed < ENTRIES {
        committed += 1;
        distributed::invariant_ok!("read-barrier", node.commit(committed), "commit");
    }
    while applied < committed {
        applied += 1;
        apply(&node, applied);
    }
    now += PATIENT;
    clock.advance(PATIENT);
    for read in reads.iter_mut() {
        if let Some(reader) = read.reader.take() {
            read.applied_at_deadline.get_or_insert(applied);
            let answer = finish(reader);
            check(read, &answer, now, seed);
        }
    }
}

#[test]
fn random_interleavings_of_commits_applies_reads_and_deadlines() {
    let base = lab_seed(0x5c4e_d01e);
    for round in 0..12 {
        run_schedule(base.wrapping_add(round));
    }
}

#[test]
fn readers_arriving_between_every_apply_step_are_served_in_order() {
    let (_, fs) = sim_disk(lab_seed(0x51));
    let (node, _) = open(&fs);
    write(&node, &(1..=8).map(numbered).collect::<Vec<_>>());
    // Before each apply step a new read arrives (all at read index 8); every step applies one
    // entry; none is served before the last.
    let mut readers = Vec::new();
    for step in 1..=8 {
        readers.push(spawn_read(&node, &["k8"], PATIENT));
        wait_until(|| node.status().waiting >= readers.len() || readers.iter().any(|r| r.is_finished()));
        invariant!(
            "read-barrier",
            readers.iter().all(|r| !r.is_finished()),
            "a read at read index 8 returned with last_applied {}",
            step - 1
        );
        apply(&node, step);
    }
    for reader in readers {
        let answer = finish(reader);
        invariant!(
            "read-barrier",
            matches!(&answer, Ok(r) if r.index == 8 && r.values == vec![value("v8")]),
            "a read at read index 8 answered {answer:?}"
        );
    }
}
