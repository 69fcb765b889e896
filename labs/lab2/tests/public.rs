//! Lab 2 public tests (being written).
