//! Running one child process with a time limit and a bounded capture of its output.
//!
//! A submission's test may print without end, hang, abort or call `process::exit`; none of
//! that may stall or crash the grader. The child's stdout and stderr share one pipe (so the
//! text keeps its order), a thread drains it into a buffer that keeps the head and the tail,
//! and on timeout the child's whole process group is killed.

use std::collections::VecDeque;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use crate::error::{GraderError, Result};

/// How a child process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (abort, segmentation fault, …).
    Signaled(i32),
    /// It ran past its time limit and was killed.
    TimedOut,
}

/// What a child printed, cut to a limit.
#[derive(Clone, Debug)]
pub struct CapturedOutput {
    /// The text, with a marker where the middle was cut.
    pub text: String,
    /// Bytes printed in all.
    pub total_bytes: u64,
    /// Bytes left out of `text`.
    pub cut_bytes: u64,
}

/// The result of [`run_with_timeout`].
#[derive(Clone, Debug)]
pub struct ProcessOutcome {
    pub termination: Termination,
    pub output: CapturedOutput,
    pub duration: Duration,
}

/// Keeps the first and the last `limit / 2` bytes of a stream, and counts the rest.
struct HeadTail {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    half: usize,
    total: u64,
}

impl HeadTail {
    fn new(limit: usize) -> HeadTail {
        let half = limit.max(2) / 2;
        HeadTail { head: Vec::new(), tail: VecDeque::new(), half, total: 0 }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.half - self.head.len();
        let into_head = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..into_head]);
        bytes = &bytes[into_head..];
        if bytes.len() >= self.half {
            self.tail.clear();
            bytes = &bytes[bytes.len() - self.half..];
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.half);
        self.tail.drain(..overflow);
        self.tail.extend(bytes);
    }

    fn finish(&self) -> CapturedOutput {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let cut_bytes = self.total - kept;
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if cut_bytes > 0 {
            text.push_str(&format!("\n[… {cut_bytes} bytes of output cut here …]\n"));
        }
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        text.push_str(&String::from_utf8_lossy(&tail));
        CapturedOutput { text, total_bytes: self.total, cut_bytes }
    }
}

/// Cuts `text` to about `limit` bytes, keeping its head and tail, for output that was
/// collected some other way (cargo's diagnostics).
pub fn cut_text(text: &str, limit: usize) -> String {
    let mut buffer = HeadTail::new(limit);
    buffer.push(text.as_bytes());
    buffer.finish().text
}

/// Runs `command` (stdin closed, stdout and stderr captured together) for at most `timeout`.
pub fn run_with_timeout(mut command: Command, timeout: Duration, output_limit: usize) -> Result<ProcessOutcome> {
    let program = format!("{:?}", command.get_program());
    let tool_error =
        |action: &str, error: std::io::Error| GraderError::Tool(format!("cannot {action} {program}: {error}"));
    let (reader, writer) = std::io::pipe().map_err(|e| tool_error("make a pipe for", e))?;
    let writer_for_stderr = writer.try_clone().map_err(|e| tool_error("make a pipe for", e))?;
    command.stdin(Stdio::null()).stdout(writer).stderr(writer_for_stderr);
    #[cfg(unix)]
    {
        // Its own process group, so that a timeout kills whatever the test spawned too.
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let started = Instant::now();
    let mut child = crate::sandbox::spawn_tracked(&mut command).map_err(|e| tool_error("start", e))?;
    // The command holds our copies of the pipe's write end: drop them, or the reader never
    // sees the end of the stream.
    drop(command);

    let (done_sender, done) = mpsc::channel();
    let buffer = drain_into_buffer(reader, output_limit, done_sender);
    let termination = wait_or_kill(&mut child, timeout).map_err(|e| tool_error("wait for", e))?;
    let duration = started.elapsed();
    // Something the child left behind may still hold the pipe open: give it a moment, then
    // end the group and take what was read.
    if done.recv_timeout(Duration::from_secs(2)).is_err() {
        kill_group(&mut child);
        let _ = done.recv_timeout(Duration::from_secs(1));
    }
    // Whatever is left of the group (a child that outlived the test) goes now.
    kill_group(&mut child);
    crate::sandbox::forget_child(child.id());
    let output = buffer.lock().unwrap_or_else(|poison| poison.into_inner()).finish();
    Ok(ProcessOutcome { termination, output, duration })
}

/// The result of [`run_streaming_stdout`].
#[derive(Clone, Debug)]
pub struct StreamedOutcome {
    pub termination: Termination,
    /// What the child printed on stderr, cut to the limit.
    pub stderr: CapturedOutput,
    pub duration: Duration,
}

/// Runs `command` for at most `timeout`, handing each line of its stdout to `on_line` as it
/// arrives (so a tool's JSON messages are parsed whole, never cut) and keeping the head and
/// tail of its stderr.
pub fn run_streaming_stdout(
    mut command: Command,
    timeout: Duration,
    stderr_limit: usize,
    mut on_line: impl FnMut(&str) + Send + 'static,
) -> Result<StreamedOutcome> {
    let program = format!("{:?}", command.get_program());
    let tool_error =
        |action: &str, error: std::io::Error| GraderError::Tool(format!("cannot {action} {program}: {error}"));
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let started = Instant::now();
    let mut child = crate::sandbox::spawn_tracked(&mut command).map_err(|e| tool_error("start", e))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill_group(&mut child);
        return Err(GraderError::Tool(format!("cannot capture the output of {program}")));
    };
    let (done_sender, done) = mpsc::channel();
    let stdout_done = done_sender.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            on_line(String::from_utf8_lossy(&line).trim_end());
            line.clear();
        }
        let _ = stdout_done.send(());
    });
    let buffer = drain_into_buffer(stderr, stderr_limit, done_sender);
    let termination = wait_or_kill(&mut child, timeout).map_err(|e| tool_error("wait for", e))?;
    let duration = started.elapsed();
    for _ in 0..2 {
        if done.recv_timeout(Duration::from_secs(5)).is_err() {
            kill_group(&mut child);
            break;
        }
    }
    kill_group(&mut child);
    crate::sandbox::forget_child(child.id());
    let stderr = buffer.lock().unwrap_or_else(|poison| poison.into_inner()).finish();
    Ok(StreamedOutcome { termination, stderr, duration })
}

/// Reads `source` to its end on a thread of its own, keeping the head and tail of what it
/// says, and reports on `done` when the stream has ended.
fn drain_into_buffer(
    mut source: impl Read + Send + 'static,
    limit: usize,
    done: mpsc::Sender<()>,
) -> Arc<Mutex<HeadTail>> {
    let buffer = Arc::new(Mutex::new(HeadTail::new(limit)));
    let filling = Arc::clone(&buffer);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match source.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => filling.lock().unwrap_or_else(|poison| poison.into_inner()).push(&chunk[..n]),
            }
        }
        let _ = done.send(());
    });
    buffer
}

/// Waits for the child for at most `timeout`; past it, kills its whole process group.
fn wait_or_kill(child: &mut std::process::Child, timeout: Duration) -> std::io::Result<Termination> {
    Ok(match child.wait_timeout(timeout)? {
        Some(status) => termination_of(status),
        None => {
            kill_group(child);
            let _ = child.wait();
            Termination::TimedOut
        }
    })
}

fn termination_of(status: ExitStatus) -> Termination {
    if let Some(code) = status.code() {
        return Termination::Exited(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Termination::Signaled(signal);
        }
    }
    Termination::Exited(-1)
}

/// Kills the child's process group (the child and what it spawned), or the child alone.
fn kill_group(child: &mut std::process::Child) {
    // SAFETY: kill has no memory-safety preconditions. The group is the child's own (it was
    // started with `process_group(0)`); Linux does not reuse a pid while a live process is in
    // the group it names, and reuse of an emptied one needs the pid counter to wrap around in
    // the moment since the child was waited for.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.kill();
}

/// A readable name for a signal number.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    format!("{name} (signal {signal})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn stdout_and_stderr_are_captured_in_order() {
        let outcome =
            run_with_timeout(shell("echo one; echo two >&2; echo three; exit 3"), Duration::from_secs(10), 1024)
                .unwrap();
        assert_eq!(outcome.termination, Termination::Exited(3));
        assert_eq!(outcome.output.text, "one\ntwo\nthree\n");
    }

    #[test]
    fn a_hang_is_killed_at_the_limit() {
        let outcome = run_with_timeout(shell("sleep 30 & sleep 30"), Duration::from_millis(300), 1024).unwrap();
        assert_eq!(outcome.termination, Termination::TimedOut);
        assert!(outcome.duration < Duration::from_secs(10));
    }

    #[test]
    fn a_signal_is_reported() {
        let outcome = run_with_timeout(shell("kill -ABRT $$"), Duration::from_secs(10), 1024).unwrap();
        assert_eq!(outcome.termination, Termination::Signaled(6));
    }

    #[test]
    fn long_output_keeps_head_and_tail_and_says_how_much_was_cut() {
        let outcome =
            run_with_timeout(shell("echo START; yes x | head -c 100000; echo; echo END"), Duration::from_secs(10), 200)
                .unwrap();
        let output = outcome.output;
        assert!(output.text.starts_with("START\n"), "{}", output.text);
        assert!(output.text.ends_with("\nEND\n"), "{}", output.text);
        assert_eq!(output.total_bytes, 6 + 100_000 + 1 + 4);
        assert_eq!(output.cut_bytes, output.total_bytes - 200);
        assert!(output.text.contains(&format!("{} bytes of output cut", output.cut_bytes)));
    }

    #[test]
    fn head_tail_keeps_everything_under_the_limit() {
        let mut buffer = HeadTail::new(10);
        for piece in ["ab", "cd", "ef", "gh", "ij"] {
            buffer.push(piece.as_bytes());
        }
        assert_eq!(buffer.finish().text, "abcdefghij");
        buffer.push(b"k");
        let cut = buffer.finish();
        assert_eq!(cut.cut_bytes, 1);
        assert!(cut.text.starts_with("abcde") && cut.text.ends_with("ghijk"), "{}", cut.text);
    }
}
