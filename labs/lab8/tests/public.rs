//! Lab 8's public tests: each task's invariant, once (the chapter lists them).
//!
//! `engine::` checks each engine on its own, `conformance::` runs one suite unchanged on
//! every engine, and `raft::` (in `public/raft.rs`) plugs the engines into openraft.

mod raft;
