//! A project's heading in the main area: its name and counts, its sub-projects, and its actions (rename,
//! add a sub-project, move under another project, delete).

use leptos::ev;
use leptos::prelude::*;
use serde_json::json;

use crate::ctx::{Ctx, View};
use crate::sidebar::NewProject;
use crate::store;

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
pub fn ProjectHead(id: String) -> impl IntoView {
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
                    .map(|p| {
                        (
                            p.id.clone(),
                            format!("{}{}", "\u{a0}\u{a0}\u{a0}".repeat(p.depth), p.title),
                        )
                    })
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
        <div class="list-head project-head">
            <div class="list-title">
                <Show
                    when=move || renaming.get()
                    fallback=move || view! { <h1>{title}</h1> }
                >
                    <form class="inline-form rename-form" on:submit=rename.clone()>
                        <input
                            node_ref=rename_input
                            aria-label="Project name"
                            bind:value=rename_value
                            on:keydown=move |ev: ev::KeyboardEvent| if ev.key() == "Escape" { renaming.set(false) }
                        />
                        <button class="button small primary" type="submit">"Save"</button>
                        <button class="button small" type="button" on:click=move |_| renaming.set(false)>"Cancel"</button>
                    </form>
                </Show>
                <p class="muted count-line">{move || count_line(counts())}</p>
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
                    <span>"Move under"</span>
                    <select on:change=on_move prop:value=current_parent>
                        <option value="">"Top level"</option>
                        {move || targets().into_iter().map(|(pid, name)| view! {
                            <option value=pid.clone() selected=current_parent() == pid>{name}</option>
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
