//! Two releases side by side: the previous release's `hearth` (built from the commit in
//! `xtask/previous-release` by `cargo xtask previous-release`, handed over as `HEARTH_PREVIOUS_BIN`)
//! and this one, as real processes on real SQLite files, through a real hub on 127.0.0.1.
//!
//! What a mixed household sees: labels (a new link type: no migration) and comments (a new op kind
//! with its own table: a migration, rolled out hub first) made on the new release reach a device still
//! on the old one, which keeps them without showing them and shows them once it is upgraded in place;
//! a hub of the old release holds nothing back from old devices, and new kinds wait on the device until
//! the hub is updated; below a space's minimum version a device reads, and its edits wait.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{cli as run, cli_add_task as add_task, cli_json as json, cli_ok as ok, text};
use serde_json::Value;

const NEW: &str = env!("CARGO_BIN_EXE_hearth");

/// The previous release's binary: `HEARTH_PREVIOUS_BIN`, else where `cargo xtask previous-release`
/// keeps it for the commit in `xtask/previous-release`.
fn previous() -> PathBuf {
    if let Some(p) = std::env::var_os("HEARTH_PREVIOUS_BIN") {
        return PathBuf::from(p);
    }
    let record = Path::new(env!("CARGO_MANIFEST_DIR")).join("../xtask/previous-release");
    let text = std::fs::read_to_string(&record).expect("xtask/previous-release");
    let commit = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .expect("a commit in xtask/previous-release");
    let cache = match (
        std::env::var_os("HEARTH_DEV_CACHE"),
        std::env::var_os("XDG_CACHE_HOME"),
    ) {
        (Some(d), _) => PathBuf::from(d),
        (None, Some(d)) if !d.is_empty() => PathBuf::from(d).join("hearth-dev"),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/hearth-dev"),
    };
    let bin = cache.join("previous-release").join(commit).join("hearth");
    assert!(
        bin.is_file(),
        "the previous release's hearth is not built on this machine: run `cargo xtask previous-release` \
         once (`cargo xtask test` does), or set HEARTH_PREVIOUS_BIN"
    );
    bin
}

struct Hub {
    child: Child,
    url: String,
    data: PathBuf,
    /// The binary serving it (its admin commands open its data).
    bin: PathBuf,
}

impl Hub {
    fn start(bin: &Path, data: &Path) -> Hub {
        Hub::start_at(bin, data, "127.0.0.1:0")
    }

    fn start_at(bin: &Path, data: &Path, listen: &str) -> Hub {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", listen, "--data"])
            .arg(data)
            .env_remove("HEARTH_DATA")
            .env_remove("HEARTH_DATABASE")
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
                    let _ = tx.send(line[i..].split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the hub printed its URL");
        Hub {
            child,
            url,
            data: data.to_owned(),
            bin: bin.to_owned(),
        }
    }

    /// Stop it (SIGKILL: every answered push is durable) and wait until it is gone; returns its data
    /// directory and the address it listened on.
    fn stop(mut self) -> (PathBuf, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (
            self.data.clone(),
            self.url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned(),
        )
    }

    fn admin(&self, bin: &Path, args: &[&str]) -> String {
        let out = Command::new(bin)
            .args(args)
            .arg("--data")
            .arg(&self.data)
            .env_remove("HEARTH_DATA")
            .env_remove("HEARTH_DATABASE")
            .output()
            .expect("run hearth");
        assert!(out.status.success(), "hearth {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// A device of `bin` paired with this hub, named `name`, in `home`.
    fn pair(&self, bin: &Path, home: &Path, name: &str) {
        let code = self
            .admin(&self.bin, &["invite"])
            .lines()
            .last()
            .expect("code")
            .trim()
            .to_owned();
        ok(
            bin,
            home,
            &["init", "--hub", &self.url, "--code", &code, "--name", name],
        );
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Titles of every task `bin` lists in `home` (done ones too).
fn titles(bin: &Path, home: &Path) -> Vec<String> {
    let mut t: Vec<String> = json(bin, home, &["ls", "--all"])
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_owned())
        .collect();
    t.sort();
    t
}

fn sync(bin: &Path, home: &Path) -> String {
    ok(bin, home, &["sync"])
}

#[test]
fn the_previous_release_and_this_one_share_a_space_with_labels_and_comments() {
    let old = previous();
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = Hub::start(Path::new(NEW), &tmp.path().join("hub"));
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (old, new) = (old.as_path(), Path::new(NEW));
    // Device a runs the previous release on a home it created; b runs this one.
    hub.pair(old, &a, "old-laptop");
    hub.pair(new, &b, "new-phone");

    ok(old, &a, &["project", "add", "Garden"]);
    let fence = add_task(old, &a, "Paint the fence", &["--project", "Garden"]);
    sync(old, &a);
    sync(new, &b);

    // The new release labels and comments, online.
    let seeds = add_task(
        new,
        &b,
        "Sow seeds",
        &["--project", "Garden", "--label", "outside"],
    );
    ok(
        new,
        &b,
        &["task", "edit", &fence, "--label", "outside", "--label", "weekend"],
    );
    ok(new, &b, &["comment", &fence, "White or green?"]);
    sync(new, &b);

    // The old release pulls all of it, shows every task and project, says nothing about what it does
    // not know, and keeps editing; then both edit offline.
    sync(old, &a);
    assert_eq!(titles(old, &a), ["Paint the fence", "Sow seeds"]);
    let tree = json(old, &a, &["tree"]);
    assert_eq!(tree["projects"][0]["title"], "Garden", "{tree}");
    let log = json(old, &a, &["log", "--limit", "100"]);
    let stored: Vec<&Value> = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|o| o["kind"] == "comment.add")
        .collect();
    assert_eq!(
        stored.len(),
        1,
        "the old release keeps the comment it cannot show: {log}"
    );
    assert_eq!(stored[0]["applied"], false, "{log}");
    ok(
        old,
        &a,
        &["task", "edit", &fence, "--title", "Paint the whole fence"],
    );
    let gate = add_task(old, &a, "Fix the gate", &[]);
    ok(new, &b, &["comment", &fence, "Green, like last time."]);
    ok(
        new,
        &b,
        &[
            "task",
            "edit",
            &seeds,
            "--unlabel",
            "outside",
            "--label",
            "spring",
        ],
    );
    sync(old, &a);
    sync(new, &b);
    sync(old, &a);
    // A comment on the task the old release made, while it is still old.
    ok(new, &b, &["comment", &gate, "The hinge is rusty."]);
    sync(new, &b);
    sync(old, &a);
    assert_eq!(
        titles(old, &a),
        ["Fix the gate", "Paint the whole fence", "Sow seeds"]
    );

    // Upgraded in place: this release opens the old release's home, replays what it kept, and shows
    // the comments and labels made meanwhile.
    let upgraded = ok(new, &a, &["ls"]);
    assert!(upgraded.contains("Paint the whole fence"), "{upgraded}");
    assert!(
        upgraded.contains("@outside") && upgraded.contains("@weekend"),
        "{upgraded}"
    );
    assert!(
        upgraded.contains("(2 comments)") && upgraded.contains("(1 comment)"),
        "{upgraded}"
    );
    let comments = json(new, &a, &["comments", &fence]);
    let texts: Vec<&str> = comments
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| c["text"].as_str().expect("text"))
        .collect();
    assert_eq!(texts, ["White or green?", "Green, like last time."]);
    let labels = json(new, &a, &["labels"]);
    let names: Vec<(&str, u64)> = labels
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| {
            (
                l["name"].as_str().expect("name"),
                l["open"].as_u64().expect("open"),
            )
        })
        .collect();
    assert_eq!(names, [("outside", 1), ("spring", 1), ("weekend", 1)]);

    // Both sync again: byte-identical exports, and the hub's own state is the same.
    sync(new, &a);
    sync(new, &b);
    let (ea, eb) = (ok(new, &a, &["export"]), ok(new, &b, &["export"]));
    assert_eq!(ea, eb, "exports differ after the upgrade");
    let export: Value = serde_json::from_str(&ea).expect("export");
    assert_eq!(export["comments"].as_array().map(Vec::len), Some(3), "{export}");
    assert_eq!(
        json(new, &a, &["status"])["unsent"],
        0,
        "every change of the old release was pushed"
    );
}

#[test]
fn new_kinds_wait_on_the_device_until_the_hub_is_updated() {
    let old = previous();
    let (old, new) = (old.as_path(), Path::new(NEW));
    let tmp = tempfile::tempdir().expect("tmp");
    // A hub still on the previous release.
    let hub = Hub::start(old, &tmp.path().join("hub"));
    let (n, o) = (tmp.path().join("new"), tmp.path().join("old"));
    hub.pair(old, &o, "old-laptop");
    hub.pair(new, &n, "new-phone");

    let task = add_task(new, &n, "Call the plumber", &["--label", "home"]);
    ok(new, &n, &["comment", &task, "Ask about the boiler too."]);
    let out = sync(new, &n);
    assert!(
        out.contains("Waiting for the hub: 1 change(s) (comment.add)"),
        "the device says why the comment waits: {out}"
    );
    let report = json(new, &n, &["sync"]);
    assert_eq!(
        (report["held"].as_u64(), report["unsent"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    // Everything else went through, labels included (a link: any hub takes it).
    sync(old, &o);
    assert_eq!(titles(old, &o), ["Call the plumber"]);

    // The hub is updated in place: same data, this release. The comment goes, and reaches the old
    // device, which keeps it and shows it once it is upgraded too.
    let (data, listen) = hub.stop();
    let hub = Hub::start_at(new, &data, &listen);
    let report = json(new, &n, &["sync"]);
    assert_eq!(
        (report["pushed"].as_u64(), report["unsent"].as_u64()),
        (Some(1), Some(0)),
        "{report}"
    );
    assert!(report.get("held").is_none(), "{report}");
    sync(old, &o);
    let comments = json(new, &o, &["comments", &task]);
    assert_eq!(comments[0]["text"], "Ask about the boiler too.", "{comments}");
    assert_eq!(ok(new, &o, &["export"]), ok(new, &n, &["export"]));
    drop(hub);
}

#[test]
fn below_the_minimum_version_a_device_reads_and_its_edits_wait_for_the_upgrade() {
    let old = previous();
    let (old, new) = (old.as_path(), Path::new(NEW));
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = Hub::start(new, &tmp.path().join("hub"));
    let (n, o) = (tmp.path().join("new"), tmp.path().join("old"));
    hub.pair(old, &o, "old-laptop");
    hub.pair(new, &n, "new-phone");
    let schema = json(new, &n, &["status"])["schema_version"]
        .as_i64()
        .expect("schema");
    assert!(
        json(old, &o, &["status"])["schema_version"]
            .as_i64()
            .expect("schema")
            < schema
    );
    hub.admin(new, &["space", "set-min-version", &schema.to_string()]);

    // The old device edits; its pushes are refused with 426 and its edits stay in its outbox, across
    // restarts of the program (every command is a new process); it still pulls.
    add_task(old, &o, "Written on the old release", &[]);
    add_task(new, &n, "Written on the new release", &[]);
    sync(new, &n);
    let out = run(old, &o, &["sync"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("Update required"), "{said}");
    assert_eq!(
        titles(old, &o),
        ["Written on the new release", "Written on the old release"]
    );
    assert_eq!(json(old, &o, &["status"])["unsent"], 1);
    sync(new, &n);
    assert_eq!(titles(new, &n), ["Written on the new release"]);

    // Upgraded in place, its edit lands.
    let report = json(new, &o, &["sync"]);
    assert_eq!(
        (report["pushed"].as_u64(), report["unsent"].as_u64()),
        (Some(1), Some(0)),
        "{report}"
    );
    sync(new, &n);
    assert_eq!(
        titles(new, &n),
        ["Written on the new release", "Written on the old release"]
    );
    assert_eq!(ok(new, &o, &["export"]), ok(new, &n, &["export"]));
}

/// `hearth migrate` on the hub's data (the hub stopped, then started again on the same address).
fn migrate(hub: Hub, name: &str) -> (Hub, Value) {
    let (data, listen) = hub.stop();
    let out = Command::new(NEW)
        .args(["migrate", name, "--json", "--data"])
        .arg(&data)
        .env_remove("HEARTH_DATA")
        .output()
        .expect("run hearth migrate");
    assert!(
        out.status.success(),
        "hearth migrate {name}: {}",
        text(&out.stderr)
    );
    let report: Value = serde_json::from_str(&text(&out.stdout)).expect("json");
    (Hub::start_at(Path::new(NEW), &data, &listen), report)
}

/// A hub of the previous release is upgraded in place and its space compacted and migrated at once,
/// before this release ever served the space's log (the commands open the log as the hub does, so its
/// schema is brought up to date first).
#[test]
fn a_space_the_previous_release_wrote_compacts_and_migrates_after_an_upgrade() {
    let old = previous();
    let (old, new) = (old.as_path(), Path::new(NEW));
    let tmp = tempfile::tempdir().expect("tmp");
    let (o, n) = (tmp.path().join("old"), tmp.path().join("new"));
    // Two hubs of the previous release: one to compact, one to migrate.
    let to_compact = Hub::start(old, &tmp.path().join("hub-c"));
    let hub = Hub::start(old, &tmp.path().join("hub"));
    for (h, home) in [(&to_compact, tmp.path().join("c")), (&hub, o.clone())] {
        h.pair(old, &home, "old-laptop");
        add_task(old, &home, "Paint the fence", &["--priority", "2"]);
        add_task(old, &home, "Sweep the porch", &["--priority", "4"]);
        sync(old, &home);
    }

    let (data, _) = to_compact.stop();
    let compacted = Command::new(NEW)
        .args(["compact", "--json", "--data"])
        .arg(&data)
        .env_remove("HEARTH_DATA")
        .env_remove("HEARTH_DATABASE")
        .output()
        .expect("run hearth compact");
    assert!(
        compacted.status.success(),
        "hearth compact: {}",
        text(&compacted.stderr)
    );
    let report: Value = serde_json::from_str(&text(&compacted.stdout)).expect("json");
    assert_eq!(report["log_rows_after"].as_u64(), Some(0), "{report}");

    let (hub, report) = migrate(hub, "priority-levels");
    assert_eq!(
        (report["epoch"].as_u64(), report["changed"].as_u64()),
        (Some(2), Some(2)),
        "{report}"
    );
    hub.pair(new, &n, "new-phone");
    let export: Value = serde_json::from_str(&ok(new, &n, &["export"])).expect("export");
    let mut levels: Vec<(String, String)> = export["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| {
            (
                node["fields"]["title"].as_str().unwrap_or("").to_owned(),
                node["fields"]["level"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    levels.sort();
    assert_eq!(
        levels,
        [
            ("Paint the fence".to_owned(), "high".to_owned()),
            ("Sweep the porch".to_owned(), "low".to_owned())
        ]
    );
}

#[test]
fn devices_offline_across_migrations_carry_their_changes_over_or_set_them_aside() {
    let old = previous();
    let (old, new) = (old.as_path(), Path::new(NEW));
    let tmp = tempfile::tempdir().expect("tmp");
    let hub = Hub::start(new, &tmp.path().join("hub"));
    let (a, b, c, d) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
        tmp.path().join("d"),
    );
    hub.pair(new, &a, "laptop");
    hub.pair(new, &b, "phone");
    hub.pair(new, &c, "tablet");
    hub.pair(old, &d, "old-desktop");
    let paint = add_task(new, &b, "Paint the fence", &["--priority", "2"]);
    for home in [&b, &a, &c, &d] {
        sync(if home == &d { old } else { new }, home);
    }

    // The laptop goes offline with 200 changes: tasks with priorities and untidy titles, priority
    // changes, plain tasks, and 50 titles of only spaces (which the second migration cannot carry).
    let mut blank = 0;
    for i in 0..200 {
        match i % 4 {
            0 => {
                add_task(
                    new,
                    &a,
                    &format!("  Sow   seeds {i} "),
                    &["--priority", &(i % 3 + 1).to_string()],
                );
            }
            1 => {
                ok(
                    new,
                    &a,
                    &["task", "edit", &paint, "--priority", &(i % 4 + 1).to_string()],
                );
            }
            2 => {
                ok(new, &a, &["task", "edit", &paint, "--title", "   "]);
                blank += 1;
            }
            _ => {
                add_task(new, &a, &format!("Plain {i}"), &[]);
            }
        }
    }
    assert_eq!(json(new, &a, &["status"])["unsent"], 200);
    // The tablet too, with a few.
    add_task(new, &c, " Tablet  task ", &["--priority", "4"]);
    ok(new, &c, &["task", "edit", &paint, "--title", "  "]);

    // Epoch 2: priorities become levels. The phone, online, moves over and edits in the new form.
    let (hub, report) = migrate(hub, "priority-levels");
    assert_eq!(
        (report["epoch_before"].as_u64(), report["epoch"].as_u64()),
        (Some(1), Some(2)),
        "{report}"
    );
    assert!(
        Path::new(report["archive"].as_str().expect("archive")).is_file(),
        "{report}"
    );
    let r = json(new, &b, &["sync"]);
    assert_eq!(r["epoch_changed"], true, "{r}");
    ok(new, &b, &["task", "edit", &paint, "--priority", "1"]);
    sync(new, &b);
    // The previous release is refused with a sentence (and its changes stay on it).
    let out = run(old, &d, &["sync"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("moved to epoch 2"),
        "{}",
        text(&out.stderr)
    );
    // The network view says which epoch each device is on.
    let st = json(new, &b, &["status"]);
    let epoch_of = |name: &str| {
        st["network"]["peers"]
            .as_array()
            .expect("peers")
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["epoch"].as_u64())
    };
    assert_eq!(st["network"]["epoch"], 2, "{st}");
    assert_eq!(
        (epoch_of("phone"), epoch_of("old-desktop")),
        (Some(2), Some(1)),
        "{st}"
    );
    let text_status = ok(new, &a, &["status"]);
    assert!(
        text_status.contains("Behind:    the space moved to epoch 2"),
        "{text_status}"
    );

    // Epoch 3: titles are tidied.
    let (hub, report) = migrate(hub, "tidy-titles");
    assert_eq!(
        report["migrations"],
        serde_json::json!(["priority-levels", "tidy-titles"]),
        "{report}"
    );
    let listed: Value = serde_json::from_str(&hub.admin(new, &["migrations", "--json"])).expect("json");
    assert_eq!(listed["available"].as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(
        listed["spaces"]["default"],
        serde_json::json!(["priority-levels", "tidy-titles"]),
        "{listed}"
    );

    // The laptop comes back two epochs behind: every one of its 200 changes is carried over through
    // both lenses or set aside with the reason, and the counts add up.
    let r = json(new, &a, &["sync"]);
    let (translated, aside) = (
        r["translated"].as_u64().expect("translated"),
        r["quarantined"].as_array().map_or(0, Vec::len) as u64,
    );
    assert_eq!((translated, aside), (200 - blank, blank), "{r}");
    assert_eq!(r["unsent"], 0, "{r}");
    let q = json(new, &a, &["quarantine"]);
    assert_eq!(q.as_array().map(Vec::len), Some(blank as usize), "{q}");
    assert!(
        q[0]["reason"].as_str().expect("reason").contains("tidy-titles"),
        "{q}"
    );
    // The tablet, two epochs behind as well.
    let r = json(new, &c, &["sync"]);
    assert_eq!(
        (
            r["translated"].as_u64(),
            r["quarantined"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1)),
        "{r}"
    );

    // Everyone agrees; titles are tidy and priorities are levels everywhere.
    sync(new, &b);
    sync(new, &a);
    let (ea, eb, ec) = (
        ok(new, &a, &["export"]),
        ok(new, &b, &["export"]),
        ok(new, &c, &["export"]),
    );
    assert_eq!(ea, eb);
    assert_eq!(ea, ec);
    assert!(
        !ea.contains("\"priority\"") && ea.contains("\"level\": \"urgent\""),
        "{ea}"
    );
    let tasks = json(new, &a, &["ls", "--all"]);
    let titles: Vec<&str> = tasks
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["title"].as_str().expect("title"))
        .collect();
    assert!(
        titles.contains(&"Sow seeds 0") && titles.contains(&"Tablet task"),
        "{titles:?}"
    );
    assert!(
        titles.iter().all(|t| t.trim() == *t && !t.contains("  ")),
        "{titles:?}"
    );
    // A retry runs the lenses again (still nothing to carry); a discard is explicit.
    let id = q[0]["op"]["id"].as_str().expect("id");
    let out = run(new, &a, &["quarantine", "retry", id]);
    assert!(
        !out.status.success() && text(&out.stderr).contains("only white space"),
        "{}",
        text(&out.stderr)
    );
    ok(new, &a, &["quarantine", "discard", id]);
    assert_eq!(
        json(new, &a, &["quarantine"]).as_array().map(Vec::len),
        Some(blank as usize - 1)
    );
    let out = ok(new, &a, &["quarantine", "retry", "--all"]);
    assert!(out.starts_with("Put 0 change(s) back"), "{out}");
    assert_eq!(
        out.matches("Still set aside: ").count(),
        blank as usize - 1,
        "{out}"
    );
    drop(hub);
}
