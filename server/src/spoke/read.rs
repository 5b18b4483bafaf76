//! The read commands: `ls`, `tree`, `agenda`, `search`, `export`, `log` and `status`, over
//! [`hearth_core::query`] and the store. Text for people, `--json` for scripts.

use anyhow::Context;
use hearth_core::wire::APP_VERSION;
use hearth_core::{Store, query};
use serde::Serialize;
use serde_json::{Value, json};

use super::cli::{HomeArg, LsArgs};
use super::dates::today;
use super::edit::resolve_project;
use super::{home, print_json, short};

pub(super) fn ls(args: LsArgs) -> anyhow::Result<()> {
    let s = args.home.open()?;
    let mut rows = if let Some(l) = &args.label {
        let mut rows = query::tasks_labelled(s.conn(), l)?;
        if let Some(p) = &args.project {
            let p = resolve_project(&s, p)?;
            rows.retain(|t| t.parent.as_deref() == Some(p.as_str()));
        } else if args.inbox {
            let inbox: std::collections::HashSet<String> =
                query::tasks(s.conn(), None)?.into_iter().map(|t| t.id).collect();
            rows.retain(|t| inbox.contains(&t.id));
        }
        rows
    } else if let Some(p) = &args.project {
        query::tasks(s.conn(), Some(&resolve_project(&s, p)?))?
    } else if args.inbox {
        query::tasks(s.conn(), None)?
    } else {
        query::all_tasks(s.conn())?
    };
    if !args.all {
        rows.retain(|t| !query::CLOSED.contains(&t.status.as_str()));
    }
    if args.json.json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("No tasks.");
    }
    let names: std::collections::HashMap<String, String> = query::tree(s.conn())?
        .into_iter()
        .map(|p| (p.id, p.title))
        .collect();
    for t in rows {
        let check = if query::CLOSED.contains(&t.status.as_str()) {
            "[x]"
        } else {
            "[ ]"
        };
        let mut line = format!("{}  {check} {}", short(&t.id), t.title);
        if let Some(d) = &t.due {
            line.push_str(&format!("  due {d}"));
        }
        if let Some(p) = t.priority {
            line.push_str(&format!("  p{p}"));
        }
        if let Some(name) = t.parent.as_ref().and_then(|p| names.get(p)) {
            line.push_str(&format!("  #{name}"));
        }
        for l in &t.labels {
            line.push_str(&format!("  @{l}"));
        }
        if t.comments > 0 {
            line.push_str(&format!(
                "  ({} comment{})",
                t.comments,
                if t.comments == 1 { "" } else { "s" }
            ));
        }
        println!("{line}");
    }
    Ok(())
}

/// `hearth labels`.
pub(super) fn labels(s: &Store, json: bool) -> anyhow::Result<()> {
    let labels = query::labels(s.conn())?;
    if json {
        return print_json(&labels);
    }
    if labels.is_empty() {
        println!("No labels yet: give one with `hearth task add TITLE --label NAME`.");
    }
    for l in labels {
        println!("@{:<24} {} open task(s)", l.name, l.open);
    }
    Ok(())
}

/// `hearth comments TASK`.
pub(super) fn comments(s: &Store, json: bool, task: &str) -> anyhow::Result<()> {
    let id = super::edit::resolve_task(s, task)?;
    let comments = query::comments(s.conn(), &id)?;
    if json {
        return print_json(&comments);
    }
    let title = hearth_core::edit::title(s.conn(), &id)?;
    if comments.is_empty() {
        println!(
            "No comments on {title:?} yet: add one with `hearth comment {} TEXT`.",
            short(&id)
        );
        return Ok(());
    }
    let mut names = hearth_core::conflicts::device_names(s.conn())?;
    // Name the devices that wrote them (learned from the hub's network view, when it answers).
    let me = s.device().to_string();
    if comments
        .iter()
        .any(|c| c.device != me && !names.contains_key(&c.device))
        && let Some((url, space, token)) = home::paired(s)?
    {
        match super::http::peers(&url, &space, &token, std::time::Duration::from_secs(3)) {
            Ok(view) => {
                hearth_core::conflicts::remember_names(s, &view.peers)?;
                names = hearth_core::conflicts::device_names(s.conn())?;
            }
            Err(e) => tracing::debug!(error = %e, "device names not refreshed"),
        }
    }
    println!("Comments on {title:?}:");
    for c in comments {
        let who = if c.device == s.device().to_string() {
            "this device".to_owned()
        } else {
            names
                .get(&c.device)
                .cloned()
                .unwrap_or_else(|| short(&c.device).to_owned())
        };
        println!("  {} · {who}", super::dates::local_time(c.at_ms));
        for line in c.text.lines() {
            println!("    {line}");
        }
    }
    Ok(())
}

pub(super) fn tree(s: &Store, json: bool) -> anyhow::Result<()> {
    let tree = query::tree(s.conn())?;
    let inbox = query::tasks(s.conn(), None)?
        .iter()
        .filter(|t| !query::CLOSED.contains(&t.status.as_str()))
        .count();
    if json {
        return print_json(&json!({"inbox": inbox, "projects": tree}));
    }
    println!("Inbox ({inbox})");
    for p in tree {
        println!(
            "{}{} ({})  {}",
            "  ".repeat(p.depth),
            p.title,
            p.open_total,
            short(&p.id)
        );
    }
    Ok(())
}

pub(super) fn agenda(s: &Store, done: bool, json: bool) -> anyhow::Result<()> {
    let today = today().to_string();
    let mut rows = query::agenda(s.conn(), &today)?;
    if done {
        rows.extend(
            query::logbook(s.conn())?
                .into_iter()
                .filter(|f| f.task.due.is_some())
                .map(|f| query::AgendaRow {
                    overdue: false,
                    task: f.task,
                }),
        );
        // Stable: within a day, open tasks (by priority) before finished ones.
        rows.sort_by(|a, b| a.task.due.cmp(&b.task.due));
    }
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("Nothing due.");
    }
    for r in rows {
        let when = r.task.due.as_deref().unwrap_or("");
        let closed = query::CLOSED.contains(&r.task.status.as_str());
        let mark = if closed {
            ""
        } else if r.overdue {
            "overdue"
        } else if when == today {
            "today"
        } else {
            ""
        };
        let check = if closed { "[x]" } else { "[ ]" };
        println!(
            "{}  {when}  {mark:<7}  {check} {}",
            short(&r.task.id),
            r.task.title
        );
    }
    Ok(())
}

/// `hearth search`.
pub(super) fn search(s: &Store, json: bool, text: &str) -> anyhow::Result<()> {
    let hits = query::search(s.conn(), text)?;
    if json {
        return print_json(&hits);
    }
    if hits.is_empty() {
        println!("Nothing matches {text:?}.");
    }
    for h in hits {
        let mark = match h.status.as_deref() {
            Some(st) if query::CLOSED.contains(&st) => "[x] ",
            Some(_) => "[ ] ",
            None => "    ",
        };
        let mut extra = String::new();
        if let Some(d) = &h.due {
            extra.push_str(&format!("  due {d}"));
        }
        if let Some(p) = h.priority {
            extra.push_str(&format!("  P{p}"));
        }
        if h.in_notes {
            extra.push_str("  (in its notes)");
        }
        println!("{}  {:<8} {mark}{}{extra}", short(&h.id), h.ty, h.title);
    }
    Ok(())
}

/// `hearth trash`: deleted tasks, projects and notes, most recent first; `hearth restore ID` brings one back.
pub(super) fn trash(s: &Store, json: bool) -> anyhow::Result<()> {
    let rows = query::deleted(s.conn())?;
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("Nothing is deleted.");
        return Ok(());
    }
    println!("Recently deleted (restore one with `hearth restore ID`):");
    for d in rows {
        println!(
            "  {}  {:<8} {:?}  deleted {}",
            short(&d.id),
            d.ty,
            d.title,
            super::dates::local_time(d.deleted_ms)
        );
    }
    Ok(())
}

/// `hearth export`: the canonical JSON of the space.
pub(super) fn export(s: &Store) -> anyhow::Result<()> {
    print!("{}", s.export()?);
    Ok(())
}

#[derive(Serialize)]
struct Status {
    home: String,
    device: String,
    hub: Option<String>,
    space: Option<String>,
    last_sync_ms: Option<u64>,
    unsent: usize,
    cursor: u64,
    log_rows: u64,
    quarantined: usize,
    /// Open conflicts (see `hearth conflicts`).
    conflicts: usize,
    last_recovery: Option<hearth_core::sync::Recovery>,
    /// The space's network view from the hub, when it answered.
    network: Option<hearth_core::wire::PeersResponse>,
    /// Why there is no network view (not paired, hub unreachable, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    network_error: Option<String>,
    schema_version: i64,
    app_version: &'static str,
    /// The epoch this device's data is in, and the whole-space migrations that led there.
    epoch: u64,
    migrations: Vec<String>,
}

pub(super) fn status(home: &HomeArg, json: bool) -> anyhow::Result<()> {
    let s = home.open()?;
    let paired = home::paired(&s)?;
    let (network, network_error) = match &paired {
        Some((url, space, token)) => {
            match super::http::peers(url, space, token, std::time::Duration::from_secs(3)) {
                Ok(view) => {
                    hearth_core::conflicts::remember_names(&s, &view.peers)?;
                    (Some(view), None)
                }
                Err(e) => (None, Some(format!("{e}"))),
            }
        }
        None => (None, Some("this device is not paired with a hub".to_owned())),
    };
    let st = Status {
        home: home.dir().display().to_string(),
        device: s.device().to_string(),
        hub: paired.as_ref().map(|p| p.0.clone()),
        space: paired.as_ref().map(|p| p.1.clone()),
        last_sync_ms: s.kv_get(home::keys::LAST_SYNC)?.and_then(|v| v.parse().ok()),
        unsent: s.outbox_len()?,
        cursor: s.cursor()?,
        log_rows: s.log_rows()?,
        quarantined: s.quarantined()?.len(),
        conflicts: hearth_core::conflicts::open(s.conn())?.len(),
        last_recovery: s
            .kv_get(hearth_core::store::keys::LAST_RECOVERY)?
            .and_then(|v| serde_json::from_str(&v).ok()),
        network,
        network_error,
        schema_version: hearth_core::migrate::schema_version(s.conn())?,
        app_version: APP_VERSION,
        epoch: s.epoch()?,
        migrations: s.migrations()?,
    };
    if json {
        return print_json(&st);
    }
    println!("Home:      {}", st.home);
    println!("Device:    {}", st.device);
    match (&st.hub, &st.space) {
        (Some(h), Some(sp)) => println!("Hub:       {h} (space {sp:?})"),
        _ => println!("Hub:       none (local only; pair with `hearth init --hub URL --code CODE`)"),
    }
    let when = super::dates::local_time;
    let last = st.last_sync_ms.map_or_else(|| "never".to_owned(), when);
    println!("Last sync: {last}");
    println!("Unsent:    {} change(s)", st.unsent);
    println!("Cursor:    seq {}", st.cursor);
    println!(
        "Local log: {} row(s) (unsent changes and ops this version cannot apply yet)",
        st.log_rows
    );
    if st.conflicts > 0 {
        println!(
            "Conflicts: {} field(s) changed on two devices at once (see `hearth conflicts`)",
            st.conflicts
        );
    }
    if st.quarantined > 0 {
        println!(
            "Set aside: {} change(s) not synced (see `hearth quarantine`)",
            st.quarantined
        );
    }
    if let Some(r) = &st.last_recovery {
        println!(
            "Restored:  {} from the hub's snapshot at seq {} ({} unsent change(s) kept)",
            when(r.at_ms),
            r.snapshot_seq,
            r.kept
        );
    }
    println!("Versions:  app {}, schema {}", st.app_version, st.schema_version);
    if st.migrations.is_empty() {
        println!("Epoch:     1 (no whole-space migration yet)");
    } else {
        println!("Epoch:     {} (after {})", st.epoch, st.migrations.join(", "));
    }
    match (&st.network, &st.network_error) {
        (Some(view), _) => {
            println!(
                "Space:     head seq {}, compacted to {}, snapshot at {}, {} log row(s) on the hub, epoch {}",
                view.head, view.compacted, view.snapshot_seq, view.log_rows, view.epoch
            );
            if view.epoch > st.epoch {
                println!(
                    "Behind:    the space moved to epoch {} (its data changed form); this device is on epoch \
                     {}: the next `hearth sync` carries its unsent changes over",
                    view.epoch, st.epoch
                );
            }
            println!("Devices:");
            let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
            for p in &view.peers {
                let me = if p.device.to_string() == st.device {
                    " (this device)"
                } else {
                    ""
                };
                let state = match p.state {
                    hearth_core::wire::PeerState::Active => "active",
                    hearth_core::wire::PeerState::Inactive => "inactive",
                    hearth_core::wire::PeerState::BehindHorizon => "behind the horizon",
                };
                let epoch = if p.epoch == 0 {
                    String::new()
                } else {
                    format!(", epoch {}", p.epoch)
                };
                println!(
                    "  {:<20} {}{me}: synced to {} of {}, seen {}, app {} (schema {}{epoch}), {state}",
                    if p.name.is_empty() { "(unnamed)" } else { &p.name },
                    short(&p.device.to_string()),
                    p.acked,
                    view.head,
                    hearth_server::routes::admin::ago(now, p.last_seen_ms),
                    if p.app_version.is_empty() {
                        "?"
                    } else {
                        &p.app_version
                    },
                    p.schema_version
                );
            }
        }
        (None, Some(e)) => println!("Devices:   unknown ({e})"),
        (None, None) => {}
    }
    Ok(())
}

#[derive(Serialize)]
struct LogRow {
    id: String,
    kind: String,
    v: u32,
    seq: Option<u64>,
    unsent: bool,
    applied: bool,
    payload: Value,
}

pub(super) fn log(s: &Store, json: bool, limit: usize) -> anyhow::Result<()> {
    let device = s.device().to_string();
    let rows: Vec<LogRow> = query::recent_ops(s.conn(), limit)
        .context("reading the op log")?
        .into_iter()
        .map(|op| LogRow {
            unsent: op.seq.is_none() && op.id.ends_with(&device),
            seq: op.seq,
            kind: op.kind,
            v: op.v,
            applied: op.applied,
            payload: serde_json::from_str(&op.payload).unwrap_or(Value::String(op.payload)),
            id: op.id,
        })
        .collect();
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!(
            "The local log is empty: every change is confirmed by the hub (use `init --keep-history` to keep them)."
        );
    }
    for r in rows {
        let mark = if r.unsent {
            "unsent "
        } else if !r.applied {
            "stored "
        } else {
            "       "
        };
        println!("{mark}{}  {:<12} {}", r.id, r.kind, r.payload);
    }
    Ok(())
}

pub(super) fn quarantine(
    s: &mut Store,
    json: bool,
    action: Option<&str>,
    id: Option<&str>,
    all: bool,
) -> anyhow::Result<()> {
    let list = s.quarantined()?;
    if action.is_some() && id.is_none() && !all {
        anyhow::bail!("say which change: `hearth quarantine retry ID` (or `retry --all`), `discard ID`");
    }
    if all {
        anyhow::ensure!(
            action == Some("retry"),
            "--all goes with retry only: discard changes one by one (`hearth quarantine discard ID`)"
        );
        let (mut back, mut still) = (0, Vec::new());
        for q in &list {
            match s.release_quarantined(q.op.id, true) {
                Ok(_) => back += 1,
                Err(e @ hearth_core::Error::Untranslatable { .. }) => still.push((q.op.id, e.to_string())),
                Err(e) => return Err(e.into()),
            }
        }
        println!("Put {back} change(s) back in the outbox; they are pushed on the next sync.");
        for (id, why) in &still {
            println!("Still set aside: {id}: {why}");
        }
        return Ok(());
    }
    if let (Some(action), Some(key)) = (action, id) {
        let key = key.trim().to_ascii_lowercase();
        let found: Vec<_> = list
            .iter()
            .filter(|q| {
                let id = q.op.id.to_string();
                id == key || (key.len() >= 6 && id.starts_with(&key))
            })
            .collect();
        let q = match found.as_slice() {
            [one] => *one,
            [] => anyhow::bail!("no set-aside change matches {key:?}; `hearth quarantine` lists them"),
            _ => anyhow::bail!(
                "{key:?} matches {} set-aside changes; give more characters",
                found.len()
            ),
        };
        let retry = action == "retry";
        s.release_quarantined(q.op.id, retry)?;
        if retry {
            println!(
                "Put {} ({}) back in the outbox; it is pushed on the next sync.",
                q.op.id, q.op.kind
            );
        } else if q.epoch.is_some() {
            println!(
                "Discarded {} ({}): it was never applied in the space's current form, so nothing changes here.",
                q.op.id, q.op.kind
            );
        } else {
            println!(
                "Discarded {} ({}). Its effect stays on this device until a later change overwrites it.",
                q.op.id, q.op.kind
            );
        }
        return Ok(());
    }
    if json {
        return print_json(&list);
    }
    if list.is_empty() {
        println!("Nothing is set aside: every change of this device syncs.");
        return Ok(());
    }
    println!(
        "{} change(s) set aside, kept on this device (the hub refuses them as they are, or the space's \
         data changed form and they cannot be carried over):",
        list.len()
    );
    for q in &list {
        println!("  {}  {}  {}: {}", q.op.id, q.op.kind, q.code, q.reason);
    }
    println!(
        "Retry one with `hearth quarantine retry ID` (or all with `retry --all`), or drop it with \
         `hearth quarantine discard ID`."
    );
    Ok(())
}
