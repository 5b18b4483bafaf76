//! The PWA bundle at `/` (`server/src/routes/web.rs`): content types, cache headers, the index as the
//! fallback for app routes, nothing outside the bundle, and a plain page when there is no bundle.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestHub;

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
    let check = |res: &reqwest::Response, ty: &str, cache: &str| {
        assert_eq!(res.status(), 200, "{}", res.url());
        assert_eq!(res.headers()["content-type"], ty, "{}", res.url());
        assert_eq!(res.headers()["cache-control"], cache, "{}", res.url());
    };
    let res = hub.get("/").await;
    check(&res, "text/html; charset=utf-8", "no-cache");
    assert!(res.text().await.unwrap().contains("<title>Hearth</title>"));
    let res = hub.get("/projects/42").await;
    check(&res, "text/html; charset=utf-8", "no-cache");
    assert!(
        res.text().await.unwrap().contains("<title>Hearth</title>"),
        "app routes fall back to the index"
    );
    check(
        &hub.get("/sw.js").await,
        "text/javascript; charset=utf-8",
        "no-cache",
    );
    check(
        &hub.get("/manifest.webmanifest").await,
        "application/manifest+json",
        "no-cache",
    );
    let immutable = "public, max-age=31536000, immutable";
    let res = hub.get("/hearth-web-0123456789abcdef_bg.wasm").await;
    check(&res, "application/wasm", immutable);
    assert_eq!(&res.bytes().await.unwrap()[..], b"\0asm");
    check(
        &hub.get("/hearth-web-0123456789abcdef.js").await,
        "text/javascript; charset=utf-8",
        immutable,
    );
    check(
        &hub.get("/style-0123456789abcdef.css").await,
        "text/css; charset=utf-8",
        immutable,
    );
    assert_eq!(hub.get("/missing.js").await.status(), 404);
    // No way out of the bundle directory (raw request: an HTTP client would normalize the path).
    for path in [
        "/../secret.txt",
        "/./../secret.txt",
        "/.hidden",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/icons/../../secret.txt",
        "/%252e%252e/secret.txt",
    ] {
        let mut tcp = tokio::net::TcpStream::connect(hub.url.trim_start_matches("http://"))
            .await
            .unwrap();
        tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        // Refused (400/404), or the app's own page for what is not a file; never the file outside.
        assert!(
            ["HTTP/1.1 404", "HTTP/1.1 400", "HTTP/1.1 200"]
                .iter()
                .any(|s| answer.starts_with(s)),
            "{path}: {answer}"
        );
        assert!(
            !answer.contains("top secret"),
            "{path} reached a file outside the bundle"
        );
    }
    hub.stop().await.unwrap();

    // Without a bundle, a plain page says so.
    let hub = TestHub::start().await;
    let res = hub.get("/").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("not built yet"));
    hub.stop().await.unwrap();
}
