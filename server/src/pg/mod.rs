//! The hub on PostgreSQL (`hearth serve --database postgres://…`): the op log of every space
//! ([`PgHubLog`]), its snapshots and compaction, and the hub's devices, tokens, codes and acks, all in
//! one database that any number of hub processes share. A hub keeps no state another hub needs.
//!
//! **Seq order is commit order across hubs.** Each space has a counter row (`spaces.head`); an append
//! locks it (`SELECT … FOR UPDATE`), numbers its new ops `head + 1, head + 2, …` and writes the new head
//! in the same transaction. Appends to one space therefore commit one after another, in seq order, and
//! a reader that has seen seq N never later meets a new op at or below N. (A sequence would not do:
//! its numbers are taken at insert and committed in any order, so readers would skip rows.)
//!
//! **Live events.** After each commit the writer sends `NOTIFY hearth, '<space> <head>'` (outside the
//! transaction, where it takes no cluster-wide lock); every hub `LISTEN`s ([`listen`]) and wakes its
//! live streams, so a device connected to hub B sees a push made through hub A at once.
//!
//! **One apply path.** No merge rule is written in SQL. Validation is `hearth-core`'s
//! ([`hearth_core::Store::check_rules`], [`hearth_core::Store::check_stamp`]); snapshots are built by a replica of the space in SQLite that
//! `hearth-core` applies the log to ([`PgCompactor`]), under an advisory lock so one hub at a time
//! compacts a space.
//!
//! **Schema.** Numbered migrations (`server/migrations/postgres/`), applied at start under an advisory
//! lock; a database written by a newer build is refused, not touched.

pub mod cluster;
mod devices;
mod log;

use std::collections::HashMap;

use anyhow::Context as _;
use postgres::{Client, NoTls, Statement};

pub use devices::PgDevices;
pub use log::{PgCompactor, PgHubLog, PgLogReader};

/// The migrations of the hub's PostgreSQL schema, in order.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "0001_init.sql",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "0002_skew_refused.sql",
        include_str!("../../migrations/postgres/0002_skew_refused.sql"),
    ),
    (
        3,
        "0003_epochs.sql",
        include_str!("../../migrations/postgres/0003_epochs.sql"),
    ),
];

/// The advisory lock key the schema migrations hold (compaction locks use one per space).
const MIGRATE_LOCK: i64 = 0x4845_4152_5448_0001;
/// The advisory lock key every serving hub holds shared, and `hearth migrate` exclusive: a whole-space
/// migration runs only while no hub serves the database, as on SQLite (where it takes the data
/// directory's lock).
const SERVE_LOCK: i64 = 0x4845_4152_5448_0002;

/// A connection to the database. The blocking client runs a small runtime of its own, which must not
/// be dropped on an async thread: a connection dropped there (a hub shutting down) closes on a thread
/// of its own. It keeps the statements it prepared ([`Conn::prepared`]): a hot statement is parsed and
/// planned once per connection, not once per use.
pub struct Conn(Option<Client>, HashMap<&'static str, Statement>);

impl Conn {
    /// `sql` prepared on this connection (once; later calls reuse it).
    pub fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.1.get(sql) {
            return Ok(s.clone());
        }
        let s = self.prepare(sql)?;
        self.1.insert(sql, s.clone());
        Ok(s)
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Conn")
    }
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.0
            .as_mut()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("pg-close".into())
                    .spawn(move || drop(client));
            } else {
                drop(client);
            }
        }
    }
}

/// The channel hubs notify new heads on.
pub const CHANNEL: &str = "hearth";

/// Where the hub's PostgreSQL database is: a `postgres://` URL or a `key=value` connection string.
#[derive(Clone)]
pub struct Database {
    config: postgres::Config,
    display: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl Database {
    /// Parse a connection URL (`postgres://user@host/db`, `postgres://user@%2Frun%2Fpg/db` for a unix
    /// socket directory) or a `host=… dbname=…` string.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let config: postgres::Config = url
            .parse()
            .with_context(|| "not a PostgreSQL connection string (postgres://user@host/database)")?;
        Ok(Database {
            display: describe(&config),
            config,
        })
    }

    /// Whether `s` names a PostgreSQL database (rather than a directory).
    pub fn is_url(s: &str) -> bool {
        s.starts_with("postgres://") || s.starts_with("postgresql://") || s.contains("host=")
    }

    /// A new connection.
    pub fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn(Some(self.config.connect(NoTls)?), HashMap::new()))
    }

    /// For a serving hub: hold the serving lock (shared with the other hubs) for as long as the returned
    /// connection lives (it ends with the process, however it ends). Refused while `hearth migrate`
    /// runs on this database (after a few seconds, as in [`Database::hold_no_hub_serving`]).
    pub fn hold_serving(&self) -> anyhow::Result<Conn> {
        let mut c = self
            .connect()
            .with_context(|| format!("cannot connect to {self:?}"))?;
        c.batch_execute("SET lock_timeout = '5s'")?;
        match c.execute("SELECT pg_advisory_lock_shared($1)", &[&SERVE_LOCK]) {
            Ok(_) => {
                c.batch_execute("RESET lock_timeout")?;
                Ok(c)
            }
            Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => anyhow::bail!(
                "a whole-space migration (`hearth migrate`) is running on {self:?}; start the hub once it \
                 has finished"
            ),
            Err(e) => Err(e.into()),
        }
    }

    /// For `hearth migrate`: the serving lock, exclusive, for as long as the returned connection lives;
    /// refused while any hub serves this database (after a few seconds: the session of a hub that has
    /// just stopped ends a moment later).
    pub fn hold_no_hub_serving(&self) -> anyhow::Result<Conn> {
        let mut c = self
            .connect()
            .with_context(|| format!("cannot connect to {self:?}"))?;
        c.batch_execute("SET lock_timeout = '5s'")?;
        match c.execute("SELECT pg_advisory_lock($1)", &[&SERVE_LOCK]) {
            Ok(_) => {
                c.batch_execute("RESET lock_timeout")?;
                Ok(c)
            }
            Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => anyhow::bail!(
                "hubs are serving {self:?}: stop every `hearth serve` on this database, run the migration, \
                 then start them again (a migration rewrites the whole space)"
            ),
            Err(e) => Err(e.into()),
        }
    }

    /// Bring the schema up to this build's version (under an advisory lock, so hubs starting together
    /// migrate once). Returns the version. A newer schema is refused with a clear message.
    pub fn migrate(&self) -> anyhow::Result<i32> {
        let mut client = self
            .connect()
            .with_context(|| format!("cannot connect to {self:?}"))?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])?;
        let out = migrate_locked(&mut client);
        let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]);
        out
    }
}

fn migrate_locked(client: &mut Client) -> anyhow::Result<i32> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS hearth_schema (version integer PRIMARY KEY, name text NOT NULL, applied_ms bigint NOT NULL)",
    )?;
    let current: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM hearth_schema", &[])?
        .get(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    anyhow::ensure!(
        current <= latest,
        "the database's Hearth schema is at version {current}, newer than this build knows ({latest}): \
         a newer Hearth wrote it; run that version (or newer) of hearth"
    );
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let mut tx = client.transaction()?;
        tx.batch_execute(sql).with_context(|| {
            format!("migration {version} ({name}) failed; the database is unchanged at version {current}")
        })?;
        tx.execute(
            "INSERT INTO hearth_schema (version, name, applied_ms) VALUES ($1, $2, $3)",
            &[version, name, &(crate::clock::now_ms() as i64)],
        )?;
        tx.commit()?;
        tracing::info!(version, name, "migrated the PostgreSQL schema");
    }
    Ok(latest)
}

/// A connection string without its password, for messages and logs.
fn describe(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// A PostgreSQL error in one line: the server's SQLSTATE and message, or what failed on the way.
pub(crate) fn describe_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Map a PostgreSQL error into the core's error type (the log backends' common one).
pub(crate) fn db_err(e: postgres::Error) -> hearth_core::Error {
    hearth_core::Error::Database(describe_error(&e))
}

/// Listen for new heads committed by any hub on this database: calls `on_head(space, head)` for each
/// notification, on a thread of its own, reconnecting when the connection drops. Stops when `on_head`
/// returns false.
pub fn listen(
    db: Database,
    on_head: impl Fn(&str, u64) -> bool + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("pg-listen".into())
        .spawn(move || {
            loop {
                match listen_once(&db, &on_head) {
                    Ok(true) => return,
                    Ok(false) => {
                        tracing::warn!("live events from PostgreSQL: the connection closed; reconnecting");
                        std::thread::sleep(std::time::Duration::from_millis(500));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live events from PostgreSQL interrupted; reconnecting");
                        std::thread::sleep(std::time::Duration::from_millis(500));
                    }
                }
            }
        })
}

/// Returns true when told to stop, false when the connection closed.
fn listen_once(db: &Database, on_head: &impl Fn(&str, u64) -> bool) -> Result<bool, postgres::Error> {
    let mut client = db.connect()?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    let mut notifications = client.notifications();
    let mut it = notifications.blocking_iter();
    while let Some(n) = postgres::fallible_iterator::FallibleIterator::next(&mut it)? {
        let Some((space, head)) = n.payload().rsplit_once(' ') else {
            continue;
        };
        let Ok(head) = head.parse() else { continue };
        if !on_head(space, head) {
            return Ok(true);
        }
    }
    Ok(false)
}
