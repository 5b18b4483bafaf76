//! The main area: the current view with its heading, quick add, the task list (grouped by due date in
//! the agenda) and search results. A project's heading is [`ProjectHead`], a task's inline editor
//! [`TaskEditor`].

use std::sync::atomic::Ordering::Relaxed;

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ctx::{Ctx, View, is_today, today};
use crate::editor::TaskEditor;
use crate::model::{Finished, Hit, Task, Trashed};
use crate::priority::{PriorityChip, PriorityOptions};
use crate::project::ProjectHead;
use crate::sidebar::DRAG_TYPE;
use crate::store::{self, NewTask};

/// The rows a view shows: tasks (with an "overdue" mark in the agenda) or search hits.
#[derive(Debug, Clone, Default, PartialEq)]
struct Rows {
    tasks: Vec<(Task, bool)>,
    hits: Vec<Hit>,
    finished: Vec<Finished>,
    trashed: Vec<Trashed>,
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
        View::Today | View::Upcoming => {
            let day = today();
            let want_today = matches!(view, View::Today);
            Rows {
                tasks: store::agenda()
                    .await?
                    .into_iter()
                    .filter(|a| is_today(a, &day) == want_today)
                    .map(|a| (a.task, a.overdue))
                    .collect(),
                ..Rows::default()
            }
        }
        View::Logbook => Rows {
            finished: store::logbook().await?,
            ..Rows::default()
        },
        View::Trash => Rows {
            trashed: store::trash().await?,
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
    // A new view starts empty: the last view's rows are not shown under its heading meanwhile.
    Effect::new(move |prev: Option<View>| {
        ctx.version.track();
        let view = ctx.view.get();
        if prev.as_ref().is_some_and(|p| *p != view) {
            rows.set(Rows::default());
        }
        let asked = view.clone();
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
        asked
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
            View::Upcoming => view! {
                <ListHead title="Upcoming".into() subtitle="Due after today, soonest first".into()/>
                <QuickAdd project=None due_today=false/>
                <TaskList tasks rows/>
            }.into_any(),
            View::Logbook => view! {
                <ListHead title="Logbook".into() subtitle="Finished tasks, most recent first".into()/>
                <Logbook rows/>
            }.into_any(),
            View::Trash => view! {
                <ListHead title="Recently deleted".into() subtitle="Restore a task or project to put it back where it was".into()/>
                <Trash rows/>
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
                <ListHead title="Search".into() subtitle=format!("Titles and notes containing “{}”", q.trim())/>
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

/// Add a task with the keyboard: type, Enter. Optional due date (typed as in the CLI, `fri`, `+3`,
/// or picked) and priority beside it.
#[component]
fn QuickAdd(project: Option<String>, due_today: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let title = RwSignal::new(String::new());
    // The due date and priority apply to one task: after each add they go back to the list's own
    // (on a phone they are hidden, and a kept P1 would silently mark the next task too).
    let initial_due = move || if due_today { today() } else { String::new() };
    let due = RwSignal::new(initial_due());
    let priority = RwSignal::new(String::new());
    // The date parser's sentence when the typed date is not one; nothing typed is cleared then.
    let due_error = RwSignal::new(None::<String>);
    let adding = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    let due_input = NodeRef::<leptos::html::Input>::new();
    let error_id = format!("quick-due-error-{}", project.as_deref().unwrap_or("inbox"));
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let t = title.get_untracked().trim().to_owned();
        // A second Enter while the first add is still reading its date would add the task twice.
        if t.is_empty() || adding.get_untracked() {
            return;
        }
        adding.set(true);
        let (d, p) = (due.get_untracked().trim().to_owned(), priority.get_untracked());
        let project = project.clone();
        spawn_local(async move {
            let day = if d.is_empty() {
                None
            } else {
                match store::parse_due(&d).await {
                    Ok(day) => Some(day),
                    Err(e) => {
                        adding.try_set(false);
                        due_error.try_set(Some(e.message));
                        if let Some(i) = due_input.try_get_untracked().flatten() {
                            let _ = i.focus();
                        }
                        return;
                    }
                }
            };
            // The list may have changed meanwhile (this form is gone): the task is added all the same.
            due_error.try_set(None);
            // What was typed meanwhile stays (only the title that was added is cleared).
            if title.try_get_untracked().is_some_and(|v| v.trim() == t) {
                title.try_set(String::new());
            }
            due.try_set(initial_due());
            priority.try_set(String::new());
            adding.try_set(false);
            let init = NewTask {
                project: project.as_deref(),
                due: day.as_deref(),
                priority: p.parse().ok(),
            };
            if let Err(e) = store::create_task(&t, &init).await {
                ctx.fail(&e);
            }
        });
        if let Some(i) = input.get() {
            let _ = i.focus();
        }
    };
    let described = error_id.clone();
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
            <span class="quick-extra due-field">
                <input
                    node_ref=due_input
                    class="due-text"
                    type="text"
                    aria-label="New task due date"
                    placeholder="Due: fri, +3…"
                    autocomplete="off"
                    aria-invalid=move || due_error.with(|e| e.is_some()).to_string()
                    aria-describedby=move || due_error.with(|e| e.is_some()).then(|| described.clone())
                    prop:value=move || due.get()
                    on:input=move |ev| {
                        due.set(event_target_value(&ev));
                        due_error.set(None);
                    }
                />
                <input
                    class="date-pick"
                    type="date"
                    aria-label="Pick the new task's due date"
                    prop:value=move || {
                        let d = due.get();
                        if crate::model::is_iso_day(&d) { d } else { String::new() }
                    }
                    on:change=move |ev| {
                        due.set(event_target_value(&ev));
                        due_error.set(None);
                    }
                />
            </span>
            <select class="quick-extra" aria-label="New task priority" on:change=move |ev| priority.set(event_target_value(&ev)) prop:value=move || priority.get()>
                <PriorityOptions/>
            </select>
            <button class="button primary quick-submit" type="submit">"Add task"</button>
            <p class="error quick-error" id=error_id hidden=move || due_error.with(|e| e.is_none())>
                {move || due_error.get()}
            </p>
        </form>
    }
}

/// The tasks of the view, open first.
#[component]
fn TaskList(tasks: Memo<Vec<(Task, bool)>>, rows: RwSignal<Rows>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let agenda = move || matches!(ctx.view.get(), View::Today | View::Upcoming);
    // Task ids in order; in the agenda, with a heading (a key starting with '#') before each group.
    // In a list (not Today or Upcoming), finished tasks wait behind "Show completed (N)".
    // Each list remembers whether it shows them; a finished task opened from search shows them here
    // for now, without changing what the list remembers.
    let revealed_done = RwSignal::new(None::<View>);
    let show_done = Signal::derive(move || {
        ctx.view
            .with(|v| revealed_done.with(|r| r.as_ref() == Some(v)) || ctx.shows_done(v))
    });
    let finished = Memo::new(move |_| tasks.with(|t| t.iter().filter(|(t, _)| t.is_done()).count()));
    let hide_done = Signal::derive(move || !agenda() && !show_done.get());
    Effect::new(move |_| {
        if let Some(r) = ctx.reveal.get()
            && tasks.with(|t| t.iter().any(|(t, _)| t.id == r && t.is_done()))
        {
            revealed_done.set(Some(ctx.view.get_untracked()));
        }
    });
    // The task being edited stays where it is until its editor closes, whatever its new place: the
    // browser drops the focus of a row the list moves, and the person's next keystrokes would go
    // nowhere (its own due date or priority, or another device's change, can move it).
    let ids = Memo::new(move |prev: Option<&Vec<String>>| {
        let grouped = matches!(ctx.view.get(), View::Today);
        let hide = hide_done.get();
        let today = today();
        let editing = ctx.editing.get();
        let listed: Vec<(String, Option<&str>)> = tasks.with(|t| {
            t.iter()
                .filter(|(t, _)| !(hide && t.is_done()))
                .map(|(task, overdue)| {
                    let group = grouped.then(|| match task.due.as_deref() {
                        _ if *overdue => "#Overdue",
                        Some(d) if d == today => "#Due today",
                        _ => "#Coming up",
                    });
                    (task.id.clone(), group)
                })
                .collect()
        });
        crate::order::shown(&listed, prev.map(Vec::as_slice), editing.as_deref())
    });
    let empty = move || rows.with(|r| r.loaded) && ids.with(|i| i.is_empty());
    let has_done = move || !agenda() && finished.get() != 0;
    view! {
        <ul class="tasks" aria-label="Tasks">
            <For each=move || ids.get() key=|id| id.clone() let:id>
                {match id.strip_prefix('#') {
                    Some(group) => view! { <li class="group"><h2>{group.to_owned()}</h2></li> }.into_any(),
                    None => view! { <TaskRow id tasks show_project=agenda() hide_done/> }.into_any(),
                }}
            </For>
        </ul>
        <Show when=empty>
            <div class="empty">
                <p>{move || match ctx.view.get() {
                    View::Today => "Nothing due today. Enjoy the quiet.",
                    View::Upcoming => "Nothing due after today.",
                    _ if finished.get() != 0 => "All done here.",
                    _ => "No tasks here yet. Add one above.",
                }}</p>
            </div>
        </Show>
        <Show when=has_done>
            <button
                class="button small show-done"
                aria-expanded=move || show_done.get().to_string()
                on:click=move |_| {
                    let shown = show_done.get_untracked();
                    revealed_done.set(None);
                    ctx.view.with_untracked(|v| {
                        // Shown only because of a search result: hiding them needs no change of mind.
                        if ctx.shows_done(v) == shown {
                            ctx.toggle_showing_done(v);
                        }
                    });
                }
            >
                {move || format!("{} completed ({})", if show_done.get() { "Hide" } else { "Show" }, finished.get())}
            </button>
        </Show>
    }
}

/// One task: check off, the title and its details, and an inline editor.
#[component]
fn TaskRow(
    id: String,
    tasks: Memo<Vec<(Task, bool)>>,
    show_project: bool,
    hide_done: Signal<bool>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let row = {
        let id = id.clone();
        // Where the row was last time: a change of the list (a task added, removed or moved) shifts
        // the others by at most one place, so a row rarely has to look further (a scan from every
        // row would make each change of the list quadratic in its length).
        let was = std::sync::atomic::AtomicUsize::new(0);
        Memo::new(move |_| {
            tasks.with(|t| {
                let is_it = |i: &usize| t.get(*i).is_some_and(|(t, _)| t.id == id);
                let last = was.load(Relaxed);
                let near = [last, last + 1, last.wrapping_sub(1)];
                let at = near
                    .into_iter()
                    .find(is_it)
                    .or_else(|| (0..t.len()).find(is_it))?;
                was.store(at, Relaxed);
                t.get(at).cloned()
            })
        })
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
    let toggle = move |ev: ev::Event| {
        let id = toggle_id.clone();
        let now_done = !done();
        // The row is about to hide: the focus goes to the next task (or the one before), not the page.
        if now_done && hide_done.get_untracked() {
            focus_neighbour(&ev);
        }
        ctx.act(async move { store::set_done(&id, now_done).await });
    };
    let edit_id = id.clone();
    let drag_id = id.clone();
    let conflict_id = id.clone();
    let main_button = NodeRef::<leptos::html::Button>::new();
    // After a keyboard move the row moves in the list: keep the focus on it for the next keypress.
    // Armed by the move, this waits for the list's next change (only then does it follow the list:
    // a row that follows every change would make each change run as many effects as there are rows).
    let refocus = RwSignal::new(false);
    Effect::new(move |armed: Option<bool>| {
        if !refocus.get() {
            return false;
        }
        tasks.track();
        if armed == Some(true) {
            request_animation_frame(move || {
                if let Some(b) = main_button.get_untracked() {
                    let _ = b.focus();
                }
                refocus.set(false);
            });
        }
        true
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
    // Opened from a search result: scroll to this task, open it and focus it.
    let reveal_id = id.clone();
    Effect::new(move |_| {
        if ctx.reveal.get().as_deref() == Some(reveal_id.as_str()) && main_button.get().is_some() {
            ctx.reveal.set(None);
            ctx.editing.set(Some(reveal_id.clone()));
            request_animation_frame(move || {
                if let Some(b) = main_button.get_untracked() {
                    b.scroll_into_view();
                    let _ = b.focus();
                }
            });
        }
    });
    let editor_id = format!("edit-{id}");
    let editor_id2 = editor_id.clone();
    // When the editor closes with the focus inside it, the focus goes back to the task; and again once
    // the list has put the task in its place (a moved row loses the focus).
    Effect::new(move |was_open: Option<bool>| {
        let open = editing.get();
        if was_open == Some(true) && !open {
            let lost = || {
                document()
                    .active_element()
                    .is_none_or(|e| e.tag_name().eq_ignore_ascii_case("body"))
            };
            if lost()
                && let Some(b) = main_button.get_untracked()
            {
                let _ = b.focus();
                request_animation_frame(move || {
                    if lost()
                        && let Some(b) = main_button.get_untracked()
                    {
                        let _ = b.focus();
                    }
                });
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
                        {move || task().and_then(|t| t.priority).map(|p| view! { <PriorityChip p/> })}
                        {move || (show_project).then(|| task().map(|t| match t.parent.and_then(|p| ctx.project_title(&p)) {
                            Some(name) => view! { <span class="chip project">{name}</span> }.into_any(),
                            None => view! { <span class="chip project">"Inbox"</span> }.into_any(),
                        }))}
                        {move || task().map(|t| t.labels).unwrap_or_default().into_iter().map(|l| view! {
                            <span class="chip label" title=format!("Label: {l}")>{format!("@{l}")}</span>
                        }).collect_view()}
                        {move || task().and_then(|t| t.notes).filter(|n| !n.trim().is_empty()).map(|_| view! {
                            <span class="chip notes" title="Has notes">"Notes"</span>
                        })}
                        {move || task().map(|t| t.comments).filter(|n| *n > 0).map(|n| view! {
                            <span class="chip comments" title=format!("{n} comment{}", if n == 1 { "" } else { "s" })>
                                {format!("{n} comment{}", if n == 1 { "" } else { "s" })}
                            </span>
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

/// From the checkbox that is the event's target: focus the checkbox of the next open task in the list,
/// or of the one before.
fn focus_neighbour(ev: &ev::Event) {
    use wasm_bindgen::JsCast;
    let Some(row) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("li.task").ok().flatten())
    else {
        return;
    };
    let pick = |next: bool| {
        let mut at = if next {
            row.next_element_sibling()
        } else {
            row.previous_element_sibling()
        };
        while let Some(el) = at {
            if el.matches("li.task:not(.done)").unwrap_or(false)
                && let Some(b) = el.query_selector("input[type=checkbox]").ok().flatten()
            {
                return b.dyn_into::<web_sys::HtmlElement>().ok();
            }
            at = if next {
                el.next_element_sibling()
            } else {
                el.previous_element_sibling()
            };
        }
        None
    };
    if let Some(b) = pick(true).or_else(|| pick(false)) {
        let _ = b.focus();
    } else if let Some(q) = document()
        .query_selector("main .quick-title")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = q.focus();
    }
}

/// Search results: a project opens its list; a task opens in its list, focused. Each task says its due
/// date, priority and whether it is done, and a match in the notes says so.
#[component]
fn SearchResults(rows: RwSignal<Rows>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let hits = move || rows.with(|r| r.hits.clone());
    view! {
        <ul class="hits" aria-label="Results">
            {move || hits().into_iter().map(|h| {
                let is_project = h.ty == "project";
                let target = if is_project { Some(h.id.clone()) } else { h.parent.clone() };
                let place = match (is_project, &h.parent) {
                    (true, _) => "Project".to_owned(),
                    (_, Some(p)) => ctx.project_title(p).unwrap_or_else(|| "Inbox".into()),
                    (_, None) => "Inbox".to_owned(),
                };
                let done = h.status.as_deref().is_some_and(|s| s == "done" || s == "cancelled");
                let status = h.status.as_deref().map(|s| if s == "cancelled" { "Cancelled" } else { "Done" });
                let late = !done && h.due.as_deref().is_some_and(|d| d < today().as_str());
                let task_id = (!is_project).then(|| h.id.clone());
                let title = if h.title.trim().is_empty() { "Untitled".to_owned() } else { h.title.clone() };
                view! {
                    <li>
                        <button class="hit" class:done=done on:click=move |_| {
                            ctx.go(match &target {
                                Some(p) => View::Project(p.clone()),
                                None => View::Inbox,
                            });
                            ctx.reveal.set(task_id.clone());
                        }>
                            <span class="task-title">{title}</span>
                            <span class="task-meta">
                                {done.then(|| view! { <span class="chip status">{status}</span> })}
                                {h.due.clone().map(|d| view! { <span class="chip due" class:late=late>{due_label(&d)}</span> })}
                                {h.priority.map(|p| view! { <PriorityChip p/> })}
                                {h.in_notes.then(|| view! { <span class="chip notes">"in notes"</span> })}
                                <span class="chip project">{place}</span>
                            </span>
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

/// A moment (ms since the Unix epoch) as a local day, `YYYY-MM-DD`.
fn day_of(ms: f64) -> String {
    let d = js_sys::Date::new(&ms.into());
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// A moment as a local time of day, `14:05`.
fn time_of(ms: f64) -> String {
    let d = js_sys::Date::new(&ms.into());
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// A day heading: Today, Yesterday or `Tuesday 24 November`.
fn day_heading(day: &str) -> String {
    match due_label(day).as_str() {
        l @ ("Today" | "Yesterday") => l.to_owned(),
        _ => format_day(day),
    }
}

/// Finished tasks by the day they were finished; each can be reopened.
#[component]
fn Logbook(rows: RwSignal<Rows>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let groups = move || {
        rows.with(|r| {
            let mut out: Vec<(String, Vec<Finished>)> = Vec::new();
            for f in &r.finished {
                let day = f.done_ms.map(day_of).unwrap_or_default();
                match out.last_mut() {
                    Some((d, list)) if *d == day => list.push(f.clone()),
                    _ => out.push((day, vec![f.clone()])),
                }
            }
            out
        })
    };
    view! {
        {move || groups().into_iter().map(|(day, list)| {
            let heading = if day.is_empty() { "Earlier".to_owned() } else { day_heading(&day) };
            view! {
                <section class="log-day" aria-label=heading.clone()>
                    <h2 class="group-head">{heading.clone()}</h2>
                    <ul class="tasks log" aria-label=format!("Finished {heading}")>
                        {list.into_iter().map(|f| {
                            let t = f.task;
                            let (id, name) = (t.id.clone(), t.title.clone());
                            let place = t.parent.as_deref().and_then(|p| ctx.project_title(p)).unwrap_or_else(|| "Inbox".into());
                            let status = if t.status == "cancelled" { "Cancelled" } else { "Done" };
                            let when = f.done_ms.map(time_of);
                            let label = format!("Reopen “{}”", t.title);
                            view! {
                                <li class="task done log-row">
                                    <div class="task-line">
                                        <span class="log-main">
                                            <span class="task-title">{t.title.clone()}</span>
                                            <span class="task-meta">
                                                <span class="chip status">{status}</span>
                                                {when.map(|w| view! { <span class="chip when">{w}</span> })}
                                                <span class="chip project">{place}</span>
                                            </span>
                                        </span>
                                        <button class="button small" aria-label=label on:click=move |_| {
                                            let (id, name) = (id.clone(), name.clone());
                                            ctx.act(async move {
                                                store::set_done(&id, false).await?;
                                                ctx.say(format!("Reopened “{name}”."), None);
                                                Ok(())
                                            });
                                        }>"Reopen"</button>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            }
        }).collect_view()}
        <Show when=move || rows.with(|r| r.loaded && r.finished.is_empty())>
            <div class="empty"><p>"Nothing finished yet. Tasks you check off show here."</p></div>
        </Show>
    }
}

/// Deleted tasks, projects and notes, most recently deleted first; Restore puts one back where it was.
#[component]
fn Trash(rows: RwSignal<Rows>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let items = move || rows.with(|r| r.trashed.clone());
    view! {
        <ul class="tasks trash" aria-label="Deleted items">
            <For each=items key=|t| t.id.clone() let:item>
                {
                    let (id, name) = (item.id.clone(), item.title.clone());
                    let shown = if item.title.trim().is_empty() { "Untitled".to_owned() } else { item.title.clone() };
                    let kind = match item.ty.as_str() {
                        "project" => "Project",
                        "note" => "Note",
                        _ => "Task",
                    };
                    let when = item.deleted_ms.map(|ms| {
                        let day = day_of(ms);
                        format!("Deleted {} {}", due_label(&day), time_of(ms))
                    });
                    let label = format!("Restore “{shown}”");
                    view! {
                        <li class="task trash-row">
                            <div class="task-line">
                                <span class="log-main">
                                    <span class="task-title">{shown.clone()}</span>
                                    <span class="task-meta">
                                        <span class="chip kind">{kind}</span>
                                        {when.map(|w| view! { <span class="chip when">{w}</span> })}
                                    </span>
                                </span>
                                <button class="button small" aria-label=label on:click=move |_| {
                                    let (id, name) = (id.clone(), name.clone());
                                    ctx.act(async move {
                                        store::restore(&id).await?;
                                        ctx.say(format!("Restored “{name}”."), None);
                                        Ok(())
                                    });
                                }>"Restore"</button>
                            </div>
                        </li>
                    }
                }
            </For>
        </ul>
        <Show when=move || rows.with(|r| r.loaded && r.trashed.is_empty())>
            <div class="empty"><p>"Nothing deleted."</p></div>
        </Show>
    }
}
