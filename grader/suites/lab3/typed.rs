//! Typed states, interchangeable with the kit's `InMemorySnapshot<T>`, and a property test of
//! random saves, reopens, crashes and damage against a model.

use std::collections::BTreeMap;
use std::sync::Arc;

use distributed::invariant;
use distributed::rng::lab_seed;
use distributed::storage::{InMemorySnapshot, SnapshotStorage, StateMachineStorage};
use distributed::testing::{proptest_config, sim_disk};
use distributed::vfs::{CrashMode, FsRef, SimFs};
use lab3::{SnapshotError, SnapshotStore, StoreOptions};
use proptest::prelude::*;

use crate::{DIR, meta, name_of, path_of, snapshot};

type Kv = BTreeMap<String, u64>;

#[test]
fn a_state_machine_restored_from_the_store_equals_the_one_snapshotted() {
    // The seed's flow: apply entries, snapshot the state with its last index and term, lose
    // power, restore from the newest snapshot.
    let mut machine = InMemorySnapshot::<Kv>::new();
    for k in 0..50u64 {
        machine.apply(format!("set k{k} = {}", k * k).as_bytes()).expect("setup: machine.apply(..)");
    }
    let (sim, fs) = sim_disk(lab_seed(0x81));
    let mut store = distributed::invariant_ok!(
        "recovery-equivalence",
        SnapshotStore::open(fs, DIR, StoreOptions::default()),
        "SnapshotStore::open(..)"
    );
    let image = machine.snapshot().expect("setup: machine.snapshot()");
    distributed::invariant_ok!(
        "recovery-equivalence",
        SnapshotStorage::save(&mut store, &lab3::Snapshot { meta: meta(50, 3), data: image }),
        "SnapshotStorage::save(..)"
    );
    let disk = sim.crash(CrashMode::Strict);
    let after = distributed::invariant_ok!(
        "recovery-equivalence",
        SnapshotStore::open(Arc::new(disk), DIR, StoreOptions::default()),
        "SnapshotStore::open(..)"
    );
    let loaded = distributed::invariant_ok!(
        "recovery-equivalence",
        SnapshotStorage::latest(&after),
        "SnapshotStorage::latest(..)"
    )
    .unwrap_or_else(|| distributed::fail!("recovery-equivalence", "the store holds no snapshot after a reopen"));
    let mut restored = InMemorySnapshot::<Kv>::new();
    restored.restore(&loaded.data).expect("setup: restored.restore(..)");
    invariant!(
        "recovery-equivalence",
        loaded.meta == meta(50, 3) && restored.applied() == machine.applied(),
        "the state restored after a power cut differs from the one snapshotted"
    );
}

#[test]
fn typed_states_move_between_the_store_and_in_memory_snapshot() {
    let state: Kv = (0..20).map(|k| (format!("key{k}"), k * 7)).collect();
    let (_, fs) = sim_disk(lab_seed(0x82));
    let store = distributed::invariant_ok!(
        "recovery-equivalence",
        SnapshotStore::open(fs, DIR, StoreOptions::default()),
        "SnapshotStore::open(..)"
    );
    distributed::invariant_ok!("recovery-equivalence", store.save_state(meta(5, 1), &state), "store.save_state(..)");
    let mut memory = InMemorySnapshot::<Kv>::new();
    SnapshotStorage::save(
        &mut memory,
        &distributed::invariant_ok!("recovery-equivalence", store.latest(), "store.latest()")
            .unwrap_or_else(|| distributed::fail!("recovery-equivalence", "store.latest(): expected Some, seen None")),
    )
    .expect("setup: SnapshotStorage::save(..)");
    invariant!(
        "recovery-equivalence",
        memory.restore_state().expect("setup: memory.restore_state()") == Some((meta(5, 1), state.clone())),
        "InMemorySnapshot cannot read back a state saved with save_state"
    );
    let mut other = state.clone();
    other.insert("new".into(), 1);
    memory.capture(meta(9, 2), &other).expect("setup: memory.capture(..)");
    distributed::invariant_ok!(
        "recovery-equivalence",
        store.save(&memory.latest().expect("setup: memory.latest()").expect("setup: memory holds a snapshot")),
        "store.save(..)"
    );
    let loaded: Option<(lab3::SnapshotMeta, Kv)> =
        distributed::invariant_ok!("recovery-equivalence", store.load_state(), "store.load_state()");
    invariant!(
        "recovery-equivalence",
        loaded == Some((meta(9, 2), other)),
        "load_state cannot read a state captured by InMemorySnapshot"
    );
    let wrong: Result<Option<(lab3::SnapshotMeta, Vec<String>)>, _> = {
        distributed::invariant_ok!(
            "recovery-equivalence",
            store.save(&lab3::Snapshot { meta: meta(10, 2), data: vec![0xff; 3] }),
            "store.save(..)"
        );
        store.load_state()
    };
    invariant!(
        "checksum",
        matches!(wrong, Err(SnapshotError::Codec(_))),
        "data that is not the requested type decoded: {wrong:?}"
    );
}

#[derive(Clone, Debug)]
enum Op {
    Save(usize),
    Reopen,
    Crash(u64),
    Damage(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..1500).prop_map(Op::Save),
        1 => Just(Op::Reopen),
        1 => any::<u64>().prop_map(Op::Crash),
        1 => any::<u64>().prop_map(Op::Damage),
    ]
}

proptest! {
    #![proptest_config(proptest_config(0x83, 48))]

    #[test]
    fn random_saves_reopens_crashes_and_damage_agree_with_a_model(
        keep in 1usize..4,
        ops in proptest::collection::vec(op(), 1..25),
    ) {
        let mut sim = SimFs::new(lab_seed(0x83));
        let fs: FsRef = Arc::new(sim.clone());
        let mut store = distributed::invariant_ok!("durability", SnapshotStore::open(fs, DIR, StoreOptions { keep }), "SnapshotStore::open(..)");
        // The model: intact snapshots held, newest last; damaged ones set aside later.
        let mut model: Vec<lab3::Snapshot> = Vec::new();
        let mut next = 1u64;
        for op in ops {
            match op {
                Op::Save(len) => {
                    let s = snapshot(next, 1 + next / 5, len);
                    next += 1;
                    distributed::invariant_ok!("durability", store.save(&s), "store.save(..)");
                    model.push(s);
                    let excess = model.len().saturating_sub(keep);
                    model.drain(..excess);
                }
                Op::Reopen => {
                    drop(store);
                    store = distributed::invariant_ok!("durability", SnapshotStore::open(Arc::new(sim.clone()), DIR, StoreOptions { keep }), "SnapshotStore::open(..)");
                }
                Op::Crash(seed) => {
                    sim = sim.crash(if seed % 2 == 0 { CrashMode::Strict } else { CrashMode::Torn { seed } });
                    store = distributed::invariant_ok!("durability", SnapshotStore::open(Arc::new(sim.clone()), DIR, StoreOptions { keep }), "SnapshotStore::open(..)");
                }
                Op::Damage(bit) => {
                    if let Some(newest) = model.pop() {
                        let path = path_of(&name_of(newest.meta));
                        let len = sim.contents(&path).expect("setup: sim.contents(..)").len() as u64;
                        sim.flip_bit(&path, bit % (len * 8)).expect("setup: sim.flip_bit(..)");
                    }
                }
            }
            let found = store.latest();
            match model.last() {
                Some(want) => invariant!(
                    "durability",
                    found.as_ref().ok().and_then(|s| s.as_ref()) == Some(want),
                    "latest() is {:?}, the model's newest intact snapshot is {:?}",
                    found.map(|s| s.map(|s| s.meta)),
                    want.meta
                ),
                None => invariant!(
                    "checksum",
                    !matches!(found, Ok(Some(_))),
                    "no intact snapshot in the model, but latest() returned {:?}",
                    found.map(|s| s.map(|s| s.meta))
                ),
            }
        }
    }
}
