//! `GET /v1/spaces/{space}/events`: Server-Sent Events with the head, by header or `?token=`; after a
//! small commit the event carries its ops as the pull answer after the previous event's head.

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
    let mut before = 2;
    for round in 0..3u64 {
        let start = std::time::Instant::now();
        let ops = dev.ops(5, &format!("r{round}"));
        let out = dev.push(&ops).await;
        let event = tokio::time::timeout(Duration::from_millis(500), next_event(&mut stream, &mut buf))
            .await
            .unwrap();
        eprintln!(
            "live event {} µs after the push was sent",
            start.elapsed().as_micros()
        );
        // The event carries the commit: exactly what a pull after the previous head answers.
        assert_eq!(event["head"], json!(out.head));
        assert_eq!(event["after"], json!(before));
        let pulled = listener.pull(before, 1000).await;
        assert_eq!(event["page"], serde_json::to_value(&pulled).unwrap());
        let carried: Vec<String> = pulled.ops.iter().map(|o| o.op.id.to_string()).collect();
        let pushed: Vec<String> = ops.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(carried, pushed);
        assert_eq!(pulled.next, out.head);
        before = out.head;
    }
    // A big commit is announced by its head only: listeners pull it.
    let out = dev.push(&dev.ops(100, "big")).await;
    let event = tokio::time::timeout(Duration::from_millis(2000), next_event(&mut stream, &mut buf))
        .await
        .unwrap();
    assert_eq!(event, json!({"head": out.head}));
    // A small commit again: its event carries it.
    let out = dev.push(&dev.ops(2, "small")).await;
    let event = tokio::time::timeout(Duration::from_millis(2000), next_event(&mut stream, &mut buf))
        .await
        .unwrap();
    assert_eq!(
        (event["head"].as_u64(), event["after"].as_u64()),
        (Some(119), Some(117))
    );
    // Bearer header works too. A new listener gets the head alone: by the time it connects the ops
    // of the last event may have been compacted away, and it may be far behind them.
    assert_eq!(out.head, 119);
    let res = dev.get("events").await;
    let mut s2 = res.bytes_stream();
    let mut b2 = String::new();
    assert_eq!(next_event(&mut s2, &mut b2).await, json!({"head": 119}));
    // Graceful shutdown ends open streams instead of hanging.
    tokio::time::timeout(Duration::from_secs(10), hub.stop())
        .await
        .unwrap()
        .unwrap();
}
