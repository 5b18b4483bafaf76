//! What the store's queries answer, as the UI reads them (the JSON of `hearth_core::query`'s rows; the
//! UI does not link the core itself, which lives in the store's worker).

use serde::Deserialize;

/// One project in the sidebar, in pre-order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct TreeEntry {
    /// Node id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Nesting depth, 0 at the top level.
    pub depth: usize,
    /// Parent project.
    pub parent: Option<String>,
    /// Open tasks directly in the project.
    pub open: u64,
    /// Open tasks in the project and its sub-projects.
    pub open_total: u64,
}

/// A task.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Task {
    /// Node id.
    pub id: String,
    /// Title.
    pub title: String,
    /// `open` or `done`.
    pub status: String,
    /// Due date `YYYY-MM-DD`.
    pub due: Option<String>,
    /// Priority, 1 highest.
    pub priority: Option<i64>,
    /// Project.
    pub parent: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// The names of its labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// How many comments it has.
    #[serde(default)]
    pub comments: u32,
}

/// A label with its open tasks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Label {
    /// The label node's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Open tasks carrying it.
    pub open: u32,
}

/// A comment on a task.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    /// Its id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// When it was written (ms since the Unix epoch).
    pub at_ms: u64,
    /// The device that wrote it, by name when known ("this device" for this one).
    pub device_name: Option<String>,
    /// The device's id.
    pub device: String,
}

impl Comment {
    /// Who wrote it: the device's name, or the start of its id.
    pub fn author(&self) -> String {
        self.device_name
            .clone()
            .unwrap_or_else(|| format!("device {}", &self.device[..self.device.len().min(8)]))
    }
}

impl Task {
    /// Done (or otherwise closed).
    pub fn is_done(&self) -> bool {
        self.status == "done" || self.status == "cancelled"
    }
}

/// The sidebar's counts of open tasks (the store computes them with the lists' own rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct Counts {
    /// Open tasks in the Inbox.
    pub inbox: usize,
    /// Open tasks overdue or due today.
    pub today: usize,
    /// Open tasks due after today.
    pub upcoming: usize,
}

/// An agenda entry: a task and whether it is overdue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AgendaRow {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// Due before today.
    pub overdue: bool,
}

/// A finished (done or cancelled) task in the Logbook, with when it was finished.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Finished {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// When it was finished, ms since the Unix epoch.
    #[serde(default)]
    pub done_ms: Option<f64>,
}

/// A deleted task, project or note in Recently deleted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Trashed {
    /// Node id.
    pub id: String,
    /// `task`, `project` or `note`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// When it was deleted, ms since the Unix epoch.
    #[serde(default)]
    pub deleted_ms: Option<f64>,
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Hit {
    /// Node id.
    pub id: String,
    /// `project` or `task`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Title.
    pub title: String,
    /// The project it sits in.
    #[serde(default)]
    pub parent: Option<String>,
    /// A task's status (`open`, `done`, `cancelled`).
    #[serde(default)]
    pub status: Option<String>,
    /// A task's due date.
    #[serde(default)]
    pub due: Option<String>,
    /// A task's priority.
    #[serde(default)]
    pub priority: Option<i64>,
    /// The text matched the notes, not the title.
    #[serde(default)]
    pub in_notes: bool,
}

/// Pairing and sync state: the parts of the store's `status()` the UI shows (other keys are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// This device's id.
    #[serde(default)]
    pub device: String,
    /// The name this device was paired under.
    #[serde(default)]
    pub name: Option<String>,
    /// Paired with a hub.
    pub paired: bool,
    /// The hub's URL.
    pub hub: Option<String>,
    /// Local changes the hub has not confirmed yet.
    pub unsent: u64,
    /// Changes of this device the hub refuses as they are, set aside (not counted in `unsent`).
    #[serde(default)]
    pub quarantined: u64,
    /// Fields changed on two devices at once, the other value kept (see the store's `conflicts()`).
    #[serde(default)]
    pub conflicts: u64,
    /// The end of the last successful sync round, ms since the Unix epoch.
    #[serde(default)]
    pub last_sync_ms: Option<u64>,
    /// `idle`, `syncing`, `synced`, `offline`, `update` or `error`.
    pub sync: String,
    /// The last sync problem, for people.
    pub error: Option<String>,
    /// The last restore from the hub's snapshot, if any.
    #[serde(default)]
    pub last_recovery: Option<RecoveryNote>,
}

/// A restore from the hub's snapshot (this device was behind the hub's horizon), as the store reports
/// it: in the change event `{source: "sync", recovered, message}` and in `status().lastRecovery`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecoveryNote {
    /// What was restored.
    pub recovered: Recovery,
    /// The sentence to show.
    pub message: String,
}

/// The parts of the engine's `Recovery` the UI reads (other keys are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Recovery {
    /// The snapshot's seq.
    pub snapshot_seq: u64,
    /// Unsent changes kept and pushed.
    pub kept: u64,
    /// A first sync of an empty store, checked against the snapshot's digest (nothing to tell).
    pub verified: bool,
    /// When, in ms since the Unix epoch: tells one recovery from another.
    pub at_ms: u64,
}

/// A change of this device the hub refuses as it is (over its payload limit, …), set aside so the
/// rest syncs: one entry of the store's `quarantined()`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantined {
    /// The op id.
    pub id: String,
    /// The op's kind (`node.set`, `node.create`, …).
    pub kind: String,
    /// Why: the hub's error code, or `untranslatable` for a change that could not be carried into the
    /// space's new form (a whole-space migration).
    #[serde(default)]
    pub code: String,
    /// The hub's reason, or the migration's.
    pub reason: String,
    /// When it was set aside, ms since the Unix epoch.
    pub at_ms: u64,
    /// The field it sets, if it sets one.
    #[serde(default)]
    pub field: Option<String>,
    /// The title of the node it changes, here.
    #[serde(default)]
    pub title: Option<String>,
    /// The size of its payload in bytes.
    #[serde(default)]
    pub bytes: u64,
}

/// A change set aside in this round, as the change event `{source: "sync", quarantined}` tells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SetAside {
    /// The op id.
    pub id: String,
    /// The hub's reason.
    pub reason: String,
}

/// The change event of a round that set changes aside.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SetAsideEvent {
    /// What was set aside.
    pub quarantined: Vec<SetAside>,
}

/// The hub's network view of the space (the store's `peers()`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Peers {
    /// This device's id.
    pub device: String,
    /// Every device paired to the space.
    pub peers: Vec<Peer>,
    /// The highest seq the hub has committed.
    pub head: u64,
    /// The space's epoch (1 until a whole-space migration).
    #[serde(default = "first_epoch")]
    pub epoch: u64,
}

fn first_epoch() -> u64 {
    1
}

/// One device of the space, as the hub last saw it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Peer {
    /// Device id.
    pub device: String,
    /// The name it was paired under.
    pub name: String,
    /// The highest seq it acknowledged.
    pub acked: u64,
    /// Its last request, ms since the Unix epoch.
    pub last_seen_ms: u64,
    /// The app version it last reported.
    pub app_version: String,
    /// The epoch its data was in at its last sync (0: not reported since the hub started).
    #[serde(default)]
    pub epoch: u64,
    /// `active`, `inactive` or `behind_horizon`.
    pub state: String,
}

/// A field changed on two devices at once: the value shown (`kept`) and the other one, kept so the
/// person can restore it (one entry of the store's `conflicts()`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Conflict {
    /// Its short id.
    pub id: String,
    /// The task (or project) it is on.
    pub node: String,
    /// `title`, `due`, `priority`, `status`, `notes`, …
    pub field: String,
    /// The value shown.
    pub kept: serde_json::Value,
    /// The other value.
    pub value: serde_json::Value,
    /// The device that wrote the other value.
    pub device: String,
    /// Its name, when known.
    #[serde(default)]
    pub device_name: Option<String>,
}

impl Conflict {
    /// "Laptop", or "another device" when its name is not known here.
    pub fn device_label(&self) -> String {
        self.device_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "another device".to_owned())
    }

    /// The field as a person names it.
    pub fn field_label(&self) -> String {
        match self.field.as_str() {
            "title" => "Title".into(),
            "due" => "Due".into(),
            "priority" => "Priority".into(),
            "status" => "Status".into(),
            "notes" => "Notes".into(),
            other => other.to_owned(),
        }
    }

    /// The other value as a person reads it.
    pub fn value_label(&self) -> String {
        use serde_json::Value;
        match (&self.value, self.field.as_str()) {
            (Value::Null, "due") => "no due date".into(),
            (Value::Null, "priority") => "no priority".into(),
            (Value::Null, _) => "empty".into(),
            (Value::Number(n), "priority") => n.as_i64().map_or_else(|| format!("P{n}"), priority_label),
            (Value::String(s), "status") if s == "done" => "done".into(),
            (Value::String(s), "status") if s == "open" => "not done".into(),
            (Value::String(s), _) => format!("“{s}”"),
            (v, _) => v.to_string(),
        }
    }
}

/// The priorities, 1 highest, as every screen names them: the chip says `P1`, a menu `P1 · urgent`.
pub const PRIORITIES: [(i64, &str); 4] = [(1, "urgent"), (2, "high"), (3, "normal"), (4, "low")];

/// What a priority menu offers for "none".
pub const NO_PRIORITY: &str = "No priority";

/// `P1 · urgent` (a menu entry, and the chip's tooltip); `P7` for a value outside the scale.
pub fn priority_label(p: i64) -> String {
    match PRIORITIES.iter().find(|(v, _)| *v == p) {
        Some((_, name)) => format!("P{p} · {name}"),
        None => format!("P{p}"),
    }
}

/// `YYYY-MM-DD` (what a date picker takes).
pub fn is_iso_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// A time as the browser writes local dates and times.
pub fn local_time(ms: u64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
        .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .into()
}
