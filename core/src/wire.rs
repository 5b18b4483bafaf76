//! Wire types of the sync protocol (HTTP + JSON under `/v1`), shared by the hub and every client.
//! Field names are the JSON names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hlc::DeviceId;
use crate::op::{Op, SeqOp};

/// Version of the sync protocol this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Request header carrying the client's app version.
pub const APP_VERSION_HEADER: &str = "Hearth-App-Version";
/// Request header carrying the client's store schema version.
pub const SCHEMA_VERSION_HEADER: &str = "Hearth-Schema-Version";
/// This build's app version.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /v1/hub`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubInfo {
    /// The hub's app version.
    pub version: String,
    /// Protocol versions it speaks.
    pub protocols: Vec<u32>,
    /// The hub's clock, ms since the Unix epoch (clients correct their clock with it).
    pub time_ms: u64,
    /// Per-space state, by space name.
    pub spaces: BTreeMap<String, SpaceInfo>,
    /// The op kinds the hub validates and applies, each with the highest `v` it takes. Absent from
    /// hubs of releases before `comment.add`, which take the six first kinds at `v` 1
    /// ([`crate::op::kinds::FIRST_RELEASE`]). A device pushes an op of another kind or a newer `v`
    /// only once the hub lists it: new kinds roll out hub first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<BTreeMap<String, u32>>,
}

/// A space as the hub describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceInfo {
    /// Epoch: bumped by a whole-space migration.
    pub epoch: u64,
    /// Minimum schema version required to push.
    pub min_schema_version: i64,
    /// The whole-space migrations the space went through, oldest first (`hearth migrate`; the epoch
    /// is one more than their number). Absent from hubs before epochs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<String>,
}

/// `POST /v1/pair`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRequest {
    /// The one-time code the hub printed.
    pub code: String,
    /// A name for the device ("laptop", "phone").
    pub name: String,
    /// The device's app version.
    pub app_version: String,
    /// The device's store schema version.
    pub schema_version: i64,
    /// The device's id, if it already has a store (pairing an existing store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceId>,
}

/// Answer to a pairing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairResponse {
    /// The space paired to.
    pub space: String,
    /// The device id to use for ops.
    pub device: DeviceId,
    /// Bearer token for this device and space.
    pub token: String,
}

/// `POST /v1/spaces/{space}/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The batch: all accepted or none.
    pub ops: Vec<Op>,
    /// The epoch the ops were written in (absent: 1). An older epoch than the space's is refused
    /// with `409 epoch_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

/// Answer to a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Ops new to the log.
    pub accepted: usize,
    /// Ops it already had.
    pub duplicates: usize,
    /// Seq of each op, in request order.
    pub seqs: Vec<u64>,
    /// Log head after the commit.
    pub head: u64,
}

impl From<crate::store::AppendOutcome> for PushResponse {
    fn from(o: crate::store::AppendOutcome) -> Self {
        PushResponse {
            accepted: o.accepted,
            duplicates: o.duplicates,
            seqs: o.seqs,
            head: o.head,
        }
    }
}

/// Answer to `GET /v1/spaces/{space}/pull?after=S&limit=N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Ops with seq > `after`, in seq order.
    pub ops: Vec<SeqOp>,
    /// Cursor for the next page (the last seq here, or `after` when empty).
    pub next: u64,
    /// The log head when the page was read.
    pub head: u64,
    /// Lowest seq still pullable; below it, rebuild from the snapshot.
    pub horizon: u64,
    /// The space's epoch.
    pub epoch: u64,
}

/// `POST /v1/spaces/{space}/ack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequest {
    /// Everything at or below this seq is applied on the device.
    pub seq: u64,
}

/// Answer to `GET /v1/spaces/{space}/snapshot?seq=&after=&limit=`: one page of the space's latest
/// snapshot (or of the one at `seq`). Merge every page's entries, then pull after `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPage {
    /// Every op with a seq at or below this is reflected; pull after it.
    pub seq: u64,
    /// The space's epoch at that seq.
    pub epoch: u64,
    /// `sha256:<hex>` of the canonical export of the space at `seq`.
    pub digest: String,
    /// How many entries the whole snapshot has.
    pub total: u64,
    /// This page's entries, in snapshot order.
    pub entries: Vec<crate::snapshot::Entry>,
    /// Ask again with `after=<next>` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// One device in `GET /v1/spaces/{space}/peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Device id.
    pub device: DeviceId,
    /// Name given at pairing.
    pub name: String,
    /// Highest seq it acknowledged.
    pub acked: u64,
    /// Last request, ms since the Unix epoch.
    pub last_seen_ms: u64,
    /// App version it last reported.
    pub app_version: String,
    /// Schema version it last reported.
    pub schema_version: i64,
    /// The epoch its data was in at its last push or pull since the hub started (0: not reported).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: u64,
    /// Where it stands, computed when the network view is served (not stored).
    #[serde(default)]
    pub state: PeerState,
}

/// A device's standing in the network view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// Seen within the hub's peer TTL: its acks hold the horizon back.
    #[default]
    Active,
    /// Not seen within the peer TTL: it no longer holds the horizon back.
    Inactive,
    /// It has not acked up to what the log has compacted away: it must restore from a snapshot.
    BehindHorizon,
}

/// Answer to the peers request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersResponse {
    /// Every device paired to the space.
    pub peers: Vec<PeerInfo>,
    /// The log head.
    pub head: u64,
    /// The lowest acked seq over active devices (the head when none is active): what compaction may
    /// remove up to.
    pub horizon: u64,
    /// Ops at or below this seq may already be gone from the log (0: nothing compacted yet).
    #[serde(default)]
    pub compacted: u64,
    /// The seq of the latest snapshot (0: none yet).
    #[serde(default)]
    pub snapshot_seq: u64,
    /// Rows in the hub's log of this space.
    #[serde(default)]
    pub log_rows: u64,
    /// The space's epoch (1 until a whole-space migration).
    #[serde(default = "first_epoch")]
    pub epoch: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn first_epoch() -> u64 {
    1
}

/// A live event: the head moved. When the commits since the hub's previous event were small, the
/// event also carries them: `page` is exactly the answer to a pull `?after=<after>`, so a device whose
/// cursor is `after` applies it without pulling (see [`HeadEvent::answers`]). Older hubs send only
/// `head`, and older devices ignore the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadEvent {
    /// The new head.
    pub head: u64,
    /// The seq `page` follows on from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// The ops after `after`, as a pull would answer them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PullResponse>,
}

impl HeadEvent {
    /// An event with the head only.
    pub fn head(head: u64) -> Self {
        HeadEvent {
            head,
            after: None,
            page: None,
        }
    }

    /// The event's page when it is a valid answer to `GET …/pull?after=<after>&limit=<limit>`
    /// made in `epoch`: it follows on from `after`, fits the limit and is of the same epoch.
    pub fn answers(&self, after: u64, limit: usize, epoch: u64) -> Option<&PullResponse> {
        self.page.as_ref().filter(|p| {
            self.after == Some(after)
                && p.ops.len() <= limit
                && p.epoch == epoch
                && after >= p.horizon
                && p.next >= after
        })
    }
}

/// Every error body: a stable code and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable code (see [`codes`]).
    pub error: String,
    /// Human-readable explanation and next step.
    pub message: String,
    /// The hub's clock, on `clock_skew`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_time_ms: Option<u64>,
    /// The op at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// The hub's compaction horizon, on `behind_horizon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<u64>,
    /// The seq of the snapshot to restore from, on `behind_horizon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_seq: Option<u64>,
    /// The space's epoch, on `epoch_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

/// Error codes and their HTTP status.
pub mod codes {
    /// 400: the body is not valid JSON of the expected shape.
    pub const MALFORMED: &str = "malformed";
    /// 401: no token, or an unknown one.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 403: the token is valid but not for this space, or an op's device is not the caller's.
    pub const FORBIDDEN: &str = "forbidden";
    /// 404.
    pub const NOT_FOUND: &str = "not_found";
    /// 405: the endpoint exists but not with this method.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 409: the space moved to a new epoch.
    pub const EPOCH_CHANGED: &str = "epoch_changed";
    /// 410: `after` is below the horizon; rebuild from the snapshot.
    pub const BEHIND_HORIZON: &str = "behind_horizon";
    /// 410: the snapshot asked for by seq was replaced by a newer one; page the current one from the start.
    pub const SNAPSHOT_GONE: &str = "snapshot_gone";
    /// 413: body, batch or payload too large.
    pub const TOO_LARGE: &str = "too_large";
    /// 422: an op failed validation.
    pub const INVALID_OP: &str = "invalid_op";
    /// 422: an op is stamped too far ahead of the hub's clock, or its id was refused so before.
    pub const CLOCK_SKEW: &str = "clock_skew";
    /// 426: the space requires a newer schema version to write.
    pub const UPGRADE_REQUIRED: &str = "upgrade_required";
    /// 429: too many requests from this device.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 408: the request body did not arrive in time.
    pub const TIMEOUT: &str = "timeout";
    /// 507: the hub's disk is full; nothing of the request was written. Retry later.
    pub const STORAGE_FULL: &str = "storage_full";
    /// 503: the hub's data directory is read-only; nothing of the request was written. Retry later.
    pub const STORAGE_READ_ONLY: &str = "storage_read_only";
    /// 500.
    pub const INTERNAL: &str = "internal";
}
