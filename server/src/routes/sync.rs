//! The log: `push`, `pull`, `ack` and `peers` of `/v1/spaces/{space}`.

use std::io::Write;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::wire::{AckRequest, PeersResponse, PushRequest, PushResponse};
use serde::Deserialize;

use super::{parse_json, read_body};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Result};

/// Default page size of a pull.
pub const DEFAULT_PULL_LIMIT: usize = 1_000;

/// Counts bytes without keeping them.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Append a batch: all-or-nothing, idempotent by op id, answered once durable.
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PushResponse>> {
    caller.check_space(&space)?;
    let info = state.space_info(&space).await?;
    if caller.schema_version < info.min_schema_version {
        return Err(ApiError::UpgradeRequired {
            space,
            have: caller.schema_version,
            required: info.min_schema_version,
        });
    }
    let limits = &state.config().limits;
    let bytes = read_body(&headers, body, limits).await?;
    let req: PushRequest = parse_json(&bytes)?;
    drop(bytes);
    // The network view shows where each device is, also one the space has left behind.
    state.note_epoch(&space, caller.device, req.epoch.unwrap_or(1));
    check_epoch(&space, &info, req.epoch)?;
    if req.ops.len() > limits.max_ops_per_batch {
        return Err(ApiError::too_large(format!(
            "this batch has {} ops, over the hub's limit of {} per push; split it",
            req.ops.len(),
            limits.max_ops_per_batch
        )));
    }
    for op in &req.ops {
        if op.id.device != caller.device {
            return Err(ApiError::Forbidden {
                message: format!(
                    "op {} was written by device {}, but this token is device {}'s; a device pushes only its own ops",
                    op.id, op.id.device, caller.device
                ),
                op: Some(op.id.to_string()),
            });
        }
        let mut size = Counter(0);
        serde_json::to_writer(&mut size, &op.payload).map_err(ApiError::internal)?;
        if size.0 > limits.max_payload_bytes {
            return Err(ApiError::TooLarge {
                message: format!(
                    "op {} has a {}-byte payload, over the hub's limit of {} bytes",
                    op.id, size.0, limits.max_payload_bytes
                ),
                op: Some(op.id.to_string()),
            });
        }
    }
    let space = state.space(&space).await?;
    let out = space.push(req.ops).await?;
    Ok(Json(out.into()))
}

/// A request of an older epoch than the space's is answered `409 epoch_changed`.
fn check_epoch(space: &str, info: &hearth_core::wire::SpaceInfo, epoch: Option<u64>) -> Result<()> {
    let have = epoch.unwrap_or(1);
    if have < info.epoch {
        return Err(ApiError::EpochChanged {
            space: space.to_owned(),
            epoch: info.epoch,
            have,
            migrations: info.migrations.join(", "),
        });
    }
    Ok(())
}

/// `?after=S&limit=N&epoch=E`.
#[derive(Debug, Deserialize)]
pub struct PullParams {
    after: Option<u64>,
    limit: Option<usize>,
    epoch: Option<u64>,
}

/// A page of the log after a seq, with the head, horizon and epoch.
pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
    params: std::result::Result<Query<PullParams>, QueryRejection>,
) -> Result<Response> {
    caller.check_space(&space)?;
    let Query(params) = params.map_err(|e| {
        ApiError::Malformed(format!(
            "bad query: {}; use ?after=<seq>&limit=<n>&epoch=<epoch>",
            e.body_text()
        ))
    })?;
    let max = state.config().limits.max_pull_limit;
    let limit = params.limit.unwrap_or(DEFAULT_PULL_LIMIT);
    if limit == 0 {
        return Err(ApiError::Malformed("limit must be at least 1".into()));
    }
    let limit = limit.min(max);
    let after = params.after.unwrap_or(0);
    let name = space;
    let space = state.space(&name).await?;
    // Ops, head, horizon and epoch come from one snapshot of the log.
    let page = space.page(after, limit).await?;
    state.note_epoch(&name, caller.device, params.epoch.unwrap_or(1));
    if params.epoch.unwrap_or(1) < page.epoch {
        let info = state.space_info(&name).await?;
        check_epoch(&name, &info, params.epoch)?;
    }
    if after < page.horizon {
        return Err(ApiError::BehindHorizon {
            after,
            horizon: page.horizon,
            snapshot_seq: page.snapshot,
        });
    }
    let body = page.pull_body(after);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `?seq=S&after=I&limit=N`.
#[derive(Debug, Deserialize)]
pub struct SnapshotParams {
    seq: Option<u64>,
    after: Option<u64>,
    limit: Option<usize>,
}

/// Default entries per snapshot page.
pub const DEFAULT_SNAPSHOT_LIMIT: usize = 5_000;

/// A page of the space's current snapshot (or of the one at `seq`, while it is kept).
pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
    params: std::result::Result<Query<SnapshotParams>, QueryRejection>,
) -> Result<Response> {
    caller.check_space(&space)?;
    let Query(params) = params.map_err(|e| {
        ApiError::Malformed(format!(
            "bad query: {}; use ?seq=<seq>&after=<entry>&limit=<n>",
            e.body_text()
        ))
    })?;
    let limit = params.limit.unwrap_or(DEFAULT_SNAPSHOT_LIMIT);
    if limit == 0 {
        return Err(ApiError::Malformed("limit must be at least 1".into()));
    }
    let limit = limit.min(state.config().limits.max_pull_limit);
    let (seq, after) = (params.seq, params.after.unwrap_or(0));
    let open = state.space(&space).await?;
    match open.snapshot_page(seq, after, limit).await? {
        Some(chunk) => Ok(([(header::CONTENT_TYPE, "application/json")], chunk.body()?).into_response()),
        None => Err(match seq {
            Some(seq) => ApiError::Gone(format!(
                "the snapshot at seq {seq} has been replaced by a newer one; start again without seq"
            )),
            None => ApiError::NotFound(format!(
                "space {space:?} has no snapshot yet (nothing has been compacted); pull from seq 0"
            )),
        }),
    }
}

/// Record that the caller has applied everything up to a seq.
pub async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode> {
    caller.check_space(&space)?;
    let bytes = read_body(&headers, body, &state.config().limits).await?;
    let req: AckRequest = parse_json(&bytes)?;
    let open = state.space(&space).await?;
    let head = open.head();
    if req.seq > head {
        return Err(ApiError::Malformed(format!(
            "cannot ack seq {} beyond the head {head}",
            req.seq
        )));
    }
    state.ack(&space, caller.device, req.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The network view: every device of the space with its acked seq, last seen and versions.
pub async fn peers(
    State(state): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
) -> Result<Json<PeersResponse>> {
    caller.check_space(&space)?;
    Ok(Json(state.network_view(&space).await?))
}
