//! The app's shared state, start-up, routing and pairing.
//!
//! State lives in one [`Ctx`] of signals, provided as context. The store is the source of truth: every
//! change (a local edit, another tab's, ops pulled from the hub) bumps [`Ctx::version`], and the views
//! that depend on it reload from the store. Writes never wait for the network.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use crate::chrome::{Banners, Toasts, TopBar};
use crate::model::{Status, TreeEntry};
use crate::sidebar::Sidebar;
use crate::store;
use crate::tasks::MainView;

/// What the main area shows (kept in the URL's hash, so reloads and the back button keep the place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Tasks with no project.
    Inbox,
    /// Due tasks, overdue first.
    Today,
    /// One project's tasks.
    Project(String),
    /// Search results.
    Search(String),
}

impl View {
    fn from_hash(hash: &str) -> View {
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
            _ => View::Inbox,
        }
    }

    fn to_hash(&self) -> String {
        let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
        match self {
            View::Inbox => "#/inbox".into(),
            View::Today => "#/today".into(),
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
}

/// Start-up state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// Opening the store.
    Opening,
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
    /// Open tasks due today or overdue.
    pub today_open: RwSignal<usize>,
    /// Projects whose sub-projects are hidden.
    pub collapsed: RwSignal<Vec<String>>,
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
    /// The person chose to use the app before pairing.
    pub skip_pairing: RwSignal<bool>,
}

const COLLAPSED_KEY: &str = "hearth:collapsed";
const SKIP_PAIRING_KEY: &str = "hearth:skip-pairing";

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

impl Ctx {
    fn new() -> Ctx {
        let stored = |key: &str| local_storage().and_then(|s| s.get_item(key).ok().flatten());
        let collapsed = stored(COLLAPSED_KEY)
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        let hash = window().location().hash().unwrap_or_default();
        Ctx {
            boot: RwSignal::new(Boot::Opening),
            version: RwSignal::new(0),
            view: RwSignal::new(View::from_hash(&hash)),
            status: RwSignal::new(Status::default()),
            tree: RwSignal::new(Vec::new()),
            inbox_open: RwSignal::new(0),
            today_open: RwSignal::new(0),
            collapsed: RwSignal::new(collapsed),
            online: RwSignal::new(window().navigator().on_line()),
            update_ready: RwSignal::new(false),
            toast: RwSignal::new(None),
            nav_open: RwSignal::new(false),
            editing: RwSignal::new(None),
            skip_pairing: RwSignal::new(stored(SKIP_PAIRING_KEY).is_some()),
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
        self.collapsed.update(|c| {
            if let Some(i) = c.iter().position(|x| x == id) {
                c.remove(i);
            } else {
                c.push(id.to_owned());
            }
        });
        if let (Some(s), Ok(json)) = (
            local_storage(),
            serde_json::to_string(&self.collapsed.get_untracked()),
        ) {
            let _ = s.set_item(COLLAPSED_KEY, &json);
        }
    }

    /// Show a message.
    pub fn say(&self, text: impl Into<String>, undo: Option<String>) {
        self.show(text.into(), undo, false);
    }

    /// Show a failure (what happened and what to do).
    pub fn fail(&self, err: &store::StoreError) {
        self.show(err.message.clone(), None, true);
    }

    fn show(&self, text: String, undo: Option<String>, error: bool) {
        self.toast.set(Some(Toast {
            id: js_sys::Date::now() as u64,
            text,
            undo,
            error,
        }));
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

    async fn reload_status(self) {
        if let Ok(s) = store::status().await {
            self.status.set(s);
        }
    }

    /// Reload the sidebar (tree and counts) from the store.
    pub async fn reload_sidebar(self) {
        let (tree, inbox, agenda) = (
            store::tree().await,
            store::tasks(None).await,
            store::agenda().await,
        );
        match tree {
            Ok(t) => self.tree.set(t),
            Err(e) => self.fail(&e),
        }
        if let Ok(inbox) = inbox {
            self.inbox_open.set(inbox.iter().filter(|t| !t.is_done()).count());
        }
        if let Ok(agenda) = agenda {
            let today = today();
            self.today_open.set(
                agenda
                    .iter()
                    .filter(|a| a.overdue || a.task.due.as_deref() == Some(today.as_str()))
                    .count(),
            );
        }
    }
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

/// The app.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx::new();
    provide_context(ctx);

    window_event_listener(ev::popstate, move |_| {
        let hash = window().location().hash().unwrap_or_default();
        ctx.view.set(View::from_hash(&hash));
    });
    window_event_listener(ev::keydown, move |e| {
        if e.key() == "Escape" && ctx.nav_open.get_untracked() {
            ctx.nav_open.set(false);
        }
    });
    window_event_listener(ev::online, move |_| ctx.online.set(true));
    window_event_listener(ev::offline, move |_| ctx.online.set(false));

    spawn_local(async move {
        match store::connect("default").await {
            Ok(()) => {
                for w in store::warnings() {
                    ctx.say(w, None);
                }
                let subscribed = store::subscribe(move |event| {
                    let source = js_sys::Reflect::get(&event, &"source".into())
                        .ok()
                        .and_then(|s| s.as_string());
                    if source.as_deref() == Some("sync") {
                        spawn_local(ctx.reload_status());
                        let state = js_sys::Reflect::get(&event, &"state".into()).ok().and_then(|s| s.as_string());
                        if state.as_deref() == Some("update") {
                            crate::pwa::check_for_update();
                        }
                    } else {
                        ctx.version.update(|v| *v += 1);
                    }
                });
                if let Err(e) = subscribed {
                    ctx.boot.set(Boot::Failed(e.message));
                    return;
                }
                ctx.reload_status().await;
                ctx.reload_sidebar().await;
                ctx.boot.set(Boot::Ready);
            }
            Err(e) => ctx.boot.set(Boot::Failed(format!(
                "Hearth could not open its database on this device: {}. Reload the page; if it keeps failing, \
                 check that the browser allows site data for this address.",
                e.message
            ))),
        }
    });
    spawn_local(crate::pwa::start(move || ctx.update_ready.set(true)));

    // Every change: reload the sidebar and the status (unsent count).
    Effect::new(move |prev: Option<()>| {
        ctx.version.track();
        if prev.is_some() && ctx.boot.get_untracked() == Boot::Ready {
            spawn_local(async move {
                ctx.reload_sidebar().await;
                ctx.reload_status().await;
            });
        }
    });

    view! {
        {move || match ctx.boot.get() {
            Boot::Opening => view! {
                <div class="boot" role="status" aria-live="polite">"Opening Hearth…"</div>
            }.into_any(),
            Boot::Failed(msg) => view! {
                <div class="boot failed" role="alert">
                    <h1>"Hearth could not start"</h1>
                    <p>{msg}</p>
                    <button class="button primary" on:click=move |_| { let _ = window().location().reload(); }>"Reload"</button>
                </div>
            }.into_any(),
            Boot::Ready => view! { <Shell/> }.into_any(),
        }}
    }
}

/// The pairing screen, or the app.
#[component]
fn Shell() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let show_pairing = move || !ctx.status.with(|s| s.paired) && !ctx.skip_pairing.get();
    view! {
        <Show when=show_pairing fallback=move || view! { <Workspace/> }>
            <Pairing/>
        </Show>
    }
}

/// Sidebar, top bar and the main view.
#[component]
fn Workspace() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <div class="app" data-state="ready" class:nav-open=move || ctx.nav_open.get()>
            <a class="skip-link" href="#main">"Skip to tasks"</a>
            <TopBar/>
            <Banners/>
            <div class="columns">
                <Sidebar/>
                <div
                    class="scrim"
                    aria-hidden="true"
                    on:click=move |_| ctx.nav_open.set(false)
                ></div>
                <main id="main" tabindex="-1">
                    <MainView/>
                </main>
            </div>
            <Toasts/>
        </div>
    }
}

/// A name for this device that the hub's network view can show.
fn guess_device_name() -> String {
    let ua = window().navigator().user_agent().unwrap_or_default();
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Mac OS") {
        "Mac"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        "this device"
    };
    format!("Browser on {os}")
}

/// Pair this browser with the hub that served it, using the code `hearth serve` printed.
#[component]
fn Pairing() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(guess_device_name());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let hub = window().location().origin().unwrap_or_default();
    let hub_shown = hub.clone();

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let (c, n) = (code.get_untracked(), name.get_untracked());
        if c.trim().is_empty() {
            error.set(Some(
                "Enter the pairing code that `hearth serve` (or `hearth invite`) printed.".into(),
            ));
            return;
        }
        busy.set(true);
        error.set(None);
        let hub = hub.clone();
        spawn_local(async move {
            let n = if n.trim().is_empty() {
                guess_device_name()
            } else {
                n.trim().to_owned()
            };
            match store::pair(&hub, c.trim(), &n).await {
                Ok(()) => {
                    ctx.reload_status().await;
                    ctx.version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    view! {
        <div class="pairing">
            <form class="card" on:submit=submit aria-labelledby="pair-title">
                <img class="logo" src="icons/favicon.svg" alt="" width="56" height="56"/>
                <h1 id="pair-title">"Pair this device"</h1>
                <p class="muted">
                    "Connect to the Hearth hub at " <strong>{hub_shown}</strong>
                    ". Enter the one-time code that " <code>"hearth serve"</code> " or "
                    <code>"hearth invite"</code> " printed."
                </p>
                <label for="pair-code">"Pairing code"</label>
                <input
                    id="pair-code"
                    name="code"
                    autocomplete="one-time-code"
                    autocapitalize="none"
                    spellcheck="false"
                    placeholder="abcd-efgh-jkmn"
                    required
                    bind:value=code
                />
                <label for="pair-name">"Device name"</label>
                <input id="pair-name" name="device" autocomplete="off" bind:value=name/>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button class="button primary" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Pairing…" } else { "Pair" }}
                </button>
                <button class="button link" type="button" on:click=move |_| ctx.skip_pairing()>
                    "Use on this device only for now"
                </button>
            </form>
        </div>
    }
}
