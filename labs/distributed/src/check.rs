//! Invariant assertions whose failures say what broke and how to replay it.
//!
//! A failure message has three parts, in this order, so that a student reading the first line
//! of a red test knows where to look:
//!
//! ```text
//! [monotonic] last_applied (7) > commit_index (5)
//!   replay: LAB_SEED=0x2a cargo test -p lab4 --test public -- --exact applied_never_passes_commit
//! ```
//!
//! The name in brackets is one of the invariants of the book's glossary.
//!
//! # What a test may unwrap
//!
//! A `Result` a lab's code returns is checked with [`invariant_ok!`], never `.unwrap()` or
//! `.expect(…)`: an `Err` from the student's code is a verdict on it, and its message names the
//! invariant and prints the replay line like any other failure.
//!
//! The course's own set-up (a fixture written on a `SimFs`, a temporary directory, a thread
//! spawned, a lock taken) uses `.expect("setup: …")`, with a message that starts with `setup:`
//! and says what was being prepared. Such a failure is the course's bug, not the student's: it
//! names no invariant, so that no one mistakes it for one. `grader/tests/failure_messages.rs`
//! keeps the rule: no `.unwrap()` in a lab's tests, and `.expect(` only with a `"setup: …"`
//! message.

use std::fmt;

/// Panics with an invariant failure unless `cond` holds.
///
/// ```should_panic
/// let (last_applied, commit_index) = (7, 5);
/// distributed::invariant!(
///     "monotonic",
///     last_applied <= commit_index,
///     "last_applied ({last_applied}) > commit_index ({commit_index})"
/// );
/// ```
#[macro_export]
macro_rules! invariant {
    ($name:expr, $cond:expr, $($detail:tt)+) => {
        if !$cond {
            $crate::check::violated(
                $name,
                ::std::format_args!($($detail)+),
                ::std::env!("CARGO_PKG_NAME"),
                ::std::env!("CARGO_CRATE_NAME"),
            )
        }
    };
}

/// Fails the test naming `invariant`, where a value is expected (a `match` arm, an
/// `unwrap_or_else`): [`invariant!`] with a condition that does not hold, so
/// the message and the replay line are the same.
#[macro_export]
macro_rules! fail {
    ($invariant:expr, $($detail:tt)+) => {{
        $crate::invariant!($invariant, false, $($detail)+);
        unreachable!()
    }};
}

/// [`invariant!`] for a value that must equal another: fails naming `invariant`, with the
/// detail, then the expected and the seen value (`{:?}`) with their labels.
///
/// ```should_panic
/// let last_index = 6;
/// distributed::invariant_eq!("durability", last_index, 7, "the last index after a reopen");
/// // [durability] the last index after a reopen: expected 7, seen 6
/// ```
#[macro_export]
macro_rules! invariant_eq {
    ($invariant:expr, $seen:expr, $expected:expr, $($detail:tt)+) => {
        match (&$seen, &$expected) {
            (seen, expected) => $crate::invariant!(
                $invariant,
                *seen == *expected,
                "{}: expected {:?}, seen {:?}",
                ::std::format_args!($($detail)+),
                expected,
                seen
            ),
        }
    };
}

/// [`invariant!`] for a value that must match a pattern: fails naming `invariant`, with the
/// detail, the pattern expected and the value seen (`{:?}`).
///
/// ```should_panic
/// let opened: Result<u64, String> = Err("bad header".into());
/// distributed::invariant_matches!("torn-tail", opened, Ok(_), "the log opens");
/// // [torn-tail] the log opens: expected Ok(_), seen Err("bad header")
/// ```
#[macro_export]
macro_rules! invariant_matches {
    ($invariant:expr, $seen:expr, $pattern:pat, $($detail:tt)+) => {
        match &$seen {
            seen => $crate::invariant!(
                $invariant,
                ::std::matches!(seen, $pattern),
                "{}: expected {}, seen {:?}",
                ::std::format_args!($($detail)+),
                ::std::stringify!($pattern),
                seen
            ),
        }
    };
}

/// The `Ok` value of a `Result` a lab's code returns; on `Err(e)`, fails naming `invariant`
/// (through [`invariant!`], so with the replay line), with the detail, `expected Ok` and the
/// error seen (`{:?}`). Use it where a test would otherwise `.unwrap()` the student's result.
///
/// ```should_panic
/// let opened: Result<u64, String> = Err("bad header".into());
/// let last_index = distributed::invariant_ok!("durability", opened, "the log reopens");
/// // [durability] the log reopens: expected Ok, seen Err("bad header")
/// # let _ = last_index;
/// ```
///
/// ```
/// let opened: Result<u64, String> = Ok(7);
/// let last_index = distributed::invariant_ok!("durability", opened, "the log reopens");
/// assert_eq!(last_index, 7);
/// ```
#[macro_export]
macro_rules! invariant_ok {
    ($invariant:expr, $result:expr, $($detail:tt)+) => {
        match $result {
            ::std::result::Result::Ok(value) => value,
            ::std::result::Result::Err(error) => $crate::fail!(
                $invariant,
                "{}: expected Ok, seen Err({:?})",
                ::std::format_args!($($detail)+),
                error
            ),
        }
    };
}

/// Panics with the message [`invariant!`] builds. Called by the macro, which fills in the
/// package and test crate so the replay line names them.
#[track_caller]
pub fn violated(invariant: &str, detail: fmt::Arguments<'_>, package: &str, crate_name: &str) -> ! {
    panic!("{}", failure_message(invariant, &detail.to_string(), package, crate_name))
}

/// `[invariant] detail`, then the line that replays this test with this seed.
pub fn failure_message(invariant: &str, detail: &str, package: &str, crate_name: &str) -> String {
    format!("[{invariant}] {detail}\n  replay: {}", replay_command(package, crate_name))
}

/// The command that runs the current test again with the current seed.
pub fn replay_command(package: &str, crate_name: &str) -> String {
    let mut command = String::new();
    if let Some(seed) = crate::rng::current_seed() {
        command.push_str(&format!("LAB_SEED={seed:#x} "));
    }
    command.push_str(&format!("cargo test -p {package}"));
    if crate_name == package.replace('-', "_") {
        command.push_str(" --lib");
    } else {
        command.push_str(&format!(" --test {crate_name}"));
    }
    // libtest runs each test on a thread named after it.
    if let Some(test) = std::thread::current().name().filter(|name| *name != "main") {
        command.push_str(&format!(" -- --exact {test}"));
    }
    command
}

/// The text of a panic payload, for re-raising a failure with more context.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_starts_with_the_invariant_and_ends_with_the_replay() {
        crate::rng::lab_seed(42);
        let text = failure_message("monotonic", "last_applied (7) > commit_index (5)", "lab4", "public");
        assert!(text.starts_with("[monotonic] last_applied (7) > commit_index (5)\n"), "{text}");
        assert!(text.contains("LAB_SEED=0x2a cargo test -p lab4 --test public"), "{text}");
        assert!(
            text.ends_with("-- --exact check::tests::message_starts_with_the_invariant_and_ends_with_the_replay"),
            "{text}"
        );
    }

    #[test]
    fn the_macro_panics_only_when_the_condition_fails() {
        invariant!("monotonic", 5 <= 7, "never printed");
        let caught =
            std::panic::catch_unwind(|| invariant!("monotonic", 7 <= 5, "last_applied (7) > commit_index (5)"));
        let text = panic_text(caught.expect_err("a broken invariant panics").as_ref());
        assert!(text.starts_with("[monotonic] last_applied (7) > commit_index (5)"), "{text}");
        assert!(text.contains("cargo test -p distributed --lib"), "{text}");
    }

    #[test]
    fn invariant_ok_returns_the_value_or_fails_with_the_error() {
        let value: u64 = invariant_ok!("durability", Ok::<u64, String>(7), "never printed");
        assert_eq!(value, 7);
        let caught = std::panic::catch_unwind(|| {
            invariant_ok!("durability", Err::<u64, _>("bad header"), "the log reopens at {}", 3)
        });
        let text = panic_text(caught.expect_err("an Err panics").as_ref());
        assert!(
            text.starts_with("[durability] the log reopens at 3: expected Ok, seen Err(\"bad header\")\n"),
            "{text}"
        );
        assert!(text.contains("cargo test -p distributed --lib -- --exact"), "{text}");
    }
}
