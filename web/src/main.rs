//! # hearth-web
//!
//! The Hearth PWA: the installable app people use on desktop and phone, a reactive UI over the
//! `hearth-wasm` API, built by Trunk (`Trunk.toml` at the workspace root, entry `web/index.html`) and
//! served by the hub.
//!
//! This crate is a skeleton: the UI, the manifest, the icons and the service worker arrive with the PWA
//! work. Until then `hearth serve` shows a page saying the app is not built yet, and the browser engine
//! can be tried through `wasm/www/`, the test page of hearth-wasm.

fn main() {}
