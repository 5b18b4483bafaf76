//! A task's inline editor: title, due date, priority, project and notes, each saved as it changes.

use leptos::ev;
use leptos::prelude::*;
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::model::Task;
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
    let conflicts_id = id.clone();
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
    Effect::new(move |_| {
        if let Some(i) = title_input.get() {
            let _ = i.focus();
        }
    });
    let field = |f: fn(&Task) -> Option<String>| move || task.get().as_ref().and_then(f).unwrap_or_default();
    // What is being typed in a text field, until it is saved: the task reloads after every saved
    // change (of any field, on any device), and that must not overwrite a field the person is typing in.
    let (title_draft, notes_draft) = (RwSignal::new(None::<String>), RwSignal::new(None::<String>));
    let stored_title = field(|t| Some(t.title.clone()));
    let stored_notes = field(|t| t.notes.clone());
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
                    prop:value=move || notes_draft.get().unwrap_or_else(stored_notes)
                    on:input=move |ev| notes_draft.set(Some(event_target_value(&ev)))
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        save_notes("notes", text_or_null(&v));
                        notes_draft.set(None);
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
