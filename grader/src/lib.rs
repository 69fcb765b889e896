//! The course's grader: grades a submission, exports the student handout, and checks that the
//! course itself grades what it claims to.
//!
//! - [`grade`]: a submission's labs, each built in a generated workspace of the course's own
//!   kit and tests ([`workspace`], [`compile`]) and run one process per test ([`runner`]);
//! - [`report`]: text, JSON, Gradescope, JUnit and Markdown;
//! - [`handout`]: the student repository, refused if it would leak a solution;
//! - [`selfcheck`] and [`zoo`]: reference = 100%, stubs = 0, every classic bug caught.
//!
//! The book's chapter "For instructors" explains how to use it.

pub mod bundle;
pub mod cli;
pub mod compile;
pub mod consistency;
pub mod course;
pub mod error;
pub mod fsutil;
pub mod grade;
pub mod handout;
pub mod harness;
pub mod points;
pub mod policy;
pub mod process;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod selfcheck;
pub mod submission;
pub mod workspace;
pub mod zoo;
