//! The course kit: what every lab, reference solution and test shares.
//!
//! - [`storage`]: the interfaces of a replica's storage (`LogStorage`, `StateMachineStorage`,
//!   `SnapshotStorage`) and the types they share (`Index`, `Term`, `Entry`, …);
//! - [`vfs`]: the filesystem every lab does its I/O through, with the real disk
//!   ([`vfs::StdFs`]), a simulated disk that loses power on demand ([`vfs::SimFs`]), and an
//!   I/O counter ([`vfs::StatsFs`]);
//! - [`explore`]: the crash-point explorer, and [`crash_trace`]: the JSON trace it writes when
//!   a check fails, which the book's trace viewer opens;
//! - [`check`] and [`invariant!`]: failures that name the broken invariant and the seed;
//! - [`rng`]: seeds (`LAB_SEED`) and a deterministic generator;
//! - [`sync`]: threads, locks and atomics, std's or (under the `shuttle` feature) shuttle's;
//! - [`testing`]: small helpers for labs' tests.
//!
//! The book's chapter "The fault model" explains what the simulated disk does and why.

pub mod check;
pub mod clock;
pub mod crash_trace;
pub mod explore;
pub mod rng;
pub mod storage;
pub mod sync;
pub mod testing;
pub mod vfs;
