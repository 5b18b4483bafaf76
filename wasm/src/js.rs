//! Converting between JS values and Rust ones for the [`Client`](crate::client::Client) API: results
//! go out as JSON-compatible JS values, option objects come in as the structs below (a missing or
//! `null` argument is the default).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::JsValue;

use crate::error::Result;

/// What survives outside the database (the page keeps it in `localStorage`), to recognise a store the
/// browser wiped and to re-download it instead of starting empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Identity {
    /// The device id.
    pub device: Option<String>,
    /// Hub URL, when paired.
    pub hub: Option<String>,
    /// Space, when paired.
    pub space: Option<String>,
    /// Token, when paired.
    pub token: Option<String>,
}

/// Options of `createTask`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TaskInit {
    /// A node id chosen by the caller (makes a retried create idempotent).
    pub(crate) id: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) due: Option<String>,
    pub(crate) priority: Option<i64>,
    pub(crate) notes: Option<String>,
}

/// Options of `createProject`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ProjectInit {
    pub(crate) id: Option<String>,
    pub(crate) parent: Option<String>,
}

/// A Rust value as a plain JS value (objects, not `Map`s).
pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue> {
    Ok(v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

/// A JS argument as `T`; `undefined` or `null` is `T::default()`.
pub(crate) fn from_js<T: for<'de> Deserialize<'de> + Default>(v: JsValue) -> Result<T> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    Ok(serde_wasm_bindgen::from_value(v)?)
}

/// A JS argument as a JSON value; `undefined` is `null`.
pub(crate) fn json(v: JsValue) -> Result<Value> {
    if v.is_undefined() {
        return Ok(Value::Null);
    }
    Ok(serde_wasm_bindgen::from_value(v)?)
}

/// A string argument, `None` for anything else (`null`, `undefined`).
pub(crate) fn opt_str(v: &JsValue) -> Option<String> {
    v.as_string()
}

/// The local date, `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}
