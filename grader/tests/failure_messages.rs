//! Every failure of a lab's test says which invariant broke and how to replay it.
//!
//! A lab's public tests (`labs/labN/tests/**`) and hidden suites (`grader/suites/**`) check
//! through the kit's reporting: `distributed::invariant!`, `invariant_eq!`,
//! `invariant_matches!` and `fail!`, whose message starts with the invariant in brackets,
//! labels the expected and the seen values, and ends with the line that replays the test. A
//! bare `assert!`, `assert_eq!`, `assert_ne!` or `panic!` prints none of that, so this test
//! refuses them in every test file of every lab, new labs included.
//!
//! The same goes for unwrapping: a `Result` the student's code returns is checked with
//! `distributed::invariant_ok!`, so an `Err` names the invariant and prints the replay line.
//! `.unwrap()` is refused, and `.expect(…)` is allowed only with a literal message starting
//! with `setup: `, which marks the course's own set-up (a fixture on a `SimFs`, a temporary
//! directory, a lock): its failure is the course's bug, not a verdict on the student's code
//! (see the kit's `check` module). Every lab's tests, public and hidden, follow both rules.

use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};

/// Macros whose failure message has no invariant and no replay line.
const REFUSED: &[&str] = &["assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "panic"];

/// Uses that must stay, each with its reason: (file relative to the course root, macro).
const ALLOWED: &[(&str, &str, &str)] = &[];

/// The prefix of an `.expect(…)` message that marks the course's own set-up.
const SETUP_PREFIX: &str = "setup: ";

/// The tokens of a test file, which must be valid Rust (a file that does not parse is
/// reported, never skipped).
fn tokens_of(text: &str) -> Result<TokenStream, String> {
    syn::parse_file(text).map_err(|e| format!("not valid Rust: {e}"))?;
    text.parse().map_err(|e| format!("does not tokenize: {e}"))
}

/// `.unwrap()` calls, and `.expect(…)` calls whose argument is not a string literal starting
/// with [`SETUP_PREFIX`], in `text`, with their line, at any depth (inside macros too).
fn refused_unwraps(text: &str) -> Result<Vec<(String, usize)>, String> {
    let tokens = tokens_of(text)?;
    let mut found = Vec::new();
    walk_unwraps(tokens, &mut found);
    Ok(found)
}

fn walk_unwraps(tokens: TokenStream, found: &mut Vec<(String, usize)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        if let TokenTree::Group(group) = token {
            walk_unwraps(group.stream(), found);
        }
        let (Some(TokenTree::Punct(dot)), TokenTree::Ident(method), Some(TokenTree::Group(args))) =
            (i.checked_sub(1).map(|j| &tokens[j]), token, tokens.get(i + 1))
        else {
            continue;
        };
        if dot.as_char() != '.' || args.delimiter() != proc_macro2::Delimiter::Parenthesis {
            continue;
        }
        let line = method.span().start().line;
        match method.to_string().as_str() {
            "unwrap" if args.stream().is_empty() => found.push(("unwrap".to_string(), line)),
            "expect" => {
                let message: Vec<TokenTree> = args.stream().into_iter().collect();
                let is_setup = match message.as_slice() {
                    [TokenTree::Literal(literal)] => syn::parse_str::<syn::LitStr>(&literal.to_string())
                        .is_ok_and(|text| text.value().starts_with(SETUP_PREFIX)),
                    _ => false,
                };
                if !is_setup {
                    found.push(("expect".to_string(), line));
                }
            }
            _ => {}
        }
    }
}

/// `name!` invocations of a refused macro in `text`, with their line, at any depth (inside
/// other macros' arguments too, such as `proptest! { … }`).
fn refused_macros(text: &str) -> Result<Vec<(String, usize)>, String> {
    let tokens = tokens_of(text)?;
    let mut found = Vec::new();
    walk(tokens, &mut found);
    Ok(found)
}

fn walk(tokens: TokenStream, found: &mut Vec<(String, usize)>) {
    let mut previous: Option<TokenTree> = None;
    for token in tokens {
        if let (Some(TokenTree::Ident(ident)), TokenTree::Punct(punct)) = (&previous, &token)
            && punct.as_char() == '!'
            && REFUSED.contains(&ident.to_string().as_str())
        {
            found.push((ident.to_string(), ident.span().start().line));
        }
        if let TokenTree::Group(group) = &token {
            walk(group.stream(), found);
        }
        previous = Some(token);
    }
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The test files of every lab: public tests and hidden suites (the kit's own tests are not a
/// lab's, and are left out).
fn lab_test_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root.join("labs")).expect("the course has labs/").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("lab") {
            rust_files(&entry.path().join("tests"), &mut files);
        }
    }
    rust_files(&root.join("grader/suites"), &mut files);
    files.sort();
    files
}

#[test]
fn lab_tests_fail_only_through_the_kits_invariant_reporting() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let files = lab_test_files(root);
    assert!(files.len() >= 14, "found only {} test files of labs under {}", files.len(), root.display());
    let mut problems = Vec::new();
    for path in &files {
        let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
        let text = std::fs::read_to_string(path).expect("a test file reads");
        match refused_macros(&text) {
            Ok(found) => {
                for (name, line) in found {
                    if !ALLOWED.iter().any(|(file, allowed, _)| *file == shown && *allowed == name) {
                        problems.push(format!(
                            "{shown}:{line}: `{name}!` prints no invariant and no replay line; use \
                             distributed::invariant!, invariant_eq!, invariant_matches! or fail!"
                        ));
                    }
                }
            }
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    assert!(problems.is_empty(), "{} bare assertions in the labs' tests:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn lab_tests_unwrap_only_the_courses_own_set_up() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let files = lab_test_files(root);
    assert!(files.len() >= 14, "found only {} test files of labs under {}", files.len(), root.display());
    let mut problems = Vec::new();
    for path in &files {
        let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
        let text = std::fs::read_to_string(path).expect("a test file reads");
        match refused_unwraps(&text) {
            Ok(found) => {
                for (name, line) in found {
                    problems.push(format!(
                        "{shown}:{line}: `.{name}(…)` on what a lab returns prints no invariant and no replay \
                         line; use distributed::invariant_ok!(invariant, result, \"what\"), or \
                         .expect(\"{SETUP_PREFIX}…\") on the course's own set-up"
                    ));
                }
            }
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    assert!(problems.is_empty(), "{} unwraps in the labs' tests:\n{}", problems.len(), problems.join("\n"));
}

/// The unwrap check finds `.unwrap()` and `.expect(…)` without a set-up message, nested in
/// macros too, and leaves alone set-up expects, `unwrap_or*`, and the words in strings.
#[test]
fn the_check_finds_unwraps_of_a_labs_results_at_any_depth() {
    let text = r#"
        fn a() { let log = Wal::open(&fs).unwrap(); fs.write("x").expect("setup: a fixture"); }
        proptest::proptest! {
            #[test]
            fn b(x in 0u8..4) { store.save(&s).expect("the save works"); let m = "call .unwrap() here"; }
        }
        fn c() -> u8 { let n = Some(1).unwrap_or(2); file.read().expect(&format!("setup: {n}")) }
        fn d() { let v = distributed::invariant_ok!("durability", log.read(1), "the read"); }
    "#;
    let found = refused_unwraps(text).expect("the sample parses");
    assert_eq!(
        found,
        [("unwrap".to_string(), 2), ("expect".to_string(), 5), ("expect".to_string(), 7)],
        "found {found:?}"
    );
}

/// The check finds what it must, nested in other macros too, and nothing else.
#[test]
fn the_check_finds_bare_assertions_at_any_depth() {
    let text = r#"
        fn a() { assert_eq!(1, 2); distributed::invariant!("monotonic", true, "fine"); }
        proptest::proptest! {
            #[test]
            fn b(x in 0u8..4) { assert!(x < 4, "nested"); let _ = distributed::fail!("matching", "ok"); }
        }
        fn c() -> u8 { Some(1).unwrap_or_else(|| panic!("bare")) }
    "#;
    let found = refused_macros(text).expect("the sample parses");
    let names: Vec<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["assert_eq", "assert", "panic"]);
    assert_eq!(found.iter().map(|(_, line)| *line).collect::<Vec<_>>(), [2, 5, 7]);
}
