//! # hearth-wasm
//!
//! The Hearth core in the browser. The same [`hearth_core::Store`] the hub and the command line run,
//! opened on SQLite compiled to WebAssembly and stored in the origin-private file system (OPFS, through
//! the `sahpool` VFS), inside a dedicated worker.
//!
//! * [`store`]: opening the OPFS (or, where OPFS is missing, in-memory) connection and the browser `Env`.
//! * [`client::Client`]: the JS-facing API — pairing, local edits, queries, change subscriptions, sync.
//!   Each method converts its JS arguments ([`js`]), calls a verb of [`hearth_core::edit`] or a query of
//!   [`hearth_core::query`], and converts the result back.
//! * [`sync`](mod@sync): drives [`hearth_core::sync`]'s sans-IO engine with `fetch` and the hub's live events.
//! * [`worker`]: the worker side: what only the database owner does.
//! * [`error::Error`]: every exported function fails with a JS `Error` carrying `{code, message}`.
//! * [`bench`]: the apply benchmark's op list, shared by the browser and native runs.
//!
//! The JS glue is in `wasm/js/`: `worker.js` boots the module in a dedicated worker, `hearth.js`
//! elects one owner tab with a Web Lock and forwards the other tabs' calls over a `BroadcastChannel`.
//!
//! Everything that touches the browser is compiled for `wasm32` only; on the host this crate builds the
//! parts that are plain Rust (errors, the benchmark's op list).

/// The benchmark workload, from core (the same ops on every side).
#[cfg(feature = "bench")]
pub use hearth_core::bench;
pub mod error;

#[cfg(target_arch = "wasm32")]
pub mod client;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
pub mod store;
#[cfg(target_arch = "wasm32")]
pub mod sync;
#[cfg(target_arch = "wasm32")]
pub mod worker;

/// The schema version the browser store runs, the same as every other node of this build.
pub fn schema_version() -> i64 {
    hearth_core::migrate::LATEST
}
