//! The course's harness in each test target: how a pass is told from a forgery.
//!
//! An exit code of 0 and libtest's `test result: ok. 1 passed` are text that any code in the
//! test process can produce (print the lines to the real stdout and exit; or do it from a
//! function placed in `.init_array` before libtest's `main` runs). So the grader decides a pass
//! from something the student's code cannot produce:
//!
//! 1. For each test run the grader makes a fresh 128-bit secret and two unlinked temporary
//!    files: the secret in the first, the second empty. The test process inherits them as
//!    file descriptors 3 and 4 (see [`crate::sandbox`]); the secret is in no argument, no
//!    environment variable and no file name.
//! 2. When generating the workspace, the grader adds one statement at the start of every
//!    `#[test]` function of the course's public and hidden tests (also those inside macro calls
//!    such as `proptest!`), on the same line so that panic locations do not move:
//!    `let __grader_guard = crate::__grader_harness::Guard::arm();`, and a small module
//!    (below) at the end of each test target's root file.
//! 3. `Guard::arm` runs before any of the student's code in that process can (safe Rust has no
//!    code before `main`; `#[link_section]` and `#[used]` are refused by the source policy,
//!    and `.init_array` needs them): it reads the secret from descriptor 3 and empties the
//!    file, so nothing is left to read.
//! 4. The guard's `Drop` writes the secret to descriptor 4 only if the test body ended without
//!    panicking: it returned, or returned early.
//! 5. The grader counts a pass only when the process exited 0, libtest reported exactly one
//!    passed test, **and** descriptor 4 holds the secret. Without it the run is a failure,
//!    reported as a forged or unfinished pass.
//!
//! To forge, student code would have to learn the secret, which after step 3 exists only in
//! the harness's memory: reading it back needs `/proc/self/mem` or the file behind descriptor
//! 3, that is a file API (`std::fs`, `std::os`, the kit's `StdFs`) or `unsafe`, all refused by
//! the source policy; or it would have to end the body early without a panic, which needs
//! `std::process`, also refused. The policy is the first layer; safe Rust's soundness holes are
//! why the sandbox (an unprivileged user, no writable course) is the boundary.

use std::fmt::Write as _;
use std::path::Path;

use proc_macro2::{Delimiter, LineColumn, TokenStream, TokenTree};
use syn::visit::{self, Visit};

use crate::error::{GraderError, Result};

/// The statement added at the start of every test function.
pub const GUARD_STATEMENT: &str = "let __grader_guard = crate::__grader_harness::Guard::arm(); ";

/// The descriptor the secret is read from.
pub const SECRET_FD: i32 = 3;
/// The descriptor the secret is written back to when the test body ends.
pub const RESULT_FD: i32 = 4;

/// The module appended to each test target's root file.
pub const HARNESS_MODULE: &str = r#"

/// Added by the grader (grader/src/harness.rs) to the generated copy of this file: tells a
/// finished test from a forged pass. Not part of the course's sources.
#[doc(hidden)]
#[allow(dead_code, clippy::all)]
mod __grader_harness {
    use std::io::{Read, Write};

    /// Holds this run's secret from the start of the test body to its end.
    pub struct Guard(Vec<u8>);

    impl Guard {
        /// Reads the secret (descriptor 3) and empties its file.
        pub fn arm() -> Guard {
            let mut secret = Vec::new();
            if let Ok(mut file) = std::fs::OpenOptions::new().read(true).write(true).open("/proc/self/fd/3") {
                let _ = file.read_to_end(&mut secret);
                let _ = file.set_len(0);
            }
            Guard(secret)
        }
    }

    impl Drop for Guard {
        /// The body ended without a panic: hand the secret back (descriptor 4).
        fn drop(&mut self) {
            if std::thread::panicking() || self.0.is_empty() {
                return;
            }
            if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open("/proc/self/fd/4") {
                let _ = file.write_all(&self.0);
            }
        }
    }
}
"#;

/// Returns `source` with the guard statement at the start of every test function; `root`
/// also appends the harness module. `path` names the file in errors.
pub fn instrument(path: &Path, source: &str, root: bool) -> Result<String> {
    let file = syn::parse_file(source)
        .map_err(|error| GraderError::config(path, format!("the grader cannot parse this test file: {error}")))?;
    let mut finder = TestBodies { openings: Vec::new() };
    finder.visit_file(&file);
    let mut offsets: Vec<usize> =
        finder.openings.iter().filter_map(|position| byte_offset(source, *position)).collect();
    offsets.sort_unstable();
    offsets.dedup();
    let mut out = String::with_capacity(source.len() + offsets.len() * GUARD_STATEMENT.len() + 1024);
    let mut last = 0;
    for offset in offsets {
        out.push_str(&source[last..offset]);
        out.push_str(GUARD_STATEMENT);
        last = offset;
    }
    out.push_str(&source[last..]);
    if root {
        let _ = write!(out, "{HARNESS_MODULE}");
    }
    Ok(out)
}

/// The byte offset of a line/column position (columns count characters).
fn byte_offset(source: &str, position: LineColumn) -> Option<usize> {
    let line_start = if position.line <= 1 {
        0
    } else {
        source.match_indices('\n').nth(position.line - 2).map(|(index, _)| index + 1)?
    };
    let line = &source[line_start..];
    let within = line.char_indices().nth(position.column).map(|(index, _)| index).unwrap_or(line.len());
    Some(line_start + within)
}

/// Finds where each test body's opening brace ends.
struct TestBodies {
    openings: Vec<LineColumn>,
}

fn is_test_attribute(attribute: &syn::Attribute) -> bool {
    attribute.path().segments.last().is_some_and(|segment| segment.ident == "test")
}

impl<'ast> Visit<'ast> for TestBodies {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if item.attrs.iter().any(is_test_attribute) {
            self.openings.push(item.block.brace_token.span.open().end());
        }
        visit::visit_item_fn(self, item);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.walk_tokens(mac.tokens.clone());
    }
}

impl TestBodies {
    /// In a macro call: `#[test]` (possibly among other attributes), then `fn`, then the first
    /// brace-delimited group is the body.
    fn walk_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut armed = false;
        let mut after_fn = false;
        let mut index = 0;
        while index < trees.len() {
            match &trees[index] {
                TokenTree::Punct(punct) if punct.as_char() == '#' => {
                    if let Some(TokenTree::Group(group)) = trees.get(index + 1)
                        && group.delimiter() == Delimiter::Bracket
                    {
                        let names: Vec<String> = group
                            .stream()
                            .into_iter()
                            .filter_map(|tree| match tree {
                                TokenTree::Ident(ident) => Some(ident.to_string()),
                                _ => None,
                            })
                            .collect();
                        if names.last().is_some_and(|name| name == "test") && names.len() <= 2 {
                            armed = true;
                        }
                        index += 2;
                        continue;
                    }
                }
                TokenTree::Ident(ident) if armed && ident == "fn" => after_fn = true,
                TokenTree::Group(group) if armed && after_fn && group.delimiter() == Delimiter::Brace => {
                    self.openings.push(group.span_open().end());
                    armed = false;
                    after_fn = false;
                }
                TokenTree::Group(group) if !armed => self.walk_tokens(group.stream()),
                _ => {}
            }
            index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_test_body_gets_a_guard_on_its_own_line() {
        let source = "use x::y;\n\n#[test]\nfn plain() {\n    assert!(true);\n}\n\nmod inner {\n    #[test]\n    fn nested() -> Result<(), String> { Ok(()) }\n\n    fn helper() {}\n}\n\nproptest! {\n    #![proptest_config(c())]\n    #[test]\n    fn prop(x in 0..10u8) {\n        prop_assert!(x < 10);\n    }\n}\n";
        let out = instrument(Path::new("t.rs"), source, true).unwrap();
        assert_eq!(out.matches(GUARD_STATEMENT).count(), 3, "{out}");
        assert!(out.contains(&format!("fn plain() {{{GUARD_STATEMENT}\n")), "{out}");
        assert!(out.contains(&format!("-> Result<(), String> {{{GUARD_STATEMENT} Ok(()) }}")), "{out}");
        assert!(out.contains(&format!("fn prop(x in 0..10u8) {{{GUARD_STATEMENT}\n")), "{out}");
        assert!(out.contains("fn helper() {}"), "{out}");
        assert!(out.contains("mod __grader_harness"), "{out}");
        assert_eq!(out.lines().take(20).count(), source.lines().take(20).count());
        assert_eq!(
            out.lines().nth(17).unwrap().trim(),
            "fn prop(x in 0..10u8) {let __grader_guard = crate::__grader_harness::Guard::arm();"
        );
        let unicode = "#[test]\nfn é() { let s = \"ü\"; }\n";
        let out = instrument(Path::new("t.rs"), unicode, false).unwrap();
        assert!(out.contains(&format!("fn é() {{{GUARD_STATEMENT} let s")), "{out}");
    }
}
