//! Hidden tests of the engines.
