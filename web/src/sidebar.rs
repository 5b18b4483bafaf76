//! The sidebar: Inbox, Today, and the projects indented by their parent links, each with its open-task
//! count (for a parent, the count of its whole subtree), collapsible. Tasks can be dropped on a project
//! (or the Inbox) to move them there.

use leptos::ev;
use leptos::prelude::*;

use crate::ctx::{Boot, Ctx, View};
use crate::model::TreeEntry;
use crate::store;

/// The drag payload type of a task row.
pub const DRAG_TYPE: &str = "application/x-hearth-task";
/// The drag payload type of a project row (dropped on another project: placed before or after it).
const DRAG_PROJECT: &str = "application/x-hearth-project";

/// Put project `id` just before or after `target` (its manual order), then keep the focus on its row
/// (the row is drawn anew once the tree reloads).
fn place_project(ctx: Ctx, id: String, before: bool, target: String, refocus: bool) {
    let name = |i: &str| ctx.project_title(i).unwrap_or_default();
    let (moved, other) = (name(&id), name(&target));
    ctx.act(async move {
        store::place(&id, before, &target).await?;
        ctx.reload_sidebar().await;
        ctx.say(
            format!(
                "Moved “{moved}” {} “{other}”.",
                if before { "before" } else { "after" }
            ),
            None,
        );
        if refocus {
            request_animation_frame(move || {
                if let Some(b) = document().get_element_by_id(&format!("nav-{id}"))
                    && let Ok(b) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(b)
                {
                    let _ = b.focus();
                }
            });
        }
        Ok(())
    });
}

/// Projects that are shown: those with no collapsed ancestor. Each with whether it has children.
fn visible(tree: &[TreeEntry], collapsed: &[String]) -> Vec<(TreeEntry, bool)> {
    let mut out = Vec::new();
    // Depth at and below which rows are hidden (inside a collapsed project).
    let mut hide_below: Option<usize> = None;
    for (i, p) in tree.iter().enumerate() {
        if let Some(d) = hide_below {
            if p.depth > d {
                continue;
            }
            hide_below = None;
        }
        let has_children = tree.get(i + 1).is_some_and(|n| n.depth > p.depth);
        if has_children && collapsed.contains(&p.id) {
            hide_below = Some(p.depth);
        }
        out.push((p.clone(), has_children));
    }
    out
}

/// Drop handlers that move a dragged task under `target` (`None`: the Inbox).
fn drop_target(
    ctx: Ctx,
    target: Option<String>,
) -> (impl Fn(ev::DragEvent) + Clone, impl Fn(ev::DragEvent) + Clone) {
    let over = move |ev: ev::DragEvent| {
        let carries_task = ev
            .data_transfer()
            .is_some_and(|dt| dt.types().includes(&DRAG_TYPE.into(), 0));
        if carries_task {
            ev.prevent_default();
        }
    };
    let drop = move |ev: ev::DragEvent| {
        ev.prevent_default();
        let Some(id) = ev.data_transfer().and_then(|dt| dt.get_data(DRAG_TYPE).ok()) else {
            return;
        };
        if id.is_empty() {
            return;
        }
        let target = target.clone();
        let name = target
            .as_deref()
            .and_then(|t| ctx.project_title(t))
            .unwrap_or_else(|| "Inbox".into());
        ctx.act(async move {
            store::move_to(&id, target.as_deref()).await?;
            ctx.say(format!("Moved to {name}."), None);
            Ok(())
        });
    };
    (over, drop)
}

/// Today's icon: a calendar page (a frame and its rings as one path).
const TODAY_ICON: &str =
    "M5.5 5h13a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2h-13a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2zM3.5 10h17M8 3v4M16 3v4";

/// One of the lists above the projects (Inbox, Today, …): its icon, its title and, for lists that
/// count open tasks, the count with what it counts ("3 due").
#[component]
fn NavEntry(
    view: View,
    title: &'static str,
    /// An SVG path on a 24×24 grid, stroked.
    icon: &'static str,
    #[prop(optional)] count: Option<(RwSignal<usize>, &'static str)>,
    #[prop(optional)] node_ref: NodeRef<leptos::html::Button>,
    #[prop(optional)] on_dragover: Option<Callback<ev::DragEvent>>,
    #[prop(optional)] on_drop: Option<Callback<ev::DragEvent>>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let here = view.clone();
    view! {
        <li>
            <button
                node_ref=node_ref
                class="nav-item"
                aria-current=move || ctx.view.with(|v| *v == here).then_some("page")
                on:click=move |_| ctx.go(view.clone())
                on:dragover=move |ev| if let Some(f) = on_dragover { f.run(ev) }
                on:drop=move |ev| if let Some(f) = on_drop { f.run(ev) }
            >
                <svg class="nav-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                    <path d=icon fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>
                </svg>
                <span class="nav-title">{title}</span>
                {count.map(|(n, what)| view! {
                    <span class="count" aria-label=move || format!("{} {what}", n.get())>{move || n.get()}</span>
                })}
            </button>
        </li>
    }
}

/// The sidebar.
#[component]
pub fn Sidebar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let adding = RwSignal::new(false);
    let rows = Memo::new(move |_| ctx.tree.with(|t| ctx.collapsed.with(|c| visible(t, c))));
    let (inbox_over, inbox_drop) = drop_target(ctx, None);
    // Opening the drawer (phones) moves the focus into it.
    let first = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if ctx.nav_open.get()
            && let Some(b) = first.get_untracked()
        {
            let _ = b.focus();
        }
    });

    view! {
        <nav id="sidebar" class="sidebar" aria-label="Lists and projects">
            <ul class="lists">
                <NavEntry
                    view=View::Inbox
                    title="Inbox"
                    icon="M4 13h4l1.5 3h5L16 13h4M5.5 5h13L21 13v6H3v-6z"
                    count=(ctx.inbox_open, "open")
                    node_ref=first
                    on_dragover=Callback::new(inbox_over)
                    on_drop=Callback::new(inbox_drop)
                />
                <NavEntry view=View::Today title="Today" icon=TODAY_ICON count=(ctx.today_open, "due")/>
                <NavEntry
                    view=View::Upcoming
                    title="Upcoming"
                    icon="M5 12h12M13 7l5 5-5 5"
                    count=(ctx.upcoming_open, "coming up")
                />
                <NavEntry view=View::Logbook title="Logbook" icon="M5 12.5l4.5 4.5L19 7.5"/>
                <NavEntry view=View::Trash title="Recently deleted" icon="M4 7h16M9 7V4.5h6V7M6.5 7l1 13h9l1-13"/>
            </ul>
            <div class="section-head">
                <h2 id="projects-heading">"Projects"</h2>
                <button
                    class="icon-button"
                    aria-label="New project"
                    title="New project"
                    on:click=move |_| adding.set(true)
                >"+"</button>
            </div>
            <ul class="tree" aria-labelledby="projects-heading">
                <For each=move || rows.get() key=|(p, has)| (p.clone(), *has) let:row>
                    <ProjectItem entry=row.0 has_children=row.1/>
                </For>
            </ul>
            <Show when=move || adding.get()>
                <NewProject parent=None done=move || adding.set(false)/>
            </Show>
            <Show when=move || ctx.boot.get() == Boot::Ready && ctx.tree.with(|t| t.is_empty()) && !adding.get()>
                <p class="muted small hint">"No projects yet. Press + to add one."</p>
            </Show>
        </nav>
    }
}

/// One project row.
#[component]
fn ProjectItem(entry: TreeEntry, has_children: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = entry.id.clone();
    let (over, drop) = drop_target(ctx, Some(id.clone()));
    let current = {
        let id = id.clone();
        move || matches!(ctx.view.get(), View::Project(p) if p == id)
    };
    let expanded = {
        let id = id.clone();
        move || !ctx.collapsed.with(|c| c.contains(&id))
    };
    let title = if entry.title.is_empty() {
        "Untitled".to_owned()
    } else {
        entry.title.clone()
    };
    // Where another project has the same name, the row says where this one lives.
    let repeated = {
        let (title, id) = (entry.title.trim().to_lowercase(), id.clone());
        move || {
            ctx.tree.with(|t| {
                t.iter()
                    .any(|p| p.id != id && p.title.trim().to_lowercase() == title)
            })
        }
    };
    let parent_name = {
        let parent = entry.parent.clone();
        move || match parent.as_deref().and_then(|p| ctx.project_title(p)) {
            Some(p) => format!("in {p}"),
            None => "top level".to_owned(),
        }
    };
    let toggle_label = format!("Show or hide the sub-projects of {title}");
    let count_label = format!("{} open", entry.open_total);
    let toggle_id = id.clone();
    let go_id = id.clone();
    // Alt+↑/↓: before the previous or after the next project of the same parent.
    let (key_id, parent) = (id.clone(), entry.parent.clone());
    let on_key = move |ev: ev::KeyboardEvent| {
        if !ev.alt_key() || !(ev.key() == "ArrowUp" || ev.key() == "ArrowDown") {
            return;
        }
        ev.prevent_default();
        let up = ev.key() == "ArrowUp";
        let neighbour = ctx.tree.with_untracked(|t| {
            let siblings: Vec<&str> = t
                .iter()
                .filter(|p| p.parent == parent)
                .map(|p| p.id.as_str())
                .collect();
            let at = siblings.iter().position(|p| *p == key_id)?;
            let other = if up { at.checked_sub(1)? } else { at + 1 };
            siblings.get(other).map(|s| (*s).to_owned())
        });
        if let Some(other) = neighbour {
            place_project(ctx, key_id.clone(), up, other, true);
        }
    };
    let (drag_id, drop_id) = (id.clone(), id.clone());
    let side_of = |ev: &ev::DragEvent| -> bool {
        ev.current_target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_none_or(|el| {
                let rect = el.get_bounding_client_rect();
                f64::from(ev.client_y()) < rect.top() + rect.height() / 2.0
            })
    };
    let carries_project = |ev: &ev::DragEvent| {
        ev.data_transfer()
            .is_some_and(|dt| dt.types().includes(&DRAG_PROJECT.into(), 0))
    };
    view! {
        <li class="tree-item" style:--depth=entry.depth.to_string()>
            {has_children.then(|| view! {
                <button
                    class="icon-button small twisty"
                    aria-label=toggle_label
                    aria-expanded=move || expanded().to_string()
                    on:click=move |_| ctx.toggle_collapsed(&toggle_id)
                >
                    <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                        <path d="M5 3l6 5-6 5z" fill="currentColor"/>
                    </svg>
                </button>
            })}
            <button
                id=format!("nav-{id}")
                class="nav-item"
                class:has-twisty=has_children
                aria-current=move || current().then_some("page")
                aria-keyshortcuts="Alt+ArrowUp Alt+ArrowDown"
                draggable="true"
                on:click=move |_| ctx.go(View::Project(go_id.clone()))
                on:keydown=on_key
                on:dragstart=move |ev: ev::DragEvent| {
                    if let Some(dt) = ev.data_transfer() {
                        let _ = dt.set_data(DRAG_PROJECT, &drag_id);
                        dt.set_effect_allowed("move");
                    }
                }
                on:dragover=move |ev: ev::DragEvent| {
                    if carries_project(&ev) {
                        ev.prevent_default();
                    } else {
                        over(ev);
                    }
                }
                on:drop=move |ev: ev::DragEvent| {
                    if !carries_project(&ev) {
                        drop(ev);
                        return;
                    }
                    ev.prevent_default();
                    let Some(dragged) = ev.data_transfer().and_then(|dt| dt.get_data(DRAG_PROJECT).ok()) else {
                        return;
                    };
                    if !dragged.is_empty() && dragged != drop_id {
                        place_project(ctx, dragged, side_of(&ev), drop_id.clone(), false);
                    }
                }
            >
                // The project's mark sits where the lists' icons do, so every level lines up with
                // Inbox and Today; a project with sub-projects shows its show/hide button there instead.
                <svg class="nav-icon project-icon" class:covered=has_children viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                    <circle cx="12" cy="12" r="4.5" fill="none" stroke="currentColor" stroke-width="1.8"/>
                </svg>
                <span class="nav-title">{title}</span>
                {move || repeated().then(|| view! { <span class="nav-parent">{parent_name()}</span> })}
                <span class="count" aria-label=count_label>{entry.open_total}</span>
            </button>
        </li>
    }
}

/// An inline form that adds a project (under `parent`) and then calls `done`.
#[component]
pub fn NewProject(parent: Option<String>, done: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let title = RwSignal::new(String::new());
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(i) = input.get() {
            let _ = i.focus();
        }
    });
    let label = if parent.is_some() {
        "Sub-project name"
    } else {
        "Project name"
    };
    let cancel = done.clone();
    // A name another project already has: allowed, but said (as it is typed, and once added).
    let same_name = move |t: &str| {
        let t = t.trim().to_lowercase();
        !t.is_empty()
            && ctx
                .tree
                .with(|tree| tree.iter().any(|p| p.title.trim().to_lowercase() == t))
    };
    let duplicate = move || title.with(|t| same_name(t));
    let note_id = format!("new-project-note-{}", parent.as_deref().unwrap_or("top"));
    let described = note_id.clone();
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let t = title.get_untracked().trim().to_owned();
        if t.is_empty() {
            return;
        }
        let parent = parent.clone();
        let again = same_name(&t);
        title.set(String::new());
        done();
        ctx.act(async move {
            let id = store::create_project(&t, parent.as_deref()).await?;
            // The new project is in the sidebar before its page opens.
            ctx.reload_sidebar().await;
            ctx.go(View::Project(id));
            if again {
                ctx.say(
                    format!("Added “{t}”. Another project has the same name: the sidebar shows where each one lives."),
                    None,
                );
            }
            Ok(())
        });
    };
    view! {
        <form class="inline-form" on:submit=submit>
            <input
                node_ref=input
                aria-label=label
                placeholder=label
                bind:value=title
                aria-describedby=move || duplicate().then(|| described.clone())
                on:keydown=move |ev: ev::KeyboardEvent| if ev.key() == "Escape" { cancel() }
            />
            <button class="button small primary" type="submit">"Add"</button>
            <p class="small warn-note" id=note_id role="status" hidden=move || !duplicate()>
                {move || duplicate().then(|| format!(
                    "A project called “{}” already exists. You can still add this one.",
                    title.get().trim()
                ))}
            </p>
        </form>
    }
}
