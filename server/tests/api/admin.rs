//! `GET /admin`: served only to the hub's own machine. (What the page shows is checked with the acks and
//! peers it reports, in `sync.rs`.)

use crate::common::TestHub;

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
