//! The hub log on PostgreSQL: the hub-log conformance suite (the same cases as the SQLite log runs)
//! against a real PostgreSQL server, one fresh database per case, and the schema's migration rules.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hearth_core::Env;
use hearth_core::conformance::HubLogBackend;
use hearth_core::store::{HubLog, HubOptions};
use hearth_server::pg::{Database, PgHubLog, cluster};

struct Pg(Database);

impl HubLogBackend for Pg {
    fn open_log(&self, name: &str, env: Arc<dyn Env>) -> hearth_core::Result<Box<dyn HubLog>> {
        Ok(Box::new(PgHubLog::open(
            &self.0,
            name,
            env,
            HubOptions::default(),
        )?))
    }
}

fn database() -> Database {
    let url = cluster::shared()
        .expect("a PostgreSQL server for the tests")
        .new_database()
        .expect("a fresh database");
    let db = Database::parse(&url).expect("its connection string");
    db.migrate().expect("the hub's schema");
    db
}

fn backend() -> Pg {
    Pg(database())
}

mod hub_log {
    use super::backend;
    hearth_core::hub_log_conformance_tests!(backend());
}

#[test]
fn migrating_twice_changes_nothing_and_a_newer_schema_is_refused() {
    let db = database();
    assert_eq!(db.migrate().unwrap(), 3, "already at the latest version");
    let mut c = db.connect().unwrap();
    c.execute(
        "INSERT INTO hearth_schema (version, name, applied_ms) VALUES (99, '0099_future.sql', 0)",
        &[],
    )
    .unwrap();
    let err = format!("{:#}", db.migrate().unwrap_err());
    assert!(
        err.contains("version 99") && err.contains("newer than this build knows (3)"),
        "{err}"
    );
}
