//! Whole-space migrations (epochs) of a hub on PostgreSQL, black box: two real `hearth serve
//! --database …` processes, the real `hearth migrate --database …`, and devices that are the real
//! `hearth` CLI. The same story as on SQLite: a device offline across two migrations carries its
//! unsent changes over (or sets aside, with the reason, what cannot be carried), the counts add up and
//! every device ends with the same export; the old epoch's log is kept; every hub answers a request of
//! the old epoch `409 epoch_changed`; no migration runs while a hub serves the database.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{HubProcess, cli_add_task, cli_json, cli_ok, expect_error, pair_with_code, pg_database, text};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

fn bin() -> &'static Path {
    Path::new(BIN)
}

/// One value of a query on the hub's database.
fn count(database: &str, sql: &'static str) -> i64 {
    let database = database.to_owned();
    std::thread::spawn(move || {
        let mut c = hearth_server::pg::Database::parse(&database)
            .unwrap()
            .connect()
            .unwrap();
        c.query_one(sql, &[]).unwrap().get(0)
    })
    .join()
    .unwrap()
}

/// `hearth ARGS… --database DATABASE` (the hub's commands).
fn admin(database: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--database", database])
        .env_remove("HEARTH_DATA")
        .env_remove("HEARTH_DATABASE")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn admin_json(database: &str, args: &[&str]) -> Value {
    let out = admin(database, args);
    assert!(out.status.success(), "hearth {args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A CLI device in `home`, paired through the hub at `url`.
fn init(database: &str, url: &str, home: &Path, name: &str) {
    let code = admin_json(database, &["invite", "--json"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    cli_ok(
        bin(),
        home,
        &["init", "--hub", url, "--code", &code, "--name", name],
    );
}

fn address(hub: &HubProcess) -> String {
    hub.url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Stop both hubs, run `hearth migrate NAME --database`, start them again on their addresses.
fn migrate(database: &str, hubs: [HubProcess; 2], name: &str) -> ([HubProcess; 2], Value) {
    let addresses = hubs.each_ref().map(address);
    for hub in hubs {
        hub.kill();
    }
    let report = admin_json(database, &["migrate", name, "--json"]);
    let hubs = addresses.map(|a| HubProcess::spawn(&a, ["--database", database]));
    (hubs, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_offline_across_migrations_on_postgres_carry_their_changes_over() {
    let db = pg_database();
    let tmp = tempfile::tempdir().unwrap();
    let hubs = [
        HubProcess::spawn("127.0.0.1:0", ["--database", &db]),
        HubProcess::spawn("127.0.0.1:0", ["--database", &db]),
    ];
    let (laptop, phone) = (tmp.path().join("laptop"), tmp.path().join("phone"));
    init(&db, &hubs[0].url, &laptop, "laptop");
    init(&db, &hubs[1].url, &phone, "phone");
    // A device that stays in epoch 1, to see what each hub answers it.
    let code = admin_json(&db, &["invite", "--json"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let stale = pair_with_code(&hubs[1].url, &code, "stale").await;

    let paint = cli_add_task(bin(), &phone, "Paint the fence", &["--priority", "2"]);
    cli_ok(bin(), &phone, &["sync"]);
    cli_ok(bin(), &laptop, &["sync"]);
    // The laptop goes offline with 40 changes; 10 make the title only spaces, which the second
    // migration cannot carry over.
    let mut blank = 0;
    for i in 0..40 {
        match i % 4 {
            0 => {
                cli_add_task(
                    bin(),
                    &laptop,
                    &format!("  Sow   seeds {i} "),
                    &["--priority", &(i % 3 + 1).to_string()],
                );
            }
            1 => {
                cli_ok(
                    bin(),
                    &laptop,
                    &["task", "edit", &paint, "--priority", &(i % 4 + 1).to_string()],
                );
            }
            2 => {
                cli_ok(bin(), &laptop, &["task", "edit", &paint, "--title", "   "]);
                blank += 1;
            }
            _ => {
                cli_add_task(bin(), &laptop, &format!("Plain {i}"), &[]);
            }
        }
    }
    assert_eq!(cli_json(bin(), &laptop, &["status"])["unsent"], 40);

    // No migration while a hub serves the database.
    let out = admin(&db, &["migrate", "priority-levels"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("hubs are serving"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(count(&db, "SELECT epoch FROM spaces WHERE name = 'default'"), 1);

    // Epoch 2: priorities become levels.
    let log_rows = count(&db, "SELECT count(*) FROM ops");
    let (hubs, report) = migrate(&db, hubs, "priority-levels");
    assert_eq!(
        (report["epoch_before"].as_u64(), report["epoch"].as_u64()),
        (Some(1), Some(2)),
        "{report}"
    );
    assert_eq!(report["log_rows_before"], log_rows, "{report}");
    assert_eq!(report["log_rows_after"], 0, "{report}");
    assert!(
        report["archive"].as_str().unwrap().contains("archived_ops"),
        "{report}"
    );
    assert!(report["min_schema_version"].as_i64().unwrap() >= 1, "{report}");
    // The old epoch's log is kept whole, under its epoch.
    assert_eq!(
        count(&db, "SELECT count(*) FROM archived_ops WHERE epoch = 1"),
        log_rows
    );
    // Every hub answers a device of the old epoch 409 with the epoch, from the database.
    for hub in &hubs {
        let url = |what: &str| format!("{}/v1/spaces/{}/{what}", hub.url, stale.space);
        let res = stale
            .client
            .get(url("pull?after=0&epoch=1"))
            .bearer_auth(&stale.token)
            .send()
            .await
            .unwrap();
        let body = expect_error(res, 409, "epoch_changed").await;
        assert_eq!(body["epoch"], 2, "{body}");
        let res = stale
            .client
            .post(url("push"))
            .bearer_auth(&stale.token)
            .json(&serde_json::json!({"ops": stale.ops(1, "stale"), "epoch": 1}))
            .send()
            .await
            .unwrap();
        let body = expect_error(res, 409, "epoch_changed").await;
        assert_eq!(body["epoch"], 2, "{body}");
    }
    // The phone, online, moves over and edits in the new form.
    let r = cli_json(bin(), &phone, &["sync"]);
    assert_eq!(r["epoch_changed"], true, "{r}");
    cli_ok(bin(), &phone, &["task", "edit", &paint, "--priority", "1"]);
    cli_ok(bin(), &phone, &["sync"]);

    // Epoch 3: titles are tidied. Migrating again with the same one is refused.
    let (hubs, report) = migrate(&db, hubs, "tidy-titles");
    assert_eq!(
        report["migrations"],
        serde_json::json!(["priority-levels", "tidy-titles"]),
        "{report}"
    );
    assert_eq!(
        Some(count(&db, "SELECT count(*) FROM archived_ops WHERE epoch = 2")),
        report["log_rows_before"].as_i64(),
        "{report}"
    );
    let listed = admin_json(&db, &["migrations", "--json"]);
    assert_eq!(
        listed["spaces"]["default"],
        serde_json::json!(["priority-levels", "tidy-titles"]),
        "{listed}"
    );
    let addresses = hubs.each_ref().map(address);
    for hub in hubs {
        hub.kill();
    }
    let out = admin(&db, &["migrate", "tidy-titles"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already"), "{}", text(&out.stderr));
    let hubs = addresses.map(|a| HubProcess::spawn(&a, ["--database", &db]));

    // The laptop comes back two epochs behind: each of its 40 changes is carried over through both
    // lenses or set aside with the reason, and the counts add up.
    let r = cli_json(bin(), &laptop, &["sync"]);
    let (translated, aside) = (
        r["translated"].as_u64().unwrap(),
        r["quarantined"].as_array().map_or(0, Vec::len) as u64,
    );
    assert_eq!((translated, aside), (40 - blank, blank), "{r}");
    assert_eq!(r["unsent"], 0, "{r}");
    let q = cli_json(bin(), &laptop, &["quarantine"]);
    assert_eq!(q.as_array().map(Vec::len), Some(blank as usize), "{q}");

    // Everyone agrees, also a device paired now (from the new epoch's snapshot); titles are tidy and
    // priorities are levels.
    cli_ok(bin(), &phone, &["sync"]);
    cli_ok(bin(), &laptop, &["sync"]);
    let tablet = tmp.path().join("tablet");
    init(&db, &hubs[1].url, &tablet, "tablet");
    let (el, ep, et) = (
        cli_ok(bin(), &laptop, &["export"]),
        cli_ok(bin(), &phone, &["export"]),
        cli_ok(bin(), &tablet, &["export"]),
    );
    assert_eq!(el, ep);
    assert_eq!(el, et);
    assert!(
        !el.contains("\"priority\"") && el.contains("\"level\": \"urgent\""),
        "{el}"
    );
    let tasks = cli_json(bin(), &laptop, &["ls", "--all"]);
    let titles: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Sow seeds 0"), "{titles:?}");
    assert!(
        titles.iter().all(|t| t.trim() == *t && !t.contains("  ")),
        "{titles:?}"
    );
    assert_eq!(titles.len(), 21, "{titles:?}");
    drop(hubs);
}
