//! Lab 5: read barriers. Reads through a replica while a background thread applies its log.
//!
//! Read the book's chapter "Lab 5: Read barriers" first. Lab 4 built a replica that recovers
//! to the state it had before a crash; this lab serves reads from it while entries are being
//! applied, from many threads, without ever answering from a state the client must not see:
//! one older than a write committed before the read arrived, one in the middle of an entry,
//! or one older than an answer already given, across a restart included.
//!
//! The replica's interface to the read path ([`machine`]) and the errors are given. Work
//! through the tasks in order, each with its public tests:
//!
//! 1. [`ReadNode::new`], [`ReadNode::status`], [`ReadNode::append`], [`ReadNode::commit`] and
//!    [`ReadNode::apply_next`]: publish what the replica durably holds (`cargo test -p lab5 progress::`);
//! 2. [`ReadNode::read_stale`], the degraded read that says how old it is (`degraded::`);
//! 3. [`ReadNode::read`]: the read index on arrival, the wait with a deadline, typed errors
//!    (`barrier::`);
//! 4. wake-ups: every apply and every step of the clock wakes the waiting reads, which check
//!    their predicate again (`wakeups::`);
//! 5. one state per read: all of an entry's writes or none (`atomic::`);
//! 6. recovery: after a restart no read is served until replay reaches the persisted commit
//!    index, and reads never go back in time (`recovery::`);
//! 7. [`ReadNode::start_applier`]: the background applier, which readers never hold back
//!    (`applier::`).
//!
//! Take threads, locks and atomics from `distributed::sync` (std's, or shuttle's under the
//! `shuttle` feature, for `cargo test -p lab5 --features shuttle --test shuttle`); all I/O goes
//! through lab 4's replica.

mod error;
pub mod machine;
mod node;

pub use distributed::storage::{Entry, Index};
pub use error::{NodeError, ReadError};
pub use lab4::{Command, KvStore, Op, Replica, ReplicaOptions, Write};
pub use machine::{Machine, MachineError};
pub use node::{Applier, Read, ReadNode, Status};
