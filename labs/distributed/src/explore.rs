//! The crash-point explorer: run a workload, cut the power after each of its steps in turn,
//! and check what every possible next boot finds.
//!
//! A workload is a function of a fresh [`SimFs`] that does its I/O and records, in a `Vec`
//! the explorer hands it, whatever it has acknowledged so far (an entry index, a model of the
//! state, anything). Because every step may be the last, the check sees exactly the
//! acknowledgements that happened before the power went, and decides whether the disk kept
//! its promises.
//!
//! When a check fails, the explorer's panic message adds the crash point, the last step, the
//! disk image and the seed to the check's own message, and the explorer writes a
//! [crash trace](crate::crash_trace) (every step, what was acknowledged after each, every
//! pending write and directory operation with whether the image kept it, and the recovery's
//! steps) whose path ends the message: the book's trace viewer opens it.
//!
//! ```
//! use std::path::Path;
//! use distributed::explore::CrashExplorer;
//! use distributed::vfs::{write_atomic, OpenMode, Vfs, VfsFile};
//!
//! // Workload: replace a file atomically, twice, acknowledging each version.
//! let report = CrashExplorer::new(7).explore(
//!     |fs, acked: &mut Vec<&'static str>| -> std::io::Result<()> {
//!         for version in ["one", "two"] {
//!             write_atomic(fs, Path::new("config"), version.as_bytes())?;
//!             acked.push(version);
//!         }
//!         Ok(())
//!     },
//!     |disk, acked| {
//!         // After any crash: the file is absent only if nothing was acknowledged, and it
//!         // never holds less than the last acknowledged version.
//!         let content = disk.open(Path::new("config"), OpenMode::Read).and_then(|f| f.read_all());
//!         match (acked.last(), content) {
//!             (None, _) => {}
//!             (Some(last), Ok(bytes)) => assert!(bytes == last.as_bytes() || bytes == b"two"),
//!             (Some(last), Err(e)) => panic!("[atomic-write] acknowledged {last:?} is gone: {e}"),
//!         }
//!     },
//! );
//! assert_eq!(report.crash_points, report.steps + 1);
//! ```

use std::cell::Cell;
use std::fmt::Debug;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::check::panic_text;
use crate::crash_trace::{self, CrashPoint, CrashTrace, Failure};
use crate::rng::TestRng;
use crate::vfs::{CrashMode, OpRecord, SimFs, SimFsConfig};

/// Runs crash-point explorations. Build one with [`CrashExplorer::new`].
#[derive(Clone, Debug)]
pub struct CrashExplorer {
    seed: u64,
    torn_variants: u32,
    reordered_variants: u32,
    config: SimFsConfig,
}

/// What an exploration visited.
#[derive(Clone, Debug)]
pub struct Exploration {
    /// Mutating steps of the workload, run to completion without a crash.
    pub steps: u64,
    /// Crash points visited: after step 0 (before anything), 1, …, `steps`.
    pub crash_points: u64,
    /// Disk images checked: per crash point, one strict image, `torn_variants` torn ones and
    /// `reordered_variants` reordered ones.
    pub images_checked: u64,
    /// The workload's steps, in order, from its run without a crash.
    pub ops: Vec<OpRecord>,
}

impl CrashExplorer {
    /// An explorer whose disks and torn outcomes all derive from `seed`, checking the strict
    /// image and three torn ones at each crash point, and no reordered one.
    pub fn new(seed: u64) -> Self {
        CrashExplorer { seed, torn_variants: 3, reordered_variants: 0, config: SimFsConfig { seed, capacity: None } }
    }

    /// How many torn images to check at each crash point, besides the strict one.
    pub fn torn_variants(mut self, count: u32) -> Self {
        self.torn_variants = count;
        self
    }

    /// How many reordered images ([`CrashMode::Reordered`]) to check at each crash point,
    /// after the strict and torn ones. None by default: a protocol that relies on in-order
    /// writeback (a log whose recovery stops at the first invalid record) is correct under
    /// the torn model but not under this one, and says so; a protocol that syncs before every
    /// step that depends on earlier ones (an atomic file replacement) holds under both, and
    /// its tests opt in.
    pub fn reordered_variants(mut self, count: u32) -> Self {
        self.reordered_variants = count;
        self
    }

    /// The settings of each fresh disk the workload runs on (the seed is the explorer's).
    pub fn disk(mut self, config: SimFsConfig) -> Self {
        self.config = SimFsConfig { seed: self.seed, ..config };
        self
    }

    /// Runs `workload` once without a crash, then once per crash point, checking with `check`
    /// every image of the disk the crash may leave.
    ///
    /// The workload must be deterministic: the same steps in the same order on every run
    /// (single-threaded, randomness from a seeded [`TestRng`]). The explorer verifies that it
    /// is. An error or a panic from the workload after the power is cut is expected and
    /// ignored; before that, it fails the exploration.
    ///
    /// `check` panics to report a broken promise; the explorer adds to its message the crash
    /// point, the step that was last to run, the image and the seed.
    pub fn explore<A, E: Debug>(
        &self,
        workload: impl Fn(&SimFs, &mut Vec<A>) -> Result<(), E>,
        check: impl Fn(&SimFs, &[A]),
    ) -> Exploration {
        let dry = SimFs::with_config(self.config);
        let mut acked = Vec::new();
        if let Err(e) = workload(&dry, &mut acked) {
            panic!("the workload failed without any crash: {e:?}\n  seed: LAB_SEED={:#x}", self.seed);
        }
        let ops = dry.ops();
        let steps = ops.len() as u64;
        let mut rng = TestRng::new(self.seed);
        let mut images_checked = 0;
        // Acknowledgements recorded when the power went after each step, for the trace.
        let mut acked_at = Vec::with_capacity(ops.len() + 1);
        for point in 0..=steps {
            let fs = SimFs::with_config(self.config);
            fs.crash_after(point);
            let mut acked = Vec::new();
            let outcome = quietly(|| workload(&fs, &mut acked));
            if !fs.is_powered_off() {
                match outcome {
                    Ok(Ok(())) => panic!(
                        "the workload is not deterministic: it ran {} steps with the power on, \
                         but {steps} in its first run",
                        fs.op_count()
                    ),
                    Ok(Err(e)) => panic!("the workload failed before crash point {point}: {e:?}"),
                    Err(payload) => panic!(
                        "{}\n  (the workload panicked with the power still on, after step {} of crash point {point})",
                        panic_text(payload.as_ref()),
                        fs.op_count()
                    ),
                }
            }
            let trace = fs.ops();
            if trace[..] != ops[..point as usize] {
                panic!(
                    "the workload is not deterministic: its steps before crash point {point} differ from its first run"
                );
            }
            acked_at.push(acked.len() as u64);
            let mut modes = vec![CrashMode::Strict];
            modes.extend((0..self.torn_variants).map(|_| CrashMode::Torn { seed: rng.next_u64() }));
            modes.extend((0..self.reordered_variants).map(|_| CrashMode::Reordered { seed: rng.next_u64() }));
            for mode in modes {
                let image = fs.crash(mode);
                images_checked += 1;
                if let Err(payload) = quietly(|| check(&image, &acked)) {
                    let last = match point {
                        0 => "none (the power was cut before the first step)".to_string(),
                        _ => ops[point as usize - 1].to_string(),
                    };
                    let message = panic_text(payload.as_ref());
                    let failure = Failed { message: &message, point, mode, seed: self.seed, acked_at: &acked_at };
                    let trace = match failure.trace(&dry, &fs, &image).write() {
                        Ok(path) => format!("{} (open it in the book's trace viewer)", path.display()),
                        Err(e) => format!("not written: {e}"),
                    };
                    panic!(
                        "{message}\n  crash point: after step {point} of {steps}; last step run: {last}\n  \
                         disk image: {mode}; explorer seed: {:#x}\n  crash trace: {trace}",
                        self.seed
                    );
                }
            }
        }
        Exploration { steps, crash_points: steps + 1, images_checked, ops }
    }
}

/// A failed check, as the crash trace describes it.
struct Failed<'a> {
    message: &'a str,
    point: u64,
    mode: CrashMode,
    seed: u64,
    acked_at: &'a [u64],
}

impl Failed<'_> {
    /// The trace of this failure: the workload's steps from its run without a crash (`dry`),
    /// the crash of `crashed` that gave `image` (made again with a record: the same mode gives
    /// the same image), and the steps the check ran on `image`.
    fn trace(&self, dry: &SimFs, crashed: &SimFs, image: &SimFs) -> CrashTrace {
        let mut steps = dry.trace_steps();
        for step in &mut steps {
            step.acked = self.acked_at.get(step.step as usize).copied();
        }
        let (_, disk) = crashed.crash_recorded(self.mode);
        let (mode, mode_seed) = match self.mode {
            CrashMode::Strict => ("strict", None),
            CrashMode::Torn { seed } => ("torn", Some(seed)),
            CrashMode::Reordered { seed } => ("reordered", Some(seed)),
            CrashMode::ProcessExit => ("process-exit", None),
        };
        CrashTrace {
            format: crash_trace::FORMAT.to_string(),
            version: crash_trace::VERSION,
            test: std::thread::current().name().filter(|name| *name != "main").unwrap_or("explore").to_string(),
            replay: crash_trace::replay_of(self.message),
            explorer_seed: format!("{:#x}", self.seed),
            failure: Failure { invariant: crash_trace::invariant_of(self.message), message: self.message.to_string() },
            crash: CrashPoint {
                after_step: self.point,
                steps: steps.len() as u64,
                mode: mode.to_string(),
                mode_seed: mode_seed.map(|seed| format!("{seed:#x}")),
                acked: self.acked_at.last().copied().unwrap_or(0),
            },
            steps,
            steps_omitted: 0,
            files: disk.files,
            files_omitted: 0,
            directories: disk.directories,
            directories_omitted: 0,
            recovery: image.trace_steps(),
            recovery_omitted: 0,
        }
    }
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, catching a panic without printing it: the explorer prints it once, with the
/// crash point, or ignores it (a workload that panics on an I/O error after the power went
/// off did nothing wrong). Panics on other threads, and outside the explorer, print as usual.
fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|quiet| quiet.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|quiet| quiet.set(was));
    outcome
}
