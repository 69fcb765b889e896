//! The source policy: only the student's own code compiles as their lab.
//!
//! Its own crate, because two programs apply it: the instructors' grader, which refuses a lab
//! that breaks it, and the students' `selfgrade`, which tells them so before they submit.
//!
//! Every `.rs` file of a submitted `src/` is parsed with `syn` (a real Rust parser: comments and
//! string literals never trip it) and walked. What it may name is an **allowlist** declared per
//! lab in `grader/policy.toml`: the `std` modules the lab needs, and the crates of the lab's own
//! (course-owned) manifest. On top of it a fixed list is always refused, whatever the
//! configuration says, because each entry is a known way to read the course, forge a result or
//! run code outside the test: `unsafe`, `extern` blocks and ABIs, `extern crate`, `#[path]`,
//! `#[link_section]`, `#[no_mangle]`, `#[export_name]`, `#[used]`, `#[link]`, the macros
//! `include!`, `include_str!`, `include_bytes!`, `env!`, `option_env!`, `asm!`, `global_asm!`,
//! and the paths `std::process`, `std::env`, `std::fs`, `std::net`, `std::os`, `std::arch`,
//! `std::panic` (`catch_unwind`, hooks), `std::io::{stdin, stdout, stderr}`, `std::ptr`,
//! `std::alloc`, `std::ffi`, `std::intrinsics`, and any item named `StdFs` (the kit's real disk).
//!
//! Macro bodies (`macro_rules!`) and macro arguments are token streams that `syn` does not
//! parse; they are walked token by token: a path (`a::b::c`) in them is checked like any other,
//! and `unsafe`, `extern` and the refused attributes are refused there too. `use` aliases are
//! resolved (`use std as s; s::fs::read(..)` names `std::fs`), across the whole lab, and `core`
//! and `alloc` are read as `std`. A glob import (`use std::io::*`) is refused when anything
//! under it is.
//!
//! Safe Rust has known soundness holes (rust-lang/rust issue 25860 and others), so the policy
//! raises the bar; the boundary is the sandbox the grader runs the tests in (its `sandbox` module).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use serde::Deserialize;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// A lab's number (`1` for lab 1).
pub type LabNumber = u32;

/// A policy file that cannot be used: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub path: std::path::PathBuf,
    pub message: String,
}

impl PolicyError {
    fn new(path: &Path, message: impl Into<String>) -> PolicyError {
        PolicyError { path: path.to_path_buf(), message: message.into() }
    }
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for PolicyError {}

type Result<T> = std::result::Result<T, PolicyError>;

/// `lab5` → 5.
fn parse_lab_name(name: &str) -> Option<LabNumber> {
    let digits = name.strip_prefix("lab")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Paths no lab may name, whatever `policy.toml` says (`core::` and `alloc::` are read as
/// `std::`).
pub const ALWAYS_DENIED_PATHS: &[&str] = &[
    "std::process",
    "std::env",
    "std::fs",
    "std::net",
    "std::os",
    "std::arch",
    "std::panic",
    "std::io::stdin",
    "std::io::stdout",
    "std::io::stderr",
    "std::io::Stdin",
    "std::io::Stdout",
    "std::io::Stderr",
    "std::io::StdinLock",
    "std::io::StdoutLock",
    "std::io::StderrLock",
    "std::ptr",
    "std::alloc",
    "std::ffi",
    "std::intrinsics",
    "std::include",
    "std::include_str",
    "std::include_bytes",
    "std::option_env",
    "std::concat_idents",
];

/// Items refused under any path (re-exports included): the kit's real file system, whose root
/// a submission could choose.
pub const ALWAYS_DENIED_NAMES: &[&str] = &["StdFs"];

/// Macros refused by name, with or without a path.
pub const DENIED_MACROS: &[&str] = &[
    "include",
    "include_str",
    "include_bytes",
    "env",
    "option_env",
    "asm",
    "global_asm",
    "naked_asm",
    "llvm_asm",
    "concat_idents",
];

/// Attributes refused anywhere (also inside `cfg_attr` and macro bodies).
pub const DENIED_ATTRIBUTES: &[&str] =
    &["path", "link_section", "no_mangle", "export_name", "used", "link", "link_name", "unsafe", "naked"];

/// The `std` modules every lab may use when `policy.toml` has no `[default]`.
pub const DEFAULT_STD: &[&str] = &[
    "std::any",
    "std::array",
    "std::ascii",
    "std::borrow",
    "std::boxed",
    "std::cell",
    "std::char",
    "std::clone",
    "std::cmp",
    "std::collections",
    "std::convert",
    "std::default",
    "std::error",
    "std::fmt",
    "std::hash",
    "std::io",
    "std::iter",
    "std::marker",
    "std::mem",
    "std::num",
    "std::ops",
    "std::option",
    "std::path",
    "std::prelude",
    "std::primitive",
    "std::rc",
    "std::result",
    "std::slice",
    "std::str",
    "std::string",
    "std::vec",
    "std::format",
    "std::write",
    "std::writeln",
    "std::u8",
    "std::u16",
    "std::u32",
    "std::u64",
    "std::usize",
    "std::i32",
    "std::i64",
];

/// One lab's allowlist and extra refusals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabPolicy {
    /// `std` paths (prefixes) the lab may name.
    pub std: Vec<String>,
    /// Paths (prefixes, `a::b`) or item names (`Name`) refused on top of the fixed list.
    pub deny: Vec<String>,
}

/// `grader/policy.toml`, or the defaults when the course has none.
#[derive(Clone, Debug)]
pub struct Policy {
    default: LabPolicy,
    labs: BTreeMap<LabNumber, LabPolicy>,
    /// `false` only under `--no-source-policy`: the self-check uses it to prove the other layers
    /// on their own.
    pub enabled: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    std: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

impl Policy {
    /// Reads `path` if it exists; the defaults otherwise.
    pub fn load(path: &Path) -> Result<Policy> {
        if !path.is_file() {
            return Ok(Policy::defaults());
        }
        let text = std::fs::read_to_string(path)
            .map_err(|error| PolicyError::new(path, format!("cannot read it: {error}")))?;
        Policy::parse(path, &text)
    }

    /// The built-in defaults: [`DEFAULT_STD`], no extra refusals, for every lab.
    pub fn defaults() -> Policy {
        let default = LabPolicy { std: DEFAULT_STD.iter().map(|s| s.to_string()).collect(), deny: Vec::new() };
        Policy { default, labs: BTreeMap::new(), enabled: true }
    }

    /// Parses the text of a policy file; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Policy> {
        let raw: BTreeMap<String, Section> =
            toml::from_str(text).map_err(|error| PolicyError::new(path, error.to_string()))?;
        let mut policy = Policy::defaults();
        let mut labs = BTreeMap::new();
        for (key, section) in raw {
            for entry in section.std.iter() {
                let normalized = normalize_root(&split(entry));
                if normalized.first().map(String::as_str) != Some("std") || normalized.len() < 2 {
                    return Err(PolicyError::new(
                        path,
                        format!("[{key}] std entry {entry:?}: expected a path under std, such as std::sync"),
                    ));
                }
                if let Some(denied) = always_denied(&normalized) {
                    return Err(PolicyError::new(
                        path,
                        format!("[{key}] std entry {entry:?}: {denied} is always refused and cannot be allowed"),
                    ));
                }
            }
            if key == "default" {
                policy.default = LabPolicy { std: section.std, deny: section.deny };
            } else {
                let lab = parse_lab_name(&key).ok_or_else(|| {
                    PolicyError::new(path, format!("table [{key}]: expected [default] or a lab such as [lab5]"))
                })?;
                labs.insert(lab, LabPolicy { std: section.std, deny: section.deny });
            }
        }
        policy.labs = labs;
        Ok(policy)
    }

    /// Lab `lab`'s policy: `[default]` plus its own table.
    pub fn lab(&self, lab: LabNumber) -> LabPolicy {
        let mut merged = self.default.clone();
        if let Some(own) = self.labs.get(&lab) {
            merged.std.extend(own.std.iter().cloned());
            merged.deny.extend(own.deny.iter().cloned());
        }
        merged
    }
}

/// A refusal: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The file as the student knows it (`labs/lab1/src/wal.rs`).
    pub file: String,
    pub line: usize,
    pub what: String,
    /// The file does not parse. The lab is then not built (so no compiler message can quote
    /// what the unread code includes) and reported as not compiling, with the parser's error.
    pub unparsed: bool,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// The lab's files to check, with the names reports use.
pub struct SourceSet<'a> {
    pub files: Vec<(String, &'a [u8])>,
}

/// Checks every file of `sources` against `policy`. Returns the violations, sorted (empty: the
/// code may be built). The crates a lab can name are those of its manifest, which the course
/// owns (a submission's manifest is never used), so only `std` needs an allowlist here.
pub fn check(sources: &SourceSet<'_>, policy: &LabPolicy) -> Vec<Violation> {
    let mut parsed = Vec::new();
    let mut violations = Vec::new();
    for (name, bytes) in &sources.files {
        if !name.ends_with(".rs") {
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            violations.push(Violation {
                file: name.clone(),
                line: 1,
                what: "is not UTF-8 text".into(),
                unparsed: false,
            });
            continue;
        };
        match syn::parse_file(text) {
            Ok(file) => parsed.push((name.clone(), file)),
            Err(error) => violations.push(Violation {
                file: name.clone(),
                line: error.span().start().line,
                what: format!("does not parse as Rust: {error}"),
                unparsed: true,
            }),
        }
    }
    // Aliases first, across the whole lab: a `pub use` in one module is usable in another.
    let mut aliases = BTreeMap::new();
    for (_, file) in &parsed {
        let mut collector = AliasCollector { aliases: &mut aliases };
        collector.visit_file(file);
    }
    let rules = Rules::new(policy, aliases);
    for (name, file) in &parsed {
        let mut checker = Checker { rules: &rules, file: name, violations: &mut violations };
        checker.visit_file(file);
    }
    violations.sort();
    violations.dedup();
    violations
}

fn split(path: &str) -> Vec<String> {
    path.split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn normalize_root(segments: &[String]) -> Vec<String> {
    let mut out = segments.to_vec();
    if let Some(first) = out.first_mut()
        && (first == "core" || first == "alloc")
    {
        *first = "std".into();
    }
    out
}

fn starts_with(path: &[String], prefix: &[String]) -> bool {
    path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
}

fn always_denied(path: &[String]) -> Option<&'static str> {
    ALWAYS_DENIED_PATHS.iter().copied().find(|denied| starts_with(path, &split(denied)))
}

struct Rules {
    allowed_std: Vec<Vec<String>>,
    denied_paths: Vec<Vec<String>>,
    denied_names: BTreeSet<String>,
    /// Alias → the path it stands for (only aliases of `std` or a crate).
    aliases: BTreeMap<String, Vec<String>>,
}

impl Rules {
    fn new(policy: &LabPolicy, aliases: BTreeMap<String, Vec<String>>) -> Rules {
        let mut denied_paths: Vec<Vec<String>> = ALWAYS_DENIED_PATHS.iter().map(|p| split(p)).collect();
        let mut denied_names: BTreeSet<String> = ALWAYS_DENIED_NAMES.iter().map(|s| s.to_string()).collect();
        for entry in &policy.deny {
            let path = normalize_root(&split(entry));
            if path.len() == 1 {
                denied_names.insert(path[0].clone());
            } else {
                denied_paths.push(path);
            }
        }
        Rules {
            allowed_std: policy.std.iter().map(|p| normalize_root(&split(p))).collect(),
            denied_paths,
            denied_names,
            aliases,
        }
    }

    /// Replaces a leading alias (or one after `crate`/`self`/`super`/module names) by what it
    /// stands for.
    fn expand(&self, segments: &[String]) -> Vec<String> {
        for (index, segment) in segments.iter().enumerate() {
            if let Some(target) = self.aliases.get(segment) {
                let mut expanded = target.clone();
                expanded.extend(segments[index + 1..].iter().cloned());
                return expanded;
            }
        }
        segments.to_vec()
    }

    /// Why `segments` may not be named, if it may not.
    fn refuse(&self, segments: &[String], glob: bool) -> Option<String> {
        let path = normalize_root(&self.expand(segments));
        let shown = path.join("::");
        if let Some(name) = path.iter().find(|segment| self.denied_names.contains(*segment)) {
            return Some(format!("`{name}` is refused in lab code (it reaches the real file system)"));
        }
        if let Some(denied) = self.denied_paths.iter().find(|denied| starts_with(&path, denied)) {
            return Some(format!("`{shown}` is refused in lab code ({} is never allowed)", denied.join("::")));
        }
        if glob && let Some(denied) = self.denied_paths.iter().find(|denied| starts_with(denied, &path)) {
            return Some(format!("`use {shown}::*` would bring in {}, which is refused", denied.join("::")));
        }
        let root = path.first()?;
        if root == "std" {
            if path.len() == 1 {
                return if glob { Some("`use std::*` is refused: name the modules you need".into()) } else { None };
            }
            if !self.allowed_std.iter().any(|allowed| starts_with(&path, allowed)) {
                return Some(format!(
                    "`{shown}` is not in this lab's allowlist (grader/policy.toml); labs do all I/O through the kit's Vfs"
                ));
            }
        }
        None
    }
}

/// Collects `use` aliases of `std`/`core`/`alloc` and of crates.
struct AliasCollector<'a> {
    aliases: &'a mut BTreeMap<String, Vec<String>>,
}

impl<'ast> Visit<'ast> for AliasCollector<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut uses = Vec::new();
        flatten_use(&item.tree, &mut Vec::new(), &mut uses);
        for used in uses {
            if let UseKind::Named(alias) = &used.kind {
                let root = used.path.first().map(String::as_str).unwrap_or("");
                let local_root = matches!(root, "crate" | "self" | "super");
                let renamed = used.path.last() != Some(alias);
                if !local_root && (renamed || used.path.len() > 1) && alias != "_" {
                    self.aliases.insert(alias.clone(), used.path.clone());
                }
            }
        }
    }
}

enum UseKind {
    Named(String),
    Glob,
}

struct Use {
    path: Vec<String>,
    kind: UseKind,
    span: Span,
}

fn flatten_use(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Use>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            flatten_use(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            let ident = name.ident.to_string();
            let (path, alias) = if ident == "self" {
                (prefix.clone(), prefix.last().cloned().unwrap_or_default())
            } else {
                let mut path = prefix.clone();
                path.push(ident.clone());
                (path, ident)
            };
            out.push(Use { path, kind: UseKind::Named(alias), span: name.ident.span() });
        }
        syn::UseTree::Rename(rename) => {
            let ident = rename.ident.to_string();
            let mut path = prefix.clone();
            if ident != "self" {
                path.push(ident);
            }
            out.push(Use { path, kind: UseKind::Named(rename.rename.to_string()), span: rename.rename.span() });
        }
        syn::UseTree::Glob(glob) => {
            out.push(Use { path: prefix.clone(), kind: UseKind::Glob, span: glob.star_token.span() })
        }
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                flatten_use(tree, prefix, out);
            }
        }
    }
}

struct Checker<'a> {
    rules: &'a Rules,
    file: &'a str,
    violations: &'a mut Vec<Violation>,
}

impl Checker<'_> {
    fn refuse(&mut self, span: Span, what: impl Into<String>) {
        self.violations.push(Violation {
            file: self.file.to_string(),
            line: span.start().line.max(1),
            what: what.into(),
            unparsed: false,
        });
    }

    fn check_path(&mut self, segments: &[String], span: Span) {
        if let Some(why) = self.rules.refuse(segments, false) {
            self.refuse(span, why);
        }
    }

    fn check_attribute_name(&mut self, name: &str, span: Span) {
        if DENIED_ATTRIBUTES.contains(&name) {
            self.refuse(span, format!("the attribute `#[{name}]` is refused in lab code"));
        }
    }

    fn check_macro_name(&mut self, segments: &[String], span: Span) {
        if let Some(last) = segments.last()
            && DENIED_MACROS.contains(&last.as_str())
        {
            self.refuse(span, format!("the macro `{last}!` is refused in lab code"));
        }
        let expanded = self.rules.expand(segments);
        if expanded.as_slice() != segments
            && let Some(last) = expanded.last()
            && DENIED_MACROS.contains(&last.as_str())
        {
            self.refuse(span, format!("the macro `{last}!` (through an alias) is refused in lab code"));
        }
        if segments.len() > 1 || expanded.len() > 1 {
            self.check_path(segments, span);
        }
    }

    /// Walks a token stream that `syn` leaves unparsed (macro bodies and arguments, attribute
    /// arguments, verbatim items).
    fn walk_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut index = 0;
        while index < trees.len() {
            match &trees[index] {
                TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    if name == "unsafe" {
                        self.refuse(ident.span(), "`unsafe` is refused in lab code");
                    } else if name == "extern" {
                        self.refuse(ident.span(), "`extern` (blocks, ABIs, crates) is refused in lab code");
                    }
                    // A path: ident (:: ident)*, possibly followed by `!`.
                    let mut segments = vec![name];
                    let mut next = index + 1;
                    while is_path_separator(&trees, next)
                        && let Some(TokenTree::Ident(more)) = trees.get(next + 2)
                    {
                        segments.push(more.to_string());
                        next += 3;
                    }
                    let is_macro = matches!(trees.get(next), Some(TokenTree::Punct(p)) if p.as_char() == '!')
                        && !matches!(trees.get(next + 1), Some(TokenTree::Punct(p)) if p.as_char() == '=');
                    if is_macro {
                        self.check_macro_name(&segments, ident.span());
                    } else if segments.len() > 1
                        || self.rules.aliases.contains_key(&segments[0])
                        || self.rules.denied_names.contains(&segments[0])
                    {
                        self.check_path(&segments, ident.span());
                    }
                    index = next;
                    continue;
                }
                TokenTree::Punct(punct) if punct.as_char() == '#' => {
                    let mut next = index + 1;
                    if matches!(trees.get(next), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                        next += 1;
                    }
                    if let Some(TokenTree::Group(group)) = trees.get(next)
                        && group.delimiter() == Delimiter::Bracket
                        && let Some(TokenTree::Ident(first)) = group.stream().into_iter().next()
                    {
                        self.check_attribute_name(&first.to_string(), first.span());
                        if first == "cfg_attr" {
                            self.walk_attribute_arguments(group.stream());
                        }
                    }
                }
                TokenTree::Group(group) => self.walk_tokens(group.stream()),
                _ => {}
            }
            index += 1;
        }
    }

    /// Inside `cfg_attr(...)`: any refused attribute name among the arguments.
    fn walk_attribute_arguments(&mut self, tokens: TokenStream) {
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    if DENIED_ATTRIBUTES.contains(&name.as_str()) && name != "unsafe" {
                        self.check_attribute_name(&name, ident.span());
                    }
                }
                TokenTree::Group(group) => {
                    self.walk_attribute_arguments(group.stream().clone());
                    self.walk_tokens(group.stream());
                }
                _ => {}
            }
        }
    }
}

fn is_path_separator(trees: &[TokenTree], at: usize) -> bool {
    matches!(
        (trees.get(at), trees.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':'
    )
}

fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|segment| segment.ident.to_string()).collect()
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        let path = attribute.path();
        let name = path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        if path.segments.len() == 1 {
            self.check_attribute_name(&name, path.span());
        }
        match &attribute.meta {
            syn::Meta::List(list) => {
                if name == "cfg_attr" {
                    self.walk_attribute_arguments(list.tokens.clone());
                } else {
                    self.walk_tokens(list.tokens.clone());
                }
            }
            syn::Meta::NameValue(value) => self.visit_expr(&value.value),
            syn::Meta::Path(_) => {}
        }
    }

    fn visit_item(&mut self, item: &'ast syn::Item) {
        if let syn::Item::Verbatim(tokens) = item {
            self.walk_tokens(tokens.clone());
        }
        visit::visit_item(self, item);
    }

    fn visit_expr(&mut self, expr: &'ast syn::Expr) {
        if let syn::Expr::Verbatim(tokens) = expr {
            self.walk_tokens(tokens.clone());
        }
        visit::visit_expr(self, expr);
    }

    fn visit_type(&mut self, ty: &'ast syn::Type) {
        if let syn::Type::Verbatim(tokens) = ty {
            self.walk_tokens(tokens.clone());
        }
        visit::visit_type(self, ty);
    }

    fn visit_signature(&mut self, signature: &'ast syn::Signature) {
        if let Some(token) = &signature.unsafety {
            self.refuse(token.span, "`unsafe fn` is refused in lab code");
        }
        if let Some(abi) = &signature.abi {
            self.refuse(abi.extern_token.span, "an `extern` ABI is refused in lab code");
        }
        visit::visit_signature(self, signature);
    }

    fn visit_type_bare_fn(&mut self, bare: &'ast syn::TypeBareFn) {
        if let Some(token) = &bare.unsafety {
            self.refuse(token.span, "`unsafe fn` types are refused in lab code");
        }
        if let Some(abi) = &bare.abi {
            self.refuse(abi.extern_token.span, "an `extern` ABI is refused in lab code");
        }
        visit::visit_type_bare_fn(self, bare);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some(token) = &item.unsafety {
            self.refuse(token.span, "`unsafe impl` is refused in lab code");
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if let Some(token) = &item.unsafety {
            self.refuse(token.span, "`unsafe trait` is refused in lab code");
        }
        visit::visit_item_trait(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        self.refuse(item.abi.extern_token.span, "an `extern` block is refused in lab code");
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        self.refuse(item.extern_token.span, "`extern crate` is refused in lab code");
    }

    fn visit_expr_unsafe(&mut self, expr: &'ast syn::ExprUnsafe) {
        self.refuse(expr.unsafe_token.span, "an `unsafe` block is refused in lab code");
        visit::visit_expr_unsafe(self, expr);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if let Some(token) = &item.unsafety {
            self.refuse(token.span, "`unsafe mod` is refused in lab code");
        }
        visit::visit_item_mod(self, item);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        for attribute in &item.attrs {
            self.visit_attribute(attribute);
        }
        let mut uses = Vec::new();
        flatten_use(&item.tree, &mut Vec::new(), &mut uses);
        for used in uses {
            let glob = matches!(used.kind, UseKind::Glob);
            if used.path.is_empty() {
                continue;
            }
            // `use std as s`, `use std::io as i`: the alias itself is fine; what is named through
            // it is checked where it is used.
            let why = self.rules.refuse(&used.path, glob);
            if let Some(why) = why {
                self.refuse(used.span, why);
            } else if let UseKind::Named(_) = &used.kind
                && let Some(last) = used.path.last()
                && DENIED_MACROS.contains(&last.as_str())
                && matches!(used.path.first().map(String::as_str), Some("std" | "core" | "alloc"))
            {
                self.refuse(used.span, format!("the macro `{last}!` is refused in lab code"));
            }
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments = path_segments(path);
        if segments.len() > 1
            || self.rules.aliases.contains_key(&segments[0])
            || self.rules.denied_names.contains(&segments[0])
        {
            self.check_path(&segments, path.span());
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let segments = path_segments(&mac.path);
        self.check_macro_name(&segments, mac.path.span());
        self.walk_tokens(mac.tokens.clone());
    }
}

/// The violations of `policy` in `sources`, leaving out those in the files the course gives
/// (points.toml's `given`, named relative to `src_prefix`, the `src/` directory as `sources`
/// names it). A given file is the course's code, not the student's: a grade always builds the
/// course's copy of it. It is still parsed with the rest, so that a `use` alias made in it is
/// seen in every file; its own violations are not refused (lab 8's handles to the real disk
/// open fjall and redb there, so that the lab's own code never needs to).
pub fn check_outside_given(
    sources: &SourceSet<'_>,
    policy: &LabPolicy,
    src_prefix: &str,
    given: &[String],
) -> Vec<Violation> {
    let given: Vec<String> = given.iter().map(|file| format!("{src_prefix}/{file}")).collect();
    check(sources, policy).into_iter().filter(|violation| !given.contains(&violation.file)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violations(code: &str) -> Vec<String> {
        let policy = Policy::defaults().lab(1);
        let sources = SourceSet { files: vec![("src/lib.rs".into(), code.as_bytes())] };
        check(&sources, &policy).into_iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn honest_code_passes_and_comments_and_strings_never_trip_it() {
        let code = r#"
            //! Never `std::fs`, never `unsafe`, never include_str!("x").
            use std::collections::BTreeMap;
            use std::io::{self, ErrorKind};
            use distributed::vfs::FsRef;
            /// A doc comment naming std::process::exit.
            pub fn f(fs: &FsRef) -> io::Result<BTreeMap<u64, String>> {
                let text = "std::env::var and unsafe { } and #[no_mangle]";
                let _ = (fs, text, ErrorKind::Other);
                let v = vec![1, 2, 3];
                assert!(v.len() == 3, "{}", "include!(\"x\")");
                Ok(BTreeMap::new())
            }
        "#;
        assert_eq!(violations(code), Vec::<String>::new());
    }

    #[test]
    fn every_refused_form_is_named_with_its_line() {
        let cases = [
            ("fn f() { unsafe { } }", "`unsafe` block"),
            ("unsafe fn f() {}", "`unsafe fn`"),
            ("#[path = \"../../x.rs\"] mod m;", "#[path]"),
            ("#[cfg_attr(all(), path = \"x.rs\")] mod m;", "#[path]"),
            ("const X: &str = include_str!(\"../tests/hidden/crash.rs\");", "include_str!"),
            ("compile_error!(include_str!(\"x\"));", "include_str!"),
            ("const X: &str = env!(\"HOME\");", "env!"),
            ("fn f() { std::process::exit(0) }", "std::process"),
            ("use std::fs;", "std::fs"),
            ("use std as s; fn f() { let _ = s::fs::read(\"x\"); }", "std::fs"),
            ("use std::{self as s}; fn f() { s::process::exit(0) }", "std::process"),
            ("use ::core::panic as p; fn f() { let _ = p::catch_unwind(|| ()); }", "std::panic"),
            ("fn f() { let _ = std::io::stdout(); }", "std::io::stdout"),
            ("use std::io::*;", "use std::io::*"),
            ("extern \"C\" { fn exit(code: i32); }", "`extern` block"),
            ("pub extern \"C\" fn f() {}", "`extern` ABI"),
            ("extern crate std as s;", "`extern crate`"),
            ("fn f() { core::arch::asm!(\"nop\"); }", "asm!"),
            ("#[unsafe(link_section = \".init_array\")] static X: u8 = 0;", "#[unsafe]"),
            ("#[used] static X: u8 = 0;", "#[used]"),
            ("#[unsafe(no_mangle)] fn main() {}", "#[unsafe]"),
            ("#[export_name = \"main\"] fn f() {}", "#[export_name]"),
            ("macro_rules! m { () => { unsafe { } } }", "`unsafe`"),
            ("macro_rules! m { () => { std::fs::read(\"x\") } }", "std::fs"),
            ("macro_rules! m { () => { #[path = \"x\"] mod y; } }", "#[path]"),
            ("fn f() { println!(\"{:?}\", std::env::args()); }", "std::env"),
            ("fn f() { let _ = distributed::vfs::StdFs::new(\"/\"); }", "StdFs"),
            ("use distributed::vfs::StdFs as Disk;", "StdFs"),
            ("fn f() { let _ = std::thread::spawn(|| ()); }", "allowlist"),
            ("use std::time::Instant;", "allowlist"),
            ("use std::include_bytes as b;", "std::include_bytes"),
            ("#[doc = include_str!(\"../../solutions/lab1/src/wal.rs\")] pub fn f() {}", "include_str!"),
        ];
        for (code, expected) in cases {
            let found = violations(code);
            assert!(found.iter().any(|v| v.contains(expected) && v.starts_with("src/lib.rs:1:")), "{code}: {found:?}");
        }
    }

    #[test]
    fn a_lab_table_extends_the_default_and_cannot_lift_the_fixed_list() {
        let policy = Policy::parse(Path::new("policy.toml"), "[lab5]\nstd = [\"std::thread\"]\n").unwrap();
        assert!(policy.lab(5).std.contains(&"std::thread".to_string()));
        assert!(!policy.lab(4).std.contains(&"std::thread".to_string()));
        let error = Policy::parse(Path::new("policy.toml"), "[lab1]\nstd = [\"std::fs\"]\n").unwrap_err();
        assert!(error.to_string().contains("always refused"), "{error}");
    }
}
