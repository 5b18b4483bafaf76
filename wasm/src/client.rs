//! [`Client`]: the JS-facing API over one store. It lives in the dedicated worker that owns the database
//! (`wasm/js/worker.js` creates it); tabs reach it through `wasm/js/hearth.js`.
//!
//! Each method is "JS in, core verb, JS out": it converts its arguments ([`crate::js`]), calls
//! [`hearth_core::edit`] (the verbs the command line uses too; writes go through
//! [`hearth_core::Store::commit`], the one apply path) or [`hearth_core::query`], and converts the result.
//! After every change, local or pulled from the hub, subscribers are called with
//! `{source: "local" | "remote", ops}` (a local edit's has `sync: true` when a sync round follows it at
//! once), with `{source: "sync", state}` when the sync state changes,
//! with `{source: "sync", recovered, message}` once after a round restored from the hub's snapshot, and
//! with `{source: "sync", quarantined: [{id, reason}]}` when a round set changes of this device aside
//! (the hub refuses them as they are: see `quarantined()`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use hearth_core::edit::{self, Edited, NewTask, Pairing};
use hearth_core::{Options, Store, query};
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::error::{Error, Result, codes};
pub use crate::js::Identity;
use crate::js::{ProjectInit, TaskInit, from_js, opt_str, to_js, today};
use crate::store::{self, Storage};
use crate::sync::Driver;

/// `kv` keys shared with the command line's store (defined in core), so a browser store reads like a CLI one.
pub mod keys {
    pub use hearth_core::store::keys::{DEVICE_NAME as NAME, HUB_URL as HUB, LAST_SYNC, SPACE, TOKEN};
}

pub(crate) struct Inner {
    pub(crate) store: RefCell<Store>,
    pub(crate) storage: Storage,
    pub(crate) restored: bool,
    listeners: RefCell<Vec<js_sys::Function>>,
    pub(crate) driver: RefCell<Option<Rc<Driver>>>,
    pub(crate) sync_state: RefCell<String>,
    last_error: RefCell<Option<String>>,
    closed: Cell<bool>,
}

impl Inner {
    /// Tell every subscriber.
    fn emit(&self, event: &Value) {
        let Ok(js) = to_js(event) else { return };
        let listeners = self.listeners.borrow().clone();
        for f in listeners {
            if let Err(e) = f.call1(&JsValue::NULL, &js) {
                web_sys::console::warn_2(&"hearth: a change listener threw".into(), &e);
            }
        }
    }

    fn set_sync_state(&self, state: &str, error: Option<String>) {
        *self.last_error.borrow_mut() = error.clone();
        if *self.sync_state.borrow() != state {
            *self.sync_state.borrow_mut() = state.to_owned();
            self.emit(&json!({"source": "sync", "state": state, "error": error}));
        }
    }

    fn kv(&self, key: &str) -> Result<Option<String>> {
        Ok(self.store.borrow().kv_get(key)?)
    }

    /// The hub, space and token this store is paired with, if it is.
    fn paired(&self) -> Result<Option<(String, String, String)>> {
        Ok(
            match (self.kv(keys::HUB)?, self.kv(keys::SPACE)?, self.kv(keys::TOKEN)?) {
                (Some(h), Some(s), Some(t)) => Some((h, s, t)),
                _ => None,
            },
        )
    }
}

impl crate::sync::Host for Inner {
    fn store(&self) -> &RefCell<Store> {
        &self.store
    }

    fn set_sync_state(&self, state: &str, error: Option<String>) {
        Inner::set_sync_state(self, state, error);
    }

    fn emit(&self, event: &Value) {
        Inner::emit(self, event);
    }
}

/// The last restore from the hub's snapshot as `{recovered, message}`, if there was one.
fn last_recovery(s: &Store) -> Result<Value> {
    let Some(raw) = s.kv_get(hearth_core::store::keys::LAST_RECOVERY)? else {
        return Ok(Value::Null);
    };
    let Ok(r) = serde_json::from_str::<hearth_core::sync::Recovery>(&raw) else {
        return Ok(Value::Null);
    };
    let mut v = crate::sync::recovery_event(&r);
    if let Some(o) = v.as_object_mut() {
        o.remove("source");
    }
    Ok(v)
}

/// The changes set aside (`Store::quarantined`), for people: `[{id, kind, code, reason, atMs, node,
/// field, title, bytes}]`, where `node` is the node the op changes, `field` the field it sets (if it sets
/// one), `title` that node's title here (null when it has none or is gone) and `bytes` the size of the
/// op's payload.
fn quarantined_rows(s: &Store) -> Result<Vec<Value>> {
    let list = s.quarantined()?;
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let mut titles = std::collections::HashMap::new();
    for t in query::all_tasks(s.conn())? {
        titles.insert(t.id, t.title);
    }
    for p in query::tree(s.conn())? {
        titles.insert(p.id, p.title);
    }
    Ok(list
        .into_iter()
        .map(|q| {
            let p = &q.op.payload;
            let node = p
                .get("node")
                .or_else(|| p.get("src"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let title = node.as_ref().and_then(|n| titles.get(n)).cloned();
            json!({
                "id": q.op.id.to_string(),
                "kind": q.op.kind,
                "code": q.code,
                "reason": q.reason,
                "atMs": q.at_ms,
                "node": node,
                "field": p.get("field").and_then(Value::as_str),
                "title": title,
                "bytes": serde_json::to_string(p).map(|j| j.len()).unwrap_or(0),
            })
        })
        .collect())
}

/// One store, opened in the worker that owns it.
#[wasm_bindgen]
pub struct Client {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("storage", &self.inner.storage)
            .finish()
    }
}

#[wasm_bindgen]
impl Client {
    /// Open store `name` (OPFS, or memory when OPFS is unavailable: see `status().storage`).
    /// `identity` is what the page remembered of this device (`{device, hub, space, token}`); when the
    /// database is missing but the identity is known, the store is rebuilt under the same device and
    /// re-downloaded from the hub (`status().restored`).
    pub async fn open(name: String, identity: JsValue) -> Result<Client, JsValue> {
        Ok(Self::open_inner(&name, identity).await?)
    }

    async fn open_inner(name: &str, identity: JsValue) -> Result<Client> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::bad_argument(format!(
                "store name {name:?} must be letters, digits, '-' or '_'"
            )));
        }
        let identity: Identity = from_js(identity)?;
        let restored = Cell::new(false);
        let (store, storage) = store::open_with(
            name,
            std::sync::Arc::new(store::BrowserEnv),
            Options::default(),
            |conn| {
                if let Some(device) = &identity.device {
                    let pairing = match (&identity.hub, &identity.space, &identity.token) {
                        (Some(hub), Some(space), Some(token)) => Some(Pairing { hub, space, token }),
                        _ => None,
                    };
                    restored.set(edit::restore_identity(conn, device, pairing)?);
                }
                Ok(())
            },
        )
        .await?;
        let inner = Rc::new(Inner {
            store: RefCell::new(store),
            storage,
            restored: restored.get(),
            listeners: RefCell::new(Vec::new()),
            driver: RefCell::new(None),
            sync_state: RefCell::new("idle".into()),
            last_error: RefCell::new(None),
            closed: Cell::new(false),
        });
        let client = Client { inner };
        if client.inner.kv(keys::TOKEN)?.is_some() {
            client.start_sync_inner()?;
        }
        Ok(client)
    }

    /// What the page should remember outside the database: `{device, hub, space, token}`.
    pub fn identity(&self) -> Result<JsValue, JsValue> {
        let id = Identity {
            device: Some(self.inner.store.borrow().device().to_string()),
            hub: self.inner.kv(keys::HUB)?,
            space: self.inner.kv(keys::SPACE)?,
            token: self.inner.kv(keys::TOKEN)?,
        };
        Ok(to_js(&id)?)
    }

    /// Pair with the hub at `hub` (its base URL) using a one-time `code`, then sync.
    /// Returns `{space, device}`.
    pub async fn pair(&self, hub: String, code: String, name: String) -> Result<JsValue, JsValue> {
        Ok(self.pair_inner(hub, code, name).await?)
    }

    async fn pair_inner(&self, hub: String, code: String, name: String) -> Result<JsValue> {
        if self.inner.kv(keys::TOKEN)?.is_some() {
            return Err(Error::bad_argument(
                "this store is already paired; open another store name to pair again",
            ));
        }
        let hub = hub.trim_end_matches('/').to_owned();
        let device = self.inner.store.borrow().device();
        let resp = crate::sync::pair(&hub, code.trim(), &name, device).await?;
        if resp.device != device {
            return Err(Error::new(
                codes::HUB,
                "the hub assigned another device id; update Hearth",
            ));
        }
        {
            let s = self.inner.store.borrow();
            s.kv_set(keys::HUB, &hub)?;
            s.kv_set(keys::SPACE, &resp.space)?;
            s.kv_set(keys::TOKEN, &resp.token)?;
            s.kv_set(keys::NAME, &name)?;
        }
        self.start_sync_inner()?;
        to_js(&json!({"space": resp.space, "device": resp.device}))
    }

    /// Run an edit verb on the store, then tell the subscribers and the sync driver.
    fn edit(&self, verb: impl FnOnce(&mut Store) -> hearth_core::Result<Edited>) -> Result<Edited> {
        let edited = verb(&mut self.inner.store.borrow_mut())?;
        // `sync: true`: a sync round follows at once, which says "syncing" and then how it ended (the
        // page may wait for its end to refresh what the round changes too, such as the unsent count).
        let syncs = self.inner.driver.borrow().is_some() && crate::sync::online();
        self.inner.emit(&json!({
            "source": "local",
            "ops": edited.ops.len(),
            "sync": syncs,
        }));
        if let Some(d) = self.inner.driver.borrow().as_ref() {
            d.local_edit();
        }
        Ok(edited)
    }

    /// A node by full id or id prefix.
    fn resolve(&self, key: &str) -> Result<String> {
        Ok(edit::resolve(self.inner.store.borrow().conn(), key)?)
    }

    /// Create a project; `opts` may give `{parent, id}`. Returns its id.
    #[wasm_bindgen(js_name = createProject)]
    pub fn create_project(&self, title: String, opts: JsValue) -> Result<String, JsValue> {
        let opts: ProjectInit = from_js(opts)?;
        let parent = opts.parent.as_deref().map(|p| self.resolve(p)).transpose()?;
        let edited = self.edit(|s| edit::create_project(s, &title, parent.as_deref(), opts.id))?;
        Ok(edited.node)
    }

    /// Create a task; `opts` may give `{project, due, priority, notes, id}`. Returns its id.
    #[wasm_bindgen(js_name = createTask)]
    pub fn create_task(&self, title: String, opts: JsValue) -> Result<String, JsValue> {
        let opts: TaskInit = from_js(opts)?;
        let project = opts.project.as_deref().map(|p| self.resolve(p)).transpose()?;
        let task = NewTask {
            title,
            project,
            due: opts.due,
            priority: opts.priority,
            notes: opts.notes,
            id: opts.id,
        };
        Ok(self.edit(|s| edit::create_task(s, task))?.node)
    }

    /// Set a field of a node to any JSON value (`status`, `due` and `priority` are task fields and
    /// are checked: a date `YYYY-MM-DD`, an integer, or null).
    pub fn set(&self, id: String, field: String, value: JsValue) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        let value: Value = crate::js::json(value)?;
        self.edit(|s| edit::set_field(s, &id, &field, value))?;
        Ok(())
    }

    /// Move a node under `parent` (a project), or to the top level with `null`.
    #[wasm_bindgen(js_name = "move")]
    pub fn move_node(&self, id: String, parent: JsValue) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        let parent = opt_str(&parent).map(|p| self.resolve(&p)).transpose()?;
        self.edit(|s| edit::move_node(s, &id, parent.as_deref()))?;
        Ok(())
    }

    /// Put a task (or project) just `"before"` or `"after"` another one, in that one's list (moving it
    /// there if needed): its manual order, which syncs and converges.
    pub fn place(&self, id: String, side: String, target: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        let target = self.resolve(&target)?;
        let place = match side.as_str() {
            "before" => edit::Place::Before(&target),
            "after" => edit::Place::After(&target),
            other => {
                return Err(Error::bad_argument(format!(
                    "side must be \"before\" or \"after\", not {other:?}"
                ))
                .into());
            }
        };
        self.edit(|s| edit::place(s, &id, place))?;
        Ok(())
    }

    /// Mark a task done.
    pub fn complete(&self, id: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.edit(|s| edit::complete(s, &id))?;
        Ok(())
    }

    /// Mark a task open again.
    pub fn reopen(&self, id: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.edit(|s| edit::reopen(s, &id))?;
        Ok(())
    }

    /// Delete a node (a tombstone: `restore` brings it back).
    pub fn delete(&self, id: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.edit(|s| edit::delete(s, &id))?;
        Ok(())
    }

    /// Restore a deleted node.
    pub fn restore(&self, id: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.edit(|s| edit::restore(s, &id))?;
        Ok(())
    }

    /// Give a task (or any node) the label `name`, made when no label has that name yet.
    pub fn label(&self, id: String, name: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.edit(|s| edit::label(s, &id, &name))?;
        Ok(())
    }

    /// Take the label `name` off a task.
    pub fn unlabel(&self, id: String, name: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.edit(|s| edit::unlabel(s, &id, &name))?;
        Ok(())
    }

    /// Every label, by name, with its open tasks: `[{id, name, open}]`.
    pub fn labels(&self) -> Result<JsValue, JsValue> {
        let rows = query::labels(self.inner.store.borrow().conn()).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// Live tasks carrying the label `name`, in list order (the rows `tasks` gives).
    #[wasm_bindgen(js_name = tasksLabelled)]
    pub fn tasks_labelled(&self, name: String) -> Result<JsValue, JsValue> {
        let rows = query::tasks_labelled(self.inner.store.borrow().conn(), &name).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// Add a comment to a task. Returns the comment's id.
    #[wasm_bindgen(js_name = addComment)]
    pub fn add_comment(&self, id: String, text: String) -> Result<String, JsValue> {
        let id = self.resolve(&id)?;
        let edited = self.edit(|s| edit::add_comment(s, &id, &text))?;
        Ok(edited.ops.first().map(|op| op.id.to_string()).unwrap_or_default())
    }

    /// The comments on a task, oldest first: `[{id, node, text, at_ms, device, device_name}]`
    /// (`device_name` as the hub last listed it, "this device" for this one's, or null).
    pub fn comments(&self, id: String) -> Result<JsValue, JsValue> {
        let s = self.inner.store.borrow();
        let id = edit::resolve(s.conn(), &id).map_err(Error::from)?;
        let names = hearth_core::conflicts::device_names(s.conn()).map_err(Error::from)?;
        let me = s.device().to_string();
        let rows: Vec<Value> = query::comments(s.conn(), &id)
            .map_err(Error::from)?
            .into_iter()
            .map(|c| {
                let name = if c.device == me {
                    Some("this device".to_owned())
                } else {
                    names.get(&c.device).cloned()
                };
                serde_json::json!({"id": c.id, "node": c.node, "text": c.text, "at_ms": c.at_ms,
                                   "device": c.device, "device_name": name})
            })
            .collect();
        Ok(to_js(&rows)?)
    }

    /// The project tree with open-task counts: `[{id, title, depth, parent, open, open_total}]`.
    pub fn tree(&self) -> Result<JsValue, JsValue> {
        let rows = query::tree(self.inner.store.borrow().conn()).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// Tasks of a project (id or name), or of the inbox with `null`.
    pub fn tasks(&self, project: JsValue) -> Result<JsValue, JsValue> {
        let project = opt_str(&project).map(|p| self.resolve(&p)).transpose()?;
        let rows = query::tasks(self.inner.store.borrow().conn(), project.as_deref()).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// Tasks with a due date, overdue first (before `day`, `YYYY-MM-DD`; default: the local date).
    pub fn agenda(&self, day: JsValue) -> Result<JsValue, JsValue> {
        let day = opt_str(&day).unwrap_or_else(today);
        let rows = query::agenda(self.inner.store.borrow().conn(), &day).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// The sidebar's counts of open tasks, `{inbox, today, upcoming}` (Today: overdue or due by
    /// `day`, `YYYY-MM-DD`; default: the local date).
    pub fn counts(&self, day: JsValue) -> Result<JsValue, JsValue> {
        let day = opt_str(&day).unwrap_or_else(today);
        let counts = query::counts(self.inner.store.borrow().conn(), &day).map_err(Error::from)?;
        Ok(to_js(&counts)?)
    }

    /// Nodes whose title contains `text`.
    pub fn search(&self, text: String) -> Result<JsValue, JsValue> {
        let rows = query::search(self.inner.store.borrow().conn(), &text).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// Deleted tasks, projects and notes, most recently deleted first (`restore` brings one back):
    /// `[{id, type, title, deleted_ms}]`.
    pub fn trash(&self) -> Result<JsValue, JsValue> {
        let rows = query::deleted(self.inner.store.borrow().conn()).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// Done and cancelled tasks, most recently finished first: the tasks' fields as `tasks()` gives
    /// them, and `done_ms`.
    pub fn logbook(&self) -> Result<JsValue, JsValue> {
        let rows = query::logbook(self.inner.store.borrow().conn()).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// A due date as typed (`fri`, `tomorrow`, `+3`, `2026-12-24`, …) as `YYYY-MM-DD`, relative to
    /// `day` (`YYYY-MM-DD`; default: the local date), by the parser the CLI uses. Throws
    /// `bad_argument` with a sentence saying what is accepted.
    #[wasm_bindgen(js_name = parseDue)]
    pub fn parse_due(&self, input: String, day: JsValue) -> Result<String, JsValue> {
        let day = opt_str(&day).unwrap_or_else(today);
        Ok(hearth_core::dates::parse_due_iso(&input, &day).map_err(Error::bad_argument)?)
    }

    /// The canonical export (identical bytes on converged replicas).
    pub fn export(&self) -> Result<String, JsValue> {
        Ok(self.inner.store.borrow().export().map_err(Error::from)?)
    }

    /// SQLite's `PRAGMA integrity_check` of the store's database: `"ok"`, or the problems it found, one
    /// a line. Reads the whole file, so it takes a while on a large store.
    #[wasm_bindgen(js_name = integrityCheck)]
    pub fn integrity_check(&self) -> Result<String, JsValue> {
        let s = self.inner.store.borrow();
        let mut stmt = s.conn().prepare("PRAGMA integrity_check").map_err(Error::from)?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(Error::from)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(Error::from)?;
        Ok(lines.join("\n"))
    }

    /// `{device, name, storage, restored, paired, hub, space, cursor, unsent, quarantined, conflicts,
    /// lastSyncMs, sync, error, lastRecovery}`; `name` is the name this device was paired under,
    /// `quarantined` the number of changes set aside (see `quarantined()`), `conflicts` the number of
    /// open conflicts (see `conflicts()`), `lastRecovery` is `{recovered, message}` of
    /// the last restore from the hub's snapshot (as in the change event), or null.
    pub fn status(&self) -> Result<JsValue, JsValue> {
        let s = self.inner.store.borrow();
        let status = json!({
            "device": s.device().to_string(),
            "name": s.kv_get(keys::NAME).map_err(Error::from)?,
            "storage": self.inner.storage,
            "restored": self.inner.restored,
            "paired": s.kv_get(keys::TOKEN).map_err(Error::from)?.is_some(),
            "hub": s.kv_get(keys::HUB).map_err(Error::from)?,
            "space": s.kv_get(keys::SPACE).map_err(Error::from)?,
            "cursor": s.cursor().map_err(Error::from)?,
            "unsent": s.outbox_len().map_err(Error::from)?,
            "quarantined": s.quarantined().map_err(Error::from)?.len(),
            "conflicts": hearth_core::conflicts::open(s.conn()).map_err(Error::from)?.len(),
            "lastSyncMs": s.kv_get(keys::LAST_SYNC).map_err(Error::from)?.and_then(|v| v.parse::<u64>().ok()),
            "sync": *self.inner.sync_state.borrow(),
            "error": *self.inner.last_error.borrow(),
            "schemaVersion": crate::schema_version(),
            "lastRecovery": last_recovery(&s)?,
        });
        Ok(to_js(&status)?)
    }

    /// Fields changed on two devices at once, the value shown and the other one kept: `[{id, op,
    /// node, title, field, kept, kept_op, kept_device, kept_device_name, value, device, device_name,
    /// at_ms}]` (device names as the hub last listed them, or null). With a node id, only its own.
    pub fn conflicts(&self, node: JsValue) -> Result<JsValue, JsValue> {
        let s = self.inner.store.borrow();
        let rows = match opt_str(&node) {
            Some(n) => hearth_core::conflicts::of_node(s.conn(), &n),
            None => hearth_core::conflicts::open(s.conn()),
        }
        .map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// Restore the other value of a conflict (`restore`), or keep the value shown: an ordinary
    /// change that syncs, after which the conflict leaves every device's list.
    #[wasm_bindgen(js_name = resolveConflict)]
    pub fn resolve_conflict(&self, id: String, restore: bool) -> Result<(), JsValue> {
        self.edit(|s| edit::resolve_conflict(s, &id, restore))?;
        Ok(())
    }

    /// This device's changes the hub refuses as they are (e.g. over its payload limit), set aside so
    /// that the rest syncs: `[{id, kind, code, reason, atMs, node, field, title, bytes}]`, oldest first.
    /// Their effect stays applied here.
    pub fn quarantined(&self) -> Result<JsValue, JsValue> {
        let rows = quarantined_rows(&self.inner.store.borrow())?;
        Ok(to_js(&rows)?)
    }

    /// Release a set-aside change: with `retry`, back to the outbox (pushed on the next round, e.g.
    /// after the hub's limits changed); without, dropped (its effect stays on this device until a later
    /// change overwrites it, and the other devices never get it). Then tells the subscribers
    /// (`{source: "local", ops: 0}`).
    #[wasm_bindgen(js_name = releaseQuarantined)]
    pub fn release_quarantined(&self, id: String, retry: bool) -> Result<(), JsValue> {
        Ok(self.release_inner(&id, retry)?)
    }

    fn release_inner(&self, id: &str, retry: bool) -> Result<()> {
        let op: hearth_core::OpId = id
            .trim()
            .parse()
            .map_err(|_| Error::bad_argument(format!("{id:?} is not a change id")))?;
        if !self.inner.store.borrow_mut().release_quarantined(op, retry)? {
            return Err(Error::new(
                codes::NOT_FOUND,
                format!("no set-aside change {id}; it may have been released already"),
            ));
        }
        self.inner.emit(&json!({"source": "local", "ops": 0}));
        if retry && let Some(d) = self.inner.driver.borrow().as_ref() {
            d.local_edit();
        }
        Ok(())
    }

    /// The hub's network view of the space: `{device, peers: [{device, name, acked, last_seen_ms,
    /// app_version, schema_version, state}], head, horizon, compacted, snapshot_seq, log_rows}`, where
    /// `device` is this device's id. Needs the hub: fails with `network` when offline or the hub
    /// cannot be reached, and `not_paired` before pairing.
    pub async fn peers(&self) -> Result<JsValue, JsValue> {
        Ok(self.peers_inner().await?)
    }

    async fn peers_inner(&self) -> Result<JsValue> {
        let Some((hub, space, token)) = self.inner.paired()? else {
            return Err(Error::new(
                codes::NOT_PAIRED,
                "this device is not paired with a hub, so there is no list of devices; pair first",
            ));
        };
        let view = crate::sync::peers(&hub, &space, &token).await?;
        hearth_core::conflicts::remember_names(&self.inner.store.borrow(), &view.peers)?;
        let mut v = serde_json::to_value(&view)?;
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "device".into(),
                json!(self.inner.store.borrow().device().to_string()),
            );
        }
        to_js(&v)
    }

    /// Call `listener(event)` after every change: `{source: "local"|"remote", ops}`,
    /// `{source: "sync", state, error}`, `{source: "sync", recovered, message}` after a restore from
    /// the hub's snapshot, or `{source: "sync", quarantined: [{id, reason}]}` when a round set changes
    /// aside.
    pub fn subscribe(&self, listener: js_sys::Function) {
        self.inner.listeners.borrow_mut().push(listener);
    }

    /// Run a sync round now and return its report (`{pushed, pulled, unsent, cursor, head, problem…}`).
    #[wasm_bindgen(js_name = syncNow)]
    pub async fn sync_now(&self) -> Result<JsValue, JsValue> {
        let driver = self.inner.driver.borrow().clone().ok_or_else(|| {
            Error::new(
                codes::NOT_PAIRED,
                "this store is not paired with a hub; pair first",
            )
        })?;
        let report = driver.round(self.inner.as_ref()).await?;
        Ok(to_js(&report)?)
    }

    fn start_sync_inner(&self) -> Result<()> {
        if self.inner.driver.borrow().is_some() || self.inner.closed.get() {
            return Ok(());
        }
        let Some((hub, space, token)) = self.inner.paired()? else {
            return Err(Error::new(
                codes::NOT_PAIRED,
                "this store is not paired with a hub; pair first",
            ));
        };
        let driver = Rc::new(Driver::new(hub, space, token));
        *self.inner.driver.borrow_mut() = Some(driver.clone());
        driver.start(Rc::downgrade(&self.inner));
        Ok(())
    }

    /// Stop syncing and release the store (the worker is about to end).
    pub fn close(&self) {
        self.inner.closed.set(true);
        if let Some(d) = self.inner.driver.borrow_mut().take() {
            d.stop();
        }
        self.inner.listeners.borrow_mut().clear();
    }

    /// Apply the apply benchmark's 100,000 ops (see [`crate::bench`]) into a fresh store `name` in
    /// this worker's storage; returns `{ops, seconds, opsPerSec, checksum, storage}`.
    #[cfg(feature = "bench")]
    #[wasm_bindgen(js_name = benchApply)]
    pub async fn bench_apply(name: String) -> Result<JsValue, JsValue> {
        Ok(crate::worker::bench_apply(&name).await?)
    }
}
