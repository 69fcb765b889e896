//! Lab 4's hidden suite: what the grader checks beyond the public tests.
