//! Black-box tests of the `hearth` command line: the real binary as processes, a real hub process on
//! 127.0.0.1, real SQLite files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

struct HubProcess {
    child: Child,
    url: String,
    data: PathBuf,
}

impl HubProcess {
    fn start(data: &Path, listen: &str) -> HubProcess {
        HubProcess::start_with(data, listen, &[])
    }

    fn start_with(data: &Path, listen: &str, extra: &[&str]) -> HubProcess {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", listen, "--data"])
            .arg(data)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn hub");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(i) = line.find("http://") {
                    let url = line[i..].split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the hub printed its URL");
        HubProcess {
            child,
            url,
            data: data.to_owned(),
        }
    }

    fn port(&self) -> String {
        self.url.rsplit(':').next().unwrap_or("").to_owned()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn invite(&self, space: &str) -> String {
        let out = run_ok(
            Command::new(BIN)
                .args(["invite", "--space", space, "--data"])
                .arg(&self.data),
        );
        stdout(&out).lines().last().expect("code line").trim().to_owned()
    }

    /// The hub's own materialized state for `space`, read from its database file.
    fn export(&self, space: &str) -> String {
        let conn = rusqlite::Connection::open_with_flags(
            self.data.join("spaces").join(format!("{space}.db")),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open space db");
        hearth_core::query::export(&conn).expect("export")
    }

    fn op_count(&self, space: &str) -> i64 {
        let conn = rusqlite::Connection::open_with_flags(
            self.data.join("spaces").join(format!("{space}.db")),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open space db");
        conn.query_row("SELECT count(*) FROM ops", [], |r| r.get(0))
            .expect("count")
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .env_remove("HEARTH_HOME")
        .env_remove("HEARTH_DATA")
        .output()
        .expect("run hearth");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// `hearth task add ARGS… --json`: the new task's id.
fn added(home: &Path, args: &[&str]) -> String {
    let mut all = vec!["task", "add"];
    all.extend_from_slice(args);
    all.push("--json");
    let v = json(home, &all);
    assert_eq!(v["title"], args[0], "{v}");
    v["id"].as_str().expect("id").to_owned()
}

fn hearth(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--home")
        .arg(home)
        .env_remove("HEARTH_HOME")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hearth")
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = hearth(home, args);
    assert!(
        out.status.success(),
        "hearth {args:?} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn json(home: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&ok(home, args)).expect("json output")
}

/// Ids of live tasks and projects this home knows.
fn known(home: &Path) -> (Vec<String>, Vec<String>) {
    let tasks = json(home, &["ls", "--all", "--json"]);
    let tree = json(home, &["tree", "--json"]);
    let ids = |v: &Value| {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["id"].as_str().map(str::to_owned))
            .collect()
    };
    (ids(&tasks), ids(&tree["projects"]))
}

fn random_edit(rng: &mut StdRng, home: &Path, tasks: &[String], projects: &[String], n: usize) {
    let pick = |rng: &mut StdRng, v: &[String]| v[rng.random_range(0..v.len())].clone();
    match rng.random_range(0..10) {
        0 => {
            let mut args = vec!["project".to_owned(), "add".into(), format!("P{n}")];
            if !projects.is_empty() && rng.random_bool(0.5) {
                args.extend(["--parent".into(), pick(rng, projects)]);
            }
            ok(home, &args.iter().map(String::as_str).collect::<Vec<_>>());
        }
        1 | 2 => {
            let mut args = vec![
                "task".to_owned(),
                "add".into(),
                format!("T{n}"),
                "--due".into(),
                format!("2026-12-{:02}", rng.random_range(1..28)),
            ];
            if !projects.is_empty() && rng.random_bool(0.7) {
                args.extend(["--project".into(), pick(rng, projects)]);
            }
            ok(home, &args.iter().map(String::as_str).collect::<Vec<_>>());
        }
        3 if !tasks.is_empty() => {
            ok(home, &["task", "done", &pick(rng, tasks)]);
        }
        4 | 5 if !tasks.is_empty() => {
            // The same fields edited on several devices: last writer wins everywhere.
            let t = pick(rng, tasks);
            ok(
                home,
                &[
                    "task",
                    "edit",
                    &t,
                    "--title",
                    &format!("edited {n}"),
                    "--priority",
                    &rng.random_range(1..=4).to_string(),
                ],
            );
        }
        6 if !tasks.is_empty() && !projects.is_empty() => {
            let (t, p) = (pick(rng, tasks), pick(rng, projects));
            ok(home, &["task", "edit", &t, "--project", &p]);
        }
        7 if projects.len() >= 2 => {
            let (a, b) = (pick(rng, projects), pick(rng, projects));
            if a != b {
                ok(home, &["project", "mv", &a, "--parent", &b]);
            }
        }
        8 if !tasks.is_empty() => {
            let t = pick(rng, tasks);
            ok(home, &["rm", &t]);
            if rng.random_bool(0.5) {
                ok(home, &["restore", &t]);
            }
        }
        _ => {
            ok(home, &["task", "add", &format!("inbox {n}")]);
        }
    }
}

#[test]
fn three_devices_converge_with_the_hub_over_many_seeds() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start(&tmp.path().join("hub"), "127.0.0.1:0");
    let seeds: u64 = std::env::var("HEARTH_CLI_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    for seed in 0..seeds {
        let space = format!("s{seed}");
        let mut rng = StdRng::seed_from_u64(seed);
        let homes: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("{space}-{i}"))).collect();
        for (i, home) in homes.iter().enumerate() {
            let code = hub.invite(&space);
            ok(
                home,
                &[
                    "init",
                    "--hub",
                    &hub.url,
                    "--code",
                    &code,
                    "--name",
                    &format!("device{i}"),
                ],
            );
        }
        let mut known_ids: Vec<(Vec<String>, Vec<String>)> = homes.iter().map(|h| known(h)).collect();
        for n in 0..rng.random_range(10..25) {
            let i = rng.random_range(0..homes.len());
            if rng.random_bool(0.25) {
                ok(&homes[i], &["sync"]);
            } else {
                let (t, p) = &known_ids[i];
                random_edit(&mut rng, &homes[i], t, p, n);
            }
            known_ids[i] = known(&homes[i]);
        }
        for _ in 0..2 {
            for home in &homes {
                let report = json(home, &["sync", "--json"]);
                assert_eq!(report["unsent"], 0, "seed {seed}: {report}");
            }
        }
        let expected = hub.export(&space);
        for (i, home) in homes.iter().enumerate() {
            let export = ok(home, &["export"]);
            assert!(
                export == expected,
                "seed {seed}: device {i} differs from the hub\nhub:\n{expected}\ndevice:\n{export}"
            );
        }
        assert!(expected.contains("\"nodes\""), "seed {seed}");
    }
}

fn paired(hub: &HubProcess, home: &Path, space: &str) {
    let code = hub.invite(space);
    ok(home, &["init", "--hub", &hub.url, "--code", &code]);
}

#[test]
fn wrong_and_reused_codes_are_refused_clearly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start(&tmp.path().join("hub"), "127.0.0.1:0");
    let out = hearth(
        &tmp.path().join("x"),
        &["init", "--hub", &hub.url, "--code", "nope-nope-nope"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pairing failed"), "{}", stderr(&out));
    let code = hub.invite("default");
    ok(
        &tmp.path().join("a"),
        &["init", "--hub", &hub.url, "--code", &code],
    );
    let out = hearth(
        &tmp.path().join("b"),
        &["init", "--hub", &hub.url, "--code", &code],
    );
    assert!(!out.status.success(), "a code works once");
    assert!(stderr(&out).contains("pairing failed"), "{}", stderr(&out));
    // The refused device still has a working local store: nothing depends on the hub.
    ok(&tmp.path().join("b"), &["task", "add", "offline"]);
    assert_eq!(json(&tmp.path().join("b"), &["status", "--json"])["unsent"], 1);
}

#[test]
fn a_bad_token_stops_sync_with_advice_and_keeps_the_outbox() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start(&tmp.path().join("hub"), "127.0.0.1:0");
    let home = tmp.path().join("a");
    paired(&hub, &home, "default");
    ok(&home, &["task", "add", "kept"]);
    // Replace the token, as a revoked or leaked-and-rotated one would be.
    let conn = rusqlite::Connection::open(home.join("hearth.sqlite")).expect("open");
    conn.execute("UPDATE kv SET value = 'not-a-token' WHERE key = 'token'", [])
        .expect("edit");
    drop(conn);
    let out = hearth(&home, &["sync"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pair again"), "{}", stderr(&out));
    assert_eq!(
        json(&home, &["status", "--json"])["unsent"],
        1,
        "the Inbox task is one op, still unsent"
    );
}

#[test]
fn a_revoked_device_is_told_to_pair_again_and_keeps_its_changes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start(&tmp.path().join("hub"), "127.0.0.1:0");
    let home = tmp.path().join("a");
    let code = hub.invite("default");
    ok(
        &home,
        &["init", "--hub", &hub.url, "--code", &code, "--name", "old-phone"],
    );
    ok(&home, &["task", "add", "before"]);
    ok(&home, &["sync"]);
    let out = run_ok(
        Command::new(BIN)
            .args(["device", "revoke", "old-phone", "--data"])
            .arg(&hub.data),
    );
    assert!(stdout(&out).contains("Revoked device"), "{}", stdout(&out));
    std::thread::sleep(hearth_server::TOKEN_CACHE_TTL + Duration::from_millis(200));
    ok(&home, &["task", "add", "after"]);
    let out = hearth(&home, &["sync"]);
    assert!(!out.status.success(), "a revoked token must not sync");
    assert!(stderr(&out).contains("pair again"), "{}", stderr(&out));
    assert_eq!(json(&home, &["status", "--json"])["unsent"], 1);
    // Pairing a fresh home with a new code works, and the revoked device's past ops stay on the hub.
    let fresh = tmp.path().join("b");
    let code = hub.invite("default");
    ok(&fresh, &["init", "--hub", &hub.url, "--code", &code]);
    assert!(ok(&fresh, &["ls"]).contains("before"));
    let out = Command::new(BIN)
        .args(["device", "revoke", "nobody", "--data"])
        .arg(&hub.data)
        .output()
        .expect("run");
    assert!(!out.status.success());
}

#[test]
fn hub_down_or_killed_mid_push_loses_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("hub");
    let mut hub = HubProcess::start(&data, "127.0.0.1:0");
    let port = hub.port();
    let home = tmp.path().join("a");
    paired(&hub, &home, "default");
    ok(&home, &["project", "add", "Big"]);
    for i in 0..400 {
        ok(&home, &["task", "add", &format!("task {i}"), "--project", "Big"]);
    }
    let unsent = json(&home, &["status", "--json"])["unsent"].as_u64().expect("n");
    assert_eq!(unsent, 1 + 400 * 2);

    // Down: a clear error, nothing lost.
    hub.kill();
    let started = Instant::now();
    let out = hearth(&home, &["sync"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unreachable"), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("at seq"),
        "no position against a head the hub never told: {}",
        stdout(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "gives up in reasonable time"
    );
    assert_eq!(json(&home, &["status", "--json"])["unsent"], unsent);

    // Killed mid-push, several times, at different moments.
    for delay_ms in [5, 20, 60] {
        let mut h = HubProcess::start(&data, &format!("127.0.0.1:{port}"));
        let mut sync = Command::new(BIN)
            .arg("sync")
            .arg("--home")
            .arg(&home)
            .env_remove("HEARTH_HOME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sync");
        std::thread::sleep(Duration::from_millis(delay_ms));
        h.kill();
        let _ = sync.wait();
    }
    let hub = HubProcess::start(&data, &format!("127.0.0.1:{port}"));
    let report = json(&home, &["sync", "--json"]);
    assert_eq!(report["unsent"], 0, "{report}");
    // Only this device wrote: what came back is its own, not "pulled".
    assert_eq!(report["pulled"], 0, "{report}");
    assert_eq!(
        hub.op_count("default"),
        unsent as i64,
        "every op exactly once on the hub"
    );
    assert_eq!(ok(&home, &["export"]), hub.export("default"));
}

#[test]
fn watch_pulls_other_devices_changes_as_they_happen() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start(&tmp.path().join("hub"), "127.0.0.1:0");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    paired(&hub, &a, "default");
    paired(&hub, &b, "default");
    let watch = Command::new(BIN)
        .args(["sync", "--watch", "--home"])
        .arg(&a)
        .env_remove("HEARTH_HOME")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    std::thread::sleep(Duration::from_millis(500));
    ok(&b, &["task", "add", "seen live"]);
    ok(&b, &["sync"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        std::thread::sleep(Duration::from_millis(100));
        seen = ok(&a, &["ls"]).contains("seen live");
    }
    // The round is shown once the change is stored, and the ack follows: the hub's network view
    // has the watching device at the head.
    let device = json(&a, &["status", "--json"])["device"].clone();
    let mut acked = None;
    while Instant::now() < deadline && acked != Some(1) {
        std::thread::sleep(Duration::from_millis(100));
        let status = json(&b, &["status", "--json"]);
        acked = status["network"]["peers"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["device"] == device))
            .and_then(|p| p["acked"].as_u64());
    }
    let mut watch = watch;
    let _ = watch.kill();
    let out = watch.wait_with_output().expect("watch output");
    assert!(seen, "the watching device did not receive the change");
    assert_eq!(acked, Some(1), "the watching device acked what it pulled");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        printed
            .matches("Sync: pushed 0, pulled 1; at seq 1 of 1; 0 unsent.")
            .count(),
        1,
        "the round that pulled the change is shown once:\n{printed}"
    );
    assert_eq!(ok(&a, &["export"]), hub.export("default"));
}

#[test]
fn below_the_spaces_minimum_version_pushes_wait_and_pulls_work() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start(&tmp.path().join("hub"), "127.0.0.1:0");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    paired(&hub, &a, "default");
    paired(&hub, &b, "default");
    ok(&b, &["task", "add", "from b"]);
    ok(&b, &["sync"]);
    run_ok(
        Command::new(BIN)
            .args(["space", "set-min-version", "99", "--data"])
            .arg(&hub.data),
    );
    ok(&a, &["task", "add", "waits"]);
    let out = hearth(&a, &["sync"]);
    assert!(
        out.status.success(),
        "an update-required sync is not a failure: {}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("Update required"), "{}", stdout(&out));
    assert!(ok(&a, &["ls"]).contains("from b"), "pulls still work");
    assert_eq!(
        json(&a, &["status", "--json"])["unsent"],
        1,
        "the op waits on the device"
    );
}

#[test]
fn a_change_the_hub_always_refuses_is_set_aside_and_the_rest_syncs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start_with(
        &tmp.path().join("hub"),
        "127.0.0.1:0",
        &["--max-payload-bytes", "400"],
    );
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    paired(&hub, &a, "default");
    paired(&hub, &b, "default");
    ok(&a, &["task", "add", "Before"]);
    let long = "n".repeat(1_000);
    ok(&a, &["task", "add", "Too long to sync", "--notes", &long]);
    ok(&a, &["task", "add", "After"]);
    let out = ok(&a, &["sync"]);
    assert!(out.contains("Sync: set aside change"), "{out}");
    assert!(out.contains("400 bytes"), "the hub's reason is shown: {out}");
    let status = json(&a, &["status", "--json"]);
    assert_eq!(
        (status["unsent"].as_u64(), status["quarantined"].as_u64()),
        (Some(0), Some(1))
    );
    // The network view, from the hub: both devices with their names, states and acks.
    let peers = status["network"]["peers"].as_array().expect("the hub answered");
    assert_eq!(peers.len(), 2);
    assert!(peers.iter().all(|p| p["state"] == "active"));
    assert_eq!(status["network"]["head"].as_u64(), Some(2));
    let list = json(&a, &["quarantine", "--json"]);
    assert_eq!(list[0]["code"], "too_large");
    assert_eq!(list[0]["op"]["kind"], "node.create");
    // The refused task stays on this device; the others reached the other device.
    ok(&b, &["sync"]);
    let titles = |home: &Path| -> Vec<String> {
        json(home, &["ls", "--all", "--json"])
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| t["title"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let mut on_b = titles(&b);
    on_b.sort();
    assert_eq!(on_b, vec!["After", "Before"]);
    assert!(titles(&a).contains(&"Too long to sync".to_owned()));
    // Nothing is wedged: a later change syncs, and a second sync is clean.
    ok(&a, &["task", "add", "Later"]);
    let out = ok(&a, &["sync"]);
    assert!(!out.contains("set aside"), "{out}");
    let id = list[0]["op"]["id"].as_str().expect("id").to_owned();
    let out = ok(&a, &["quarantine", "discard", &id[..12]]);
    assert!(out.contains("Discarded"), "{out}");
    assert!(ok(&a, &["quarantine"]).contains("Nothing is set aside"));
    // Without the hub, status still answers and says why the device list is missing.
    drop(hub);
    let status = json(&a, &["status", "--json"]);
    assert!(status["network"].is_null());
    assert!(
        status["network_error"]
            .as_str()
            .expect("why")
            .contains("unreachable"),
        "{status}"
    );
}

#[test]
fn tokens_and_pairing_codes_never_reach_the_hubs_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    let log_path = tmp.path().join("hub.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let data = tmp.path().join("hub");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn hub");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let url = lines
        .by_ref()
        .find_map(|l| {
            l.find("http://")
                .map(|i| l[i..].split_whitespace().next().unwrap_or("").to_owned())
        })
        .expect("url");
    // The code is the line after "One-time pairing code …" (the hub keeps running: read no further).
    lines
        .by_ref()
        .find(|l| l.contains("pairing code"))
        .expect("the code's heading");
    let first_code = lines.next().expect("the printed code").trim().to_owned();
    let home = tmp.path().join("a");
    ok(&home, &["init", "--hub", &url, "--code", &first_code]);
    ok(&home, &["task", "add", "secret-free"]);
    ok(&home, &["sync"]);
    let token = rusqlite::Connection::open(home.join("hearth.sqlite"))
        .expect("open")
        .query_row("SELECT value FROM kv WHERE key = 'token'", [], |r| {
            r.get::<_, String>(0)
        })
        .expect("token");
    // The events stream takes the token in the query (as browsers must); a wrong code too.
    let events = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client")
        .get(format!("{url}/v1/spaces/default/events?token={token}"))
        .send();
    drop(events);
    let wrong = hearth(
        &tmp.path().join("b"),
        &["init", "--hub", &url, "--code", "wxyz-wxyz-wxyz"],
    );
    assert!(!wrong.status.success());
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log_path).expect("read log");
    assert!(
        logged.len() > 1_000,
        "the hub logged at trace level ({} bytes)",
        logged.len()
    );
    assert!(!logged.contains(&token), "a device token is in the hub's log");
    assert!(
        !logged.contains(&first_code),
        "a pairing code is in the hub's log"
    );
    assert!(
        !logged.contains("wxyz-wxyz-wxyz"),
        "a guessed code is in the hub's log"
    );
}

#[test]
fn the_same_title_edited_on_two_devices_offline_is_kept_as_a_conflict_and_restorable() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start(&tmp.path().join("hub"), "127.0.0.1:0");
    let (laptop, phone) = (tmp.path().join("laptop"), tmp.path().join("phone"));
    for (home, name) in [(&laptop, "laptop"), (&phone, "phone")] {
        let code = hub.invite("default");
        ok(
            home,
            &["init", "--hub", &hub.url, "--code", &code, "--name", name],
        );
    }
    ok(&laptop, &["task", "add", "Fix tap"]);
    ok(&laptop, &["sync"]);
    ok(&phone, &["sync"]);
    let id = json(&phone, &["ls", "--json"])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Both rename it without syncing in between; the phone's rename is the later one.
    ok(&laptop, &["task", "edit", &id, "--title", "Fix the tap"]);
    std::thread::sleep(Duration::from_millis(5));
    ok(&phone, &["task", "edit", &id, "--title", "Fix kitchen tap"]);
    ok(&laptop, &["sync"]);
    let said = ok(&phone, &["sync"]);
    assert!(
        said.contains("hearth conflicts"),
        "sync points at the conflict: {said}"
    );
    ok(&laptop, &["sync"]);

    let on_laptop = json(&laptop, &["conflicts", "--json"]);
    let on_phone = json(&phone, &["conflicts", "--json"]);
    assert_eq!(on_laptop, on_phone, "the same conflict on both devices");
    let list = on_laptop.as_array().expect("list");
    assert_eq!(list.len(), 1, "{on_laptop}");
    let c = &list[0];
    assert_eq!(c["field"], "title");
    assert_eq!(c["kept"], "Fix kitchen tap");
    assert_eq!(c["value"], "Fix the tap");
    assert_eq!(c["device_name"], "laptop");
    assert_eq!(c["kept_device_name"], "phone");
    let text = ok(&laptop, &["conflicts"]);
    assert!(
        text.contains("\"Fix the tap\"  from laptop") && text.contains(c["id"].as_str().expect("id")),
        "{text}"
    );
    assert!(ok(&laptop, &["status"]).contains("Conflicts: 1"));

    // Restore the laptop's title on the phone; after a sync both show it and no conflict.
    let cid = c["id"].as_str().expect("id");
    let said = ok(&phone, &["conflicts", "restore", cid]);
    assert!(
        said.contains("Restored title of \"Fix kitchen tap\"") && said.contains("\"Fix the tap\""),
        "{said}"
    );
    ok(&phone, &["sync"]);
    ok(&laptop, &["sync"]);
    for home in [&laptop, &phone] {
        assert_eq!(json(home, &["conflicts", "--json"]), serde_json::json!([]));
        assert_eq!(json(home, &["ls", "--json"])[0]["title"], "Fix the tap");
    }
    assert_eq!(ok(&laptop, &["export"]), ok(&phone, &["export"]));
    // Asking for what does not exist says so.
    let out = hearth(&laptop, &["conflicts", "dismiss", cid]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no open conflict"), "{}", stderr(&out));
    assert!(ok(&laptop, &["conflicts", "dismiss", "--all"]).contains("Dismissed 0"));
}

#[test]
fn tasks_keep_the_order_people_give_them_and_concurrent_moves_converge() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = HubProcess::start(&tmp.path().join("hub"), "127.0.0.1:0");
    let (laptop, phone) = (tmp.path().join("laptop"), tmp.path().join("phone"));
    paired(&hub, &laptop, "default");
    paired(&hub, &phone, "default");
    let ids: Vec<String> = ["a", "b", "c", "d"]
        .iter()
        .map(|t| added(&laptop, &[t]))
        .collect();
    let order = |home: &Path| -> Vec<String> {
        json(home, &["ls", "--json"])
            .as_array()
            .expect("list")
            .iter()
            .map(|t| t["title"].as_str().expect("title").to_owned())
            .collect()
    };
    let said = ok(&laptop, &["task", "move", &ids[3], "--before", &ids[0]]);
    assert!(
        said.contains("Put \"d\"") && said.contains("just before \"a\""),
        "{said}"
    );
    assert_eq!(order(&laptop), ["d", "a", "b", "c"]);
    ok(&laptop, &["task", "move", &ids[0], "--after", &ids[2]]);
    assert_eq!(order(&laptop), ["d", "b", "c", "a"]);
    ok(&laptop, &["sync"]);
    ok(&phone, &["sync"]);
    assert_eq!(order(&phone), ["d", "b", "c", "a"], "the order syncs");

    // Both reorder without syncing; after syncing both show one order, the same everywhere.
    ok(&laptop, &["task", "move", &ids[1], "--before", &ids[3]]);
    ok(&phone, &["task", "move", &ids[3], "--after", &ids[0]]);
    ok(&phone, &["task", "move", &ids[2], "--before", &ids[1]]);
    for _ in 0..2 {
        ok(&laptop, &["sync"]);
        ok(&phone, &["sync"]);
    }
    assert_eq!(order(&laptop), order(&phone));
    assert_eq!(ok(&laptop, &["export"]), ok(&phone, &["export"]));
    let mut sorted = order(&laptop);
    sorted.sort();
    assert_eq!(sorted, ["a", "b", "c", "d"], "nothing lost or doubled");
    // Reordering is not a conflict to choose between.
    assert_eq!(json(&laptop, &["conflicts", "--json"]), serde_json::json!([]));

    // Projects too, among their siblings; never into their own subtree.
    ok(&laptop, &["project", "add", "Home"]);
    ok(&laptop, &["project", "add", "Work"]);
    ok(&laptop, &["project", "add", "Garden", "--parent", "Home"]);
    let top = |home: &Path| -> Vec<String> {
        json(home, &["tree", "--json"])["projects"]
            .as_array()
            .expect("tree")
            .iter()
            .filter(|p| p["depth"] == 0)
            .map(|p| p["title"].as_str().expect("title").to_owned())
            .collect()
    };
    assert_eq!(top(&laptop), ["Home", "Work"]);
    ok(&laptop, &["project", "mv", "Work", "--before", "Home"]);
    assert_eq!(top(&laptop), ["Work", "Home"]);
    let out = hearth(&laptop, &["project", "mv", "Home", "--after", "Garden"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot go inside itself"),
        "{}",
        stderr(&out)
    );
    ok(&laptop, &["sync"]);
    ok(&phone, &["sync"]);
    assert_eq!(top(&phone), ["Work", "Home"]);
}

#[test]
fn home_goes_anywhere_errors_are_sentences_and_invite_needs_a_hub() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("a");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env_remove("HEARTH_HOME")
            .env_remove("HEARTH_DATA")
            .env("RUST_BACKTRACE", "1")
            .output()
            .expect("run hearth")
    };
    let h = home.to_str().expect("utf-8");
    assert!(run(&["init", "--home", h]).status.success());
    // --home before the command, as the help's "global" promises.
    let out = run(&["--home", h, "task", "add", "Before the command"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&[&format!("--home={h}"), "ls", "--json"]);
    assert!(stdout(&out).contains("Before the command"), "{}", stderr(&out));

    // A user error: a clean sentence and a failing exit code, no backtrace even with RUST_BACKTRACE.
    let out = run(&["--home", h, "task", "done", "zzzz"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("backtrace") && !err.contains("Stack"), "{err}");

    // `invite` where no hub keeps its data: refused, and nothing is created there.
    let nowhere = tmp.path().join("no-hub");
    let out = run(&["invite", "--data", nowhere.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("there is no hub in"), "{}", stderr(&out));
    assert!(!nowhere.exists(), "no empty hub database made");
}

#[test]
fn search_marks_done_tasks_trash_lists_what_restore_brings_back_and_same_names_are_flagged() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("a");
    ok(&home, &["init"]);
    let out = ok(
        &home,
        &[
            "task",
            "add",
            "Buy milk",
            "--due",
            "2026-12-24",
            "--priority",
            "2",
            "--notes",
            "the oat kind is for Sam",
        ],
    );
    assert!(
        out.starts_with("Added \"Buy milk\" (")
            && out.trim_end().ends_with(") to the Inbox, due 2026-12-24, P2."),
        "{out}"
    );
    let milk = out[out.find('(').expect("id") + 1..out.find(')').expect("id")].to_owned();
    let oat = added(&home, &["Buy oat milk", "--due", "2026-12-20"]);
    added(&home, &["Call Sam"]);
    ok(&home, &["task", "done", &oat]);
    let found = ok(&home, &["search", "milk"]);
    assert!(found.contains("[ ] Buy milk  due 2026-12-24  P2"), "{found}");
    assert!(found.contains("[x] Buy oat milk"), "{found}");
    let hits = json(&home, &["search", "milk", "--json"]);
    assert_eq!(hits[1]["status"], "done", "{hits}");
    // Notes are searched too, and such a hit says where the text was.
    let found = ok(&home, &["search", "oat kind"]);
    assert!(
        found.contains("Buy milk  due 2026-12-24  P2  (in its notes)"),
        "{found}"
    );
    let hits = json(&home, &["search", "sam", "--json"]);
    let hits: Vec<(&str, bool)> = hits
        .as_array()
        .expect("list")
        .iter()
        .map(|h| {
            (
                h["title"].as_str().expect("title"),
                h["in_notes"].as_bool().expect("flag"),
            )
        })
        .collect();
    assert_eq!(hits, [("Buy milk", true), ("Call Sam", false)]);
    // The agenda leaves finished tasks out unless asked, and marks them.
    let agenda = ok(&home, &["agenda"]);
    assert!(!agenda.contains("Buy oat milk"), "{agenda}");
    assert!(agenda.contains("[ ] Buy milk"), "{agenda}");
    let agenda = ok(&home, &["agenda", "--done"]);
    let lines: Vec<&str> = agenda.lines().collect();
    assert_eq!(lines.len(), 2, "{agenda}");
    assert!(
        lines[0].contains("2026-12-20") && lines[0].ends_with("[x] Buy oat milk"),
        "{agenda}"
    );
    assert!(lines[1].ends_with("[ ] Buy milk"), "{agenda}");

    assert!(ok(&home, &["trash"]).contains("Nothing is deleted."));
    ok(&home, &["rm", &milk]);
    let trash = json(&home, &["trash", "--json"]);
    assert_eq!(trash.as_array().expect("list").len(), 1, "{trash}");
    assert_eq!(
        (trash[0]["title"].as_str(), trash[0]["type"].as_str()),
        (Some("Buy milk"), Some("task"))
    );
    assert!(trash[0]["deleted_ms"].as_u64().expect("ms") > 1_700_000_000_000);
    assert!(ok(&home, &["trash"]).contains("\"Buy milk\""));
    let said = ok(&home, &["restore", &milk]);
    assert_eq!(said.trim(), format!("Restored \"Buy milk\" ({milk})."));
    assert_eq!(json(&home, &["trash", "--json"]), serde_json::json!([]));
    // A key too short to be an id prefix says so.
    for args in [&["task", "done", &milk[..3]][..], &["rm", &milk[..3]][..]] {
        let out = hearth(&home, args);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("(ids are matched by their first 4 or more characters)"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert!(ok(&home, &["search", "milk"]).contains("Buy milk  due 2026-12-24"));

    ok(&home, &["project", "add", "Home"]);
    let out = hearth(&home, &["project", "add", "home"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("1 other project(s) are called \"home\""),
        "{}",
        stderr(&out)
    );
}
