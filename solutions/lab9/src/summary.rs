//! Task 3: folding each I/O event into the bounded summary.

use crate::recording::{FileKind, IoEvent, IoOp, Served, Summary};

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
        self.events += 1;
        self.duration_ns = self.duration_ns.max(event.at_ns.saturating_add(event.latency_ns));
        match event.op {
            IoOp::Read => {
                let stats = self.kind_mut(event.kind);
                stats.reads += 1;
                stats.read_bytes += event.len;
                self.read_latency.record(event.latency_ns);
            }
            IoOp::Write => {
                let end = self.write_ends.get(&event.file).copied().unwrap_or(0);
                let stats = self.kind_mut(event.kind);
                stats.writes += 1;
                stats.write_bytes += event.len;
                if event.offset == end {
                    stats.sequential_writes += 1;
                }
                match self.write_ends.get_mut(&event.file) {
                    Some(end) => *end = event.offset + event.len,
                    None => {
                        self.write_ends.insert(event.file.clone(), event.offset + event.len);
                    }
                }
                self.write_latency.record(event.latency_ns);
                self.timeline.slice_at(event.at_ns).bytes[event.kind as usize] += event.len;
            }
            IoOp::Sync => {
                self.kind_mut(event.kind).syncs += 1;
                self.sync_latency.record(event.latency_ns);
                self.timeline.slice_at(event.at_ns).syncs += 1;
            }
            IoOp::DirSync => {
                self.dir_syncs += 1;
                self.sync_latency.record(event.latency_ns);
                self.timeline.slice_at(event.at_ns).syncs += 1;
            }
            IoOp::Create => self.kind_mut(event.kind).creates += 1,
            IoOp::Remove => {
                self.write_ends.remove(&event.file);
            }
            IoOp::Rename | IoOp::SetLen => {}
        }
        if let Served::Key(key) = &event.served {
            self.hot_keys.add(key, 1);
        }
        if event.kind == FileKind::Log && matches!(event.op, IoOp::Read | IoOp::Write) {
            self.hot_segments.add(&event.file, 1);
        }
    }
}
