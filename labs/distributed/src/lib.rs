//! The course kit: what every lab, reference solution and test shares.
//!
//! - [`storage`]: the interfaces of a replica's storage (`LogStorage`, `StateMachineStorage`,
//!   `SnapshotStorage`) and the types they share (`Index`, `Term`, `Entry`, …);
//! - [`vfs`]: the filesystem every lab does its I/O through, with the real disk
//!   ([`vfs::StdFs`]), a simulated disk that loses power on demand ([`vfs::SimFs`]), and an
//!   I/O counter ([`vfs::StatsFs`]);
//! - [`explore`]: the crash-point explorer, and [`crash_trace`]: the JSON trace it writes when
//!   a check fails, which the book's trace viewer opens;
//! - [`check`], [`invariant!`] and [`fail!`]: failures that name the broken invariant and the
//!   seed;
//! - [`rng`]: seeds (`LAB_SEED`) and a deterministic generator;
//! - [`sync`]: threads, locks and atomics, std's or (under the `shuttle` feature) shuttle's;
//! - [`testing`]: small helpers for labs' tests.
//!
//! # The `testing` feature
//!
//! [`explore`] and [`testing`] (with `proptest_config`, `SyncGate`, `SyncHold`, `DirSnapshot`
//! and the `lab7_test_helpers!` macro) exist only under the cargo feature `testing`. Every
//! lab's tests turn it on through their dev-dependency:
//!
//! ```toml
//! [dev-dependencies]
//! distributed = { workspace = true, features = ["testing"] }
//! ```
//!
//! A lab's library depends on the kit without it. Two reasons: `cargo build -p labN` (and the
//! grader's build of a submitted library) does not compile proptest, which only tests use;
//! and a lab's own code cannot call a test helper, because outside its tests the helper does
//! not exist (the source policy refuses `distributed::testing` too, with a clearer message).
//! The invariant reporting ([`check`], [`invariant!`], [`fail!`]) stays on, since it needs no
//! dependency.
//!
//! The book's chapter "The fault model" explains what the simulated disk does and why.

pub mod check;
pub mod clock;
pub mod crash_trace;
#[cfg(feature = "testing")]
pub mod explore;
pub mod rng;
pub mod storage;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vfs;
