//! Lab 2 hidden suite (being written).
