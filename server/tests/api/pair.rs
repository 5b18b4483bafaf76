//! `POST /v1/pair`: one-time codes (from the library and from `hearth invite`) buy a device token, which
//! the hub keeps only as a hash.

use std::time::Duration;

use hearth_core::wire::PeersResponse;
use serde_json::json;

use crate::common::{Device, TestHub, expect_error, pair_with_code, send};

#[tokio::test]
async fn pairing_codes_are_one_time_and_expire_and_tokens_are_stored_hashed() {
    let hub = TestHub::start().await;
    let code = hub.state.invite("default").unwrap();
    let pair = {
        let hub = &hub;
        move |code: String| async move {
            let body = json!({"code": code, "name": "laptop", "app_version": "0.3.1", "schema_version": 1});
            hub.post_json("/v1/pair", &body).await
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
    let res = hub.post_body("/v1/pair", "{\"code\": 5").await;
    expect_error(res, 400, "malformed").await;
    let fresh = hub.state.invite("default").unwrap();
    let res = hub
        .post_json(
            "/v1/pair",
            &json!({"code": fresh, "name": "", "app_version": "0.3.1", "schema_version": 1}),
        )
        .await;
    expect_error(res, 400, "malformed").await;

    // Pairing recorded the name and versions.
    let res = send(
        hub.request(reqwest::Method::GET, "/v1/spaces/default/peers")
            .bearer_auth(&token)
            .header("Hearth-App-Version", "0.3.1"),
    )
    .await;
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
        .post_json(
            "/v1/pair",
            &json!({"code": code, "name": "phone", "app_version": "0.3.1", "schema_version": 1, "device": "00000000000000aa"}),
        )
        .await;
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
