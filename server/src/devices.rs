//! The hub's own data: spaces (epoch, minimum schema version to write), paired devices (name,
//! versions, acked seq, last seen), bearer tokens (stored only as SHA-256 hashes) and one-time pairing
//! codes with their expiry (also hashed). Kept in `hub.db` (SQLite) under the data directory, or in the
//! hub's PostgreSQL database ([`crate::pg::PgDevices`]); [`Devices`] is either.
//!
//! `hearth invite` and `hearth space set-min-version` write this data while the hub runs; the database
//! serializes the writers and the hub reads codes and spaces from it on each use.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use hearth_core::DeviceId;
use hearth_core::migrate::{Migration, Schema, Step};
use hearth_core::wire::{PeerInfo, PeerState, SpaceInfo};
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

/// The `hub.db` migrations (`server/migrations/hub/`), run by core's migration runner.
pub const SCHEMA: Schema = Schema::new(
    "hub",
    &[
        Migration {
            version: 1,
            name: "0001_init.sql",
            step: Step::Sql(include_str!("../migrations/hub/0001_init.sql")),
        },
        Migration {
            version: 2,
            name: "0002_space_migrations.sql",
            step: Step::Sql(include_str!("../migrations/hub/0002_space_migrations.sql")),
        },
    ],
);

/// Letters of pairing codes: no 0/o, 1/l/i, easy to read aloud and type on a phone.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Lower-case hex SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Canonical form of a code as typed: lower case, without dashes or spaces.
pub(crate) fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Is `name` acceptable as a space name (it becomes a file name and a URL segment)?
pub fn valid_space_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Milliseconds since the Unix epoch (also for the modules that import it from here).
pub use crate::clock::now_ms;

/// A device that has just paired.
#[derive(Debug, Clone)]
pub struct Paired {
    /// Its space.
    pub space: String,
    /// Its id.
    pub device: DeviceId,
    /// The bearer token (returned once; only its hash is stored).
    pub token: String,
    /// Its peer record.
    pub peer: PeerInfo,
}

/// A failure of the hub's own database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `hub.db` (SQLite).
    #[error("hub database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The hub's PostgreSQL database.
    #[error("hub database: {}", crate::pg::describe_error(.0))]
    Postgres(#[from] postgres::Error),
    /// A value in the hub's database that this build cannot read.
    #[error("hub database: {0}")]
    Corrupt(String),
}

/// What the hub's own database answers.
pub type DbResult<T> = std::result::Result<T, DbError>;

/// A fresh pairing code: 12 letters in three groups (`abcd-efgh-jkmn`).
pub(crate) fn new_code() -> String {
    let mut rng = rand::rng();
    let raw: String = (0..12)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
}

/// A fresh bearer token.
pub(crate) fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("hth_{}", hex::encode(bytes))
}

/// The hub's own database: `hub.db`, or the tables of the hub's PostgreSQL database.
#[derive(Debug)]
pub struct Devices(Backend);

#[derive(Debug)]
enum Backend {
    Sqlite(SqliteDevices),
    Postgres(crate::pg::PgDevices),
}

macro_rules! dispatch {
    ($self:ident.$method:ident($($arg:expr),*)) => {
        match &$self.0 {
            Backend::Sqlite(d) => Ok(d.$method($($arg),*)?),
            Backend::Postgres(d) => d.$method($($arg),*),
        }
    };
}

impl Devices {
    /// Open (or create) `hub.db` at `path`. A database from a newer build is refused, not touched.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Devices(Backend::Sqlite(SqliteDevices::open(path)?)))
    }

    /// The hub's tables on PostgreSQL (migrated first).
    pub fn open_postgres(db: &crate::pg::Database) -> anyhow::Result<Self> {
        db.migrate()?;
        Ok(Devices(Backend::Postgres(crate::pg::PgDevices::open(db)?)))
    }

    /// Whether other hub processes share this data (PostgreSQL): then the peer records in memory are
    /// merged with the database's before they are relied on.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Backend::Postgres(_))
    }

    /// Create a space if it does not exist. Returns whether it was created.
    pub fn create_space(&self, name: &str) -> DbResult<bool> {
        dispatch!(self.create_space(name))
    }

    /// Every space with its epoch and minimum schema version.
    pub fn spaces(&self) -> DbResult<Vec<(String, SpaceInfo)>> {
        dispatch!(self.spaces())
    }

    /// One space.
    pub fn space(&self, name: &str) -> DbResult<Option<SpaceInfo>> {
        dispatch!(self.space(name))
    }

    /// Require at least `version` to push to `space`. Returns false if there is no such space.
    pub fn set_min_version(&self, space: &str, version: i64) -> DbResult<bool> {
        dispatch!(self.set_min_version(space, version))
    }

    /// Record that `space` went through the whole-space `migrations` (its epoch is one more than their
    /// number) and raise its minimum schema version to at least `min_version`.
    pub fn set_epoch(&self, space: &str, migrations: &[String], min_version: i64) -> DbResult<bool> {
        dispatch!(self.set_epoch(space, migrations, min_version))
    }

    /// A fresh one-time pairing code for `space`, valid for `ttl`. Expired codes are swept on the way.
    pub fn create_code(&self, space: &str, ttl: Duration) -> DbResult<String> {
        dispatch!(self.create_code(space, ttl))
    }

    /// Revoke every token of the device `who` (its full id or its name) in `space`. Returns the
    /// device's id and how many tokens were removed; `None` if no such device is paired there. Its ops
    /// stay in the log: revoking stops future requests, it does not erase history.
    pub fn revoke(&self, space: &str, who: &str) -> DbResult<Option<(String, usize)>> {
        dispatch!(self.revoke(space, who))
    }

    /// Redeem a pairing code: the code is consumed and the device gets a token, in one transaction.
    /// `None` if the code is unknown, used or expired.
    pub fn pair(
        &self,
        code: &str,
        device: DeviceId,
        name: &str,
        app_version: &str,
        schema_version: i64,
    ) -> DbResult<Option<Paired>> {
        dispatch!(self.pair(code, device, name, app_version, schema_version))
    }

    /// The space and device a token hash belongs to.
    pub fn token(&self, hash: &str) -> DbResult<Option<(String, DeviceId)>> {
        dispatch!(self.token(hash))
    }

    /// Every paired device of every space.
    pub fn peers(&self) -> DbResult<Vec<(String, PeerInfo)>> {
        dispatch!(self.peers())
    }

    /// Persist peers' acked seq, last seen and versions (the hub keeps them in memory between flushes).
    /// Acks and last seen never move backwards.
    pub fn save_peers(&self, peers: &[(String, PeerInfo)]) -> DbResult<()> {
        dispatch!(self.save_peers(peers))
    }
}

/// `hub.db`: one connection for writes, one for reads (WAL lets them run side by side).
#[derive(Debug)]
struct SqliteDevices {
    write: Mutex<Connection>,
    read: Mutex<Connection>,
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll back on drop).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SqliteDevices {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let mut write = open_conn(path)?;
        SCHEMA
            .migrate(&mut write)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let read = open_conn(path)?;
        Ok(SqliteDevices {
            write: Mutex::new(write),
            read: Mutex::new(read),
        })
    }

    fn create_space(&self, name: &str) -> rusqlite::Result<bool> {
        let conn = lock(&self.write);
        let n = conn.execute(
            "INSERT INTO spaces (name, created_ms) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, now_ms() as i64],
        )?;
        Ok(n == 1)
    }

    fn spaces(&self) -> rusqlite::Result<Vec<(String, SpaceInfo)>> {
        let conn = lock(&self.read);
        let mut stmt = conn
            .prepare_cached("SELECT name, epoch, min_schema_version, migrations FROM spaces ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                SpaceInfo {
                    epoch: r.get::<_, i64>(1)? as u64,
                    min_schema_version: r.get(2)?,
                    migrations: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                },
            ))
        })?;
        rows.collect()
    }

    fn space(&self, name: &str) -> rusqlite::Result<Option<SpaceInfo>> {
        let conn = lock(&self.read);
        conn.prepare_cached("SELECT epoch, min_schema_version, migrations FROM spaces WHERE name = ?1")?
            .query_row([name], |r| {
                Ok(SpaceInfo {
                    epoch: r.get::<_, i64>(0)? as u64,
                    min_schema_version: r.get(1)?,
                    migrations: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
                })
            })
            .optional()
    }

    fn set_epoch(&self, space: &str, migrations: &[String], min_version: i64) -> rusqlite::Result<bool> {
        let conn = lock(&self.write);
        Ok(conn.execute(
            "UPDATE spaces SET epoch = ?2, migrations = ?3, min_schema_version = max(min_schema_version, ?4) \
             WHERE name = ?1",
            params![
                space,
                migrations.len() as i64 + 1,
                serde_json::to_string(migrations).unwrap_or_else(|_| "[]".into()),
                min_version
            ],
        )? == 1)
    }

    fn set_min_version(&self, space: &str, version: i64) -> rusqlite::Result<bool> {
        let conn = lock(&self.write);
        Ok(conn.execute(
            "UPDATE spaces SET min_schema_version = ?2 WHERE name = ?1",
            params![space, version],
        )? == 1)
    }

    fn create_code(&self, space: &str, ttl: Duration) -> rusqlite::Result<String> {
        let code = new_code();
        let now = now_ms();
        let expires = now.saturating_add(ttl.as_millis() as u64);
        let conn = lock(&self.write);
        conn.execute("DELETE FROM codes WHERE expires_ms <= ?1", [now as i64])?;
        conn.execute(
            "INSERT INTO codes (hash, space, expires_ms) VALUES (?1, ?2, ?3)",
            params![hash_secret(&normalize_code(&code)), space, expires as i64],
        )?;
        Ok(code)
    }

    fn revoke(&self, space: &str, who: &str) -> rusqlite::Result<Option<(String, usize)>> {
        let conn = lock(&self.write);
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM devices WHERE space = ?1 AND (id = ?2 OR name = ?2) ORDER BY id")?
            .query_map(params![space, who], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let [id] = ids.as_slice() else { return Ok(None) };
        let n = conn.execute(
            "DELETE FROM tokens WHERE space = ?1 AND device = ?2",
            params![space, id],
        )?;
        Ok(Some((id.clone(), n)))
    }

    fn pair(
        &self,
        code: &str,
        device: DeviceId,
        name: &str,
        app_version: &str,
        schema_version: i64,
    ) -> rusqlite::Result<Option<Paired>> {
        let now = now_ms();
        let mut conn = lock(&self.write);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let hash = hash_secret(&normalize_code(code));
        let space: Option<String> = tx
            .query_row(
                "DELETE FROM codes WHERE hash = ?1 AND expires_ms > ?2 RETURNING space",
                params![hash, now as i64],
                |r| r.get(0),
            )
            .optional()?;
        let Some(space) = space else {
            return Ok(None);
        };
        let token = new_token();
        let id = device.to_string();
        // Re-pairing an existing device keeps its acked seq and replaces its name and versions.
        tx.execute(
            "INSERT INTO devices (space, id, name, app_version, schema_version, paired_ms, last_seen_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
             ON CONFLICT (space, id) DO UPDATE SET name = excluded.name, app_version = excluded.app_version, \
             schema_version = excluded.schema_version, last_seen_ms = excluded.last_seen_ms",
            params![space, id, name, app_version, schema_version, now as i64],
        )?;
        tx.execute(
            "INSERT INTO tokens (hash, space, device, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![hash_secret(&token), space, id, now as i64],
        )?;
        let acked: i64 = tx.query_row(
            "SELECT acked FROM devices WHERE space = ?1 AND id = ?2",
            params![space, id],
            |r| r.get(0),
        )?;
        tx.commit()?;
        let peer = PeerInfo {
            device,
            name: name.to_owned(),
            acked: acked as u64,
            last_seen_ms: now,
            app_version: app_version.to_owned(),
            schema_version,
            epoch: 0,
            state: PeerState::Active,
        };
        Ok(Some(Paired {
            space,
            device,
            token,
            peer,
        }))
    }

    fn token(&self, hash: &str) -> rusqlite::Result<Option<(String, DeviceId)>> {
        let conn = lock(&self.read);
        let row: Option<(String, String)> = conn
            .prepare_cached("SELECT space, device FROM tokens WHERE hash = ?1")?
            .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row.and_then(|(space, device)| device.parse().ok().map(|d| (space, d))))
    }

    fn peers(&self) -> rusqlite::Result<Vec<(String, PeerInfo)>> {
        let conn = lock(&self.read);
        let mut stmt = conn.prepare(
            "SELECT space, id, name, acked, last_seen_ms, app_version, schema_version FROM devices ORDER BY space, id",
        )?;
        let rows = stmt.query_map([], |r| {
            let id: String = r.get(1)?;
            Ok((
                r.get::<_, String>(0)?,
                id,
                PeerInfo {
                    device: DeviceId(0),
                    name: r.get(2)?,
                    acked: r.get::<_, i64>(3)? as u64,
                    last_seen_ms: r.get::<_, i64>(4)? as u64,
                    app_version: r.get(5)?,
                    schema_version: r.get(6)?,
                    epoch: 0,
                    state: PeerState::Active,
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (space, id, mut peer) = row?;
            match id.parse() {
                Ok(d) => {
                    peer.device = d;
                    out.push((space, peer));
                }
                Err(_) => tracing::warn!(space, id, "skipping a device row with a malformed id"),
            }
        }
        Ok(out)
    }

    fn save_peers(&self, peers: &[(String, PeerInfo)]) -> rusqlite::Result<()> {
        if peers.is_empty() {
            return Ok(());
        }
        let mut conn = lock(&self.write);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE devices SET acked = max(acked, ?3), last_seen_ms = max(last_seen_ms, ?4), \
                 app_version = ?5, schema_version = ?6 WHERE space = ?1 AND id = ?2",
            )?;
            for (space, p) in peers {
                stmt.execute(params![
                    space,
                    p.device.to_string(),
                    p.acked as i64,
                    p.last_seen_ms as i64,
                    p.app_version,
                    p.schema_version
                ])?;
            }
        }
        tx.commit()
    }
}
