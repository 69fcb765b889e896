//! The book's chapters as doc comments, so that `cargo test -p book-tests` compiles and runs
//! every ```rust block of the book as a doctest (blocks in other languages are marked
//! ```text, ```sh or ```toml and are skipped).
//!
//! One module per chapter. Chapters still to be included here once they are written:
//! `instructors.md`:
//!
//! ```text
//! #[doc = include_str!("../../src/instructors.md")]
//! pub mod instructors {}
//! ```

#[doc = include_str!("../../src/introduction.md")]
pub mod introduction {}

#[doc = include_str!("../../src/fault-model.md")]
pub mod fault_model {}

#[doc = include_str!("../../src/lab1-wal.md")]
pub mod lab1_wal {}

#[doc = include_str!("../../src/lab2-repair.md")]
pub mod lab2_repair {}

#[doc = include_str!("../../src/lab3-snapshots.md")]
pub mod lab3_snapshots {}

#[doc = include_str!("../../src/lab4-recovery.md")]
pub mod lab4_recovery {}

#[doc = include_str!("../../src/lab5-read-barriers.md")]
pub mod lab5_read_barriers {}

#[doc = include_str!("../../src/glossary.md")]
pub mod glossary {}

#[doc = include_str!("../../src/dependencies.md")]
pub mod dependencies {}

#[doc = include_str!("../../src/kit-api.md")]
pub mod kit_api {}
