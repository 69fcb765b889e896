//! The labs' workloads, run with recording on, and the [`Experiment`] that re-runs one with an
//! option changed.
//!
//! Each workload is the shape of its lab's benchmark, scaled down so a report takes seconds:
//!
//! - **lab 1**: `writers` threads append 1 KiB entries to one log, each append acknowledged
//!   under the sync policy (a sync per append, or group commit);
//! - **lab 2**: one writer appends 1 KiB entries to lab 1's log in 64 KiB segments, syncing
//!   every 16 (the acknowledgement), then verifies the whole log with lab 2's `recover`
//!   (every record's checksum read back: the reads of the report);
//! - **lab 3**: a state that grows by 4 KiB is saved as a whole snapshot after every 25 writes
//!   (compressed with lab 7's LZ4 first when compression is on) and read back every 100;
//! - **lab 4**: a replica of lab 4's key-value store takes puts on 64 keys, one of them (`user:0042`)
//!   the target of a third of them, commits each, snapshots by the threshold (none by
//!   default), then restarts and replays;
//! - **lab 5**: lab 4's workload without snapshots, then a restart where four readers read the
//!   hot key through lab 5's read barrier while the applier replays: the time they wait is
//!   the barrier's;
//! - **lab 6**: payments through lab 6's idempotency service on lab 4's accounts (the hot one
//!   included), one in five a client's retry of an earlier request (answered from the stored
//!   record, with no write), snapshots by the threshold, then a restart;
//! - **lab 7**: the same requests on lab 7's chunked state, with incremental snapshots by
//!   policy, chunks compressed or not, then a restart.
//!
//! The driver charges each request's I/O to the log index or key it served
//! ([`crate::record::serving`]) and tells the recorder what the filesystem cannot see:
//! acknowledgements, snapshots, restarts.

use std::path::PathBuf;
use std::sync::Arc;

use distributed::rng::TestRng;
use distributed::storage::{Entry, Snapshot, SnapshotMeta};
use distributed::vfs::{FsRef, SimFs, StdFs};
use serde::{Deserialize, Serialize};

use crate::analysis::{Change, Experiment, Measurement, Options, Restart, Served, Summary};
use crate::record::{Recorded, Recorder, RecordingFs, serving};

/// Which disk a workload runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Disk {
    /// The kit's simulated disk, with the seeded latency model: the same seed, the same
    /// recording (for single-threaded workloads).
    Sim,
    /// The real disk, in a fresh directory under the system's temporary directory (or
    /// `MONITOR_DIR`), with measured latencies.
    Std,
}

/// A workload as recorded: enough to run it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    /// The lab whose workload it is (1 to 7).
    pub lab: u32,
    /// The disk.
    pub disk: Disk,
    /// Seeds the latency model and the requests.
    pub seed: u64,
    /// Requests (appends, writes or puts).
    pub requests: u64,
    /// Appending threads (lab 1).
    pub writers: u64,
    /// The labs' options.
    pub options: Options,
}

/// The labs whose workloads the monitor runs.
pub const LABS: [u32; 7] = [1, 2, 3, 4, 5, 6, 7];

impl WorkloadSpec {
    /// The default workload of `lab`, on `disk`.
    pub fn default_for(lab: u32, disk: Disk, seed: u64) -> Result<WorkloadSpec, String> {
        let options = Options { group_commit: false, segment_size: 64 << 10, snapshot_every: 0, compression: false };
        let (requests, writers, options) = match lab {
            1 => (2000, 4, options),
            2 => (4000, 1, options),
            3 => (400, 1, options),
            4..=6 => (3000, 1, Options { segment_size: 1 << 20, ..options }),
            7 => (3000, 1, Options { segment_size: 1 << 20, snapshot_every: 200, ..options }),
            _ => return Err(format!("lab {lab} has no workload (the monitor runs labs {LABS:?})")),
        };
        Ok(WorkloadSpec { lab, disk, seed, requests, writers, options })
    }

    /// This workload with `change` applied.
    pub fn with(mut self, change: Change) -> WorkloadSpec {
        match change {
            Change::GroupCommit => self.options.group_commit = true,
            Change::SegmentSize(size) => self.options.segment_size = size,
            Change::SnapshotEvery(every) => self.options.snapshot_every = every,
            Change::Compression => self.options.compression = true,
        }
        self
    }

    /// Runs the workload with recording on (keeping up to `trace` events of the whole trace).
    pub fn run(&self, trace: Option<usize>) -> Result<Recorded, String> {
        let recorder = match self.disk {
            Disk::Sim => Recorder::modelled(self.seed),
            Disk::Std => Recorder::real(),
        };
        if let Some(limit) = trace {
            recorder.keep_trace(limit);
        }
        let (inner, cleanup): (FsRef, Option<PathBuf>) = match self.disk {
            Disk::Sim => (Arc::new(SimFs::new(self.seed)), None),
            Disk::Std => {
                let base = std::env::var_os("MONITOR_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
                let dir = base.join(format!("monitor-lab{}-{}-{}", self.lab, std::process::id(), unique()));
                std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
                (Arc::new(StdFs::new(&dir)), Some(dir))
            }
        };
        let fs: FsRef = Arc::new(RecordingFs::over(inner, Arc::clone(&recorder)));
        let result = match self.lab {
            1 => lab1_workload(self, fs, &recorder),
            2 => lab2_workload(self, fs, &recorder),
            3 => lab3_workload(self, fs, &recorder),
            4 => lab4_workload(self, fs, &recorder),
            5 => lab5_workload(self, fs, &recorder),
            6 => lab6_workload(self, fs, &recorder),
            7 => lab7_workload(self, fs, &recorder),
            lab => Err(format!("lab {lab} has no workload")),
        };
        if let Some(dir) = cleanup {
            let _ = std::fs::remove_dir_all(dir);
        }
        result.map(|()| recorder.finish())
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs `spec`, and `spec` with a change, and measures each with the analysis.
#[derive(Debug)]
pub struct Rerun {
    spec: WorkloadSpec,
}

impl Rerun {
    /// Re-runs of `spec`.
    pub fn new(spec: WorkloadSpec) -> Rerun {
        Rerun { spec }
    }
}

impl Experiment for Rerun {
    fn measure(&mut self, change: Option<Change>) -> Result<Measurement, String> {
        let spec = match change {
            Some(change) => self.spec.with(change),
            None => self.spec,
        };
        Ok(crate::analysis::measure(&spec.run(None)?.summary))
    }
}

fn err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn lab1_workload(spec: &WorkloadSpec, fs: FsRef, recorder: &Recorder) -> Result<(), String> {
    use lab1::{SyncPolicy, Wal, WalError, WalOptions};
    let sync = if spec.options.group_commit { SyncPolicy::GroupCommit } else { SyncPolicy::EveryAppend };
    let wal = Wal::open(fs, "wal", WalOptions { segment_size: spec.options.segment_size, sync })
        .map_err(|e| err("opening the log")(&e))?;
    let data = vec![0x5a; 1024];
    let writers = spec.writers.max(1);
    recorder.mark(|s: &mut Summary| s.saw_writers(writers));
    let per_writer = spec.requests / writers;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|_| {
                let (wal, data) = (&wal, &data);
                scope.spawn(move || -> Result<(), String> {
                    for _ in 0..per_writer {
                        loop {
                            let index = wal.last_index() + 1;
                            let entry = Entry::new(index, 1, data.clone());
                            match serving(Served::Index(index), || wal.append(std::slice::from_ref(&entry))) {
                                Ok(()) => break,
                                Err(WalError::NotContiguous { .. }) => std::thread::yield_now(),
                                Err(e) => return Err(format!("append: {e}")),
                            }
                        }
                        recorder.mark(|s| s.acknowledge(1, data.len() as u64));
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| "a writer panicked".to_string())?)
    })
}

fn lab2_workload(spec: &WorkloadSpec, fs: FsRef, recorder: &Recorder) -> Result<(), String> {
    use lab1::{SyncPolicy, Wal, WalOptions};
    let options = WalOptions { segment_size: spec.options.segment_size, sync: SyncPolicy::Never };
    let wal = Wal::open(Arc::clone(&fs), "wal", options).map_err(|e| err("opening the log")(&e))?;
    recorder.mark(|s| s.saw_writers(1));
    let data = vec![0x3c; 1024];
    for index in 1..=spec.requests {
        let entry = Entry::new(index, 1, data.clone());
        serving(Served::Index(index), || wal.append(std::slice::from_ref(&entry))).map_err(|e| err("append")(&e))?;
        if index % 16 == 0 || index == spec.requests {
            serving(Served::Index(index), || wal.sync()).map_err(|e| err("sync")(&e))?;
            let acked = if index % 16 == 0 { 16 } else { index % 16 };
            recorder.mark(|s| s.acknowledge(acked, acked * data.len() as u64));
        }
    }
    drop(wal);
    // The verification's reads are in the recording; it is not a replay (nothing is applied),
    // so it is not marked as a restart.
    let recovery = lab2::recover(&fs, "wal", lab2::RecoveryMode::default()).map_err(|e| err("recover")(&e))?;
    if recovery.last_index != spec.requests {
        return Err(format!("recovery found {} entries of {}", recovery.last_index, spec.requests));
    }
    Ok(())
}

fn lab3_workload(spec: &WorkloadSpec, fs: FsRef, recorder: &Recorder) -> Result<(), String> {
    use lab3::{SnapshotStore, StoreOptions};
    let store = SnapshotStore::open(fs, "snapshots", StoreOptions::default()).map_err(|e| err("opening")(&e))?;
    let mut state = Vec::new();
    let mut rng = TestRng::new(spec.seed);
    for write in 1..=spec.requests {
        state.extend(value_of(&mut rng, 4096));
        if write % 25 == 0 {
            // With compression on, the image is compressed with lab 7's LZ4 before it is saved.
            let data = if spec.options.compression {
                lab7::format::compress(&state, lab7::Codec::Lz4).map_err(|e| err("compress")(&e))?
            } else {
                state.clone()
            };
            let snapshot = Snapshot { meta: SnapshotMeta { last_index: write, last_term: 1 }, data };
            let start = recorder.now_ns();
            serving(Served::Index(write), || store.save(&snapshot)).map_err(|e| err("save")(&e))?;
            let took = recorder.now_ns() - start;
            recorder.mark(|s| {
                s.snapshot_taken(took);
                s.acknowledge(25, 25 * 4096);
            });
        }
        if write % 100 == 0 {
            serving(Served::Index(write), || store.latest()).map_err(|e| err("latest")(&e))?;
        }
    }
    Ok(())
}

/// The key of request `i`: a third go to `user:0042`, the rest spread over 64 keys.
fn key_of(rng: &mut TestRng) -> String {
    if rng.ratio(1, 3) { "user:0042".to_string() } else { format!("user:{:04}", rng.below(64)) }
}

/// A value that compresses well (runs of a few bytes), as most application values do.
fn value_of(rng: &mut TestRng, len: usize) -> Vec<u8> {
    let mut value = Vec::with_capacity(len);
    while value.len() < len {
        let byte = b'a' + rng.below(4) as u8;
        value.extend(std::iter::repeat_n(byte, 16));
    }
    value.truncate(len);
    value
}

fn put(index: u64, key: String, value: Vec<u8>) -> Entry {
    Entry::new(index, 1, lab4::Command::new(index, lab4::Op::Put { key, value }).encode())
}

fn lab4_workload(spec: &WorkloadSpec, fs: FsRef, recorder: &Recorder) -> Result<(), String> {
    use lab1::{SyncPolicy, WalOptions};
    use lab4::{KvStore, Replica, ReplicaOptions};
    fill_replica(spec, &fs, recorder)?;
    let options = ReplicaOptions {
        wal: WalOptions { segment_size: spec.options.segment_size, sync: SyncPolicy::EveryAppend },
        ..ReplicaOptions::default()
    };
    let start = recorder.now_ns();
    let mut replica =
        Replica::open(Arc::clone(&fs), "replica", options, KvStore::new()).map_err(|e| err("reopening")(&e))?;
    let replayed = replica.apply_committed().map_err(|e| err("replay")(&e))?.len() as u64;
    let replay_ns = recorder.now_ns() - start;
    recorder.mark(|s| s.restarted(Restart { replayed_entries: replayed, replay_ns }));
    Ok(())
}

/// Lab 4's puts, committed and applied, without the restart: what labs 4 and 5 start from.
fn fill_replica(spec: &WorkloadSpec, fs: &FsRef, recorder: &Recorder) -> Result<(), String> {
    use lab1::{SyncPolicy, WalOptions};
    use lab4::{KvStore, Replica, ReplicaOptions};
    let options = ReplicaOptions {
        wal: WalOptions { segment_size: spec.options.segment_size, sync: SyncPolicy::EveryAppend },
        ..ReplicaOptions::default()
    };
    let mut replica =
        Replica::open(Arc::clone(fs), "replica", options, KvStore::new()).map_err(|e| err("opening")(&e))?;
    replica.set_term(1, None).map_err(|e| err("set_term")(&e))?;
    recorder.mark(|s| s.saw_writers(1));
    let mut rng = TestRng::new(spec.seed);
    for index in 1..=spec.requests {
        let key = key_of(&mut rng);
        let value = value_of(&mut rng, 256);
        let len = value.len() as u64;
        let entry = put(index, key.clone(), value);
        serving(Served::Key(key), || -> Result<(), String> {
            replica.append(std::slice::from_ref(&entry)).map_err(|e| err("append")(&e))?;
            replica.commit(index).map_err(|e| err("commit")(&e))?;
            replica.apply_committed().map_err(|e| err("apply")(&e))?;
            Ok(())
        })?;
        recorder.mark(|s| s.acknowledge(1, len));
        if spec.options.snapshot_every > 0 && index % spec.options.snapshot_every == 0 {
            let start = recorder.now_ns();
            replica.take_snapshot().map_err(|e| err("snapshot")(&e))?;
            let took = recorder.now_ns() - start;
            recorder.mark(|s| s.snapshot_taken(took));
        }
    }
    Ok(())
}

fn lab5_workload(spec: &WorkloadSpec, fs: FsRef, recorder: &Recorder) -> Result<(), String> {
    use lab1::{SyncPolicy, WalOptions};
    use lab5::{ReadNode, ReplicaOptions};
    fill_replica(spec, &fs, recorder)?;
    let options = ReplicaOptions {
        wal: WalOptions { segment_size: spec.options.segment_size, sync: SyncPolicy::EveryAppend },
        ..ReplicaOptions::default()
    };
    let start = recorder.now_ns();
    let clock: distributed::clock::ClockRef = Arc::new(distributed::clock::SystemClock::new());
    let node = ReadNode::open(Arc::clone(&fs), "replica", options, clock).map_err(|e| err("opening")(&e))?;
    let applier = node.start_applier();
    let result = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let node = node.clone();
                scope.spawn(move || -> Result<(), String> {
                    for _ in 0..50 {
                        let before = recorder.now_ns();
                        serving(Served::Key("user:0042".into()), || {
                            node.read(&["user:0042"], std::time::Duration::from_secs(30))
                        })
                        .map_err(|e| err("read")(&e))?;
                        let waited = recorder.now_ns() - before;
                        recorder.mark(|s| s.barrier_waited(waited));
                    }
                    Ok(())
                })
            })
            .collect();
        readers.into_iter().try_for_each(|r| r.join().map_err(|_| "a reader panicked".to_string())?)
    });
    applier.stop().map_err(|e| err("applier")(&e))?;
    let replay_ns = recorder.now_ns() - start;
    recorder.mark(|s| s.restarted(Restart { replayed_entries: spec.requests, replay_ns }));
    result
}

fn lab6_workload(spec: &WorkloadSpec, fs: FsRef, recorder: &Recorder) -> Result<(), String> {
    use lab1::{SyncPolicy, WalOptions};
    use lab6::{IdemConfig, RecordKey, ReplicaOptions, Request, Service};
    let options = ReplicaOptions {
        wal: WalOptions { segment_size: spec.options.segment_size, sync: SyncPolicy::EveryAppend },
        ..ReplicaOptions::default()
    };
    // A window longer than the run: every record stays live, so every retry is a hit.
    let config = IdemConfig { ttl: u64::MAX / 4, lease: 30_000, gc_per_apply: 8 };
    let mut service = Service::open(Arc::clone(&fs), "service", options, config).map_err(|e| err("opening")(&e))?;
    recorder.mark(|s| s.saw_writers(1));
    let mut rng = TestRng::new(spec.seed);
    let mut sent: Vec<(Request, lab4::Op)> = Vec::new();
    for i in 1..=spec.requests {
        let (request, op) = if i % 5 == 0 && !sent.is_empty() {
            sent[rng.below(sent.len() as u64) as usize].clone()
        } else {
            let account = key_of(&mut rng);
            let op = lab4::Op::Increment { key: account.clone(), delta: 1 + rng.below(100) as i64 };
            let record = RecordKey::new("payments", &account, &format!("{i:08x}-{:012x}", rng.next_u64() >> 16));
            let request = Request::for_op(record, &op);
            sent.push((request.clone(), op.clone()));
            (request, op)
        };
        let key = request.record.key.clone();
        serving(Served::Key(key), || service.execute(i, &request, op)).map_err(|e| err("execute")(&e))?;
        recorder.mark(|s| s.acknowledge(1, 8));
        if spec.options.snapshot_every > 0 && i % spec.options.snapshot_every == 0 {
            let start = recorder.now_ns();
            service.take_snapshot().map_err(|e| err("snapshot")(&e))?;
            let took = recorder.now_ns() - start;
            recorder.mark(|s| s.snapshot_taken(took));
        }
    }
    let last = service.replica().last_log_index();
    let snapshot = service.replica().snapshot_meta().last_index;
    drop(service);
    let start = recorder.now_ns();
    Service::open(Arc::clone(&fs), "service", options, config).map_err(|e| err("reopening")(&e))?;
    let replay_ns = recorder.now_ns() - start;
    recorder.mark(|s| s.restarted(Restart { replayed_entries: last - snapshot, replay_ns }));
    Ok(())
}

fn lab7_workload(spec: &WorkloadSpec, fs: FsRef, recorder: &Recorder) -> Result<(), String> {
    use lab1::{SyncPolicy, WalOptions};
    use lab4::ReplicaOptions;
    use lab7::{Codec, NodeOptions, SnapshotPolicy, SnapshottingReplica, StoreOptions};
    let options = NodeOptions {
        replica: ReplicaOptions {
            wal: WalOptions { segment_size: spec.options.segment_size, sync: SyncPolicy::EveryAppend },
            ..ReplicaOptions::default()
        },
        store: StoreOptions { codec: if spec.options.compression { Codec::Lz4 } else { Codec::None } },
        policy: SnapshotPolicy { max_entries: spec.options.snapshot_every, max_bytes: 0 },
        ..NodeOptions::default()
    };
    let open = |fs: &FsRef| SnapshottingReplica::open(Arc::clone(fs), "node", options);
    let mut node = open(&fs).map_err(|e| err("opening")(&e))?;
    recorder.mark(|s| s.saw_writers(1));
    let mut rng = TestRng::new(spec.seed);
    let mut first_index = node.replica().last_log_index() + 1;
    if first_index == 0 {
        first_index = 1;
    }
    for index in first_index..first_index + spec.requests {
        let key = key_of(&mut rng);
        let value = value_of(&mut rng, 512);
        let len = value.len() as u64;
        let entry = put(index, key.clone(), value);
        let before = node.store().meta();
        let start = recorder.now_ns();
        serving(Served::Key(key), || -> Result<(), String> {
            node.append(std::slice::from_ref(&entry)).map_err(|e| err("append")(&e))?;
            node.commit(index).map_err(|e| err("commit")(&e))?;
            node.apply_committed().map_err(|e| err("apply")(&e))?;
            Ok(())
        })?;
        let took = recorder.now_ns() - start;
        recorder.mark(|s| {
            s.acknowledge(1, len);
            if node.store().meta() != before {
                s.snapshot_taken(took);
            }
        });
    }
    drop(node);
    let start = recorder.now_ns();
    let mut node = open(&fs).map_err(|e| err("reopening")(&e))?;
    let replayed = node.apply_committed().map_err(|e| err("replay")(&e))?.len() as u64;
    let replay_ns = recorder.now_ns() - start;
    recorder.mark(|s| s.restarted(Restart { replayed_entries: replayed, replay_ns }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_threaded_workload_on_the_simulated_disk_records_the_same_summary_every_run() {
        let mut spec = WorkloadSpec::default_for(4, Disk::Sim, 7).unwrap();
        spec.requests = 200;
        let (a, b) = (spec.run(None).unwrap(), spec.run(None).unwrap());
        assert_eq!(a.summary, b.summary);
        assert_eq!(a.summary.acked_entries, 200);
        assert!(a.summary.events > 600, "{} events", a.summary.events);
    }

    #[test]
    fn a_trace_is_kept_only_when_asked_and_only_up_to_its_limit() {
        let mut spec = WorkloadSpec::default_for(2, Disk::Sim, 7).unwrap();
        spec.requests = 100;
        assert!(spec.run(None).unwrap().trace.is_none());
        let recorded = spec.run(Some(10)).unwrap();
        assert_eq!(recorded.trace.map(|t| t.len()), Some(10));
        assert_eq!(recorded.dropped + 10, recorded.summary.events);
    }
}
