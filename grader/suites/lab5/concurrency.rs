//! Many reader threads and the background applier at once. Every entry is a batch that sets
//! keys a, b, c and d to its own index, so any answer can be checked on its own: all four
//! values equal, equal to the index the answer reports, and at least the commit index seen
//! before the read started.

use std::sync::atomic::{AtomicU64, Ordering};

use distributed::testing::sim_disk;

use super::*;

const KEYS: [&str; 4] = ["a", "b", "c", "d"];

fn check_answer(read: &Read, floor: Index, previous: Index, degraded: bool) {
    let expected = if read.index == 0 { None } else { value(&read.index.to_string()) };
    invariant!(
        "atomic-visibility",
        read.values.iter().all(|v| *v == expected),
        "an answer at index {} holds {:?}: every entry sets a, b, c and d to its index together",
        read.index,
        read.values
    );
    if !degraded {
        invariant!(
            "read-barrier",
            read.index >= floor,
            "a read started after commit index {floor} was published answered index {}",
            read.index
        );
    }
    invariant!(
        "monotonic",
        read.index >= previous,
        "a reader's answers went back from index {previous} to {}",
        read.index
    );
}

/// Reads each reader makes; the writer commits until every reader is done.
const READS_PER_READER: u64 = 400;

#[test]
fn many_readers_and_the_background_applier_agree() {
    let (_, fs) = sim_disk(distributed::rng::lab_seed(0xc0));
    let (node, _) = open(&fs);
    let applier = node.start_applier();
    let done = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..8)
        .map(|id| {
            let (node, done) = (node.clone(), Arc::clone(&done));
            thread::spawn(move || {
                let mut previous = 0;
                for _ in 0..READS_PER_READER {
                    let floor = node.status().commit_index;
                    let degraded = id % 2 == 1;
                    let read = if degraded {
                        node.read_stale(&KEYS, previous).unwrap_or_else(|e| distributed::fail!("monotonic", "{e}"))
                    } else {
                        node.read(&KEYS, PATIENT).unwrap_or_else(|e| distributed::fail!("read-barrier", "{e}"))
                    };
                    check_answer(&read, floor, previous, degraded);
                    previous = read.index;
                }
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // The writer commits batches of 1 to 4 entries until every reader has made its reads.
    let mut index = 0;
    for group in [1, 3, 2, 1, 4, 1, 2, 3].iter().cycle() {
        if done.load(Ordering::SeqCst) == 8 && index >= 20 {
            break;
        }
        let entries: Vec<Entry> = (index + 1..=index + group).map(|i| batch(i, &KEYS)).collect();
        index += group;
        write(&node, &entries);
    }
    for reader in readers {
        if let Err(panic) = reader.join() {
            std::panic::resume_unwind(panic);
        }
    }
    wait_until(|| node.status().last_applied == index);
    distributed::invariant_ok!("atomic-visibility", applier.stop(), "the applier stops");
    let read = distributed::invariant_ok!("atomic-visibility", node.read(&KEYS, Duration::ZERO), "caught up");
    check_answer(&read, index, index, false);
}

#[test]
fn readers_waiting_on_an_empty_node_are_all_served_by_one_commit() {
    let (_, fs) = sim_disk(distributed::rng::lab_seed(0xc1));
    let (node, _) = open(&fs);
    write(&node, &[batch(1, &KEYS)]);
    let readers: Vec<Reader> = (0..16).map(|_| spawn_read(&node, &KEYS, PATIENT)).collect();
    wait_until(|| node.status().waiting == 16 || readers.iter().any(|r| r.is_finished()));
    invariant!(
        "read-barrier",
        readers.iter().all(|r| !r.is_finished()),
        "a read at read index 1 returned before entry 1 was applied"
    );
    let applier = node.start_applier();
    for reader in readers {
        let read = finish(reader).unwrap_or_else(|e| distributed::fail!("read-barrier", "{e}"));
        check_answer(&read, 1, 1, false);
    }
    distributed::invariant_ok!("read-barrier", applier.stop(), "the applier stops");
}
