//! The hub's one error type: every failure becomes `{error, message}` JSON with a fitting status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::wire::{ErrorBody, codes};

/// Result alias for handlers.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Everything a request can fail with. Messages say what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body or query is not what the endpoint expects.
    #[error("{0}")]
    Malformed(String),
    /// 401: no token, an unknown token, or a bad pairing code.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token is not for this space, or an op is not the caller's.
    #[error("{message}")]
    Forbidden {
        /// Why.
        message: String,
        /// The op at fault, if any.
        op: Option<String>,
    },
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 413: body, batch or payload over the limit.
    #[error("{message}")]
    TooLarge {
        /// Which limit.
        message: String,
        /// The op at fault, if any.
        op: Option<String>,
    },
    /// 422: an op failed validation; nothing of the batch was written.
    #[error("op {op} is invalid: {reason}; nothing of this batch was written")]
    InvalidOp {
        /// The op.
        op: String,
        /// What is wrong.
        reason: String,
    },
    /// 422: an op is stamped too far ahead of the hub's clock, or its id was refused so before (an id
    /// once refused for clock skew stays refused).
    #[error("{}", clock_skew_message(.op, .ahead_ms, .limit_ms, .refused_before))]
    ClockSkew {
        /// The op.
        op: String,
        /// How far ahead.
        ahead_ms: u64,
        /// The bound.
        limit_ms: u64,
        /// The hub's time.
        hub_time_ms: u64,
        /// The hub refused this op id for clock skew before, and refuses it for good.
        refused_before: bool,
    },
    /// 426: the space needs a newer schema to write.
    #[error(
        "space {space:?} requires schema version {required} or newer to write; this device runs {have}. \
         Update Hearth: reading still works, and unsent changes wait on the device"
    )]
    UpgradeRequired {
        /// The space.
        space: String,
        /// The device's schema version.
        have: i64,
        /// The space's minimum.
        required: i64,
    },
    /// 409: the space moved to a newer epoch (a whole-space migration) than the request's.
    #[error(
        "space {space:?} moved to epoch {epoch} (its data changed form: {migrations}); this device is on \
         epoch {have}: rebuild from the hub's snapshot and carry unsent changes over through the lenses \
         (Hearth does this on the next sync; an older release must be updated first)"
    )]
    EpochChanged {
        /// The space.
        space: String,
        /// The space's epoch.
        epoch: u64,
        /// The request's epoch.
        have: u64,
        /// The migrations, named.
        migrations: String,
    },
    /// 410: the pull's cursor is below the compaction horizon; restore from the snapshot first.
    #[error(
        "this device's cursor {after} is behind the hub's horizon {horizon}: the ops after it were compacted \
         away. Restore from the snapshot at seq {snapshot_seq} (GET …/snapshot), then pull after it; \
         unsent changes stay on the device"
    )]
    BehindHorizon {
        /// The cursor asked for.
        after: u64,
        /// The log's horizon.
        horizon: u64,
        /// The snapshot to restore from.
        snapshot_seq: u64,
    },
    /// 410: a snapshot asked for by seq is no longer kept.
    #[error("{0}")]
    Gone(String),
    /// 429.
    #[error("too many requests from this device; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request will be accepted.
        retry_after_secs: u64,
    },
    /// 429 on pairing: too many wrong codes from this address.
    #[error(
        "too many wrong pairing codes from this address; retry in {retry_after_secs} s with a fresh code from `hearth invite`"
    )]
    PairingLocked {
        /// Seconds until pairing is accepted again from this address.
        retry_after_secs: u64,
    },
    /// 408: the request body did not arrive in time.
    #[error("the request body did not arrive within {0} s; send it again")]
    Timeout(u64),
    /// 507: the disk under the hub's data is full; nothing of the request was written.
    #[error(
        "the hub's disk is full, so nothing of this request was written; your changes are kept on your device and sync once the hub's operator frees space"
    )]
    StorageFull,
    /// 503: the hub's data directory is read-only; nothing of the request was written.
    #[error(
        "the hub cannot write its data (its data directory is read-only), so nothing of this request was written; your changes are kept on your device and sync once it can"
    )]
    StorageReadOnly,
    /// 500: storage failure or a bug; details are in the hub's log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 403 without an op.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            message: message.into(),
            op: None,
        }
    }

    /// A 413 without an op.
    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError::TooLarge {
            message: message.into(),
            op: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InvalidOp { .. } | ApiError::ClockSkew { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UpgradeRequired { .. } => StatusCode::UPGRADE_REQUIRED,
            ApiError::EpochChanged { .. } => StatusCode::CONFLICT,
            ApiError::BehindHorizon { .. } | ApiError::Gone(_) => StatusCode::GONE,
            ApiError::RateLimited { .. } | ApiError::PairingLocked { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::StorageReadOnly => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of [`hearth_core::wire::codes`].
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => codes::MALFORMED,
            ApiError::Unauthorized(_) => codes::UNAUTHORIZED,
            ApiError::Forbidden { .. } => codes::FORBIDDEN,
            ApiError::NotFound(_) => codes::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => codes::METHOD_NOT_ALLOWED,
            ApiError::TooLarge { .. } => codes::TOO_LARGE,
            ApiError::InvalidOp { .. } => codes::INVALID_OP,
            ApiError::ClockSkew { .. } => codes::CLOCK_SKEW,
            ApiError::UpgradeRequired { .. } => codes::UPGRADE_REQUIRED,
            ApiError::EpochChanged { .. } => codes::EPOCH_CHANGED,
            ApiError::BehindHorizon { .. } => codes::BEHIND_HORIZON,
            ApiError::Gone(_) => codes::SNAPSHOT_GONE,
            ApiError::RateLimited { .. } | ApiError::PairingLocked { .. } => codes::RATE_LIMITED,
            ApiError::Timeout(_) => codes::TIMEOUT,
            ApiError::StorageFull => codes::STORAGE_FULL,
            ApiError::StorageReadOnly => codes::STORAGE_READ_ONLY,
            ApiError::Internal(_) => codes::INTERNAL,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let (hub_time_ms, op) = match self {
            ApiError::ClockSkew { op, hub_time_ms, .. } => (Some(*hub_time_ms), Some(op.clone())),
            ApiError::InvalidOp { op, .. } => (None, Some(op.clone())),
            ApiError::Forbidden { op, .. } | ApiError::TooLarge { op, .. } => (None, op.clone()),
            _ => (None, None),
        };
        let (horizon, snapshot_seq) = match self {
            ApiError::BehindHorizon {
                horizon,
                snapshot_seq,
                ..
            } => (Some(*horizon), Some(*snapshot_seq)),
            _ => (None, None),
        };
        ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
            hub_time_ms,
            op,
            horizon,
            snapshot_seq,
            epoch: match self {
                ApiError::EpochChanged { epoch, .. } => Some(*epoch),
                _ => None,
            },
        }
    }

    /// Map a core error from the append path.
    pub fn from_core(e: hearth_core::Error, hub_time_ms: u64) -> Self {
        use hearth_core::Error as E;
        match e {
            E::InvalidOp { op, reason } => ApiError::InvalidOp { op, reason },
            E::ClockSkew {
                op,
                ahead_ms,
                limit_ms,
                refused_before,
            } => ApiError::ClockSkew {
                op: op.to_string(),
                ahead_ms,
                limit_ms,
                hub_time_ms,
                refused_before,
            },
            E::BadOpId(bad) => ApiError::InvalidOp {
                op: bad.0.clone(),
                reason: "not a well-formed op id".into(),
            },
            other => other.into(),
        }
    }

    /// A full disk or a read-only data directory, said as such (507/503), else a 500.
    fn storage(e: &rusqlite::Error, shown: impl std::fmt::Display) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DiskFull) => {
                tracing::error!(error = %shown, "the disk under the hub's data is full");
                ApiError::StorageFull
            }
            Some(C::ReadOnly) => {
                tracing::error!(error = %shown, "the hub's data is read-only");
                ApiError::StorageReadOnly
            }
            _ => ApiError::internal(shown),
        }
    }

    /// A 500 (or a 507/503 for a full or read-only disk); the details go to the log, not to the client.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        ApiError::Internal("the hub could not complete the request; see its log".into())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::storage(&e, format!("storage: {e}"))
    }
}

impl From<crate::devices::DbError> for ApiError {
    fn from(e: crate::devices::DbError) -> Self {
        match &e {
            crate::devices::DbError::Sqlite(s) => ApiError::storage(s, &e),
            crate::devices::DbError::Postgres(_) | crate::devices::DbError::Corrupt(_) => {
                ApiError::internal(e)
            }
        }
    }
}

impl From<hearth_core::Error> for ApiError {
    fn from(e: hearth_core::Error) -> Self {
        match &e {
            hearth_core::Error::Sqlite(s) => ApiError::storage(s, &e),
            _ => ApiError::internal(e),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("task failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code(), "request failed");
        } else {
            tracing::debug!(code = self.code(), message = %self, "request refused");
        }
        let retry = match &self {
            ApiError::RateLimited { retry_after_secs } | ApiError::PairingLocked { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        };
        let behind = matches!(self, ApiError::BehindHorizon { .. } | ApiError::Gone(_));
        let mut resp = (status, axum::Json(self.body())).into_response();
        if let Some(secs) = retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if behind {
            // The answer changes as soon as the device has restored; no cache may keep it.
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        resp
    }
}

/// The sentence of [`ApiError::ClockSkew`].
fn clock_skew_message(op: &str, ahead_ms: &u64, limit_ms: &u64, refused_before: &bool) -> String {
    if *refused_before {
        format!(
            "op {op} was refused before for being stamped too far ahead of the hub's clock, and its id \
             stays refused (it is {ahead_ms} ms ahead now, limit {limit_ms} ms); nothing of this batch was \
             written. Re-stamp unsent ops from this one on with the hub's clock (hub_time_ms)"
        )
    } else {
        format!(
            "op {op} is stamped {ahead_ms} ms ahead of the hub's clock (limit {limit_ms} ms); nothing of \
             this batch was written. Correct the device clock with hub_time_ms and re-stamp unsent ops"
        )
    }
}
