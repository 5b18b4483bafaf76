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

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn precompressed_files_go_to_browsers_that_accept_them_and_json_is_compressed() {
    let web = tempfile::tempdir().unwrap();
    let dir = web.path().to_path_buf();
    let wasm = "\0asm".repeat(5000);
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(wasm.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    std::fs::write(dir.join("index.html"), "<!doctype html><title>Hearth</title>").unwrap();
    std::fs::write(dir.join("app-0123456789abcdef_bg.wasm"), &wasm).unwrap();
    std::fs::write(dir.join("app-0123456789abcdef_bg.wasm.gz"), &gz).unwrap();
    // Stands for brotli output: what matters is which file is sent, with which header.
    std::fs::write(dir.join("app-0123456789abcdef_bg.wasm.br"), "brotli bytes").unwrap();
    let hub = TestHub::start_with(move |c| c.web_dir = Some(dir)).await;
    let get = |accept: Option<&'static str>| {
        let mut req = hub.client().get(hub.at("/app-0123456789abcdef_bg.wasm"));
        if let Some(a) = accept {
            req = req.header("accept-encoding", a);
        }
        req.send()
    };

    let res = get(Some("gzip, deflate, br, zstd")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.headers()["content-type"], "application/wasm");
    assert_eq!(res.headers()["vary"], "accept-encoding");
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(&res.bytes().await.unwrap()[..], b"brotli bytes");

    let res = get(Some("gzip")).await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(gunzip(&res.bytes().await.unwrap()), wasm.as_bytes());

    for accept in [None, Some("identity"), Some("br;q=0, gzip;q=0")] {
        let res = get(accept).await.unwrap();
        assert!(res.headers().get("content-encoding").is_none(), "{accept:?}");
        assert_eq!(&res.bytes().await.unwrap()[..], wasm.as_bytes(), "{accept:?}");
    }

    // A file without precompressed copies is compressed on the fly for a client that accepts it.
    let res = hub
        .client()
        .get(hub.at("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(
        String::from_utf8(gunzip(&res.bytes().await.unwrap()))
            .unwrap()
            .contains("<title>Hearth</title>")
    );

    // The API's JSON: a pull page of 300 ops arrives gzip'ed and decodes to the same answer.
    let dev = hub.pair("home", "Laptop").await;
    dev.push(&dev.ops(300, "compress")).await;
    let plain = dev.get("pull?after=0&limit=300").await.bytes().await.unwrap();
    let res = dev
        .request(reqwest::Method::GET, "pull?after=0&limit=300")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let body = res.bytes().await.unwrap();
    assert!(
        body.len() * 3 < plain.len(),
        "{} bytes gzip'ed of {}",
        body.len(),
        plain.len()
    );
    let page: serde_json::Value = serde_json::from_slice(&gunzip(&body)).unwrap();
    assert_eq!(page, serde_json::from_slice::<serde_json::Value>(&plain).unwrap());
    assert_eq!(page["ops"].as_array().unwrap().len(), 300);
    hub.stop().await.unwrap();
}
