//! Opening a database written at every earlier schema level upgrades it in place and loses nothing.
//!
//! `tests/fixtures/schema-<N>.sqlite` is a store written by the build whose latest migration was N,
//! with `schema-<N>.json` recording what it held. When a migration is added, run this test with
//! `HEARTH_BLESS=1` once to write the fixture of the new level, and commit it: the list only grows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hearth_core::migrate::{LATEST, schema_version};
use hearth_core::{ManualEnv, NewOp, Op, Options, SeqOp, Store};
use serde_json::{Value, json};

const NOW: u64 = 0x0190_0000_0000 + 60_000;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The content every fixture holds: every golden vector's ops (pulled, with seqs), an op of an unknown
/// kind, and two local edits still in the outbox.
fn fill(store: &mut Store) {
    let mut dir: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors"))
        .expect("vectors")
        .map(|e| e.expect("entry").path())
        .collect();
    dir.sort();
    let mut seq = 0;
    for path in dir {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        let ops: Vec<Op> = serde_json::from_value(v["ops"].clone()).expect("ops");
        let page: Vec<SeqOp> = ops
            .into_iter()
            .map(|op| {
                seq += 1;
                SeqOp { seq, op }
            })
            .collect();
        store.apply_pulled(&page, seq).expect("apply");
    }
    store
        .commit(vec![
            NewOp::create(
                "local",
                "task",
                [("title".to_owned(), json!("Unsent"))].into_iter().collect(),
            ),
            NewOp::link_add("local", "home", "parent"),
        ])
        .expect("commit");
}

#[test]
fn every_earlier_schema_level_upgrades_in_place() {
    let dir = fixtures();
    let latest_fixture = dir.join(format!("schema-{LATEST}.sqlite"));
    if !latest_fixture.exists() && std::env::var_os("HEARTH_BLESS").is_some() {
        let mut s = Store::open_path(
            &latest_fixture,
            Arc::new(ManualEnv::new(NOW, 99)),
            Options::default(),
        )
        .expect("create");
        fill(&mut s);
        let record = json!({"device": s.device().to_string(), "outbox": s.outbox_len().expect("outbox"),
                            "cursor": s.cursor().expect("cursor"), "export": serde_json::from_str::<Value>(&s.export().expect("export")).expect("json")});
        s.conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE; VACUUM;")
            .expect("checkpoint");
        drop(s);
        std::fs::write(
            dir.join(format!("schema-{LATEST}.json")),
            serde_json::to_string_pretty(&record).expect("json") + "\n",
        )
        .expect("write");
    }
    let mut levels = 0;
    for level in 1..=LATEST {
        let db = dir.join(format!("schema-{level}.sqlite"));
        assert!(
            db.exists(),
            "missing fixture {}: run with HEARTH_BLESS=1 on the build that added it",
            db.display()
        );
        let record: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("schema-{level}.json"))).expect("record"),
        )
        .expect("json");
        let tmp = tempfile::tempdir().expect("tmp");
        let copy = tmp.path().join("store.sqlite");
        std::fs::copy(&db, &copy).expect("copy");
        let before = rusqlite::Connection::open(&copy).expect("open raw");
        assert_eq!(schema_version(&before).expect("version"), level);
        drop(before);
        let s =
            Store::open_path(&copy, Arc::new(ManualEnv::new(NOW, 1)), Options::default()).expect("upgrade");
        assert_eq!(schema_version(s.conn()).expect("version"), LATEST);
        assert_eq!(s.device().to_string(), record["device"].as_str().expect("device"));
        assert_eq!(
            s.outbox_len().expect("outbox") as u64,
            record["outbox"].as_u64().expect("n")
        );
        assert_eq!(s.cursor().expect("cursor"), record["cursor"].as_u64().expect("n"));
        let expected = serde_json::to_string_pretty(&record["export"]).expect("json") + "\n";
        assert_eq!(
            s.export().expect("export"),
            expected,
            "schema-{level} export changed on upgrade"
        );
        levels += 1;
    }
    assert_eq!(levels, LATEST);
}

#[test]
fn an_empty_file_is_level_zero_and_migrates() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("new.sqlite");
    std::fs::write(&path, b"").expect("touch");
    let s = Store::open_path(&path, Arc::new(ManualEnv::new(NOW, 2)), Options::default()).expect("open");
    assert_eq!(schema_version(s.conn()).expect("version"), LATEST);
}

#[test]
fn a_database_from_a_newer_build_is_refused_untouched() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("newer.sqlite");
    let raw = rusqlite::Connection::open(&path).expect("raw");
    raw.execute_batch(&format!(
        "CREATE TABLE future (x); PRAGMA user_version = {};",
        LATEST + 1
    ))
    .expect("setup");
    drop(raw);
    let err =
        Store::open_path(&path, Arc::new(ManualEnv::new(NOW, 3)), Options::default()).expect_err("refused");
    assert!(err.to_string().contains("update Hearth to open it"), "{err}");
    let raw = rusqlite::Connection::open(&path).expect("raw");
    assert_eq!(schema_version(&raw).expect("version"), LATEST + 1);
}
