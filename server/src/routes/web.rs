//! The PWA bundle (Trunk's `dist/`) at `/`, with the index as fallback for app routes, and `/healthz`.
//!
//! Caching: `sw.js`, the manifest and `index.html` are `no-cache` (an update must reach the service worker
//! at once); Trunk's content-hashed assets (`name-<hash>.ext`) are immutable for a year; anything else
//! is revalidated.
//!
//! Compression: the bundle build writes `name.br` and `name.gz` beside each text and wasm file; a
//! request that accepts brotli (or gzip) gets that file with `Content-Encoding`, so the hub never
//! compresses the app on the fly. Other responses (the API's JSON) are compressed by the router's
//! compression layer.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::AppState;

const NO_CACHE: &str = "no-cache";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The page served at `/` until a PWA bundle exists.
pub const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hearth hub</title></head>\n\
<body><h1>Hearth hub</h1><p>This hub is running, but the Hearth app (PWA) is not built yet, or <code>hearth serve</code> \
was not given its bundle (<code>--web DIR</code>, default <code>dist/</code>).</p>\n\
<p>The sync API is under <code>/v1</code>; the network view is at <a href=\"/admin\">/admin</a>.</p></body></html>\n";

/// `GET /healthz`.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Content type by file extension.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        "map" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Is this a content-hashed asset, like Trunk's `app-3f9a0c1d2e4b5a6c.js` or `app-3f9a…_bg.wasm`? (Trunk
/// prints its 64-bit hash without leading zeros, so 10 or more hex digits count.)
pub fn is_hashed(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(base, hash)| {
        !base.is_empty() && hash.len() >= 10 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Cache-Control for a served file.
pub fn cache_control(name: &str) -> &'static str {
    if name == "sw.js" || name == "index.html" || name.ends_with(".webmanifest") || name == "manifest.json" {
        NO_CACHE
    } else if is_hashed(name) {
        IMMUTABLE
    } else {
        NO_CACHE
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

/// The precompressed encodings a request accepts, best first (`Accept-Encoding`; `q=0` refuses one,
/// `*` stands for those not named).
pub fn accepted_encodings(headers: &HeaderMap) -> Vec<&'static str> {
    let mut named: Vec<(String, bool)> = Vec::new();
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            named.push((name, !refused));
        }
    }
    let wildcard = named.iter().find(|(n, _)| n == "*").map(|(_, ok)| *ok);
    ["br", "gzip"]
        .into_iter()
        .filter(|enc| {
            named
                .iter()
                .find(|(n, _)| n == enc)
                .map(|(_, ok)| *ok)
                .or(wildcard)
                .unwrap_or(false)
        })
        .collect()
}

/// The file's suffix for a precompressed encoding.
fn suffix(encoding: &str) -> &'static str {
    if encoding == "br" { "br" } else { "gz" }
}

async fn serve_file(path: &Path, headers: &HeaderMap) -> Option<Response> {
    let mut body = None;
    for encoding in accepted_encodings(headers) {
        let mut name = path.as_os_str().to_owned();
        name.push(".");
        name.push(suffix(encoding));
        if let Ok(bytes) = tokio::fs::read(PathBuf::from(name)).await {
            body = Some((bytes, Some(encoding)));
            break;
        }
    }
    let (bytes, encoding) = match body {
        Some(found) => found,
        None => (tokio::fs::read(path).await.ok()?, None),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(name)),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(encoding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    Some(res)
}

/// Everything that is not the API: files of the bundle, the index for app routes.
pub async fn static_files(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    let rel = uri.path().trim_start_matches('/');
    let looks_like_file = rel.rsplit('/').next().is_some_and(|last| last.contains('.'));
    let Some(dir) = state.config().web_dir.as_deref() else {
        if looks_like_file {
            return not_found();
        }
        return ([(header::CACHE_CONTROL, NO_CACHE)], Html(NOT_BUILT)).into_response();
    };
    // Only plain relative components: no `..`, no hidden files, no absolute paths.
    if rel.split('/').any(|c| c.starts_with('.') || c.contains('\\')) {
        return not_found();
    }
    let file: PathBuf = if rel.is_empty() {
        dir.join("index.html")
    } else {
        dir.join(rel)
    };
    if tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_file())
        && let Some(res) = serve_file(&file, &headers).await
    {
        return res;
    }
    if looks_like_file {
        return not_found();
    }
    // An app route (`/projects/42`): the app's index handles it.
    serve_file(&dir.join("index.html"), &headers)
        .await
        .unwrap_or_else(not_found)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Vec<&'static str> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        accepted_encodings(&h)
    }

    #[test]
    fn accepted_encodings_best_first() {
        assert_eq!(accept("gzip, deflate, br, zstd"), ["br", "gzip"]);
        assert_eq!(accept("gzip"), ["gzip"]);
        assert_eq!(accept("br;q=0, gzip;q=0.5"), ["gzip"]);
        assert_eq!(accept("*"), ["br", "gzip"]);
        assert_eq!(accept("*, br;q=0"), ["gzip"]);
        assert_eq!(accept("identity"), Vec::<&str>::new());
        assert_eq!(accepted_encodings(&HeaderMap::new()), Vec::<&str>::new());
    }

    #[test]
    fn hashed_names() {
        assert!(is_hashed("hearth-web-3f9a0c1d2e4b5a6c.js"));
        assert!(is_hashed("hearth-web-3f9a0c1d2e4b5a6c_bg.wasm"));
        assert!(
            is_hashed("hearth-web-5c1fdbc6820a25.js"),
            "Trunk drops leading zeros of its hash"
        );
        assert!(!is_hashed("icon-192.png"));
        assert!(is_hashed("style-0123456789abcdef0123.css"));
        assert!(!is_hashed("sw.js"));
        assert!(!is_hashed("hearth-web.js"));
        assert_eq!(cache_control("sw.js"), NO_CACHE);
        assert_eq!(cache_control("manifest.webmanifest"), NO_CACHE);
        assert_eq!(
            content_type(Path::new("a/b-0123456789abcdef_bg.wasm")),
            "application/wasm"
        );
    }
}
