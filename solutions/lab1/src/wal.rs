//! The log: a directory of segments, the rules for appending, cutting and compacting them,
//! and group commit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use distributed::storage::{Entry, Index, LogStorage, Term};
use distributed::vfs::FsRef;

use crate::WalError;
use crate::format::{self, ENTRY_HEADER_LEN, FLAG_LOG_START, MAX_ENTRY_DATA, RECORD_HEADER_LEN, SegmentHeader};
use crate::segment::{Opened, ScanEnd, Segment, corrupt};

/// The largest index an entry may have: one below `u64::MAX`, so that the index after the
/// last one held (a log's next index, a restart's first index) always exists. Appends and
/// compactions past it are refused with an `InvalidInput` error that changes nothing, and
/// `open` stops a segment's records before a record claiming `u64::MAX` (damage: no log
/// of this lab can have written it).
pub(crate) const LAST_USABLE_INDEX: Index = Index::MAX - 1;

fn past_last_usable_index(index: Index) -> WalError {
    WalError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("index {index} is past the last index a log can hold ({LAST_USABLE_INDEX})"),
    ))
}
/// When an append counts as acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Every append syncs before it returns: one sync per call.
    #[default]
    EveryAppend,
    /// Appends from concurrent threads share syncs: one thread (the leader) syncs for every
    /// append written so far, the others wait for it. Each append still returns only once
    /// durable. When several threads took part in the last sync, the leader first waits (at
    /// most as long as that sync took) for them to write again, so that one sync carries all of
    /// them; a single writer never waits.
    GroupCommit,
    /// Appends return once written; only [`Wal::sync`] makes them durable.
    Never,
}

/// Settings for [`Wal::open`].
#[derive(Clone, Copy, Debug)]
pub struct WalOptions {
    /// A segment is sealed, and a new one started, when the next record would take it past
    /// this many bytes (a segment always takes at least one record).
    pub segment_size: u64,
    /// When appends are acknowledged.
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions { segment_size: 64 << 20, sync: SyncPolicy::EveryAppend }
    }
}

/// A segment as [`Wal::segments`] describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The index its header names (its first entry, if it has one).
    pub first_index: Index,
    /// Its last entry's index, or `first_index - 1` if it holds none.
    pub last_index: Index,
    /// Its file name in the log's directory.
    pub file_name: String,
    /// Bytes in use: the header, the records and, if the segment is sealed, its footer.
    pub len: u64,
}

/// A segmented write-ahead log over any filesystem of the kit.
///
/// Entries live in segment files named by their first index (see [`format`]). The last
/// segment is the active one; earlier ones are sealed: each ends with a footer holding the
/// checksum of all its bytes, written and synced before the next segment was created, which is
/// what lets recovery tell a torn tail (only ever in the last segment) from corruption
/// (anywhere else). A new segment is prepared under a temporary name, synced, read back and
/// checked, then renamed into place, so a segment's name never holds a half-made file.
///
/// Every method takes `&self`, so a `Wal` can be shared between threads; one mutex guards
/// the segments, and group commit syncs outside it so that other threads keep appending
/// while a sync is in flight.
#[derive(Debug)]
pub struct Wal {
    fs: FsRef,
    dir: PathBuf,
    options: WalOptions,
    state: Mutex<State>,
    commit: Mutex<Commit>,
    /// Signalled when the durable watermark moves or the log fails.
    durable: Condvar,
    /// Signalled when a gathering leader has the appends it waits for.
    gathered: Condvar,
}

/// The longest a group-commit leader waits for the other writers before it syncs, whatever the
/// last sync took: a bound for a disk that stalled once.
const MAX_GATHER: Duration = Duration::from_millis(10);

#[derive(Debug)]
struct State {
    segments: Vec<Segment>,
    /// The first index readable. After compaction it may lie inside the first segment.
    first_index: Index,
    /// How many appends were written: each append's ticket for group commit.
    written: u64,
    /// A segment file was created or removed since the directory was last synced.
    dir_dirty: bool,
    poisoned: bool,
}

/// Group commit's bookkeeping.
#[derive(Debug, Default)]
struct Commit {
    /// Every append with a ticket up to this is durable.
    durable: u64,
    /// The highest ticket that reached [`Wal::wait_durable`]: every append up to it is written.
    arrived: u64,
    /// A thread is syncing on behalf of the others, or gathering them before it does.
    leader: bool,
    /// The leader is waiting in [`Wal::gather`].
    gathering: bool,
    failed: bool,
    /// How many appends were waiting when the last sync ended (those it covered and those
    /// written while it ran): how many writers take part, which the next leader waits for.
    writers: u64,
    /// How long the last sync took: the longest the next leader waits for them.
    last_sync: Duration,
}

impl Commit {
    /// Appends written and waiting for a sync.
    fn pending(&self) -> u64 {
        self.arrived.saturating_sub(self.durable)
    }
}

impl State {
    fn last_index(&self) -> Index {
        match self.segments.last() {
            Some(segment) => segment.last_index(),
            None => self.first_index - 1,
        }
    }

    fn last_term(&self) -> Option<Term> {
        self.segments.iter().rev().find_map(Segment::last_term)
    }

    /// The segment holding `index`, which must be held.
    fn segment_of(&self, index: Index) -> &Segment {
        let after = self.segments.partition_point(|s| s.first_index() <= index);
        &self.segments[after - 1]
    }

    fn check_held(&self, index: Index) -> Result<(), WalError> {
        if index < self.first_index {
            return Err(WalError::Compacted { index, first_index: self.first_index });
        }
        if index > self.last_index() {
            return Err(WalError::Unavailable { index, last_index: self.last_index() });
        }
        Ok(())
    }

    fn check_usable(&self) -> Result<(), WalError> {
        if self.poisoned { Err(WalError::Poisoned) } else { Ok(()) }
    }

    /// Checks that `entries` continue the log: contiguous indexes, terms that never decrease.
    fn check_continues(&self, entries: &[Entry]) -> Result<(), WalError> {
        let mut previous = self.last_term();
        // At most `u64::MAX`: the last index held is at most `LAST_USABLE_INDEX`.
        let mut expected = self.last_index() + 1;
        for entry in entries {
            if entry.index != expected {
                return Err(WalError::NotContiguous { expected, got: entry.index });
            }
            if entry.index > LAST_USABLE_INDEX {
                return Err(past_last_usable_index(entry.index));
            }
            expected = entry.index + 1;
            if let Some(previous) = previous.filter(|&p| entry.term < p) {
                return Err(WalError::TermRegression { index: entry.index, previous, got: entry.term });
            }
            if entry.data.len() > MAX_ENTRY_DATA {
                return Err(WalError::TooLarge { len: entry.data.len(), max: MAX_ENTRY_DATA });
            }
            previous = Some(entry.term);
        }
        Ok(())
    }
}

impl Wal {
    /// Opens the log in `dir` (creating the directory if needed) and recovers it: segments
    /// are read in index order, a torn tail of the last segment is cut back to its last valid
    /// record, and leftovers of an interrupted compaction or rollover (a segment prepared
    /// under its temporary name and never renamed) are removed. A sealed segment (any but the
    /// last) must end with a footer that matches its bytes. Damage anywhere but the tail of
    /// the last segment is [`WalError::Corrupt`]: lab 2 decides what to do with it.
    ///
    /// The last segment may be sealed too, if a crash came after its footer was synced and
    /// before its successor was renamed into place: it is kept as it is, and the next append
    /// starts a new segment.
    pub fn open(fs: FsRef, dir: impl Into<PathBuf>, options: WalOptions) -> Result<Wal, WalError> {
        let dir = dir.into();
        fs.create_dir_all(&dir)?;
        let listing = fs.read_dir(&dir)?;
        let mut dir_dirty = false;
        // A segment prepared under its temporary name and never renamed: nothing in it was
        // ever acknowledged.
        for name in &listing {
            if name.strip_suffix(".tmp").and_then(format::parse_segment_file_name).is_some() {
                fs.remove_file(&dir.join(name))?;
                dir_dirty = true;
            }
        }
        let mut names: Vec<(Index, String)> = listing
            .into_iter()
            .filter_map(|name| format::parse_segment_file_name(&name).map(|first| (first, name)))
            .collect();
        names.sort();

        let mut found: Vec<(Segment, ScanEnd)> = Vec::new();
        for (position, (first, name)) in names.iter().enumerate() {
            match Segment::open(fs.as_ref(), &dir, name, *first)? {
                Opened::Segment(segment, end) => found.push((*segment, end)),
                Opened::Unfinished if position + 1 == names.len() => {
                    // A rollover or restart that crashed before the header was durable:
                    // nothing in this file was ever acknowledged.
                    fs.remove_file(&dir.join(name))?;
                    dir_dirty = true;
                }
                Opened::Unfinished => {
                    return Err(corrupt(name, 0, "segment header is missing or damaged".into()));
                }
            }
        }
        // Segments older than the newest log start are leftovers of a compaction that
        // restarted the log and crashed before it removed them.
        if let Some(start) = found.iter().rposition(|(s, _)| s.header.is_log_start()) {
            for (old, _) in found.drain(..start) {
                fs.remove_file(&dir.join(&old.file_name))?;
                dir_dirty = true;
            }
        }
        if dir_dirty {
            fs.sync_dir(&dir)?;
        }

        let count = found.len();
        let mut segments = Vec::with_capacity(count);
        for (position, (mut segment, end)) in found.into_iter().enumerate() {
            if let Some(previous) = segments.last().map(Segment::next_index)
                && segment.first_index() != previous
            {
                return Err(corrupt(
                    &segment.file_name,
                    8,
                    format!(
                        "starts at index {}, but the previous segment ends before {previous}",
                        segment.first_index()
                    ),
                ));
            }
            if let ScanEnd::Invalid { offset, reason } = end {
                if position + 1 < count {
                    return Err(corrupt(&segment.file_name, offset, format!("in a sealed segment: {reason}")));
                }
                segment.cut_torn_tail()?;
            } else if position + 1 < count && segment.sealed.is_none() {
                return Err(corrupt(
                    &segment.file_name,
                    segment.len,
                    "a sealed segment (one with a successor) without its footer".into(),
                ));
            }
            segments.push(segment);
        }
        let first_index = segments.first().map_or(1, Segment::first_index);
        let state = State { segments, first_index, written: 0, dir_dirty: false, poisoned: false };
        Ok(Wal {
            fs,
            dir,
            options,
            state: Mutex::new(state),
            commit: Mutex::new(Commit { writers: 1, ..Commit::default() }),
            durable: Condvar::new(),
            gathered: Condvar::new(),
        })
    }

    /// The first index held: 1 for a new log, `last_index() + 1` when empty.
    pub fn first_index(&self) -> Index {
        self.lock().first_index
    }

    /// The last index held: 0 for a new log, `first_index() - 1` when empty.
    pub fn last_index(&self) -> Index {
        self.lock().last_index()
    }

    /// Appends `entries`, which must continue the log: the first has index `last_index() + 1`,
    /// the others follow without a gap, and terms never decrease. Returns once the entries
    /// are acknowledged under the sync policy.
    ///
    /// A write or sync that fails poisons the log (see [`WalError::Poisoned`]): what was
    /// written may or may not be on disk, and only a reopen finds out.
    ///
    /// An empty batch appends nothing: it returns `Ok(())` at once, without writing, syncing
    /// or waiting for a sync, under every policy (`Poisoned` on a poisoned log, like any
    /// append).
    ///
    /// The last index an entry may have is `u64::MAX - 1` (so the next index always exists):
    /// an entry at `u64::MAX` is an error that changes nothing and does not poison the log.
    pub fn append(&self, entries: &[Entry]) -> Result<(), WalError> {
        let ticket = {
            let mut state = self.lock();
            state.check_usable()?;
            if entries.is_empty() {
                return Ok(());
            }
            state.check_continues(entries)?;
            for entry in entries {
                if let Err(e) = self.write_entry(&mut state, entry) {
                    return Err(self.poison(&mut state, e));
                }
            }
            // Without a sync to wait for, records may sit in the buffer; otherwise they reach
            // the file now, so that a group-commit leader has them to sync.
            if self.options.sync != SyncPolicy::Never
                && let Err(e) = state.segments.last_mut().map_or(Ok(()), Segment::flush)
            {
                return Err(self.poison(&mut state, e));
            }
            state.written += 1;
            match self.options.sync {
                SyncPolicy::Never => return Ok(()),
                SyncPolicy::EveryAppend => return self.sync_locked(&mut state),
                SyncPolicy::GroupCommit => state.written,
            }
        };
        self.wait_durable(ticket)
    }

    /// The entry at `index`.
    pub fn entry(&self, index: Index) -> Result<Entry, WalError> {
        let state = self.lock();
        state.check_held(index)?;
        state.segment_of(index).read(index)
    }

    /// The entries with indexes in `low..high` (empty if `low >= high`, wherever it lies).
    /// `low` is checked first, then `high - 1`, and an error names the end that failed:
    /// [`WalError::Compacted`] for a `low` below the first index, [`WalError::Unavailable`]
    /// for a `low` past the last index, else for a `high - 1` past it. Read a segment's span
    /// at a time.
    pub fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, WalError> {
        let state = self.lock();
        if low >= high {
            return Ok(Vec::new());
        }
        state.check_held(low)?;
        state.check_held(high - 1)?;
        let mut entries = Vec::with_capacity((high - low) as usize);
        let mut index = low;
        while index < high {
            let segment = state.segment_of(index);
            let end = high.min(segment.next_index());
            segment.read_range(index, end, &mut entries)?;
            index = end;
        }
        Ok(entries)
    }

    /// The term of the entry at `index`, from memory.
    pub fn term(&self, index: Index) -> Result<Term, WalError> {
        let state = self.lock();
        state.check_held(index)?;
        Ok(state.segment_of(index).term(index))
    }

    /// Removes the entries at `from` and after, as Raft does when a leader's log conflicts
    /// with this one. A `from` past the end does nothing. Durable on return unless the policy
    /// is [`SyncPolicy::Never`].
    ///
    /// Whole segments go first, newest first, and the directory is synced before the segment
    /// holding `from` is cut: a crash at any point leaves a log without a hole.
    ///
    /// A cut into a sealed segment takes its footer with it: that segment is the active one
    /// again. A sealed segment left last without a cut (when `from` is its successor's first
    /// index) keeps its footer, and the next append starts a new segment after it.
    pub fn truncate_suffix(&self, from: Index) -> Result<(), WalError> {
        let mut state = self.lock();
        state.check_usable()?;
        if from < state.first_index {
            return Err(WalError::TruncateCompacted { from, first_index: state.first_index });
        }
        if from > state.last_index() {
            return Ok(());
        }
        let result = self.cut_suffix(&mut state, from);
        match result {
            Ok(()) if self.options.sync != SyncPolicy::Never => self.sync_locked(&mut state),
            Ok(()) => Ok(()),
            Err(e) => Err(self.poison(&mut state, e)),
        }
    }

    /// Discards the entries up to and including `upto`, which a snapshot covers. On disk,
    /// only whole segments go; reads below `upto + 1` fail at once. An `upto` at or past the
    /// end restarts the log at `upto + 1`: a new segment flagged as the log's start is made
    /// durable before the old ones are removed (a segment file of that name, which only a
    /// crashed rollover leaves, is reused as the new first segment, never removed with the old
    /// ones). Durable on return under every policy, [`SyncPolicy::Never`] included.
    pub fn compact_prefix(&self, upto: Index) -> Result<(), WalError> {
        let mut state = self.lock();
        state.check_usable()?;
        if upto < state.first_index {
            return Ok(());
        }
        if upto > LAST_USABLE_INDEX {
            // A restart at `upto + 1` would name an index past `u64::MAX`.
            return Err(past_last_usable_index(upto));
        }
        let result = if upto >= state.last_index() {
            self.restart_at(&mut state, upto + 1)
        } else {
            self.drop_covered_segments(&mut state, upto)
        };
        result.map_err(|e| self.poison(&mut state, e))
    }

    /// Makes every append so far durable.
    pub fn sync(&self) -> Result<(), WalError> {
        let mut state = self.lock();
        state.check_usable()?;
        self.sync_locked(&mut state)
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.lock()
            .segments
            .iter()
            .map(|s| SegmentInfo {
                first_index: s.first_index(),
                last_index: s.last_index(),
                file_name: s.file_name.clone(),
                len: s.file_len(),
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state in an unknown shape: refuse to go on.
        self.state.lock().unwrap_or_else(|poisoned| {
            let mut state = poisoned.into_inner();
            state.poisoned = true;
            state
        })
    }

    fn lock_commit(&self) -> MutexGuard<'_, Commit> {
        self.commit.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn path(&self, file_name: &str) -> PathBuf {
        self.dir.join(file_name)
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    /// Marks the log failed (fail-stop) and returns the error that did it.
    fn poison(&self, state: &mut State, error: WalError) -> WalError {
        state.poisoned = true;
        self.lock_commit().failed = true;
        self.durable.notify_all();
        self.gathered.notify_all();
        error
    }

    fn write_entry(&self, state: &mut State, entry: &Entry) -> Result<(), WalError> {
        let record_len = RECORD_HEADER_LEN + ENTRY_HEADER_LEN + entry.data.len() as u64;
        let full = match state.segments.last() {
            None => true,
            Some(active) => {
                active.sealed.is_some() || (!active.is_empty() && active.len + record_len > self.options.segment_size)
            }
        };
        if full {
            self.roll_over(state, entry.index)?;
        }
        state.segments.last_mut().expect("a segment was just made").append(entry)
    }

    /// Seals the active segment and starts one at `first_index`, whatever the policy: the old
    /// segment's records and footer are written and synced first, so a segment with a
    /// successor on disk is always complete and checkable (damage in it is corruption, never
    /// a torn tail); then the new one is prepared under a temporary name, synced, checked and
    /// renamed into place, and the directory synced ([`Segment::create`]).
    fn roll_over(&self, state: &mut State, first_index: Index) -> Result<(), WalError> {
        let flags = match state.segments.last_mut() {
            Some(active) => {
                if active.sealed.is_none() {
                    active.seal()?;
                }
                0
            }
            None => FLAG_LOG_START,
        };
        let segment = Segment::create(self.fs.as_ref(), self.dir(), SegmentHeader { first_index, flags })?;
        state.segments.push(segment);
        Ok(())
    }

    fn cut_suffix(&self, state: &mut State, from: Index) -> Result<(), WalError> {
        let mut removed = false;
        while let Some(last) = state.segments.last() {
            let keep_as_start = state.segments.len() == 1 || last.header.is_log_start();
            let whole = last.first_index() > from || (last.first_index() == from && !keep_as_start);
            if !whole {
                break;
            }
            let gone = state.segments.pop().expect("checked above");
            self.fs.remove_file(&self.path(&gone.file_name))?;
            removed = true;
        }
        if removed {
            self.fs.sync_dir(self.dir())?;
            state.dir_dirty = false;
        }
        if let Some(last) = state.segments.last_mut()
            && from <= last.last_index()
        {
            last.truncate_from(from)?;
        }
        Ok(())
    }

    fn restart_at(&self, state: &mut State, first_index: Index) -> Result<(), WalError> {
        let old: Vec<Segment> = state.segments.drain(..).filter(|s| s.first_index() != first_index).collect();
        // Durable (the file and the directory) when `create` returns.
        let start =
            Segment::create(self.fs.as_ref(), self.dir(), SegmentHeader { first_index, flags: FLAG_LOG_START })?;
        for segment in &old {
            self.fs.remove_file(&self.path(&segment.file_name))?;
        }
        if !old.is_empty() {
            self.fs.sync_dir(self.dir())?;
        }
        state.segments = vec![start];
        state.first_index = first_index;
        state.dir_dirty = false;
        Ok(())
    }

    fn drop_covered_segments(&self, state: &mut State, upto: Index) -> Result<(), WalError> {
        let covered = state.segments.windows(2).take_while(|pair| pair[1].first_index() <= upto + 1).count();
        for segment in state.segments.drain(..covered) {
            self.fs.remove_file(&self.path(&segment.file_name))?;
        }
        if covered > 0 {
            self.fs.sync_dir(self.dir())?;
        }
        state.first_index = upto + 1;
        Ok(())
    }

    /// Syncs every segment written since its last sync, then the directory if a segment was
    /// created or removed. Any failure poisons the log.
    fn sync_locked(&self, state: &mut State) -> Result<(), WalError> {
        let result = (|| {
            for segment in state.segments.iter_mut().filter(|s| s.dirty) {
                segment.flush()?;
                segment.file.sync_data()?;
                segment.dirty = false;
            }
            if state.dir_dirty {
                self.fs.sync_dir(self.dir())?;
                state.dir_dirty = false;
            }
            Ok::<(), WalError>(())
        })();
        result.map_err(|e| self.poison(state, e))
    }

    /// Group commit: returns once the append with `ticket` is durable. The first waiter to
    /// find no sync in flight becomes the leader: it gathers the other writers (see
    /// [`Wal::gather`]), then syncs everything written so far, outside the state lock; the rest
    /// wait for it.
    fn wait_durable(&self, ticket: u64) -> Result<(), WalError> {
        let mut commit = self.lock_commit();
        commit.arrived = commit.arrived.max(ticket);
        if commit.gathering && commit.pending() >= commit.writers {
            self.gathered.notify_one();
        }
        loop {
            if commit.failed {
                return Err(WalError::Poisoned);
            }
            if commit.durable >= ticket {
                return Ok(());
            }
            if !commit.leader {
                commit.leader = true;
                break;
            }
            commit = self.durable.wait(commit).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        drop(self.gather(commit));
        let started = Instant::now();
        let outcome = self.sync_as_leader();
        let took = started.elapsed();
        let mut commit = self.lock_commit();
        commit.leader = false;
        match &outcome {
            Ok(target) => {
                commit.writers = commit.arrived.max(*target).saturating_sub(commit.durable).max(1);
                commit.durable = commit.durable.max(*target);
                commit.last_sync = took;
            }
            Err(_) => commit.failed = true,
        }
        drop(commit);
        self.durable.notify_all();
        outcome.map(|_| ())
    }

    /// The leader's wait before it syncs, so that one sync carries every writer rather than
    /// about half of them.
    ///
    /// Writers that the last sync acknowledged are on their way back with their next append;
    /// a leader that synced at once would carry only the few already waiting, and the rest
    /// would wait for the whole of its sync and then for the next. So the leader waits until as
    /// many appends are pending as were waiting when the last sync ended, or until as long as
    /// that sync took has passed (a writer that left costs one such wait, after which the count
    /// adapts). With one writer that count is one, its own append: it never waits.
    /// PostgreSQL's `commit_delay` is the same idea with a fixed delay, taken only when at
    /// least `commit_siblings` other transactions are active.
    fn gather<'a>(&self, mut commit: MutexGuard<'a, Commit>) -> MutexGuard<'a, Commit> {
        if commit.pending() >= commit.writers {
            return commit;
        }
        let deadline = Instant::now() + commit.last_sync.min(MAX_GATHER);
        commit.gathering = true;
        while !commit.failed && commit.pending() < commit.writers {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            commit =
                self.gathered.wait_timeout(commit, deadline - now).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
        commit.gathering = false;
        commit
    }

    /// Writes out what is buffered, then syncs it outside the state lock; returns the ticket
    /// it covers.
    fn sync_as_leader(&self) -> Result<u64, WalError> {
        let (target, files, sync_dir) = {
            let mut state = self.lock();
            state.check_usable()?;
            let mut files = Vec::new();
            for segment in state.segments.iter_mut().filter(|s| s.dirty) {
                if let Err(e) = segment.flush() {
                    return Err(self.poison(&mut state, e));
                }
                segment.dirty = false;
                files.push(Arc::clone(&segment.file));
            }
            (state.written, files, std::mem::take(&mut state.dir_dirty))
        };
        let result = files
            .iter()
            .try_for_each(|file| file.sync_data())
            .and_then(|()| if sync_dir { self.fs.sync_dir(self.dir()) } else { Ok(()) });
        match result {
            Ok(()) => Ok(target),
            Err(e) => {
                let mut state = self.lock();
                Err(self.poison(&mut state, e.into()))
            }
        }
    }
}

impl Drop for Wal {
    /// Writes out buffered records, so that a log closed without a sync under
    /// [`SyncPolicy::Never`] still hands them to the filesystem (which may or may not keep them
    /// through a power loss: nothing was acknowledged).
    fn drop(&mut self) {
        let mut state = self.lock();
        if !state.poisoned {
            for segment in &mut state.segments {
                let _ = segment.flush();
            }
        }
    }
}

impl LogStorage for Wal {
    type Error = WalError;

    fn first_index(&self) -> Index {
        Wal::first_index(self)
    }

    fn last_index(&self) -> Index {
        Wal::last_index(self)
    }

    fn term(&self, index: Index) -> Result<Term, WalError> {
        Wal::term(self, index)
    }

    fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, WalError> {
        Wal::entries(self, low, high)
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), WalError> {
        Wal::append(self, entries)
    }

    fn truncate_suffix(&mut self, from: Index) -> Result<(), WalError> {
        Wal::truncate_suffix(self, from)
    }

    fn compact_prefix(&mut self, upto: Index) -> Result<(), WalError> {
        Wal::compact_prefix(self, upto)
    }

    fn sync(&mut self) -> Result<(), WalError> {
        Wal::sync(self)
    }
}
