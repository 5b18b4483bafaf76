//! # hearth-server
//!
//! The hub and the `hearth` command line. Skeleton until the hub lands.
