//! Every command-line definition of the client: [`Command`] and its argument structs (clap derives
//! the parser and the help text from them). What the commands do is in the sibling modules.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use hearth_core::Store;

use super::home;

/// Where the device's store lives.
#[derive(Debug, Args, Clone)]
pub struct HomeArg {
    /// This device's Hearth directory (default: the user's data directory, e.g. ~/.local/share/hearth-home).
    #[arg(long, env = "HEARTH_HOME", value_name = "DIR", global = true)]
    pub home: Option<PathBuf>,
}

impl HomeArg {
    /// The home directory.
    pub fn dir(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(home::default_home)
    }
    /// Open its store (it must exist: `hearth init` makes it).
    pub fn open(&self) -> anyhow::Result<Store> {
        home::open(&self.dir(), false)
    }
}

/// `--json` for read commands.
#[derive(Debug, Args, Clone, Copy)]
pub struct JsonArg {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
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
    /// Deleted tasks, projects and notes, most recent first (restore one with `hearth restore ID`).
    Trash {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
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
    /// Open tasks with a due date, overdue first; `--done` adds the finished ones, marked [x].
    Agenda {
        #[command(flatten)]
        home: HomeArg,
        /// Also the done and cancelled tasks with a due date, marked [x].
        #[arg(long)]
        done: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Find tasks, projects and notes by title or notes (case-insensitive); tasks show [x] when done.
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
    /// Changes of this device set aside so that the rest syncs: those the hub refuses as they are
    /// (invalid under its rules, or over its limits; they stay applied on this device), and those a
    /// whole-space migration could not carry over into the space's new form.
    Quarantine {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
        /// `retry ID` puts one back in the outbox (e.g. after the hub's limits changed, or through the
        /// lenses again after an update), `retry --all` every one; `discard ID` drops it (its effect
        /// stays here until a later change overwrites it).
        #[arg(value_parser = ["retry", "discard"])]
        action: Option<String>,
        /// The op id (or an unambiguous prefix of 6+ characters), as listed.
        id: Option<String>,
        /// With `retry`: every set-aside change (those that still cannot be carried over stay).
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Every label, with how many open tasks carry it. Give labels with `task add/edit --label`; list a
    /// label's tasks with `ls --label NAME`.
    Labels {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Add a comment to a task. Comments are kept in the order they were written, with the device that
    /// wrote them, and are never merged away.
    Comment {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
        /// Task id or unambiguous prefix.
        task: String,
        /// The comment.
        text: String,
    },
    /// The comments on a task, oldest first.
    Comments {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
        /// Task id or unambiguous prefix.
        task: String,
    },
    /// Edits two devices made to the same field without seeing each other's: the value shown and the
    /// other one, kept.
    ///
    /// `hearth conflicts` lists them; `restore ID` brings the other value back and `dismiss ID` (or
    /// `dismiss --all`) keeps the value shown. Both are ordinary changes: they sync, and the conflict
    /// leaves the list on every device.
    Conflicts {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        json: JsonArg,
        /// `restore` or `dismiss`.
        #[arg(value_parser = ["restore", "dismiss"])]
        action: Option<String>,
        /// The conflict's id, as listed.
        id: Option<String>,
        /// With `dismiss`: every open conflict.
        #[arg(long, conflicts_with = "id")]
        all: bool,
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
    pub home: HomeArg,
    /// The hub's URL, as `hearth serve` printed it.
    #[arg(long, requires = "code", value_name = "URL")]
    pub hub: Option<String>,
    /// The one-time pairing code `hearth serve` or `hearth invite` printed.
    #[arg(long, requires = "hub")]
    pub code: Option<String>,
    /// A name for this device, shown in the hub's peer list (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Keep every op in the local log, not only unsent ones.
    #[arg(long)]
    pub keep_history: bool,
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
    /// Move a project under another, to the top level, or just before or after another project
    /// (then under that project's parent).
    Mv {
        #[command(flatten)]
        home: HomeArg,
        /// The project (name or id).
        project: String,
        /// New parent project (name or id).
        #[arg(long, conflicts_with_all = ["top", "before", "after"], required_unless_present_any = ["top", "before", "after"])]
        parent: Option<String>,
        /// Move to the top level.
        #[arg(long, conflicts_with_all = ["before", "after"])]
        top: bool,
        /// Put it just before this project (name or id).
        #[arg(long, conflicts_with = "after")]
        before: Option<String>,
        /// Put it just after this project (name or id).
        #[arg(long)]
        after: Option<String>,
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
        /// Priority: 1 urgent, 2 high, 3 normal, 4 low (shown as P1–P4).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=4))]
        priority: Option<i64>,
        /// Notes.
        #[arg(long)]
        notes: Option<String>,
        /// A label to give it (repeat for several); a new name makes a new label.
        #[arg(long = "label", value_name = "NAME")]
        labels: Vec<String>,
        #[command(flatten)]
        json: JsonArg,
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
    /// Put a task just before or after another one (in that task's list, moving it there if needed).
    Move {
        #[command(flatten)]
        home: HomeArg,
        /// Task id or unambiguous prefix.
        id: String,
        /// Put it just before this task.
        #[arg(
            long,
            conflicts_with = "after",
            required_unless_present = "after",
            value_name = "ID"
        )]
        before: Option<String>,
        /// Put it just after this task.
        #[arg(long, value_name = "ID")]
        after: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct TaskEdit {
    #[command(flatten)]
    pub home: HomeArg,
    /// Task id or unambiguous prefix.
    pub id: String,
    /// New title.
    #[arg(long)]
    pub title: Option<String>,
    /// New due date (YYYY-MM-DD, today, tomorrow, a weekday, +N).
    #[arg(long, conflicts_with = "no_due")]
    pub due: Option<String>,
    /// Clear the due date.
    #[arg(long)]
    pub no_due: bool,
    /// New priority: 1 urgent, 2 high, 3 normal, 4 low (shown as P1–P4).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=4), conflicts_with = "no_priority")]
    pub priority: Option<i64>,
    /// Clear the priority.
    #[arg(long)]
    pub no_priority: bool,
    /// New notes.
    #[arg(long)]
    pub notes: Option<String>,
    /// Move to this project (name or id).
    #[arg(long, conflicts_with = "inbox")]
    pub project: Option<String>,
    /// Move to the Inbox.
    #[arg(long)]
    pub inbox: bool,
    /// Give it a label (repeat for several); a new name makes a new label.
    #[arg(long = "label", value_name = "NAME")]
    pub labels: Vec<String>,
    /// Take a label off it (repeat for several).
    #[arg(long = "unlabel", value_name = "NAME")]
    pub unlabels: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub home: HomeArg,
    #[command(flatten)]
    pub json: JsonArg,
    /// Only this project's tasks (name or id).
    #[arg(long, short, conflicts_with = "inbox")]
    pub project: Option<String>,
    /// Only tasks without a project.
    #[arg(long)]
    pub inbox: bool,
    /// Include done tasks.
    #[arg(long, short)]
    pub all: bool,
    /// Only tasks with this label.
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub home: HomeArg,
    #[command(flatten)]
    pub json: JsonArg,
    /// Stay connected and sync whenever the hub reports a change (Ctrl-C to stop). Each round is
    /// printed as soon as what it pulled is stored (its ack to the hub follows).
    #[arg(long)]
    pub watch: bool,
}
