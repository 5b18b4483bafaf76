//! `GET /v1/spaces/{space}/events`: Server-Sent Events with the head, by header or `?token=`.

use std::time::Duration;

use serde_json::json;

use crate::common::{TestHub, next_event};

#[tokio::test]
async fn live_events_tell_the_new_head_within_milliseconds() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    let listener = hub.pair("default", "phone").await;
    dev.push(&dev.ops(2, "a")).await;
    // EventSource style: the token in the query.
    let res = hub
        .get(&format!(
            "/v1/spaces/{}/events?token={}",
            listener.space, listener.token
        ))
        .await;
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
    let res = dev.get("events").await;
    let mut s2 = res.bytes_stream();
    let mut b2 = String::new();
    assert_eq!(next_event(&mut s2, &mut b2).await, json!({"head": 17}));
    // Graceful shutdown ends open streams instead of hanging.
    tokio::time::timeout(Duration::from_secs(10), hub.stop())
        .await
        .unwrap()
        .unwrap();
}
