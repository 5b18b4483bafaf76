//! Schema migrations: an ordered, append-only list of SQL files, applied stepwise, each in its own
//! transaction, advancing `PRAGMA user_version`. No schema state is ever synced.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// `(version, file name, SQL)`. Append only; never edit a shipped entry.
pub const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "0001_init.sql", include_str!("../migrations/0001_init.sql"))];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Read `PRAGMA user_version`.
pub fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring the database up to [`LATEST`], one migration per transaction. Returns the versions applied.
/// A database from a newer build is refused rather than touched.
pub fn migrate(conn: &mut Connection) -> Result<Vec<i64>> {
    let found = schema_version(conn)?;
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS.iter().filter(|(v, ..)| *v > found) {
        let previous = schema_version(conn)?;
        let mut step = || -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        step().map_err(|source| Error::Migration {
            version,
            name,
            previous,
            source,
        })?;
        tracing::info!(version, name, "migrated store");
        applied.push(version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dense_and_ordered() {
        for (i, (v, name, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i64 + 1);
            assert!(name.starts_with(&format!("{v:04}_")), "{name}");
        }
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
}
