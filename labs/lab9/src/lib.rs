//! Lab 9: the analysis behind a storage performance monitor.
//!
//! The course's `monitor` command records every filesystem call a lab makes, through a
//! recording layer over the kit's `Vfs`, and writes a report. This crate is what the monitor
//! computes with, and what you write:
//!
//! - [`sketch`] (task 1): a count-min sketch and the top-k of hot keys and hot segments;
//! - [`histogram`] (task 2): a latency histogram with bounded relative error, and exact
//!   percentiles of a sample;
//! - [`summary`] (task 3): [`Summary::observe`], folding each event into the bounded summary;
//! - [`analysis`] (task 4): [`analyze`], from a summary to findings (write amplification by
//!   kind of file, sequential ratios, syncs per entry, percentiles, hot data, snapshots,
//!   replay);
//! - [`advice`] (task 5): [`advise`], rules that turn findings into changes of the labs'
//!   options, each measured by re-running the workload.
//!
//! [`recording`] is given: the events, the summary's layout, the findings' and advice's types,
//! and the seeded latency model of the simulated disk; so is [`fixtures`], the known workloads
//! the tests feed the analysis. Every function here returns data; the
//! monitor does the file I/O and the rendering. The chapter is `book/src/lab9-monitor.md`.

pub mod advice;
pub mod analysis;
pub mod fixtures;
pub mod histogram;
pub mod recording;
pub mod sketch;
pub mod summary;

pub use advice::advise;
pub use analysis::{analyze, measure, percentiles, write_amplification};
pub use histogram::{LatencyHistogram, exact_quantile};
pub use recording::{
    Advice, Change, Experiment, FileKind, Findings, Hot, IoEvent, IoOp, KindStats, LatencyModel, Measurement, Options,
    Percentiles, Restart, Rule, Served, Summary, TimeSlice, Timeline, WriteAmplification, summarize, thresholds,
};
pub use sketch::{CountMinSketch, TopK, row_hash};
