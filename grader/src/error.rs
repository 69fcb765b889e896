//! The grader's own failures: everything that stops it from producing a report.
//!
//! A submission that does not compile, panics or hangs is *not* an error here: it is graded and
//! reported. These errors mean the grader could not do its job (bad arguments, a course file
//! missing or malformed, an I/O failure), and the CLI turns them into exit code 2.

use std::io;
use std::path::{Path, PathBuf};

/// Why the grader could not finish.
#[derive(Debug, thiserror::Error)]
pub enum GraderError {
    /// The command line was wrong; the text says how.
    #[error("{0}")]
    Usage(String),

    /// A file-system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A course file (manifest, points.toml, zoo) is missing or says something impossible.
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    /// A tool the grader runs (cargo, a test binary) could not be started or misbehaved.
    #[error("{0}")]
    Tool(String),

    /// The handout would give away a reference solution or a hidden test.
    #[error("refusing to write the handout: {0}")]
    Leak(String),
}

/// The grader's result type.
pub type Result<T, E = GraderError> = std::result::Result<T, E>;

impl GraderError {
    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> GraderError {
        let path = path.as_ref().to_path_buf();
        move |source| GraderError::Io { action, path, source }
    }

    /// A problem with a course file.
    pub fn config(path: impl AsRef<Path>, message: impl Into<String>) -> GraderError {
        GraderError::Config { path: path.as_ref().to_path_buf(), message: message.into() }
    }
}
