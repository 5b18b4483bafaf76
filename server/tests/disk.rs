//! A full disk under a real hub process: its data directory on a small tmpfs that fills up mid-push.
//! The hub answers `507 storage_full` with a sentence, acknowledges nothing it did not write, keeps
//! serving reads, passes `PRAGMA integrity_check`, and takes the same batch once space returns.
//! A read-only data directory: the hub refuses to start with a sentence and loses nothing; a device
//! store on a read-only home still reads, and refuses changes with a sentence.
//!
//! Mounting needs root (as the PostgreSQL tests' cluster does); the test says so when it is not.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{HubProcess, pair_with_code};
use hearth_core::Op;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs for the full-disk test failed (it needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_owned())
    }

    fn resize(&self, size: &str) {
        self.remount(&format!("size={size}"));
    }

    /// `mount -o remount,OPTS` (`ro` works only while no process holds a file open for writing).
    fn remount(&self, opts: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn invite(data: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["invite", "--json", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["code"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_mid_push_gets_507_loses_nothing_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let disk = Tmpfs::mount(&data, "4m");
    let hub = HubProcess::spawn("127.0.0.1:0", [std::ffi::OsStr::new("--data"), data.as_os_str()]);
    let dev = pair_with_code(&hub.url, &invite(&data), "Laptop").await;

    // Batches of 20 ops with 6 KB titles until the disk is full.
    let filler = "x".repeat(6_000);
    let batch = |n: usize| -> Vec<Op> {
        (0..20)
            .map(|i| dev.op(&format!("n{n}-{i}"), &format!("{n}/{i} {filler}")))
            .collect()
    };
    let mut acked: Vec<(String, u64)> = Vec::new();
    let refused = loop {
        assert!(acked.len() < 40_000, "the disk never filled");
        let ops = batch(acked.len());
        let res = dev.push_raw(&ops).await;
        match res.status().as_u16() {
            200 => {
                let body: serde_json::Value = res.json().await.unwrap();
                for (op, seq) in ops.iter().zip(body["seqs"].as_array().unwrap()) {
                    acked.push((op.id.to_string(), seq.as_u64().unwrap()));
                }
            }
            507 => {
                let body: serde_json::Value = res.json().await.unwrap();
                assert_eq!(body["error"], "storage_full", "{body}");
                assert!(
                    body["message"].as_str().unwrap().contains("disk is full"),
                    "{body}"
                );
                break ops;
            }
            other => panic!(
                "a full disk should be 507, got {other}: {}",
                res.text().await.unwrap()
            ),
        }
    };
    assert!(acked.len() >= 100, "some pushes landed first ({})", acked.len());
    // Still full: refused again, never wedged; reads keep working.
    let again = dev.push_raw(&refused).await;
    assert_eq!(again.status(), 507, "{}", again.text().await.unwrap());
    let head = acked.last().unwrap().1;
    assert_eq!(
        dev.pull(0, 10).await.head,
        head,
        "reads are served on a full disk"
    );

    // Space returns: the same batch lands whole (nothing of it was written before).
    disk.resize("64m");
    let res = dev.push(&refused).await;
    assert_eq!(
        (res.accepted, res.duplicates),
        (refused.len(), 0),
        "nothing of a refused batch had been written"
    );
    for (op, seq) in refused.iter().zip(&res.seqs) {
        acked.push((op.id.to_string(), *seq));
    }

    // Every acknowledged op at its seq, exactly once, in a dense log.
    let log = dev.pull_all(0).await;
    assert_eq!(log.len(), acked.len(), "every acknowledged op, once");
    for (i, (got, (id, seq))) in log.iter().zip(&acked).enumerate() {
        assert_eq!(got.seq, i as u64 + 1, "dense");
        assert_eq!((&got.op.id.to_string(), got.seq), (id, *seq));
    }

    hub.kill();
    for db in [data.join("hub.db"), data.join("spaces/default.db")] {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{}", db.display());
    }
    println!(
        "disk full: {} ops acknowledged before the disk filled, 2 pushes refused with 507, the batch taken whole after; integrity ok",
        acked.len() - refused.len()
    );
    drop(disk);
}

#[test]
fn a_device_store_on_a_full_disk_refuses_the_change_clearly_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let disk = Tmpfs::mount(&home, "1m");
    let hearth = |args: &[&str]| cli(&home, args);
    assert!(hearth(&["init"]).status.success());
    let notes = "n".repeat(20_000);
    let mut added = 0;
    let failed = loop {
        assert!(added < 1_000, "the disk never filled");
        let out = hearth(&["task", "add", &format!("task {added}"), "--notes", &notes]);
        if !out.status.success() {
            break out;
        }
        added += 1;
    };
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(
        said.contains("The disk is full: this change was not made"),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
    assert!(added >= 5, "some tasks fit first ({added})");

    disk.resize("16m");
    let out = hearth(&["ls", "--json"]);
    assert!(out.status.success());
    let tasks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        tasks.as_array().unwrap().len(),
        added,
        "every task saved before is there"
    );
    assert!(
        hearth(&["task", "add", "after the disk was freed"])
            .status
            .success()
    );
    let conn = rusqlite::Connection::open(home.join("hearth.sqlite")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    println!(
        "device store on a full disk: {added} tasks saved, the next refused with a sentence, all kept; integrity ok"
    );
    drop(conn);
    drop(disk);
}

/// What must not be in a failure a person reads.
/// `hearth ARGS --home HOME`, with backtraces asked for (a user error must still print none).
fn cli(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .arg("--home")
        .arg(home)
        .env_remove("HEARTH_HOME")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

fn no_panic(said: &str) {
    assert!(
        !said.contains("panicked") && !said.contains("stack backtrace") && !said.contains("RUST_BACKTRACE"),
        "{said}"
    );
}

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", db.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_dir_stops_the_hub_at_start_with_a_sentence_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let disk = Tmpfs::mount(&data, "16m");
    let hub = HubProcess::spawn("127.0.0.1:0", [std::ffi::OsStr::new("--data"), data.as_os_str()]);
    let mut dev = pair_with_code(&hub.url, &invite(&data), "Laptop").await;
    let mut acked: Vec<(String, u64)> = Vec::new();
    for n in 0..5 {
        let ops = dev.ops(20, &format!("b{n}"));
        let res = dev.push(&ops).await;
        acked.extend(ops.iter().map(|op| op.id.to_string()).zip(res.seqs));
    }
    // Killed: its write-ahead logs stay beside the databases, as after a crash.
    hub.kill();

    disk.remount("ro");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env_remove("HEARTH_DATA")
        .env_remove("HEARTH_DATABASE")
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the hub started on a read-only data directory");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let refused_in = started.elapsed();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !status.success(),
        "a hub that cannot write its data must not start: {said}"
    );
    assert!(
        said.contains(&format!(
            "the hub's data directory {} is read-only",
            data.display()
        )) && said.contains("so it does not start")
            && said.contains("Nothing in it was changed"),
        "{said}"
    );
    no_panic(&said);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("serving"),
        "it never served"
    );

    // Writable again: everything is there, the files are sound, and the hub takes pushes.
    disk.remount("rw");
    let hub = HubProcess::spawn("127.0.0.1:0", [std::ffi::OsStr::new("--data"), data.as_os_str()]);
    dev.url = hub.url.clone();
    let log = dev.pull_all(0).await;
    let logged: Vec<(String, u64)> = log.iter().map(|s| (s.op.id.to_string(), s.seq)).collect();
    assert_eq!(logged, acked, "every op pushed before, at its seq, once");
    let more = dev.ops(3, "after");
    let res = dev.push(&more).await;
    assert_eq!((res.accepted, res.seqs), (3, vec![101, 102, 103]));
    hub.kill();
    for db in [data.join("hub.db"), data.join("spaces/default.db")] {
        integrity_ok(&db);
    }
    println!(
        "read-only data dir: the hub refused to start in {} ms with a sentence (exit {}); {} ops kept; \
         after remounting read-write a push of 3 landed at 101-103; integrity ok",
        refused_in.as_millis(),
        status.code().unwrap_or(-1),
        acked.len()
    );
    drop(disk);
}

#[test]
fn a_device_store_on_a_read_only_home_reads_and_refuses_changes_with_a_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let disk = Tmpfs::mount(&home, "8m");
    let hearth = |args: &[&str]| cli(&home, args);
    let titles = |out: &std::process::Output| -> Vec<String> {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let tasks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut t: Vec<String> = tasks
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect();
        t.sort();
        t
    };
    assert!(hearth(&["init"]).status.success());
    for i in 0..5 {
        assert!(hearth(&["task", "add", &format!("task {i}")]).status.success());
    }
    let before = titles(&hearth(&["ls", "--json"]));
    assert_eq!(before.len(), 5);

    disk.remount("ro");
    let failed = hearth(&["task", "add", "on a read-only disk"]);
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "{said}");
    assert!(
        said.contains(
            "The data directory is read-only: this change was not made, and everything saved before is intact"
        ),
        "{said}"
    );
    no_panic(&said);
    assert_eq!(
        titles(&hearth(&["ls", "--json"])),
        before,
        "reads work on a read-only home, and nothing was lost"
    );

    disk.remount("rw");
    assert!(hearth(&["task", "add", "after remounting"]).status.success());
    let after = titles(&hearth(&["ls", "--json"]));
    assert_eq!(after.len(), 6, "{after:?}");
    assert!(after.contains(&"after remounting".to_owned()));
    integrity_ok(&home.join("hearth.sqlite"));
    println!(
        "device store on a read-only home: the add refused with a sentence (exit {}), ls read all 5 tasks; after remounting the add worked; integrity ok",
        failed.status.code().unwrap_or(-1)
    );
    drop(disk);
}
