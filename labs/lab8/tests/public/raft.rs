//! openraft over the engines (part 2 of the lab): openraft's own storage suite on the
//! adapters, the course's durability checks that suite leaves out, a three-node cluster, and
//! the crash explorer over one node's recorded storage calls.

#![allow(clippy::result_large_err)] // openraft's StorageError is large

use std::collections::BTreeMap;
use std::sync::Arc;

use distributed::explore::CrashExplorer;
use distributed::rng::lab_seed;
use distributed::vfs::{CrashMode, SimFs};
use distributed::{fail, invariant};
use lab8::raft::harness::{Backend, files_on, openraft_suite, runtime};
use lab8::raft::lab4::{Command, Op};
use lab8::raft::openraft::raft::VoteRequest;
use lab8::raft::openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use lab8::raft::openraft::{EntryPayload, RaftSnapshotBuilder, StoredMembership};
use lab8::raft::record::replay;
use lab8::raft::{
    Call, Cluster, DurableView, Entry, LogId, LogStore, Raft, RecordingEngine, SnapshotImage, SnapshotMeta,
    StateMachineStore, Vote, open,
};
use lab8::{Engine, MemEngine};

fn log_id(term: u64, index: u64) -> LogId {
    lab8::raft::openraft::testing::log_id(term, 1, index)
}

fn put(key: &str, value: &str) -> Op {
    Op::Put { key: key.to_string(), value: value.as_bytes().to_vec() }
}

/// Entry `index` of `term`: a put of `k{index % 4}`.
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
    fn openraft_storage_suite_passes_on_the_mem_engine() {
        if let Err(e) = openraft_suite(Backend::Mem, lab_seed(81)) {
            fail!("storage-contract", "openraft's Suite::test_all on the mem engine: {e}");
        }
    }

    #[test]
    fn openraft_storage_suite_passes_on_the_files_engine() {
        if let Err(e) = openraft_suite(Backend::Files, lab_seed(82)) {
            fail!("storage-contract", "openraft's Suite::test_all on the files engine over SimFs: {e}");
        }
    }

    #[test]
    fn a_vote_survives_a_crash_so_no_node_votes_twice_in_a_term() {
        let seed = lab_seed(83);
        let fs = SimFs::new(seed);
        let rt = runtime();
        let ask = |fs: &SimFs, candidate: u64| -> bool {
            rt.block_on(async {
                let engine = files_on(fs).unwrap_or_else(|e| fail!("durability", "the files engine did not open: {e}"));
                let (log, sm) = opened(engine);
                let router = lab8::raft::Router::default();
                let raft = Raft::new(1, lab8::raft::cluster::config(), router.network(1), log, sm)
                    .await
                    .unwrap_or_else(|e| fail!("durability", "node 1 did not start: {e}"));
                let response = raft
                    .vote(VoteRequest::new(Vote::new(5, candidate), None))
                    .await
                    .unwrap_or_else(|e| fail!("durability", "node 1 did not answer a vote request: {e}"));
                raft.shutdown().await.unwrap_or_else(|e| fail!("durability", "node 1 did not stop: {e}"));
                response.vote_granted
            })
        };
        // openraft 0.9 orders votes by (term, candidate id): a vote for node 3 in term 5 is
        // above one for node 2, so once node 1 granted 3 it must refuse 2 in that term.
        invariant!("vote-once", ask(&fs, 3), "a fresh node 1 refused to vote for node 3 in term 5");
        // The power goes after the answer: what the vote promised must be on the disk.
        let after = fs.crash(CrashMode::Strict);
        invariant!(
            "vote-once",
            !ask(&after, 2),
            "node 1 voted for node 3 in term 5, crashed, and then voted for node 2 in term 5 too: \
             save_vote returned before the vote was durable"
        );
    }

    #[test]
    fn save_committed_is_read_back_after_a_crash() {
        let fs = SimFs::new(lab_seed(84));
        let rt = runtime();
        rt.block_on(async {
            let (mut log, _sm) = opened(files_on(&fs).unwrap_or_else(|e| fail!("durability", "open: {e}")));
            log.blocking_append((1..=3).map(|i| entry(1, i)))
                .await
                .unwrap_or_else(|e| fail!("durability", "append 1..=3: {e}"));
            log.save_committed(Some(log_id(1, 3))).await.unwrap_or_else(|e| fail!("persisted-commit", "{e}"));
            // The next append flushes, and carries the committed log id with it.
            log.blocking_append([entry(1, 4)]).await.unwrap_or_else(|e| fail!("durability", "append 4: {e}"));
        });
        let after = fs.crash(CrashMode::Strict);
        let committed = rt.block_on(async {
            let (mut log, _) = opened(files_on(&after).unwrap_or_else(|e| fail!("durability", "reopen: {e}")));
            log.read_committed().await.unwrap_or_else(|e| fail!("persisted-commit", "read_committed: {e}"))
        });
        invariant!(
            "persisted-commit",
            committed == Some(log_id(1, 3)),
            "save_committed({:?}), then a flushed append, then a crash: read_committed gives {committed:?}",
            log_id(1, 3)
        );
    }

    #[test]
    fn the_log_is_purged_only_below_a_durable_snapshot() {
        let fs = SimFs::new(lab_seed(85));
        let rt = runtime();
        rt.block_on(async {
            let (mut log, mut sm) = opened(files_on(&fs).unwrap_or_else(|e| fail!("durability", "open: {e}")));
            log.blocking_append((1..=10).map(|i| entry(1, i))).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            sm.apply((1..=8).map(|i| entry(1, i))).await.unwrap_or_else(|e| fail!("durability", "apply: {e}"));
            let snapshot = sm.get_snapshot_builder().await.build_snapshot().await;
            let snapshot = snapshot.unwrap_or_else(|e| fail!("prefix-compaction", "build_snapshot: {e}"));
            invariant!(
                "prefix-compaction",
                snapshot.meta.last_log_id == Some(log_id(1, 8)),
                "a snapshot after applying 1..=8 covers {:?}",
                snapshot.meta.last_log_id
            );
            // openraft purges what the snapshot covers as soon as it is built.
            log.purge(log_id(1, 8)).await.unwrap_or_else(|e| fail!("prefix-compaction", "purge: {e}"));
            log.save_vote(&Vote::new(1, 1)).await.unwrap_or_else(|e| fail!("durability", "save_vote: {e}"));
        });
        let after = fs.crash(CrashMode::Strict);
        let view = DurableView::read_engine(files_on(&after).unwrap_or_else(|e| fail!("durability", "reopen: {e}")))
            .unwrap_or_else(|e| fail!("durability", "reading the reopened node: {e}"));
        let purged = view.purged.map_or(0, |p| p.index);
        let covered = view.snapshot.map_or(0, |s| s.index);
        invariant!(
            "prefix-compaction",
            purged <= covered,
            "after a crash the log is purged up to {purged} but the durable snapshot covers only up to {covered}: \
             entries {}..={purged} are gone from the node",
            covered + 1
        );
        let present: Vec<u64> = view.log.iter().map(|id| id.index).collect();
        invariant!(
            "prefix-compaction",
            present == (purged + 1..=10).collect::<Vec<_>>(),
            "after purging up to {purged} the log holds {present:?}"
        );
    }

    #[test]
    fn an_installed_snapshot_replaces_the_whole_state() {
        let fs = SimFs::new(lab_seed(86));
        let rt = runtime();
        let image = SnapshotImage { log_time: 50, pairs: vec![("c".to_string(), b"3".to_vec())] };
        let meta = SnapshotMeta {
            last_log_id: Some(log_id(2, 50)),
            last_membership: StoredMembership::default(),
            snapshot_id: "2-1-50".to_string(),
        };
        let check = |sm: &StateMachineStore, when: &str| {
            let pairs = sm.pairs().unwrap_or_else(|e| fail!("snapshot-install", "reading the state {when}: {e}"));
            invariant!(
                "snapshot-install",
                pairs == image.pairs,
                "{when}, the state is {pairs:?}, but the installed snapshot holds only {:?}",
                image.pairs
            );
        };
        rt.block_on(async {
            let (_log, mut sm) = opened(files_on(&fs).unwrap_or_else(|e| fail!("durability", "open: {e}")));
            sm.apply([
                Entry { log_id: log_id(1, 1), payload: EntryPayload::Normal(Command::new(1, put("a", "1"))) },
                Entry { log_id: log_id(1, 2), payload: EntryPayload::Normal(Command::new(2, put("b", "2"))) },
            ])
            .await
            .unwrap_or_else(|e| fail!("snapshot-install", "apply: {e}"));
            let mut data = sm.begin_receiving_snapshot().await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            *data.get_mut() = image.encode();
            sm.install_snapshot(&meta, data).await.unwrap_or_else(|e| fail!("snapshot-install", "install: {e}"));
            check(&sm, "right after the install");
        });
        let after = fs.crash(CrashMode::Strict);
        let (_log, sm) = opened(files_on(&after).unwrap_or_else(|e| fail!("durability", "reopen: {e}")));
        check(&sm, "after a crash and a reopen");
    }
}

mod cluster {
    use super::*;

    /// The leader's state machine, and every running node's, once all have applied `index`.
    async fn converged(cluster: &Cluster, index: u64) -> BTreeMap<u64, Vec<(String, Vec<u8>)>> {
        let mut states = BTreeMap::new();
        for id in cluster.running() {
            cluster.wait_applied(id, index).await.unwrap_or_else(|e| fail!("matching", "node {id}: {e}"));
            let node = cluster.node(id).unwrap_or_else(|e| fail!("matching", "{e}"));
            let pairs = node.state_machine.pairs().unwrap_or_else(|e| fail!("matching", "node {id}: {e}"));
            states.insert(id, pairs);
        }
        states
    }

    fn all_equal(states: &BTreeMap<u64, Vec<(String, Vec<u8>)>>, what: &str) {
        let first = states.values().next().cloned().unwrap_or_default();
        for (id, pairs) in states {
            invariant!("matching", *pairs == first, "{what}: node {id} holds {pairs:?}, another node {first:?}");
        }
    }

    #[test]
    fn writes_through_the_leader_reach_every_node() {
        runtime().block_on(async {
            let mut cluster = Cluster::start(three_mem_engines()).await.unwrap_or_else(|e| fail!("matching", "{e}"));
            let mut last = 0;
            for i in 0..10 {
                let (_, id) = cluster
                    .write(put(&format!("k{}", i % 3), &format!("v{i}")))
                    .await
                    .unwrap_or_else(|e| fail!("matching", "write {i}: {e}"));
                last = id.index;
            }
            let states = converged(&cluster, last).await;
            all_equal(&states, "after 10 writes");
            let expected: Vec<(String, Vec<u8>)> = [("k0", "v9"), ("k1", "v7"), ("k2", "v8")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect();
            invariant!(
                "matching",
                states.values().next() == Some(&expected),
                "after 10 writes the state is {states:?}"
            );
            cluster.shutdown().await.unwrap_or_else(|e| fail!("matching", "{e}"));
        });
    }

    #[test]
    fn a_follower_restarted_from_its_disk_catches_up() {
        let seed = lab_seed(87);
        let disk = SimFs::new(seed);
        runtime().block_on(async {
            let mut engines = three_mem_engines();
            engines[2].1 = files_on(&disk).unwrap_or_else(|e| fail!("durability", "open: {e}"));
            let mut cluster = Cluster::start(engines).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            for i in 0..5 {
                cluster.write(put("a", &format!("{i}"))).await.unwrap_or_else(|e| fail!("durability", "write {i}: {e}"));
            }
            let (_, id) = cluster.write(put("b", "before")).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            cluster.wait_applied(3, id.index).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            cluster.stop_node(3).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            // Node 3 loses power; what it flushed is on its disk.
            let after = disk.crash(CrashMode::Strict);
            let engine = files_on(&after).unwrap_or_else(|e| fail!("durability", "reopen node 3: {e}"));
            let (mut log, mut sm) = opened(engine.clone());
            let view = DurableView::read(&mut log, &mut sm).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            invariant!(
                "durability",
                view.log.last().is_some_and(|last| last.index >= id.index),
                "node 3 appended entry {} (flushed before it answered the leader), but after a crash its log ends at {:?}",
                id.index,
                view.log.last()
            );
            let (_, later) = cluster.write(put("c", "while 3 was down")).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            cluster.start_node(3, engine).await.unwrap_or_else(|e| fail!("durability", "restart node 3: {e}"));
            let states = converged(&cluster, later.index).await;
            all_equal(&states, "after node 3 restarted from its disk");
            cluster.shutdown().await.unwrap_or_else(|e| fail!("durability", "{e}"));
        });
    }

    #[test]
    fn a_lagging_follower_is_brought_back_by_a_snapshot() {
        runtime().block_on(async {
            let mut cluster =
                Cluster::start(three_mem_engines()).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            cluster.write(put("gone", "soon")).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            let leader = cluster.leader().await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            let lagging = if leader == 3 { 2 } else { 3 };
            let engine = cluster.stop_node(lagging).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            cluster
                .write(Op::Delete { key: "gone".to_string() })
                .await
                .unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            let mut last = 0;
            for i in 0..20 {
                let (_, id) = cluster
                    .write(put(&format!("k{i}"), "x"))
                    .await
                    .unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
                last = id.index;
            }
            let covered = cluster.snapshot(leader).await.unwrap_or_else(|e| fail!("prefix-compaction", "{e}"));
            cluster.start_node(lagging, engine).await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            let states = converged(&cluster, last).await;
            all_equal(&states, "after the lagging node caught up");
            let node = cluster.node(lagging).unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            let mut sm = node.state_machine.clone();
            let current = sm.get_current_snapshot().await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
            invariant!(
                "snapshot-install",
                current.as_ref().and_then(|s| s.meta.last_log_id).is_some_and(|id| id.index >= covered.index),
                "the leader purged its log up to {} but node {lagging} caught up without installing a snapshot \
                 (its current one: {:?})",
                covered.index,
                current.map(|s| s.meta)
            );
            cluster.shutdown().await.unwrap_or_else(|e| fail!("snapshot-install", "{e}"));
        });
    }

    #[test]
    fn a_read_after_an_acknowledged_write_sees_it_even_after_a_leader_change() {
        runtime().block_on(async {
            let mut cluster =
                Cluster::start(three_mem_engines()).await.unwrap_or_else(|e| fail!("read-barrier", "{e}"));
            cluster.write(put("x", "1")).await.unwrap_or_else(|e| fail!("read-barrier", "{e}"));
            let seen = cluster.read("x").await.unwrap_or_else(|e| fail!("read-barrier", "{e}"));
            invariant!(
                "read-barrier",
                seen.as_deref() == Some(&b"1"[..]),
                "x was set to 1 and acknowledged; a read gives {seen:?}"
            );
            let old = cluster.leader().await.unwrap_or_else(|e| fail!("read-barrier", "{e}"));
            cluster.router.isolate(old);
            cluster
                .write(put("x", "2"))
                .await
                .unwrap_or_else(|e| fail!("read-barrier", "a write under a new leader: {e}"));
            let seen = cluster.read("x").await.unwrap_or_else(|e| fail!("read-barrier", "{e}"));
            invariant!(
                "read-barrier",
                seen.as_deref() == Some(&b"2"[..]),
                "x was set to 2 under the leader that replaced node {old}; a read gives {seen:?}"
            );
            cluster.router.heal(old);
            cluster.shutdown().await.unwrap_or_else(|e| fail!("read-barrier", "{e}"));
        });
    }
}

mod crash {
    use super::*;

    /// A cluster run in which node 1's engine calls are recorded: writes, a snapshot and its
    /// purge, more writes.
    pub(crate) fn recorded_run(writes: u64) -> Vec<Call> {
        runtime().block_on(async {
            let recorder = RecordingEngine::new(mem());
            let mut engines = three_mem_engines();
            engines[0].1 = Arc::new(recorder.clone());
            let mut cluster = Cluster::start(engines).await.unwrap_or_else(|e| fail!("durability", "{e}"));
            for i in 0..writes {
                cluster
                    .write(put(&format!("k{}", i % 5), &format!("v{i}")))
                    .await
                    .unwrap_or_else(|e| fail!("durability", "{e}"));
                if i == writes / 2 {
                    cluster.snapshot(1).await.unwrap_or_else(|e| fail!("durability", "{e}"));
                }
            }
            cluster.shutdown().await.unwrap_or_else(|e| fail!("durability", "{e}"));
            recorder.calls()
        })
    }

    /// What node 1 keeps after each prefix of its calls, read through the adapters.
    pub(crate) fn views(calls: &[Call]) -> Vec<DurableView> {
        let model: Arc<dyn Engine> = mem();
        let read = |engine: &Arc<dyn Engine>| {
            DurableView::read_engine(engine.clone()).unwrap_or_else(|e| fail!("durability", "reading the model: {e}"))
        };
        let mut views = vec![read(&model)];
        for call in calls {
            replay(&*model, std::slice::from_ref(call)).unwrap_or_else(|e| fail!("durability", "the model: {e}"));
            views.push(read(&model));
        }
        views
    }

    /// After a crash with `done` calls completed, the node must be in the state of a prefix
    /// that keeps every flushed call: from the last flush up to the call that was running.
    pub(crate) fn check_recovered(calls: &[Call], views: &[DurableView], image: &SimFs, done: usize) {
        let flushed = calls[..done].iter().rposition(|c| *c == Call::Flush).map_or(0, |i| i + 1);
        let engine = files_on(image).unwrap_or_else(|e| fail!("durability", "the files engine did not reopen: {e}"));
        let seen =
            DurableView::read_engine(engine).unwrap_or_else(|e| fail!("durability", "reading the reopened node: {e}"));
        let allowed = &views[flushed..=(done + 1).min(calls.len())];
        if !allowed.contains(&seen) {
            let acked = &views[flushed];
            fail!(
                "durability",
                "after {done} of node 1's {} storage calls ({flushed} up to its last flush) the reopened node is\n    \
                 {seen:?}\n  but every flushed call promised at least\n    {acked:?}",
                calls.len()
            );
        }
    }

    #[test]
    fn a_nodes_storage_calls_survive_a_crash_at_every_point() {
        let seed = lab_seed(88);
        let calls = recorded_run(6);
        let views = views(&calls);
        let report = CrashExplorer::new(seed).torn_variants(1).explore(
            |fs, done: &mut Vec<usize>| {
                let engine = files_on(fs)?;
                for (i, call) in calls.iter().enumerate() {
                    replay(&*engine, std::slice::from_ref(call))?;
                    done.push(i + 1);
                }
                Ok::<(), lab8::EngineError>(())
            },
            |image, done| check_recovered(&calls, &views, image, done.last().copied().unwrap_or(0)),
        );
        let flushes = calls.iter().filter(|c| **c == Call::Flush).count() as u64;
        invariant!(
            "durability",
            report.crash_points > flushes,
            "node 1 flushed {flushes} times but the explorer found only {} crash points: a flush that does not sync",
            report.crash_points
        );
    }
}
