//! `GET /v1/hub` (public) and `POST /v1/pair` (a one-time code buys a device token).

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use hearth_core::DeviceId;
use hearth_core::wire::{APP_VERSION, HubInfo, PROTOCOL_VERSION, PairRequest, PairResponse};

use super::{parse_json, read_body};
use crate::AppState;
use crate::devices::now_ms;
use crate::error::{ApiError, Result};

/// Hub version, protocols, clock, each space's epoch and minimum schema version, and the op kinds it
/// applies.
pub async fn info(State(state): State<AppState>) -> Result<Json<HubInfo>> {
    let spaces = state.spaces_info().await?;
    Ok(Json(HubInfo {
        version: APP_VERSION.to_owned(),
        protocols: vec![PROTOCOL_VERSION],
        time_ms: now_ms(),
        spaces,
        kinds: Some(hearth_core::apply::Kinds::default().list()),
    }))
}

/// Redeem a pairing code for a device token.
pub async fn pair(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PairResponse>> {
    state.check_pairing(peer.ip())?;
    let bytes = read_body(&headers, body, &state.config().limits).await?;
    let req: PairRequest = parse_json(&bytes)?;
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::Malformed(
            "name must be 1–100 printable characters".into(),
        ));
    }
    if req.app_version.is_empty() || req.app_version.len() > 64 {
        return Err(ApiError::Malformed("app_version must be 1–64 characters".into()));
    }
    let device = req.device.unwrap_or_else(|| DeviceId(rand::random()));
    let (code, app, schema) = (req.code.clone(), req.app_version.clone(), req.schema_version);
    let paired = state
        .db(move |d| d.pair(&code, device, &name, &app, schema))
        .await?
        .ok_or_else(|| {
            state.pairing_failed(peer.ip());
            ApiError::Unauthorized(
                "this pairing code is unknown, already used or expired; get a fresh one with `hearth invite`"
                    .into(),
            )
        })?;
    // Open the space now so the first push does not wait for it.
    state.space(&paired.space).await?;
    state.add_peer(&paired);
    tracing::info!(space = paired.space, device = %paired.device, name = paired.peer.name, "paired a device");
    Ok(Json(PairResponse {
        space: paired.space,
        device: paired.device,
        token: paired.token,
    }))
}
