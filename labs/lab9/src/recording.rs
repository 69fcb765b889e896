//! What a recording holds: the I/O events the monitor sees, the bounded summary they are
//! folded into, what the analysis finds, and the advice it gives. Given: the same in the stub
//! and the reference, because the monitor (`monitor/`) writes and reads these types.
//!
//! The monitor's recording layer turns every filesystem call of a lab into one [`IoEvent`]
//! and hands it to [`Summary::observe`] (your code, in `summary.rs`). The workload driver adds
//! what the filesystem cannot see: entries acknowledged, restarts and their replay, snapshots
//! taken, time waiting in the read barrier ([`Summary::acknowledge`] and its neighbours,
//! below). Everything in a [`Summary`] is bounded: its size does not grow with the number of
//! events, only with the number of files (one offset per file, for the sequential test).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::histogram::LatencyHistogram;
use crate::sketch::TopK;

/// What a file is for, read from its path by [`FileKind::of_path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FileKind {
    /// A log segment (lab 1: `*.wal`).
    Log,
    /// A whole snapshot (lab 3: `*.snap`, and its temporary file).
    Snapshot,
    /// A chunk of an incremental snapshot (lab 7: a file under `chunks/`).
    Chunk,
    /// A manifest of an incremental snapshot (lab 7: `MANIFEST`), replaced atomically.
    Manifest,
    /// Anything else (lab 4's `hardstate`, for one).
    Other,
}

impl FileKind {
    /// Every kind, in the order reports show them.
    pub const ALL: [FileKind; 5] =
        [FileKind::Log, FileKind::Snapshot, FileKind::Chunk, FileKind::Manifest, FileKind::Other];

    /// The kind of the file at `path`, from the names the labs give their files.
    pub fn of_path(path: &str) -> FileKind {
        let name = path.rsplit('/').next().unwrap_or(path);
        let name = name.strip_suffix(".tmp").unwrap_or(name);
        if name.ends_with(".wal") {
            FileKind::Log
        } else if name.ends_with(".snap") || name.ends_with(".broken") {
            FileKind::Snapshot
        } else if path.split('/').any(|part| part == "chunks") {
            FileKind::Chunk
        } else if name.to_ascii_lowercase().starts_with("manifest") {
            FileKind::Manifest
        } else {
            FileKind::Other
        }
    }

    /// The kind's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Log => "log",
            FileKind::Snapshot => "snapshot",
            FileKind::Chunk => "chunk",
            FileKind::Manifest => "manifest",
            FileKind::Other => "other",
        }
    }
}

/// The filesystem call an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IoOp {
    /// `read_at`: `offset` and `len` (the bytes returned).
    Read,
    /// `write_at`: `offset` and `len` (the bytes written).
    Write,
    /// `sync_data` or `sync_all` of a file.
    Sync,
    /// `sync_dir` of a directory (`file` is the directory).
    DirSync,
    /// `open` that created the file.
    Create,
    /// `rename` (`file` is the new name).
    Rename,
    /// `remove_file`.
    Remove,
    /// `set_len` (`len` is the new length).
    SetLen,
}

/// What the workload was doing when an event happened: set by the course's workload driver
/// around each request, so that an I/O call can be charged to the entry or key it served.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Served {
    /// Nothing in particular (opening, background work).
    #[default]
    Nothing,
    /// Appending or reading the log entry at this index.
    Index(u64),
    /// A request on this key.
    Key(String),
}

/// One filesystem call, as the monitor's recording layer saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoEvent {
    /// When the call started, in nanoseconds since the recording began.
    pub at_ns: u64,
    /// The file's path (the directory's, for [`IoOp::DirSync`]).
    pub file: String,
    /// What the file is for.
    pub kind: FileKind,
    /// The call.
    pub op: IoOp,
    /// Where in the file (reads and writes; 0 otherwise).
    pub offset: u64,
    /// How many bytes (reads and writes), or the new length ([`IoOp::SetLen`]).
    pub len: u64,
    /// How long the call took, in nanoseconds.
    pub latency_ns: u64,
    /// What the workload was serving.
    pub served: Served,
}

/// Counters of one file kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindStats {
    /// `read_at` calls.
    pub reads: u64,
    /// Bytes they returned.
    pub read_bytes: u64,
    /// `write_at` calls.
    pub writes: u64,
    /// Bytes they wrote.
    pub write_bytes: u64,
    /// Writes that started where the previous write to the same file ended (or at offset 0 of
    /// a file not written before in this recording).
    pub sequential_writes: u64,
    /// File syncs (`sync_data`, `sync_all`).
    pub syncs: u64,
    /// Files created.
    pub creates: u64,
}

/// Bytes written and syncs in one slice of time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSlice {
    /// Bytes written, per kind, in the order of [`FileKind::ALL`].
    pub bytes: [u64; 5],
    /// File and directory syncs.
    pub syncs: u64,
}

/// Bytes and syncs over time, in at most [`Timeline::MAX_SLICES`] slices: when time runs past
/// the last slice, neighbouring slices are merged in pairs and each slice covers twice as long.
/// Bounded memory, whatever the length of the recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// How long one slice covers.
    pub slice_ns: u64,
    /// The slices, from time 0.
    pub slices: Vec<TimeSlice>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline { slice_ns: 1_000_000, slices: Vec::new() }
    }
}

impl Timeline {
    /// The most slices a timeline keeps.
    pub const MAX_SLICES: usize = 128;

    /// The slice that holds time `at_ns`, merging slices until it fits.
    pub fn slice_at(&mut self, at_ns: u64) -> &mut TimeSlice {
        while at_ns / self.slice_ns >= Self::MAX_SLICES as u64 {
            let merged = self
                .slices
                .chunks(2)
                .map(|pair| {
                    let mut slice = pair[0];
                    if let Some(next) = pair.get(1) {
                        for (bytes, more) in slice.bytes.iter_mut().zip(next.bytes) {
                            *bytes += more;
                        }
                        slice.syncs += next.syncs;
                    }
                    slice
                })
                .collect();
            self.slices = merged;
            self.slice_ns *= 2;
        }
        let index = (at_ns / self.slice_ns) as usize;
        if self.slices.len() <= index {
            self.slices.resize(index + 1, TimeSlice::default());
        }
        &mut self.slices[index]
    }
}

/// One restart: how many log entries recovery replayed, and how long it took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restart {
    /// Entries applied from the log after loading the snapshot.
    pub replayed_entries: u64,
    /// From the start of opening to the end of replay, in nanoseconds.
    pub replay_ns: u64,
}

/// The bounded summary of a recording: what [`Summary::observe`] folds every event into.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Counters per kind, in the order of [`FileKind::ALL`].
    pub kinds: [KindStats; 5],
    /// Directory syncs.
    pub dir_syncs: u64,
    /// Latency of reads.
    pub read_latency: LatencyHistogram,
    /// Latency of writes.
    pub write_latency: LatencyHistogram,
    /// Latency of file and directory syncs.
    pub sync_latency: LatencyHistogram,
    /// I/O calls per key ([`Served::Key`]).
    pub hot_keys: TopK,
    /// Reads and writes per log segment file.
    pub hot_segments: TopK,
    /// Where the last write to each file ended (for the sequential test).
    pub write_ends: BTreeMap<String, u64>,
    /// Bytes and syncs over time.
    pub timeline: Timeline,
    /// The end of the last event seen (`at_ns + latency_ns`), in nanoseconds.
    pub duration_ns: u64,
    /// Events observed.
    pub events: u64,
    /// Entries acknowledged to clients (durable under the sync policy).
    pub acked_entries: u64,
    /// Bytes of entry data acknowledged (what a client asked to store).
    pub acked_bytes: u64,
    /// The most threads that appended at once.
    pub writers: u64,
    /// Restarts, in order (at most [`Summary::MAX_RESTARTS`] kept; later ones are dropped).
    pub restarts: Vec<Restart>,
    /// Snapshots taken.
    pub snapshots: u64,
    /// Time spent taking them, in nanoseconds.
    pub snapshot_ns: u64,
    /// Time readers spent waiting in the read barrier (lab 5), in nanoseconds.
    pub barrier_wait_ns: u64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary::new()
    }
}

impl Summary {
    /// The most restarts a summary keeps.
    pub const MAX_RESTARTS: usize = 64;
    /// How many hot keys and hot segments a summary tracks.
    pub const TOP: usize = 10;
    /// Sub-bucket bits of the latency histograms: values within 2^-7 (under 1%).
    pub const PRECISION_BITS: u32 = 7;
    /// Count-min sketch of hot keys: width and depth (ε = e/1024, δ = e^-4).
    pub const SKETCH: (usize, usize) = (1024, 4);

    /// An empty summary.
    pub fn new() -> Summary {
        let (width, depth) = Self::SKETCH;
        Summary {
            kinds: [KindStats::default(); 5],
            dir_syncs: 0,
            read_latency: LatencyHistogram::new(Self::PRECISION_BITS),
            write_latency: LatencyHistogram::new(Self::PRECISION_BITS),
            sync_latency: LatencyHistogram::new(Self::PRECISION_BITS),
            hot_keys: TopK::new(Self::TOP, width, depth),
            hot_segments: TopK::new(Self::TOP, width, depth),
            write_ends: BTreeMap::new(),
            timeline: Timeline::default(),
            duration_ns: 0,
            events: 0,
            acked_entries: 0,
            acked_bytes: 0,
            writers: 0,
            restarts: Vec::new(),
            snapshots: 0,
            snapshot_ns: 0,
            barrier_wait_ns: 0,
        }
    }

    /// The counters of `kind`.
    pub fn kind(&self, kind: FileKind) -> &KindStats {
        &self.kinds[kind as usize]
    }

    /// The counters of `kind`, to update.
    pub fn kind_mut(&mut self, kind: FileKind) -> &mut KindStats {
        &mut self.kinds[kind as usize]
    }

    /// The workload acknowledged `entries` entries holding `bytes` bytes of data.
    pub fn acknowledge(&mut self, entries: u64, bytes: u64) {
        self.acked_entries += entries;
        self.acked_bytes += bytes;
    }

    /// `writers` threads appended at once.
    pub fn saw_writers(&mut self, writers: u64) {
        self.writers = self.writers.max(writers);
    }

    /// The workload restarted and recovery replayed `replayed_entries` entries.
    pub fn restarted(&mut self, restart: Restart) {
        if self.restarts.len() < Self::MAX_RESTARTS {
            self.restarts.push(restart);
        }
    }

    /// The workload took a snapshot, which took `ns` nanoseconds.
    pub fn snapshot_taken(&mut self, ns: u64) {
        self.snapshots += 1;
        self.snapshot_ns += ns;
    }

    /// A reader waited `ns` nanoseconds in the read barrier.
    pub fn barrier_waited(&mut self, ns: u64) {
        self.barrier_wait_ns += ns;
    }
}

/// Latency percentiles of one operation, in nanoseconds (0 when nothing was recorded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Calls recorded.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// The largest value recorded.
    pub max: u64,
}

/// Bytes written per acknowledged byte, split by what they were written to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteAmplification {
    /// Log segments.
    pub log: f64,
    /// Whole snapshots.
    pub snapshot: f64,
    /// Snapshot chunks.
    pub chunk: f64,
    /// Manifests and the hard state.
    pub manifest: f64,
    /// Other files.
    pub other: f64,
    /// All of them: the sum of the above.
    pub total: f64,
}

/// A hot key or segment: its name, its estimated count, and its share of all counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hot {
    /// The key or the segment file.
    pub name: String,
    /// Estimated I/O calls (an over-estimate, never an under-estimate).
    pub count: u64,
    /// `count` over every call counted by the same sketch.
    pub share: f64,
}

/// What the analysis finds in a summary. Every ratio is 0 when its denominator is 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    /// Bytes written per acknowledged byte.
    pub write_amplification: WriteAmplification,
    /// Sequential writes over writes, per kind (order of [`FileKind::ALL`]).
    pub sequential_ratio: [f64; 5],
    /// File and directory syncs per acknowledged entry.
    pub syncs_per_entry: f64,
    /// File and directory syncs per second of the recording.
    pub syncs_per_second: f64,
    /// Read latency.
    pub read_latency: Percentiles,
    /// Write latency.
    pub write_latency: Percentiles,
    /// Sync latency.
    pub sync_latency: Percentiles,
    /// The hottest keys, hottest first (at most [`Summary::TOP`]).
    pub hot_keys: Vec<Hot>,
    /// The hottest log segments, hottest first.
    pub hot_segments: Vec<Hot>,
    /// Log segments created per 1000 acknowledged entries.
    pub rollovers_per_1000_entries: f64,
    /// Snapshots taken.
    pub snapshots: u64,
    /// Mean time to take one, in nanoseconds.
    pub snapshot_mean_ns: u64,
    /// Bytes written to snapshots, chunks and manifests over all bytes written.
    pub snapshot_share: f64,
    /// The most entries one restart replayed.
    pub max_replayed_entries: u64,
    /// The longest replay, in nanoseconds.
    pub max_replay_ns: u64,
    /// Time in the read barrier over the recording's duration.
    pub barrier_wait_share: f64,
    /// The most threads that appended at once.
    pub writers: u64,
}

/// The options of the labs that advice may change, as the workload ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// Lab 1's group commit (`lab1::SyncPolicy::GroupCommit`) instead of a sync per append.
    pub group_commit: bool,
    /// Lab 1's segment size, in bytes.
    pub segment_size: u64,
    /// Lab 7's automatic snapshot after this many entries (0: never).
    pub snapshot_every: u64,
    /// Lab 7's chunk compression (LZ4) instead of none.
    pub compression: bool,
}

/// One option changed: what an advice proposes and the monitor re-runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Turn group commit on.
    GroupCommit,
    /// Use this segment size.
    SegmentSize(u64),
    /// Snapshot after this many entries.
    SnapshotEvery(u64),
    /// Turn chunk compression on.
    Compression,
}

/// What one run of a workload measured: the figures advice is judged by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Acknowledged entries per second.
    pub entries_per_second: f64,
    /// Syncs per acknowledged entry.
    pub syncs_per_entry: f64,
    /// Bytes written per acknowledged byte.
    pub write_amplification: f64,
    /// Log segments created per 1000 acknowledged entries.
    pub rollovers_per_1000_entries: f64,
    /// The most entries a restart replayed.
    pub max_replayed_entries: u64,
    /// Bytes written to snapshots, chunks and manifests.
    pub snapshot_bytes: u64,
}

/// Runs the recorded workload again, as recorded or with one option changed, and measures it.
/// The monitor implements it by re-running the lab's workload; tests implement it with a model.
pub trait Experiment {
    /// Runs the workload with `change` applied (`None`: as recorded) and measures it.
    fn measure(&mut self, change: Option<Change>) -> Result<Measurement, String>;
}

/// The rules advice comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    /// Many syncs per entry with several writers: share syncs.
    GroupCommit,
    /// Many segment rollovers: larger segments.
    LargerSegments,
    /// Long replay at restart: snapshot more often.
    SnapshotThreshold,
    /// Snapshot bytes dominate: compress chunks.
    Compression,
}

/// One suggestion, with the evidence that triggered it and its measured effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    /// The rule that fired.
    pub rule: Rule,
    /// The option it changes.
    pub change: Change,
    /// The finding that triggered it, in words with its figure.
    pub evidence: String,
    /// The workload as recorded, re-run.
    pub before: Measurement,
    /// The workload with `change` applied.
    pub after: Measurement,
}

/// A summary holding `events`, observed in order: what tests and fixtures build summaries with.
pub fn summarize<'a>(events: impl IntoIterator<Item = &'a IoEvent>) -> Summary {
    let mut summary = Summary::new();
    for event in events {
        summary.observe(event);
    }
    summary
}

/// The seeded latency model of the simulated disk: how long each call takes on `SimFs`, so a
/// recording made there has latencies, and the same seed gives the same ones.
///
/// The figures are a small SSD's, in round numbers: a write costs 5 µs plus 1 ns per byte (2
/// ns when it is not sequential: a read-modify-write of a page), a read 20 µs plus 1 ns per
/// byte, a file sync 1 ms, a directory sync 1.5 ms, anything else 10 µs; each with up to 25%
/// of seeded jitter, and one sync in 100 ten times slower (the tail a real device has).
#[derive(Clone, Debug)]
pub struct LatencyModel {
    rng: distributed::rng::TestRng,
}

impl LatencyModel {
    /// A model whose jitter is fixed by `seed`.
    pub fn new(seed: u64) -> LatencyModel {
        LatencyModel { rng: distributed::rng::TestRng::new(seed) }
    }

    /// The latency of `op` of `len` bytes, in nanoseconds.
    pub fn latency_ns(&mut self, op: IoOp, len: u64, sequential: bool) -> u64 {
        let base = match op {
            IoOp::Write if sequential => 5_000 + len,
            IoOp::Write => 5_000 + 2 * len,
            IoOp::Read => 20_000 + len,
            IoOp::Sync => 1_000_000,
            IoOp::DirSync => 1_500_000,
            _ => 10_000,
        };
        let jitter = self.rng.below(base / 4 + 1);
        let tail = matches!(op, IoOp::Sync | IoOp::DirSync) && self.rng.ratio(1, 100);
        (base + jitter) * if tail { 10 } else { 1 }
    }
}

/// The thresholds of the advice rules (the chapter's "Advice" section says why each).
pub mod thresholds {
    /// Group commit is suggested above this many syncs per acknowledged entry…
    pub const SYNCS_PER_ENTRY: f64 = 0.5;
    /// …with at least this many writers.
    pub const WRITERS: u64 = 2;
    /// Larger segments are suggested above this many rollovers per 1000 entries…
    pub const ROLLOVERS_PER_1000_ENTRIES: f64 = 10.0;
    /// …and the segment size is multiplied by this.
    pub const SEGMENT_GROWTH: u64 = 4;
    /// A snapshot threshold is suggested when a restart replayed more entries than this…
    pub const REPLAYED_ENTRIES: u64 = 1000;
    /// …and the threshold suggested is this many entries (or half the current one, if that
    /// is smaller).
    pub const SNAPSHOT_EVERY: u64 = 500;
    /// Compression is suggested when snapshots, chunks and manifests take more than this
    /// share of the bytes written.
    pub const SNAPSHOT_SHARE: f64 = 0.5;
}
