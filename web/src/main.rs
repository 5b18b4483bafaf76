//! # hearth-web
//!
//! The Hearth PWA: the app people install on desktop and phone. A [Leptos](https://leptos.dev) (CSR)
//! UI over the `hearth-wasm` store, built by Trunk (`Trunk.toml` at the workspace root, entry
//! `web/index.html`) and served by the hub.
//!
//! * [`store`]: the store's API (the one Hearth core, in a dedicated worker over SQLite in OPFS).
//!   Every action applies locally first; the worker syncs in the background, so the UI never waits
//!   for the network.
//! * [`ctx`]: the shared state ([`ctx::Ctx`]) every screen reads and writes, and the current view.
//! * [`app`]: start-up, the shell and pairing.
//! * [`sidebar`], [`tasks`], [`project`], [`editor`], [`chrome`]: the screens: projects and counts; task
//!   lists, quick add, the agenda and search; a project's heading and actions; inline task editing;
//!   sync status, banners and toasts.
//! * [`sync_panel`]: the sync details the status pill opens: this device, changes the hub refused, and
//!   the other devices of the space.
//! * [`pwa`]: the service worker (`web/sw.js`): offline app shell and "Reload to update".
//!
//! On the host this binary only says where the app lives; the UI is compiled for `wasm32` only.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod chrome;
#[cfg(target_arch = "wasm32")]
mod ctx;
#[cfg(target_arch = "wasm32")]
mod editor;
#[cfg(target_arch = "wasm32")]
mod model;
// Used by the UI (wasm32 only); compiled everywhere so that its tests run on the host.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod order;
#[cfg(target_arch = "wasm32")]
mod priority;
#[cfg(target_arch = "wasm32")]
mod project;
#[cfg(target_arch = "wasm32")]
mod pwa;
#[cfg(target_arch = "wasm32")]
mod sidebar;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod sync_panel;
#[cfg(target_arch = "wasm32")]
mod tasks;
#[cfg(target_arch = "wasm32")]
mod words;

#[cfg(target_arch = "wasm32")]
fn main() {
    if let Some(boot) = leptos::prelude::document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "hearth-web is the browser app: build it with `cargo xtask web` (Trunk) and open it from `cargo xtask serve`."
    );
    std::process::exit(2);
}
