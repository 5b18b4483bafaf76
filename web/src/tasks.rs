//! The main area: a list's heading and actions, quick add, the tasks with inline editing, the agenda,
//! and search results.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use crate::ctx::{Ctx, View, today};
use crate::model::{Hit, Task};
use crate::sidebar::{DRAG_TYPE, NewProject};
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

/// Ids of `id` and every project below it (a project cannot move under itself).
fn subtree(ctx: Ctx, id: &str) -> Vec<String> {
    ctx.tree.with(|t| {
        let Some(at) = t.iter().position(|p| p.id == id) else {
            return vec![id.to_owned()];
        };
        let depth = t[at].depth;
        std::iter::once(id.to_owned())
            .chain(
                t[at + 1..]
                    .iter()
                    .take_while(|p| p.depth > depth)
                    .map(|p| p.id.clone()),
            )
            .collect()
    })
}

/// "3 open tasks", or "1 open here · 3 with sub-projects" when sub-projects hold some.
fn count_line((here, total): (u64, u64)) -> String {
    let tasks = |n: u64| match n {
        0 => "No open tasks".to_owned(),
        1 => "1 open task".to_owned(),
        n => format!("{n} open tasks"),
    };
    if here == total {
        tasks(total)
    } else {
        format!("{here} open here · {total} with sub-projects")
    }
}

/// A project's heading: rename, add a sub-project, move under another project, delete.
#[component]
fn ProjectHead(id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let renaming = RwSignal::new(false);
    let adding_sub = RwSignal::new(false);
    // On phones the actions fold behind one button.
    let actions_open = RwSignal::new(false);
    let rename_value = RwSignal::new(String::new());
    let rename_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(i) = rename_input.get() {
            // Start from the current name, selected, so typing replaces it.
            i.set_value(&rename_value.get_untracked());
            let _ = i.focus();
            i.select();
        }
    });
    let entry = {
        let id = id.clone();
        Memo::new(move |_| ctx.tree.with(|t| t.iter().find(|p| p.id == id).cloned()))
    };
    let title = move || {
        entry
            .get()
            .map(|e| {
                if e.title.is_empty() {
                    "Untitled".to_owned()
                } else {
                    e.title
                }
            })
            .unwrap_or_else(|| "Project not found".into())
    };
    let counts = move || entry.get().map(|e| (e.open, e.open_total)).unwrap_or((0, 0));
    let children = {
        let id = id.clone();
        Memo::new(move |_| {
            ctx.tree.with(|t| {
                t.iter()
                    .filter(|p| p.parent.as_deref() == Some(id.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    };

    let rename_id = id.clone();
    let rename = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let t = rename_value.get_untracked().trim().to_owned();
        renaming.set(false);
        if t.is_empty() {
            return;
        }
        let id = rename_id.clone();
        ctx.act(async move { store::set(&id, "title", &json!(t)).await });
    };

    let move_id = id.clone();
    let targets = {
        let id = id.clone();
        move || {
            let below = subtree(ctx, &id);
            ctx.tree.with(|t| {
                t.iter()
                    .filter(|p| !below.contains(&p.id))
                    .map(|p| (p.id.clone(), format!("{}{}", "  ".repeat(p.depth), p.title)))
                    .collect::<Vec<_>>()
            })
        }
    };
    let current_parent = move || entry.get().and_then(|e| e.parent).unwrap_or_default();
    let on_move = move |ev: ev::Event| {
        let to = event_target_value(&ev);
        let id = move_id.clone();
        let parent = (!to.is_empty()).then_some(to);
        ctx.act(async move { store::move_to(&id, parent.as_deref()).await });
    };

    let delete_id = id.clone();
    let delete = move |_| {
        let id = delete_id.clone();
        let name = title();
        ctx.act(async move {
            store::delete(&id).await?;
            ctx.go(View::Inbox);
            ctx.say(
                format!(
                    "Deleted project “{name}”. Its tasks are in the Inbox, its sub-projects at the top level."
                ),
                Some(id),
            );
            Ok(())
        });
    };
    let sub_parent = id.clone();

    view! {
        <div class="list-head">
            <div class="list-title">
                <Show
                    when=move || renaming.get()
                    fallback=move || view! {
                        <h1>{title}</h1>
                        <p class="muted">{move || count_line(counts())}</p>
                    }
                >
                    <form class="inline-form" on:submit=rename.clone()>
                        <input
                            node_ref=rename_input
                            aria-label="Project name"
                            bind:value=rename_value
                            on:keydown=move |ev: ev::KeyboardEvent| if ev.key() == "Escape" { renaming.set(false) }
                        />
                        <button class="button small primary" type="submit">"Save"</button>
                    </form>
                </Show>
            </div>
            <button
                class="icon-button actions-toggle"
                aria-label="Project actions"
                aria-expanded=move || actions_open.get().to_string()
                aria-controls="project-actions"
                on:click=move |_| actions_open.update(|o| *o = !*o)
            >
                <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                    <circle cx="5" cy="12" r="2" fill="currentColor"/><circle cx="12" cy="12" r="2" fill="currentColor"/><circle cx="19" cy="12" r="2" fill="currentColor"/>
                </svg>
            </button>
            <div id="project-actions" class="list-actions" class:open=move || actions_open.get()>
                <button class="button small" on:click=move |_| { rename_value.set(title()); renaming.set(true); }>"Rename"</button>
                <button class="button small" on:click=move |_| adding_sub.set(true)>"Add sub-project"</button>
                <label class="select-label">
                    <span class="visually-hidden">"Move project under"</span>
                    <select aria-label="Move project under" on:change=on_move prop:value=current_parent>
                        <option value="">"Top level"</option>
                        {move || targets().into_iter().map(|(pid, name)| view! {
                            <option value=pid.clone() selected=current_parent() == pid>{format!("Under {name}")}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button class="button small danger" on:click=delete>"Delete project"</button>
            </div>
        </div>
        <Show when=move || !children.with(Vec::is_empty)>
            <nav class="subprojects" aria-label="Sub-projects">
                <For each=move || children.get() key=|p| p.clone() let:p>
                    <button class="sub-link" on:click={
                        let id = p.id.clone();
                        move |_| ctx.go(View::Project(id.clone()))
                    }>
                        <span>{if p.title.is_empty() { "Untitled".to_owned() } else { p.title.clone() }}</span>
                        <span class="count" aria-label=format!("{} open", p.open_total)>{p.open_total}</span>
                    </button>
                </For>
            </nav>
        </Show>
        <Show when=move || adding_sub.get()>
            <NewProject parent=Some(sub_parent.clone()) done=move || adding_sub.set(false)/>
        </Show>
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
    let editor_id = format!("edit-{id}");
    let editor_id2 = editor_id.clone();
    // When the editor closes with the focus inside it, the focus goes back to the task.
    let main_button = NodeRef::<leptos::html::Button>::new();
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
            draggable="true"
            on:dragstart=move |ev: ev::DragEvent| {
                if let Some(dt) = ev.data_transfer() {
                    let _ = dt.set_data(DRAG_TYPE, &drag_id);
                    let _ = dt.set_data("text/plain", &title());
                    dt.set_effect_allowed("move");
                }
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
                    class="task-main"
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
                    </span>
                </button>
            </div>
            <Show when=move || editing.get()>
                <TaskEditor id=id.clone() editor_id=editor_id2.clone() task=Signal::derive(task)/>
            </Show>
        </li>
    }
}

/// A field's new value: the text, or null (unset) when it is blank.
fn text_or_null(v: &str) -> Value {
    if v.trim().is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

/// Inline editing of a task: each field is saved as it changes.
#[component]
fn TaskEditor(id: String, editor_id: String, task: Signal<Option<Task>>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // Escape closes the editor without saving the field being typed in: closing removes the field, and
    // the browser reports a removed field's pending edit as a change, which must not be saved then.
    let cancelled = std::rc::Rc::new(std::cell::Cell::new(false));
    let save = {
        let id = id.clone();
        let cancelled = cancelled.clone();
        move |field: &'static str, value: Value| {
            if cancelled.get() {
                return;
            }
            let id = id.clone();
            ctx.act(async move { store::set(&id, field, &value).await });
        }
    };
    let save_title = save.clone();
    let save_due = save.clone();
    let save_prio = save.clone();
    let save_notes = save;
    let move_id = id.clone();
    let delete_id = id.clone();
    let title_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(i) = title_input.get() {
            let _ = i.focus();
        }
    });
    let field = |f: fn(&Task) -> Option<String>| move || task.get().as_ref().and_then(f).unwrap_or_default();
    let projects = move || ctx.tree.get();
    let parent = field(|t| t.parent.clone());

    view! {
        <div
            class="editor"
            id=editor_id
            on:keydown=move |ev: ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    cancelled.set(true);
                    ctx.editing.set(None);
                }
            }
        >
            <label>
                <span>"Title"</span>
                <input
                    node_ref=title_input
                    prop:value=field(|t| Some(t.title.clone()))
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if !v.trim().is_empty() { save_title("title", json!(v.trim())) }
                    }
                    on:keydown=move |ev: ev::KeyboardEvent| {
                        // Enter saves (the blur commits the change) and closes; Escape is the editor's.
                        if ev.key() == "Enter" && let Some(i) = title_input.get() {
                            // Not a keypress for whatever gets the focus next (the task's button).
                            ev.prevent_default();
                            let _ = i.blur();
                            ctx.editing.set(None);
                        }
                    }
                />
            </label>
            <div class="editor-row">
                <label>
                    <span>"Due"</span>
                    <input
                        type="date"
                        prop:value=field(|t| t.due.clone())
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            save_due("due", text_or_null(&v))
                        }
                    />
                </label>
                <label>
                    <span>"Priority"</span>
                    <select
                        prop:value=field(|t| t.priority.map(|p| p.to_string()))
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            save_prio("priority", v.parse::<i64>().map_or(Value::Null, |p| json!(p)))
                        }
                    >
                        <option value="">"None"</option>
                        <option value="1">"P1 (highest)"</option>
                        <option value="2">"P2"</option>
                        <option value="3">"P3"</option>
                        <option value="4">"P4"</option>
                    </select>
                </label>
                <label>
                    <span>"Project"</span>
                    <select
                        prop:value=parent
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            let id = move_id.clone();
                            let name = if v.is_empty() { "Inbox".to_owned() } else { ctx.project_title(&v).unwrap_or_default() };
                            ctx.act(async move {
                                store::move_to(&id, (!v.is_empty()).then_some(v.as_str())).await?;
                                ctx.say(format!("Moved to {name}."), None);
                                Ok(())
                            });
                        }
                    >
                        <option value="">"Inbox"</option>
                        {move || projects().into_iter().map(|p| {
                            let name = format!("{}{}", "\u{a0}\u{a0}".repeat(p.depth), p.title);
                            let selected = parent() == p.id;
                            view! { <option value=p.id selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <label>
                <span>"Notes"</span>
                <textarea
                    rows="3"
                    prop:value=field(|t| t.notes.clone())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        save_notes("notes", text_or_null(&v))
                    }
                ></textarea>
            </label>
            <div class="editor-actions">
                <button class="button small danger" on:click=move |_| {
                    let id = delete_id.clone();
                    let name = task.get_untracked().map(|t| t.title).unwrap_or_default();
                    ctx.editing.set(None);
                    ctx.act(async move {
                        store::delete(&id).await?;
                        ctx.say(format!("Deleted “{name}”."), Some(id));
                        Ok(())
                    });
                }>"Delete task"</button>
                <button class="button small" on:click=move |_| ctx.editing.set(None)>"Close"</button>
            </div>
        </div>
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
