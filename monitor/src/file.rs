//! The recording file: one JSON document, versioned and bounded.
//!
//! ```text
//! {
//!   "format": "storage-monitor-recording",   // refused if different
//!   "version": 1,                             // refused if newer than this monitor reads
//!   "workload": { "lab": 4, "disk": "Sim", "seed": 42, "requests": 3000, "writers": 1,
//!                 "options": { "group_commit": false, "segment_size": 1048576, … } },
//!   "summary": { … lab 9's Summary: counters, histograms, sketches, timeline … },
//!   "trace": null,                            // or every event, with `record --trace N`
//!   "trace_dropped": 0                        // events past the trace's limit
//! }
//! ```
//!
//! The summary's size depends on the number of files and histogram buckets, not on the
//! number of events: a recording of a long run is as small as a short one's. A trace is
//! written only when asked for, and then at most the number of events asked for.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analysis::{IoEvent, Summary};
use crate::workload::WorkloadSpec;

/// The value of the `format` field.
pub const FORMAT: &str = "storage-monitor-recording";
/// The version this monitor writes, and the newest it reads.
pub const VERSION: u32 = 1;
/// The largest recording file read (a trace of a million events is about 200 MB: record
/// fewer).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// A recording as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordingFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written.
    pub version: u32,
    /// The workload, so that the report can run it again with an option changed.
    pub workload: WorkloadSpec,
    /// The bounded summary.
    pub summary: Summary,
    /// Every event, when asked for.
    pub trace: Option<Vec<IoEvent>>,
    /// Events left out of the trace.
    pub trace_dropped: u64,
}

impl RecordingFile {
    /// A recording of `workload`.
    pub fn new(workload: WorkloadSpec, summary: Summary, trace: Option<Vec<IoEvent>>, trace_dropped: u64) -> Self {
        RecordingFile { format: FORMAT.into(), version: VERSION, workload, summary, trace, trace_dropped }
    }

    /// Writes the recording to `path`.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string(self).map_err(|e| format!("encoding the recording: {e}"))?;
        std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// Reads and checks a recording.
    pub fn read(path: &Path) -> Result<RecordingFile, String> {
        let len = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
        if len > MAX_FILE_BYTES {
            return Err(format!(
                "{}: {len} bytes, more than the {MAX_FILE_BYTES} a recording may hold",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks a recording's text.
    pub fn parse(text: &str) -> Result<RecordingFile, String> {
        #[derive(Deserialize)]
        struct Head {
            format: String,
            version: u32,
        }
        let head: Head = serde_json::from_str(text).map_err(|e| format!("not a recording: {e}"))?;
        if head.format != FORMAT {
            return Err(format!("format {:?}, expected {FORMAT:?}", head.format));
        }
        if head.version > VERSION {
            return Err(format!("version {} is newer than this monitor reads ({VERSION})", head.version));
        }
        serde_json::from_str(text).map_err(|e| format!("a damaged recording: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Disk, WorkloadSpec};

    #[test]
    fn a_recording_round_trips_and_a_newer_or_foreign_one_is_refused() {
        let spec = WorkloadSpec::default_for(4, Disk::Sim, 1).unwrap();
        let recording = RecordingFile::new(spec, Summary::new(), None, 0);
        let text = serde_json::to_string(&recording).unwrap();
        let back = RecordingFile::parse(&text).unwrap();
        assert_eq!(back.summary, recording.summary);
        assert_eq!(back.workload, spec);
        let newer = text.replacen("\"version\":1", "\"version\":2", 1);
        assert!(RecordingFile::parse(&newer).unwrap_err().contains("newer"));
        let foreign = text.replacen(FORMAT, "something-else", 1);
        assert!(RecordingFile::parse(&foreign).unwrap_err().contains("format"));
        assert!(RecordingFile::parse("{\"format\": 3}").is_err());
    }
}
