//! Lab 3 hidden suite (being written).
