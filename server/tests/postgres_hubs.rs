//! Several real `hearth serve --database …` processes on one PostgreSQL: seq stays commit order across
//! hubs, a push through one hub is a live event on the other, and a hub killed mid-push loses nothing it
//! acknowledged while the other keeps serving.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Device, HubProcess, next_event, pair_with_code, pg_database};
use hearth_core::wire::PullResponse;
use hearth_core::{Op, SeqOp};
use rand::Rng;
use serde_json::json;

/// `hearth serve --database` on a free port, killed on drop.
struct Hub;

impl Hub {
    fn start(database: &str) -> HubProcess {
        Hub::start_on(database, "127.0.0.1:0")
    }

    fn start_on(database: &str, listen: &str) -> HubProcess {
        HubProcess::spawn(listen, ["--database", database])
    }
}

/// A pairing code from `hearth invite --database`.
fn invite(database: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["invite", "--json", "--database", database])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["code"].as_str().unwrap().to_owned()
}

async fn pair(database: &str, hub: &str, name: &str) -> Device {
    pair_with_code(hub, &invite(database), name).await
}

/// Push through `hub`; the seqs on 200, None when the hub did not answer.
async fn push_via(hub: &str, dev: &Device, ops: &[Op]) -> Option<Vec<u64>> {
    let res = dev
        .client
        .post(format!("{hub}/v1/spaces/{}/push", dev.space))
        .bearer_auth(&dev.token)
        .json(&json!({"ops": ops}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .ok()?;
    let status = res.status();
    let body = res.text().await.ok()?;
    assert_eq!(status, 200, "a push to a live hub succeeds: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    Some(
        v["seqs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect(),
    )
}

async fn pull_via(hub: &str, dev: &Device, after: u64) -> Option<PullResponse> {
    let res = dev
        .client
        .get(format!(
            "{hub}/v1/spaces/{}/pull?after={after}&limit=1000",
            dev.space
        ))
        .bearer_auth(&dev.token)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .ok()?;
    assert_eq!(res.status(), 200);
    res.json().await.ok()
}

/// The whole log through `hub`.
async fn log_via(hub: &str, dev: &Device) -> Vec<SeqOp> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = pull_via(hub, dev, after).await.expect("the hub answers");
        if page.ops.is_empty() {
            return all;
        }
        after = page.next;
        all.extend(page.ops);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_over_two_hubs_make_one_dense_log_that_readers_see_in_order() {
    const WRITERS: usize = 16;
    const READERS: usize = 4;
    const PUSHES: usize = 12;
    const BATCH: usize = 25;
    let db = pg_database();
    let a = Hub::start(&db);
    let b = Hub::start(&db);
    let hubs = Arc::new([a.url.clone(), b.url.clone()]);
    let mut writers = Vec::new();
    for i in 0..WRITERS {
        writers.push(Arc::new(pair(&db, &a.url, &format!("w{i}")).await));
    }
    let total = (WRITERS * PUSHES * BATCH) as u64;
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for i in 0..READERS {
        let dev = pair(&db, &hubs[i % 2], &format!("r{i}")).await;
        let hubs = hubs.clone();
        readers.push(tokio::spawn(async move {
            // Pull from either hub at random: every page continues the last one at seq + 1.
            let mut after = 0;
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            while after < total {
                assert!(
                    Instant::now() < deadline,
                    "reader {i} stuck at {after} of {total}"
                );
                let hub = &hubs[rand::rng().random_range(0..2)];
                let page = pull_via(hub, &dev, after).await.unwrap();
                for op in &page.ops {
                    assert_eq!(
                        op.seq,
                        after + 1,
                        "reader {i}: a gap or a step back after {after}"
                    );
                    after = op.seq;
                    seen.push(op.op.id.to_string());
                }
                if page.ops.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            seen
        }));
    }
    let mut pushers = Vec::new();
    for (w, dev) in writers.iter().enumerate() {
        let (dev, hubs) = (dev.clone(), hubs.clone());
        pushers.push(tokio::spawn(async move {
            let mut confirmed = HashMap::new();
            for p in 0..PUSHES {
                let ops = dev.ops(BATCH, &format!("w{w}-p{p}"));
                let hub = &hubs[rand::rng().random_range(0..2)];
                let seqs = push_via(hub, &dev, &ops).await.expect("both hubs are up");
                for (op, seq) in ops.iter().zip(seqs) {
                    confirmed.insert(op.id.to_string(), seq);
                }
            }
            confirmed
        }));
    }
    let mut confirmed: HashMap<String, u64> = HashMap::new();
    for p in pushers {
        confirmed.extend(p.await.unwrap());
    }
    done.store(true, Ordering::Relaxed);
    assert_eq!(confirmed.len() as u64, total);
    let seqs: HashSet<u64> = confirmed.values().copied().collect();
    assert_eq!(seqs.len() as u64, total, "every accepted op has its own seq");
    for r in readers {
        let seen = r.await.unwrap();
        assert_eq!(seen.len() as u64, total);
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "a reader met an op twice");
        assert!(seen.iter().all(|id| confirmed.contains_key(id)));
    }
    // Both hubs serve the same log, byte for byte, each op at the seq its push was told.
    let reader = &writers[0];
    let via_a = log_via(&a.url, reader).await;
    let via_b = log_via(&b.url, reader).await;
    assert_eq!(
        serde_json::to_vec(&via_a).unwrap(),
        serde_json::to_vec(&via_b).unwrap()
    );
    for op in &via_a {
        assert_eq!(confirmed.get(&op.op.id.to_string()), Some(&op.seq));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_through_one_hub_is_a_live_event_on_the_other() {
    let db = pg_database();
    let a = Hub::start(&db);
    let b = Hub::start(&db);
    let writer = pair(&db, &a.url, "laptop").await;
    let listener = pair(&db, &b.url, "phone").await;
    let res = listener
        .client
        .get(format!("{}/v1/spaces/{}/events", b.url, listener.space))
        .bearer_auth(&listener.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    assert_eq!(next_event(&mut stream, &mut buf).await, json!({"head": 0}));
    let mut delays = Vec::new();
    for round in 0..20 {
        let start = Instant::now();
        let seqs = push_via(&a.url, &writer, &writer.ops(3, &format!("r{round}")))
            .await
            .unwrap();
        let event = tokio::time::timeout(Duration::from_secs(10), next_event(&mut stream, &mut buf))
            .await
            .expect("hub B tells its listener about a push through hub A");
        assert_eq!(event["head"], json!(seqs[2]));
        // Hub B read the commit from the shared log and carries it in the event.
        let ids: Vec<&serde_json::Value> = event["page"]["ops"]
            .as_array()
            .expect("a small commit's ops are in the event")
            .iter()
            .map(|o| &o["seq"])
            .collect();
        assert_eq!(ids, [&json!(seqs[0]), &json!(seqs[1]), &json!(seqs[2])]);
        assert_eq!(event["after"], json!(seqs[0] - 1));
        delays.push(start.elapsed());
    }
    delays.sort();
    eprintln!(
        "cross-hub live event after the push was sent: median {:?}, max {:?}",
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    );

    // Acks recorded by either hub count for the horizon wherever it is computed.
    let head = 60;
    for (dev, hub) in [(&listener, &b.url), (&writer, &a.url)] {
        let res = dev
            .client
            .post(format!("{hub}/v1/spaces/{}/ack", dev.space))
            .bearer_auth(&dev.token)
            .json(&json!({"seq": head}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    }
    let view: hearth_core::wire::PeersResponse = writer
        .client
        .get(format!("{}/v1/spaces/{}/peers", a.url, writer.space))
        .bearer_auth(&writer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let acked: HashMap<_, _> = view.peers.iter().map(|p| (p.device, p.acked)).collect();
    assert_eq!(
        acked.get(&listener.device),
        Some(&head),
        "hub A knows the ack made on hub B"
    );
    assert_eq!(view.horizon, head);

    // `hearth compact --database` compacts the shared log; both hubs serve what is left.
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["compact", "--json", "--database", &db])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["horizon"], head, "{report}");
    assert_eq!(report["snapshot_seq"], head, "{report}");
    assert_eq!(report["log_rows_before"], head, "{report}");
    assert!(report["log_rows_after"].as_u64().unwrap() < head, "{report}");
    writer.push(&writer.ops(1, "after")).await;
    for hub in [&a.url, &b.url] {
        let page = pull_via(hub, &listener, head).await.unwrap();
        assert_eq!(page.ops.len(), 1, "the op pushed after the compaction");
        assert_eq!(page.ops[0].seq, head + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_a_hub_mid_push_loses_no_acknowledged_op_and_the_other_keeps_serving() {
    const CYCLES: usize = 10;
    const CLIENTS: usize = 4;
    let db = pg_database();
    let b = Hub::start(&db);
    let mut a = Some(Hub::start(&db));
    let a_listen = a.as_ref().unwrap().url.trim_start_matches("http://").to_owned();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        clients.push(Arc::new(pair(&db, &b.url, &format!("c{i}")).await));
    }
    let mut confirmed: HashMap<String, u64> = HashMap::new();
    let mut served_by_b_while_a_down = 0;
    for cycle in 0..CYCLES {
        let stop = Arc::new(AtomicBool::new(false));
        let hubs = Arc::new([a.as_ref().unwrap().url.clone(), b.url.clone()]);
        let mut tasks = Vec::new();
        for (c, dev) in clients.iter().enumerate() {
            let (dev, hubs, stop) = (dev.clone(), hubs.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let ops = dev.ops(20, &format!("k{cycle}-c{c}-{n}"));
                    n += 1;
                    // Hub A first; a client that gets no answer retries the same ops on hub B.
                    let seqs = match push_via(&hubs[0], &dev, &ops).await {
                        Some(s) => s,
                        None => push_via(&hubs[1], &dev, &ops).await.expect("hub B keeps serving"),
                    };
                    got.push((ops, seqs));
                }
                got
            }));
        }
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(100..400))).await;
        a.take().unwrap().kill();
        // Hub A is gone: pushes now go to hub B.
        tokio::time::sleep(Duration::from_millis(150)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            for (ops, seqs) in t.await.unwrap() {
                served_by_b_while_a_down += 1;
                for (op, seq) in ops.iter().zip(seqs) {
                    if let Some(before) = confirmed.insert(op.id.to_string(), seq) {
                        assert_eq!(before, seq, "a retried op keeps its seq");
                    }
                }
            }
        }
        a = Some(Hub::start_on(&db, &a_listen));
    }
    assert!(served_by_b_while_a_down > 0);
    let log = log_via(&a.as_ref().unwrap().url, &clients[0]).await;
    let by_id: HashMap<String, u64> = log.iter().map(|s| (s.op.id.to_string(), s.seq)).collect();
    assert_eq!(by_id.len(), log.len(), "every op once");
    for (i, s) in log.iter().enumerate() {
        assert_eq!(s.seq, i as u64 + 1, "the log stays dense");
    }
    for (id, seq) in &confirmed {
        assert_eq!(
            by_id.get(id),
            Some(seq),
            "acknowledged op {id} is at its seq after {CYCLES} kills"
        );
    }
    eprintln!(
        "{CYCLES} SIGKILLs of hub A: {} ops acknowledged, all present; log of {}",
        confirmed.len(),
        log.len()
    );
}
