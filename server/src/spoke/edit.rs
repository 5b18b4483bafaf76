//! The edit commands: `project add|mv|rename`, `task add|done|reopen|edit`, `rm` and `restore`. Each
//! resolves what the user named, calls the verb of [`hearth_core::edit`] (the browser client calls the
//! same ones) and says what it did.

use anyhow::{anyhow, bail};
use hearth_core::edit::{self, Changes, NewTask};
use hearth_core::{Error, Store};
use serde_json::{Value, json};

use super::cli::{HomeArg, ProjectCmd, TaskCmd, TaskEdit};
use super::{dates, short};

/// A node's title for a message (empty when it has none).
fn title_of(s: &Store, id: &str) -> String {
    edit::title(s.conn(), id).unwrap_or_default()
}

fn no_project(key: &str) -> anyhow::Error {
    anyhow!(
        "no project is called {key:?}{}; see `hearth tree`",
        hearth_core::error::short_key_hint(key)
    )
}

/// A live node by id or prefix; for projects also by name.
fn resolve_any(s: &Store, key: &str) -> anyhow::Result<(String, String)> {
    edit::resolve_any(s.conn(), key).map_err(|e| match e {
        Error::NotFound { .. } => no_project(key),
        e => e.into(),
    })
}

/// A live project by exact name (case-insensitive) or id prefix.
pub(super) fn resolve_project(s: &Store, key: &str) -> anyhow::Result<String> {
    edit::resolve_project(s.conn(), key).map_err(|e| match e {
        // An id prefix that matches several nodes names no project either.
        Error::NotFound { .. } | Error::Ambiguous { .. } => no_project(key),
        e => e.into(),
    })
}

pub(super) fn resolve_task(s: &Store, key: &str) -> anyhow::Result<String> {
    Ok(edit::resolve_task(s.conn(), key)?)
}

/// `hearth rm`.
pub(super) fn rm(home: &HomeArg, key: &str) -> anyhow::Result<()> {
    let mut s = home.open()?;
    let (id, title) = resolve_any(&s, key)?;
    edit::delete(&mut s, &id)?;
    println!(
        "Deleted {title:?} ({}). Undo with `hearth restore {}`.",
        short(&id),
        short(&id)
    );
    Ok(())
}

/// `hearth restore`.
pub(super) fn restore(home: &HomeArg, key: &str) -> anyhow::Result<()> {
    let mut s = home.open()?;
    let id = edit::resolve(s.conn(), key)?;
    edit::restore(&mut s, &id)?;
    println!("Restored {:?} ({}).", title_of(&s, &id), short(&id));
    Ok(())
}

/// A field's value as a person reads it.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => format!("{s:?}"),
        v => v.to_string(),
    }
}

/// `hearth conflicts [restore ID | dismiss ID | dismiss --all]`.
pub(super) fn conflicts(
    s: &mut Store,
    json: bool,
    action: Option<&str>,
    id: Option<&str>,
    all: bool,
) -> anyhow::Result<()> {
    let open = hearth_core::conflicts::open(s.conn())?;
    let who = |id: &str, name: &Option<String>| match name {
        Some(n) => format!("{n} ({})", short(id)),
        None => format!("device {}", short(id)),
    };
    match (action, id, all) {
        (None, None, false) => {}
        (None, _, _) => {
            bail!("say what to do: `hearth conflicts restore ID` or `hearth conflicts dismiss ID`")
        }
        (Some("restore"), None, _) => bail!("name the conflict to restore: `hearth conflicts restore ID`"),
        (Some(_), None, false) => {
            bail!(
                "name the conflict to dismiss (`hearth conflicts dismiss ID`), or dismiss every one with --all"
            )
        }
        (Some("restore"), _, true) => bail!("--all goes with dismiss only: restore one conflict at a time"),
        (Some(action), Some(key), _) => {
            let c = hearth_core::conflicts::find(s.conn(), key).map_err(|e| match e {
                Error::NotFound { .. } => anyhow!("no open conflict {key:?}; `hearth conflicts` lists them"),
                e => e.into(),
            })?;
            let restore = action == "restore";
            edit::resolve_conflict(s, &c.id, restore)?;
            if restore {
                println!(
                    "Restored {} of {:?} ({}) to {}, from {}.",
                    c.field,
                    c.title,
                    short(&c.node),
                    shown(&c.value),
                    who(&c.device, &c.device_name)
                );
            } else {
                println!(
                    "Kept {} of {:?} ({}) as {}; dismissed {} from {}.",
                    c.field,
                    c.title,
                    short(&c.node),
                    shown(&c.kept),
                    shown(&c.value),
                    who(&c.device, &c.device_name)
                );
            }
            return Ok(());
        }
        (Some(_), None, true) => {
            for c in &open {
                edit::resolve_conflict(s, &c.id, false)?;
            }
            println!(
                "Dismissed {} conflict(s); every field keeps the value it shows.",
                open.len()
            );
            return Ok(());
        }
    }
    if json {
        return super::print_json(&open);
    }
    if open.is_empty() {
        println!("No conflicts: no field was changed on two devices at once.");
        return Ok(());
    }
    println!("{} field(s) changed on two devices at once:", open.len());
    for c in &open {
        println!("  {}  {:?} ({}), {}", c.id, c.title, short(&c.node), c.field);
        println!(
            "      shown: {}  from {}",
            shown(&c.kept),
            who(&c.kept_device, &c.kept_device_name)
        );
        println!(
            "      also:  {}  from {}, {}",
            shown(&c.value),
            who(&c.device, &c.device_name),
            dates::local_time(c.at_ms)
        );
    }
    println!(
        "Restore the other value with `hearth conflicts restore ID`, or keep what is shown with \
         `hearth conflicts dismiss ID` (or `dismiss --all`)."
    );
    Ok(())
}

/// `hearth project …`.
pub(super) fn project(cmd: ProjectCmd) -> anyhow::Result<()> {
    match cmd {
        ProjectCmd::Add { home, name, parent } => {
            let mut s = home.open()?;
            let parent = parent.map(|p| resolve_project(&s, &p)).transpose()?;
            let same: Vec<String> = hearth_core::query::tree(s.conn())?
                .into_iter()
                .filter(|p| p.title.trim().to_lowercase() == name.trim().to_lowercase())
                .map(|p| short(&p.id).to_owned())
                .collect();
            let id = edit::create_project(&mut s, &name, parent.as_deref(), None)?.node;
            println!("Added project {name:?} ({}).", short(&id));
            if !same.is_empty() {
                eprintln!(
                    "Note: {} other project(s) are called {name:?} ({}); name this one by its id ({}).",
                    same.len(),
                    same.join(", "),
                    short(&id)
                );
            }
        }
        ProjectCmd::Mv {
            home,
            project,
            parent,
            top,
            before,
            after,
        } => {
            let mut s = home.open()?;
            let id = resolve_project(&s, &project)?;
            if let Some((key, before)) = before.map(|b| (b, true)).or(after.map(|a| (a, false))) {
                let other = resolve_project(&s, &key)?;
                return place(&mut s, &id, &other, before);
            }
            let parent = if top {
                None
            } else {
                parent.map(|p| resolve_project(&s, &p)).transpose()?
            };
            if parent.as_deref() == Some(id.as_str()) {
                bail!("a project cannot be its own parent");
            }
            edit::move_node(&mut s, &id, parent.as_deref())?;
            let moved = format!("{:?} ({})", title_of(&s, &id), short(&id));
            match parent {
                Some(p) => println!("Moved {moved} under {:?} ({}).", title_of(&s, &p), short(&p)),
                None => println!("Moved {moved} to the top level."),
            }
        }
        ProjectCmd::Rename { home, project, name } => {
            let mut s = home.open()?;
            let id = resolve_project(&s, &project)?;
            let old = title_of(&s, &id);
            edit::set_field(&mut s, &id, "title", json!(name))?;
            println!("Renamed {old:?} ({}) to {name:?}.", short(&id));
        }
    }
    Ok(())
}

/// `hearth task …`.
pub(super) fn task(cmd: TaskCmd) -> anyhow::Result<()> {
    match cmd {
        TaskCmd::Add {
            home,
            title,
            project,
            due,
            priority,
            notes,
            labels,
            json: out,
        } => {
            let mut s = home.open()?;
            let project = project.map(|p| resolve_project(&s, &p)).transpose()?;
            let due = due.as_deref().map(dates::due).transpose()?;
            let task = NewTask {
                title: title.clone(),
                project: project.clone(),
                due: due.clone(),
                priority,
                notes,
                id: None,
            };
            // Check every label name before anything is written.
            for l in &labels {
                edit::label_id(l).ok_or_else(|| Error::BadLabel(l.clone()))?;
            }
            let id = edit::create_task(&mut s, task)?.node;
            for l in &labels {
                edit::label(&mut s, &id, l)?;
            }
            if out.json {
                return super::print_json(&json!({
                    "id": id, "title": title, "project": project, "due": due, "priority": priority,
                    "labels": labels,
                }));
            }
            let place = match &project {
                Some(p) => format!(" to {:?}", title_of(&s, p)),
                None => " to the Inbox".into(),
            };
            let mut extra = String::new();
            if let Some(d) = &due {
                extra.push_str(&format!(", due {d}"));
            }
            if let Some(p) = priority {
                extra.push_str(&format!(", P{p}"));
            }
            for l in &labels {
                extra.push_str(&format!(", @{}", l.trim()));
            }
            println!("Added {title:?} ({}){place}{extra}.", short(&id));
        }
        TaskCmd::Done { home, id } => set_status(&home, &id, true)?,
        TaskCmd::Reopen { home, id } => set_status(&home, &id, false)?,
        TaskCmd::Edit(e) => edit_task(e)?,
        TaskCmd::Move {
            home,
            id,
            before,
            after,
        } => {
            let mut s = home.open()?;
            let id = resolve_task(&s, &id)?;
            let (key, before) = match (before, after) {
                (Some(b), _) => (b, true),
                (None, Some(a)) => (a, false),
                (None, None) => bail!("say where: --before ID or --after ID"),
            };
            let other = resolve_task(&s, &key)?;
            place(&mut s, &id, &other, before)?;
        }
    }
    Ok(())
}

/// `task move` and `project mv --before/--after`: put `id` just before or after `other`, and say so.
fn place(s: &mut Store, id: &str, other: &str, before: bool) -> anyhow::Result<()> {
    let at = if before {
        edit::Place::Before(other)
    } else {
        edit::Place::After(other)
    };
    edit::place(s, id, at)?;
    println!(
        "Put {:?} ({}) just {} {:?} ({}).",
        title_of(s, id),
        short(id),
        if before { "before" } else { "after" },
        title_of(s, other),
        short(other)
    );
    Ok(())
}

fn set_status(home: &HomeArg, key: &str, done: bool) -> anyhow::Result<()> {
    let mut s = home.open()?;
    let id = resolve_task(&s, key)?;
    if done {
        edit::complete(&mut s, &id)?;
    } else {
        edit::reopen(&mut s, &id)?;
    }
    println!(
        "{} {:?} ({}).",
        if done { "Done:" } else { "Reopened" },
        title_of(&s, &id),
        short(&id)
    );
    Ok(())
}

/// `hearth task edit`: every change given, in one commit.
fn edit_task(e: TaskEdit) -> anyhow::Result<()> {
    let mut s = e.home.open()?;
    let id = resolve_task(&s, &e.id)?;
    let mut fields: Vec<(String, Value)> = Vec::new();
    if let Some(t) = e.title {
        fields.push(("title".into(), json!(t)));
    }
    if let Some(d) = e.due {
        fields.push(("due".into(), json!(dates::due(&d)?)));
    }
    if e.no_due {
        fields.push(("due".into(), Value::Null));
    }
    if let Some(p) = e.priority {
        fields.push(("priority".into(), json!(p)));
    }
    if e.no_priority {
        fields.push(("priority".into(), Value::Null));
    }
    if let Some(n) = e.notes {
        fields.push(("notes".into(), json!(n)));
    }
    let parent = match e.project {
        Some(p) => Some(Some(resolve_project(&s, &p)?)),
        None if e.inbox => Some(None),
        None => None,
    };
    for l in e.labels.iter().chain(&e.unlabels) {
        edit::label_id(l).ok_or_else(|| Error::BadLabel(l.clone()))?;
    }
    // Nothing is committed when the changes amount to no op (`--inbox` for an Inbox task, say).
    let mut changed = !edit::update(&mut s, &id, Changes { fields, parent })?
        .ops
        .is_empty();
    for l in &e.labels {
        changed |= !edit::label(&mut s, &id, l)?.ops.is_empty();
    }
    for l in &e.unlabels {
        changed |= !edit::unlabel(&mut s, &id, l)?.ops.is_empty();
    }
    if !changed {
        bail!(
            "nothing to change: give --title, --due, --no-due, --priority, --notes, --project, --inbox, \
             --label or --unlabel (a label it already has, or one it does not have, changes nothing)"
        );
    }
    println!("Updated {:?} ({}).", title_of(&s, &id), short(&id));
    Ok(())
}

/// `hearth comment TASK TEXT`.
pub(super) fn comment(s: &mut Store, json: bool, task: &str, text: &str) -> anyhow::Result<()> {
    let id = resolve_task(s, task)?;
    let edited = edit::add_comment(s, &id, text)?;
    let comment = edited.ops.first().map(|op| op.id.to_string()).unwrap_or_default();
    if json {
        return super::print_json(&json!({"id": comment, "task": id, "text": text}));
    }
    println!("Commented on {:?} ({}).", title_of(s, &id), short(&id));
    Ok(())
}
