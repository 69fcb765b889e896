//! Recordings of known workloads, generated from a seed and the [`LatencyModel`]: what the
//! tests (public and hidden) feed the analysis, so that a finding has a known right answer.
//! Given: the same in the stub and the reference.
//!
//! Each fixture is a list of events plus what the workload driver would have told the
//! recorder (entries acknowledged, writers, restarts, snapshots) and the options it ran with.
//! [`Fixture::summary`] folds the events with your [`Summary::observe`], then adds the marks.

use std::collections::BTreeMap;

use distributed::rng::TestRng;

use crate::recording::{
    Change, Experiment, FileKind, IoEvent, IoOp, LatencyModel, Measurement, Options, Restart, Served, Summary,
};

/// A recording of a known workload.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// Every event, in order.
    pub events: Vec<IoEvent>,
    /// Entries acknowledged.
    pub acked_entries: u64,
    /// Bytes of entry data acknowledged.
    pub acked_bytes: u64,
    /// Appending threads.
    pub writers: u64,
    /// Restarts.
    pub restarts: Vec<Restart>,
    /// Snapshots taken and the time each took, in nanoseconds.
    pub snapshots: Vec<u64>,
    /// The options the workload ran with.
    pub options: Options,
}

impl Fixture {
    /// The summary of the events (folded with [`Summary::observe`]) and of the marks.
    pub fn summary(&self) -> Summary {
        let mut summary = crate::recording::summarize(&self.events);
        summary.acknowledge(self.acked_entries, self.acked_bytes);
        summary.saw_writers(self.writers);
        for &restart in &self.restarts {
            summary.restarted(restart);
        }
        for &ns in &self.snapshots {
            summary.snapshot_taken(ns);
        }
        summary
    }
}

/// Builds event lists with latencies from the model, on a virtual clock.
#[derive(Debug)]
pub struct EventBuilder {
    model: LatencyModel,
    now: u64,
    ends: BTreeMap<String, u64>,
    /// The events built so far.
    pub events: Vec<IoEvent>,
}

impl EventBuilder {
    /// A builder whose latencies come from the model seeded with `seed`.
    pub fn new(seed: u64) -> EventBuilder {
        EventBuilder { model: LatencyModel::new(seed), now: 0, ends: BTreeMap::new(), events: Vec::new() }
    }

    fn push(&mut self, file: &str, op: IoOp, offset: u64, len: u64, served: Served) {
        let sequential = self.ends.get(file).copied().unwrap_or(0) == offset;
        let latency_ns = self.model.latency_ns(op, len, sequential);
        let kind = if op == IoOp::DirSync { FileKind::Other } else { FileKind::of_path(file) };
        self.events.push(IoEvent { at_ns: self.now, file: file.into(), kind, op, offset, len, latency_ns, served });
        self.now += latency_ns;
        if op == IoOp::Write {
            self.ends.insert(file.into(), offset + len);
        }
    }

    /// Creates `file`.
    pub fn create(&mut self, file: &str) {
        self.push(file, IoOp::Create, 0, 0, Served::Nothing);
    }

    /// Appends `len` bytes at the end of `file`.
    pub fn append(&mut self, file: &str, len: u64, served: Served) {
        let end = self.ends.get(file).copied().unwrap_or(0);
        self.push(file, IoOp::Write, end, len, served);
    }

    /// Writes `len` bytes at `offset` of `file`.
    pub fn write_at(&mut self, file: &str, offset: u64, len: u64, served: Served) {
        self.push(file, IoOp::Write, offset, len, served);
    }

    /// Reads `len` bytes at `offset` of `file`.
    pub fn read(&mut self, file: &str, offset: u64, len: u64, served: Served) {
        self.push(file, IoOp::Read, offset, len, served);
    }

    /// Syncs `file`.
    pub fn sync(&mut self, file: &str) {
        self.push(file, IoOp::Sync, 0, 0, Served::Nothing);
    }

    /// Syncs directory `dir`.
    pub fn sync_dir(&mut self, dir: &str) {
        self.push(dir, IoOp::DirSync, 0, 0, Served::Nothing);
    }

    /// The virtual time now, in nanoseconds.
    pub fn now(&self) -> u64 {
        self.now
    }
}

fn options() -> Options {
    Options { group_commit: false, segment_size: 64 << 20, snapshot_every: 0, compression: false }
}

fn fixture(builder: EventBuilder, acked_entries: u64, acked_bytes: u64, writers: u64) -> Fixture {
    Fixture {
        events: builder.events,
        acked_entries,
        acked_bytes,
        writers,
        restarts: Vec::new(),
        snapshots: Vec::new(),
        options: options(),
    }
}

/// A key-value workload of `requests` puts of 100 bytes over `keys` keys, where `hot` gets
/// `hot_percent`% of them: each put is one log append charged to its key, syncs every 16.
pub fn planted_hot_key(seed: u64, requests: u64, keys: u64, hot: &str, hot_percent: u64) -> Fixture {
    let mut rng = TestRng::new(seed);
    let mut b = EventBuilder::new(seed);
    b.create("log/00000000000000000001.wal");
    for i in 0..requests {
        let key = if rng.below(100) < hot_percent { hot.to_string() } else { format!("key:{:05}", rng.below(keys)) };
        b.append("log/00000000000000000001.wal", 100, Served::Key(key));
        if i % 16 == 15 {
            b.sync("log/00000000000000000001.wal");
        }
    }
    fixture(b, requests, requests * 100, 1)
}

/// A log appended sequentially, and a chunk file written at random 4 KiB-aligned offsets:
/// `writes` of each.
pub fn random_writes(seed: u64, writes: u64) -> Fixture {
    let mut rng = TestRng::new(seed);
    let mut b = EventBuilder::new(seed);
    b.create("log/00000000000000000001.wal");
    b.create("chunks/data");
    for i in 0..writes {
        b.append("log/00000000000000000001.wal", 4096, Served::Index(i + 1));
        b.write_at("chunks/data", rng.below(1 << 14) * 4096 + 4096, 4096, Served::Index(i + 1));
    }
    b.sync("log/00000000000000000001.wal");
    b.sync("chunks/data");
    fixture(b, writes, writes * 4096, 1)
}

/// `writers` threads each appending `per_writer` entries of 256 bytes, every append synced on
/// its own (a file sync, and a directory sync each time a new segment of 64 entries starts).
pub fn sync_storm(seed: u64, writers: u64, per_writer: u64) -> Fixture {
    let mut b = EventBuilder::new(seed);
    let total = writers * per_writer;
    let mut segment = String::new();
    for index in 1..=total {
        if index % 64 == 1 {
            segment = format!("log/{index:020}.wal");
            b.create(&segment);
            b.sync_dir("log");
        }
        b.append(&segment, 256 + 24, Served::Index(index));
        b.sync(&segment);
    }
    let mut f = fixture(b, total, total * 256, writers);
    f.options.segment_size = 64 * 280;
    f
}

/// A replica that applied `entries` puts with no snapshot, then restarted and replayed them
/// all: appends, a sync per 8, then the replay's reads.
pub fn replay_heavy_restart(seed: u64, entries: u64) -> Fixture {
    let mut b = EventBuilder::new(seed);
    let log = "replica/log/00000000000000000001.wal";
    b.create(log);
    for index in 1..=entries {
        b.append(log, 200, Served::Index(index));
        if index % 8 == 0 {
            b.sync(log);
        }
    }
    let start = b.now();
    for batch in 0..entries.div_ceil(1024) {
        b.read(log, batch * 1024 * 200, 1024 * 200, Served::Nothing);
    }
    let replay_ns = b.now() - start;
    let mut f = fixture(b, entries, entries * 176, 1);
    f.restarts.push(Restart { replayed_entries: entries, replay_ns });
    f
}

/// A replica whose snapshots dominate: small appends, and every `every` entries a snapshot of
/// `state_bytes` in chunk files of 64 KiB and a manifest, with no compression.
pub fn snapshot_heavy(seed: u64, entries: u64, every: u64, state_bytes: u64) -> Fixture {
    let mut b = EventBuilder::new(seed);
    let log = "node/log/00000000000000000001.wal";
    b.create(log);
    let mut snapshots = Vec::new();
    let mut chunk = 0;
    for index in 1..=entries {
        b.append(log, 128, Served::Index(index));
        b.sync(log);
        if index % every == 0 {
            let start = b.now();
            for _ in 0..state_bytes.div_ceil(64 << 10) {
                chunk += 1;
                let name = format!("node/snapshots/chunks/{chunk:064x}");
                b.create(&name);
                b.append(&name, 64 << 10, Served::Nothing);
                b.sync(&name);
            }
            b.sync_dir("node/snapshots/chunks");
            b.create("node/snapshots/MANIFEST.tmp");
            b.append("node/snapshots/MANIFEST.tmp", 2048, Served::Nothing);
            b.sync("node/snapshots/MANIFEST.tmp");
            b.sync_dir("node/snapshots");
            snapshots.push(b.now() - start);
        }
    }
    let mut f = fixture(b, entries, entries * 100, 1);
    f.snapshots = snapshots;
    f.options.snapshot_every = every;
    f
}

/// A log of 1 KiB entries in segments of `per_segment` entries (a rollover each), 4 writers
/// sharing syncs (group commit on).
pub fn rollover_heavy(seed: u64, entries: u64, per_segment: u64) -> Fixture {
    let mut b = EventBuilder::new(seed);
    let mut segment = String::new();
    for index in 1..=entries {
        if index % per_segment == 1 || per_segment == 1 {
            segment = format!("log/{index:020}.wal");
            b.create(&segment);
            b.sync_dir("log");
        }
        b.append(&segment, 1024 + 24, Served::Index(index));
        if index % 8 == 0 {
            b.sync(&segment);
        }
    }
    let mut f = fixture(b, entries, entries * 1024, 4);
    f.options.group_commit = true;
    f.options.segment_size = per_segment * 1048;
    f
}

/// An experiment with a known answer: each change has a fixed effect on a fixed baseline, and
/// every call is remembered. Changes listed in `failing` fail.
#[derive(Clone, Debug, Default)]
pub struct ModelExperiment {
    /// Every `measure` call, in order.
    pub calls: Vec<Option<Change>>,
    /// Changes whose run fails.
    pub failing: Vec<Change>,
}

impl ModelExperiment {
    /// The baseline every change is measured against.
    pub fn baseline() -> Measurement {
        Measurement {
            entries_per_second: 1000.0,
            syncs_per_entry: 1.0,
            write_amplification: 3.0,
            rollovers_per_1000_entries: 50.0,
            max_replayed_entries: 20_000,
            snapshot_bytes: 8 << 20,
        }
    }

    /// What the model says `change` gives.
    pub fn effect(change: Change) -> Measurement {
        let base = Self::baseline();
        match change {
            Change::GroupCommit => Measurement { entries_per_second: 3500.0, syncs_per_entry: 0.25, ..base },
            Change::SegmentSize(_) => {
                Measurement { entries_per_second: 1100.0, rollovers_per_1000_entries: 12.5, ..base }
            }
            Change::SnapshotEvery(_) => Measurement { max_replayed_entries: 499, write_amplification: 3.4, ..base },
            Change::Compression => Measurement { snapshot_bytes: 2 << 20, write_amplification: 1.5, ..base },
        }
    }
}

impl Experiment for ModelExperiment {
    fn measure(&mut self, change: Option<Change>) -> Result<Measurement, String> {
        self.calls.push(change);
        match change {
            Some(change) if self.failing.contains(&change) => Err(format!("the run with {change:?} failed")),
            Some(change) => Ok(Self::effect(change)),
            None => Ok(Self::baseline()),
        }
    }
}
