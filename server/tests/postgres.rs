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

/// `n` ops of device `device`, stamped now in order, each setting the title of node `n<i>` to `title`.
fn titles(device: u64, n: usize, title: &str) -> Vec<hearth_core::Op> {
    use hearth_core::{Clock, DeviceId, Env, Op, OpId, SystemEnv, Timestamp};
    let mut clock = Clock::new(Timestamp::default(), 0);
    (0..n)
        .map(|i| Op {
            id: OpId {
                ts: clock.tick(SystemEnv.now_ms()),
                device: DeviceId(device),
            },
            kind: "node.set".into(),
            v: 1,
            payload: serde_json::json!({"node": format!("n{i}"), "field": "title", "value": title}),
        })
        .collect()
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

/// Two hubs' writers append the same push at once (a device's retry through another hub while the
/// first push is still in flight): both look the ids up before the space's counter row is theirs and
/// find none; the second to hold the row finds them among the ops committed since and answers them as
/// duplicates at the seqs the first gave them. The log holds them once.
#[test]
fn the_same_push_through_two_hubs_at_once_lands_once() {
    use hearth_core::SystemEnv;
    let db = database();
    let open = || PgHubLog::open(&db, "default", Arc::new(SystemEnv), HubOptions::default()).unwrap();
    let (mut a, mut b) = (open(), open());
    let ops = titles(0x5eed, 50, "same");
    // Hold the counter row, so that both appends wait for it.
    let mut holder = db.connect().unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.query_one("SELECT head FROM spaces WHERE name = 'default' FOR UPDATE", &[])
        .unwrap();
    let (ops_a, ops_b) = (ops.clone(), ops.clone());
    let ta = std::thread::spawn(move || a.append(&ops_a).unwrap());
    let tb = std::thread::spawn(move || b.append(&ops_b).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(500));
    tx.commit().unwrap();
    let (oa, ob) = (ta.join().unwrap(), tb.join().unwrap());
    let mut outcomes = [oa, ob];
    outcomes.sort_by_key(|o| o.duplicates);
    let [first, second] = outcomes;
    assert_eq!((first.accepted, first.duplicates), (50, 0));
    assert_eq!((second.accepted, second.duplicates), (0, 50));
    assert_eq!(first.seqs, (1..=50).collect::<Vec<u64>>());
    assert_eq!(second.seqs, first.seqs);
    let n: i64 = holder
        .query_one("SELECT count(*) FROM ops WHERE space = 'default'", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 50);
}

/// The log's row count comes from the head, the horizon and the rows pruning kept below it (ops the hub
/// stores without applying are never pruned), not from counting the whole log: the two agree.
#[test]
fn the_row_count_after_compaction_counts_the_rows_kept_below_the_horizon() {
    use hearth_core::SystemEnv;
    use hearth_core::store::LogRead;
    let db = database();
    let mut log = PgHubLog::open(&db, "default", Arc::new(SystemEnv), HubOptions::default()).unwrap();
    let ops = titles(0xc0de, 10, "t");
    assert_eq!(log.append(&ops).unwrap().head, 10);
    // Seq 2 stands for an op this hub's build stores without applying.
    let mut c = db.connect().unwrap();
    c.execute(
        "UPDATE ops SET applied = false WHERE space = 'default' AND seq = 2",
        &[],
    )
    .unwrap();
    let report = log.compact(4).unwrap();
    let counted: i64 = c
        .query_one("SELECT count(*) FROM ops WHERE space = 'default'", &[])
        .unwrap()
        .get(0);
    assert_eq!(counted, 7, "seqs 5–10 and the unapplied seq 2");
    assert_eq!((report.log_rows_before, report.log_rows_after), (10, 7));
    assert_eq!(log.log_rows().unwrap(), 7);
    log.append(&ops[..3]).unwrap();
    assert_eq!(log.log_rows().unwrap(), 7, "duplicates add no row");
}
