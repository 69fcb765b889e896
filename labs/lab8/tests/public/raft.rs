//! openraft over the engines (part 2 of the lab).
