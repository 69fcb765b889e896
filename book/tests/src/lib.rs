//! The book's chapters as doc comments, so that `cargo test -p book-tests` compiles and runs
//! every ```rust block of the book as a doctest (blocks in other languages are marked
//! ```text, ```sh or ```toml and are skipped).
//!
//! One module per page (a chapter split into pages has one module for each). The instructors'
//! pages (`instructors*.md`) are left out: they hold no Rust example, and their output listings
//! are fenced without a language, which rustdoc would compile as Rust.

#[doc = include_str!("../../src/introduction.md")]
pub mod introduction {}

#[doc = include_str!("../../src/fault-model.md")]
pub mod fault_model {}

#[doc = include_str!("../../src/fault-model-faults.md")]
pub mod fault_model_faults {}

#[doc = include_str!("../../src/fault-model-crash-model.md")]
pub mod fault_model_crash_model {}

#[doc = include_str!("../../src/fault-model-explorer.md")]
pub mod fault_model_explorer {}

#[doc = include_str!("../../src/fault-model-why-simfs.md")]
pub mod fault_model_why_simfs {}

#[doc = include_str!("../../src/fault-model-reordering.md")]
pub mod fault_model_reordering {}

#[doc = include_str!("../../src/lab1-wal.md")]
pub mod lab1_wal {}

#[doc = include_str!("../../src/lab1-wal-format.md")]
pub mod lab1_wal_format {}

#[doc = include_str!("../../src/lab1-wal-append.md")]
pub mod lab1_wal_append {}

#[doc = include_str!("../../src/lab1-wal-recovery.md")]
pub mod lab1_wal_recovery {}

#[doc = include_str!("../../src/lab1-wal-truncate.md")]
pub mod lab1_wal_truncate {}

#[doc = include_str!("../../src/lab1-wal-sync.md")]
pub mod lab1_wal_sync {}

#[doc = include_str!("../../src/lab1-wal-group-commit.md")]
pub mod lab1_wal_group_commit {}

#[doc = include_str!("../../src/lab1-wal-failures.md")]
pub mod lab1_wal_failures {}

#[doc = include_str!("../../src/lab1-wal-performance.md")]
pub mod lab1_wal_performance {}

#[doc = include_str!("../../src/lab1-wal-war-story.md")]
pub mod lab1_wal_war_story {}

#[doc = include_str!("../../src/lab1-wal-questions.md")]
pub mod lab1_wal_questions {}

#[doc = include_str!("../../src/lab2-repair.md")]
pub mod lab2_repair {}

#[doc = include_str!("../../src/lab2-repair-damage.md")]
pub mod lab2_repair_damage {}

#[doc = include_str!("../../src/lab2-repair-modes.md")]
pub mod lab2_repair_modes {}

#[doc = include_str!("../../src/lab2-repair-peer.md")]
pub mod lab2_repair_peer {}

#[doc = include_str!("../../src/lab2-repair-failures.md")]
pub mod lab2_repair_failures {}

#[doc = include_str!("../../src/lab2-repair-performance.md")]
pub mod lab2_repair_performance {}

#[doc = include_str!("../../src/lab2-repair-war-story.md")]
pub mod lab2_repair_war_story {}

#[doc = include_str!("../../src/lab2-repair-questions.md")]
pub mod lab2_repair_questions {}

#[doc = include_str!("../../src/lab3-snapshots.md")]
pub mod lab3_snapshots {}

#[doc = include_str!("../../src/lab3-snapshots-format.md")]
pub mod lab3_snapshots_format {}

#[doc = include_str!("../../src/lab3-snapshots-save.md")]
pub mod lab3_snapshots_save {}

#[doc = include_str!("../../src/lab3-snapshots-recovery.md")]
pub mod lab3_snapshots_recovery {}

#[doc = include_str!("../../src/lab3-snapshots-typed.md")]
pub mod lab3_snapshots_typed {}

#[doc = include_str!("../../src/lab3-snapshots-failures.md")]
pub mod lab3_snapshots_failures {}

#[doc = include_str!("../../src/lab3-snapshots-performance.md")]
pub mod lab3_snapshots_performance {}

#[doc = include_str!("../../src/lab3-snapshots-war-story.md")]
pub mod lab3_snapshots_war_story {}

#[doc = include_str!("../../src/lab3-snapshots-questions.md")]
pub mod lab3_snapshots_questions {}

#[doc = include_str!("../../src/lab4-recovery.md")]
pub mod lab4_recovery {}

#[doc = include_str!("../../src/lab4-recovery-tasks.md")]
pub mod lab4_recovery_tasks {}

#[doc = include_str!("../../src/lab4-recovery-failures.md")]
pub mod lab4_recovery_failures {}

#[doc = include_str!("../../src/lab4-recovery-performance.md")]
pub mod lab4_recovery_performance {}

#[doc = include_str!("../../src/lab4-recovery-war-story.md")]
pub mod lab4_recovery_war_story {}

#[doc = include_str!("../../src/lab4-recovery-questions.md")]
pub mod lab4_recovery_questions {}

#[doc = include_str!("../../src/lab5-read-barriers.md")]
pub mod lab5_read_barriers {}

#[doc = include_str!("../../src/lab5-read-barriers-tasks.md")]
pub mod lab5_read_barriers_tasks {}

#[doc = include_str!("../../src/lab5-read-barriers-failures.md")]
pub mod lab5_read_barriers_failures {}

#[doc = include_str!("../../src/lab5-read-barriers-performance.md")]
pub mod lab5_read_barriers_performance {}

#[doc = include_str!("../../src/lab5-read-barriers-war-story.md")]
pub mod lab5_read_barriers_war_story {}

#[doc = include_str!("../../src/lab5-read-barriers-questions.md")]
pub mod lab5_read_barriers_questions {}

#[doc = include_str!("../../src/glossary.md")]
pub mod glossary {}

#[doc = include_str!("../../src/glossary-seed.md")]
pub mod glossary_seed {}

#[doc = include_str!("../../src/dependencies.md")]
pub mod dependencies {}

#[doc = include_str!("../../src/kit-api.md")]
pub mod kit_api {}

#[doc = include_str!("../../src/lab9-monitor.md")]
pub mod lab9_monitor {}

#[doc = include_str!("../../src/lab9-monitor-tasks.md")]
pub mod lab9_monitor_tasks {}

#[doc = include_str!("../../src/lab9-monitor-report.md")]
pub mod lab9_monitor_report {}

#[doc = include_str!("../../src/lab9-monitor-failures.md")]
pub mod lab9_monitor_failures {}

#[doc = include_str!("../../src/lab9-monitor-performance.md")]
pub mod lab9_monitor_performance {}

#[doc = include_str!("../../src/lab9-monitor-questions.md")]
pub mod lab9_monitor_questions {}

#[doc = include_str!("../../src/lab8-engines.md")]
pub mod lab8_engines {}

#[doc = include_str!("../../src/lab8-raft.md")]
pub mod lab8_raft {}

#[doc = include_str!("../../src/lab6-idempotency-failures.md")]
pub mod lab6_idempotency_failures {}

#[doc = include_str!("../../src/lab6-idempotency-performance.md")]
pub mod lab6_idempotency_performance {}

#[doc = include_str!("../../src/lab6-idempotency-questions.md")]
pub mod lab6_idempotency_questions {}

#[doc = include_str!("../../src/lab6-idempotency-tasks.md")]
pub mod lab6_idempotency_tasks {}

#[doc = include_str!("../../src/lab6-idempotency-war-story.md")]
pub mod lab6_idempotency_war_story {}

#[doc = include_str!("../../src/lab6-idempotency.md")]
pub mod lab6_idempotency {}

#[doc = include_str!("../../src/lab7-incremental-snapshots-failures.md")]
pub mod lab7_incremental_snapshots_failures {}

#[doc = include_str!("../../src/lab7-incremental-snapshots-performance.md")]
pub mod lab7_incremental_snapshots_performance {}

#[doc = include_str!("../../src/lab7-incremental-snapshots-questions.md")]
pub mod lab7_incremental_snapshots_questions {}

#[doc = include_str!("../../src/lab7-incremental-snapshots-tasks.md")]
pub mod lab7_incremental_snapshots_tasks {}

#[doc = include_str!("../../src/lab7-incremental-snapshots-war-story.md")]
pub mod lab7_incremental_snapshots_war_story {}

#[doc = include_str!("../../src/lab7-incremental-snapshots.md")]
pub mod lab7_incremental_snapshots {}

#[doc = include_str!("../../src/trace-viewer.md")]
pub mod trace_viewer {}
