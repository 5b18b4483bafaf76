//! Schema migrations for every SQLite file Hearth writes: one runner, one folder of numbered steps per
//! database (`core/migrations/store/` for the store every node keeps; the hub keeps its own folder for
//! `hub.db`).
//!
//! A database's schema version is `PRAGMA user_version`. Steps are append-only and applied stepwise,
//! each in its own transaction together with the version bump, so a failed step leaves the database
//! exactly at the previous version. A step is SQL or Rust: a Rust step is what a backfill or a rewrite
//! of stored values needs, and it runs inside the same transaction. No schema state is ever synced.
//!
//! ```
//! use hearth_core::migrate::{Migration, Schema, Step};
//! use rusqlite::Connection;
//!
//! fn backfill(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
//!     tx.execute("UPDATE notes SET words = length(text) - length(replace(text, ' ', '')) + 1", [])?;
//!     Ok(())
//! }
//! const NOTES: Schema = Schema::new("notes", &[
//!     Migration { version: 1, name: "0001_init.sql", step: Step::Sql("CREATE TABLE notes (text TEXT);") },
//!     Migration { version: 2, name: "0002_words.sql", step: Step::Sql("ALTER TABLE notes ADD words INTEGER;") },
//!     Migration { version: 3, name: "0003_backfill_words", step: Step::Rust(backfill) },
//! ]);
//!
//! let mut conn = Connection::open_in_memory().unwrap();
//! assert_eq!(NOTES.migrate(&mut conn).unwrap(), vec![1, 2, 3]);
//! assert!(NOTES.migrate(&mut conn).unwrap().is_empty());
//! ```

use rusqlite::{Connection, Transaction};

use crate::error::{Error, Result};

/// What one migration does.
#[derive(Clone, Copy)]
pub enum Step {
    /// A batch of SQL statements.
    Sql(&'static str),
    /// Rust code inside the migration's transaction (backfills, rewrites of stored values).
    Rust(fn(&Transaction<'_>) -> rusqlite::Result<()>),
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Sql(_) => f.write_str("Step::Sql"),
            Step::Rust(_) => f.write_str("Step::Rust"),
        }
    }
}

/// One numbered migration. Append only; never edit a shipped entry.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The schema version this step brings the database to (1, 2, …, dense).
    pub version: i64,
    /// Its file name (`000N_what.sql`) or, for a Rust step, a name in the same form.
    pub name: &'static str,
    /// What it does.
    pub step: Step,
}

/// The ordered migrations of one kind of database.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// Which database this is ("store", "hub"), for logs.
    pub database: &'static str,
    /// Its migrations, in version order.
    pub migrations: &'static [Migration],
}

impl Schema {
    /// A schema from its migrations (versions must be `1..=n` in order; [`Schema::migrate`] checks).
    pub const fn new(database: &'static str, migrations: &'static [Migration]) -> Self {
        Schema { database, migrations }
    }

    /// The schema version this build writes.
    pub const fn latest(&self) -> i64 {
        match self.migrations.last() {
            Some(m) => m.version,
            None => 0,
        }
    }

    /// Bring the database up to [`Schema::latest`], one migration per transaction. Returns the versions
    /// applied. A database from a newer build is refused rather than touched.
    pub fn migrate(&self, conn: &mut Connection) -> Result<Vec<i64>> {
        let found = schema_version(conn)?;
        let latest = self.latest();
        if found > latest {
            return Err(Error::SchemaTooNew {
                found,
                supported: latest,
            });
        }
        let mut applied = Vec::new();
        for m in self.migrations.iter().filter(|m| m.version > found) {
            let previous = schema_version(conn)?;
            let mut step = || -> rusqlite::Result<()> {
                let tx = conn.transaction()?;
                match m.step {
                    Step::Sql(sql) => tx.execute_batch(sql)?,
                    Step::Rust(f) => f(&tx)?,
                }
                tx.pragma_update(None, "user_version", m.version)?;
                tx.commit()
            };
            step().map_err(|source| Error::Migration {
                version: m.version,
                name: m.name,
                previous,
                source,
            })?;
            tracing::info!(
                database = self.database,
                version = m.version,
                name = m.name,
                "migrated"
            );
            applied.push(m.version);
        }
        Ok(applied)
    }
}

/// The store's migrations (`core/migrations/store/`): the op log and the materialized state.
pub const STORE: Schema = Schema::new(
    "store",
    &[
        Migration {
            version: 1,
            name: "0001_init.sql",
            step: Step::Sql(include_str!("../migrations/store/0001_init.sql")),
        },
        Migration {
            version: 2,
            name: "0002_quarantine.sql",
            step: Step::Sql(include_str!("../migrations/store/0002_quarantine.sql")),
        },
        Migration {
            version: 3,
            name: "0003_conflicts.sql",
            step: Step::Sql(include_str!("../migrations/store/0003_conflicts.sql")),
        },
        Migration {
            version: 4,
            name: "0004_comments.sql",
            step: Step::Sql(include_str!("../migrations/store/0004_comments.sql")),
        },
        Migration {
            version: 5,
            name: "0005_epochs.sql",
            step: Step::Sql(include_str!("../migrations/store/0005_epochs.sql")),
        },
    ],
);

/// The store schema version this build writes.
pub const LATEST: i64 = STORE.latest();

/// Read `PRAGMA user_version`.
pub fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring a store database up to [`LATEST`] (see [`Schema::migrate`]).
pub fn migrate(conn: &mut Connection) -> Result<Vec<i64>> {
    STORE.migrate(conn)
}

/// Check a schema's list: dense versions from 1, file names numbered like their version.
pub fn check_list(schema: &Schema) -> std::result::Result<(), String> {
    for (i, m) in schema.migrations.iter().enumerate() {
        if m.version != i as i64 + 1 {
            return Err(format!(
                "{}: migration {} has version {}",
                schema.database,
                i + 1,
                m.version
            ));
        }
        if !m.name.starts_with(&format!("{:04}_", m.version)) {
            return Err(format!(
                "{}: {} is not named {:04}_…",
                schema.database, m.name, m.version
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dense_and_ordered() {
        assert_eq!(check_list(&STORE), Ok(()));
    }

    #[test]
    fn migrates_fresh_database_and_refuses_newer() -> Result<()> {
        let mut c = Connection::open_in_memory()?;
        assert_eq!(migrate(&mut c)?, (1..=LATEST).collect::<Vec<_>>());
        assert_eq!(schema_version(&c)?, LATEST);
        assert!(migrate(&mut c)?.is_empty());
        c.pragma_update(None, "user_version", LATEST + 1)?;
        assert!(matches!(migrate(&mut c), Err(Error::SchemaTooNew { .. })));
        Ok(())
    }

    fn fails(_: &Transaction<'_>) -> rusqlite::Result<()> {
        Err(rusqlite::Error::InvalidQuery)
    }

    #[test]
    fn a_failed_step_leaves_the_previous_version() -> Result<()> {
        const S: Schema = Schema::new(
            "t",
            &[
                Migration {
                    version: 1,
                    name: "0001_a.sql",
                    step: Step::Sql("CREATE TABLE a (x);"),
                },
                Migration {
                    version: 2,
                    name: "0002_b.sql",
                    step: Step::Sql("CREATE TABLE b (x);"),
                },
                Migration {
                    version: 3,
                    name: "0003_fails",
                    step: Step::Rust(fails),
                },
            ],
        );
        let mut c = Connection::open_in_memory()?;
        let err = S.migrate(&mut c).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Migration {
                    version: 3,
                    previous: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(schema_version(&c)?, 2);
        let tables: i64 = c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('a', 'b')",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(tables, 2);
        Ok(())
    }
}
