//! Who may call (`server/src/auth.rs`): 401 without a valid token, 403 for another space or another
//! device's ops, 400 for bad input, and the per-device rate limit (429).

use reqwest::Method;
use serde_json::json;

use crate::common::{TestHub, expect_error, expect_forbidden_everywhere, send};

#[tokio::test]
async fn auth_errors_401_403_and_bad_input_400() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    let other = hub.pair("work", "work laptop").await;
    let url = &hub.url;

    // No token, bad token.
    for req in [
        hub.request(Method::GET, "/v1/spaces/default/pull"),
        hub.request(Method::POST, "/v1/spaces/default/push")
            .body("{\"ops\":[]}"),
        hub.request(Method::POST, "/v1/spaces/default/ack")
            .body("{\"seq\":0}"),
        hub.request(Method::GET, "/v1/spaces/default/peers"),
        hub.request(Method::GET, "/v1/spaces/default/events"),
    ] {
        let res = send(req.try_clone().unwrap()).await;
        expect_error(res, 401, "unauthorized").await;
        let res = send(req.bearer_auth("hth_not-a-token")).await;
        expect_error(res, 401, "unauthorized").await;
    }
    let res = send(
        hub.request(Method::GET, "/v1/spaces/default/pull")
            .header("Authorization", "Basic abc"),
    )
    .await;
    expect_error(res, 401, "unauthorized").await;

    // Another space's token: 403 on every endpoint, and for a space that does not exist.
    expect_forbidden_everywhere(&dev, url, "work").await;
    let res = hub.get_with_token("/v1/spaces/nowhere/pull", &dev.token).await;
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
        let res = dev.post_body("push", bad).await;
        let body = expect_error(res, 400, "malformed").await;
        assert!(body["message"].as_str().unwrap().contains("JSON"), "{body}");
    }
    let res = dev.get("pull?after=abc").await;
    expect_error(res, 400, "malformed").await;
    let res = dev.get("pull?limit=0").await;
    expect_error(res, 400, "malformed").await;
    let res = dev.post_body("ack", "{\"seq\": -1}").await;
    expect_error(res, 400, "malformed").await;
    let res = dev.post_json("ack", &json!({"seq": 99})).await;
    let body = expect_error(res, 400, "malformed").await;
    assert!(
        body["message"].as_str().unwrap().contains("beyond the head"),
        "{body}"
    );
    let res = send(
        dev.request(Method::GET, "pull")
            .header("Hearth-Schema-Version", "one"),
    )
    .await;
    expect_error(res, 400, "malformed").await;
    assert_eq!(dev.pull(0, 10).await.head, 0);
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
