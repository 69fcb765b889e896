//! Task 3: recovery. Apply a [`RecoveryMode`] to what [`scan`](crate::scan) found.

use std::path::Path;

use distributed::vfs::FsRef;

use crate::RepairError;
use crate::report::{Recovery, RecoveryMode};

/// Verifies the log in `dir` and makes it openable by `lab1::Wal::open`, as far as `mode`
/// allows: see [`RecoveryMode`] for the decision table. Damage the mode does not allow is
/// [`RepairError::Refused`], and then nothing on disk has changed. Otherwise the log is cut
/// back to its last consistent position ([`LogReport::last_consistent_index`]), keeping a
/// copy of everything cut (`<segment>.broken`, or `<segment>.broken.2` … if taken), and
/// removing leftovers of an interrupted compaction.
///
/// [`LogReport::last_consistent_index`]: crate::LogReport::last_consistent_index
pub fn recover(fs: &FsRef, dir: impl AsRef<Path>, mode: RecoveryMode) -> Result<Recovery, RepairError> {
    let _ = (fs, dir.as_ref(), mode);
    todo!(
        "Task 3: refuse what the mode does not allow; otherwise keep a copy, cut back to the last consistent position, set later segments aside"
    )
}
