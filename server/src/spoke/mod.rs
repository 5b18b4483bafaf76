//! The native spoke: `hearth` as a full offline client over a local SQLite file.
//!
//! Every command works with no hub reachable: edits apply locally and wait in the outbox; `sync` pushes
//! and pulls through the core's sans-IO engine ([`hearth_core::sync`]), driven here over HTTP.

mod dates;
mod home;
mod http;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use hearth_core::sync::{Step, Sync, SyncConfig, SyncReport};
use hearth_core::wire::{APP_VERSION, PairRequest};
use hearth_core::{NewOp, Store, query};
use serde::Serialize;
use serde_json::{Value, json};

/// Where the device's store lives.
#[derive(Debug, Args, Clone)]
pub struct HomeArg {
    /// This device's Hearth directory (default: the user's data directory, e.g. ~/.local/share/hearth-home).
    #[arg(long, env = "HEARTH_HOME", value_name = "DIR", global = true)]
    home: Option<PathBuf>,
}

impl HomeArg {
    fn dir(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(home::default_home)
    }
    fn open(&self) -> anyhow::Result<Store> {
        home::open(&self.dir(), false)
    }
}

/// `--json` for read commands.
#[derive(Debug, Args, Clone, Copy)]
pub struct JsonArg {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The client commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create this device's store; with --hub and --code, pair it with a hub and sync.
    ///
    /// `hearth init` alone makes a local-only store (pair later with `init --hub … --code …`;
    /// everything written meanwhile is kept and pushed).
    Init(InitArgs),
    /// Projects: add, rename, move (nest). `hearth tree` shows them.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Tasks: add, complete, edit.
    #[command(subcommand)]
    Task(TaskCmd),
    /// Delete a task, project or note (restore it with `hearth restore ID`).
    Rm {
        #[command(flatten)]
        home: HomeArg,
        /// Id (or an unambiguous prefix of at least 4 characters) or project name.
        id: String,
    },
    /// Restore a deleted node.
    Restore {
        #[command(flatten)]
        home: HomeArg,
        /// Id or unambiguous prefix.
        id: String,
    },
    /// List tasks: all open ones, or those of one project.
    Ls(LsArgs),
    /// The project tree with open-task counts (a sub-project's count includes its subtree).
    Tree {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Open tasks with a due date, overdue first.
    Agenda {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Find tasks, projects and notes by title (case-insensitive).
    Search {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
        /// Text to look for.
        text: String,
    },
    /// Push local changes and pull everyone else's. `--watch` stays connected and syncs on every change.
    Sync(SyncArgs),
    /// Hub, space, device, last sync, unsent changes, cursor and versions.
    Status {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Print the canonical JSON of the whole space (identical on converged devices).
    Export {
        #[command(flatten)]
        home: HomeArg,
    },
    /// Recent ops in the local log, newest first; unsent ones are marked.
    Log {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    home: HomeArg,
    /// The hub's URL, as `hearth serve` printed it.
    #[arg(long, requires = "code", value_name = "URL")]
    hub: Option<String>,
    /// The one-time pairing code `hearth serve` or `hearth invite` printed.
    #[arg(long, requires = "hub")]
    code: Option<String>,
    /// A name for this device, shown in the hub's peer list (default: the host name).
    #[arg(long)]
    name: Option<String>,
    /// Keep every op in the local log, not only unsent ones.
    #[arg(long)]
    keep_history: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCmd {
    /// Add a project, optionally inside another.
    Add {
        #[command(flatten)]
        home: HomeArg,
        /// Its name.
        name: String,
        /// Parent project (name or id).
        #[arg(long)]
        parent: Option<String>,
    },
    /// Move a project under another, or to the top level.
    Mv {
        #[command(flatten)]
        home: HomeArg,
        /// The project (name or id).
        project: String,
        /// New parent project (name or id).
        #[arg(long, conflicts_with = "top", required_unless_present = "top")]
        parent: Option<String>,
        /// Move to the top level.
        #[arg(long)]
        top: bool,
    },
    /// Rename a project.
    Rename {
        #[command(flatten)]
        home: HomeArg,
        /// The project (name or id).
        project: String,
        /// The new name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Add a task (to the Inbox unless --project is given).
    Add {
        #[command(flatten)]
        home: HomeArg,
        /// What to do.
        title: String,
        /// Project (name or id).
        #[arg(long, short)]
        project: Option<String>,
        /// Due date: YYYY-MM-DD, today, tomorrow, a weekday (fri), +N days.
        #[arg(long, short)]
        due: Option<String>,
        /// Priority 1 (highest) to 4.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=4))]
        priority: Option<i64>,
        /// Notes.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Mark a task done.
    Done {
        #[command(flatten)]
        home: HomeArg,
        /// Task id or unambiguous prefix.
        id: String,
    },
    /// Mark a done task open again.
    Reopen {
        #[command(flatten)]
        home: HomeArg,
        /// Task id or unambiguous prefix.
        id: String,
    },
    /// Change a task's title, due date, priority, notes or project.
    Edit(TaskEdit),
}

#[derive(Debug, Args)]
pub struct TaskEdit {
    #[command(flatten)]
    home: HomeArg,
    /// Task id or unambiguous prefix.
    id: String,
    /// New title.
    #[arg(long)]
    title: Option<String>,
    /// New due date (YYYY-MM-DD, today, tomorrow, a weekday, +N).
    #[arg(long, conflicts_with = "no_due")]
    due: Option<String>,
    /// Clear the due date.
    #[arg(long)]
    no_due: bool,
    /// New priority, 1 (highest) to 4.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=4), conflicts_with = "no_priority")]
    priority: Option<i64>,
    /// Clear the priority.
    #[arg(long)]
    no_priority: bool,
    /// New notes.
    #[arg(long)]
    notes: Option<String>,
    /// Move to this project (name or id).
    #[arg(long, conflicts_with = "inbox")]
    project: Option<String>,
    /// Move to the Inbox.
    #[arg(long)]
    inbox: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    home: HomeArg,
    #[command(flatten)]
    json: JsonArg,
    /// Only this project's tasks (name or id).
    #[arg(long, short, conflicts_with = "inbox")]
    project: Option<String>,
    /// Only tasks without a project.
    #[arg(long)]
    inbox: bool,
    /// Include done tasks.
    #[arg(long, short)]
    all: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    home: HomeArg,
    #[command(flatten)]
    json: JsonArg,
    /// Stay connected and sync whenever the hub reports a change (Ctrl-C to stop).
    #[arg(long)]
    watch: bool,
}

/// Run a client command.
pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Init(args) => init(args),
        Command::Project(p) => project(p),
        Command::Task(t) => task(t),
        Command::Rm { home, id } => {
            let mut s = home.open()?;
            let (id, title) = resolve_any(&s, &id)?;
            s.commit(vec![NewOp::delete(&id)])?;
            println!(
                "Deleted {title:?} ({}). Undo with `hearth restore {}`.",
                short(&id),
                short(&id)
            );
            Ok(())
        }
        Command::Restore { home, id } => {
            let mut s = home.open()?;
            let id = query::resolve(s.conn(), &id)?;
            s.commit(vec![NewOp::set(&id, "deleted", json!(false))])?;
            println!("Restored {}.", short(&id));
            Ok(())
        }
        Command::Ls(args) => ls(args),
        Command::Tree { home, json } => tree(&home.open()?, json.json),
        Command::Agenda { home, json } => agenda(&home.open()?, json.json),
        Command::Search { home, json, text } => {
            let s = home.open()?;
            let hits = query::search(s.conn(), &text)?;
            if json.json {
                return print_json(&hits);
            }
            if hits.is_empty() {
                println!("Nothing matches {text:?}.");
            }
            for h in hits {
                println!("{}  {:<8} {}", short(&h.id), h.ty, h.title);
            }
            Ok(())
        }
        Command::Sync(args) => sync(args),
        Command::Status { home, json } => status(&home, json.json),
        Command::Export { home } => {
            print!("{}", home.open()?.export()?);
            Ok(())
        }
        Command::Log { home, json, limit } => log(&home.open()?, json.json, limit),
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

fn due(s: &str) -> anyhow::Result<Value> {
    Ok(json!(
        dates::parse_due(s, today())
            .map_err(anyhow::Error::msg)?
            .to_string()
    ))
}

fn title_of(s: &Store, id: &str) -> anyhow::Result<String> {
    Ok(s.conn()
        .query_row("SELECT coalesce(title, '') FROM nodes WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap_or_default())
}

/// A live node by id or prefix; for projects also by name.
fn resolve_any(s: &Store, key: &str) -> anyhow::Result<(String, String)> {
    match query::resolve(s.conn(), key) {
        Ok(id) => {
            let deleted: bool =
                s.conn()
                    .query_row("SELECT deleted FROM nodes WHERE id = ?1", [&id], |r| r.get(0))?;
            if deleted {
                bail!("{key:?} is already deleted");
            }
            let title = title_of(s, &id)?;
            Ok((id, title))
        }
        Err(hearth_core::Error::NotFound { .. }) => {
            let id = resolve_project(s, key)?;
            let title = title_of(s, &id)?;
            Ok((id, title))
        }
        Err(e) => Err(e.into()),
    }
}

/// A live project by exact name (case-insensitive) or id prefix.
fn resolve_project(s: &Store, key: &str) -> anyhow::Result<String> {
    let mut stmt = s.conn().prepare(
        "SELECT id FROM nodes WHERE type = 'project' AND deleted = 0 AND lower(title) = lower(?1) ORDER BY id",
    )?;
    let by_name: Vec<String> = stmt.query_map([key], |r| r.get(0))?.collect::<Result<_, _>>()?;
    match by_name.as_slice() {
        [one] => return Ok(one.clone()),
        [] => {}
        many => bail!(
            "several projects are called {key:?} ({}); use an id",
            many.iter().map(|i| short(i)).collect::<Vec<_>>().join(", ")
        ),
    }
    let id = query::resolve(s.conn(), key)
        .map_err(|_| anyhow::anyhow!("no project is called {key:?}; see `hearth tree`"))?;
    let ty: Option<String> = s
        .conn()
        .query_row("SELECT type FROM nodes WHERE id = ?1", [&id], |r| r.get(0))?;
    if ty.as_deref() != Some("project") {
        bail!("{key:?} is a {}, not a project", ty.unwrap_or_default());
    }
    Ok(id)
}

fn resolve_task(s: &Store, key: &str) -> anyhow::Result<String> {
    let id = query::resolve(s.conn(), key)?;
    let ty: Option<String> = s
        .conn()
        .query_row("SELECT type FROM nodes WHERE id = ?1", [&id], |r| r.get(0))?;
    if ty.as_deref() != Some("task") {
        bail!("{key:?} is a {}, not a task", ty.unwrap_or_default());
    }
    Ok(id)
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "cli".into())
}

fn init(args: InitArgs) -> anyhow::Result<()> {
    let dir = args.home.dir();
    let existed = home::store_path(&dir).exists();
    let mut s = home::open(&dir, true)?;
    if args.keep_history {
        s.kv_set(home::keys::KEEP_HISTORY, "1")?;
    }
    match (&args.hub, &args.code) {
        (Some(hub), Some(code)) => {
            if let Some((url, space, _)) = home::paired(&s)? {
                bail!(
                    "this store is already paired with space {space:?} at {url}; use another --home to pair again"
                );
            }
            let name = args.name.clone().unwrap_or_else(host_name);
            let paired = http::pair(
                hub,
                &PairRequest {
                    code: code.trim().to_owned(),
                    name: name.clone(),
                    app_version: APP_VERSION.into(),
                    schema_version: hearth_core::migrate::LATEST,
                    device: Some(s.device()),
                },
            )?;
            anyhow::ensure!(
                paired.device == s.device(),
                "the hub assigned another device id; update Hearth"
            );
            s.kv_set(home::keys::HUB, hub.trim_end_matches('/'))?;
            s.kv_set(home::keys::SPACE, &paired.space)?;
            s.kv_set(home::keys::TOKEN, &paired.token)?;
            s.kv_set(home::keys::NAME, &name)?;
            println!(
                "Paired {} as {name:?} with space {:?} at {hub}.",
                dir.display(),
                paired.space
            );
            let hub = http::Hub::new(hub, &paired.space, &paired.token)?;
            let report = sync_round(&mut s, &hub, SyncConfig::default())?;
            print_report(&report, false)
        }
        _ => {
            if existed {
                println!(
                    "A store already exists in {} (device {}).",
                    dir.display(),
                    s.device()
                );
            } else {
                println!(
                    "Created a local store in {} (device {}).",
                    dir.display(),
                    s.device()
                );
                println!("Pair it later with `hearth init --hub URL --code CODE`.");
            }
            Ok(())
        }
    }
}

fn project(cmd: ProjectCmd) -> anyhow::Result<()> {
    match cmd {
        ProjectCmd::Add { home, name, parent } => {
            let mut s = home.open()?;
            let parent = parent.map(|p| resolve_project(&s, &p)).transpose()?;
            let id = s.new_node_id();
            let mut ops = vec![NewOp::create(
                &id,
                "project",
                [("title".to_owned(), json!(name))].into_iter().collect(),
            )];
            if let Some(p) = &parent {
                ops.push(NewOp::link_add(&id, p, hearth_core::op::PARENT));
            }
            s.commit(ops)?;
            println!("Added project {name:?} ({}).", short(&id));
        }
        ProjectCmd::Mv {
            home,
            project,
            parent,
            top,
        } => {
            let mut s = home.open()?;
            let id = resolve_project(&s, &project)?;
            let parent = if top {
                None
            } else {
                parent.map(|p| resolve_project(&s, &p)).transpose()?
            };
            if parent.as_deref() == Some(id.as_str()) {
                bail!("a project cannot be its own parent");
            }
            let ops = s.move_ops(&id, parent.as_deref())?;
            s.commit(ops)?;
            match parent {
                Some(p) => println!("Moved {:?} under {:?}.", title_of(&s, &id)?, title_of(&s, &p)?),
                None => println!("Moved {:?} to the top level.", title_of(&s, &id)?),
            }
        }
        ProjectCmd::Rename { home, project, name } => {
            let mut s = home.open()?;
            let id = resolve_project(&s, &project)?;
            s.commit(vec![NewOp::set(&id, "title", json!(name))])?;
            println!("Renamed to {name:?}.");
        }
    }
    Ok(())
}

fn task(cmd: TaskCmd) -> anyhow::Result<()> {
    match cmd {
        TaskCmd::Add {
            home,
            title,
            project,
            due: due_s,
            priority,
            notes,
        } => {
            let mut s = home.open()?;
            let parent = project.map(|p| resolve_project(&s, &p)).transpose()?;
            let mut fields = serde_json::Map::new();
            fields.insert("title".into(), json!(title));
            fields.insert("status".into(), json!("open"));
            if let Some(d) = &due_s {
                fields.insert("due".into(), due(d)?);
            }
            if let Some(p) = priority {
                fields.insert("priority".into(), json!(p));
            }
            if let Some(n) = notes {
                fields.insert("notes".into(), json!(n));
            }
            let id = s.new_node_id();
            let mut ops = vec![NewOp::create(&id, "task", fields)];
            if let Some(p) = &parent {
                ops.push(NewOp::link_add(&id, p, hearth_core::op::PARENT));
            }
            s.commit(ops)?;
            println!("{}", short(&id));
        }
        TaskCmd::Done { home, id } => set_status(&home, &id, "done")?,
        TaskCmd::Reopen { home, id } => set_status(&home, &id, "open")?,
        TaskCmd::Edit(e) => {
            let mut s = e.home.open()?;
            let id = resolve_task(&s, &e.id)?;
            let mut ops = Vec::new();
            if let Some(t) = e.title {
                ops.push(NewOp::set(&id, "title", json!(t)));
            }
            if let Some(d) = e.due {
                ops.push(NewOp::task_set(&id, "due", due(&d)?));
            }
            if e.no_due {
                ops.push(NewOp::task_set(&id, "due", Value::Null));
            }
            if let Some(p) = e.priority {
                ops.push(NewOp::task_set(&id, "priority", json!(p)));
            }
            if e.no_priority {
                ops.push(NewOp::task_set(&id, "priority", Value::Null));
            }
            if let Some(n) = e.notes {
                ops.push(NewOp::set(&id, "notes", json!(n)));
            }
            if let Some(p) = e.project {
                let p = resolve_project(&s, &p)?;
                ops.extend(s.move_ops(&id, Some(&p))?);
            }
            if e.inbox {
                ops.extend(s.move_ops(&id, None)?);
            }
            if ops.is_empty() {
                bail!(
                    "nothing to change: give --title, --due, --no-due, --priority, --notes, --project or --inbox"
                );
            }
            s.commit(ops)?;
            println!("Updated {:?} ({}).", title_of(&s, &id)?, short(&id));
        }
    }
    Ok(())
}

fn set_status(home: &HomeArg, key: &str, status: &str) -> anyhow::Result<()> {
    let mut s = home.open()?;
    let id = resolve_task(&s, key)?;
    s.commit(vec![NewOp::task_set(&id, "status", json!(status))])?;
    println!(
        "{} {:?} ({}).",
        if status == "done" { "Done:" } else { "Reopened" },
        title_of(&s, &id)?,
        short(&id)
    );
    Ok(())
}

fn ls(args: LsArgs) -> anyhow::Result<()> {
    let s = args.home.open()?;
    let mut rows = if let Some(p) = &args.project {
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
        println!("{line}");
    }
    Ok(())
}

fn tree(s: &Store, json: bool) -> anyhow::Result<()> {
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

fn agenda(s: &Store, json: bool) -> anyhow::Result<()> {
    let rows = query::agenda(s.conn(), &today().to_string())?;
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("Nothing due.");
    }
    for r in rows {
        let when = r.task.due.as_deref().unwrap_or("");
        let mark = if r.overdue {
            "overdue"
        } else if when == today().to_string() {
            "today"
        } else {
            ""
        };
        println!("{}  {when}  {:<7}  {}", short(&r.task.id), mark, r.task.title);
    }
    Ok(())
}

fn sync_round(store: &mut Store, hub: &http::Hub, cfg: SyncConfig) -> anyhow::Result<SyncReport> {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    };
    let mut sync = Sync::new(cfg);
    let bar = indicatif::ProgressBar::hidden();
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ops")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message("syncing");
    }
    let start_cursor = store.cursor()?;
    let report = loop {
        let step = match sync.poll(store, now())? {
            Step::Send(req) => {
                let reply = hub.send(&req);
                sync.handle(store, reply, now())?
            }
            other => Some(other),
        };
        let r = sync.report();
        if r.head > start_cursor {
            bar.set_length(r.head - start_cursor);
            bar.set_position(r.pulled as u64);
        }
        match step {
            Some(Step::Sleep(ms)) => std::thread::sleep(Duration::from_millis(ms)),
            Some(Step::Done(report)) => break report,
            Some(Step::Send(_)) | None => {}
        }
    };
    bar.finish_and_clear();
    if report.problem.is_none() {
        let ms = now();
        store.kv_set(home::keys::LAST_SYNC, &ms.to_string())?;
    }
    Ok(report)
}

fn print_report(r: &SyncReport, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(r)?;
    } else {
        let mut line = format!("Sync: pushed {}, pulled {}", r.pushed, r.pulled);
        if r.restamped > 0 {
            line.push_str(&format!(
                ", re-stamped {} (this device's clock was off)",
                r.restamped
            ));
        }
        line.push_str(&format!(
            "; at seq {} of {}; {} unsent.",
            r.cursor, r.head, r.unsent
        ));
        println!("{line}");
        if let Some(u) = &r.update_required {
            println!("Update required: {u}. Your changes are kept and will sync after the update.");
        }
    }
    match &r.problem {
        Some(p) => bail!("{p}"),
        None => Ok(()),
    }
}

fn sync(args: SyncArgs) -> anyhow::Result<()> {
    let mut s = args.home.open()?;
    let Some((url, space, token)) = home::paired(&s)? else {
        bail!("this store is not paired with a hub; run `hearth init --hub URL --code CODE`");
    };
    let hub = http::Hub::new(&url, &space, &token)?;
    if !args.watch {
        let report = sync_round(&mut s, &hub, SyncConfig::default())?;
        return print_report(&report, args.json.json);
    }
    // Watch: a round now, then one whenever the hub announces a head beyond our cursor; reconnect with
    // backoff when the stream drops; never give up (Ctrl-C stops).
    let cfg = SyncConfig {
        max_retries: None,
        ..SyncConfig::default()
    };
    let mut backoff = Duration::from_millis(500);
    loop {
        let report = sync_round(&mut s, &hub, cfg.clone())?;
        print_report(&report, args.json.json)?;
        match hub.events() {
            Ok(events) => {
                backoff = Duration::from_millis(500);
                for head in events {
                    let head = head?;
                    if head > s.cursor()? || s.outbox_len()? > 0 {
                        let report = sync_round(&mut s, &hub, cfg.clone())?;
                        print_report(&report, args.json.json)?;
                    }
                }
                eprintln!("The live connection closed; reconnecting.");
            }
            Err(e) => {
                eprintln!(
                    "Live updates unavailable ({e}); retrying in {} s.",
                    backoff.as_secs_f32()
                );
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
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
    schema_version: i64,
    app_version: &'static str,
}

fn status(home: &HomeArg, json: bool) -> anyhow::Result<()> {
    let s = home.open()?;
    let paired = home::paired(&s)?;
    let st = Status {
        home: home.dir().display().to_string(),
        device: s.device().to_string(),
        hub: paired.as_ref().map(|p| p.0.clone()),
        space: paired.as_ref().map(|p| p.1.clone()),
        last_sync_ms: s.kv_get(home::keys::LAST_SYNC)?.and_then(|v| v.parse().ok()),
        unsent: s.outbox_len()?,
        cursor: s.cursor()?,
        schema_version: hearth_core::migrate::schema_version(s.conn())?,
        app_version: APP_VERSION,
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
    let last = st.last_sync_ms.map_or_else(
        || "never".to_owned(),
        |ms| {
            chrono::DateTime::from_timestamp_millis(ms as i64)
                .map(|t| {
                    t.with_timezone(&chrono::Local)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default()
        },
    );
    println!("Last sync: {last}");
    println!("Unsent:    {} change(s)", st.unsent);
    println!("Cursor:    seq {}", st.cursor);
    println!("Versions:  app {}, schema {}", st.app_version, st.schema_version);
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

fn log(s: &Store, json: bool, limit: usize) -> anyhow::Result<()> {
    let device = s.device().to_string();
    let mut stmt = s
        .conn()
        .prepare("SELECT id, kind, v, seq, applied, payload FROM ops ORDER BY id DESC LIMIT ?1")?;
    let rows: Vec<LogRow> = stmt
        .query_map([limit as i64], |r| {
            let id: String = r.get(0)?;
            let seq: Option<i64> = r.get(3)?;
            let payload: String = r.get(5)?;
            Ok(LogRow {
                unsent: seq.is_none() && id.ends_with(&device),
                seq: seq.map(|s| s as u64),
                kind: r.get(1)?,
                v: r.get(2)?,
                applied: r.get(4)?,
                payload: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
                id,
            })
        })?
        .collect::<Result<_, _>>()
        .context("reading the op log")?;
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
