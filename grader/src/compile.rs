//! Building a generated workspace's test executables with cargo.
//!
//! `cargo test -p labN --no-run --no-fail-fast --message-format=json --test T …` builds the
//! lab and each test target, and reports on stdout, one JSON object a line, every artifact (with
//! the path of each test executable) and every diagnostic (with the target it belongs to). The
//! compiler's own rendering of each error goes into the report, so a student reads the same
//! text as in their terminal.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::error::{GraderError, Result};
use crate::process::{Termination, cut_text, run_streaming_stdout};
use crate::workspace::GeneratedWorkspace;

/// The longest one build of a submission may take (a `const` that never ends holds rustc).
pub const DEFAULT_BUILD_TIMEOUT_SECS: u64 = 300;

/// How to run cargo.
#[derive(Clone, Debug)]
pub struct CargoOptions {
    /// The cargo executable: `$CARGO` when run by cargo, else `cargo` from `PATH`.
    pub cargo: PathBuf,
    /// The shared target directory of generated workspaces.
    pub target_dir: PathBuf,
    /// The most one build may take (a first build also compiles every dependency).
    pub build_timeout: Duration,
    /// The course's pinned toolchain (`rust-toolchain.toml`'s channel). Cargo runs from `/`,
    /// where rustup would not find that file, so it is passed as `RUSTUP_TOOLCHAIN`: every
    /// submission is built by the compiler the course was checked with.
    pub toolchain: Option<String>,
    /// The most compiler output kept for a report.
    pub output_limit: usize,
}

impl CargoOptions {
    pub fn new(target_dir: PathBuf) -> CargoOptions {
        CargoOptions {
            cargo: std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo")),
            target_dir,
            build_timeout: Duration::from_secs(DEFAULT_BUILD_TIMEOUT_SECS),
            toolchain: None,
            output_limit: 32 << 10,
        }
    }

    /// A cargo command that ignores the caller's target-directory settings (the generated
    /// workspaces have their own) and prints no colours. It runs from `/`: cargo reads
    /// `.cargo/config.toml` from its working directory and every parent, so a configuration
    /// planted next to a generated workspace (a `rustc-wrapper` that compiles the reference in)
    /// is never read. No compiler wrapper from the environment either, and no incremental
    /// state (it would be shared between grades).
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.cargo);
        command
            .current_dir("/")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
            .env("CARGO_INCREMENTAL", "0")
            .env("CARGO_TERM_COLOR", "never");
        if let Some(toolchain) = &self.toolchain {
            command.env("RUSTUP_TOOLCHAIN", toolchain);
        }
        command
    }
}

/// The outcome of building one lab's tests.
#[derive(Clone, Debug, Default)]
pub struct BuildOutcome {
    /// Test target → executable, for every target that built.
    pub executables: BTreeMap<String, PathBuf>,
    /// The compiler's errors, rendered, each tagged with its target (`lib` for the lab itself).
    pub errors: Vec<(String, String)>,
    /// The same errors' one-line messages (`cannot find function `x` in crate `lab1``), for
    /// targets whose source may not be shown (the hidden suite).
    pub short_errors: Vec<(String, String)>,
    /// Cargo's own messages when the build failed without compiler errors (a manifest
    /// problem, a missing dependency), cut to the limit.
    pub cargo_log: String,
    pub timed_out: bool,
    pub duration: Duration,
}

impl BuildOutcome {
    /// Whether the build finished without an error.
    pub fn succeeded(&self) -> bool {
        !self.timed_out && self.errors.is_empty() && self.cargo_log.is_empty()
    }

    /// Whether the lab's library itself failed (then no test target can build).
    pub fn library_failed(&self) -> bool {
        self.errors.iter().any(|(target, _)| target == "lib")
    }

    /// The items named in a target's errors (the words in backticks of their one-line
    /// messages, the lab's own crate name left out): what a hidden suite that does not compile
    /// is missing, told without one line of its source.
    pub fn missing_items(&self, target: &str, package: &str) -> Vec<String> {
        let mut items = Vec::new();
        for (owner, short) in &self.short_errors {
            if owner != target {
                continue;
            }
            for (index, piece) in short.split('`').enumerate() {
                if index % 2 == 1
                    && piece != package
                    && !piece.is_empty()
                    && piece.len() <= 80
                    && !items.iter().any(|i| i == piece)
                {
                    items.push(piece.to_string());
                }
            }
        }
        items
    }

    /// The errors of one target (and of the library), as one text.
    pub fn errors_text(&self, target: Option<&str>, limit: usize) -> String {
        let text: Vec<&str> = self
            .errors
            .iter()
            .filter(|(owner, _)| target.is_none_or(|t| owner == t || owner == "lib"))
            .map(|(_, rendered)| rendered.as_str())
            .collect();
        let text = if text.is_empty() { self.cargo_log.clone() } else { text.join("\n") };
        cut_text(&text, limit)
    }
}

/// What the JSON message stream has told so far.
#[derive(Default)]
struct Messages {
    executables: BTreeMap<String, PathBuf>,
    errors: Vec<(String, String)>,
    short_errors: Vec<(String, String)>,
    error_bytes: usize,
}

/// What a build makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The lab's library alone: its errors can only show the student's own files. It is built
    /// as `cargo build -p labN` builds it, against the kit without its `testing` feature, so
    /// it compiles no test tooling (proptest) and cannot use any.
    Library,
    /// The test targets (public tests and the hidden suite) against the built library.
    Tests,
}

/// Builds the graded package (`phase`) in `target_dir`.
pub fn build(
    workspace: &GeneratedWorkspace,
    options: &CargoOptions,
    target_dir: &std::path::Path,
    phase: Phase,
) -> Result<BuildOutcome> {
    let mut command = options.command();
    let manifest = workspace.root.join("Cargo.toml");
    match phase {
        Phase::Library => {
            command.arg("build").arg("--manifest-path").arg(&manifest).args([
                "--profile",
                "test",
                "-p",
                &workspace.package,
                "--lib",
                "--message-format=json",
            ]);
        }
        Phase::Tests => {
            command.arg("test").arg("--manifest-path").arg(&manifest).args([
                "-p",
                &workspace.package,
                "--no-run",
                "--no-fail-fast",
                "--message-format=json",
            ]);
            for target in &workspace.test_targets {
                command.args(["--test", target]);
            }
        }
    }
    command.arg("--target-dir").arg(target_dir);
    let messages = Arc::new(Mutex::new(Messages::default()));
    let sink = Arc::clone(&messages);
    let package = workspace.package.clone();
    let error_limit = options.output_limit * 4;
    let outcome = run_streaming_stdout(command, options.build_timeout, options.output_limit, move |line| {
        let mut messages = sink.lock().unwrap_or_else(|poison| poison.into_inner());
        record_message(&mut messages, line, &package, error_limit);
    })?;
    let messages = std::mem::take(&mut *messages.lock().unwrap_or_else(|poison| poison.into_inner()));
    let timed_out = outcome.termination == Termination::TimedOut;
    let succeeded = outcome.termination == Termination::Exited(0);
    if phase == Phase::Tests && succeeded && messages.executables.len() < workspace.test_targets.len() {
        return Err(GraderError::Tool(format!(
            "cargo built {} but reported executables only for {:?}",
            workspace.package,
            messages.executables.keys().collect::<Vec<_>>()
        )));
    }
    let mut cargo_log = String::new();
    if !succeeded {
        cargo_log = outcome.stderr.text.clone();
        if timed_out {
            cargo_log.push_str(&format!(
                "\nthe build took longer than {} s and was stopped",
                options.build_timeout.as_secs()
            ));
        }
    }
    Ok(BuildOutcome {
        executables: messages.executables,
        errors: messages.errors,
        short_errors: messages.short_errors,
        cargo_log,
        timed_out,
        duration: outcome.duration,
    })
}

fn record_message(messages: &mut Messages, line: &str, package: &str, error_limit: usize) {
    if !line.starts_with('{') {
        return;
    }
    let Ok(message) = serde_json::from_str::<Value>(line) else { return };
    let target_name = message.pointer("/target/name").and_then(Value::as_str).unwrap_or("");
    let kinds: Vec<&str> = message
        .pointer("/target/kind")
        .and_then(Value::as_array)
        .map(|kinds| kinds.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match message.get("reason").and_then(Value::as_str) {
        Some("compiler-artifact") => {
            if kinds.contains(&"test")
                && let Some(executable) = message.get("executable").and_then(Value::as_str)
            {
                messages.executables.insert(target_name.to_string(), PathBuf::from(executable));
            }
        }
        Some("compiler-message") => {
            if message.pointer("/message/level").and_then(Value::as_str) != Some("error") {
                return;
            }
            let Some(rendered) = message.pointer("/message/rendered").and_then(Value::as_str) else { return };
            let in_package = message.get("package_id").and_then(Value::as_str).is_some_and(|id| {
                id.contains(&format!("#{package}@"))
                    || id.contains(&format!("/{package}#"))
                    || id.contains(&format!("{package} "))
            });
            let owner = if kinds.contains(&"test") && in_package { target_name.to_string() } else { "lib".to_string() };
            if let Some(short) = message.pointer("/message/message").and_then(Value::as_str) {
                messages.short_errors.push((owner.clone(), short.to_string()));
            }
            if messages.error_bytes < error_limit {
                messages.error_bytes += rendered.len();
                messages.errors.push((owner, rendered.to_string()));
            } else if messages.errors.last().is_none_or(|(_, text)| !text.starts_with("[more errors")) {
                messages.errors.push((owner, "[more errors were left out]".to_string()));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_and_errors_are_recorded_by_target() {
        let mut messages = Messages::default();
        let lines = [
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/graded/lab1#0.1.0","target":{"kind":["lib"],"name":"lab1"},"executable":null}"#,
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/graded/lab1#0.1.0","target":{"kind":["test"],"name":"public"},"executable":"/t/public-abc"}"#,
            r#"{"reason":"compiler-message","package_id":"path+file:///w/graded/lab1#0.1.0","target":{"kind":["test"],"name":"hidden"},"message":{"level":"error","rendered":"error[E0425]: x"}}"#,
            r#"{"reason":"compiler-message","package_id":"path+file:///w/graded/lab1#0.1.0","target":{"kind":["lib"],"name":"lab1"},"message":{"level":"warning","rendered":"warning: y"}}"#,
            "   Compiling lab1",
        ];
        for line in lines {
            record_message(&mut messages, line, "lab1", 1 << 20);
        }
        assert_eq!(messages.executables.get("public"), Some(&PathBuf::from("/t/public-abc")));
        assert_eq!(messages.errors, [("hidden".to_string(), "error[E0425]: x".to_string())]);
    }
}
