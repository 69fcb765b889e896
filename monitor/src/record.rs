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
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use distributed::vfs::{FsRef, OpenMode, Vfs, VfsFile};

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

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A filesystem that records every call to the one it wraps.
#[derive(Debug, Clone)]
pub struct RecordingFs {
    inner: FsRef,
    recorder: Arc<Recorder>,
}

impl RecordingFs {
    /// Records the calls made to `inner` into `recorder`.
    pub fn new(inner: FsRef, recorder: Arc<Recorder>) -> RecordingFs {
        RecordingFs { inner, recorder }
    }
}

impl Vfs for RecordingFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        let name = path_text(path);
        let kind = FileKind::of_path(&name);
        let creates = match mode {
            OpenMode::CreateNew => true,
            OpenMode::Create => !self.inner.exists(path)?,
            OpenMode::Read | OpenMode::ReadWrite => false,
        };
        let inner = if creates {
            self.recorder.record(&name, kind, IoOp::Create, 0, || self.inner.open(path, mode), |_| 0)?
        } else {
            self.inner.open(path, mode)?
        };
        Ok(Box::new(RecordingFile { inner, name, kind, recorder: Arc::clone(&self.recorder) }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.read_dir(dir)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let name = path_text(to);
        self.recorder.record(&name, FileKind::of_path(&name), IoOp::Rename, 0, || self.inner.rename(from, to), |_| 0)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let name = path_text(path);
        self.recorder.record(&name, FileKind::of_path(&name), IoOp::Remove, 0, || self.inner.remove_file(path), |_| 0)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let name = path_text(dir);
        self.recorder.record(&name, FileKind::Other, IoOp::DirSync, 0, || self.inner.sync_dir(dir), |_| 0)
    }
}

#[derive(Debug)]
struct RecordingFile {
    inner: Box<dyn VfsFile>,
    name: String,
    kind: FileKind,
    recorder: Arc<Recorder>,
}

impl VfsFile for RecordingFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.recorder.record(
            &self.name,
            self.kind,
            IoOp::Read,
            offset,
            || self.inner.read_at(offset, buf),
            |&n| n as u64,
        )
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<usize> {
        self.recorder.record(
            &self.name,
            self.kind,
            IoOp::Write,
            offset,
            || self.inner.write_at(offset, data),
            |&n| n as u64,
        )
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.recorder.record(&self.name, self.kind, IoOp::SetLen, 0, || self.inner.set_len(len), |_| len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.recorder.record(&self.name, self.kind, IoOp::Sync, 0, || self.inner.sync_data(), |_| 0)
    }

    fn sync_all(&self) -> io::Result<()> {
        self.recorder.record(&self.name, self.kind, IoOp::Sync, 0, || self.inner.sync_all(), |_| 0)
    }
}
