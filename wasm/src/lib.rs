//! # hearth-wasm
//!
//! The Hearth core in the browser. This crate is a skeleton: the OPFS store, the worker and the JS API
//! arrive with the browser-client work. It already compiles for `wasm32-unknown-unknown` against the same
//! [`hearth_core`] the hub and the command line use, which CI checks.

/// The schema version the browser store will run, the same as every other node of this build.
pub fn schema_version() -> i64 {
    hearth_core::migrate::LATEST
}
