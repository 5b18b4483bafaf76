//! A task's inline editor: title, due date, priority, project, notes and labels, each saved as it
//! changes, and the task's comments.

use leptos::ev;
use leptos::prelude::*;
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::model::Task;
use crate::priority::PriorityOptions;
use crate::store;

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
pub fn TaskEditor(id: String, editor_id: String, task: Signal<Option<Task>>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // Closing (Escape, the Close button) saves what was typed: the text fields' drafts are saved first,
    // then the editor closes. Closing removes the fields, and the browser may then report a pending edit
    // as a change too: once closed, those are not saved a second time.
    let closed = std::rc::Rc::new(std::cell::Cell::new(false));
    let save = {
        let id = id.clone();
        let closed = closed.clone();
        move |field: &'static str, value: Value| {
            if closed.get() {
                return;
            }
            let id = id.clone();
            ctx.act(async move { store::set(&id, field, &value).await });
        }
    };
    let save_title = save.clone();
    let save_due = save.clone();
    let save_prio = save.clone();
    let save_notes = save.clone();
    let move_id = id.clone();
    let due_id = id.clone();
    let delete_id = id.clone();
    let conflicts_id = id.clone();
    let labels_id = id.clone();
    let comments_id = id.clone();
    let resolve = move |conflict: String, restore: bool| {
        ctx.act(async move {
            store::resolve_conflict(&conflict, restore).await?;
            ctx.say(
                if restore {
                    "Restored the other value."
                } else {
                    "Kept the value shown."
                },
                None,
            );
            Ok(())
        });
    };
    let title_input = NodeRef::<leptos::html::Input>::new();
    // On a phone, focusing the title would open the on-screen keyboard over the task just opened: the
    // focus goes to the title only where there is room (a person taps the field to type).
    let narrow = window()
        .match_media("(max-width: 760px)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    Effect::new(move |_| {
        if !narrow && let Some(i) = title_input.get() {
            let _ = i.focus();
        }
    });
    let field = |f: fn(&Task) -> Option<String>| move || task.get().as_ref().and_then(f).unwrap_or_default();
    // What is being typed in a text field, until it is saved: the task reloads after every saved
    // change (of any field, on any device), and that must not overwrite a field the person is typing in.
    let (title_draft, notes_draft) = (RwSignal::new(None::<String>), RwSignal::new(None::<String>));
    let stored_title = field(|t| Some(t.title.clone()));
    let stored_notes = field(|t| t.notes.clone());
    // The due date as typed (`fri`, `+3`, `2026-12-24`), read by the CLI's parser; an unreadable one
    // stays in the field with the parser's sentence beside it, and nothing is saved.
    let due_draft = RwSignal::new(None::<String>);
    let due_error = RwSignal::new(None::<String>);
    let stored_due = field(|t| t.due.clone());
    let due_error_id = format!("{editor_id}-due-error");
    let due_error_id2 = due_error_id.clone();
    let due_closed = closed.clone();
    let set_due = move |v: String| {
        // Once closing, the close saves the typed date (this is the browser's change event of a field
        // being removed).
        if due_closed.get() {
            return;
        }
        let v = v.trim().to_owned();
        if v.is_empty() {
            due_draft.set(None);
            due_error.set(None);
            save_due("due", Value::Null);
            return;
        }
        let save_due = save_due.clone();
        let closed = due_closed.clone();
        leptos::task::spawn_local(async move {
            let parsed = store::parse_due(&v).await;
            if closed.get() {
                return;
            }
            match parsed {
                Ok(day) => {
                    due_error.try_set(None);
                    due_draft.try_set(None);
                    if task.try_get_untracked().flatten().and_then(|t| t.due).as_deref() != Some(day.as_str())
                    {
                        save_due("due", json!(day));
                    }
                }
                Err(e) => {
                    due_error.try_set(Some(e.message));
                }
            }
        });
    };
    let set_due_pick = set_due.clone();
    let projects = move || ctx.tree.get();
    let parent = field(|t| t.parent.clone());
    // Save the drafts (a title is never saved blank), then close.
    let close = {
        let closed = closed.clone();
        move || {
            if closed.get() {
                return;
            }
            if let Some(t) = title_draft.get_untracked()
                && !t.trim().is_empty()
                && t.trim() != stored_title().as_str()
            {
                save("title", json!(t.trim()));
            }
            if let Some(n) = notes_draft.get_untracked()
                && n != stored_notes()
            {
                save("notes", text_or_null(&n));
            }
            // A due date typed but not read yet: read it first. An unreadable one keeps the editor
            // open with the parser's sentence (the text is not thrown away).
            if due_error.with_untracked(|e| e.is_some()) {
                return;
            }
            let pending = due_draft.get_untracked().map(|d| d.trim().to_owned());
            match pending {
                Some(d) if !d.is_empty() => {
                    let (id, closed) = (due_id.clone(), closed.clone());
                    closed.set(true);
                    leptos::task::spawn_local(async move {
                        match store::parse_due(&d).await {
                            Ok(day) => {
                                let stored = task.try_get_untracked().flatten().and_then(|t| t.due);
                                if stored.as_deref() != Some(day.as_str()) {
                                    ctx.act(async move { store::set(&id, "due", &json!(day)).await });
                                }
                                ctx.editing.set(None);
                            }
                            Err(e) => {
                                closed.set(false);
                                due_error.try_set(Some(e.message));
                            }
                        }
                    });
                }
                Some(_) => {
                    if !stored_due().is_empty() {
                        let id = due_id.clone();
                        ctx.act(async move { store::set(&id, "due", &Value::Null).await });
                    }
                    closed.set(true);
                    ctx.editing.set(None);
                }
                None => {
                    closed.set(true);
                    ctx.editing.set(None);
                }
            }
        }
    };
    let close_button = close.clone();

    view! {
        <div
            class="editor"
            id=editor_id
            on:keydown=move |ev: ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    close();
                }
            }
        >
            <label>
                <span>"Title"</span>
                <input
                    node_ref=title_input
                    prop:value=move || title_draft.get().unwrap_or_else(stored_title)
                    on:input=move |ev| title_draft.set(Some(event_target_value(&ev)))
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if !v.trim().is_empty() { save_title("title", json!(v.trim())) }
                        title_draft.set(None);
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
            {move || {
                let list = ctx.conflicts_of(&conflicts_id);
                (!list.is_empty()).then(|| view! {
                    <ul class="conflicts" aria-label="Also changed on another device">
                        {list.into_iter().map(|c| {
                            let (restore_id, dismiss_id) = (c.id.clone(), c.id.clone());
                            let line = format!(
                                "Also changed on {}: {} {}",
                                c.device_label(),
                                c.field_label().to_lowercase(),
                                c.value_label()
                            );
                            view! {
                                <li class="conflict">
                                    <span>{line}</span>
                                    <span class="conflict-actions">
                                        <button type="button" class="button small"
                                            on:click=move |_| resolve(restore_id.clone(), true)>"Restore"</button>
                                        <button type="button" class="button small"
                                            on:click=move |_| resolve(dismiss_id.clone(), false)>"Dismiss"</button>
                                    </span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })
            }}
            <div class="editor-row">
                <div class="due-edit">
                    <label>
                        <span>"Due"</span>
                        <input
                            type="text"
                            autocomplete="off"
                            placeholder="fri, +3, 2026-12-24"
                            aria-invalid=move || due_error.with(|e| e.is_some()).to_string()
                            aria-describedby=move || due_error.with(|e| e.is_some()).then(|| due_error_id.clone())
                            prop:value=move || due_draft.get().unwrap_or_else(stored_due)
                            on:input=move |ev| {
                                due_draft.set(Some(event_target_value(&ev)));
                                due_error.set(None);
                            }
                            on:change=move |ev| set_due(event_target_value(&ev))
                        />
                    </label>
                    <input
                        class="date-pick"
                        type="date"
                        aria-label="Pick a date from the calendar"
                        prop:value=move || {
                            let d = due_draft.get().unwrap_or_else(stored_due);
                            if crate::model::is_iso_day(&d) { d } else { String::new() }
                        }
                        on:change=move |ev| set_due_pick(event_target_value(&ev))
                    />
                    <p class="error field-error" id=due_error_id2 hidden=move || due_error.with(|e| e.is_none())>
                        {move || due_error.get()}
                    </p>
                </div>
                <label>
                    <span>"Priority"</span>
                    <select
                        prop:value=field(|t| t.priority.map(|p| p.to_string()))
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            save_prio("priority", v.parse::<i64>().map_or(Value::Null, |p| json!(p)))
                        }
                    >
                        <PriorityOptions/>
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
                    prop:value=move || notes_draft.get().unwrap_or_else(stored_notes)
                    on:input=move |ev| notes_draft.set(Some(event_target_value(&ev)))
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        save_notes("notes", text_or_null(&v));
                        notes_draft.set(None);
                    }
                ></textarea>
            </label>
            <Labels id=labels_id task=task/>
            <Comments id=comments_id/>
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
                <button class="button small" on:click=move |_| close_button()>"Close"</button>
            </div>
        </div>
    }
}

/// A task's labels, each with a button to take it off, and a field to add one (existing names are
/// offered as the person types; a new name makes a new label).
#[component]
fn Labels(id: String, task: Signal<Option<Task>>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let known = RwSignal::new(Vec::<crate::model::Label>::new());
    Effect::new(move |_| {
        ctx.version.track();
        leptos::task::spawn_local(async move {
            match store::labels().await {
                Ok(l) => {
                    known.try_set(l);
                }
                Err(e) => ctx.fail(&e),
            }
        });
    });
    let draft = RwSignal::new(String::new());
    let list_id = format!("labels-{id}");
    let list_id2 = list_id.clone();
    let add_id = id.clone();
    let add = move || {
        let name = draft.get_untracked().trim().to_owned();
        if name.is_empty() {
            return;
        }
        let id = add_id.clone();
        draft.set(String::new());
        ctx.act(async move { store::label(&id, &name).await });
    };
    let add_button = add.clone();
    view! {
        <div class="labels-edit" role="group" aria-label="Labels">
            <span class="field-name">"Labels"</span>
            <ul class="label-list">
                {move || task.get().map(|t| t.labels).unwrap_or_default().into_iter().map(|l| {
                    let (id, name) = (id.clone(), l.clone());
                    view! {
                        <li class="chip label">
                            {format!("@{l}")}
                            <button type="button" class="chip-remove" aria-label=format!("Remove label {l}")
                                on:click=move |_| {
                                    let (id, name) = (id.clone(), name.clone());
                                    ctx.act(async move { store::unlabel(&id, &name).await });
                                }>"×"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <span class="label-add">
                <input
                    type="text"
                    aria-label="Add a label"
                    placeholder="Add a label"
                    list=list_id
                    maxlength="64"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev: ev::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            add();
                        }
                    }
                />
                <datalist id=list_id2>
                    {move || known.get().into_iter().map(|l| view! { <option value=l.name/> }).collect_view()}
                </datalist>
                <button type="button" class="button small" on:click=move |_| add_button()>"Add"</button>
            </span>
        </div>
    }
}

/// A task's comments, oldest first, with who wrote each and when, and a field to add one.
#[component]
fn Comments(id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let comments = RwSignal::new(Vec::<crate::model::Comment>::new());
    let load_id = id.clone();
    Effect::new(move |_| {
        ctx.version.track();
        let id = load_id.clone();
        leptos::task::spawn_local(async move {
            match store::comments(&id).await {
                Ok(c) => {
                    ctx.learn_names(
                        c.iter()
                            .filter(|c| c.device_name.is_none())
                            .map(|c| c.device.clone())
                            .collect(),
                    );
                    comments.try_set(c);
                }
                Err(e) => ctx.fail(&e),
            }
        });
    });
    let draft = RwSignal::new(String::new());
    let add = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let id = id.clone();
        draft.set(String::new());
        ctx.act(async move {
            store::add_comment(&id, &text).await?;
            ctx.say("Comment added.", None);
            Ok(())
        });
    };
    let add_key = add.clone();
    view! {
        <section class="comments" aria-label="Comments">
            <span class="field-name">"Comments"</span>
            <ol class="comment-list">
                {move || comments.get().into_iter().map(|c| {
                    let when = crate::model::local_time(c.at_ms);
                    view! {
                        <li class="comment">
                            <p class="comment-text">{c.text.clone()}</p>
                            <p class="comment-meta">{format!("{} · {when}", c.author())}</p>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <textarea
                rows="2"
                aria-label="Add a comment"
                placeholder="Add a comment (Ctrl+Enter sends)"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev: ev::KeyboardEvent| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                        ev.prevent_default();
                        add_key();
                    }
                }
            ></textarea>
            <button type="button" class="button small" on:click=move |_| add()>"Comment"</button>
        </section>
    }
}
