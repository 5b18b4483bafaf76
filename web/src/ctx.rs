//! The app's shared state, provided as context to every screen.
//!
//! State lives in one [`Ctx`] of signals. The store is the source of truth: every change (a local edit,
//! another tab's, ops pulled from the hub) bumps [`Ctx::version`], and the views that depend on it
//! reload from the store. Writes never wait for the network.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use crate::model::{Conflict, RecoveryNote, SetAsideEvent, Status, TreeEntry};
use crate::store;

/// What the main area shows (kept in the URL's hash, so reloads and the back button keep the place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Tasks with no project.
    Inbox,
    /// Overdue tasks and those due today.
    Today,
    /// Open tasks due after today, soonest first.
    Upcoming,
    /// Finished tasks, most recently finished first.
    Logbook,
    /// Deleted tasks, projects and notes, to restore.
    Trash,
    /// One project's tasks.
    Project(String),
    /// Search results.
    Search(String),
}

impl View {
    /// The view a URL hash (`#/project/42`) names; anything else is the Inbox.
    pub fn from_hash(hash: &str) -> View {
        let h = hash.trim_start_matches('#').trim_start_matches('/');
        let decode = |s: &str| {
            js_sys::decode_uri_component(s)
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_else(|| s.to_owned())
        };
        match h.split_once('/') {
            Some(("project", id)) if !id.is_empty() => View::Project(decode(id)),
            Some(("search", q)) => View::Search(decode(q)),
            _ if h == "today" => View::Today,
            _ if h == "upcoming" => View::Upcoming,
            _ if h == "logbook" => View::Logbook,
            _ if h == "trash" => View::Trash,
            _ => View::Inbox,
        }
    }

    fn to_hash(&self) -> String {
        let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
        match self {
            View::Inbox => "#/inbox".into(),
            View::Today => "#/today".into(),
            View::Upcoming => "#/upcoming".into(),
            View::Logbook => "#/logbook".into(),
            View::Trash => "#/trash".into(),
            View::Project(id) => format!("#/project/{}", enc(id)),
            View::Search(q) => format!("#/search/{}", enc(q)),
        }
    }
}

/// A message at the bottom of the screen, with an optional action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    /// Distinguishes toasts (a newer one replaces an older one).
    pub id: u64,
    /// The message.
    pub text: String,
    /// A node to restore when the person presses Undo.
    pub undo: Option<String>,
    /// An error (announced assertively).
    pub error: bool,
    /// Offer to open the sync details.
    pub details: bool,
}

/// Start-up state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// Opening the store.
    Opening,
    /// Opening the store, with the app already laid out: this device was paired the last time the
    /// app ran here. The data fills in once the store is open.
    Loading,
    /// The store is open.
    Ready,
    /// The store could not be opened: what happened and what to do.
    Failed(String),
}

/// The app's state, shared by every component (all fields are `Copy` signals).
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Start-up state.
    pub boot: RwSignal<Boot>,
    /// A sync round runs (or follows a local edit at once): set and cleared by the store's events.
    pub in_round: StoredValue<bool>,
    /// A change came during the round: the sidebar reloads when it ends.
    pub sidebar_stale: StoredValue<bool>,
    /// Bumped after every change to the store.
    pub version: RwSignal<u64>,
    /// The current view.
    pub view: RwSignal<View>,
    /// Device, pairing and sync state.
    pub status: RwSignal<Status>,
    /// The project tree with counts.
    pub tree: RwSignal<Vec<TreeEntry>>,
    /// Open tasks in the Inbox.
    pub inbox_open: RwSignal<usize>,
    /// Open tasks due today or overdue (what the Today list shows).
    pub today_open: RwSignal<usize>,
    /// Open tasks due after today (what the Upcoming list shows).
    pub upcoming_open: RwSignal<usize>,
    /// Projects whose sub-projects are hidden.
    pub collapsed: RwSignal<Vec<String>>,
    /// Lists (by their URL hash) that show their finished tasks.
    pub showing_done: RwSignal<Vec<String>>,
    /// The browser reports a network connection.
    pub online: RwSignal<bool>,
    /// A new build is installed and waiting.
    pub update_ready: RwSignal<bool>,
    /// The current toast.
    pub toast: RwSignal<Option<Toast>>,
    /// The navigation drawer is open (narrow screens).
    pub nav_open: RwSignal<bool>,
    /// The task whose editor is open.
    pub editing: RwSignal<Option<String>>,
    /// The keyboard shortcuts dialog is open.
    pub shortcuts: RwSignal<bool>,
    /// A task to show and focus once its list has loaded (opened from a search result).
    pub reveal: RwSignal<Option<String>>,
    /// The person chose to use the app before pairing.
    pub skip_pairing: RwSignal<bool>,
    /// A restore from the hub's snapshot not told yet (this tab was hidden when it happened).
    pub recovery: RwSignal<Option<RecoveryNote>>,
    /// The sync details panel is open.
    pub sync_panel: RwSignal<bool>,
    /// Open conflicts: fields changed on two devices at once.
    pub conflicts: RwSignal<Vec<Conflict>>,
}

const COLLAPSED_KEY: &str = "hearth:collapsed";
const SHOWING_DONE_KEY: &str = "hearth:showing-done";
const SKIP_PAIRING_KEY: &str = "hearth:skip-pairing";
/// The `at_ms` of the last restore from the hub's snapshot some tab of this app told the person about.
const RECOVERY_TOLD_KEY: &str = "hearth:recovery-told";

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Add `item` to the set or take it out, and keep the set in local storage under `key`.
fn toggle_remembered(set: RwSignal<Vec<String>>, key: &str, item: &str) {
    set.update(|c| {
        if let Some(i) = c.iter().position(|x| x == item) {
            c.remove(i);
        } else {
            c.push(item.to_owned());
        }
    });
    if let (Some(s), Ok(json)) = (local_storage(), serde_json::to_string(&set.get_untracked())) {
        let _ = s.set_item(key, &json);
    }
}

impl Ctx {
    /// The state at start-up: the view from the URL, the sidebar's collapsed projects and the pairing
    /// choice from local storage.
    pub fn new() -> Ctx {
        let stored = |key: &str| local_storage().and_then(|s| s.get_item(key).ok().flatten());
        let remembered = |key: &str| -> Vec<String> {
            stored(key)
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or_default()
        };
        let hash = window().location().hash().unwrap_or_default();
        Ctx {
            boot: RwSignal::new(Boot::Opening),
            in_round: StoredValue::new(false),
            sidebar_stale: StoredValue::new(false),
            version: RwSignal::new(0),
            view: RwSignal::new(View::from_hash(&hash)),
            status: RwSignal::new(Status::default()),
            tree: RwSignal::new(Vec::new()),
            inbox_open: RwSignal::new(0),
            today_open: RwSignal::new(0),
            upcoming_open: RwSignal::new(0),
            collapsed: RwSignal::new(remembered(COLLAPSED_KEY)),
            showing_done: RwSignal::new(remembered(SHOWING_DONE_KEY)),
            online: RwSignal::new(window().navigator().on_line()),
            update_ready: RwSignal::new(false),
            toast: RwSignal::new(None),
            nav_open: RwSignal::new(false),
            editing: RwSignal::new(None),
            shortcuts: RwSignal::new(false),
            reveal: RwSignal::new(None),
            skip_pairing: RwSignal::new(stored(SKIP_PAIRING_KEY).is_some()),
            recovery: RwSignal::new(None),
            sync_panel: RwSignal::new(false),
            conflicts: RwSignal::new(Vec::new()),
        }
    }

    /// Show `view` (and remember it in the URL).
    pub fn go(&self, view: View) {
        let hash = view.to_hash();
        if let Ok(history) = window().history() {
            let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&hash));
        }
        self.view.set(view);
        self.nav_open.set(false);
        self.editing.set(None);
    }

    /// Collapse or expand a project in the sidebar.
    pub fn toggle_collapsed(&self, id: &str) {
        toggle_remembered(self.collapsed, COLLAPSED_KEY, id);
    }

    /// Show or hide the finished tasks of the list at `view` (remembered per list).
    pub fn toggle_showing_done(&self, view: &View) {
        toggle_remembered(self.showing_done, SHOWING_DONE_KEY, &view.to_hash());
    }

    /// Does the list at `view` show its finished tasks?
    pub fn shows_done(&self, view: &View) -> bool {
        let key = view.to_hash();
        self.showing_done.with(|s| s.contains(&key))
    }

    /// Show a message.
    pub fn say(&self, text: impl Into<String>, undo: Option<String>) {
        self.show(text.into(), undo, false);
    }

    /// Show a failure (what happened and what to do).
    pub fn fail(&self, err: &store::StoreError) {
        self.show(crate::words::for_people(&err.message), None, true);
    }

    fn show(&self, text: String, undo: Option<String>, error: bool) {
        self.toast.set(Some(Toast {
            id: js_sys::Date::now() as u64,
            text,
            undo,
            error,
            details: false,
        }));
    }

    /// A sync round set changes of this device aside (the hub refuses them as they are): tell the
    /// person once for the whole app (the first tab to claim it), with a way to the sync details. Not
    /// an error: everything else synced, and the change is kept here.
    pub fn set_aside(&self, event: SetAsideEvent) {
        let Some(first) = event.quarantined.first().cloned() else {
            return;
        };
        let n = event.quarantined.len();
        let ctx = *self;
        spawn_local(async move {
            if !crate::pwa::claim_once(&format!("quarantine:{}", first.id)).await {
                return;
            }
            let text = if n == 1 {
                format!(
                    "1 change could not be synced: {}. See Sync details.",
                    first.reason
                )
            } else {
                format!(
                    "{n} changes could not be synced: {} (and others). See Sync details.",
                    first.reason
                )
            };
            ctx.toast.set(Some(Toast {
                id: js_sys::Date::now() as u64,
                text,
                undo: None,
                error: false,
                details: true,
            }));
        });
    }

    /// A restore from the hub's snapshot happened (this device was behind the hub's horizon): tell the
    /// person once per recovery for the whole app. Every tab hears the event; the first visible one to
    /// claim it (`claimOnce`, a Web Lock) shows the toast and notes the recovery's time in local
    /// storage, so the other tabs (and reloads) keep quiet. A first sync from the snapshot (`verified`) is nothing to tell.
    pub fn recovered(&self, note: RecoveryNote) {
        if note.recovered.verified {
            return;
        }
        self.recovery.set(Some(note));
        self.tell_recovery();
    }

    /// Show the pending recovery toast, if this tab is visible and no tab has told it yet.
    pub fn tell_recovery(&self) {
        let Some(note) = self.recovery.get_untracked() else {
            return;
        };
        if document().hidden() {
            return;
        }
        self.recovery.set(None);
        let storage = local_storage();
        let told = storage
            .as_ref()
            .and_then(|s| s.get_item(RECOVERY_TOLD_KEY).ok().flatten())
            .and_then(|v| v.parse::<u64>().ok());
        let at = note.recovered.at_ms;
        if told == Some(at) {
            return;
        }
        let ctx = *self;
        spawn_local(async move {
            // Tabs open now race for the claim (the browser grants it to one); later tabs and reloads
            // see the note in local storage.
            if !crate::pwa::claim_once(&format!("recovery:{at}")).await {
                return;
            }
            if let Some(s) = storage {
                let _ = s.set_item(RECOVERY_TOLD_KEY, &at.to_string());
            }
            // The store's sentence starts in lower case (it is also a log line).
            let mut chars = note.message.chars();
            let text = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default();
            ctx.say(text, None);
        });
    }

    /// Run a store action; a failure becomes an error toast. The store tells every subscriber about
    /// the change, which reloads the views.
    pub fn act<F>(&self, action: F)
    where
        F: std::future::Future<Output = store::Result<()>> + 'static,
    {
        let ctx = *self;
        spawn_local(async move {
            if let Err(e) = action.await {
                ctx.fail(&e);
            }
        });
    }

    /// A conflict from a device whose name this device does not know yet: ask for the names.
    fn learn_device_names(self, conflicts: &[Conflict]) {
        self.learn_names(
            conflicts
                .iter()
                .filter(|c| c.device_name.is_none())
                .map(|c| c.device.clone())
                .collect(),
        );
    }

    /// Devices whose names this device does not know yet (of a conflict, a comment): ask the hub's
    /// network view once per device and session (the store remembers the names), then show them.
    pub fn learn_names(self, devices: Vec<String>) {
        thread_local! {
            static ASKED: std::cell::RefCell<std::collections::HashSet<String>> = Default::default();
        }
        let unknown: Vec<String> = devices
            .into_iter()
            .filter(|d| ASKED.with(|a| !a.borrow().contains(d)))
            .collect();
        if unknown.is_empty() || !self.status.with_untracked(|s| s.paired) {
            return;
        }
        ASKED.with(|a| a.borrow_mut().extend(unknown));
        spawn_local(async move {
            // Offline or the hub unreachable: it still shows, as "another device".
            if store::peers().await.is_ok() {
                self.reload_sidebar().await;
                self.version.update(|v| *v += 1);
            }
        });
    }

    /// The open conflicts of node `id`.
    pub fn conflicts_of(&self, id: &str) -> Vec<Conflict> {
        self.conflicts
            .with(|c| c.iter().filter(|c| c.node == id).cloned().collect())
    }

    /// The title of project `id`.
    pub fn project_title(&self, id: &str) -> Option<String> {
        self.tree
            .with(|t| t.iter().find(|p| p.id == id).map(|p| p.title.clone()))
    }

    /// Remember that the person wants to use the app without pairing, for now.
    pub fn skip_pairing(&self) {
        if let Some(s) = local_storage() {
            let _ = s.set_item(SKIP_PAIRING_KEY, "1");
        }
        self.skip_pairing.set(true);
    }

    /// Reload the device, pairing and sync status from the store.
    pub async fn reload_status(self) {
        if let Ok(s) = store::status().await {
            self.status.set(s);
        }
    }

    /// Mark whether the sidebar waits for the sync round's end; returns whether it did.
    pub fn set_sidebar_stale(self, stale: bool) -> bool {
        self.sidebar_stale
            .try_update_value(|v| std::mem::replace(v, stale))
            .unwrap_or(false)
    }

    /// Reload the sidebar (tree and counts) from the store.
    pub async fn reload_sidebar(self) {
        // Sent together: the store answers them in order, without a round trip to the page between.
        // The counts come as numbers: the rows of the Inbox and the agenda stay in the store.
        let today = today();
        let (tree, counts, conflicts) =
            futures_util::join!(store::tree(), store::counts(&today), store::conflicts());
        match conflicts {
            Ok(c) => {
                self.learn_device_names(&c);
                if self.conflicts.with_untracked(|old| *old != c) {
                    self.conflicts.set(c);
                }
            }
            Err(e) => self.fail(&e),
        }
        match tree {
            Ok(t) => self.tree.set(t),
            Err(e) => self.fail(&e),
        }
        if let Ok(c) = counts {
            self.inbox_open.set(c.inbox);
            self.today_open.set(c.today);
            self.upcoming_open.set(c.upcoming);
        }
    }
}

/// An agenda entry for the Today list: overdue, or due today (or before, by this device's clock).
/// Everything else the agenda holds is Upcoming. The store's `counts` uses the same test for the
/// sidebar.
pub fn is_today(a: &crate::model::AgendaRow, today: &str) -> bool {
    a.overdue || a.task.due.as_deref().is_some_and(|d| d <= today)
}

/// Today's local date, `YYYY-MM-DD`.
pub fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}
