//! Priorities as every screen shows them: one menu (quick add, the editor) and one chip (lists, search),
//! both from `model::PRIORITIES`, so P1–P4 mean the same thing, in the same words, everywhere.

use leptos::prelude::*;

use crate::model::{NO_PRIORITY, PRIORITIES, priority_label};

/// The `<option>`s of a priority menu: "No priority", then "P1 · urgent" … "P4 · low".
#[component]
pub fn PriorityOptions() -> impl IntoView {
    view! {
        <option value="">{NO_PRIORITY}</option>
        {PRIORITIES
            .iter()
            .map(|(p, _)| view! { <option value=p.to_string()>{priority_label(*p)}</option> })
            .collect_view()}
    }
}

/// A task's priority chip: "P1", with "P1 · urgent" as its tooltip.
#[component]
pub fn PriorityChip(p: i64) -> impl IntoView {
    view! { <span class=format!("chip prio p{p}") title=priority_label(p)>{format!("P{p}")}</span> }
}
