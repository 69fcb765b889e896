//! Lab 8's hidden suite, Raft part: openraft's suite on one more engine, the course's checks
//! under more crashes and on more engines, the cluster with the leader restarted, and the crash
//! explorer on a longer recorded run with a seeded sample of its crash points restarted into
//! the cluster.

#![allow(clippy::result_large_err)] // openraft's StorageError is large

use std::collections::BTreeMap;
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::rng::{TestRng, lab_seed};
use distributed::vfs::{CrashMode, SimFs};
use distributed::{fail, invariant};
use lab8::raft::harness::{Backend, files_on, openraft_suite, runtime};
use lab8::raft::lab4::{Command, Op};
use lab8::raft::openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use lab8::raft::openraft::{EntryPayload, RaftSnapshotBuilder, StoredMembership};
use lab8::raft::record::replay;
use lab8::raft::{
    Call, Cluster, DurableView, Entry, LogId, LogStore, RecordingEngine, SnapshotImage, SnapshotMeta,
    StateMachineStore, Vote, open,
};
use lab8::{Engine, MemEngine};

fn log_id(term: u64, index: u64) -> LogId {
    lab8::raft::openraft::testing::log_id(term, 1, index)
}

fn put(key: &str, value: &str) -> Op {
    Op::Put { key: key.to_string(), value: value.as_bytes().to_vec() }
}

fn entry(term: u64, index: u64) -> Entry {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(Command::new(index, put(&format!("k{}", index % 4), &format!("v{index}")))),
    }
}

fn opened(engine: Arc<dyn Engine>) -> (LogStore, StateMachineStore) {
    open(engine).unwrap_or_else(|e| fail!("durability", "the adapters did not open over the engine: {e}"))
}

fn mem() -> Arc<dyn Engine> {
    Arc::new(MemEngine::new())
}

fn three_mem_engines() -> Vec<(u64, Arc<dyn Engine>)> {
    (1..=3).map(|id| (id, mem())).collect()
}

mod storage {
    use super::*;

    #[test]
    fn openraft_storage_suite_passes_on_the_redb_engine() {
        if let Err(e) = openraft_suite(Backend::Redb, lab_seed(181)) {
            fail!("storage-contract", "openraft's Suite::test_all on the redb engine over SimFs: {e}");
        }
    }

    #[test]
    fn every_acknowledged_vote_survives_every_crash_point() {
        let seed = lab_seed(182);
        let votes = [Vote::new(1, 1), Vote::new(2, 3), Vote::new(2, 3), Vote::new(3, 2), Vote::new(4, 1)];
        let rt = runtime();
        CrashExplorer::new(seed).explore(
            |fs, acked: &mut Vec<Vote>| {
                rt.block_on(async {
                    let (mut log, _) = opened(files_on(fs).map_err(|e| e.to_string())?);
                    for vote in votes {
                        log.save_vote(&vote).await.map_err(|e| e.to_string())?;
                        acked.push(vote);
                    }
                    Ok::<(), String>(())
                })
            },
            |image, acked| {
                let Some(last) = acked.last() else { return };
                let seen = rt.block_on(async {
                    let (mut log, _) = opened(files_on(image).unwrap_or_else(|e| fail!("durability", "reopen: {e}")));
                    log.read_vote().await.unwrap_or_else(|e| fail!("vote-once", "read_vote: {e}"))
                });
                invariant!(
                    "vote-once",
                    seen.is_some_and(|v| v >= *last),
                    "save_vote({last}) returned, and after a crash the node's vote is {seen:?}: it may vote below it"
                );
            },
        );
    }

    #[test]
    fn save_committed_is_read_back_by_new_adapters_on_every_engine() {
        for backend in [Backend::Mem, Backend::Files, Backend::Redb] {
            let engine = backend.fresh(lab_seed(183)).unwrap_or_else(|e| fail!("durability", "{backend:?}: {e}"));
            let rt = runtime();
            let committed = rt.block_on(async {
                let (mut log, _) = opened(engine.clone());
                log.blocking_append((1..=5).map(|i| entry(2, i))).await.unwrap_or_else(|e| fail!("durability", "{e}"));
                log.save_committed(Some(log_id(2, 4))).await.unwrap_or_else(|e| fail!("persisted-commit", "{e}"));
                engine.flush().unwrap_or_else(|e| fail!("durability", "{e}"));
                let (mut again, _) = opened(engine.clone());
                again.read_committed().await.unwrap_or_else(|e| fail!("persisted-commit", "{e}"))
            });
            invariant!(
                "persisted-commit",
                committed == Some(log_id(2, 4)),
                "{backend:?}: save_committed({:?}) and a flush, then new adapters over the engine read {committed:?}",
                log_id(2, 4)
            );
        }
    }

    #[test]
    fn a_purge_after_a_snapshot_keeps_every_entry_somewhere_after_a_reopen() {
        for backend in [Backend::Mem, Backend::Redb] {
            let engine = backend.fresh(lab_seed(184)).unwrap_or_else(|e| fail!("durability", "{backend:?}: {e}"));
            let rt = runtime();
            rt.block_on(async {
                let (mut log, mut sm) = opened(engine.clone());
                log.blocking_append((1..=12).map(|i| entry(1, i))).await.unwrap_or_else(|e| fail!("durability", "{e}"));
                sm.apply((1..=6).map(|i| entry(1, i))).await.unwrap_or_else(|e| fail!("durability", "{e}"));
                let snapshot = sm.get_snapshot_builder().await.build_snapshot().await;
                let snapshot = snapshot.unwrap_or_else(|e| fail!("prefix-compaction", "build_snapshot: {e}"));
                let upto = snapshot.meta.last_log_id.unwrap_or_else(|| fail!("prefix-compaction", "an empty snapshot"));
                log.purge(upto).await.unwrap_or_else(|e| fail!("prefix-compaction", "purge: {e}"));
                engine.flush().unwrap_or_else(|e| fail!("durability", "{e}"));
            });
            let view = DurableView::read_engine(engine.clone()).unwrap_or_else(|e| fail!("durability", "{e}"));
            let purged = view.purged.map_or(0, |p| p.index);
            let covered = view.snapshot.map_or(0, |s| s.index);
            invariant!(
                "prefix-compaction",
                purged == 6 && covered >= purged,
                "{backend:?}: after a purge up to the snapshot (6) and a reopen, the log is purged to {purged} and \
                 the durable snapshot covers {covered}"
            );
        }
    }

    #[test]
    fn an_install_over_a_bigger_state_on_redb_leaves_only_the_snapshots_keys() {
        let engine = Backend::Redb.fresh(lab_seed(185)).unwrap_or_else(|e| fail!("durability", "{e}"));
        let image = SnapshotImage {
            log_time: 90,
            pairs: vec![("k1".to_string(), b"new".to_vec()), ("z".to_string(), b"26".to_vec())],
        };
        let meta = SnapshotMeta {
            last_log_id: Some(log_id(3, 90)),
            last_membership: StoredMembership::default(),
            snapshot_id: "3-1-90".to_string(),
        };
        runtime().block_on(async {
            let (_, mut sm) = opened(engine.clone());
            sm.apply((1..=8).map(|i| entry(1, i))).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            let mut data = sm.begin_receiving_snapshot().await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            *data.get_mut() = image.encode();
            sm.install_snapshot(&meta, data).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
        });
        let (_, sm) = opened(engine);
        let pairs = sm.pairs().unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
        invariant!("snapshot-install", pairs == image.pairs, "after the install and a reopen the state is {pairs:?}");
        let applied = sm.applied().unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
        invariant!(
            "snapshot-install",
            applied == meta.last_log_id,
            "after the install the applied log id is {applied:?}"
        );
    }

    #[test]
    fn a_truncation_survives_a_crash_and_keeps_what_precedes_it() {
        let fs = SimFs::new(lab_seed(186));
        runtime().block_on(async {
            let (mut log, _) = opened(files_on(&fs).unwrap_or_else(|e| fail!("durability", "{e}")));
            log.blocking_append((1..=8).map(|i| entry(1, i))).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            log.truncate(log_id(1, 5)).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            log.blocking_append((5..=6).map(|i| entry(2, i))).await.unwrap_or_else(|e| fail!("durability", "{e}"));
        });
        let view = DurableView::read_engine(
            files_on(&fs.crash(CrashMode::Strict)).unwrap_or_else(|e| fail!("durability", "{e}")),
        )
        .unwrap_or_else(|e| fail!("durability", "{e}"));
        let expected: Vec<LogId> = (1..=4).map(|i| log_id(1, i)).chain((5..=6).map(|i| log_id(2, i))).collect();
        invariant!(
            "durability",
            view.log == expected,
            "after truncate(5), appends of term 2 and a crash the log is {:?}",
            view.log
        );
    }
}

mod cluster {
    use super::*;

    async fn converged(cluster: &Cluster, index: u64) -> BTreeMap<u64, Vec<(String, Vec<u8>)>> {
        let mut states = BTreeMap::new();
        for id in cluster.running() {
            cluster.wait_applied(id, index).await.unwrap_or_else(|e| fail!("matching", "node {id}: {e}"));
            let node = cluster.node(id).unwrap_or_else(|e| fail!("matching", "{e}"));
            states.insert(id, node.state_machine.pairs().unwrap_or_else(|e| fail!("matching", "node {id}: {e}")));
        }
        states
    }

    #[test]
    fn the_leader_restarted_from_a_crashed_disk_keeps_the_committed_history() {
        let seed = lab_seed(187);
        let disks: Vec<SimFs> = (0..3).map(|i| SimFs::new(seed + i)).collect();
        runtime().block_on(async {
            let engines = (1..=3u64)
                .map(|id| (id, files_on(&disks[id as usize - 1]).unwrap_or_else(|e| fail!("durability", "{e}"))))
                .collect();
            let mut cluster = Cluster::start(engines).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            let mut acked = BTreeMap::new();
            for i in 0..8 {
                let key = format!("k{}", i % 3);
                cluster.write(put(&key, &format!("v{i}"))).await.unwrap_or_else(|e| fail!("durability", "{e}"));
                acked.insert(key, format!("v{i}").into_bytes());
            }
            let leader = cluster.leader().await.unwrap_or_else(|e| fail!("durability", "{e}"));
            cluster.stop_node(leader).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            let image = disks[leader as usize - 1].crash(CrashMode::Torn { seed });
            let (_, id) = cluster.write(put("after", "restart")).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            acked.insert("after".to_string(), b"restart".to_vec());
            let engine = files_on(&image).unwrap_or_else(|e| fail!("durability", "reopen node {leader}: {e}"));
            cluster.start_node(leader, engine).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            let states = converged(&cluster, id.index).await;
            let expected: Vec<(String, Vec<u8>)> = acked.into_iter().collect();
            for (node, pairs) in &states {
                invariant!(
                    "durability",
                    *pairs == expected,
                    "node {node} holds {pairs:?} after the old leader {leader} restarted from a crashed disk; \
                     every acknowledged write gives {expected:?}"
                );
            }
            cluster.shutdown().await.unwrap_or_else(|e| fail!("durability", "{e}"));
        });
    }

    #[test]
    fn a_follower_on_the_files_engine_catches_up_by_snapshot_twice() {
        let seed = lab_seed(188);
        let disk = SimFs::new(seed);
        runtime().block_on(async {
            let mut engines = three_mem_engines();
            engines[2].1 = files_on(&disk).unwrap_or_else(|e| fail!("durability", "{e}"));
            let mut cluster = Cluster::start(engines).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            let leader = cluster.leader().await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            invariant!(
                "snapshot-install",
                leader != 3,
                "node 1 was initialized and elected itself, yet {leader} leads"
            );
            let mut last = 0;
            for round in 0..2 {
                let engine = cluster.stop_node(3).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
                for i in 0..12 {
                    let key = format!("r{round}-{}", i % 5);
                    let (_, id) = cluster
                        .write(put(&key, &format!("{i}")))
                        .await
                        .unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
                    last = id.index;
                }
                cluster
                    .write(Op::Delete { key: format!("r{round}-0") })
                    .await
                    .unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
                let (_, id) = cluster
                    .write(Op::Increment { key: "n".to_string(), delta: 1 })
                    .await
                    .unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
                last = last.max(id.index);
                cluster.snapshot(leader).await.unwrap_or_else(|e| fail!("prefix-compaction", "{e}"));
                cluster.start_node(3, engine).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
                let states = converged(&cluster, last).await;
                let first = states.values().next().cloned().unwrap_or_default();
                for (id, pairs) in &states {
                    invariant!(
                        "snapshot-install",
                        *pairs == first,
                        "round {round}: node {id} holds {pairs:?}, node 1 {first:?}"
                    );
                }
            }
            cluster.shutdown().await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
        });
    }
}

mod crash {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A cluster run with every node's engine calls recorded on one clock.
    struct Run {
        /// Node 1's calls.
        calls: Vec<(u64, Call)>,
        /// Nodes 2 and 3's calls.
        others: Vec<(u64, Vec<(u64, Call)>)>,
        /// Per write `w{i}`, the clock's time when the client got its answer.
        acked_at: Vec<u64>,
    }

    fn recorded_run(writes: u64) -> Run {
        runtime().block_on(async {
            let clock = Arc::new(AtomicU64::new(0));
            let recorders: Vec<RecordingEngine> =
                (0..3).map(|_| RecordingEngine::with_clock(mem(), clock.clone())).collect();
            let engines = recorders
                .iter()
                .enumerate()
                .map(|(i, r)| (i as u64 + 1, Arc::new(r.clone()) as Arc<dyn Engine>))
                .collect();
            let mut cluster = Cluster::start(engines).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            let mut acked_at = Vec::new();
            for i in 0..writes {
                cluster
                    .write(put(&format!("w{i:02}"), &format!("v{i}")))
                    .await
                    .unwrap_or_else(|e| fail!("durability", "{e}"));
                acked_at.push(clock.load(Ordering::SeqCst));
                if i % 7 == 6 {
                    cluster.snapshot(1).await.unwrap_or_else(|e| fail!("durability", "{e}"));
                }
            }
            cluster.shutdown().await.unwrap_or_else(|e| fail!("durability", "{e}"));
            Run {
                calls: recorders[0].timed_calls(),
                others: (2..=3).map(|id| (id, recorders[id as usize - 1].timed_calls())).collect(),
                acked_at,
            }
        })
    }

    fn views(calls: &[Call]) -> Vec<DurableView> {
        let model: Arc<dyn Engine> = mem();
        let read = |engine: &Arc<dyn Engine>| {
            DurableView::read_engine(engine.clone()).unwrap_or_else(|e| fail!("durability", "{e}"))
        };
        let mut views = vec![read(&model)];
        for call in calls {
            replay(&*model, std::slice::from_ref(call)).unwrap_or_else(|e| fail!("durability", "{e}"));
            views.push(read(&model));
        }
        views
    }

    /// Restarts node 1 from `image` (it crashed during its call `done + 1`) next to nodes 2
    /// and 3 as they were at that moment, writes once more, and checks that the nodes agree and
    /// keep every write acknowledged before the crash.
    fn restart_into_cluster(run: &Run, image: &SimFs, done: usize) {
        let crashed_at = run.calls.get(done).map_or(u64::MAX, |(time, _)| *time);
        runtime().block_on(async {
            let mut engines = vec![(1, files_on(image).unwrap_or_else(|e| fail!("durability", "{e}")))];
            for (id, calls) in &run.others {
                let engine = mem();
                let before: Vec<Call> = calls.iter().filter(|(t, _)| *t < crashed_at).map(|(_, c)| c.clone()).collect();
                replay(&*engine, &before).unwrap_or_else(|e| fail!("durability", "{e}"));
                engines.push((*id, engine));
            }
            let mut cluster = Cluster::resume(engines).await.unwrap_or_else(|e| fail!("durability", "after {done} calls: {e}"));
            let (_, id) = cluster.write(put("zz", "after")).await.unwrap_or_else(|e| fail!("durability", "after {done} calls: {e}"));
            let mut states = BTreeMap::new();
            for node in 1..=3 {
                cluster.wait_applied(node, id.index).await.unwrap_or_else(|e| fail!("matching", "after {done} calls, node {node}: {e}"));
                let pairs = cluster.node(node).and_then(|n| Ok(n.state_machine.pairs()?)).unwrap_or_else(|e| fail!("matching", "{e}"));
                states.insert(node, pairs);
            }
            let first = states[&1].clone();
            for (node, pairs) in &states {
                invariant!(
                    "matching",
                    *pairs == first,
                    "node 1 crashed after {done} of its calls and restarted; node {node} then holds {pairs:?}, node 1 {first:?}"
                );
            }
            for (i, at) in run.acked_at.iter().enumerate() {
                let key = format!("w{i:02}");
                let value = first.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
                invariant!(
                    "durability",
                    *at >= crashed_at || value == Some(format!("v{i}").into_bytes()),
                    "write {key} was acknowledged before node 1 crashed (after {done} of its calls), but once it \
                     restarted the cluster holds {value:?} for it"
                );
            }
            cluster.shutdown().await.unwrap_or_else(|e| fail!("durability", "{e}"));
        });
    }

    #[test]
    fn a_longer_run_survives_every_crash_point_and_sampled_restarts_keep_the_committed_history() {
        let seed = lab_seed(189);
        let run = recorded_run(16);
        let calls: Vec<Call> = run.calls.iter().map(|(_, c)| c.clone()).collect();
        let views = views(&calls);
        let mut rng = TestRng::new(seed);
        // Which checks also restart node 1 into the cluster (strict images only: every other).
        let sampled: Vec<u64> = (0..3).map(|_| rng.below(calls.len() as u64 / 2 + 1) * 2).collect();
        let count = std::cell::Cell::new(0u64);
        CrashExplorer::new(seed).torn_variants(1).explore(
            |fs, done: &mut Vec<usize>| {
                let engine = files_on(fs)?;
                for (i, call) in calls.iter().enumerate() {
                    replay(&*engine, std::slice::from_ref(call))?;
                    done.push(i + 1);
                }
                Ok::<(), lab8::EngineError>(())
            },
            |image, done| {
                let done = done.last().copied().unwrap_or(0);
                let flushed = calls[..done].iter().rposition(|c| *c == Call::Flush).map_or(0, |i| i + 1);
                let engine =
                    files_on(image).unwrap_or_else(|e| fail!("durability", "the files engine did not reopen: {e}"));
                let seen = DurableView::read_engine(engine).unwrap_or_else(|e| fail!("durability", "{e}"));
                if !views[flushed..=(done + 1).min(calls.len())].contains(&seen) {
                    fail!(
                        "durability",
                        "after {done} of node 1's {} storage calls the reopened node is\n    {seen:?}\n  \
                         but its last flush promised at least\n    {:?}",
                        calls.len(),
                        views[flushed]
                    );
                }
                let n = count.get();
                count.set(n + 1);
                if sampled.contains(&n) {
                    restart_into_cluster(&run, image, done);
                }
            },
        );
    }
}
