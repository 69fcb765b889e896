//! Task 3: folding each I/O event into the bounded summary.

use crate::recording::{IoEvent, Summary};

impl Summary {
    /// Folds one event into the summary: the kind's counters, the latency histograms, the hot
    /// keys and segments, the timeline and the duration.
    ///
    /// - A write is **sequential** when it starts where the previous write to the same file
    ///   ended, or at offset 0 of a file with no write before it in this recording; then the
    ///   file's end is where this write ended.
    /// - Reads, writes, file syncs and directory syncs go into the read, write and sync
    ///   histograms.
    /// - Every event served for a key ([`Served::Key`]) counts 1 for that key; every read or
    ///   write of a log segment counts 1 for that segment.
    /// - Writes add their bytes, syncs and directory syncs add one sync, to the timeline slice
    ///   at the event's start.
    /// - A create counts for the file's kind; a remove forgets the file's end (a new file of
    ///   the same name starts again at offset 0).
    pub fn observe(&mut self, event: &IoEvent) {
        let _ = event;
        todo!("lab 9, task 3: observe")
    }
}
