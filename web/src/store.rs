//! The UI's handle on the store: `hearth-wasm`'s tab-side API (`store/hearth.js` in the bundle), which
//! runs the one Hearth core in a dedicated worker over SQLite in OPFS and shares it between tabs.
//!
//! Every call answers from the local database: nothing here waits for the network. Results arrive as
//! JSON-shaped values and are read into the [`crate::model`] types.

use std::cell::RefCell;

use js_sys::{Array, Function, Promise, Reflect};
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::model::{
    AgendaRow, Comment, Conflict, Counts, Finished, Hit, Label, Peers, Quarantined, Status, Task, Trashed,
    TreeEntry,
};

#[wasm_bindgen(raw_module = "./store/hearth.js")]
extern "C" {
    /// `connect({name})` from hearth-wasm's `hearth.js`: elects the tab that owns the store.
    #[wasm_bindgen(js_name = connect, catch)]
    async fn js_connect(opts: JsValue) -> std::result::Result<JsValue, JsValue>;
}

/// A failed store call, as hearth-wasm reports it (`{code, message}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// Machine-readable code (`bad_argument`, `not_found`, `storage`, …).
    pub code: String,
    /// What happened and what to do, for people.
    pub message: String,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<JsValue> for StoreError {
    fn from(v: JsValue) -> Self {
        let text = |key: &str| Reflect::get(&v, &key.into()).ok().and_then(|x| x.as_string());
        StoreError {
            code: text("code").unwrap_or_else(|| "internal".into()),
            message: text("message")
                .or_else(|| v.as_string())
                .unwrap_or_else(|| "the store failed without saying why".into()),
        }
    }
}

/// Result of a store call.
pub type Result<T> = std::result::Result<T, StoreError>;

thread_local! {
    /// The connection, once `connect` has answered (the browser runs the UI on one thread).
    static HANDLE: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

fn handle() -> Result<JsValue> {
    HANDLE.with(|h| h.borrow().clone()).ok_or_else(|| StoreError {
        code: "not_open".into(),
        message: "the store is not open yet".into(),
    })
}

fn method(target: &JsValue, name: &str) -> Result<Function> {
    Reflect::get(target, &name.into())?
        .dyn_into::<Function>()
        .map_err(|_| StoreError {
            code: "internal".into(),
            message: format!("the store has no method {name}; reload the app"),
        })
}

/// Connect to store `name` (one per space on this origin). Calls made from now on wait for the store
/// to open; [`ready`] says when it has.
pub async fn connect(name: &str) -> Result<()> {
    let opts = js_sys::Object::new();
    Reflect::set(&opts, &"name".into(), &name.into())?;
    let connection = js_connect(opts.into()).await?;
    HANDLE.with(|h| *h.borrow_mut() = Some(connection));
    Ok(())
}

/// Wait until some tab owns the store and its worker has opened the database.
pub async fn ready() -> Result<()> {
    let ready = method(&handle()?, "ready")?.call0(&handle()?)?;
    JsFuture::from(Promise::from(ready)).await?;
    Ok(())
}

/// Whether this store was paired the last time it was open in this browser, known before it opens.
pub fn paired_before() -> bool {
    handle()
        .and_then(|h| Ok(method(&h, "pairedBefore")?.call0(&h)?))
        .is_ok_and(|v| v.is_truthy())
}

/// Warnings the store gathered while opening (memory-only storage, a store the browser wiped…).
pub fn warnings() -> Vec<String> {
    handle()
        .ok()
        .and_then(|h| Reflect::get(&h, &"warnings".into()).ok())
        .map(|w| Array::from(&w).iter().filter_map(|x| x.as_string()).collect())
        .unwrap_or_default()
}

/// Call `f` after every change: local edits, other tabs' edits, pulled ops and sync-state changes.
pub fn subscribe(f: impl Fn(JsValue) + 'static) -> Result<()> {
    let h = handle()?;
    let cb = Closure::<dyn Fn(JsValue)>::new(f);
    method(&h, "subscribe")?.call1(&h, cb.as_ref())?;
    // Lives as long as the page.
    cb.forget();
    Ok(())
}

/// Call a store method by name with JSON-shaped arguments.
async fn call_raw(name: &str, args: &[JsValue]) -> Result<JsValue> {
    let h = handle()?;
    let all = Array::new();
    all.push(&name.into());
    for a in args {
        all.push(a);
    }
    let promise = method(&h, "call")?.apply(&h, &all)?;
    Ok(JsFuture::from(Promise::from(promise)).await?)
}

async fn call<T: DeserializeOwned>(name: &str, args: &[JsValue]) -> Result<T> {
    let v = call_raw(name, args).await?;
    serde_wasm_bindgen::from_value(v).map_err(|e| StoreError {
        code: "internal".into(),
        message: format!("could not read the store's answer to {name}: {e}"),
    })
}

fn js<T: serde::Serialize + ?Sized>(v: &T) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

fn opt(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from)
}

/// Device, pairing and sync state.
pub async fn status() -> Result<Status> {
    call("status", &[]).await
}

/// Pair with the hub that served this page.
pub async fn pair(hub: &str, code: &str, name: &str) -> Result<()> {
    call_raw("pair", &[hub.into(), code.into(), name.into()]).await?;
    Ok(())
}

/// Start a sync round now (the worker also syncs on its own after edits and live events).
pub async fn sync_now() -> Result<()> {
    call_raw("syncNow", &[]).await?;
    Ok(())
}

/// This device's changes the hub refuses as they are, set aside.
pub async fn quarantined() -> Result<Vec<Quarantined>> {
    call("quarantined", &[]).await
}

/// Put a set-aside change back in the outbox (`retry`) or drop it (its effect stays on this device).
pub async fn release_quarantined(id: &str, retry: bool) -> Result<()> {
    call_raw("releaseQuarantined", &[id.into(), retry.into()]).await?;
    Ok(())
}

/// Every open conflict (a field changed on two devices at once).
pub async fn conflicts() -> Result<Vec<Conflict>> {
    call("conflicts", &[JsValue::NULL]).await
}

/// Restore the other value of a conflict, or (`restore` false) keep the value shown.
pub async fn resolve_conflict(id: &str, restore: bool) -> Result<()> {
    call_raw("resolveConflict", &[id.into(), restore.into()]).await?;
    Ok(())
}

/// The hub's network view of the space (needs the hub).
pub async fn peers() -> Result<Peers> {
    call("peers", &[]).await
}

/// The project tree with open-task counts.
pub async fn tree() -> Result<Vec<TreeEntry>> {
    call("tree", &[]).await
}

/// Tasks of a project, or of the Inbox with `None`.
pub async fn tasks(project: Option<&str>) -> Result<Vec<Task>> {
    call("tasks", &[opt(project)]).await
}

/// Tasks with a due date, overdue first.
pub async fn agenda() -> Result<Vec<AgendaRow>> {
    call("agenda", &[JsValue::NULL]).await
}

/// The sidebar's counts of open tasks; Today is overdue or due by `today` (`YYYY-MM-DD`).
pub async fn counts(today: &str) -> Result<Counts> {
    call("counts", &[today.into()]).await
}

/// Done and cancelled tasks, most recently finished first.
pub async fn logbook() -> Result<Vec<Finished>> {
    call("logbook", &[]).await
}

/// Deleted tasks, projects and notes, most recently deleted first.
pub async fn trash() -> Result<Vec<Trashed>> {
    call("trash", &[]).await
}

/// A typed due date as the CLI reads it (`today`, `tomorrow`, `fri`, `+3`, `2026-12-24`) → `YYYY-MM-DD`,
/// counted from this device's local date. An unreadable date is a `bad_argument` error whose message
/// says what is accepted.
pub async fn parse_due(input: &str) -> Result<String> {
    call("parseDue", &[input.into(), JsValue::NULL]).await
}

/// Projects and tasks whose title contains `text`.
pub async fn search(text: &str) -> Result<Vec<Hit>> {
    call("search", &[text.into()]).await
}

/// What a new task starts with.
#[derive(Debug, Default, serde::Serialize)]
pub struct NewTask<'a> {
    /// Project id; `None` for the Inbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<&'a str>,
    /// Due date `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<&'a str>,
    /// Priority 1 (highest) to 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// Add a task; returns its id.
pub async fn create_task(title: &str, init: &NewTask<'_>) -> Result<String> {
    call("createTask", &[title.into(), js(init)]).await
}

/// Add a project, at the top level or under `parent`; returns its id.
pub async fn create_project(title: &str, parent: Option<&str>) -> Result<String> {
    let opts = serde_json::json!({ "parent": parent });
    call("createProject", &[title.into(), js(&opts)]).await
}

/// Set one field of a node (`title`, `notes`, or the task fields `due`, `priority`, `status`).
pub async fn set(id: &str, field: &str, value: &serde_json::Value) -> Result<()> {
    call_raw("set", &[id.into(), field.into(), js(value)]).await?;
    Ok(())
}

/// Give a task the label `name` (made when there is none of that name yet).
pub async fn label(id: &str, name: &str) -> Result<()> {
    call_raw("label", &[id.into(), name.into()]).await?;
    Ok(())
}

/// Take the label `name` off a task.
pub async fn unlabel(id: &str, name: &str) -> Result<()> {
    call_raw("unlabel", &[id.into(), name.into()]).await?;
    Ok(())
}

/// Every label, by name, with its open tasks.
pub async fn labels() -> Result<Vec<Label>> {
    call("labels", &[]).await
}

/// Add a comment to a task.
pub async fn add_comment(id: &str, text: &str) -> Result<()> {
    call_raw("addComment", &[id.into(), text.into()]).await?;
    Ok(())
}

/// The comments on a task, oldest first.
pub async fn comments(id: &str) -> Result<Vec<Comment>> {
    call("comments", &[id.into()]).await
}

/// Move a task or project under `parent`, or to the top level (Inbox for tasks) with `None`.
pub async fn move_to(id: &str, parent: Option<&str>) -> Result<()> {
    call_raw("move", &[id.into(), opt(parent)]).await?;
    Ok(())
}

/// Put a task just before (`before`) or after another one: its manual order.
pub async fn place(id: &str, before: bool, target: &str) -> Result<()> {
    let side = if before { "before" } else { "after" };
    call_raw("place", &[id.into(), side.into(), target.into()]).await?;
    Ok(())
}

/// Mark a task done, or open again.
pub async fn set_done(id: &str, done: bool) -> Result<()> {
    call_raw(if done { "complete" } else { "reopen" }, &[id.into()]).await?;
    Ok(())
}

/// Delete a node (restorable).
pub async fn delete(id: &str) -> Result<()> {
    call_raw("delete", &[id.into()]).await?;
    Ok(())
}

/// Bring a deleted node back.
pub async fn restore(id: &str) -> Result<()> {
    call_raw("restore", &[id.into()]).await?;
    Ok(())
}
