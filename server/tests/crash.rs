//! Crash safety against the real thing: spawn `hearth serve`, push from several clients, SIGKILL it at
//! random moments, restart on the same data dir. Every op that got a 200 must be there, at the seq it
//! was given, exactly once; the log stays dense (no seq lost to a torn commit).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Device, pair_with_code};
use hearth_core::Op;
use rand::Rng;
use serde_json::json;

const CYCLES: usize = 24;
const CLIENTS: usize = 4;

/// A running `hearth serve`, killed on drop.
struct Hub {
    child: Child,
    url: String,
}

impl Hub {
    fn start(data: &Path) -> Hub {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(i) = line.find("http://") {
                    let url: String = line[i..].split_whitespace().next().unwrap().to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the hub prints the URL it serves");
        Hub { child, url }
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL on unix
        self.child.wait().unwrap();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

async fn client_run(url: String, dev: Arc<Device>, mut ledger: Ledger, stop: Arc<AtomicBool>) -> Ledger {
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
        match push(&client, &url, &dev, &ops).await {
            Some(seqs) => record(&mut ledger, &ops, &seqs),
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
    for _cycle in 0..CYCLES {
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
    let reader = Device::new(
        &hub.url,
        hearth_core::wire::PairResponse {
            space: devices[0].space.clone(),
            device: devices[0].device,
            token: devices[0].token.clone(),
        },
    );
    let log = reader.pull_all(0).await;

    let confirmed: usize = ledgers.iter().map(|l| l.confirmed.len()).sum();
    let retried: usize = ledgers.iter().map(|l| l.retried).sum();
    eprintln!("{CYCLES} SIGKILL cycles, {confirmed} ops confirmed, {retried} unanswered batches retried");
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
