//! Lab 5's shuttle tests, `labs/lab5/tests/shuttle/barrier.rs`, against the reference solution
//! (named `lab5` here, as in the student's crate).

extern crate lab5_solution as lab5;

#[path = "../../../labs/lab5/tests/shuttle/barrier.rs"]
mod barrier;
