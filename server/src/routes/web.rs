//! The PWA bundle (Trunk's `dist/`) at `/`, with the index as fallback for app routes, and `/healthz`.
//!
//! Caching: `sw.js`, the manifest and `index.html` are `no-cache` (an update must reach the service worker
//! at once); Trunk's content-hashed assets (`name-<hash>.ext`) are immutable for a year; anything else
//! is revalidated.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
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

async fn serve_file(path: &Path) -> Option<Response> {
    let bytes = tokio::fs::read(path).await.ok()?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(name)),
    );
    Some(res)
}

/// Everything that is not the API: files of the bundle, the index for app routes.
pub async fn static_files(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
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
        && let Some(res) = serve_file(&file).await
    {
        return res;
    }
    if looks_like_file {
        return not_found();
    }
    // An app route (`/projects/42`): the app's index handles it.
    serve_file(&dir.join("index.html"))
        .await
        .unwrap_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

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
