//! What only the worker that owns the database does, beside serving [`Client`](crate::client::Client)
//! calls (`wasm/js/worker.js` forwards each message to the client method of the same name).
//!
//! The OPFS `sahpool` VFS needs synchronous access handles, which exist only in a dedicated worker;
//! outside one the store falls back to memory and says so in `status().storage`.

use wasm_bindgen::prelude::*;

use crate::store;

/// Whether this is a dedicated worker (the only place OPFS sync access handles exist).
#[wasm_bindgen(js_name = inDedicatedWorker)]
pub fn in_dedicated_worker() -> bool {
    store::in_dedicated_worker()
}

/// The browser half of `cargo xtask bench wasm`: the same ops and pages as the native run, applied with
/// [`hearth_core::Store::apply_pulled`] into a fresh store in OPFS (WAL in exclusive locking mode, synchronous FULL).
#[cfg(feature = "bench")]
pub async fn bench_apply(name: &str) -> crate::error::Result<JsValue> {
    use std::sync::Arc;
    use std::time::Duration;

    use hearth_core::{ManualEnv, Options};
    use serde_json::json;
    use wasm_bindgen::JsCast;

    use crate::bench;
    use crate::js::to_js;

    let ops = bench::ops();
    let checksum = bench::checksum(&ops);
    let pages = bench::pages(&ops);
    drop(ops);
    let env = Arc::new(ManualEnv::new(bench::T0 + 200_000, 1));
    // Room for this database and its journal beside the page's own store.
    store::install_opfs(16).await?;
    // A fresh database every run: the caller passes a new name.
    let (mut store, storage) = store::open_with(name, env, Options::default(), |_| Ok(())).await?;
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap_or_default();
    let now = || -> f64 {
        js_sys::Reflect::get(&perf, &"now".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .and_then(|f| f.call0(&perf).ok())
            .and_then(|v| v.as_f64())
            .unwrap_or_else(js_sys::Date::now)
    };
    let start = now();
    for page in &pages {
        let cursor = page.last().map(|s| s.seq).unwrap_or(0);
        store.apply_pulled(page, cursor)?;
    }
    let seconds = Duration::from_secs_f64((now() - start) / 1000.0).as_secs_f64();
    let applied = bench::kv_rows(&store);
    let export_len = store.export()?.len();
    drop(store);
    to_js(&json!({
        "ops": bench::OPS,
        "seconds": seconds,
        "opsPerSec": bench::OPS as f64 / seconds,
        "checksum": checksum,
        "storage": storage,
        "kvRows": applied,
        "exportBytes": export_len,
    }))
}
