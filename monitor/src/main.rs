//! `monitor`: record a lab's workload, and report on a recording. See the crate's docs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use monitor::file::RecordingFile;
use monitor::workload::{Disk, WorkloadSpec};

#[derive(Parser)]
#[command(name = "monitor", about = "Records a lab's I/O, analyses it with lab 9, and reports what to change")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiskArg {
    /// The simulated disk with the seeded latency model (deterministic).
    Sim,
    /// The real disk (MONITOR_DIR, or the temporary directory).
    Std,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a lab's benchmark workload with recording on and writes the recording.
    Record {
        /// The lab (1 to 7).
        #[arg(long)]
        lab: u32,
        /// The disk.
        #[arg(long, value_enum, default_value = "sim")]
        disk: DiskArg,
        /// Seeds the latency model and the requests.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Requests instead of the workload's default.
        #[arg(long)]
        requests: Option<u64>,
        /// Also keep the whole trace, up to this many events.
        #[arg(long, value_name = "EVENTS")]
        trace: Option<usize>,
        /// Where to write the recording.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Reads a recording, prints the summary, and writes the HTML report.
    Report {
        /// The recording.
        recording: PathBuf,
        /// Where to write the HTML page.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Skip the advice (which re-runs the workload once per rule that fires, plus once).
        #[arg(long)]
        no_advice: bool,
    },
    /// Measures recording's cost on lab 1's benchmark workload (real disk, in one run).
    Overhead {
        /// Rounds of each measurement (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Record { lab, disk, seed, requests, trace, output } => {
            let disk = match disk {
                DiskArg::Sim => Disk::Sim,
                DiskArg::Std => Disk::Std,
            };
            let mut spec = WorkloadSpec::default_for(lab, disk, seed)?;
            if let Some(requests) = requests {
                spec.requests = requests;
            }
            let recorded = spec.run(trace)?;
            RecordingFile::new(spec, recorded.summary, recorded.trace, recorded.dropped).write(&output)?;
            println!("recorded lab {lab}'s workload into {}", output.display());
            Ok(())
        }
        Command::Report { recording, html, no_advice } => {
            let recording = RecordingFile::read(&recording)?;
            let (findings, advice) = monitor::analyse(&recording, !no_advice);
            print!("{}", monitor::render::text(&recording.workload, &recording.summary, &findings, &advice));
            if let Some(path) = html {
                let page = monitor::render::html(&recording.workload, &recording.summary, &findings, &advice);
                std::fs::write(&path, page).map_err(|e| format!("writing {}: {e}", path.display()))?;
                println!("\nHTML report: {}", path.display());
            }
            Ok(())
        }
        Command::Overhead { rounds } => {
            print!("{}", monitor::overhead::measure(rounds.max(1))?);
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("monitor: {message}");
            ExitCode::FAILURE
        }
    }
}
