//! The sync details panel, opened from the status pill: this device (name, id, hub, last sync, unsent
//! changes), the changes the hub refuses as they are (set aside, with Retry and Discard), and the other
//! devices of the space from the hub's network view (`peers()`, which needs the hub).
//!
//! A modal `<dialog>`: the browser keeps the focus inside it and closes it on Escape; closing it puts
//! the focus back on the pill.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ctx::Ctx;
use crate::model::{Peers, Quarantined};
use crate::store;

/// The id of the pill that opens the panel (the focus returns to it).
pub const PILL_ID: &str = "sync-pill";
/// The panel's id (the pill's `aria-controls`).
pub const PANEL_ID: &str = "sync-panel";

/// "just now", "5 min ago", "3 h ago", "2 days ago" for a time `ms` (since the Unix epoch).
fn ago(ms: u64) -> String {
    let now = js_sys::Date::now() as u64;
    let s = now.saturating_sub(ms) / 1000;
    match s {
        0..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", s / 60),
        3_600..86_400 => format!("{} h ago", s / 3_600),
        86_400..172_800 => "1 day ago".to_owned(),
        _ => format!("{} days ago", s / 86_400),
    }
}

use crate::model::local_time;

/// What the devices section shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Devices {
    /// Not paired: there is no hub to ask.
    NotPaired,
    /// Offline: the list needs the hub.
    Offline,
    /// Asking the hub.
    Loading,
    /// The hub's answer.
    Loaded(Peers),
    /// The hub could not be asked.
    Failed(String),
}

fn peer_state(state: &str) -> (&'static str, &'static str) {
    match state {
        "active" => ("Active", "ok"),
        "inactive" => ("Inactive", "idle"),
        "behind_horizon" => ("Behind the hub's horizon", "warn"),
        _ => ("Unknown", "idle"),
    }
}

/// What a set-aside change does, for people: "node.set · notes of “Buy milk” (612 bytes)".
fn describe(q: &Quarantined) -> String {
    let mut text = q.kind.clone();
    if let Some(f) = &q.field {
        text.push_str(&format!(" · {f}"));
    }
    if let Some(t) = &q.title {
        text.push_str(&format!(" of “{t}”"));
    }
    if q.bytes > 0 {
        text.push_str(&format!(" ({} bytes)", q.bytes));
    }
    text
}

/// Close the panel and put the focus back on the pill.
fn close(ctx: Ctx) {
    ctx.sync_panel.set(false);
    if let Some(pill) = document().get_element_by_id(PILL_ID)
        && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(pill)
    {
        let _ = el.focus();
    }
}

/// The sync details dialog.
#[component]
pub fn SyncPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let quarantined = RwSignal::new(Vec::<Quarantined>::new());
    let devices = RwSignal::new(Devices::Loading);
    let note = RwSignal::new(None::<String>);

    // Open and close the native dialog with the signal.
    Effect::new(move |_| {
        let open = ctx.sync_panel.get();
        let Some(d) = dialog.get() else { return };
        if open && !d.open() {
            note.set(None);
            if let Err(e) = d.show_modal() {
                web_sys::console::warn_2(&"hearth: the sync panel could not open".into(), &e);
            }
        } else if !open && d.open() {
            d.close();
        }
    });

    // The set-aside changes: reloaded while open, after every change and status report.
    Effect::new(move |_| {
        if !ctx.sync_panel.get() {
            return;
        }
        ctx.version.track();
        ctx.status.track();
        spawn_local(async move {
            match store::quarantined().await {
                Ok(q) => quarantined.set(q),
                Err(e) => note.set(Some(e.message)),
            }
        });
    });

    // The devices: asked of the hub when the panel opens and after each sync round while it is open.
    let reach = Memo::new(move |_| {
        let s = ctx.status.get();
        (s.paired, ctx.online.get() && s.sync != "offline", s.last_sync_ms)
    });
    Effect::new(move |_| {
        if !ctx.sync_panel.get() {
            return;
        }
        let (paired, online, _) = reach.get();
        if !paired {
            devices.set(Devices::NotPaired);
            return;
        }
        if !online {
            devices.set(Devices::Offline);
            return;
        }
        if !matches!(devices.get_untracked(), Devices::Loaded(_)) {
            devices.set(Devices::Loading);
        }
        spawn_local(async move {
            let got = store::peers().await;
            if !ctx.sync_panel.get_untracked() {
                return;
            }
            devices.set(match got {
                Ok(p) => Devices::Loaded(p),
                Err(e) if e.code == "network" => Devices::Offline,
                Err(e) => Devices::Failed(crate::words::for_people(&e.message)),
            });
        });
    });

    let release = move |id: String, retry: bool| {
        spawn_local(async move {
            match store::release_quarantined(&id, retry).await {
                Ok(()) => note.set(Some(if retry {
                    "Sending the change again on the next sync.".to_owned()
                } else {
                    "Discarded. The change stays on this device; the other devices will not get it."
                        .to_owned()
                })),
                // Retried and still refused (a lens that still cannot translate it): it stays listed.
                Err(e) if retry => note.set(Some(format!("Still set aside: {}", e.message))),
                Err(e) => note.set(Some(e.message)),
            }
        });
    };

    let status = move || ctx.status.get();
    let this_device = move || {
        let s = status();
        let last = s.last_sync_ms.map_or_else(
            || view! { <span>"Never"</span> }.into_any(),
            |ms| view! { <time title=local_time(ms)>{ago(ms)}</time> }.into_any(),
        );
        view! {
            <dl class="facts">
                <dt>"Name"</dt>
                <dd>{s.name.clone().unwrap_or_else(|| "Not named (not paired)".into())}</dd>
                <dt>"Device id"</dt>
                <dd><code>{s.device.clone()}</code></dd>
                <dt>"Hub"</dt>
                <dd>{s.hub.clone().unwrap_or_else(|| "None: this device is not paired".into())}</dd>
                <dt>"Last successful sync"</dt>
                <dd data-fact="last-sync">{last}</dd>
                <dt>"Unsent changes"</dt>
                <dd data-fact="unsent">{s.unsent}</dd>
                <dt>"Conflicts"</dt>
                <dd data-fact="conflicts">{if s.conflicts == 0 {
                    "None".to_owned()
                } else {
                    format!("{}: changed on two devices at once; open the task marked “Conflict” to choose", s.conflicts)
                }}</dd>
            </dl>
            {s.error.map(|e| view! { <p class="muted small">"Last problem: " {crate::words::for_people(&e)}</p> })}
        }
    };

    let set_aside = move || {
        let list = quarantined.get();
        if list.is_empty() {
            return view! {
                <p class="muted">"Nothing is set aside: every change of this device syncs."</p>
            }
            .into_any();
        }
        view! {
            <p class="muted small">
                "These changes were set aside and everything else synced: the hub refuses them as they are, \
                 or the space's data changed form and they cannot be carried over. Retry sends one again \
                 (for example after the hub's limits changed or Hearth was updated). Discard drops it: the \
                 other devices never get it (for a change the hub refused, its effect stays on this device)."
            </p>
            <ul class="quarantine" aria-label="Changes not synced">
                {list.into_iter().map(|q| {
                    let desc_id = format!("q-{}", q.id);
                    let (retry_id, discard_id) = (q.id.clone(), q.id.clone());
                    view! {
                        <li class="quarantined">
                            <div id=desc_id.clone()>
                                <p class="q-what"><strong>{describe(&q)}</strong></p>
                                <p class="q-reason">
                                    {if q.code == "untranslatable" { "Not carried over: " } else { "The hub says: " }}
                                    {q.reason.clone()}
                                </p>
                                <p class="muted small">"Set aside " {ago(q.at_ms)} " · " <code>{q.id.clone()}</code></p>
                            </div>
                            <div class="q-actions">
                                <button class="button small" aria-describedby=desc_id.clone()
                                    on:click=move |_| release(retry_id.clone(), true)>"Retry"</button>
                                <button class="button small danger" aria-describedby=desc_id
                                    on:click=move |_| release(discard_id.clone(), false)>"Discard"</button>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };

    let device_list = move || {
        match devices.get() {
        Devices::NotPaired => view! {
            <p class="muted">"This device is not paired with a hub, so there are no other devices to show."</p>
        }
        .into_any(),
        Devices::Offline if !ctx.online.get() => view! {
            <p class="muted">"You're offline. The list of devices comes from the hub; it shows once the connection returns."</p>
        }
        .into_any(),
        Devices::Offline => view! {
            <p class="muted">"Hub unreachable — changes are kept. The list of devices comes from the hub; it shows once the hub answers again."</p>
        }
        .into_any(),
        Devices::Loading => view! { <p class="muted">"Asking the hub…"</p> }.into_any(),
        Devices::Failed(e) => view! { <p class="error">{e}</p> }.into_any(),
        Devices::Loaded(net) => {
            let (head, space_epoch) = (net.head, net.epoch);
            let others: Vec<_> = net.peers.into_iter().filter(|p| p.device != net.device).collect();
            if others.is_empty() {
                return view! { <p class="muted">"No other device is paired with this space yet."</p> }.into_any();
            }
            view! {
                <ul class="peers" aria-label="Other devices">
                    {others.into_iter().map(|p| {
                        let (state, class) = peer_state(&p.state);
                        view! {
                            <li class="peer">
                                <div class="peer-head">
                                    <strong class="peer-name">{p.name.clone()}</strong>
                                    <span class=format!("badge {class}")>{state}</span>
                                </div>
                                <p class="muted small">
                                    "Last seen " <time title=local_time(p.last_seen_ms)>{ago(p.last_seen_ms)}</time>
                                    " · Hearth " {p.app_version.clone()}
                                    " · synced " {p.acked} " of " {head}
                                    {(space_epoch > 1 && p.epoch > 0).then(|| if p.epoch < space_epoch {
                                        format!(" · on an older form of the data (epoch {} of {space_epoch})", p.epoch)
                                    } else {
                                        format!(" · epoch {}", p.epoch)
                                    })}
                                </p>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }
    }
    };

    view! {
        <dialog
            id=PANEL_ID
            class="sync-panel"
            aria-labelledby="sync-panel-title"
            node_ref=dialog
            // Escape: `cancel` comes as the dialog closes, `close` only in a later task. The state follows
            // at once (so a pill read or pressed meanwhile sees it closed); the focus moves on `close`, once
            // the rest of the page is no longer inert, unless the panel was opened again meanwhile.
            on:cancel=move |_: ev::Event| ctx.sync_panel.set(false)
            on:close=move |_| {
                if !dialog.get_untracked().is_some_and(|d| d.open()) {
                    close(ctx);
                }
            }
            on:click=move |ev: ev::MouseEvent| {
                // The panel's content fills the dialog's box: a click on the dialog itself is on the
                // backdrop, outside the panel.
                let on_dialog = dialog.get_untracked().is_some_and(|d| {
                    ev.target().is_some_and(|t| wasm_bindgen::JsValue::from(t) == wasm_bindgen::JsValue::from(d))
                });
                if on_dialog {
                    close(ctx);
                }
            }
        >
            <div class="panel-body">
            <div class="panel-head">
                    <h2 id="sync-panel-title">"Sync details"</h2>
                    <button class="icon-button" aria-label="Close sync details" on:click=move |_| close(ctx)>"✕"</button>
                </div>
                <section aria-labelledby="sp-device">
                    <h3 id="sp-device">"This device"</h3>
                    {this_device}
                </section>
                <section aria-labelledby="sp-aside">
                    <h3 id="sp-aside">"Changes not synced"</h3>
                    {set_aside}
                </section>
                <p class="panel-note" role="status">{move || note.get()}</p>
                <section aria-labelledby="sp-devices">
                    <h3 id="sp-devices">"Other devices"</h3>
                    {device_list}
                </section>
            </div>
        </dialog>
    }
}
