//! The core's store conformance suite, unchanged, against the browser store: SQLite in OPFS through the
//! `sahpool` VFS, in a dedicated worker of headless Chromium (`wasm-bindgen-test`).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hearth_core::conformance::Backend;
use hearth_core::{Env, Options, Store};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Stores named per run, so a reused browser profile never hands a test yesterday's data.
struct Opfs;

thread_local! {
    static RUN: String = format!("conformance-{:x}", js_sys::Date::now() as u64);
}

impl Backend for Opfs {
    fn open(&self, name: &str, env: Arc<dyn Env>, opts: Options) -> hearth_core::Result<Store> {
        let file = RUN.with(|r| format!("{r}-{name}"));
        let conn = hearth_wasm::store::open_opfs_connection(&file).unwrap_or_else(|e| panic!("{e}"));
        Store::open(conn, env, opts)
    }
}

/// Each test opens up to two stores; the pool needs a slot per database and per journal.
async fn install() {
    hearth_wasm::store::install_opfs(64).await.unwrap();
}

hearth_core::store_conformance_tests!(setup = install; Opfs);
