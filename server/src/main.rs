//! The `hearth` command: the hub (`serve`) and its administration (`invite`, `space`).
//! This file only parses arguments; the work lives in the library.

use std::net::SocketAddr;
use std::path::PathBuf;

mod spoke;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hearth_server::pg::Database;
use hearth_server::{AppState, Config, DEFAULT_SPACE, Limits, config, devices, run, shutdown_signal};

/// Hearth: an offline-first task and project hub. One binary is both the hub and a full offline client.
#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    after_help = "Getting started:
  hearth serve                                    run the hub; it prints its URL and a pairing code
  hearth init --hub URL --code CODE               pair this machine as a device (first sync included)
  hearth task add \"Buy milk\" --due tomorrow       edits work offline and wait for the next sync
  hearth tree / ls / agenda / search TEXT         read (add --json for scripts)
  hearth sync [--watch]                           push and pull

Client commands use --home DIR (or HEARTH_HOME); hub commands use --data DIR (or HEARTH_DATA), or
--database postgres://… (or HEARTH_DATABASE) for several hubs on one PostgreSQL."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub: the sync API, the app (PWA) and the admin page.
    Serve(ServeArgs),
    /// Print a one-time pairing code for a space (works while the hub runs).
    Invite(InviteArgs),
    /// Compact a space's log now: snapshot its state, then drop ops every active device has (works
    /// while the hub runs).
    Compact(CompactArgs),
    /// Run a whole-space migration on the hub (stop the hub first): the space's data takes a new form
    /// (see `hearth migrations`), its old log is archived beside it, its epoch moves on and its minimum
    /// write version rises. Devices carry their unsent changes over on their next sync; what cannot be
    /// carried over waits in their quarantine.
    Migrate(MigrateArgs),
    /// The whole-space migrations this build can run, and which ones each space went through.
    Migrations {
        #[command(flatten)]
        data: DataArgs,
        /// Print `{"available": [{name, summary, schema_version}], "spaces": {name: [migration, …]}}`.
        #[arg(long)]
        json: bool,
    },
    /// Manage a space.
    #[command(subcommand)]
    Space(SpaceCommand),
    /// Manage paired devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    #[command(flatten)]
    Spoke(spoke::Command),
}

#[derive(Debug, Args)]
struct DataArgs {
    /// The hub's data directory (default: the user's data directory, e.g. ~/.local/share/hearth).
    #[arg(long, env = "HEARTH_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Keep the hub's data in this PostgreSQL database instead (postgres://user@host/db, or
    /// postgres://user@%2Frun%2Fpostgresql/db for a unix socket), so several hubs can serve it.
    #[arg(long, env = "HEARTH_DATABASE", value_name = "URL", conflicts_with = "data")]
    database: Option<String>,
}

impl DataArgs {
    fn dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(config::default_data_dir)
    }

    /// The PostgreSQL database, when one is given.
    fn database(&self) -> anyhow::Result<Option<Database>> {
        self.database.as_deref().map(Database::parse).transpose()
    }

    /// Where the hub's data is, for messages.
    fn place(&self) -> String {
        match &self.database {
            Some(url) => match Database::parse(url) {
                Ok(db) => format!("{db:?}"),
                Err(_) => url.clone(),
            },
            None => self.dir().display().to_string(),
        }
    }

    /// The hub's devices, tokens, codes and spaces: in PostgreSQL, or `hub.db` under the data dir
    /// (which must exist: a code from a hub database nobody serves would be refused by the hub).
    fn devices(&self) -> anyhow::Result<devices::Devices> {
        if let Some(db) = self.database()? {
            return devices::Devices::open_postgres(&db)
                .with_context(|| format!("cannot open the hub's data in {db:?}"));
        }
        let dir = self.dir();
        anyhow::ensure!(
            dir.join("hub.db").is_file(),
            "there is no hub in {}: start it with `hearth serve` first, or pass the --data DIR that \
             `hearth serve` printed (\"data in …\")",
            dir.display()
        );
        refuse_read_only_data(&dir, "so this command cannot run on it")?;
        devices::Devices::open(&dir.join("hub.db"))
            .with_context(|| format!("cannot open the hub's data in {}", dir.display()))
    }

    /// [`devices`](Self::devices), for a command on `space`, which must exist.
    fn devices_with(&self, space: &str) -> anyhow::Result<devices::Devices> {
        let db = self.devices()?;
        anyhow::ensure!(
            db.space(space)?.is_some(),
            "there is no space {space:?} in {}",
            self.place()
        );
        Ok(db)
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address to listen on (port 0 picks a free port; the URL is printed).
    #[arg(
        long,
        env = "HEARTH_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    listen: SocketAddr,
    /// The PWA bundle to serve (Trunk's dist). Default: ./dist if it exists.
    #[arg(long, value_name = "DIR")]
    web: Option<PathBuf>,
    #[command(flatten)]
    limits: Limits,
}

#[derive(Debug, Args)]
struct InviteArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The space to invite to (created if it does not exist).
    #[arg(long, default_value = DEFAULT_SPACE)]
    space: String,
    /// Seconds the code stays valid.
    #[arg(long, default_value_t = config::DEFAULT_CODE_TTL_SECS)]
    ttl_secs: u64,
    /// Print `{"space": …, "code": …}`.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CompactArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The space to compact.
    #[arg(long, default_value = DEFAULT_SPACE)]
    space: String,
    /// A device counts as active (and holds the horizon back) while seen within this long; use the
    /// same value as `hearth serve --peer-ttl`.
    #[arg(long, default_value = "30d", value_parser = config::parse_duration)]
    peer_ttl: std::time::Duration,
    /// Print `{"space", "horizon", "snapshot_seq", "log_rows_before", "log_rows_after", …}`.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The space.
    #[arg(long, default_value = DEFAULT_SPACE)]
    space: String,
    /// The migration, by name (`hearth migrations` lists them).
    migration: String,
    /// Print `{"space", "migration", "epoch_before", "epoch", "migrations", "seq", "changed", "cleared",
    /// "archive", "min_schema_version", …}`.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum SpaceCommand {
    /// Require a minimum schema version to push to a space (older devices can still pull).
    SetMinVersion {
        #[command(flatten)]
        data: DataArgs,
        /// The space.
        #[arg(long, default_value = DEFAULT_SPACE)]
        space: String,
        /// The minimum schema version.
        version: i64,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Revoke a device's token: its next request gets 401 and it must pair again. Works while the hub
    /// runs (within a few seconds). The device's past ops stay in the space.
    Revoke {
        #[command(flatten)]
        data: DataArgs,
        /// The space.
        #[arg(long, default_value = DEFAULT_SPACE)]
        space: String,
        /// The device's id (16 hex digits) or the name it paired with.
        device: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse_from(hoist_home(std::env::args_os()));
    // A failure is a sentence for a person (with its causes), never a backtrace, whatever
    // RUST_BACKTRACE says: the command's own errors say what happened and what to do.
    match dispatch(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(hint) = storage_hint(&e) {
                eprintln!("{hint}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// What to do when the failure was the disk: full, or read-only. (SQLite rolls the change back, so
/// nothing was half written.)
fn storage_hint(e: &anyhow::Error) -> Option<&'static str> {
    let code = e.chain().find_map(|c| {
        c.downcast_ref::<rusqlite::Error>()
            .or_else(|| match c.downcast_ref::<hearth_core::Error>() {
                Some(hearth_core::Error::Sqlite(s)) => Some(s),
                _ => None,
            })
            .and_then(rusqlite::Error::sqlite_error_code)
    })?;
    match code {
        rusqlite::ErrorCode::DiskFull => Some(
            "The disk is full: this change was not made, and everything saved before is intact. Free some space and run the command again.",
        ),
        rusqlite::ErrorCode::ReadOnly => Some(
            "The data directory is read-only: this change was not made, and everything saved before is intact (reading still works). Make it writable and run the command again.",
        ),
        _ => None,
    }
}

/// A hub whose data directory cannot be written does not start (nor does a hub command run on it): it
/// could serve pulls, but no push, pairing or ack, and SQLite cannot even open a WAL database on a
/// read-only mount. Said once, at start, as a sentence; nothing in the directory is touched.
fn refuse_read_only_data(dir: &std::path::Path, so: &str) -> anyhow::Result<()> {
    let spaces = dir.join("spaces");
    for d in [dir, spaces.as_path()] {
        if !d.is_dir() {
            continue;
        }
        if let Err(e) = config::probe_writable(d)
            && config::is_read_only(&e)
        {
            anyhow::bail!(
                "the hub's data directory {} is read-only ({e}): the hub writes every push, pairing and \
                 ack there, {so}. Nothing in it was changed. Make it writable (remount it read-write, or \
                 give this user write permission) and try again.",
                d.display()
            );
        }
    }
    Ok(())
}

/// `--home DIR` belongs to the client commands, which all take it; accept it before the command too
/// (`hearth --home DIR ls`) by moving it, with its value, behind the command.
fn hoist_home(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut it = args;
    let mut out: Vec<std::ffi::OsString> = it.next().into_iter().collect();
    let mut hoisted = Vec::new();
    // Only options before the first word that is not an option (the command) move.
    while let Some(a) = it.next() {
        let text = a.to_string_lossy();
        if text == "--home" {
            hoisted.push(a);
            hoisted.extend(it.next());
        } else if text.starts_with("--home=") {
            hoisted.push(a);
        } else if text.starts_with('-') {
            out.push(a);
        } else {
            out.push(a);
            out.extend(it.by_ref());
        }
    }
    out.extend(hoisted);
    out
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    // The hub logs its work; client commands print results and keep the log for warnings.
    let default_level = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_level.into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Invite(args) => invite(args),
        Command::Compact(args) => compact(args),
        Command::Migrate(args) => migrate(args),
        Command::Migrations { data, json } => migrations(data, json),
        Command::Space(SpaceCommand::SetMinVersion { data, space, version }) => {
            set_min_version(data, &space, version)
        }
        Command::Device(DeviceCommand::Revoke { data, space, device }) => revoke(data, &space, &device),
        Command::Spoke(cmd) => spoke::run(cmd),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let web_dir = args.web.or_else(|| {
        let dist = PathBuf::from("dist");
        dist.join("index.html").is_file().then_some(dist)
    });
    let config = Config {
        data_dir: args.data.dir(),
        web_dir,
        limits: args.limits,
        database: args.data.database()?,
    };
    let place = args.data.place();
    // One hub per data directory; `hearth migrate` waits for none.
    let _lock = if config.database.is_none() {
        refuse_read_only_data(&config.data_dir, "so it does not start")?;
        Some(lock_data(&config.data_dir).map_err(|held| {
            anyhow::anyhow!(
                "{held}: another hub is serving {place}; stop it first (one hub per data directory)"
            )
        })?)
    } else {
        None
    };
    // Opening the data (and PostgreSQL's blocking client) happens before the async runtime starts.
    let state =
        AppState::open(config.clone()).with_context(|| format!("cannot open the hub's data in {place}"))?;
    let first_code = state.bootstrap()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        println!("Hearth hub serving http://{addr} (data in {place})");
        match &config.web_dir {
            Some(dir) => println!("App bundle: {}", dir.display()),
            None => println!("App bundle: not built yet (pass --web DIR)"),
        }
        if let Some((space, code)) = first_code {
            println!(
                "Created space {space:?}. One-time pairing code (valid {} min):",
                config.limits.code_ttl_secs / 60
            );
            println!("{code}");
        }
        run(listener, state, shutdown_signal()).await
    })
}

fn invite(args: InviteArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        devices::valid_space_name(&args.space),
        "space names are 1–64 of [a-z0-9_-]"
    );
    let db = args.data.devices()?;
    if db.create_space(&args.space)? {
        eprintln!("Created space {:?}.", args.space);
    }
    let code = db.create_code(&args.space, std::time::Duration::from_secs(args.ttl_secs))?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Invite<'a> {
            space: &'a str,
            code: &'a str,
        }
        println!(
            "{}",
            serde_json::to_string(&Invite {
                space: &args.space,
                code: &code
            })?
        );
    } else {
        println!(
            "One-time pairing code for space {:?} (valid {} min):",
            args.space,
            args.ttl_secs / 60
        );
        println!("{code}");
    }
    Ok(())
}

/// The compactor of a space's log on SQLite, for a command run beside (or instead of) the hub. The log
/// is first opened as a hub opens it, so that one last written by an older release has this release's
/// schema (and what that release stored unapplied is applied) before it is compacted or migrated.
fn space_compactor(
    dir: &std::path::Path,
    space: &str,
) -> anyhow::Result<hearth_core::store::SqliteCompactor> {
    let path = Config::new(dir.to_owned()).space_db(space);
    let open = || -> hearth_core::Result<_> {
        drop(hearth_core::store::SqliteHubLog::open(
            &path,
            std::sync::Arc::new(hearth_core::SystemEnv),
            hearth_core::store::HubOptions::default(),
        )?);
        hearth_core::store::SqliteCompactor::open(&path)
    };
    if !path.exists() {
        anyhow::bail!("there is no log of space {space:?} at {}", path.display());
    }
    open().with_context(|| format!("cannot open the log of space {space:?}"))
}

fn compact(args: CompactArgs) -> anyhow::Result<()> {
    let db = args.data.devices_with(&args.space)?;
    let (at, compact): (_, hearth_core::store::Compactor) = match args.data.database()? {
        Some(pg) => {
            use hearth_core::store::HubLog;
            let log = hearth_server::pg::PgHubLog::open(
                &pg,
                &args.space,
                std::sync::Arc::new(hearth_core::SystemEnv),
                hearth_core::store::HubOptions::default(),
            )?;
            let at = (log.readers()?)()?.position()?;
            (at, log.compactor()?)
        }
        None => {
            let compactor = space_compactor(&args.data.dir(), &args.space)?;
            let at = compactor.position()?;
            (at, std::sync::Arc::new(move |h| compactor.compact(h)))
        }
    };
    let peers: Vec<_> = db
        .peers()?
        .into_iter()
        .filter(|(space, _)| *space == args.space)
        .map(|(_, p)| p)
        .collect();
    let peers = hearth_server::state::classify(peers, at.horizon, args.peer_ttl, devices::now_ms());
    let horizon = hearth_server::state::horizon(&peers, at.head);
    let report = compact(horizon)?;
    if args.json {
        // The documented keys first, in this order; then the details.
        #[derive(serde::Serialize)]
        struct Out<'a> {
            space: &'a str,
            horizon: u64,
            snapshot_seq: u64,
            log_rows_before: u64,
            log_rows_after: u64,
            snapshot_entries: u64,
            steps: usize,
            longest_step_ms: u64,
        }
        let r = &report;
        let out = Out {
            space: &args.space,
            horizon: r.horizon,
            snapshot_seq: r.snapshot_seq,
            log_rows_before: r.log_rows_before,
            log_rows_after: r.log_rows_after,
            snapshot_entries: r.snapshot_entries,
            steps: r.steps,
            longest_step_ms: r.longest_step_ms,
        };
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!(
            "Compacted space {:?}: snapshot at seq {} ({} entries); horizon {}; log rows {} → {}.",
            args.space,
            report.snapshot_seq,
            report.snapshot_entries,
            report.horizon,
            report.log_rows_before,
            report.log_rows_after
        );
        let holding: Vec<_> = peers
            .iter()
            .filter(|p| p.state == hearth_core::wire::PeerState::Active && p.acked < at.head)
            .collect();
        if report.horizon < at.head
            && let Some(p) = holding.iter().min_by_key(|p| p.acked)
        {
            println!(
                "Ops after seq {} are kept: device {} ({}) has synced only up to there and is active.",
                report.horizon,
                p.device,
                if p.name.is_empty() { "unnamed" } else { &p.name }
            );
        }
    }
    Ok(())
}

/// Hold the data directory's lock (`hub.lock`) for as long as the returned file lives: a serving hub
/// holds it, and `hearth migrate` takes it so that no hub serves a space while it changes form. Err
/// says why not.
fn lock_data(dir: &std::path::Path) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("hub.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!("{} is locked", path.display())),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let Some(m) = hearth_core::evolve::find(&args.migration) else {
        let names: Vec<&str> = hearth_core::evolve::MIGRATIONS.iter().map(|m| m.name).collect();
        anyhow::bail!(
            "this build has no migration {:?}; it can run: {} (see `hearth migrations`)",
            args.migration,
            names.join(", ")
        );
    };
    let (db, report) = match args.data.database()? {
        Some(pg) => {
            // No hub may serve the database meanwhile; the migration records the epoch, the
            // migrations and the minimum version in its own transaction.
            let _no_hub = pg.hold_no_hub_serving()?;
            let db = args.data.devices_with(&args.space)?;
            let compactor = hearth_server::pg::PgCompactor::new(
                pg,
                &args.space,
                std::sync::Arc::new(hearth_core::SystemEnv),
            );
            let report = compactor
                .migrate(m)
                .with_context(|| format!("migrating space {:?}", args.space))?;
            (db, report)
        }
        None => {
            let dir = args.data.dir();
            let _lock = lock_data(&dir).map_err(|held| {
                anyhow::anyhow!(
                    "{held}: a hub is serving {}; stop it, run the migration, then start it again (a \
                     migration rewrites the whole space)",
                    args.data.place()
                )
            })?;
            let db = args.data.devices_with(&args.space)?;
            let compactor = space_compactor(&dir, &args.space)?;
            let report = compactor
                .migrate(m)
                .with_context(|| format!("migrating space {:?}", args.space))?;
            db.set_epoch(&args.space, &report.migrations, m.schema_version)?;
            (db, report)
        }
    };
    let min = db
        .space(&args.space)?
        .map_or(m.schema_version, |s| s.min_schema_version);
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("space".into(), serde_json::json!(args.space));
            o.insert("min_schema_version".into(), serde_json::json!(min));
        }
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!(
            "Migrated space {:?} with {} (epoch {} → {}): {} value(s) rewritten, {} cleared; new snapshot at \
             seq {} ({} entries).",
            args.space,
            m.name,
            report.epoch_before,
            report.epoch,
            report.changed,
            report.cleared,
            report.seq,
            report.snapshot_entries
        );
        println!("The old log is kept in {}.", report.archive);
        println!(
            "Devices need schema version {min} or newer to write; they carry their unsent changes over on \
             their next sync, and changes that cannot be carried over wait in their quarantine."
        );
    }
    Ok(())
}

fn migrations(data: DataArgs, json: bool) -> anyhow::Result<()> {
    let available: Vec<serde_json::Value> = hearth_core::evolve::MIGRATIONS
        .iter()
        .map(
            |m| serde_json::json!({"name": m.name, "summary": m.summary, "schema_version": m.schema_version}),
        )
        .collect();
    // The spaces of a hub here, when there is one.
    let here = data.database.is_some() || data.dir().join("hub.db").is_file();
    let spaces: std::collections::BTreeMap<String, Vec<String>> = if here {
        data.devices()?
            .spaces()?
            .into_iter()
            .map(|(n, s)| (n, s.migrations))
            .collect()
    } else {
        Default::default()
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"available": available, "spaces": spaces})
        );
        return Ok(());
    }
    println!("Migrations this build can run (`hearth migrate NAME`):");
    for m in hearth_core::evolve::MIGRATIONS {
        println!("  {:<18} {}", m.name, m.summary);
    }
    for (space, done) in spaces {
        if done.is_empty() {
            println!("Space {space:?}: none run yet (epoch 1).");
        } else {
            println!("Space {space:?}: {} (epoch {}).", done.join(", "), done.len() + 1);
        }
    }
    Ok(())
}

fn set_min_version(data: DataArgs, space: &str, version: i64) -> anyhow::Result<()> {
    let db = data.devices()?;
    anyhow::ensure!(
        db.set_min_version(space, version)?,
        "there is no space {space:?} in {}",
        data.place()
    );
    println!("Space {space:?} now requires schema version {version} or newer to push.");
    Ok(())
}

fn revoke(data: DataArgs, space: &str, who: &str) -> anyhow::Result<()> {
    let db = data.devices()?;
    match db.revoke(space, who)? {
        Some((id, n)) => {
            println!("Revoked device {id} in space {space:?} ({n} token(s)); it must pair again to sync.");
            Ok(())
        }
        None => anyhow::bail!(
            "no single device {who:?} is paired with space {space:?} (give its id if several share the name)"
        ),
    }
}
