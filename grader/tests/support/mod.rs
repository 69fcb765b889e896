//! A tiny course, made in a temporary directory, that exercises the grader's machinery in a
//! few seconds: a kit with one assertion helper, a lab with two functions, public and hidden
//! tests, a reference, a stub, a bug zoo and a book.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use grader::course::Course;
use grader::grade::{GradeOptions, Grader};

pub const REFERENCE: &str = r#"//! The reference: adds and checksums.

/// The sum of two numbers.
pub fn add(a: u64, b: u64) -> u64 {
    let total_of_both_numbers_for_the_caller = a + b;
    total_of_both_numbers_for_the_caller
}

/// A byte-wise checksum.
pub fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |sum, byte| sum.rotate_left(5) ^ u32::from(*byte))
}
"#;

pub const STUB: &str = r#"//! Your code goes here.

/// The sum of two numbers.
pub fn add(a: u64, b: u64) -> u64 {
    let _ = (a, b);
    todo!()
}

/// A byte-wise checksum.
pub fn checksum(data: &[u8]) -> u32 {
    let _ = data;
    todo!()
}
"#;

const PUBLIC_TESTS: &str = r#"use distributed::check;

#[test]
fn adds_small_numbers() {
    check("matching", lab1::add(2, 3) == 5, "2 + 3 is not 5");
}

mod more {
    #[test]
    fn adds_zero() {
        distributed::check("matching", lab1::add(0, 7) == 7, "0 + 7 is not 7");
    }
}

#[test]
fn checksum_of_nothing_is_zero() {
    check("checksum", lab1::checksum(b"") == 0, "the checksum of no bytes is not 0");
}
"#;

const HIDDEN_TESTS: &str = r#"use distributed::check;

#[test]
fn adds_large_numbers() {
    check("matching", lab1::add(1 << 40, 1) == (1 << 40) + 1, "a large sum is wrong for the hidden test");
}

#[test]
fn checksum_sees_a_flipped_bit() {
    check("checksum", lab1::checksum(b"ab") != lab1::checksum(b"ac"), "a flipped bit went unseen by the hidden test");
}
"#;

const POINTS: &str = r#"
[lab1]
title = "Adding"
tests = [
  { suite = "public", name = "adds_small_numbers", points = 1, invariant = "matching", timeout_secs = 3 },
  { suite = "public", name = "more::adds_zero", points = 1, invariant = "matching", timeout_secs = 3 },
  { suite = "public", name = "checksum_of_nothing_is_zero", points = 1, invariant = "checksum", timeout_secs = 3 },
  { suite = "hidden", name = "adds_large_numbers", points = 2, invariant = "matching", timeout_secs = 3, section = "lab1.md#lab-1" },
  { suite = "hidden", name = "checksum_sees_a_flipped_bit", points = 2.5, invariant = "checksum", timeout_secs = 3, section = "lab1.md#lab-1" },
]
"#;

const ZOO: &str = r#"
[[bug]]
name = "off-by-one"
description = "the sum is one too many"
file = "lib.rs"
find = "a + b;"
replace = "a + b + 1;"
invariant = "matching"
"#;

/// A fake course in a temporary directory.
pub struct FakeCourse {
    pub dir: tempfile::TempDir,
}

impl FakeCourse {
    pub fn new() -> FakeCourse {
        let dir = tempfile::tempdir().unwrap();
        // Test processes may run as an unprivileged user (a grader run as root): they must be
        // able to reach the test executables.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let course = FakeCourse { dir };
        course.write(
            "Cargo.toml",
            r#"[workspace]
resolver = "3"
members = ["labs/distributed", "labs/lab1", "solutions/lab1"]

[workspace.package]
edition = "2024"
publish = false

[workspace.dependencies]
distributed = { path = "labs/distributed" }
"#,
        );
        course.write(
            "labs/distributed/Cargo.toml",
            "[package]\nname = \"distributed\"\nversion = \"0.1.0\"\nedition.workspace = true\npublish.workspace = true\n",
        );
        course.write(
            "labs/distributed/src/lib.rs",
            "/// Panics with `[invariant] detail` unless `cond` holds.\npub fn check(invariant: &str, cond: bool, detail: &str) {\n    if !cond {\n        panic!(\"[{invariant}] {detail}\\n  replay: cargo test\");\n    }\n}\n",
        );
        let lab_manifest = |name: &str, lib: &str| {
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"Lab 1: adding\"\nedition.workspace = true\npublish.workspace = true\n{lib}\n[dependencies]\ndistributed.workspace = true\n"
            )
        };
        course.write("labs/lab1/Cargo.toml", &lab_manifest("lab1", ""));
        course.write("labs/lab1/src/lib.rs", STUB);
        course.write("labs/lab1/tests/public.rs", PUBLIC_TESTS);
        course.write("solutions/lab1/Cargo.toml", &lab_manifest("lab1-solution", "\n[lib]\nname = \"lab1\"\n"));
        course.write("solutions/lab1/src/lib.rs", REFERENCE);
        course.write(
            "grader/Cargo.toml",
            "[package]\nname = \"grader\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dev-dependencies]\nlab1 = { package = \"lab1-solution\", path = \"../solutions/lab1\" }\ndistributed.workspace = true\n",
        );
        course.write("grader/suites/lab1/main.rs", HIDDEN_TESTS);
        course.write("grader/points.toml", POINTS);
        course.write("grader/zoo/lab1.toml", ZOO);
        course.write("grader/handout/README.md", "# Workbook\n\n{{LABS}}\n");
        course.write("book/book.toml", "[book]\ntitle = \"Fake\"\n");
        course.write("book/src/SUMMARY.md", "# Summary\n\n- [Lab 1](lab1.md)\n");
        course.write("book/src/lab1.md", "# Lab 1\n\nWrite `add`.\n");
        course.write("book/book/index.html", "build output that the handout leaves out");
        course
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.root().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    pub fn course(&self) -> Course {
        Course::open(self.root()).unwrap()
    }

    pub fn options(&self) -> GradeOptions {
        GradeOptions::new(&self.course())
    }

    pub fn grader(&self) -> Grader {
        Grader::new(self.course(), self.options()).unwrap()
    }

    /// A grader with the source policy off, to prove the other layers on their own.
    pub fn grader_without_policy(&self) -> Grader {
        let mut options = self.options();
        options.source_policy = false;
        Grader::new(self.course(), options).unwrap()
    }

    /// A student repository under the course's temp directory whose lab 1 is `lib_rs`.
    pub fn submission(&self, name: &str, lib_rs: &str) -> PathBuf {
        let root = self.root().join("submissions").join(name);
        let src = root.join("labs/lab1/src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("lib.rs"), lib_rs).unwrap();
        fs::create_dir_all(root.join("labs/lab1/tests")).unwrap();
        fs::write(root.join("labs/lab1/tests/public.rs"), PUBLIC_TESTS).unwrap();
        fs::copy(self.root().join("labs/lab1/Cargo.toml"), root.join("labs/lab1/Cargo.toml")).unwrap();
        root
    }
}

/// The reference with `add`'s body replaced.
pub fn reference_with_add(body: &str) -> String {
    REFERENCE
        .replace("let total_of_both_numbers_for_the_caller = a + b;\n    total_of_both_numbers_for_the_caller", body)
}
