//! The course's storage performance monitor.
//!
//! ```text
//! cargo run -p monitor -- record --lab 4 -o lab4.json     # run lab 4's workload, recording
//! cargo run -p monitor -- report lab4.json --html lab4.html
//! cargo run --release -p monitor -- overhead               # recording's cost on lab 1's benchmark
//! ```
//!
//! The monitor owns everything that touches files and screens: the recording layer over the
//! kit's `Vfs` ([`record`]), the labs' workloads and their re-runs ([`workload`]), the
//! recording file ([`file`]) and the report ([`render`]). What it computes with — the
//! streaming summaries, the analysis and the advice rules — is lab 9 ([`analysis`]): the
//! reference by default, the student's crate `labs/lab9` with
//! `--no-default-features --features student`. The book's chapter is
//! `book/src/lab9-monitor.md`.

pub mod file;
pub mod overhead;
pub mod record;
pub mod render;
pub mod workload;

/// Lab 9, as the monitor computes with it.
#[cfg(feature = "student")]
pub use lab9 as analysis;
/// Lab 9, as the monitor computes with it.
#[cfg(all(feature = "reference", not(feature = "student")))]
pub use lab9_solution as analysis;

#[cfg(not(any(feature = "reference", feature = "student")))]
compile_error!("the monitor needs lab 9: build it with the `reference` feature (default) or `student`");

use analysis::{Advice, Findings, Options};

/// The report of a recording: its findings, and the advice with each change measured by
/// running the workload again (`None`: advice skipped).
pub fn analyse(recording: &file::RecordingFile, advise: bool) -> (Findings, Vec<Advice>) {
    let findings = analysis::analyze(&recording.summary);
    let advice = if advise {
        let options: Options = recording.workload.options;
        analysis::advise(&findings, &options, &mut workload::Rerun::new(recording.workload))
    } else {
        Vec::new()
    };
    (findings, advice)
}
