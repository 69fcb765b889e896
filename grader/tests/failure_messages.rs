//! Every failure of a lab's test says which invariant broke and how to replay it.
//!
//! A lab's public tests (`labs/labN/tests/**`) and hidden suites (`grader/suites/**`) check
//! through the kit's reporting: `distributed::invariant!`, `invariant_eq!`,
//! `invariant_matches!` and `fail!`, whose message starts with the invariant in brackets,
//! labels the expected and the seen values, and ends with the line that replays the test. A
//! bare `assert!`, `assert_eq!`, `assert_ne!` or `panic!` prints none of that, so this test
//! refuses them in every test file of every lab, new labs included. (`.expect("…")` on the
//! course's own set-up is allowed: its message says what failed, and it is not a verdict on
//! the student's code.)

use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};

/// Macros whose failure message has no invariant and no replay line.
const REFUSED: &[&str] = &["assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "panic"];

/// Uses that must stay, each with its reason: (file relative to the course root, macro).
const ALLOWED: &[(&str, &str, &str)] = &[];

/// `name!` invocations of a refused macro in `text`, with their line, at any depth (inside
/// other macros' arguments too, such as `proptest! { … }`).
fn refused_macros(text: &str) -> Result<Vec<(String, usize)>, String> {
    syn::parse_file(text).map_err(|e| format!("not valid Rust: {e}"))?;
    let tokens: TokenStream = text.parse().map_err(|e| format!("does not tokenize: {e}"))?;
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
