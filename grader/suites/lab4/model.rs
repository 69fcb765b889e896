//! A property test: random appends (with leader changes that replace an uncommitted suffix),
//! commits, applies, snapshots and clean restarts, checked after every operation against a
//! model that keeps the log, the commit index and the state in memory.

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::testing::{proptest_config, sim_disk};
use distributed::vfs::CrashMode;
use lab1::SyncPolicy;
use lab4::{Entry, Index, KvStore, Output};
use proptest::prelude::*;

use crate::{Kv, check_indexes, commands, entries_from, model_at, open, reopen};

#[derive(Clone, Debug)]
enum Step {
    /// The leader sends its next `n` entries.
    Append(usize),
    /// A new leader, whose log keeps the follower's first `commit + keep` entries and then
    /// holds `n` entries of its own term, sends everything after the commit index.
    NewLeader {
        keep: usize,
        n: usize,
    },
    /// Commit `k` entries more (at most to the end of the log).
    Commit(u64),
    /// Apply up to `k` entries one at a time.
    ApplyNext(u8),
    ApplyAll,
    Snapshot,
    /// Power cut with everything acknowledged durable, then reopen and replay.
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1usize..6).prop_map(Step::Append),
        1 => (0usize..3, 1usize..5).prop_map(|(keep, n)| Step::NewLeader { keep, n }),
        3 => (0u64..5).prop_map(Step::Commit),
        2 => (1u8..4).prop_map(Step::ApplyNext),
        1 => Just(Step::ApplyAll),
        1 => Just(Step::Snapshot),
        1 => Just(Step::Restart),
    ]
}

/// What the replica must look like.
struct Model {
    /// The follower's log as it must be (every entry from 1, including compacted ones).
    log: Vec<Entry>,
    /// What the current leader will send next.
    pending: Vec<Entry>,
    term: u64,
    commit: Index,
    applied: Index,
    snapshot: Index,
    batch: u64,
}

impl Model {
    fn state(&self) -> KvStore {
        model_at(&self.log, self.applied).0
    }
}

fn check(replica: &Kv, model: &Model, after: &Step) {
    check_indexes(replica, &format!("after {after:?}"));
    let got = (replica.commit_index(), replica.last_applied(), replica.last_log_index());
    let want = (model.commit, model.applied, model.log.len() as Index);
    invariant!("monotonic", got == want, "after {after:?}: (commit, applied, last) = {got:?}, the model says {want:?}");
    invariant!(
        "recovery-equivalence",
        *replica.state() == model.state(),
        "after {after:?}: the state is not the model's"
    );
}

proptest! {
    #![proptest_config(proptest_config(0x4401, 40))]

    #[test]
    fn random_operations_agree_with_a_model(steps in proptest::collection::vec(step(), 1..40)) {
        let seed = lab_seed(0x4401);
        let (mut sim, fs) = sim_disk(seed);
        let mut replica = open(&fs, SyncPolicy::EveryAppend);
        let mut model = Model {
            log: Vec::new(),
            pending: crate::log_of(&commands(seed, 60), 1),
            term: 1,
            commit: 0,
            applied: 0,
            snapshot: 0,
            batch: 0,
        };
        for step in &steps {
            match *step {
                Step::Append(n) => {
                    let n = n.min(model.pending.len());
                    let sent: Vec<Entry> = model.pending.drain(..n).collect();
                    distributed::invariant_ok!("recovery-equivalence", replica.append(&sent), "append");
                    model.log.extend(sent);
                }
                Step::NewLeader { keep, n } => {
                    model.term += 1;
                    model.batch += 1;
                    let kept = (model.commit as usize + keep).min(model.log.len());
                    let theirs = commands(seed ^ model.batch.wrapping_mul(0x9e37), n);
                    let fresh = entries_from(kept as Index + 1, model.term, &theirs);
                    let mut sent: Vec<Entry> = model.log[model.commit as usize..kept].to_vec();
                    sent.extend(fresh.iter().cloned());
                    distributed::invariant_ok!("recovery-equivalence", replica.append(&sent), "a new leader's entries past the commit index");
                    model.log.truncate(kept);
                    model.log.extend(fresh);
                    let next = model.log.len() as Index + 1;
                    model.pending = crate::entries_from(next, model.term, &commands(seed ^ model.batch, 40));
                }
                Step::Commit(k) => {
                    let target = (model.commit + k).min(model.log.len() as Index);
                    distributed::invariant_ok!("recovery-equivalence", replica.commit(target), "commit");
                    model.commit = model.commit.max(target);
                }
                Step::ApplyNext(k) => {
                    for _ in 0..k {
                        let applied = distributed::invariant_ok!("recovery-equivalence", replica.apply_next(), "apply_next");
                        let expected = (model.applied < model.commit).then(|| model.applied + 1);
                        invariant!(
                            "in-order-apply",
                            applied.as_ref().map(|a| a.index) == expected,
                            "apply_next returned {:?}, expected entry {expected:?}",
                            applied.as_ref().map(|a| a.index)
                        );
                        if let Some(applied) = applied {
                            let (_, outputs) = model_at(&model.log, applied.index);
                            invariant!(
                                "in-order-apply",
                                applied.output == outputs[applied.index as usize - 1],
                                "entry {} returned {:?}",
                                applied.index,
                                Output::decode(&applied.output)
                            );
                            model.applied = applied.index;
                        }
                    }
                }
                Step::ApplyAll => {
                    let applied = distributed::invariant_ok!("recovery-equivalence", replica.apply_committed(), "apply_committed");
                    invariant!(
                        "in-order-apply",
                        applied.len() as Index == model.commit - model.applied,
                        "apply_committed applied {} entries, {} were committed and unapplied",
                        applied.len(),
                        model.commit - model.applied
                    );
                    model.applied = model.commit;
                }
                Step::Snapshot => {
                    let meta = distributed::invariant_ok!("recovery-equivalence", replica.take_snapshot(), "take_snapshot");
                    if model.applied > model.snapshot {
                        model.snapshot = model.applied;
                    }
                    invariant!(
                        "recovery-equivalence",
                        meta.last_index == model.snapshot,
                        "take_snapshot returned {meta:?}, last_applied is {}",
                        model.applied
                    );
                }
                Step::Restart => {
                    drop(replica);
                    sim = sim.crash(CrashMode::Strict);
                    replica = reopen(&sim, SyncPolicy::EveryAppend);
                    invariant!(
                        "idempotent-replay",
                        replica.last_applied() == model.snapshot,
                        "after a restart last_applied is {}, the newest snapshot covers {}",
                        replica.last_applied(),
                        model.snapshot
                    );
                    model.applied = model.snapshot;
                }
            }
            check(&replica, &model, step);
        }
    }
}
