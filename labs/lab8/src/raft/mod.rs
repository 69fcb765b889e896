//! openraft's storage traits over any [`Engine`](crate::engine::Engine), and a three-node
//! cluster (part 2 of the lab).
