//! Lab 3 (being written).
