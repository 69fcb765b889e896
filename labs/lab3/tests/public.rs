//! Lab 3 public tests (being written).
