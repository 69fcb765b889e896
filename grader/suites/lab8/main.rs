//! Lab 8's hidden suite: breadth on the engines (`engines.rs`) and on Raft (`raft.rs`).

mod engines;
mod raft;
