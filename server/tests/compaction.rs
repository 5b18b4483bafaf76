//! Compaction against the real thing: a `hearth serve` process, `hearth` device processes on their own
//! home directories, `hearth compact` from another process while the hub serves. Bulk edits are written
//! into the devices' own store files through `hearth-core` (as the CLI's verbs do), so that tens of
//! thousands of ops cost seconds; every sync is the real `hearth sync`.
//!
//! The reference for every check is an uncompacted replica that applied every op ever written.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use hearth_core::{NewOp, Op, OpId, Options, Store, SystemEnv};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use common::HubProcess;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

/// `hearth serve` on a data dir (a process killed on drop), and what the tests read of that dir.
struct Hub {
    /// Killed when the hub is dropped.
    _process: HubProcess,
    url: String,
    data: PathBuf,
}

impl Hub {
    fn start(data: &Path, extra: &[&str]) -> Hub {
        let mut args = vec![std::ffi::OsStr::new("--data"), data.as_os_str()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        let process = HubProcess::spawn("127.0.0.1:0", args);
        Hub {
            url: process.url.clone(),
            _process: process,
            data: data.to_owned(),
        }
    }

    fn space_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.data.join("spaces/default.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    fn export(&self) -> String {
        hearth_core::query::export(&self.space_db()).unwrap()
    }

    fn log_rows(&self) -> u64 {
        self.space_db()
            .query_row("SELECT count(*) FROM ops", [], |r| r.get::<_, i64>(0))
            .unwrap() as u64
    }

    fn code(&self) -> String {
        let out = run(Command::new(BIN)
            .args(["invite", "--json", "--data"])
            .arg(&self.data));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["code"].as_str().unwrap().to_owned()
    }

    fn compact(&self, peer_ttl: &str) -> Value {
        let out = run(Command::new(BIN)
            .args(["compact", "--json", "--peer-ttl", peer_ttl, "--data"])
            .arg(&self.data));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .env_remove("HEARTH_HOME")
        .env_remove("HEARTH_DATA")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A device: a `hearth` home directory paired with the hub.
struct Device {
    home: PathBuf,
    name: &'static str,
}

impl Device {
    fn pair(hub: &Hub, root: &Path, name: &'static str) -> Device {
        let home = root.join(name);
        let code = hub.code();
        run(Command::new(BIN)
            .args([
                "init", "--hub", &hub.url, "--code", &code, "--name", name, "--home",
            ])
            .arg(&home));
        Device { home, name }
    }

    fn hearth(&self, args: &[&str]) -> String {
        let out = run(Command::new(BIN).args(args).arg("--home").arg(&self.home));
        String::from_utf8(out.stdout).unwrap()
    }

    fn sync(&self) -> String {
        let out = self.hearth(&["sync"]);
        eprintln!("{}: hearth sync → {}", self.name, out.trim());
        out
    }

    /// This device's own store file, opened as the CLI opens it.
    fn store(&self) -> Store {
        Store::open_path(
            self.home.join("hearth.sqlite"),
            Arc::new(SystemEnv),
            Options::default(),
        )
        .unwrap()
    }

    fn export(&self) -> String {
        self.hearth(&["export"])
    }
}

/// Random edits of a task app on `records` tasks under `projects`: titles, statuses, due dates,
/// priorities, notes (a generic field) and moves between projects (a link remove plus a link add).
fn edit(rng: &mut StdRng, store: &mut Store, tasks: &[String], projects: &[String], n: usize) -> Vec<Op> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let mut batch = Vec::new();
        while batch.len() < 200.min(n - out.len()) {
            let room = n - out.len() - batch.len();
            let t = &tasks[rng.random_range(0..tasks.len())];
            let mut ops = match rng.random_range(0..10) {
                0..=3 => vec![NewOp::set(
                    t,
                    "title",
                    json!(format!("t{}", rng.random_range(0..1_000_000))),
                )],
                4 => vec![NewOp::task_set(
                    t,
                    "status",
                    json!(["open", "done"][rng.random_range(0..2)]),
                )],
                5 => vec![NewOp::task_set(t, "priority", json!(rng.random_range(1..=4)))],
                6 => vec![NewOp::set(
                    t,
                    "notes",
                    json!(format!("n{}", rng.random_range(0..1_000))),
                )],
                _ => {
                    let p = &projects[rng.random_range(0..projects.len())];
                    hearth_core::edit::move_ops(store, t, Some(p)).unwrap()
                }
            };
            if ops.len() > room {
                // Exactly `n` ops: a move that does not fit becomes a title change.
                ops = vec![NewOp::set(t, "title", json!("last"))];
            }
            batch.extend(ops);
        }
        // Moves read the store, so commit as we go.
        out.extend(store.commit(batch).unwrap());
    }
    out
}

/// The seed: `tasks` tasks under `projects` projects, all written by one device.
fn seed(store: &mut Store, tasks: usize, projects: usize) -> (Vec<String>, Vec<String>, Vec<Op>) {
    let p: Vec<String> = (0..projects).map(|_| store.new_node_id()).collect();
    let t: Vec<String> = (0..tasks).map(|_| store.new_node_id()).collect();
    let mut ops = Vec::new();
    for (i, id) in p.iter().enumerate() {
        ops.push(NewOp::create(
            id,
            "project",
            [("title".into(), json!(format!("Project {i}")))]
                .into_iter()
                .collect(),
        ));
    }
    for (i, id) in t.iter().enumerate() {
        ops.push(NewOp::create(
            id,
            "task",
            [("title".into(), json!(format!("Task {i}")))]
                .into_iter()
                .collect(),
        ));
        ops.push(NewOp::link_add(id, &p[i % projects], "parent"));
    }
    let ops = store.commit(ops).unwrap();
    (t, p, ops)
}

/// An uncompacted replica of everything: every op ever written, applied once.
fn reference(all: &[Op]) -> String {
    let mut r = Store::open_in_memory(
        Arc::new(SystemEnv),
        Options {
            keep_history: true,
            ..Options::default()
        },
    )
    .unwrap();
    for chunk in all.chunks(20_000) {
        r.apply(chunk).unwrap();
    }
    r.export().unwrap()
}

fn peers(hub: &Hub, dev: &Device) -> Value {
    let store = dev.store();
    let token = store.kv_get("token").unwrap().unwrap();
    let res = reqwest::blocking::Client::new()
        .get(format!("{}/v1/spaces/default/peers", hub.url))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().unwrap()
}

/// The offline device: it writes 500 ops while the others write 50,000, its TTL passes and the
/// hub compacts past it; when it comes back it restores from the snapshot and its 500 ops are pushed
/// once each; every replica ends byte-identical to the reference, and each value it wrote is there
/// unless a later write won.
#[test]
fn a_device_offline_past_its_ttl_restores_from_the_snapshot_and_keeps_its_edits() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(
        &root.path().join("hub"),
        &["--peer-ttl", "3s", "--compact-every", "0s"],
    );
    let (a, b, c) = (
        Device::pair(&hub, root.path(), "laptop"),
        Device::pair(&hub, root.path(), "desktop"),
        Device::pair(&hub, root.path(), "phone"),
    );
    let mut rng = StdRng::seed_from_u64(13);
    let mut all = Vec::new();
    let (tasks, projects, ops) = seed(&mut a.store(), 500, 20);
    all.extend(ops);
    for d in [&a, &b, &c] {
        d.sync();
    }
    let phone_ack = peers(&hub, &a)["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "phone")
        .unwrap()["acked"]
        .as_u64()
        .unwrap();
    eprintln!("phone synced up to seq {phone_ack} and goes offline");

    // Offline, the phone edits the same tasks the others edit, moves tasks the others move.
    // Half of its 500 ops before the others' 50,000 (those mostly lose), half after (those mostly win).
    let mut phone_ops = edit(&mut rng, &mut c.store(), &tasks, &projects, 250);
    for _ in 0..5 {
        for d in [&a, &b] {
            all.extend(edit(&mut rng, &mut d.store(), &tasks, &projects, 5_000));
            d.sync();
        }
    }
    phone_ops.extend(edit(&mut rng, &mut c.store(), &tasks, &projects, 250));
    assert_eq!(phone_ops.len(), 500);
    all.extend(phone_ops.iter().cloned());
    // The phone's TTL passes; the others sync again (their acks reach the head).
    std::thread::sleep(Duration::from_millis(3_300));
    for d in [&a, &b, &a] {
        d.sync();
    }
    let compact = hub.compact("3s");
    eprintln!("hearth compact → {compact}");
    let horizon = compact["horizon"].as_u64().unwrap();
    assert_eq!(compact["space"], "default");
    assert!(
        horizon > phone_ack + 50_000 - 1,
        "the hub compacted past the phone: {compact}"
    );
    assert_eq!(compact["snapshot_seq"].as_u64(), Some(horizon));
    assert!(compact["log_rows_before"].as_u64().unwrap() > 50_000);
    assert_eq!(compact["log_rows_after"].as_u64(), Some(0));
    let view = peers(&hub, &a);
    let phone = view["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "phone")
        .unwrap();
    assert_eq!(phone["state"], "behind_horizon", "{view}");

    // The phone comes back.
    let out = c.sync();
    assert!(
        out.contains(&format!(
            "behind the hub's horizon: restored from snapshot at seq {horizon}, 500 unsent changes kept and pushed"
        )),
        "{out}"
    );
    let status = c.hearth(&["status", "--json"]);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["unsent"], 0);
    assert_eq!(status["last_recovery"]["snapshot_seq"].as_u64(), Some(horizon));
    assert_eq!(status["last_recovery"]["kept"], 500);
    // Its 500 ops are in the hub's log once each (above the horizon, so none was compacted).
    let phone_id = c.store().device().to_string();
    let logged: i64 = hub
        .space_db()
        .query_row(
            "SELECT count(*) FROM ops WHERE substr(id, 19) = ?1",
            [&phone_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 500, "each of the phone's ops is logged exactly once");
    for d in [&a, &b] {
        d.sync();
    }
    let expected = reference(&all);
    assert_eq!(hub.export(), expected, "the hub equals the uncompacted reference");
    for d in [&a, &b, &c] {
        assert_eq!(
            d.export(),
            expected,
            "{} equals the uncompacted reference",
            d.name
        );
    }
    // Each value the phone wrote is there unless a later write (a greater op id) won the field.
    let store = c.store();
    let mut last: HashMap<(String, String), OpId> = HashMap::new();
    for op in &phone_ops {
        if op.kind == "node.set" || op.kind == "task.set" {
            let key = (
                op.payload["node"].as_str().unwrap().to_owned(),
                op.payload["field"].as_str().unwrap().to_owned(),
            );
            last.insert(key, op.id);
        }
    }
    let mut kept = 0;
    for ((node, field), id) in &last {
        let winner: String = match field.as_str() {
            "title" | "status" | "priority" => store
                .conn()
                .query_row(
                    &format!("SELECT {field}_op FROM nodes WHERE id = ?1"),
                    [node],
                    |r| r.get(0),
                )
                .unwrap(),
            _ => store
                .conn()
                .query_row(
                    "SELECT op FROM fields WHERE node = ?1 AND field = ?2",
                    [node, field],
                    |r| r.get(0),
                )
                .unwrap(),
        };
        let winner: OpId = winner.parse().unwrap();
        assert!(
            winner >= *id,
            "{node}.{field}: the phone's write {id} lost to an older {winner}"
        );
        kept += usize::from(winner == *id);
    }
    eprintln!(
        "phone: {} fields written offline, {kept} still hold its value, the rest were overwritten later",
        last.len()
    );
    assert!(kept > 100, "the phone's later values survive ({kept})");
}

/// Three active devices push and pull 200,000 ops on 2,000 records while the hub compacts in the
/// background; after a final compaction the log holds no more rows than the live fields plus one batch,
/// and every export equals the uncompacted reference, byte for byte. A fourth device pairs afterwards and
/// starts from the snapshot.
#[test]
fn three_devices_and_200k_ops_leave_a_log_the_size_of_the_state() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(
        &root.path().join("hub"),
        &["--compact-every", "1s", "--compact-rows", "30000"],
    );
    let devices = [
        Device::pair(&hub, root.path(), "one"),
        Device::pair(&hub, root.path(), "two"),
        Device::pair(&hub, root.path(), "three"),
    ];
    let mut rng = StdRng::seed_from_u64(7);
    let mut all = Vec::new();
    let (tasks, projects, ops) = seed(&mut devices[0].store(), 1_950, 50);
    all.extend(ops);
    for d in &devices {
        d.sync();
    }
    let mut written = all.len();
    let mut peak = 0;
    while written < 200_000 {
        for d in &devices {
            let n = 10_000.min(200_000 - written).max(1);
            all.extend(edit(&mut rng, &mut d.store(), &tasks, &projects, n));
            written = all.len();
            d.sync();
            peak = peak.max(hub.log_rows());
        }
    }
    for d in &devices {
        d.sync();
    }
    for d in &devices {
        d.sync();
    }
    let compact = hub.compact("30d");
    eprintln!("{written} ops written; the log peaked at {peak} rows; hearth compact → {compact}");
    let head = peers(&hub, &devices[0])["head"].as_u64().unwrap();
    assert_eq!(head as usize, all.len(), "every op logged once");
    assert_eq!(compact["horizon"].as_u64(), Some(head));
    // The live state's field count: every field winner of the hub's state.
    let mut fields = 0u64;
    hearth_core::snapshot::for_each(&hub.space_db(), |e| {
        fields += u64::from(matches!(e, hearth_core::snapshot::Entry::Field { .. }));
        Ok(())
    })
    .unwrap();
    let rows = compact["log_rows_after"].as_u64().unwrap();
    assert!(rows <= fields + 1_000, "{rows} log rows for {fields} live fields");
    assert!(
        peak < 200_000,
        "background compaction kept the log below the history ({peak} rows at most)"
    );
    let expected = reference(&all);
    assert_eq!(hub.export(), expected);
    for d in &devices {
        assert_eq!(d.export(), expected, "{}", d.name);
    }
    // A new device starts from the snapshot, verified by its digest.
    let fresh = Device::pair(&hub, root.path(), "four");
    let status: Value = serde_json::from_str(&fresh.hearth(&["status", "--json"])).unwrap();
    assert_eq!(status["last_recovery"]["verified"], true, "{status}");
    assert_eq!(status["last_recovery"]["snapshot_seq"].as_u64(), Some(head));
    assert_eq!(fresh.export(), expected);
}
