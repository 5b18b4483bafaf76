//! The main area: the current view with its heading, quick add, the task list (grouped by due date in
//! the agenda) and search results. A project's heading is [`ProjectHead`], a task's inline editor
//! [`TaskEditor`].

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ctx::{Ctx, View, today};
use crate::editor::TaskEditor;
use crate::model::{Hit, Task};
use crate::project::ProjectHead;
use crate::sidebar::DRAG_TYPE;
use crate::store::{self, NewTask};

/// The rows a view shows: tasks (with an "overdue" mark in the agenda) or search hits.
#[derive(Debug, Clone, Default, PartialEq)]
struct Rows {
    tasks: Vec<(Task, bool)>,
    hits: Vec<Hit>,
    loaded: bool,
}

async fn load(view: &View) -> store::Result<Rows> {
    Ok(match view {
        View::Inbox => Rows {
            tasks: store::tasks(None)
                .await?
                .into_iter()
                .map(|t| (t, false))
                .collect(),
            ..Rows::default()
        },
        View::Project(id) => Rows {
            tasks: store::tasks(Some(id))
                .await?
                .into_iter()
                .map(|t| (t, false))
                .collect(),
            ..Rows::default()
        },
        View::Today => Rows {
            tasks: store::agenda()
                .await?
                .into_iter()
                .map(|a| (a.task, a.overdue))
                .collect(),
            ..Rows::default()
        },
        View::Search(q) if q.trim().is_empty() => Rows::default(),
        View::Search(q) => Rows {
            hits: store::search(q.trim()).await?,
            ..Rows::default()
        },
    })
}

/// The current view.
#[component]
pub fn MainView() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let rows = RwSignal::new(Rows::default());
    // Reload on every change to the store and on every change of view. Loads answer in the order they
    // were asked (the store runs calls one at a time), so the last answer is the newest.
    Effect::new(move |_| {
        ctx.version.track();
        let view = ctx.view.get();
        spawn_local(async move {
            match load(&view).await {
                Ok(mut r) => {
                    if ctx.view.get_untracked() == view {
                        r.loaded = true;
                        rows.set(r);
                    }
                }
                Err(e) => ctx.fail(&e),
            }
        });
    });
    let tasks = Memo::new(move |_| rows.with(|r| r.tasks.clone()));
    // A memo, so that the view is rebuilt only when the answer changes, not on every sidebar reload.
    let project_exists = Memo::new(move |_| match ctx.view.get() {
        View::Project(id) => ctx.tree.with(|t| t.iter().any(|p| p.id == id)),
        _ => true,
    });

    view! {
        {move || match ctx.view.get() {
            View::Inbox => view! {
                <ListHead title="Inbox".into() subtitle="Tasks without a project".into()/>
                <QuickAdd project=None due_today=false/>
                <TaskList tasks rows/>
            }.into_any(),
            View::Today => view! {
                <ListHead title="Today".into() subtitle=format_day(&today())/>
                <QuickAdd project=None due_today=true/>
                <TaskList tasks rows/>
            }.into_any(),
            View::Project(_) if !project_exists.get() => view! {
                <ListHead title="Project not found".into() subtitle="It may have been deleted, here or on another device.".into()/>
                <div class="empty">
                    <button class="button primary" on:click=move |_| ctx.go(View::Inbox)>"Go to the Inbox"</button>
                </div>
            }.into_any(),
            View::Project(id) => view! {
                <ProjectHead id=id.clone()/>
                <QuickAdd project=Some(id) due_today=false/>
                <TaskList tasks rows/>
            }.into_any(),
            View::Search(q) => view! {
                <ListHead title="Search".into() subtitle=format!("Titles containing “{}”", q.trim())/>
                <SearchResults rows/>
            }.into_any(),
        }}
    }
}

/// `2026-11-24` → `Tuesday 24 November`.
fn format_day(day: &str) -> String {
    let date = js_sys::Date::new(&format!("{day}T12:00:00").into());
    let opts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&opts, &"weekday".into(), &"long".into());
    let _ = js_sys::Reflect::set(&opts, &"day".into(), &"numeric".into());
    let _ = js_sys::Reflect::set(&opts, &"month".into(), &"long".into());
    date.to_locale_date_string("default", &opts).into()
}

/// A short, friendly due date: Today, Tomorrow, Yesterday, or `Mon 3 Nov`.
fn due_label(due: &str) -> String {
    let today = js_sys::Date::new(&format!("{}T12:00:00", today()).into());
    let date = js_sys::Date::new(&format!("{due}T12:00:00").into());
    if date.get_time().is_nan() {
        return due.to_owned();
    }
    let days = ((date.get_time() - today.get_time()) / 86_400_000.0).round() as i64;
    match days {
        0 => "Today".into(),
        1 => "Tomorrow".into(),
        -1 => "Yesterday".into(),
        _ => {
            let opts = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&opts, &"weekday".into(), &"short".into());
            let _ = js_sys::Reflect::set(&opts, &"day".into(), &"numeric".into());
            let _ = js_sys::Reflect::set(&opts, &"month".into(), &"short".into());
            date.to_locale_date_string("default", &opts).into()
        }
    }
}

/// The heading of a list.
#[component]
fn ListHead(title: String, subtitle: String) -> impl IntoView {
    view! {
        <div class="list-head">
            <div>
                <h1>{title}</h1>
                <p class="muted">{subtitle}</p>
            </div>
        </div>
    }
}

/// Add a task with the keyboard: type, Enter. Optional due date and priority beside it.
#[component]
fn QuickAdd(project: Option<String>, due_today: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let title = RwSignal::new(String::new());
    let due = RwSignal::new(if due_today { today() } else { String::new() });
    let priority = RwSignal::new(String::new());
    let input = NodeRef::<leptos::html::Input>::new();
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let t = title.get_untracked().trim().to_owned();
        if t.is_empty() {
            return;
        }
        title.set(String::new());
        let (d, p) = (due.get_untracked(), priority.get_untracked());
        let project = project.clone();
        ctx.act(async move {
            let init = NewTask {
                project: project.as_deref(),
                due: (!d.is_empty()).then_some(d.as_str()),
                priority: p.parse().ok(),
            };
            store::create_task(&t, &init).await?;
            Ok(())
        });
        if let Some(i) = input.get() {
            let _ = i.focus();
        }
    };
    view! {
        <form class="quick-add" on:submit=submit>
            <input
                node_ref=input
                class="quick-title"
                aria-label="New task title"
                placeholder="Add a task"
                autocomplete="off"
                bind:value=title
            />
            <input class="quick-extra" type="date" aria-label="New task due date" bind:value=due/>
            <select class="quick-extra" aria-label="New task priority" on:change=move |ev| priority.set(event_target_value(&ev)) prop:value=move || priority.get()>
                <option value="">"No priority"</option>
                <option value="1">"P1"</option>
                <option value="2">"P2"</option>
                <option value="3">"P3"</option>
                <option value="4">"P4"</option>
            </select>
            <button class="button primary quick-submit" type="submit">"Add task"</button>
        </form>
    }
}

/// The tasks of the view, open first.
#[component]
fn TaskList(tasks: Memo<Vec<(Task, bool)>>, rows: RwSignal<Rows>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let agenda = move || matches!(ctx.view.get(), View::Today);
    // Task ids in order; in the agenda, with a heading (a key starting with '#') before each group.
    let ids = Memo::new(move |_| {
        let grouped = agenda();
        let today = today();
        tasks.with(|t| {
            let mut out = Vec::new();
            let mut last = "";
            for (task, overdue) in t {
                if grouped {
                    let group = match task.due.as_deref() {
                        _ if *overdue => "#Overdue",
                        Some(d) if d == today => "#Due today",
                        _ => "#Coming up",
                    };
                    if group != last {
                        out.push(group.to_owned());
                        last = group;
                    }
                }
                out.push(task.id.clone());
            }
            out
        })
    });
    let empty = move || rows.with(|r| r.loaded) && tasks.with(|t| t.is_empty());
    view! {
        <ul class="tasks" aria-label="Tasks">
            <For each=move || ids.get() key=|id| id.clone() let:id>
                {match id.strip_prefix('#') {
                    Some(group) => view! { <li class="group"><h2>{group.to_owned()}</h2></li> }.into_any(),
                    None => view! { <TaskRow id tasks show_project=agenda()/> }.into_any(),
                }}
            </For>
        </ul>
        <Show when=empty>
            <div class="empty">
                <p>{move || if matches!(ctx.view.get(), View::Today) { "Nothing due. Enjoy the quiet." } else { "No tasks here yet. Add one above." }}</p>
            </div>
        </Show>
    }
}

/// One task: check off, the title and its details, and an inline editor.
#[component]
fn TaskRow(id: String, tasks: Memo<Vec<(Task, bool)>>, show_project: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let row = {
        let id = id.clone();
        Memo::new(move |_| tasks.with(|t| t.iter().find(|(t, _)| t.id == id).cloned()))
    };
    let task = move || row.get().map(|(t, _)| t);
    // Open and due before today (the agenda's own flag agrees; other lists compute it here).
    let overdue = move || {
        row.get().is_some_and(|(t, o)| {
            o || (!t.is_done() && t.due.as_deref().is_some_and(|d| d < today().as_str()))
        })
    };
    let done = move || task().is_some_and(|t| t.is_done());
    let title = move || {
        task()
            .map(|t| t.title)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Untitled".into())
    };
    let editing = {
        let id = id.clone();
        Memo::new(move |_| ctx.editing.get().as_deref() == Some(id.as_str()))
    };

    let toggle_id = id.clone();
    let toggle = move |_| {
        let id = toggle_id.clone();
        let now_done = !done();
        ctx.act(async move { store::set_done(&id, now_done).await });
    };
    let edit_id = id.clone();
    let drag_id = id.clone();
    let conflict_id = id.clone();
    let main_button = NodeRef::<leptos::html::Button>::new();
    // After a keyboard move the row moves in the list: keep the focus on it for the next keypress.
    let refocus = RwSignal::new(false);
    Effect::new(move |_| {
        tasks.track();
        if refocus.get_untracked() {
            request_animation_frame(move || {
                if let Some(b) = main_button.get_untracked() {
                    let _ = b.focus();
                }
                refocus.set(false);
            });
        }
    });
    // Manual order (not in Today, which is ordered by date): Alt+↑/↓ on the task, or a drop on
    // another task's row (its upper half: before it; lower half: after it).
    let reorder = {
        let id = id.clone();
        move |before: bool, target: String| {
            let id = id.clone();
            refocus.set(true);
            let (name, other) = (
                title(),
                tasks.with_untracked(|t| {
                    t.iter()
                        .find(|(t, _)| t.id == target)
                        .map(|(t, _)| t.title.clone())
                        .unwrap_or_default()
                }),
            );
            ctx.act(async move {
                store::place(&id, before, &target).await?;
                ctx.say(
                    format!(
                        "Moved “{name}” {} “{other}”.",
                        if before { "before" } else { "after" }
                    ),
                    None,
                );
                Ok(())
            });
        }
    };
    let key_reorder = reorder.clone();
    let key_id = id.clone();
    let on_key = move |ev: ev::KeyboardEvent| {
        if show_project || !ev.alt_key() || !(ev.key() == "ArrowUp" || ev.key() == "ArrowDown") {
            return;
        }
        ev.prevent_default();
        let up = ev.key() == "ArrowUp";
        let neighbour = tasks.with_untracked(|t| {
            let at = t.iter().position(|(t, _)| t.id == key_id)?;
            let other = if up { at.checked_sub(1)? } else { at + 1 };
            t.get(other).map(|(t, _)| t.id.clone())
        });
        if let Some(other) = neighbour {
            key_reorder(up, other);
        }
    };
    let drop_side = RwSignal::new(None::<bool>);
    let drop_id = id.clone();
    let side_of = |ev: &ev::DragEvent| -> Option<bool> {
        let el: web_sys::Element = wasm_bindgen::JsCast::dyn_into(ev.current_target()?).ok()?;
        let rect = el.get_bounding_client_rect();
        Some(f64::from(ev.client_y()) < rect.top() + rect.height() / 2.0)
    };
    let editor_id = format!("edit-{id}");
    let editor_id2 = editor_id.clone();
    // When the editor closes with the focus inside it, the focus goes back to the task.
    Effect::new(move |was_open: Option<bool>| {
        let open = editing.get();
        if was_open == Some(true) && !open {
            let lost = document()
                .active_element()
                .is_none_or(|e| e.tag_name().eq_ignore_ascii_case("body"));
            if lost && let Some(b) = main_button.get_untracked() {
                let _ = b.focus();
            }
        }
        open
    });

    view! {
        <li
            class="task"
            class:done=done
            class:overdue=overdue
            class:drop-before=move || drop_side.get() == Some(true)
            class:drop-after=move || drop_side.get() == Some(false)
            draggable="true"
            on:dragstart=move |ev: ev::DragEvent| {
                if let Some(dt) = ev.data_transfer() {
                    let _ = dt.set_data(DRAG_TYPE, &drag_id);
                    let _ = dt.set_data("text/plain", &title());
                    dt.set_effect_allowed("move");
                }
            }
            on:dragover=move |ev: ev::DragEvent| {
                let carries_task = ev
                    .data_transfer()
                    .is_some_and(|dt| dt.types().includes(&DRAG_TYPE.into(), 0));
                if carries_task && !show_project {
                    ev.prevent_default();
                    drop_side.set(side_of(&ev));
                }
            }
            on:dragleave=move |_| drop_side.set(None)
            on:drop=move |ev: ev::DragEvent| {
                let side = drop_side.get_untracked().or_else(|| side_of(&ev));
                drop_side.set(None);
                if show_project {
                    return;
                }
                let Some(dragged) = ev.data_transfer().and_then(|dt| dt.get_data(DRAG_TYPE).ok()) else {
                    return;
                };
                ev.prevent_default();
                if dragged.is_empty() || dragged == drop_id {
                    return;
                }
                let before = side.unwrap_or(true);
                let target = drop_id.clone();
                ctx.act(async move { store::place(&dragged, before, &target).await });
            }
        >
            <div class="task-line">
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=done
                        on:change=toggle
                        aria-label=move || format!("Done: {}", title())
                    />
                    <span class="box" aria-hidden="true"></span>
                </label>
                <button
                    node_ref=main_button
                    id=format!("task-{id}")
                    class="task-main"
                    aria-keyshortcuts=(!show_project).then_some("Alt+ArrowUp Alt+ArrowDown")
                    on:keydown=on_key
                    aria-expanded=move || editing.get().to_string()
                    aria-controls=editor_id.clone()
                    on:click=move |_| {
                        let id = edit_id.clone();
                        ctx.editing.update(|e| *e = if e.as_deref() == Some(id.as_str()) { None } else { Some(id) });
                    }
                >
                    <span class="task-title">{title}</span>
                    <span class="task-meta">
                        {move || task().and_then(|t| t.due).filter(|d| !(show_project && *d == today())).map(|d| view! {
                            <span class="chip due" class:late=overdue()>{due_label(&d)}</span>
                        })}
                        {move || task().and_then(|t| t.priority).map(|p| view! {
                            <span class=format!("chip prio p{p}")>{format!("P{p}")}</span>
                        })}
                        {move || (show_project).then(|| task().map(|t| match t.parent.and_then(|p| ctx.project_title(&p)) {
                            Some(name) => view! { <span class="chip project">{name}</span> }.into_any(),
                            None => view! { <span class="chip project">"Inbox"</span> }.into_any(),
                        }))}
                        {move || task().and_then(|t| t.notes).filter(|n| !n.trim().is_empty()).map(|_| view! {
                            <span class="chip notes" title="Has notes">"Notes"</span>
                        })}
                        {move || (!ctx.conflicts_of(&conflict_id).is_empty()).then(|| view! {
                            <span class="chip conflict" title="Also changed on another device: open the task to choose">"Conflict"</span>
                        })}
                    </span>
                </button>
            </div>
            <Show when=move || editing.get()>
                <TaskEditor id=id.clone() editor_id=editor_id2.clone() task=Signal::derive(task)/>
            </Show>
        </li>
    }
}

/// Search results: projects open their list, tasks open their project.
#[component]
fn SearchResults(rows: RwSignal<Rows>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let hits = move || rows.with(|r| r.hits.clone());
    view! {
        <ul class="hits" aria-label="Results">
            {move || hits().into_iter().map(|h| {
                let target = if h.ty == "project" { Some(h.id.clone()) } else { h.parent.clone() };
                let place = match (&h.ty[..], &h.parent) {
                    ("project", _) => "Project".to_owned(),
                    (_, Some(p)) => ctx.project_title(p).unwrap_or_else(|| "Inbox".into()),
                    (_, None) => "Inbox".to_owned(),
                };
                view! {
                    <li>
                        <button class="hit" on:click=move |_| ctx.go(match &target {
                            Some(p) => View::Project(p.clone()),
                            None => View::Inbox,
                        })>
                            <span class="task-title">{h.title.clone()}</span>
                            <span class="chip project">{place}</span>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
        <Show when=move || rows.with(|r| r.loaded && r.hits.is_empty())>
            <div class="empty"><p>"Nothing matches."</p></div>
        </Show>
    }
}
