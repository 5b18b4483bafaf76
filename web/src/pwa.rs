//! The page side of the service worker (`web/js/pwa.js`): registration and the update offer; and
//! telling something once across tabs (`web/js/once.js`).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/pwa.js")]
extern "C" {
    #[wasm_bindgen(js_name = registerServiceWorker, catch)]
    async fn register(on_update_ready: &js_sys::Function) -> Result<JsValue, JsValue>;
    /// Look for a new build now (the hub may be serving one).
    #[wasm_bindgen(js_name = checkForUpdate)]
    pub fn check_for_update();
    /// Switch to the waiting build and reload.
    #[wasm_bindgen(js_name = applyUpdate)]
    pub fn apply_update();
}

/// Register `sw.js`; `on_update_ready` runs when a new build is installed and waiting.
pub async fn start(on_update_ready: impl Fn() + 'static) {
    let cb = Closure::<dyn Fn()>::new(on_update_ready);
    if let Err(e) = register(cb.as_ref().unchecked_ref()).await {
        // The app works without it (no offline start); say why in the console for whoever looks.
        web_sys::console::warn_2(&"hearth: the service worker could not be registered".into(), &e);
    }
    cb.forget();
}

#[wasm_bindgen(module = "/js/once.js")]
extern "C" {
    #[wasm_bindgen(js_name = claimOnce)]
    async fn claim_once_js(name: &str) -> JsValue;
}

/// Of all the open tabs that claim `name`, `true` for the first one only (a Web Lock held until that
/// tab closes).
pub async fn claim_once(name: &str) -> bool {
    claim_once_js(name).await.as_bool() != Some(false)
}
