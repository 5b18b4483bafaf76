//! The native spoke: `hearth` as a full offline client over a local SQLite file.
//!
//! Every command works with no hub reachable: edits apply locally and wait in the outbox; `sync` pushes
//! and pulls through the core's sans-IO engine ([`hearth_core::sync`]), driven here over HTTP.
//!
//! Laid out by what a user does:
//!
//! * [`cli`]: every clap definition ([`Command`] and its argument structs).
//! * [`edit`]: `project add|mv|rename`, `task add|done|reopen|edit`, `comment`, `rm`, `restore`, `conflicts`: thin over
//!   [`hearth_core::edit`], which the browser client shares.
//! * [`read`]: `ls`, `tree`, `agenda`, `search`, `labels`, `comments`, `export`, `log`, `status`, over
//!   [`hearth_core::query`].
//! * [`sync`](mod@sync): `init` (pairing), `sync`, `sync --watch`, the sync round and its report.
//! * `home` (the store file and its pairing), `dates` (due dates as people type them), `http` (the
//!   hub's API).
//!
//! No SQL here: what a command reads or writes goes through hearth-core.

mod cli;
mod dates;
mod edit;
mod home;
mod http;
mod read;
mod sync;

use serde::Serialize;

pub use cli::Command;

/// Run a client command.
pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Init(args) => sync::init(args),
        Command::Project(p) => edit::project(p),
        Command::Task(t) => edit::task(t),
        Command::Rm { home, id } => edit::rm(&home, &id),
        Command::Restore { home, id } => edit::restore(&home, &id),
        Command::Trash { home, json } => read::trash(&home.open()?, json.json),
        Command::Ls(args) => read::ls(args),
        Command::Tree { home, json } => read::tree(&home.open()?, json.json),
        Command::Agenda { home, done, json } => read::agenda(&home.open()?, done, json.json),
        Command::Search { home, json, text } => read::search(&home.open()?, json.json, &text),
        Command::Sync(args) => sync::sync(args),
        Command::Status { home, json } => read::status(&home, json.json),
        Command::Export { home } => read::export(&home.open()?),
        Command::Log { home, json, limit } => read::log(&home.open()?, json.json, limit),
        Command::Quarantine {
            home,
            json,
            action,
            id,
            all,
        } => read::quarantine(
            &mut home.open()?,
            json.json,
            action.as_deref(),
            id.as_deref(),
            all,
        ),
        Command::Labels { home, json } => read::labels(&home.open()?, json.json),
        Command::Comment {
            home,
            json,
            task,
            text,
        } => edit::comment(&mut home.open()?, json.json, &task, &text),
        Command::Comments { home, json, task } => read::comments(&home.open()?, json.json, &task),
        Command::Conflicts {
            home,
            json,
            action,
            id,
            all,
        } => edit::conflicts(
            &mut home.open()?,
            json.json,
            action.as_deref(),
            id.as_deref(),
            all,
        ),
    }
}

/// The first 8 characters of an id, as lists show it.
fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
