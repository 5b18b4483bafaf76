//! The hub's devices, tokens (hashed), pairing codes (hashed), spaces and peer records on PostgreSQL:
//! the same operations as `hub.db` ([`crate::devices::Devices`] dispatches to either).

use std::sync::Mutex;
use std::time::Duration;

use crate::pg::Conn as Client;
use hearth_core::DeviceId;
use hearth_core::wire::{PeerInfo, PeerState, SpaceInfo};

use super::Database;
use crate::devices::{DbError, DbResult, Paired, hash_secret, new_code, new_token, normalize_code, now_ms};

/// Connections kept idle for the hub's own queries (every push reads its space's epoch and minimum
/// version: fewer idle connections than concurrent pushes would connect anew for most of them).
const IDLE: usize = 16;

/// A space's row as the hub reports it.
fn space_info(epoch: i64, min_schema_version: i64, migrations: &str) -> DbResult<SpaceInfo> {
    Ok(SpaceInfo {
        epoch: epoch.max(1) as u64,
        min_schema_version,
        migrations: serde_json::from_str(migrations)
            .map_err(|e| DbError::Corrupt(format!("spaces.migrations is not a JSON list of names: {e}")))?,
    })
}

/// The hub's own tables on PostgreSQL.
pub struct PgDevices {
    db: Database,
    idle: Mutex<Vec<Client>>,
}

impl std::fmt::Debug for PgDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDevices")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl PgDevices {
    /// Connect (the schema must be migrated: [`Database::migrate`]).
    pub fn open(db: &Database) -> DbResult<Self> {
        let first = db.connect()?;
        Ok(PgDevices {
            db: db.clone(),
            idle: Mutex::new(vec![first]),
        })
    }

    /// Run `f` on a pooled connection. A connection that failed is dropped, not pooled.
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>) -> DbResult<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.db.connect()?,
        };
        let out = f(&mut client);
        if out.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < IDLE {
                idle.push(client);
            }
        }
        Ok(out?)
    }

    pub(crate) fn create_space(&self, name: &str) -> DbResult<bool> {
        self.with(|c| {
            Ok(c.execute(
                "INSERT INTO spaces (name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &(now_ms() as i64)],
            )? == 1)
        })
    }

    pub(crate) fn spaces(&self) -> DbResult<Vec<(String, SpaceInfo)>> {
        self.with(|c| {
            c.query(
                "SELECT name, epoch, min_schema_version, migrations FROM spaces ORDER BY name",
                &[],
            )
        })?
        .iter()
        .map(|r| Ok((r.get(0), space_info(r.get(1), r.get(2), r.get(3))?)))
        .collect()
    }

    pub(crate) fn space(&self, name: &str) -> DbResult<Option<SpaceInfo>> {
        self.with(|c| {
            c.query_opt(
                "SELECT epoch, min_schema_version, migrations FROM spaces WHERE name = $1",
                &[&name],
            )
        })?
        .map(|r| space_info(r.get(0), r.get(1), r.get(2)))
        .transpose()
    }

    /// Record that `space` went through the whole-space `migrations` (its epoch is one more than their
    /// number) and raise its minimum schema version to at least `min_version`. (`hearth migrate` writes
    /// the same in the migration's own transaction; this is for a record made apart from it.)
    pub(crate) fn set_epoch(&self, space: &str, migrations: &[String], min_version: i64) -> DbResult<bool> {
        let list = serde_json::to_string(migrations).map_err(|e| DbError::Corrupt(e.to_string()))?;
        self.with(|c| {
            Ok(c.execute(
                "UPDATE spaces SET migrations = $2, epoch = $3, \
                 min_schema_version = GREATEST(min_schema_version, $4) WHERE name = $1",
                &[&space, &list, &(migrations.len() as i64 + 1), &min_version],
            )? == 1)
        })
    }

    pub(crate) fn set_min_version(&self, space: &str, version: i64) -> DbResult<bool> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE spaces SET min_schema_version = $2 WHERE name = $1",
                &[&space, &version],
            )? == 1)
        })
    }

    pub(crate) fn create_code(&self, space: &str, ttl: Duration) -> DbResult<String> {
        let code = new_code();
        let now = now_ms();
        let expires = now.saturating_add(ttl.as_millis() as u64);
        self.with(|c| {
            c.execute("DELETE FROM codes WHERE expires_ms <= $1", &[&(now as i64)])?;
            c.execute(
                "INSERT INTO codes (hash, space, expires_ms) VALUES ($1, $2, $3)",
                &[&hash_secret(&normalize_code(&code)), &space, &(expires as i64)],
            )
        })?;
        Ok(code)
    }

    pub(crate) fn revoke(&self, space: &str, who: &str) -> DbResult<Option<(String, usize)>> {
        self.with(|c| {
            let ids: Vec<String> = c
                .query(
                    "SELECT id FROM devices WHERE space = $1 AND (id = $2 OR name = $2) ORDER BY id",
                    &[&space, &who],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let [id] = ids.as_slice() else { return Ok(None) };
            let n = c.execute(
                "DELETE FROM tokens WHERE space = $1 AND device = $2",
                &[&space, id],
            )?;
            Ok(Some((id.clone(), n as usize)))
        })
    }

    pub(crate) fn pair(
        &self,
        code: &str,
        device: DeviceId,
        name: &str,
        app_version: &str,
        schema_version: i64,
    ) -> DbResult<Option<Paired>> {
        let now = now_ms() as i64;
        let hash = hash_secret(&normalize_code(code));
        let token = new_token();
        let id = device.to_string();
        let found = self.with(|c| {
            let mut tx = c.transaction()?;
            let Some(space) = tx
                .query_opt(
                    "DELETE FROM codes WHERE hash = $1 AND expires_ms > $2 RETURNING space",
                    &[&hash, &now],
                )?
                .map(|r| r.get::<_, String>(0))
            else {
                return Ok(None);
            };
            // Re-pairing an existing device keeps its acked seq and replaces its name and versions.
            let acked: i64 = tx
                .query_one(
                    "INSERT INTO devices (space, id, name, app_version, schema_version, paired_ms, last_seen_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (space, id) DO UPDATE SET name = excluded.name, app_version = excluded.app_version, \
                     schema_version = excluded.schema_version, last_seen_ms = excluded.last_seen_ms \
                     RETURNING acked",
                    &[&space, &id, &name, &app_version, &schema_version, &now],
                )?
                .get(0);
            tx.execute(
                "INSERT INTO tokens (hash, space, device, created_ms) VALUES ($1, $2, $3, $4)",
                &[&hash_secret(&token), &space, &id, &now],
            )?;
            tx.commit()?;
            Ok(Some((space, acked)))
        })?;
        Ok(found.map(|(space, acked)| Paired {
            space,
            device,
            token,
            peer: PeerInfo {
                device,
                name: name.to_owned(),
                acked: acked.max(0) as u64,
                last_seen_ms: now as u64,
                app_version: app_version.to_owned(),
                schema_version,
                epoch: 0,
                state: PeerState::Active,
            },
        }))
    }

    pub(crate) fn token(&self, hash: &str) -> DbResult<Option<(String, DeviceId)>> {
        let row = self.with(|c| {
            Ok(
                c.query_opt("SELECT space, device FROM tokens WHERE hash = $1", &[&hash])?
                    .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1))),
            )
        })?;
        Ok(row.and_then(|(space, device)| device.parse().ok().map(|d| (space, d))))
    }

    pub(crate) fn peers(&self) -> DbResult<Vec<(String, PeerInfo)>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT space, id, name, acked, last_seen_ms, app_version, schema_version FROM devices ORDER BY space, id",
                &[],
            )
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (space, id): (String, String) = (r.get(0), r.get(1));
            let Ok(device) = id.parse() else {
                tracing::warn!(space, id, "skipping a device row with a malformed id");
                continue;
            };
            out.push((
                space,
                PeerInfo {
                    device,
                    name: r.get(2),
                    acked: r.get::<_, i64>(3).max(0) as u64,
                    last_seen_ms: r.get::<_, i64>(4).max(0) as u64,
                    app_version: r.get(5),
                    schema_version: r.get(6),
                    epoch: 0,
                    state: PeerState::Active,
                },
            ));
        }
        Ok(out)
    }

    pub(crate) fn save_peers(&self, peers: &[(String, PeerInfo)]) -> DbResult<()> {
        if peers.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let mut tx = c.transaction()?;
            let stmt = tx.prepare(
                "UPDATE devices SET acked = GREATEST(acked, $3), last_seen_ms = GREATEST(last_seen_ms, $4), \
                 app_version = CASE WHEN $5::text = '' THEN app_version ELSE $5::text END, \
                 schema_version = CASE WHEN $6::bigint = 0 THEN schema_version ELSE $6::bigint END \
                 WHERE space = $1 AND id = $2",
            )?;
            for (space, p) in peers {
                tx.execute(
                    &stmt,
                    &[
                        space,
                        &p.device.to_string(),
                        &(p.acked as i64),
                        &(p.last_seen_ms as i64),
                        &p.app_version,
                        &p.schema_version,
                    ],
                )?;
            }
            tx.commit()
        })
    }
}
