//! Every endpoint and every error status of the hub, over real HTTP, with the bodies checked.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Device, TestHub, expect_error, expect_forbidden_everywhere, now_ms, pair_with_code};
use futures_util::StreamExt;
use hearth_core::wire::{HubInfo, PeersResponse, PushResponse};
use hearth_core::{Op, OpId, Timestamp};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn hub_info_healthz_and_version_headers() {
    let hub = TestHub::start().await;
    let res = hub
        .client()
        .get(format!("{}/v1/hub", hub.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["hearth-app-version"],
        hearth_core::wire::APP_VERSION
    );
    assert_eq!(
        res.headers()["hearth-schema-version"],
        hearth_core::migrate::LATEST.to_string().as_str()
    );
    let info: HubInfo = res.json().await.unwrap();
    assert_eq!(info.version, hearth_core::wire::APP_VERSION);
    assert_eq!(info.protocols, vec![1]);
    assert!(info.time_ms.abs_diff(now_ms()) < 5_000);
    let default = &info.spaces["default"];
    assert_eq!((default.epoch, default.min_schema_version), (1, 0));

    let res = hub
        .client()
        .get(format!("{}/healthz", hub.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    let res = hub
        .client()
        .get(format!("{}/v1/nope", hub.url))
        .send()
        .await
        .unwrap();
    let body = expect_error(res, 404, "not_found").await;
    assert!(body["message"].as_str().unwrap().contains("no such endpoint"));
    let res = hub
        .client()
        .get(format!("{}/v1/pair", hub.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "POST");
    let body = expect_error(res, 405, "method_not_allowed").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/v1/pair does not take GET"),
        "{body}"
    );
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn pairing_codes_are_one_time_and_expire_and_tokens_are_stored_hashed() {
    let hub = TestHub::start().await;
    let code = hub.state.invite("default").unwrap();
    let pair = |code: String| {
        let url = hub.url.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{url}/v1/pair"))
                .json(&json!({"code": code, "name": "laptop", "app_version": "0.3.1", "schema_version": 1}))
                .send()
                .await
                .unwrap()
        }
    };
    let first = pair(code.clone()).await;
    assert_eq!(first.status(), 200);
    let paired: serde_json::Value = first.json().await.unwrap();
    assert_eq!(paired["space"], "default");
    let token = paired["token"].as_str().unwrap().to_owned();
    assert!(paired["device"].as_str().unwrap().len() == 16);

    // One-time: the same code again is refused.
    let body = expect_error(pair(code.clone()).await, 401, "unauthorized").await;
    assert!(
        body["message"].as_str().unwrap().contains("hearth invite"),
        "{body}"
    );
    // Codes are typed by people: case and dashes do not matter, but a used code stays used.
    expect_error(
        pair(code.replace('-', "").to_uppercase()).await,
        401,
        "unauthorized",
    )
    .await;
    // Expired.
    let expired = hub
        .state
        .devices()
        .create_code("default", Duration::ZERO)
        .unwrap();
    expect_error(pair(expired).await, 401, "unauthorized").await;
    // Unknown.
    expect_error(pair("zzzz-zzzz-zzzz".into()).await, 401, "unauthorized").await;
    // Malformed pairing requests.
    let res = hub
        .client()
        .post(format!("{}/v1/pair", hub.url))
        .body("{\"code\": 5")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "malformed").await;
    let fresh = hub.state.invite("default").unwrap();
    let res = hub
        .client()
        .post(format!("{}/v1/pair", hub.url))
        .json(&json!({"code": fresh, "name": "", "app_version": "0.3.1", "schema_version": 1}))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "malformed").await;

    // Pairing recorded the name and versions.
    let res = hub
        .client()
        .get(format!("{}/v1/spaces/default/peers", hub.url))
        .bearer_auth(&token)
        .header("Hearth-App-Version", "0.3.1")
        .send()
        .await
        .unwrap();
    let peers: PeersResponse = res.json().await.unwrap();
    assert_eq!(peers.peers.len(), 1);
    assert_eq!(
        (peers.peers[0].name.as_str(), peers.peers[0].app_version.as_str()),
        ("laptop", "0.3.1")
    );
    assert_eq!(peers.peers[0].schema_version, 1);

    // A device may pair with the id its store already has.
    let code = hub.state.invite("default").unwrap();
    let res = hub
        .client()
        .post(format!("{}/v1/pair", hub.url))
        .json(&json!({"code": code, "name": "phone", "app_version": "0.3.1", "schema_version": 1, "device": "00000000000000aa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["device"],
        "00000000000000aa"
    );

    let mut hub = hub;
    hub.shutdown().await.unwrap();
    // Only the hash of the token is on disk (database and WAL).
    let mut disk = Vec::new();
    for name in ["hub.db", "hub.db-wal"] {
        if let Ok(bytes) = std::fs::read(hub.dir.path().join(name)) {
            disk.extend(bytes);
        }
    }
    let contains = |needle: &[u8]| disk.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(token.as_bytes()), "the raw token must not be stored");
    assert!(
        !contains(&token.as_bytes()[4..36]),
        "no part of the raw token either"
    );
    assert!(
        contains(hearth_server::devices::hash_secret(&token).as_bytes()),
        "its SHA-256 is"
    );
}

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
    let res = dev
        .client
        .get(dev.endpoint("pull"))
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
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
async fn auth_errors_401_403_and_bad_input_400() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    let other = hub.pair("work", "work laptop").await;
    let c = hub.client();
    let url = &hub.url;

    // No token, bad token.
    for req in [
        c.get(format!("{url}/v1/spaces/default/pull")),
        c.post(format!("{url}/v1/spaces/default/push"))
            .body("{\"ops\":[]}"),
        c.post(format!("{url}/v1/spaces/default/ack")).body("{\"seq\":0}"),
        c.get(format!("{url}/v1/spaces/default/peers")),
        c.get(format!("{url}/v1/spaces/default/events")),
    ] {
        let res = req.try_clone().unwrap().send().await.unwrap();
        expect_error(res, 401, "unauthorized").await;
        let res = req.bearer_auth("hth_not-a-token").send().await.unwrap();
        expect_error(res, 401, "unauthorized").await;
    }
    let res = c
        .get(format!("{url}/v1/spaces/default/pull"))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "unauthorized").await;

    // Another space's token: 403 on every endpoint, and for a space that does not exist.
    expect_forbidden_everywhere(&dev, url, "work").await;
    let res = c
        .get(format!("{url}/v1/spaces/nowhere/pull"))
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "forbidden").await;

    // An op whose device is not the caller's: 403 naming the op, and nothing of the batch is written.
    let foreign = other.op("n", "not mine");
    let res = dev.push_raw(&[dev.op("n", "mine"), foreign.clone()]).await;
    let body = expect_error(res, 403, "forbidden").await;
    assert_eq!(body["op"], foreign.id.to_string());
    assert_eq!(dev.pull(0, 10).await.head, 0);

    // Malformed bodies and queries: 400, nothing written.
    for bad in [
        "not json",
        "{\"ops\": 5}",
        "{\"ops\": [{\"id\": \"nope\", \"kind\": \"node.set\", \"payload\": {}}]}",
        "",
    ] {
        let res = c
            .post(dev.endpoint("push"))
            .bearer_auth(&dev.token)
            .body(bad)
            .send()
            .await
            .unwrap();
        let body = expect_error(res, 400, "malformed").await;
        assert!(body["message"].as_str().unwrap().contains("JSON"), "{body}");
    }
    let res = c
        .get(format!("{}?after=abc", dev.endpoint("pull")))
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "malformed").await;
    let res = c
        .get(format!("{}?limit=0", dev.endpoint("pull")))
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "malformed").await;
    let res = c
        .post(dev.endpoint("ack"))
        .bearer_auth(&dev.token)
        .body("{\"seq\": -1}")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "malformed").await;
    let res = c
        .post(dev.endpoint("ack"))
        .bearer_auth(&dev.token)
        .json(&json!({"seq": 99}))
        .send()
        .await
        .unwrap();
    let body = expect_error(res, 400, "malformed").await;
    assert!(
        body["message"].as_str().unwrap().contains("beyond the head"),
        "{body}"
    );
    let res = c
        .get(dev.endpoint("pull"))
        .bearer_auth(&dev.token)
        .header("Hearth-Schema-Version", "one")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "malformed").await;
    assert_eq!(dev.pull(0, 10).await.head, 0);
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
    let res = dev
        .client
        .post(dev.endpoint("push"))
        .bearer_auth(&dev.token)
        .body(vec![b'x'; 5000])
        .send()
        .await
        .unwrap();
    let body = expect_error(res, 413, "too_large").await;
    assert!(body["message"].as_str().unwrap().contains("4096 bytes"), "{body}");
    // Also when the length is not declared up front (chunked).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..10).map(|_| Ok(vec![b' '; 1000])).collect();
    let res = dev
        .client
        .post(dev.endpoint("push"))
        .bearer_auth(&dev.token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
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
    let info: HubInfo = hub
        .client()
        .get(format!("{}/v1/hub", hub.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info.spaces["default"].min_schema_version, 7);
    // A device that reports a new enough schema writes again.
    let ops = dev.ops(1, "new");
    let res = dev
        .client
        .post(dev.endpoint("push"))
        .bearer_auth(&dev.token)
        .header("Hearth-Schema-Version", "7")
        .json(&json!({"ops": ops}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<PushResponse>().await.unwrap().head, 2);
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn rate_limit_429_per_device() {
    let hub = TestHub::start_with(|c| {
        c.limits.rate_per_sec = 0.5;
        c.limits.rate_burst = 3.0;
    })
    .await;
    let dev = hub.pair("default", "laptop").await;
    let other = hub.pair("default", "phone").await;
    for _ in 0..3 {
        assert_eq!(dev.pull_raw(0, 1).await.status(), 200);
    }
    let res = dev.pull_raw(0, 1).await;
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    expect_error(res, 429, "rate_limited").await;
    assert_eq!(
        other.pull_raw(0, 1).await.status(),
        200,
        "the budget is per device"
    );
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn ack_and_peers_record_seq_last_seen_and_versions() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    let phone = hub.pair("default", "phone").await;
    dev.push(&dev.ops(3, "a")).await;
    let t0 = now_ms();
    let res = dev
        .client
        .post(dev.endpoint("ack"))
        .bearer_auth(&dev.token)
        .header("Hearth-App-Version", "0.9.0")
        .header("Hearth-Schema-Version", "3")
        .json(&json!({"seq": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Acks never move backwards.
    let res = dev
        .client
        .post(dev.endpoint("ack"))
        .bearer_auth(&dev.token)
        .json(&json!({"seq": 1}))
        .send()
        .await
        .unwrap();
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
    let html = hub
        .client()
        .get(format!("{}/admin", hub.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&dev.device.to_string()) && html.contains("laptop") && html.contains("0.9.0"),
        "{html}"
    );
    assert!(html.contains("head 3"), "{html}");

    // Acks and versions survive a restart of the hub.
    let mut hub = hub;
    hub.shutdown().await.unwrap();
    let state = hearth_server::AppState::open(hub.state.config().clone()).unwrap();
    let me = state
        .peers("default")
        .into_iter()
        .find(|p| p.device == dev.device)
        .unwrap();
    assert_eq!((me.acked, me.app_version.as_str()), (2, "0.9.0"));
}

/// Read SSE `data:` lines from a response.
async fn next_event(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
) -> serde_json::Value {
    loop {
        if let Some(i) = buf.find("\n\n") {
            let event: String = buf.drain(..i + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(data).unwrap();
            }
            continue;
        }
        let chunk = stream.next().await.unwrap().unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn live_events_tell_the_new_head_within_milliseconds() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    let listener = hub.pair("default", "phone").await;
    dev.push(&dev.ops(2, "a")).await;
    // EventSource style: the token in the query.
    let res = listener
        .client
        .get(format!(
            "{}?token={}",
            listener.endpoint("events"),
            listener.token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    assert_eq!(
        next_event(&mut stream, &mut buf).await,
        json!({"head": 2}),
        "the head on connect"
    );
    for round in 0..3u64 {
        let start = std::time::Instant::now();
        let out = dev.push(&dev.ops(5, &format!("r{round}"))).await;
        let event = tokio::time::timeout(Duration::from_millis(500), next_event(&mut stream, &mut buf))
            .await
            .unwrap();
        assert_eq!(event, json!({"head": out.head}));
        eprintln!(
            "live event {} µs after the push was sent",
            start.elapsed().as_micros()
        );
    }
    // Bearer header works too.
    let res = dev
        .client
        .get(dev.endpoint("events"))
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
    let mut s2 = res.bytes_stream();
    let mut b2 = String::new();
    assert_eq!(next_event(&mut s2, &mut b2).await, json!({"head": 17}));
    // Graceful shutdown ends open streams instead of hanging.
    tokio::time::timeout(Duration::from_secs(10), hub.stop())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn serves_the_pwa_bundle_with_fallback_types_and_cache_headers() {
    let web = tempfile::tempdir().unwrap();
    let files = [
        ("index.html", "<!doctype html><title>Hearth</title>"),
        ("sw.js", "self.addEventListener('fetch', () => {});"),
        ("manifest.webmanifest", "{\"name\":\"Hearth\"}"),
        ("hearth-web-0123456789abcdef.js", "export default 1;"),
        ("hearth-web-0123456789abcdef_bg.wasm", "\0asm"),
        ("style-0123456789abcdef.css", "body{}"),
    ];
    let dir = web.path().join("dist");
    std::fs::create_dir(&dir).unwrap();
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    std::fs::write(web.path().join("secret.txt"), "top secret").unwrap();
    std::fs::write(dir.join(".hidden"), "top secret").unwrap();
    let hub = TestHub::start_with(move |c| c.web_dir = Some(dir)).await;
    let c = hub.client();
    let get = |path: &str| c.get(format!("{}{path}", hub.url)).send();
    let check = |res: &reqwest::Response, ty: &str, cache: &str| {
        assert_eq!(res.status(), 200, "{}", res.url());
        assert_eq!(res.headers()["content-type"], ty, "{}", res.url());
        assert_eq!(res.headers()["cache-control"], cache, "{}", res.url());
    };
    let res = get("/").await.unwrap();
    check(&res, "text/html; charset=utf-8", "no-cache");
    assert!(res.text().await.unwrap().contains("<title>Hearth</title>"));
    let res = get("/projects/42").await.unwrap();
    check(&res, "text/html; charset=utf-8", "no-cache");
    assert!(
        res.text().await.unwrap().contains("<title>Hearth</title>"),
        "app routes fall back to the index"
    );
    check(
        &get("/sw.js").await.unwrap(),
        "text/javascript; charset=utf-8",
        "no-cache",
    );
    check(
        &get("/manifest.webmanifest").await.unwrap(),
        "application/manifest+json",
        "no-cache",
    );
    let immutable = "public, max-age=31536000, immutable";
    let res = get("/hearth-web-0123456789abcdef_bg.wasm").await.unwrap();
    check(&res, "application/wasm", immutable);
    assert_eq!(&res.bytes().await.unwrap()[..], b"\0asm");
    check(
        &get("/hearth-web-0123456789abcdef.js").await.unwrap(),
        "text/javascript; charset=utf-8",
        immutable,
    );
    check(
        &get("/style-0123456789abcdef.css").await.unwrap(),
        "text/css; charset=utf-8",
        immutable,
    );
    assert_eq!(get("/missing.js").await.unwrap().status(), 404);
    // No way out of the bundle directory (raw request: an HTTP client would normalize the path).
    for path in ["/../secret.txt", "/./../secret.txt", "/.hidden"] {
        let mut tcp = tokio::net::TcpStream::connect(hub.url.trim_start_matches("http://"))
            .await
            .unwrap();
        tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 404"), "{path}: {answer}");
        assert!(!answer.contains("top secret"));
    }
    hub.stop().await.unwrap();

    // Without a bundle, a plain page says so.
    let hub = TestHub::start().await;
    let res = hub.client().get(format!("{}/", hub.url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("not built yet"));
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn invite_cli_works_while_the_hub_runs() {
    let hub = TestHub::start().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["invite", "--data"])
        .arg(hub.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let code = text.lines().last().unwrap().trim().to_owned();
    assert_eq!(code.len(), 14, "the last line is the code alone: {text:?}");
    let dev: Device = pair_with_code(&hub.url, &code, "cli-paired").await;
    assert_eq!(dev.space, "default");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["invite", "--json", "--space", "garden", "--data"])
        .arg(hub.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["space"], "garden");
    let dev = pair_with_code(&hub.url, v["code"].as_str().unwrap(), "garden laptop").await;
    assert_eq!(dev.space, "garden");
    assert_eq!(dev.push(&dev.ops(2, "g")).await.seqs, vec![1, 2]);
    assert!(
        hub.dir.path().join("spaces/garden.db").is_file(),
        "one database per space"
    );
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn a_hub_db_from_a_newer_build_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("hub.db")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = hearth_server::AppState::open(hearth_server::Config::new(dir.path())).unwrap_err();
    assert!(err.to_string().contains("newer than this build"), "{err}");
    let conn = rusqlite::Connection::open(dir.path().join("hub.db")).unwrap();
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 99);
}

#[tokio::test]
async fn the_admin_page_is_only_for_the_hubs_own_machine() {
    use tower::ServiceExt;
    let hub = TestHub::start().await;
    let request = |from: &str| {
        let mut req = axum::http::Request::get("/admin")
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
                from.parse().unwrap(),
            ));
        req
    };
    let res = hearth_server::app(hub.state.clone())
        .oneshot(request("192.0.2.7:4000"))
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = hearth_server::app(hub.state.clone())
        .oneshot(request("127.0.0.1:4000"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    hub.stop().await.unwrap();
}
