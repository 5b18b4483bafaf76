//! Around the lists: the top bar (navigation button, search, sync status), banners (offline, update
//! needed) and toasts (undo, errors, "Reload to update"). The pill opens the sync details
//! ([`crate::sync_panel`]).

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ctx::{Boot, Ctx, View};
use crate::store;
use crate::sync_panel::{PANEL_ID, PILL_ID};
use crate::words::for_people;

/// The browser has a network, but the hub does not answer (it is stopped, or the address is out of
/// reach): the store says `offline`, or its last error is a failed request.
pub fn hub_unreachable(ctx: Ctx) -> bool {
    ctx.online.get()
        && ctx.status.with(|s| {
            s.paired
                && (s.sync == "offline"
                    || (s.sync == "error" && s.error.as_deref().is_some_and(|e| for_people(e) != e)))
        })
}

/// The sync state as people read it, and a class for its colour.
fn sync_label(ctx: Ctx) -> (String, &'static str) {
    let s = ctx.status.get();
    // Laid out before the store has opened: its state is not known yet.
    if ctx.boot.get() == Boot::Loading {
        return ("Opening…".to_owned(), "syncing");
    }
    let (text, class) = if !s.paired {
        ("Not paired", "idle")
    } else if !ctx.online.get() {
        ("Offline", "offline")
    } else if hub_unreachable(ctx) {
        ("Hub unreachable", "offline")
    } else {
        match s.sync.as_str() {
            "syncing" => ("Syncing…", "syncing"),
            "synced" => ("Synced", "synced"),
            "update" => ("Update needed", "update"),
            "error" => ("Sync problem", "error"),
            _ => ("Connecting…", "syncing"),
        }
    };
    let mut text = if s.unsent > 0 {
        format!("{text} · {} unsent", s.unsent)
    } else {
        text.to_owned()
    };
    if s.quarantined > 0 {
        text.push_str(&format!(" · {} not synced", s.quarantined));
    }
    (text, class)
}

/// Brand, navigation toggle, search and sync status.
#[component]
pub fn TopBar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let query = RwSignal::new(match ctx.view.get_untracked() {
        View::Search(q) => q,
        _ => String::new(),
    });
    let on_search = move |q: String| {
        query.set(q.clone());
        if q.trim().is_empty() {
            if matches!(ctx.view.get_untracked(), View::Search(_)) {
                ctx.go(View::Inbox);
            }
        } else {
            ctx.view.set(View::Search(q));
        }
    };
    let label = Memo::new(move |_| sync_label(ctx));
    let detail = move || {
        let s = ctx.status.get();
        let mut parts = Vec::new();
        if hub_unreachable(ctx) {
            parts.push(
                "Hub unreachable — changes are kept on this device and sync when it answers".to_owned(),
            );
        } else if let Some(e) = s.error {
            parts.push(for_people(&e));
        }
        if let Some(hub) = s.hub {
            parts.push(format!("Hub: {hub}"));
        }
        parts.join(" — ")
    };
    view! {
        <header class="topbar">
            <button
                class="icon-button menu-button"
                aria-label="Projects and lists"
                aria-controls="sidebar"
                aria-expanded=move || ctx.nav_open.get().to_string()
                on:click=move |_| ctx.nav_open.update(|o| *o = !*o)
            >
                <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
                    <path d="M4 6h16M4 12h16M4 18h16" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>
                </svg>
            </button>
            <a class="brand" href="#/inbox" aria-label="Hearth: Inbox" on:click=move |ev| { ev.prevent_default(); ctx.go(View::Inbox); }>
                <img src="icons/favicon.svg" alt="" width="28" height="28"/>
                <span>"Hearth"</span>
            </a>
            <form class="search" role="search" on:submit=move |ev| ev.prevent_default()>
                <input
                    type="search"
                    aria-label="Search tasks and projects"
                    placeholder="Search"
                    prop:value=move || query.get()
                    on:input:target=move |ev| on_search(ev.target().value())
                    on:keydown=move |ev: ev::KeyboardEvent| {
                        // Tab (or ↓) goes from the search box straight into the results.
                        let into = (ev.key() == "Tab" && !ev.shift_key()) || ev.key() == "ArrowDown";
                        if into && matches!(ctx.view.get_untracked(), View::Search(_))
                            && let Some(first) = document()
                                .query_selector("main .hits button")
                                .ok()
                                .flatten()
                                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
                        {
                            ev.prevent_default();
                            let _ = first.focus();
                        }
                    }
                />
            </form>
            <button
                id=PILL_ID
                class=move || format!("sync-pill {}", label.get().1)
                aria-label=move || format!("{} — sync details", label.get().0)
                aria-haspopup="dialog"
                aria-controls=PANEL_ID
                aria-expanded=move || ctx.sync_panel.get().to_string()
                title=detail
                on:click=move |_| ctx.sync_panel.update(|o| *o = !*o)
            >
                <span class="dot" aria-hidden="true"></span>
                <span class="sync-text">{move || label.get().0}</span>
            </button>
            // The state, announced as it changes (the pill is a button, whose content is not a live region).
            <span class="visually-hidden" role="status" aria-live="polite">{move || label.get().0}</span>
            <Show
                when=move || ctx.boot.get() == Boot::Loading || ctx.status.with(|s| s.paired)
                fallback=move || view! {
                    <button class="button small" on:click=move |_| ctx.skip_pairing.set(false)>"Pair"</button>
                }
            >
                <button
                    class="icon-button"
                    aria-label="Sync now"
                    title="Sync now"
                    on:click=move |_| ctx.act(store::sync_now())
                >
                    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                        <path d="M20 12a8 8 0 1 1-2.34-5.66M20 4v5h-5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>
                    </svg>
                </button>
            </Show>
        </header>
    }
}

/// Offline and update-needed banners.
#[component]
pub fn Banners() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let offline = move || !ctx.online.get();
    let unreachable = move || hub_unreachable(ctx);
    let needs_update = move || ctx.status.with(|s| s.sync == "update");
    view! {
        <Show when=offline>
            <div class="banner offline" role="status">
                <strong>"You're offline."</strong>
                " Changes are saved on this device and sync when the connection returns."
            </div>
        </Show>
        <Show when=unreachable>
            <div class="banner offline" role="status">
                <strong>"Hub unreachable — changes are kept."</strong>
                " They are saved on this device and sync when the hub answers again."
            </div>
        </Show>
        <Show when=needs_update>
            <div class="banner update" role="status">
                <strong>"Update needed."</strong>
                " This space needs a newer Hearth to send changes. They are kept on this device; "
                <button class="button link" on:click=move |_| crate::pwa::apply_update()>"update now"</button>
            </div>
        </Show>
    }
}

/// Undo and error toasts, and the offer of a new version.
#[component]
pub fn Toasts() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // Toasts go away on their own after a while (errors stay longer).
    Effect::new(move |_| {
        if let Some(t) = ctx.toast.get() {
            let id = t.id;
            let ms = if t.error { 12_000 } else { 8_000 };
            spawn_local(async move {
                sleep(ms).await;
                if ctx.toast.get_untracked().is_some_and(|t| t.id == id) {
                    ctx.toast.set(None);
                }
            });
        }
    });
    view! {
        <div class="toasts">
            <div role="status" aria-live="polite" class="toast-slot">
                {move || ctx.toast.get().filter(|t| !t.error).map(|t| {
                    let undo = t.undo.clone();
                    view! {
                        <div class="toast">
                            <span>{t.text.clone()}</span>
                            {t.details.then(|| view! {
                                <button class="button link" on:click=move |_| {
                                    ctx.toast.set(None);
                                    ctx.sync_panel.set(true);
                                }>"Sync details"</button>
                            })}
                            {undo.map(|id| view! {
                                <button class="button link" on:click=move |_| {
                                    ctx.toast.set(None);
                                    let id = id.clone();
                                    ctx.act(async move { store::restore(&id).await });
                                }>"Undo"</button>
                            })}
                            <button class="icon-button small" aria-label="Dismiss" on:click=move |_| ctx.toast.set(None)>"✕"</button>
                        </div>
                    }
                })}
            </div>
            <div role="alert" class="toast-slot">
                {move || ctx.toast.get().filter(|t| t.error).map(|t| view! {
                    <div class="toast error">
                        <span>{t.text.clone()}</span>
                        <button class="icon-button small" aria-label="Dismiss" on:click=move |_| ctx.toast.set(None)>"✕"</button>
                    </div>
                })}
            </div>
            <Show when=move || ctx.update_ready.get()>
                <div class="toast update" role="status">
                    <span>"A new version of Hearth is ready."</span>
                    <button class="button primary" on:click=move |_| crate::pwa::apply_update()>"Reload to update"</button>
                </div>
            </Show>
        </div>
    }
}

/// Wait `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The keyboard shortcuts, in a modal dialog opened with `?` (Escape or Close closes it, and the focus
/// goes back where it was).
#[component]
pub fn Shortcuts() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    Effect::new(move |_| {
        let open = ctx.shortcuts.get();
        let Some(d) = dialog.get() else { return };
        if open && !d.open() {
            opener.set_value(
                document()
                    .active_element()
                    .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok()),
            );
            if let Err(e) = d.show_modal() {
                web_sys::console::warn_2(&"hearth: the shortcuts could not open".into(), &e);
            }
        } else if !open && d.open() {
            d.close();
        }
    });
    let close = move || {
        ctx.shortcuts.set(false);
        if let Some(el) = opener.get_value() {
            let _ = el.focus();
        }
    };
    let keys = [
        ("q", "Add a task (also n)"),
        ("/", "Search"),
        ("Alt+↑ / Alt+↓", "Move the focused task up or down"),
        (
            "Escape",
            "Close the task editor or a dialog (what was typed is saved)",
        ),
        ("?", "Show these shortcuts"),
    ];
    view! {
        <dialog
            class="sync-panel shortcuts"
            aria-labelledby="shortcuts-title"
            node_ref=dialog
            // As the sync panel's: the state on `cancel` (Escape), the focus on `close`.
            on:cancel=move |_: leptos::ev::Event| ctx.shortcuts.set(false)
            on:close=move |_| {
                if !dialog.get_untracked().is_some_and(|d| d.open()) {
                    close();
                }
            }
        >
            <div class="panel-body">
                <div class="panel-head">
                    <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                    <button class="icon-button" aria-label="Close keyboard shortcuts" on:click=move |_| close()>"✕"</button>
                </div>
                <dl class="facts shortcut-list">
                    {keys.into_iter().map(|(k, what)| view! {
                        <dt><kbd>{k}</kbd></dt>
                        <dd>{what}</dd>
                    }).collect_view()}
                </dl>
                <p class="muted small">"Shortcuts work when you are not typing in a field."</p>
            </div>
        </dialog>
    }
}
