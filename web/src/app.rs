//! Start-up, the app's shell and pairing. The shared state is [`Ctx`](crate::ctx::Ctx).

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use crate::chrome::{Banners, Shortcuts, Toasts, TopBar};
use crate::ctx::{Boot, Ctx, View};
use crate::model::{RecoveryNote, SetAsideEvent};
use crate::sidebar::Sidebar;
use crate::store;
use crate::sync_panel::SyncPanel;
use crate::tasks::MainView;

/// How long a sync round goes on before the pill says "Syncing…".
const SYNCING_SHOWN_AFTER_MS: i32 = 700;

/// The longest the sidebar waits for a sync round's end after a change.
const SIDEBAR_WAIT_MS: i32 = 500;

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
        shortcut(ctx, &e);
    });
    window_event_listener(ev::online, move |_| ctx.online.set(true));
    window_event_listener(ev::offline, move |_| ctx.online.set(false));
    // A recovery heard while this tab was hidden is told when it is shown again.
    window_event_listener_untyped("visibilitychange", move |_| ctx.tell_recovery());

    spawn_local(async move {
        let opened = async {
            store::connect("default").await?;
            // Paired when it last ran here: lay the app out now, while the store's worker starts and
            // opens the database (the larger part of a start); the data fills in when it is open.
            if store::paired_before() {
                ctx.boot.set(Boot::Loading);
            }
            store::ready().await
        };
        match opened.await {
            Ok(()) => {
                for w in store::warnings() {
                    ctx.say(w, None);
                }
                // Rounds started, so that a round's "Syncing…" shows only while it is still the last.
                let rounds = StoredValue::new(0u64);
                let subscribed = store::subscribe(move |event| {
                    let source = js_sys::Reflect::get(&event, &"source".into())
                        .ok()
                        .and_then(|s| s.as_string());
                    if source.as_deref() == Some("sync") {
                        let state = js_sys::Reflect::get(&event, &"state".into()).ok().and_then(|s| s.as_string());
                        let round = rounds.get_value() + 1;
                        rounds.set_value(round);
                        // A round starting changes nothing else the status shows: no need to ask the
                        // store. Most rounds end within milliseconds: the pill (and its live region,
                        // which screen readers announce) says "Syncing…" only for a round that is
                        // still going after a moment, instead of flickering at every change.
                        if state.as_deref() == Some("syncing") {
                            ctx.in_round.set_value(true);
                            spawn_local(async move {
                                crate::chrome::sleep(SYNCING_SHOWN_AFTER_MS).await;
                                if rounds.get_value() == round {
                                    ctx.status.update(|s| {
                                        s.sync = "syncing".into();
                                        s.error = None;
                                    });
                                }
                            });
                        } else {
                            ctx.in_round.set_value(false);
                            // The round's end refreshes the status, and the sidebar if a change
                            // during the round left it for now.
                            spawn_local(async move {
                                if ctx.set_sidebar_stale(false) {
                                    ctx.reload_sidebar().await;
                                }
                                ctx.reload_status().await;
                            });
                        }
                        if let Ok(note) = serde_wasm_bindgen::from_value::<RecoveryNote>(event.clone()) {
                            ctx.recovered(note);
                        }
                        if let Ok(set_aside) = serde_wasm_bindgen::from_value::<SetAsideEvent>(event.clone()) {
                            ctx.set_aside(set_aside);
                        }
                        if state.as_deref() == Some("update") {
                            crate::pwa::check_for_update();
                        }
                    } else {
                        // A local edit says whether a round follows it at once.
                        if js_sys::Reflect::get(&event, &"sync".into()).is_ok_and(|s| s.is_truthy()) {
                            ctx.in_round.set_value(true);
                        }
                        ctx.version.update(|v| *v += 1);
                    }
                });
                if let Err(e) = subscribed {
                    ctx.boot.set(Boot::Failed(e.message));
                } else {
                    // Asked together: the store answers one after another, with no round trip between.
                    futures_util::join!(ctx.reload_status(), ctx.reload_sidebar());
                    // A restore that ended before this tab subscribed (e.g. the store's first round at
                    // start-up) is told now, unless a tab already did.
                    if let Some(note) = ctx.status.with_untracked(|s| s.last_recovery.clone()) {
                        ctx.recovered(note);
                    }
                    ctx.boot.set(Boot::Ready);
                }
            }
            Err(e) => ctx.boot.set(Boot::Failed(format!(
                "Hearth could not open its database on this device: {}. Reload the page; if it keeps failing, \
                 check that the browser allows site data for this address.",
                e.message
            ))),
        }
        // The start has settled (ready or failed): now the service worker. Its install downloads
        // every file of the build again into its cache, and during the start that work would compete
        // with the start's own (compiling both wasm modules, opening the store) for the device's cores.
        crate::pwa::start(move || ctx.update_ready.set(true)).await;
    });

    // Every change: the list in view reloads at once (`MainView`); the sidebar and the status (unsent
    // count) after it, or, while a sync round runs (a local edit starts one, pulled changes arrive in
    // one), when that round ends: it changes them too, and the work then stays out of the way of the
    // round's requests. At most SIDEBAR_WAIT_MS later in any case.
    Effect::new(move |prev: Option<()>| {
        ctx.version.track();
        if prev.is_some() && ctx.boot.get_untracked() == Boot::Ready {
            spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL)).await;
                if ctx.in_round.get_value() {
                    // Another change of this round is already waiting.
                    if ctx.set_sidebar_stale(true) {
                        return;
                    }
                    crate::chrome::sleep(SIDEBAR_WAIT_MS).await;
                    // The round's end reloaded them meanwhile.
                    if !ctx.set_sidebar_stale(false) {
                        return;
                    }
                }
                ctx.reload_sidebar().await;
                ctx.reload_status().await;
            });
        }
    });

    // What the page shows; the shell stays the same one from loading to ready.
    #[derive(Clone, Copy, PartialEq)]
    enum Showing {
        Opening,
        Shell,
        Failed,
    }
    let showing = Memo::new(move |_| match ctx.boot.get() {
        Boot::Opening => Showing::Opening,
        Boot::Loading | Boot::Ready => Showing::Shell,
        Boot::Failed(_) => Showing::Failed,
    });
    view! {
        {move || match showing.get() {
            Showing::Opening => view! {
                <div class="boot" role="status" aria-live="polite">"Opening Hearth…"</div>
            }.into_any(),
            Showing::Failed => view! {
                <div class="boot failed" role="alert">
                    <h1>"Hearth could not start"</h1>
                    <p>{move || match ctx.boot.get() { Boot::Failed(msg) => msg, _ => String::new() }}</p>
                    <button class="button primary" on:click=move |_| { let _ = window().location().reload(); }>"Reload"</button>
                </div>
            }.into_any(),
            Showing::Shell => view! { <Shell/> }.into_any(),
        }}
    }
}

/// The pairing screen, or the app.
#[component]
fn Shell() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // While the store opens after a paired run, the status is not known yet: the app's layout shows.
    let show_pairing =
        move || ctx.boot.get() != Boot::Loading && !ctx.status.with(|s| s.paired) && !ctx.skip_pairing.get();
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
        <div
            class="app"
            data-state=move || if ctx.boot.get() == Boot::Ready { "ready" } else { "loading" }
            aria-busy=move || (ctx.boot.get() != Boot::Ready).to_string()
            class:nav-open=move || ctx.nav_open.get()
        >
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
            <SyncPanel/>
            <Shortcuts/>
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
        <main class="pairing">
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
                    aria-describedby="pair-error"
                    aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                    prop:value=move || code.get()
                    on:input=move |ev| {
                        code.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                // Next to the code it is about; cleared as soon as the code changes.
                <p id="pair-error" class="error" role="alert" hidden=move || error.with(Option::is_none)>
                    {move || error.get()}
                </p>
                <label for="pair-name">"Device name"</label>
                <input id="pair-name" name="device" autocomplete="off" bind:value=name/>
                <button class="button primary" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Pairing…" } else { "Pair" }}
                </button>
                <button class="button link" type="button" on:click=move |_| ctx.skip_pairing()>
                    "Use on this device only for now"
                </button>
            </form>
        </main>
    }
}

/// The keyboard shortcuts (listed in the `?` dialog): `q` or `n` to add a task, `/` to search, `?` for
/// the list. Not while typing in a field, with a modifier held, or while a dialog is open.
fn shortcut(ctx: Ctx, e: &web_sys::KeyboardEvent) {
    if e.ctrl_key() || e.meta_key() || e.alt_key() || e.default_prevented() {
        return;
    }
    let typing = e
        .target()
        .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
        .is_some_and(|el| {
            let tag = el.tag_name().to_ascii_lowercase();
            matches!(tag.as_str(), "input" | "textarea" | "select") || el.is_content_editable()
        });
    let dialog_open = document().query_selector("dialog[open]").ok().flatten().is_some();
    if typing || dialog_open {
        return;
    }
    let focus = |selector: &str| {
        document()
            .query_selector(selector)
            .ok()
            .flatten()
            .and_then(|el| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el).ok())
            .map(|el| {
                ctx.nav_open.set(false);
                let _ = el.focus();
            })
            .is_some()
    };
    let handled = match e.key().as_str() {
        "q" | "n" => focus("main .quick-title"),
        "/" => focus(".topbar .search input"),
        "?" => {
            ctx.shortcuts.set(true);
            true
        }
        _ => false,
    };
    if handled {
        // Not typed into the field that now has the focus.
        e.prevent_default();
    }
}
