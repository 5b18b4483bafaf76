//! The log (`server/src/routes/sync.rs`): push, pull, ack and peers, with their limits (413), validation
//! and clock checks (422) and the space's minimum schema version (426).

use std::time::Duration;

use hearth_core::wire::{HubInfo, PeerState, PushResponse};
use hearth_core::{Op, OpId, Timestamp};
use reqwest::Method;
use serde_json::json;

use crate::common::{TestHub, expect_error, now_ms, send};

#[tokio::test]
async fn push_pull_paging_and_idempotent_retry() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    let ops = dev.ops(3, "a");
    let first = dev.push(&ops).await;
    assert_eq!(
        first,
        PushResponse {
            accepted: 3,
            duplicates: 0,
            seqs: vec![1, 2, 3],
            head: 3
        }
    );
    // A retried batch (the answer was lost) gets the same seqs and counts as duplicates.
    let retry = dev.push(&ops).await;
    assert_eq!(
        retry,
        PushResponse {
            accepted: 0,
            duplicates: 3,
            seqs: vec![1, 2, 3],
            head: 3
        }
    );
    // Half old, half new.
    let more = [ops[2].clone(), dev.op("b", "new")];
    assert_eq!(
        dev.push(&more).await,
        PushResponse {
            accepted: 1,
            duplicates: 1,
            seqs: vec![3, 4],
            head: 4
        }
    );
    // An empty push is fine.
    assert_eq!(
        dev.push(&[]).await,
        PushResponse {
            accepted: 0,
            duplicates: 0,
            seqs: vec![],
            head: 4
        }
    );

    let page = dev.pull(0, 2).await;
    assert_eq!(page.ops.iter().map(|o| o.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!((page.next, page.head, page.horizon, page.epoch), (2, 4, 0, 1));
    assert_eq!(page.ops[0].op, ops[0]);
    assert_eq!(page.ops[1].op, ops[1]);
    let page = dev.pull(2, 100).await;
    assert_eq!(page.ops.iter().map(|o| o.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(page.ops[1].op, more[1]);
    assert_eq!(page.next, 4);
    let page = dev.pull(4, 100).await;
    assert!(page.ops.is_empty());
    assert_eq!((page.next, page.head), (4, 4));
    // Default paging.
    let res = dev.get("pull").await;
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["ops"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn limits_413_on_body_batch_and_payload() {
    let hub = TestHub::start_with(|c| {
        c.limits.max_body_bytes = 4096;
        c.limits.max_ops_per_batch = 10;
        c.limits.max_payload_bytes = 200;
    })
    .await;
    let dev = hub.pair("default", "laptop").await;

    // The raw body is refused before parsing: even invalid JSON over the limit gets 413, not 400.
    let res = dev.post_body("push", vec![b'x'; 5000]).await;
    let body = expect_error(res, 413, "too_large").await;
    assert!(body["message"].as_str().unwrap().contains("4096 bytes"), "{body}");
    // Also when the length is not declared up front (chunked).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..10).map(|_| Ok(vec![b' '; 1000])).collect();
    let res = dev
        .post_body(
            "push",
            reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)),
        )
        .await;
    expect_error(res, 413, "too_large").await;

    let res = dev.push_raw(&dev.ops(11, "many")).await;
    let body = expect_error(res, 413, "too_large").await;
    assert!(body["message"].as_str().unwrap().contains("11 ops"), "{body}");

    let big = dev.op("big", &"x".repeat(300));
    let res = dev.push_raw(&[dev.op("ok", "fine"), big.clone()]).await;
    let body = expect_error(res, 413, "too_large").await;
    assert_eq!(body["op"], big.id.to_string());

    assert_eq!(
        dev.pull(0, 10).await.head,
        0,
        "nothing of a refused batch is written"
    );
    assert_eq!(dev.push(&dev.ops(10, "fits")).await.accepted, 10);
    hub.stop().await.unwrap();
}

fn space_clock(hub: &TestHub) -> Option<String> {
    let conn = rusqlite::Connection::open(hub.dir.path().join("spaces/default.db")).unwrap();
    conn.query_row("SELECT value FROM kv WHERE key = 'clock'", [], |r| r.get(0))
        .ok()
}

#[tokio::test]
async fn invalid_op_and_clock_skew_422_write_nothing_and_never_advance_the_clock() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    let good = dev.op("n", "fine");
    assert_eq!(dev.push(std::slice::from_ref(&good)).await.head, 1);
    let clock_before = space_clock(&hub);
    assert!(clock_before.is_some());

    let bad = Op {
        id: dev.next_id(),
        kind: "task.set".into(),
        v: 1,
        payload: json!({"node": "n", "field": "due", "value": "tomorrow"}),
    };
    let res = dev.push_raw(&[dev.op("n2", "ok"), bad.clone()]).await;
    let body = expect_error(res, 422, "invalid_op").await;
    assert_eq!(body["op"], bad.id.to_string());
    assert!(
        body["message"].as_str().unwrap().contains("due must be a date"),
        "{body}"
    );

    // Two hours ahead (limit one hour).
    let ahead = Op {
        id: OpId {
            ts: Timestamp {
                ms: now_ms() + 2 * 3600 * 1000,
                counter: 0,
            },
            device: dev.device,
        },
        kind: "node.set".into(),
        v: 1,
        payload: json!({"node": "n", "field": "title", "value": "from the future"}),
    };
    let res = dev.push_raw(&[dev.op("n3", "ok"), ahead.clone()]).await;
    let body = expect_error(res, 422, "clock_skew").await;
    assert_eq!(body["op"], ahead.id.to_string());
    assert!(
        body["hub_time_ms"].as_u64().unwrap().abs_diff(now_ms()) < 5_000,
        "{body}"
    );
    assert_eq!(
        space_clock(&hub),
        clock_before,
        "a refused op never advances the hub clock"
    );
    let page = dev.pull(0, 10).await;
    assert_eq!(
        (page.head, page.ops.len()),
        (1, 1),
        "nothing of a refused batch is written"
    );
    assert_eq!(page.ops[0].op, good);
    hub.stop().await.unwrap();
}

/// A push refused for clock skew gets re-stamped by its device; a late copy of it (the network
/// delivering it again once the hub's clock has passed its stamps) is refused with the same code,
/// naming the same op, so the edit is never logged twice.
#[tokio::test]
async fn an_op_refused_for_clock_skew_stays_refused_once_the_hub_clock_catches_up() {
    let hub = TestHub::start_with(|c| c.limits.max_drift_ms = 500).await;
    let dev = hub.pair("default", "laptop").await;
    let kept = dev.op("n", "kept");
    let ahead = Op {
        id: OpId {
            ts: Timestamp {
                ms: now_ms() + 1_500,
                counter: 0,
            },
            device: dev.device,
        },
        kind: "node.set".into(),
        v: 1,
        payload: json!({"node": "n", "field": "title", "value": "from the future"}),
    };
    let refused = [kept.clone(), ahead.clone()];
    let body = expect_error(dev.push_raw(&refused).await, 422, "clock_skew").await;
    assert_eq!(body["op"], ahead.id.to_string());
    // The device re-stamps the refused op at the hub's time; the op before it keeps its id.
    let restamped = Op {
        id: dev.next_id(),
        ..ahead.clone()
    };
    let pushed = dev.push(&[kept.clone(), restamped.clone()]).await;
    assert_eq!((pushed.accepted, pushed.seqs), (2, vec![1, 2]));

    while now_ms() <= ahead.id.ts.ms {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = expect_error(dev.push_raw(&refused).await, 422, "clock_skew").await;
    assert_eq!(body["op"], ahead.id.to_string());
    assert!(
        body["hub_time_ms"].as_u64().unwrap() >= ahead.id.ts.ms,
        "the hub's clock has passed the stamp: {body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("stays refused"),
        "{body}"
    );
    let page = dev.pull(0, 10).await;
    assert_eq!(
        (page.head, page.ops.into_iter().map(|s| s.op).collect::<Vec<_>>()),
        (2, vec![kept, restamped]),
        "the edit is logged once, under its new id"
    );
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn min_schema_version_426_on_push_while_pull_works() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    dev.push(&dev.ops(1, "before")).await;
    // Through the real CLI, against the running hub's data directory.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["space", "set-min-version", "--space", "default", "7", "--data"])
        .arg(hub.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let res = dev.push_raw(&dev.ops(1, "old")).await;
    let body = expect_error(res, 426, "upgrade_required").await;
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("schema version 7") && msg.contains("Update Hearth"),
        "{msg}"
    );
    // Reading still works.
    assert_eq!(dev.pull(0, 10).await.head, 1);
    let info: HubInfo = hub.get("/v1/hub").await.json().await.unwrap();
    assert_eq!(info.spaces["default"].min_schema_version, 7);
    // A device that reports a new enough schema writes again.
    let ops = dev.ops(1, "new");
    let res = send(
        dev.request(Method::POST, "push")
            .header("Hearth-Schema-Version", "7")
            .json(&json!({"ops": ops})),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<PushResponse>().await.unwrap().head, 2);
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn ack_and_peers_record_seq_last_seen_and_versions() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    let phone = hub.pair("default", "phone").await;
    dev.push(&dev.ops(3, "a")).await;
    let t0 = now_ms();
    let res = send(
        dev.request(Method::POST, "ack")
            .header("Hearth-App-Version", "0.9.0")
            .header("Hearth-Schema-Version", "3")
            .json(&json!({"seq": 2})),
    )
    .await;
    assert_eq!(res.status(), 204);
    // Acks never move backwards.
    let res = dev.post_json("ack", &json!({"seq": 1})).await;
    assert_eq!(res.status(), 204);
    let peers = phone.peers().await;
    assert_eq!((peers.head, peers.horizon), (3, 0));
    assert_eq!(peers.peers.len(), 2);
    let me = peers.peers.iter().find(|p| p.device == dev.device).unwrap();
    assert_eq!(me.name, "laptop");
    assert_eq!(me.acked, 2);
    assert_eq!(
        (me.app_version.as_str(), me.schema_version),
        ("0.9.0", 3),
        "versions from the headers"
    );
    assert!(me.last_seen_ms >= t0 && me.last_seen_ms <= now_ms());
    let ph = peers.peers.iter().find(|p| p.device == phone.device).unwrap();
    assert_eq!(
        (ph.name.as_str(), ph.acked, ph.app_version.as_str()),
        ("phone", 0, "0.1.0")
    );

    // The admin page shows the same network view.
    let html = hub.get("/admin").await.text().await.unwrap();
    assert!(
        html.contains(&dev.device.to_string()) && html.contains("laptop") && html.contains("0.9.0"),
        "{html}"
    );
    assert!(html.contains("<dt>Changes recorded</dt><dd>3</dd>"), "{html}");

    // Acks and versions survive a restart of the hub.
    let mut hub = hub;
    hub.shutdown().await.unwrap();
    let state = hearth_server::AppState::open(hub.state.config().clone()).unwrap();
    let me = state
        .peers("default", 0)
        .into_iter()
        .find(|p| p.device == dev.device)
        .unwrap();
    assert_eq!((me.acked, me.app_version.as_str()), (2, "0.9.0"));
}

/// The horizon is the lowest ack over the devices seen within `--peer-ttl`; a device quiet for longer
/// stops holding it back, and holds it again once it is back. With no active device it is the head.
#[tokio::test]
async fn the_horizon_is_the_lowest_ack_of_active_devices() {
    let hub = TestHub::start_with(|c| c.limits.peer_ttl = Duration::from_secs(2)).await;
    let laptop = hub.pair("default", "laptop").await;
    let phone = hub.pair("default", "phone").await;
    laptop.push(&laptop.ops(5, "a")).await;
    assert_eq!(laptop.post_json("ack", &json!({"seq": 5})).await.status(), 204);
    assert_eq!(phone.post_json("ack", &json!({"seq": 2})).await.status(), 204);
    let view = laptop.peers().await;
    assert_eq!(
        (
            view.head,
            view.horizon,
            view.compacted,
            view.snapshot_seq,
            view.log_rows
        ),
        (5, 2, 0, 0, 5)
    );
    assert!(
        view.peers.iter().all(|p| p.state == PeerState::Active),
        "{view:?}"
    );

    // The phone is quiet past the TTL: only the laptop's ack counts.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let view = laptop.peers().await;
    let quiet = view.peers.iter().find(|p| p.device == phone.device).unwrap();
    assert_eq!((quiet.state, quiet.acked), (PeerState::Inactive, 2));
    assert_eq!(view.horizon, 5);
    // Back again, it holds the horizon at its ack.
    assert_eq!(phone.peers().await.horizon, 2);
    let html = hub.get("/admin").await.text().await.unwrap();
    assert!(
        html.contains("<dt>Every active device has up to</dt><dd>change 2</dd>")
            && html.contains("<dt>Changes kept in the log</dt><dd>5</dd>"),
        "{html}"
    );

    // Nobody seen within the TTL: the horizon is the head, every device inactive.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let html = hub.get("/admin").await.text().await.unwrap();
    assert!(
        html.contains("<dt>Every active device has up to</dt><dd>change 5</dd>"),
        "{html}"
    );
    assert_eq!(html.matches("<td>inactive</td>").count(), 2, "{html}");
}
