//! [`Client`]: the JS-facing API over one store. It lives in the dedicated worker that owns the database
//! (`wasm/js/worker.js` creates it); tabs reach it through `wasm/js/hearth.js`.
//!
//! Writes go through [`hearth_core::Store::commit`] (the one apply path), queries through
//! [`hearth_core::query`]. After every change, local or pulled from the hub, subscribers are called with
//! `{source: "local" | "remote", ops}`, and with `{source: "sync", state}` when the sync state changes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use hearth_core::{NewOp, Options, Store, query};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use wasm_bindgen::prelude::*;

use crate::error::{Error, Result, codes};
use crate::store::{self, Storage};
use crate::sync::Driver;

/// `kv` keys shared with the command line's store (defined in core), so a browser store reads like a CLI one.
pub mod keys {
    pub use hearth_core::store::keys::{DEVICE_NAME as NAME, HUB_URL as HUB, LAST_SYNC, SPACE, TOKEN};
}

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
struct TaskInit {
    /// A node id chosen by the caller (makes a retried create idempotent).
    id: Option<String>,
    project: Option<String>,
    due: Option<String>,
    priority: Option<i64>,
    notes: Option<String>,
}

/// Options of `createProject`.
#[derive(Debug, Default, Deserialize)]
struct ProjectInit {
    id: Option<String>,
    parent: Option<String>,
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
    pub(crate) fn emit(&self, event: &Value) {
        let Ok(js) = to_js(event) else { return };
        let listeners = self.listeners.borrow().clone();
        for f in listeners {
            if let Err(e) = f.call1(&JsValue::NULL, &js) {
                web_sys::console::warn_2(&"hearth: a change listener threw".into(), &e);
            }
        }
    }

    pub(crate) fn set_sync_state(&self, state: &str, error: Option<String>) {
        *self.last_error.borrow_mut() = error.clone();
        if *self.sync_state.borrow() != state {
            *self.sync_state.borrow_mut() = state.to_owned();
            self.emit(&json!({"source": "sync", "state": state, "error": error}));
        }
    }

    fn kv(&self, key: &str) -> Result<Option<String>> {
        Ok(self.store.borrow().kv_get(key)?)
    }
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

pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue> {
    Ok(v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

fn from_js<T: for<'de> Deserialize<'de> + Default>(v: JsValue) -> Result<T> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    Ok(serde_wasm_bindgen::from_value(v)?)
}

fn opt_str(v: &JsValue) -> Option<String> {
    v.as_string()
}

fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// Whether a raw connection already holds a store (its device id).
fn has_device(conn: &rusqlite::Connection) -> Result<bool> {
    let table: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'kv'",
        [],
        |r| r.get(0),
    )?;
    if table == 0 {
        return Ok(false);
    }
    let device: i64 = conn.query_row(
        "SELECT count(*) FROM kv WHERE key = ?1",
        [hearth_core::store::keys::DEVICE],
        |r| r.get(0),
    )?;
    Ok(device > 0)
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
                if let Some(device) = &identity.device
                    && !has_device(conn)?
                {
                    let device: hearth_core::DeviceId = device.parse()?;
                    hearth_core::migrate::migrate(conn)?;
                    let set = |k: &str, v: &str| -> Result<()> {
                        conn.execute(
                            "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            [k, v],
                        )?;
                        Ok(())
                    };
                    set(hearth_core::store::keys::DEVICE, &device.to_string())?;
                    if let (Some(h), Some(s), Some(t)) = (&identity.hub, &identity.space, &identity.token) {
                        set(keys::HUB, h)?;
                        set(keys::SPACE, s)?;
                        set(keys::TOKEN, t)?;
                    }
                    restored.set(true);
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

    fn commit(&self, ops: Vec<NewOp>) -> Result<usize> {
        let n = self.inner.store.borrow_mut().commit(ops)?.len();
        self.inner.emit(&json!({"source": "local", "ops": n}));
        if let Some(d) = self.inner.driver.borrow().as_ref() {
            d.local_edit();
        }
        Ok(n)
    }

    fn resolve(&self, key: &str) -> Result<String> {
        Ok(query::resolve(self.inner.store.borrow().conn(), key)?)
    }

    fn new_id(&self, chosen: Option<String>) -> Result<String> {
        match chosen {
            Some(id) if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(id)
            }
            Some(id) => Err(Error::bad_argument(format!("{id:?} is not a usable node id"))),
            None => Ok(self.inner.store.borrow().new_node_id()),
        }
    }

    /// Create a project; `opts` may give `{parent, id}`. Returns its id.
    #[wasm_bindgen(js_name = createProject)]
    pub fn create_project(&self, title: String, opts: JsValue) -> Result<String, JsValue> {
        let opts: ProjectInit = from_js(opts)?;
        let parent = opts.parent.as_deref().map(|p| self.resolve(p)).transpose()?;
        let id = self.new_id(opts.id)?;
        let mut fields = Map::new();
        fields.insert("title".into(), json!(title));
        let mut ops = vec![NewOp::create(&id, "project", fields)];
        if let Some(p) = parent {
            ops.push(NewOp::link_add(&id, &p, hearth_core::op::PARENT));
        }
        self.commit(ops)?;
        Ok(id)
    }

    /// Create a task; `opts` may give `{project, due, priority, notes, id}`. Returns its id.
    #[wasm_bindgen(js_name = createTask)]
    pub fn create_task(&self, title: String, opts: JsValue) -> Result<String, JsValue> {
        let opts: TaskInit = from_js(opts)?;
        let project = opts.project.as_deref().map(|p| self.resolve(p)).transpose()?;
        let id = self.new_id(opts.id)?;
        let mut fields = Map::new();
        fields.insert("title".into(), json!(title));
        fields.insert("status".into(), json!("open"));
        if let Some(d) = opts.due {
            fields.insert("due".into(), json!(d));
        }
        if let Some(p) = opts.priority {
            fields.insert("priority".into(), json!(p));
        }
        if let Some(n) = opts.notes {
            fields.insert("notes".into(), json!(n));
        }
        let mut ops = vec![NewOp::create(&id, "task", fields)];
        if let Some(p) = project {
            ops.push(NewOp::link_add(&id, &p, hearth_core::op::PARENT));
        }
        self.commit(ops)?;
        Ok(id)
    }

    /// Set a field of a node to any JSON value (`status`, `due` and `priority` are task fields and
    /// are checked: a date `YYYY-MM-DD`, an integer, or null).
    pub fn set(&self, id: String, field: String, value: JsValue) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        let value: Value = if value.is_undefined() {
            Value::Null
        } else {
            serde_wasm_bindgen::from_value(value).map_err(Error::from)?
        };
        let op = match field.as_str() {
            "status" | "due" | "priority" => NewOp::task_set(&id, &field, value),
            "deleted" | "" => {
                return Err(Error::bad_argument(format!(
                    "field {field:?} cannot be set directly; use delete/restore"
                ))
                .into());
            }
            _ => NewOp::set(&id, &field, value),
        };
        self.commit(vec![op])?;
        Ok(())
    }

    /// Move a node under `parent` (a project), or to the top level with `null`.
    #[wasm_bindgen(js_name = "move")]
    pub fn move_node(&self, id: String, parent: JsValue) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        let parent = opt_str(&parent).map(|p| self.resolve(&p)).transpose()?;
        let ops = self
            .inner
            .store
            .borrow()
            .move_ops(&id, parent.as_deref())
            .map_err(Error::from)?;
        self.commit(ops)?;
        Ok(())
    }

    /// Mark a task done.
    pub fn complete(&self, id: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.commit(vec![NewOp::task_set(&id, "status", json!("done"))])?;
        Ok(())
    }

    /// Mark a task open again.
    pub fn reopen(&self, id: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.commit(vec![NewOp::task_set(&id, "status", json!("open"))])?;
        Ok(())
    }

    /// Delete a node (a tombstone: `restore` brings it back).
    pub fn delete(&self, id: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.commit(vec![NewOp::delete(&id)])?;
        Ok(())
    }

    /// Restore a deleted node.
    pub fn restore(&self, id: String) -> Result<(), JsValue> {
        let id = self.resolve(&id)?;
        self.commit(vec![NewOp::set(&id, "deleted", json!(false))])?;
        Ok(())
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

    /// Nodes whose title contains `text`.
    pub fn search(&self, text: String) -> Result<JsValue, JsValue> {
        let rows = query::search(self.inner.store.borrow().conn(), &text).map_err(Error::from)?;
        Ok(to_js(&rows)?)
    }

    /// The canonical export (identical bytes on converged replicas).
    pub fn export(&self) -> Result<String, JsValue> {
        Ok(self.inner.store.borrow().export().map_err(Error::from)?)
    }

    /// `{device, storage, restored, paired, hub, space, cursor, unsent, lastSyncMs, sync, error}`.
    pub fn status(&self) -> Result<JsValue, JsValue> {
        let s = self.inner.store.borrow();
        let status = json!({
            "device": s.device().to_string(),
            "storage": self.inner.storage,
            "restored": self.inner.restored,
            "paired": s.kv_get(keys::TOKEN).map_err(Error::from)?.is_some(),
            "hub": s.kv_get(keys::HUB).map_err(Error::from)?,
            "space": s.kv_get(keys::SPACE).map_err(Error::from)?,
            "cursor": s.cursor().map_err(Error::from)?,
            "unsent": s.outbox_len().map_err(Error::from)?,
            "lastSyncMs": s.kv_get(keys::LAST_SYNC).map_err(Error::from)?.and_then(|v| v.parse::<u64>().ok()),
            "sync": *self.inner.sync_state.borrow(),
            "error": *self.inner.last_error.borrow(),
            "schemaVersion": crate::schema_version(),
        });
        Ok(to_js(&status)?)
    }

    /// Call `listener(event)` after every change: `{source: "local"|"remote", ops}` or
    /// `{source: "sync", state, error}`.
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
        let report = driver.round(&self.inner).await?;
        Ok(to_js(&report)?)
    }

    fn start_sync_inner(&self) -> Result<()> {
        if self.inner.driver.borrow().is_some() || self.inner.closed.get() {
            return Ok(());
        }
        let (Some(hub), Some(space), Some(token)) = (
            self.inner.kv(keys::HUB)?,
            self.inner.kv(keys::SPACE)?,
            self.inner.kv(keys::TOKEN)?,
        ) else {
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
    #[wasm_bindgen(js_name = benchApply)]
    pub async fn bench_apply(name: String) -> Result<JsValue, JsValue> {
        Ok(crate::worker::bench_apply(&name).await?)
    }
}
