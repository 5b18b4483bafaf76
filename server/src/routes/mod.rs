//! The HTTP surface, one module per endpoint group.

pub mod admin;
pub mod events;
pub mod hub;
pub mod sync;
pub mod web;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::{any, get, post};
use futures_util::StreamExt;
use hearth_core::wire::{APP_VERSION, APP_VERSION_HEADER, SCHEMA_VERSION_HEADER};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{ApiError, Result};

/// Build the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/hub", get(hub::info))
        .route("/v1/pair", post(hub::pair))
        .route("/v1/spaces/{space}/push", post(sync::push))
        .route("/v1/spaces/{space}/pull", get(sync::pull))
        .route("/v1/spaces/{space}/ack", post(sync::ack))
        .route("/v1/spaces/{space}/peers", get(sync::peers))
        .route("/v1/spaces/{space}/snapshot", get(sync::snapshot))
        .route("/v1/spaces/{space}/events", get(events::events))
        .route("/v1", any(api_not_found))
        .route("/v1/{*rest}", any(api_not_found))
        .route("/healthz", get(web::healthz))
        .route("/admin", get(admin::page))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(web::static_files)
        .layer(axum::middleware::map_response(hub_headers))
        // JSON answers (pull pages, snapshots) to clients that accept it; never the live events
        // (text/event-stream) nor what is already encoded (the app's precompressed files).
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// Every response carries the hub's app and schema version.
async fn hub_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(APP_VERSION_HEADER, HeaderValue::from_static(APP_VERSION));
    h.insert(
        SCHEMA_VERSION_HEADER,
        HeaderValue::from(hearth_core::migrate::LATEST),
    );
    res
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{} does not take {method}; see PROTOCOL.md for its method",
        uri.path()
    ))
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; the API is described in PROTOCOL.md".into())
}

/// Read a request body, refusing it with 413 as soon as it passes the body limit (before any parsing),
/// and with 408 when it has not all arrived within the body timeout.
pub async fn read_body(headers: &HeaderMap, body: Body, limits: &crate::Limits) -> Result<Bytes> {
    let (max, secs) = (limits.max_body_bytes, limits.body_timeout_secs);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    let too_large = || {
        ApiError::too_large(format!(
            "the request body is over the hub's limit of {max} bytes; send smaller batches"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    let mut stream = body.into_data_stream();
    // A body that trickles in (a slow-loris sender) is cut off at the deadline.
    while let Some(chunk) = tokio::time::timeout_at(deadline, stream.next())
        .await
        .map_err(|_| ApiError::Timeout(secs))?
    {
        let chunk =
            chunk.map_err(|e| ApiError::Malformed(format!("could not read the request body: {e}")))?;
        if buf.len() + chunk.len() > max {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// Parse a JSON body; 400 with serde's explanation when it does not fit.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::Malformed(format!("the body is not valid JSON for this request: {e}")))
}
