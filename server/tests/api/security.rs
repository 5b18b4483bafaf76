//! Attacks on the hub, each with the answer it must get: pairing-code guessing (locked out per address,
//! while other addresses still pair), a body that trickles in (cut off with 408), headers that trickle
//! in (the connection closed at the header deadline) or are oversized (431), a device replaying another
//! device's op (403, nothing logged).

use std::time::Duration;

use serde_json::json;

use crate::common::{TestHub, expect_error};

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn try_pair(client: &reqwest::Client, hub: &TestHub, code: &str) -> reqwest::Response {
    client
        .post(hub.at("/v1/pair"))
        .json(&json!({"code": code, "name": "guesser", "app_version": "0.1.0", "schema_version": 1}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn guessing_pairing_codes_locks_the_address_out_and_no_other() {
    let hub = TestHub::start_with(|c| {
        c.limits.pair_attempts = 5;
        c.limits.pair_window_secs = 60;
    })
    .await;
    let attacker = client_from("127.0.0.1");
    for i in 0..5 {
        let res = try_pair(&attacker, &hub, &format!("aaaa-bbbb-{i:04}")).await;
        expect_error(res, 401, "unauthorized").await;
    }
    // Locked out now, even with a valid code: guessing is capped at 5 per minute per address.
    let code = hub.state.invite("default").unwrap();
    let res = try_pair(&attacker, &hub, &code).await;
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = expect_error(res, 429, "rate_limited").await;
    assert!(
        body["message"].as_str().unwrap().contains("pairing codes"),
        "{body}"
    );
    // Another address is not affected, and the code was not used up by the refused attempt.
    let other = client_from("127.0.0.2");
    let res = try_pair(&other, &hub, &code).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off() {
    let hub = TestHub::start_with(|c| c.limits.body_timeout_secs = 1).await;
    let dev = hub.pair("default", "laptop").await;
    let op = serde_json::to_string(&json!({"ops": [dev.op("n", "slow")]})).unwrap();
    let (head, tail) = op.split_at(10);
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let stream = futures_stream(head, tail);
    let started = std::time::Instant::now();
    let res = dev
        .request(reqwest::Method::POST, "push")
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    let body = expect_error(res, 408, "timeout").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cut off at the deadline"
    );
    assert!(body["message"].as_str().unwrap().contains("1 s"), "{body}");
    assert_eq!(dev.peers().await.head, 0, "nothing of the slow push was written");
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn headers_that_trickle_in_or_are_oversized_are_refused_and_the_hub_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hub = TestHub::start_with(|c| c.limits.header_timeout_secs = 1).await;
    let addr = hub.url.trim_start_matches("http://").to_owned();

    // Half a request head, then nothing: closed at the deadline, not held open.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 5 s");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed at the 1 s deadline ({:?})",
        started.elapsed()
    );
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A 200 KB header: 431, nothing served.
    let mut big = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(200_000)
    );
    // The hub may close before reading it all; what it answered is what counts.
    let _ = big.write_all(head.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = big.read_to_end(&mut buf).await;
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "an oversized head gets 431: {answer:?}"
    );

    // Everyone else is served as before.
    let res = hub.get("/healthz").await;
    assert_eq!(res.status(), 200);
    hub.stop().await.unwrap();
}

/// The first half now, the rest after 5 s.
fn futures_stream(
    head: String,
    tail: String,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(0, move |i| {
        let (head, tail) = (head.clone(), tail.clone());
        async move {
            match i {
                0 => Some((Ok(head.into_bytes()), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Some((Ok(tail.into_bytes()), 2))
                }
                _ => None,
            }
        }
    })
}

#[tokio::test]
async fn replaying_another_devices_op_is_refused_and_logs_nothing() {
    let hub = TestHub::start().await;
    let (laptop, phone) = (
        hub.pair("default", "laptop").await,
        hub.pair("default", "phone").await,
    );
    let op = laptop.op("n", "mine");
    laptop.push(std::slice::from_ref(&op)).await;
    // The phone pulled it and replays it as its own, unchanged and then with a new value.
    let pulled = phone.pull(0, 10).await.ops[0].op.clone();
    let res = phone.push_raw(std::slice::from_ref(&pulled)).await;
    expect_error(res, 403, "forbidden").await;
    let mut forged = pulled;
    forged.payload["value"] = json!("forged");
    let body = expect_error(phone.push_raw(&[forged]).await, 403, "forbidden").await;
    assert_eq!(body["op"], op.id.to_string());
    assert_eq!(phone.peers().await.head, 1, "nothing logged");
    hub.stop().await.unwrap();
}
