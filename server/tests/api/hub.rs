//! `GET /v1/hub`, `/healthz`, the version headers on every answer, the API's 404 and 405, and the hub's
//! own database.

use hearth_core::wire::HubInfo;
use serde_json::json;

use crate::common::{TestHub, expect_error, now_ms};

#[tokio::test]
async fn hub_info_healthz_and_version_headers() {
    let hub = TestHub::start().await;
    let res = hub.get("/v1/hub").await;
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

    let res = hub.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    let res = hub.get("/v1/nope").await;
    let body = expect_error(res, 404, "not_found").await;
    assert!(body["message"].as_str().unwrap().contains("no such endpoint"));
    let res = hub.get("/v1/pair").await;
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
