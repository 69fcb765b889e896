//! Small helpers that labs' public tests, the hidden suites and the benchmarks share.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::Duration;

use crate::rng::lab_seed;
use crate::storage::{Entry, Index, Term};
use crate::vfs::{Call, FsRef, Layer, Layered, OpenMode, SimFs, Vfs};

/// A proptest configuration seeded from [`lab_seed`], so a property test finds the same
/// cases every run and `LAB_SEED` replays a failure. `PROPTEST_CASES` still overrides `cases`.
pub fn proptest_config(default_seed: u64, cases: u32) -> proptest::test_runner::Config {
    let seed = lab_seed(default_seed);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    proptest::test_runner::Config {
        cases,
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// A fresh simulated disk as the `FsRef` labs take, and the `SimFs` to crash it with.
pub fn sim_disk(seed: u64) -> (SimFs, FsRef) {
    let sim = SimFs::new(seed);
    let fs: FsRef = Arc::new(sim.clone());
    (sim, fs)
}

/// Entries `first..=last` in `term`, each carrying data that names its index and term, so a
/// misplaced entry is visible in a failure message.
pub fn entries(first: Index, last: Index, term: Term) -> Vec<Entry> {
    (first..=last).map(|index| Entry::new(index, term, payload(index, term, 16))).collect()
}

/// `len` bytes of data that begin with `"i{index}t{term}:"` and are filled deterministically.
pub fn payload(index: Index, term: Term, len: usize) -> Vec<u8> {
    let mut data = format!("i{index}t{term}:").into_bytes();
    let mut x = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ term;
    while data.len() < len {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        data.push(b'a' + (x >> 59) as u8 % 26);
    }
    data
}

/// Everything a directory holds, recursively: each file's name, length and bytes, and each
/// subdirectory's name. Take one before an operation that must refuse without changing
/// anything, another after, and compare: a refusal ("nothing was done") must leave the
/// directory byte-identical, sealed segments and set-aside copies included.
///
/// ```
/// use std::path::Path;
/// use distributed::testing::DirSnapshot;
/// use distributed::vfs::{OpenMode, SimFs, Vfs, VfsFile};
///
/// let fs = SimFs::new(1);
/// fs.create_dir_all(Path::new("log"))?;
/// fs.open(Path::new("log/a"), OpenMode::Create)?.write_all_at(0, b"abc")?;
/// let before = DirSnapshot::take(&fs, "log")?;
/// fs.open(Path::new("log/a"), OpenMode::ReadWrite)?.write_all_at(1, b"X")?;
/// let after = DirSnapshot::take(&fs, "log")?;
/// assert_eq!(before.differences(&after), ["log/a: byte 1 changed (0x62 -> 0x58)"]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DirSnapshot {
    /// Every path under the directory (the directory's own path first), with its bytes, or
    /// `None` for a subdirectory.
    entries: BTreeMap<PathBuf, Option<Vec<u8>>>,
}

impl DirSnapshot {
    /// Reads everything under `dir` through `fs`. A missing directory is an empty snapshot,
    /// so an operation that must not create one can be checked too.
    pub fn take(fs: &dyn Vfs, dir: impl AsRef<Path>) -> io::Result<DirSnapshot> {
        let mut entries = BTreeMap::new();
        if fs.exists(dir.as_ref())? {
            Self::walk(fs, dir.as_ref(), &mut entries)?;
        }
        Ok(DirSnapshot { entries })
    }

    fn walk(fs: &dyn Vfs, dir: &Path, entries: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) -> io::Result<()> {
        entries.insert(dir.to_path_buf(), None);
        for name in fs.read_dir(dir)? {
            let path = dir.join(&name);
            // A subdirectory lists; a file does not (`NotFound` on SimFs, `NotADirectory` on
            // the real disk).
            match fs.read_dir(&path) {
                Ok(_) => Self::walk(fs, &path, entries)?,
                Err(_) => {
                    let bytes = fs.open(&path, OpenMode::Read)?.read_all()?;
                    entries.insert(path, Some(bytes));
                }
            }
        }
        Ok(())
    }

    /// The paths of the files, sorted.
    pub fn files(&self) -> Vec<&Path> {
        self.entries.iter().filter(|(_, bytes)| bytes.is_some()).map(|(path, _)| path.as_path()).collect()
    }

    /// One line per difference between `self` (before) and `later`: a path that appeared or
    /// disappeared, a length or a byte that changed. Empty when the two are identical.
    pub fn differences(&self, later: &DirSnapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (path, before) in &self.entries {
            let shown = path.display();
            match (before, later.entries.get(path)) {
                (_, None) => out.push(format!("{shown}: gone")),
                (None, Some(Some(_))) => out.push(format!("{shown}: a directory became a file")),
                (Some(_), Some(None)) => out.push(format!("{shown}: a file became a directory")),
                (None, Some(None)) => {}
                (Some(old), Some(Some(new))) if old.len() != new.len() => {
                    out.push(format!("{shown}: length changed ({} -> {})", old.len(), new.len()));
                }
                (Some(old), Some(Some(new))) => {
                    if let Some(at) = old.iter().zip(new).position(|(a, b)| a != b) {
                        out.push(format!("{shown}: byte {at} changed ({:#04x} -> {:#04x})", old[at], new[at]));
                    }
                }
            }
        }
        for (path, after) in &later.entries {
            if !self.entries.contains_key(path) {
                let kind = if after.is_some() { "file" } else { "directory" };
                out.push(format!("{}: a new {kind}", path.display()));
            }
        }
        out
    }
}

impl fmt::Debug for DirSnapshot {
    /// Names and lengths, not bytes: a failure message stays readable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (path, bytes) in &self.entries {
            match bytes {
                Some(bytes) => map.entry(&path.display(), &format_args!("{} bytes", bytes.len())),
                None => map.entry(&path.display(), &format_args!("dir")),
            };
        }
        map.finish()
    }
}

/// A filesystem for testing group commit without relying on timing.
///
/// The test runs in rounds: in each, every participating thread appends once, and the round
/// ends when all of them were acknowledged. A file sync is held until every participant has
/// written in the current round. So a log that lets threads append while one of them syncs
/// needs at most two syncs a round (the first leader may have gathered only its own append
/// before the others wrote; the next one then covers the rest), and the count of syncs shows
/// whether appends share them. A log that syncs while holding the lock the others need to
/// append never lets them write: after `patience` the gate gives up for good and lets every
/// sync through, and [`SyncGate::gave_up`] says so. Either way the test ends.
pub type SyncGate = Layered<Gate>;

/// The layer of [`SyncGate`].
#[derive(Debug)]
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    patience: Duration,
}

#[derive(Debug)]
struct GateState {
    participants: usize,
    wrote_this_round: HashSet<ThreadId>,
    gave_up: bool,
}

impl Layered<Gate> {
    /// A gate over `inner` for `participants` threads.
    pub fn new(inner: FsRef, participants: usize, patience: Duration) -> Self {
        let state = GateState { participants, wrote_this_round: HashSet::new(), gave_up: false };
        Layered::over(inner, Arc::new(Gate { state: Mutex::new(state), changed: Condvar::new(), patience }))
    }

    /// Starts a round. Call it once, when every participant's previous append was
    /// acknowledged and before any of them appends again (between two barriers).
    pub fn start_round(&self) {
        self.layer().lock().wrote_this_round.clear();
    }

    /// Whether a sync ever waited `patience` without the other threads writing.
    pub fn gave_up(&self) -> bool {
        self.layer().lock().gave_up
    }
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wrote(&self) {
        self.lock().wrote_this_round.insert(std::thread::current().id());
        self.changed.notify_all();
    }

    fn before_sync(&self) {
        let mut state = self.lock();
        while !state.gave_up && state.wrote_this_round.len() < state.participants {
            let (next, timeout) = self.changed.wait_timeout(state, self.patience).unwrap_or_else(|p| p.into_inner());
            state = next;
            if timeout.timed_out() && state.wrote_this_round.len() < state.participants {
                state.gave_up = true;
            }
        }
    }
}

impl Layer for Gate {
    fn around(&self, _inner: &dyn Vfs, call: Call<'_>, run: &mut dyn FnMut() -> io::Result<u64>) -> io::Result<u64> {
        match call {
            Call::WriteAt { .. } => {
                let written = run()?;
                self.wrote();
                Ok(written)
            }
            Call::SyncData { .. } | Call::SyncAll { .. } => {
                self.before_sync();
                run()
            }
            _ => run(),
        }
    }
}

/// A filesystem that pauses one file sync right after it completes, for testing what a log
/// does between its sync and its acknowledgement.
///
/// Group commit must acknowledge an append only after a sync that *began after the append's
/// bytes were written*. A leader that decides what its sync covered only once the sync has
/// returned acknowledges appends written while it was syncing, which no sync covered. To
/// show it deterministically: arm the hold, let one thread append (its sync completes and
/// pauses), let another thread append (its bytes are written during the pause), release, and
/// crash before any further sync: the second append must not have been acknowledged by the
/// first sync.
///
/// Waits give up after `patience`, so a log that blocks the second thread (by syncing while
/// holding the lock appends need) ends the test instead of hanging it; the waits say whether
/// they gave up.
pub type SyncHold = Layered<Hold>;

/// The layer of [`SyncHold`].
#[derive(Debug)]
pub struct Hold {
    state: Mutex<HoldState>,
    changed: Condvar,
    patience: Duration,
}

#[derive(Debug, Default)]
struct HoldState {
    armed: bool,
    held: bool,
    released: bool,
    writes: u64,
}

impl Layered<Hold> {
    /// A hold over `inner`, nothing armed.
    pub fn new(inner: FsRef, patience: Duration) -> Self {
        Layered::over(inner, Arc::new(Hold { state: Mutex::default(), changed: Condvar::new(), patience }))
    }

    /// The next file sync, once it has completed, waits until [`SyncHold::release`].
    pub fn hold_next_sync(&self) {
        let mut state = self.layer().lock();
        state.armed = true;
        state.held = false;
        state.released = false;
    }

    /// Waits until an armed sync has completed and is held; `false` if `patience` ran out.
    pub fn wait_until_held(&self) -> bool {
        self.layer().wait_for(|state| state.held)
    }

    /// Writes so far (successful `write_at` calls through this filesystem).
    pub fn writes(&self) -> u64 {
        self.layer().lock().writes
    }

    /// Waits until at least `count` writes happened; `false` if `patience` ran out.
    pub fn wait_for_writes(&self, count: u64) -> bool {
        self.layer().wait_for(|state| state.writes >= count)
    }

    /// Lets the held sync return.
    pub fn release(&self) {
        self.layer().lock().released = true;
        self.layer().changed.notify_all();
    }
}

impl Hold {
    fn lock(&self) -> MutexGuard<'_, HoldState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait_for(&self, done: impl Fn(&HoldState) -> bool) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, self.patience, |state| !done(state))
            .unwrap_or_else(|p| p.into_inner());
        done(&state)
    }

    fn wrote(&self) {
        self.lock().writes += 1;
        self.changed.notify_all();
    }

    fn after_sync(&self) {
        let mut state = self.lock();
        if !state.armed {
            return;
        }
        state.armed = false;
        state.held = true;
        self.changed.notify_all();
        // The test releases; if it never does (it failed), go on after `patience`.
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, self.patience, |state| !state.released)
            .unwrap_or_else(|p| p.into_inner());
        state.held = false;
    }
}

impl Layer for Hold {
    fn around(&self, _inner: &dyn Vfs, call: Call<'_>, run: &mut dyn FnMut() -> io::Result<u64>) -> io::Result<u64> {
        match call {
            Call::WriteAt { .. } => {
                let written = run()?;
                self.wrote();
                Ok(written)
            }
            Call::SyncData { .. } | Call::SyncAll { .. } => {
                let result = run();
                self.after_sync();
                result
            }
            _ => run(),
        }
    }
}

/// Lab 7's test helpers, written once for its public tests and its hidden suite: a seeded
/// workload of lab 4 commands, its log and its model, the comparison of a chunked state with
/// the model, and the chunk store and replica those tests open.
///
/// The kit cannot depend on the labs (every lab depends on the kit), so these are a macro that
/// expands in the test file that calls it, at its root, where `lab4` and `lab7` are
/// dependencies: `distributed::lab7_test_helpers!();`. Each item is allowed to go unused, since
/// no single test file uses them all. The items:
///
/// - `STORE`, `NODE`: the directories of the chunk store and of the replica;
/// - `commands(seed, count, keys)`: puts, deletes, increments, batches and no-ops over `keys`
///   keys, with increasing timestamps; `log_of(&commands)`: entry `i + 1` of term 1 carries
///   `commands[i]`; `apply_all(&mut state, &commands)`; `model(&commands)`: lab 4's `KvStore`
///   after them; `put(key, value)`: a put operation;
/// - `same_state(&chunked, &model)`: the same keys, values and log time; `describe(&chunked)`;
/// - `meta(index)`: a snapshot's metadata at `index` in term 1;
/// - `open_store(&fs)`, `open_store_with(&fs, codec)`, `restored(&store, invariant)`: the store
///   and its newest snapshot's state, failing under `atomic-write` or `invariant`;
/// - `node_options(policy)`, `open_node(&fs, policy)`: a replica with small log segments and 8
///   chunks, failing under `recovery-equivalence` if it does not open.
#[macro_export]
macro_rules! lab7_test_helpers {
    () => {
        #[allow(dead_code)]
        const STORE: &str = "store";
        #[allow(dead_code)]
        const NODE: &str = "node";

        /// A seeded workload of `count` commands over `keys` keys: puts, deletes, increments,
        /// batches and no-ops, with increasing timestamps.
        #[allow(dead_code)]
        fn commands(seed: u64, count: usize, keys: u64) -> ::std::vec::Vec<::lab4::Command> {
            use ::lab4::{Command, Op, Write};
            let mut rng = $crate::rng::TestRng::new(seed);
            (0..count)
                .map(|i| {
                    let key = format!("k{}", rng.below(keys));
                    let op = match rng.below(10) {
                        0..=3 => {
                            let len = 1 + rng.below(24) as usize;
                            Op::Put { key, value: rng.bytes(len) }
                        }
                        4 => Op::Delete { key },
                        5..=7 => {
                            Op::Increment { key: format!("c{}", rng.below(4)), delta: rng.in_range(1, 100) as i64 }
                        }
                        8 => Op::Batch(vec![
                            Write::Put { key: key.clone(), value: vec![b'b'; 5] },
                            Write::Delete { key: format!("k{}", rng.below(keys)) },
                        ]),
                        _ => Op::Noop,
                    };
                    Command::new(1_000 + 10 * i as u64, op)
                })
                .collect()
        }

        /// The log of a leader in term 1: entry `i + 1` carries `commands[i]`.
        #[allow(dead_code)]
        fn log_of(commands: &[::lab4::Command]) -> ::std::vec::Vec<$crate::storage::Entry> {
            commands.iter().enumerate().map(|(i, c)| $crate::storage::Entry::new(i as u64 + 1, 1, c.encode())).collect()
        }

        #[allow(dead_code)]
        fn apply_all(state: &mut impl $crate::storage::StateMachineStorage, commands: &[::lab4::Command]) {
            for command in commands {
                state.apply(&command.encode()).expect("apply a command");
            }
        }

        /// The model after `commands`.
        #[allow(dead_code)]
        fn model(commands: &[::lab4::Command]) -> ::lab4::KvStore {
            let mut kv = ::lab4::KvStore::new();
            apply_all(&mut kv, commands);
            kv
        }

        #[allow(dead_code)]
        fn put(key: &str, value: &[u8]) -> ::lab4::Op {
            ::lab4::Op::Put { key: key.into(), value: value.to_vec() }
        }

        /// Whether a chunked state holds exactly the model's keys, values and log time.
        #[allow(dead_code)]
        fn same_state(state: &::lab7::ChunkedKv, model: &::lab4::KvStore) -> bool {
            state.log_time() == model.log_time() && state.iter().eq(model.iter())
        }

        #[allow(dead_code)]
        fn describe(state: &::lab7::ChunkedKv) -> String {
            format!("{} keys, log time {}", state.len(), state.log_time())
        }

        #[allow(dead_code)]
        fn meta(index: $crate::storage::Index) -> $crate::storage::SnapshotMeta {
            $crate::storage::SnapshotMeta { last_index: index, last_term: 1 }
        }

        #[allow(dead_code)]
        fn open_store_with(fs: &$crate::vfs::FsRef, codec: ::lab7::Codec) -> ::lab7::ChunkStore {
            match ::lab7::ChunkStore::open(::std::sync::Arc::clone(fs), STORE, ::lab7::StoreOptions { codec }) {
                Ok(store) => store,
                Err(e) => $crate::fail!("atomic-write", "the chunk store does not open: {e}"),
            }
        }

        #[allow(dead_code)]
        fn open_store(fs: &$crate::vfs::FsRef) -> ::lab7::ChunkStore {
            open_store_with(fs, ::lab7::Codec::default())
        }

        /// The state of the store's newest snapshot.
        #[allow(dead_code)]
        fn restored(
            store: &::lab7::ChunkStore,
            invariant: &str,
        ) -> Option<($crate::storage::SnapshotMeta, ::lab7::ChunkedKv)> {
            match store.load_state() {
                Ok(state) => state,
                Err(e) => $crate::fail!(invariant, "the newest snapshot does not restore: {e}"),
            }
        }

        #[allow(dead_code)]
        fn node_options(policy: ::lab7::SnapshotPolicy) -> ::lab7::NodeOptions {
            ::lab7::NodeOptions {
                replica: ::lab4::ReplicaOptions {
                    wal: ::lab1::WalOptions { segment_size: 1024, ..::lab1::WalOptions::default() },
                    ..::std::default::Default::default()
                },
                policy,
                chunks: 8,
                ..::lab7::NodeOptions::default()
            }
        }

        #[allow(dead_code)]
        fn open_node(fs: &$crate::vfs::FsRef, policy: ::lab7::SnapshotPolicy) -> ::lab7::SnapshottingReplica {
            match ::lab7::SnapshottingReplica::open(::std::sync::Arc::clone(fs), NODE, node_options(policy)) {
                Ok(node) => node,
                Err(e) => $crate::fail!("recovery-equivalence", "the replica does not open: {e}"),
            }
        }
    };
}
