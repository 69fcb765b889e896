//! The recording layer: a [`Vfs`] over any other that turns every call into an [`IoEvent`]
//! and folds it into a bounded [`Summary`] (and, only when asked, a whole trace).
//!
//! Latency is measured with the monotonic clock on a real disk, and taken from the seeded
//! [`LatencyModel`] on a simulated one, where a virtual clock advances by each call's modelled
//! latency: a recording made on `SimFs` with a given seed and a single-threaded workload is the
//! same on every run.
//!
//! What each call served (the log index or the key of the request) is a per-thread context
//! set by the workload driver with [`serving`]: the layer reads it on the thread that makes
//! the call.

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use distributed::vfs::{Call, Layer, Layered, OpenMode, Vfs};

use crate::analysis::{FileKind, IoEvent, IoOp, LatencyModel, Served, Summary};

thread_local! {
    static CONTEXT: RefCell<Served> = const { RefCell::new(Served::Nothing) };
}

/// Runs `work` with this thread's calls charged to `served`, then restores the context.
pub fn serving<T>(served: Served, work: impl FnOnce() -> T) -> T {
    let previous = CONTEXT.with(|context| context.replace(served));
    let result = work();
    CONTEXT.with(|context| *context.borrow_mut() = previous);
    result
}

fn current_context() -> Served {
    CONTEXT.with(|context| context.borrow().clone())
}

/// Where latencies come from.
#[derive(Debug)]
enum Clock {
    /// The real clock (the recorder's start): latency is measured around the inner call.
    Real,
    /// The latency model and the virtual time, in nanoseconds.
    Model(LatencyModel, u64),
}

#[derive(Debug)]
struct State {
    summary: Summary,
    trace: Option<Vec<IoEvent>>,
    /// At most this many events go into the trace; later ones are counted in `dropped`.
    trace_limit: usize,
    dropped: u64,
    clock: Clock,
}

/// The recording shared by a [`RecordingFs`] and the workload driver.
#[derive(Debug)]
pub struct Recorder {
    /// When the recording began: the origin of every event's time on the real clock.
    start: Instant,
    state: Mutex<State>,
}

/// What a finished recording holds.
#[derive(Debug)]
pub struct Recorded {
    /// The bounded summary.
    pub summary: Summary,
    /// The whole trace, when it was asked for (at most the limit given).
    pub trace: Option<Vec<IoEvent>>,
    /// Events left out of the trace once it was full.
    pub dropped: u64,
}

impl Recorder {
    /// A recorder that measures latency with the real clock.
    pub fn real() -> Arc<Recorder> {
        Self::with_clock(Clock::Real)
    }

    /// A recorder whose latencies come from the model seeded with `seed`, on a virtual clock.
    pub fn modelled(seed: u64) -> Arc<Recorder> {
        Self::with_clock(Clock::Model(LatencyModel::new(seed), 0))
    }

    fn with_clock(clock: Clock) -> Arc<Recorder> {
        Arc::new(Recorder {
            start: Instant::now(),
            state: Mutex::new(State { summary: Summary::new(), trace: None, trace_limit: 0, dropped: 0, clock }),
        })
    }

    /// Keeps every event, up to `limit` of them, besides the summary.
    pub fn keep_trace(&self, limit: usize) {
        let mut state = self.lock();
        state.trace = Some(Vec::new());
        state.trace_limit = limit;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Nanoseconds since the recording began (virtual time on a modelled clock).
    pub fn now_ns(&self) -> u64 {
        match &self.lock().clock {
            Clock::Real => self.start.elapsed().as_nanos() as u64,
            Clock::Model(_, now) => *now,
        }
    }

    /// Changes the summary's workload counters (acknowledged entries, restarts, snapshots).
    pub fn mark(&self, change: impl FnOnce(&mut Summary)) {
        change(&mut self.lock().summary);
    }

    /// Runs `call` and records it as `op` on `file`; `len` gives the event's length from the
    /// call's result (the bytes a read returned, for example).
    pub(crate) fn record<T>(
        &self,
        file: &str,
        kind: FileKind,
        op: IoOp,
        offset: u64,
        call: impl FnOnce() -> io::Result<T>,
        len: impl FnOnce(&T) -> u64,
    ) -> io::Result<T> {
        let real_start = self.start.elapsed().as_nanos() as u64;
        let result = call()?;
        let real_end = self.start.elapsed().as_nanos() as u64;
        let len = len(&result);
        let served = current_context();
        let mut state = self.lock();
        let state = &mut *state;
        let (at_ns, latency_ns) = match &mut state.clock {
            Clock::Real => (real_start, real_end.saturating_sub(real_start)),
            Clock::Model(model, now) => {
                let sequential = state.summary.write_ends.get(file).copied().unwrap_or(0) == offset;
                let latency = model.latency_ns(op, len, sequential);
                let at = *now;
                *now += latency;
                (at, latency)
            }
        };
        let event = IoEvent { at_ns, file: file.to_string(), kind, op, offset, len, latency_ns, served };
        state.summary.observe(&event);
        if let Some(trace) = &mut state.trace {
            if trace.len() < state.trace_limit {
                trace.push(event);
            } else {
                state.dropped += 1;
            }
        }
        Ok(result)
    }

    /// The recording so far.
    pub fn finish(&self) -> Recorded {
        let state = self.lock();
        Recorded { summary: state.summary.clone(), trace: state.trace.clone(), dropped: state.dropped }
    }
}

/// A filesystem that records every call to the one it wraps: the kit's [`Layered`]
/// forwarding, with the [`Recorder`] as its layer (`Layered::over(inner, recorder)`).
pub type RecordingFs = Layered<Recorder>;

impl Layer for Recorder {
    fn around(&self, inner: &dyn Vfs, call: Call<'_>, run: &mut dyn FnMut() -> io::Result<u64>) -> io::Result<u64> {
        let (path, op, offset) = match call {
            Call::Open { path, mode } => {
                let creates = match mode {
                    OpenMode::CreateNew => true,
                    OpenMode::Create => !inner.exists(path)?,
                    OpenMode::Read | OpenMode::ReadWrite => false,
                };
                if !creates {
                    return run();
                }
                (path, IoOp::Create, 0)
            }
            // A rename is recorded under the name it makes.
            Call::Rename { to, .. } => (to, IoOp::Rename, 0),
            Call::RemoveFile { path } => (path, IoOp::Remove, 0),
            Call::SyncDir { dir } => (dir, IoOp::DirSync, 0),
            Call::ReadAt { path, offset, .. } => (path, IoOp::Read, offset),
            Call::WriteAt { path, offset, .. } => (path, IoOp::Write, offset),
            Call::SetLen { path, .. } => (path, IoOp::SetLen, 0),
            Call::SyncData { path } | Call::SyncAll { path } => (path, IoOp::Sync, 0),
            Call::CreateDirAll { .. } | Call::ReadDir { .. } | Call::Exists { .. } | Call::Len { .. } => return run(),
        };
        // Borrowed, not copied, for the UTF-8 names the labs use.
        let name = path.to_string_lossy();
        let kind = if matches!(call, Call::SyncDir { .. }) { FileKind::Other } else { FileKind::of_path(&name) };
        let len = match call {
            Call::SetLen { len, .. } => Some(len),
            _ => None,
        };
        self.record(&name, kind, op, offset, run, |&moved| len.unwrap_or(moved))
    }
}
