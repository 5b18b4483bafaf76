//! The `kv` table: a device's identity, clock, cursor and pairing; a hub log's head, horizon and epoch.

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;

/// Keys of the `kv` table.
pub mod keys {
    /// This store's device id.
    pub const DEVICE: &str = "device";
    /// Last HLC reading, `<ms hex>-<counter hex>`.
    pub const CLOCK: &str = "clock";
    /// Milliseconds to add to the wall clock (learned from the hub).
    pub const CLOCK_OFFSET: &str = "clock_offset_ms";
    /// Highest seq pulled and applied.
    pub const CURSOR: &str = "cursor";
    /// Highest seq assigned (hub).
    pub const HEAD: &str = "head";
    /// Ops at or below this seq may have been compacted out of the hub's log (hub; 0 when absent).
    pub const HORIZON: &str = "horizon";
    /// The space's epoch (hub; 1 when absent).
    pub const EPOCH: &str = "epoch";
    /// The whole-space migrations the data of this store went through, oldest first (a JSON array of
    /// names, see [`crate::evolve`]; absent: none). The epoch is one more than their number.
    pub const MIGRATIONS: &str = "migrations";
    /// The seq of the space's current snapshot (hub; 0 when none yet).
    pub const SNAPSHOT: &str = "snapshot";
    /// The last time this device restored from a snapshot (JSON of the recovery, see the sync engine).
    pub const LAST_RECOVERY: &str = "last_recovery";

    /// The greatest op id of `device` that compaction removed from the hub's log.
    pub fn compacted(device: crate::id::DeviceId) -> String {
        format!("compacted:{device}")
    }
    /// The prefix of the marks of `device`'s op ids a hub log refused for clock skew (hub; see
    /// [`skew_refused`]); every mark of the device sorts after it, in op id order.
    pub fn skew_refused_prefix(device: crate::id::DeviceId) -> String {
        format!("skew_refused:{device}:")
    }
    /// The mark of an op id a hub log refused for clock skew: that id stays refused (hub; the value is
    /// empty). Keyed by device first, so that compaction drops a device's marks up to its watermark as
    /// one range.
    pub fn skew_refused(op: crate::id::OpId) -> String {
        format!("{}{op}", skew_refused_prefix(op.device))
    }
    /// Greatest id of this device's ops the hub has confirmed: re-stamped ops must stay above it.
    pub const OWN_CONFIRMED: &str = "own_confirmed";
    /// Highest seq acknowledged to the hub.
    pub const ACKED: &str = "acked";
    /// A client's hub base URL.
    pub const HUB_URL: &str = "hub_url";
    /// The space a client is paired to.
    pub const SPACE: &str = "space";
    /// A client's bearer token for that space.
    pub const TOKEN: &str = "token";
    /// The name a client paired with.
    pub const DEVICE_NAME: &str = "device_name";
    /// The names of the space's devices as the hub last listed them (JSON object id → name), so that
    /// conflicts can say which device made an edit while offline.
    pub const PEER_NAMES: &str = "peer_names";
    /// When a client last completed a sync, ms since the Unix epoch.
    pub const LAST_SYNC: &str = "last_sync_ms";
    /// "1" when confirmed ops are kept in the local log.
    pub const KEEP_HISTORY: &str = "keep_history";
}

pub(crate) fn kv_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM kv WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn kv_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// A device's cursor: the highest seq pulled and applied (0 before the first pull).
pub(crate) fn cursor_of(conn: &Connection) -> Result<u64> {
    Ok(kv_get(conn, keys::CURSOR)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Move the cursor up to `seq`; never lower it.
pub(crate) fn raise_cursor(conn: &Connection, seq: u64) -> Result<()> {
    if seq > cursor_of(conn)? {
        kv_set(conn, keys::CURSOR, &seq.to_string())?;
    }
    Ok(())
}

/// Where a log stands: head, horizon and epoch, read together (kv keys `head`, `horizon`, `epoch`, `snapshot` of a hub log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    /// The highest seq committed.
    pub head: u64,
    /// Ops at or below it may have been compacted away (0: nothing has been).
    pub horizon: u64,
    /// The space's epoch (starts at 1).
    pub epoch: u64,
    /// The seq of the current snapshot (0: none yet).
    pub snapshot: u64,
}

/// Head, horizon, epoch and snapshot from the `kv` table (call inside a transaction for one snapshot).
pub(crate) fn position(conn: &Connection) -> Result<LogPosition> {
    let number = |key, default| -> Result<u64> {
        Ok(kv_get(conn, key)?.and_then(|s| s.parse().ok()).unwrap_or(default))
    };
    Ok(LogPosition {
        head: number(keys::HEAD, 0)?,
        horizon: number(keys::HORIZON, 0)?,
        epoch: number(keys::EPOCH, 1)?,
        snapshot: number(keys::SNAPSHOT, 0)?,
    })
}
