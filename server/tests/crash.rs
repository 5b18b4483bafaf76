//! Crash safety against the real thing: spawn `hearth serve`, push from several clients, SIGKILL it at
//! random moments, restart on the same data dir. Every op that got a 200 must be there, at the seq it
//! was given, exactly once; the log stays dense (no seq lost to a torn commit).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Device, HubProcess, pair_with_code};
use hearth_core::Op;
use rand::Rng;
use serde_json::json;

/// Kill cycles: `HEARTH_CRASH_CYCLES` (the soak runs 200), else `default`.
fn cycles(default: usize) -> usize {
    std::env::var("HEARTH_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
const CLIENTS: usize = 4;

/// `hearth serve` on a data dir, as a process killed on drop.
struct Hub;

impl Hub {
    fn start(data: &Path) -> HubProcess {
        Hub::start_with(data, &[])
    }

    fn start_with(data: &Path, extra: &[&str]) -> HubProcess {
        let mut args = vec![std::ffi::OsStr::new("--data"), data.as_os_str()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        HubProcess::spawn("127.0.0.1:0", args)
    }
}

fn invite(data: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["invite", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

/// What one client knows across crashes.
#[derive(Default)]
struct Ledger {
    /// Ops that got a 200, with their seq.
    confirmed: HashMap<String, u64>,
    /// Every op this client ever sent.
    attempted: HashSet<String>,
    /// A batch whose push had no answer (the hub died): retried first on the next run.
    unanswered: Vec<Vec<Op>>,
    /// How many unanswered batches were retried.
    retried: usize,
    /// The node each sent op sets.
    nodes: HashMap<String, String>,
    /// Every op this client sent.
    sent: Vec<Op>,
}

async fn push(client: &reqwest::Client, url: &str, dev: &Device, ops: &[Op]) -> Option<Vec<u64>> {
    let res = client
        .post(format!("{url}/v1/spaces/{}/push", dev.space))
        .bearer_auth(&dev.token)
        .json(&json!({"ops": ops}))
        .send()
        .await
        .ok()?;
    assert_eq!(res.status(), 200, "a push to a live hub succeeds");
    let body: serde_json::Value = res.json().await.ok()?;
    Some(
        body["seqs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect(),
    )
}

fn record(ledger: &mut Ledger, ops: &[Op], seqs: &[u64]) {
    assert_eq!(ops.len(), seqs.len());
    for (op, seq) in ops.iter().zip(seqs) {
        let id = op.id.to_string();
        if let Some(before) = ledger.confirmed.insert(id.clone(), *seq) {
            assert_eq!(before, *seq, "op {id} changed seq across a crash");
        }
    }
}

/// Ack `seq` (as a device that applied up to there); false when the hub did not answer.
async fn ack(client: &reqwest::Client, url: &str, dev: &Device, seq: u64) -> bool {
    client
        .post(format!("{url}/v1/spaces/{}/ack", dev.space))
        .bearer_auth(&dev.token)
        .json(&json!({"seq": seq}))
        .send()
        .await
        .is_ok_and(|r| r.status() == 204)
}

async fn client_run(url: String, dev: Arc<Device>, ledger: Ledger, stop: Arc<AtomicBool>) -> Ledger {
    client_run_acking(url, dev, ledger, stop, false).await
}

/// Push until stopped (or the hub dies); with `acks`, ack the head after every push, so that the
/// hub's compaction horizon keeps moving.
async fn client_run_acking(
    url: String,
    dev: Arc<Device>,
    mut ledger: Ledger,
    stop: Arc<AtomicBool>,
    acks: bool,
) -> Ledger {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // First the batches that got no answer last time: same ops again, idempotent.
    while let Some(ops) = ledger.unanswered.pop() {
        match push(&client, &url, &dev, &ops).await {
            Some(seqs) => {
                record(&mut ledger, &ops, &seqs);
                ledger.retried += 1;
            }
            None => {
                ledger.unanswered.push(ops);
                return ledger;
            }
        }
    }
    while !stop.load(Ordering::SeqCst) {
        let n = rand::rng().random_range(1..=40);
        let ops = dev.ops(n, &format!("{}", dev.device));
        ledger.attempted.extend(ops.iter().map(|o| o.id.to_string()));
        for o in &ops {
            ledger
                .nodes
                .insert(o.id.to_string(), o.payload["node"].as_str().unwrap().to_owned());
        }
        ledger.sent.extend(ops.iter().cloned());
        match push(&client, &url, &dev, &ops).await {
            Some(seqs) => {
                let top = seqs.iter().copied().max().unwrap_or(0);
                record(&mut ledger, &ops, &seqs);
                if acks && !ack(&client, &url, &dev, top).await {
                    return ledger;
                }
            }
            None => {
                ledger.unanswered.push(ops);
                return ledger;
            }
        }
    }
    ledger
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_loses_no_acknowledged_op() {
    let data = tempfile::tempdir().unwrap();
    let hub = Hub::start(data.path());
    let mut devices = Vec::new();
    for i in 0..CLIENTS {
        let code = invite(data.path());
        devices.push(Arc::new(
            pair_with_code(&hub.url, &code, &format!("client {i}")).await,
        ));
    }
    hub.kill();

    let mut ledgers: Vec<Ledger> = (0..CLIENTS).map(|_| Ledger::default()).collect();
    let cycles = cycles(20);
    for _cycle in 0..cycles {
        let hub = Hub::start(data.path());
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = devices
            .iter()
            .zip(std::mem::take(&mut ledgers))
            .map(|(dev, ledger)| tokio::spawn(client_run(hub.url.clone(), dev.clone(), ledger, stop.clone())))
            .collect();
        let wait = rand::rng().random_range(30..400);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        hub.kill();
        stop.store(true, Ordering::SeqCst);
        for t in tasks {
            ledgers.push(t.await.unwrap());
        }
    }

    // Restart, settle what got no answer, and read the whole log.
    let hub = Hub::start(data.path());
    let stop = Arc::new(AtomicBool::new(true));
    let tasks: Vec<_> = devices
        .iter()
        .zip(std::mem::take(&mut ledgers))
        .map(|(dev, ledger)| tokio::spawn(client_run(hub.url.clone(), dev.clone(), ledger, stop.clone())))
        .collect();
    for t in tasks {
        ledgers.push(t.await.unwrap());
    }
    let reader = at(&devices[0], &hub.url);
    let log = reader.pull_all(0).await;

    let confirmed: usize = ledgers.iter().map(|l| l.confirmed.len()).sum();
    let retried: usize = ledgers.iter().map(|l| l.retried).sum();
    eprintln!("{cycles} SIGKILL cycles, {confirmed} ops confirmed, {retried} unanswered batches retried");
    assert!(
        confirmed > 200,
        "the clients got real work in between the kills ({confirmed} ops)"
    );
    assert!(retried > 0, "some kills landed while a push was in flight");
    let mut by_id: BTreeMap<String, u64> = BTreeMap::new();
    for (i, op) in log.iter().enumerate() {
        assert_eq!(
            op.seq,
            i as u64 + 1,
            "the log is dense: no seq lost to a torn commit"
        );
        assert!(
            by_id.insert(op.op.id.to_string(), op.seq).is_none(),
            "op {} is in the log twice",
            op.op.id
        );
    }
    let attempted: HashSet<&String> = ledgers.iter().flat_map(|l| l.attempted.iter()).collect();
    for id in by_id.keys() {
        assert!(attempted.contains(id), "op {id} in the log was never sent");
    }
    for ledger in &ledgers {
        assert!(ledger.unanswered.is_empty());
        for (id, seq) in &ledger.confirmed {
            assert_eq!(
                by_id.get(id),
                Some(seq),
                "op {id} got a 200 with seq {seq} but is not in the log at that seq"
            );
        }
    }
    assert_eq!(
        by_id.len(),
        confirmed,
        "after settling every push, the log is exactly the confirmed ops"
    );

    // And the real binary shuts down gracefully on SIGTERM.
    let status = Command::new("kill")
        .args(["-TERM", &hub.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut hub = hub;
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = hub.child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "hub did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a snapshot file of process `pid` is being written in `dir` (compaction writes it as
/// `.<seq>.<pid>.tmp`, then renames it into place): after that process was killed, whether the kill
/// landed while it wrote a snapshot.
fn writing_snapshot(dir: &Path, pid: u32) -> bool {
    let suffix = format!(".{pid}.tmp");
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(&suffix))
    })
}

/// Open the space's log as a restarting hub does, after a kill that landed mid-snapshot: no
/// half-written snapshot file is left, and the current snapshot (if any) is whole: every page reads,
/// and merged into an empty store it gives the export its digest names. Returns its seq.
fn reopen_with_a_whole_snapshot(space_db: &Path) -> u64 {
    use hearth_core::store::{HubOptions, LogRead};
    let mut log =
        hearth_core::SqliteHubLog::open(space_db, Arc::new(hearth_core::SystemEnv), HubOptions::default())
            .unwrap();
    let dir = hearth_core::store::snapshots_dir(space_db);
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "half-written snapshot files left: {left:?}");
    let seq = log.position().unwrap().snapshot;
    if seq == 0 {
        return 0;
    }
    let (mut entries, mut after) = (Vec::new(), 0);
    let (digest, total) = loop {
        let page = log
            .snapshot_page(Some(seq), after, 10_000)
            .unwrap()
            .unwrap_or_else(|| panic!("the current snapshot {seq} is there"))
            .page()
            .unwrap();
        assert_eq!(page.seq, seq);
        entries.extend(page.entries);
        match page.next {
            Some(n) => after = n,
            None => break (page.digest, page.total),
        }
    };
    assert_eq!(entries.len() as u64, total, "snapshot {seq} is whole");
    let mut fresh =
        hearth_core::Store::open_in_memory(Arc::new(hearth_core::SystemEnv), Default::default()).unwrap();
    fresh.merge_snapshot_entries(&entries).unwrap();
    assert_eq!(
        hearth_core::snapshot::digest(fresh.conn()).unwrap(),
        digest,
        "snapshot {seq} rebuilds the state it names"
    );
    seq
}

/// The same, with compaction running: the hub compacts in the background every 50 ms (clients ack
/// after each push, so the horizon keeps moving) and a `hearth compact` process runs beside it; both
/// are SIGKILLed mid-work, every other cycle the hub just as it writes a snapshot (the test watches
/// for its snapshot file). Afterwards: the log above the horizon is dense, every confirmed op above
/// it is there at its seq, every confirmed op at or below it is answered as a duplicate when pushed
/// again, and every node's winning op is the greatest confirmed op on it (nothing compacted was lost).
/// After each kill that landed mid-snapshot, the log reopens with a whole snapshot; and a device
/// behind the horizon, with a change written offline, recovers every winner from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_compaction_loses_no_acknowledged_op() {
    let data = tempfile::tempdir().unwrap();
    let space_db = data.path().join("spaces/default.db");
    let snapshots = hearth_core::store::snapshots_dir(&space_db);
    // A device's store, written offline before the hub compacts anything; paired at the end.
    let home = data.path().join("device-home");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(args)
            .arg("--home")
            .arg(&home)
            .env_remove("HEARTH_HOME")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    cli(&["init"]);
    cli(&["task", "add", "written offline"]);

    let args = ["--compact-every", "50ms", "--compact-rows", "1"];
    let hub = Hub::start_with(data.path(), &args);
    let mut devices = Vec::new();
    for i in 0..CLIENTS {
        let code = invite(data.path());
        devices.push(Arc::new(
            pair_with_code(&hub.url, &code, &format!("client {i}")).await,
        ));
    }
    let mut ledgers: Vec<Ledger> = (0..CLIENTS).map(|_| Ledger::default()).collect();
    // 500 nodes first, so that each snapshot takes a while to write.
    {
        let (dev, ledger) = (&devices[0], &mut ledgers[0]);
        let ops = dev.ops(500, "pre");
        for o in &ops {
            ledger.attempted.insert(o.id.to_string());
            ledger
                .nodes
                .insert(o.id.to_string(), o.payload["node"].as_str().unwrap().to_owned());
        }
        ledger.sent.extend(ops.iter().cloned());
        let seqs = dev.push(&ops).await.seqs;
        record(ledger, &ops, &seqs);
    }
    hub.kill();

    let mut compacts_killed = 0;
    let (mut hub_mid_snapshot, mut compact_mid_snapshot, mut aimed, mut reopened) = (0, 0, 0, 0);
    let compact_cycles = cycles(10);
    for cycle in 0..compact_cycles {
        let hub = Hub::start_with(data.path(), &args);
        let hub_pid = hub.child.id();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = devices
            .iter()
            .zip(std::mem::take(&mut ledgers))
            .map(|(dev, ledger)| {
                tokio::spawn(client_run_acking(
                    hub.url.clone(),
                    dev.clone(),
                    ledger,
                    stop.clone(),
                    true,
                ))
            })
            .collect();
        let aim = cycle % 2 == 1;
        // An aimed cycle waits for the hub's next snapshot instead of most of this.
        let before = if aim { 20..100 } else { 100..250 };
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(before))).await;
        let mut compact = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(["compact", "--data"])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if aim {
            // Aimed at the snapshot window: kill as soon as the hub's snapshot file appears.
            aimed += 1;
            let since = std::time::Instant::now();
            while since.elapsed() < Duration::from_millis(500) && !writing_snapshot(&snapshots, hub_pid) {
                std::thread::sleep(Duration::from_micros(200));
            }
        } else {
            tokio::time::sleep(Duration::from_millis(rand::rng().random_range(1..60))).await;
        }
        hub.kill();
        let mut mid_snapshot = writing_snapshot(&snapshots, hub_pid);
        hub_mid_snapshot += usize::from(mid_snapshot);
        if compact.try_wait().unwrap().is_none() {
            compacts_killed += 1;
            let _ = compact.kill();
            let _ = compact.wait();
            if writing_snapshot(&snapshots, compact.id()) {
                compact_mid_snapshot += 1;
                mid_snapshot = true;
            }
        }
        let _ = compact.wait();
        stop.store(true, Ordering::SeqCst);
        for t in tasks {
            ledgers.push(t.await.unwrap());
        }
        // The first few such kills: the next start must find a whole snapshot.
        if mid_snapshot && reopened < 2 {
            reopened += 1;
            reopen_with_a_whole_snapshot(&space_db);
        }
    }
    let kills = compact_cycles + compacts_killed;
    let mid = hub_mid_snapshot + compact_mid_snapshot;
    println!(
        "kills during snapshot writes: {mid} of {kills} (the hub: {hub_mid_snapshot} of {compact_cycles}, \
         {aimed} of its kills aimed at the snapshot window; `hearth compact`: {compact_mid_snapshot} of \
         {compacts_killed})"
    );
    assert!(mid > 0, "no kill landed during a snapshot write");

    // Restart without compaction, settle what got no answer, then read the log and the state.
    let hub = Hub::start_with(data.path(), &["--compact-every", "0s", "--compact-rows", "0"]);
    let stop = Arc::new(AtomicBool::new(true));
    let tasks: Vec<_> = devices
        .iter()
        .zip(std::mem::take(&mut ledgers))
        .map(|(dev, ledger)| tokio::spawn(client_run(hub.url.clone(), dev.clone(), ledger, stop.clone())))
        .collect();
    for t in tasks {
        ledgers.push(t.await.unwrap());
    }
    let reader = at(&devices[0], &hub.url);
    let view = reader.peers().await;
    let horizon = view.compacted;
    let log = reader.pull_all(horizon).await;
    let confirmed: usize = ledgers.iter().map(|l| l.confirmed.len()).sum();
    eprintln!(
        "{compact_cycles} SIGKILL cycles with compaction: {confirmed} ops confirmed, horizon {horizon}, \
         {} log rows left, {compacts_killed} `hearth compact` processes killed mid-run",
        view.log_rows
    );
    assert!(horizon > 0, "compaction really happened");
    assert!((view.log_rows as usize) < confirmed, "rows were really removed");
    for (i, op) in log.iter().enumerate() {
        assert_eq!(
            op.seq,
            horizon + 1 + i as u64,
            "the log above the horizon is dense"
        );
    }
    let by_id: HashMap<String, u64> = log.iter().map(|s| (s.op.id.to_string(), s.seq)).collect();
    let mut at_or_below: Vec<&String> = Vec::new();
    for ledger in &ledgers {
        assert!(ledger.unanswered.is_empty());
        for (id, seq) in &ledger.confirmed {
            if *seq > horizon {
                assert_eq!(
                    by_id.get(id),
                    Some(seq),
                    "op {id} confirmed at {seq} is not in the log there"
                );
            } else {
                at_or_below.push(id);
            }
        }
    }
    assert_eq!(
        by_id.len() + at_or_below.len(),
        confirmed,
        "the log is exactly the confirmed ops"
    );
    assert!(!at_or_below.is_empty());
    // The state holds every confirmed op's effect: each node's title is won by its greatest op.
    let conn = rusqlite::Connection::open_with_flags(
        data.path().join("spaces/default.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut winners: HashMap<String, String> = HashMap::new();
    for (id, _) in ledgers.iter().flat_map(|l| l.confirmed.iter()) {
        // Every op of these clients sets the title of node `<device>-<i>`; ids sort in clock order.
        let node = ledgers_node(&ledgers, id);
        let w = winners.entry(node).or_default();
        if id > w {
            *w = id.clone();
        }
    }
    for (node, op) in &winners {
        let found: String = conn
            .query_row("SELECT title_op FROM nodes WHERE id = ?1", [node], |r| r.get(0))
            .unwrap();
        assert_eq!(&found, op, "node {node}: its greatest confirmed op must win");
    }
    drop(conn);
    // Re-pushing ops whose rows were compacted away: duplicates, nothing logged again.
    let head = view.head;
    let sample: Vec<Op> = ledgers[0]
        .sent
        .iter()
        .filter(|o| {
            ledgers[0]
                .confirmed
                .get(&o.id.to_string())
                .is_some_and(|s| *s <= horizon)
        })
        .take(20)
        .cloned()
        .collect();
    assert!(!sample.is_empty());
    let again = reader.push(&sample).await;
    assert_eq!(
        (again.accepted, again.duplicates, again.head),
        (0, sample.len(), head)
    );

    // A device behind the horizon (its store written offline before anything was compacted) pairs
    // now: it restores from the snapshot, keeps and pushes its offline change, and every node's
    // winner is the greatest confirmed op, as on the hub.
    let said = cli(&["init", "--hub", &hub.url, "--code", &invite(data.path())]);
    assert!(
        said.contains("restored from snapshot") && said.contains("1 unsent changes kept and pushed"),
        "{said}"
    );
    assert!(cli(&["status"]).contains("Unsent:    0 change(s)"));
    assert!(cli(&["ls", "--json"]).contains("written offline"));
    let device = rusqlite::Connection::open_with_flags(
        home.join("hearth.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    for (node, op) in &winners {
        let found: String = device
            .query_row("SELECT title_op FROM nodes WHERE id = ?1", [node], |r| r.get(0))
            .unwrap();
        assert_eq!(&found, op, "the recovered device, node {node}");
    }
    println!(
        "a device behind the horizon (seq {horizon}) restored from the snapshot: {} nodes' winners as on the hub, its offline change pushed",
        winners.len()
    );
}

/// The node an op of these clients sets.
fn ledgers_node(ledgers: &[Ledger], id: &str) -> String {
    ledgers
        .iter()
        .find_map(|l| l.nodes.get(id))
        .cloned()
        .unwrap_or_else(|| panic!("op {id} was never sent"))
}

/// `dev` talking to the hub now at `url` (a restart picks a new port).
fn at(dev: &Device, url: &str) -> Device {
    Device::new(
        url,
        hearth_core::wire::PairResponse {
            space: dev.space.clone(),
            device: dev.device,
            token: dev.token.clone(),
        },
    )
}
