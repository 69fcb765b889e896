//! Lab 2 (being written).
