//! The SQLite store: migrations, the op log, the outbox, the clock, and the entry points that feed the
//! one apply path.
//!
//! ```
//! use std::sync::Arc;
//! use hearth_core::{NewOp, Options, Store, SystemEnv};
//!
//! let mut store = Store::open_in_memory(Arc::new(SystemEnv), Options::default()).unwrap();
//! let node = store.new_node_id();
//! store.commit(vec![NewOp::create(&node, "project", Default::default()),
//!                   NewOp::set(&node, "title", "Garden".into())]).unwrap();
//! assert_eq!(store.outbox_len().unwrap(), 2);
//! assert!(store.export().unwrap().contains("\"Garden\""));
//! ```

mod hub;

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::apply::{self, Kinds, Prepared};
use crate::error::{Error, Result};
use crate::hlc::{Clock, DEFAULT_MAX_DRIFT_MS, DeviceId, Env, Timestamp};
use crate::migrate;
use crate::op::{NewOp, Op, OpId, SeqOp};

pub use hub::{AppendOutcome, head, log_page, log_page_json};

/// Which side of sync a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// A device: keeps unconfirmed and not-yet-understood ops, prunes the rest (unless `keep_history`).
    #[default]
    Device,
    /// A hub: keeps every op with its seq until compaction.
    Hub,
}

/// How a store is opened.
#[derive(Debug, Clone)]
pub struct Options {
    /// Device or hub.
    pub role: Role,
    /// Refuse received ops stamped more than this many ms ahead of local (corrected) time.
    pub max_drift_ms: u64,
    /// Keep confirmed ops in the log on a device (full local history). Off by default.
    pub keep_history: bool,
    /// Op kinds beyond the built-ins that this build applies.
    pub kinds: Kinds,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            role: Role::Device,
            max_drift_ms: DEFAULT_MAX_DRIFT_MS,
            keep_history: false,
            kinds: Kinds::default(),
        }
    }
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Ops that went through the apply path.
    pub applied: usize,
    /// Ops kept in the log without applying (unknown kind or newer `v`).
    pub stored_unknown: usize,
}

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
    /// When a client last completed a sync, ms since the Unix epoch.
    pub const LAST_SYNC: &str = "last_sync_ms";
    /// "1" when confirmed ops are kept in the local log.
    pub const KEEP_HISTORY: &str = "keep_history";
}

/// A Hearth database: one space as seen by one device or by the hub.
pub struct Store {
    conn: Connection,
    env: Arc<dyn Env>,
    opts: Options,
    device: DeviceId,
    clock: Clock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("device", &self.device)
            .field("role", &self.opts.role)
            .finish()
    }
}

fn parse_clock(s: &str) -> Option<Timestamp> {
    let (ms, counter) = s.split_once('-')?;
    Some(Timestamp {
        ms: u64::from_str_radix(ms, 16).ok()?,
        counter: u16::from_str_radix(counter, 16).ok()?,
    })
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

impl Store {
    /// Open a store on any SQLite connection (native file, memory, or the browser's OPFS): migrate it,
    /// make or load the device id and clock, and replay stored ops this build can now apply.
    pub fn open(mut conn: Connection, env: Arc<dyn Env>, opts: Options) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate::migrate(&mut conn)?;
        let device = match kv_get(&conn, keys::DEVICE)? {
            Some(d) => d.parse()?,
            None => {
                let d = DeviceId(env.random_u64());
                kv_set(&conn, keys::DEVICE, &d.to_string())?;
                d
            }
        };
        let last = kv_get(&conn, keys::CLOCK)?
            .as_deref()
            .and_then(parse_clock)
            .unwrap_or_default();
        let clock = Clock::new(last, opts.max_drift_ms);
        let mut store = Store {
            conn,
            env,
            opts,
            device,
            clock,
        };
        let replayed = store.replay_pending()?;
        if replayed > 0 {
            tracing::info!(replayed, "applied stored ops this build now understands");
        }
        Ok(store)
    }

    /// Open an in-memory store (tests, or the browser when OPFS is unavailable).
    pub fn open_in_memory(env: Arc<dyn Env>, opts: Options) -> Result<Self> {
        Self::open(Connection::open_in_memory()?, env, opts)
    }

    /// Open (or create) a store file with the native settings: WAL, `synchronous = FULL` so that a
    /// commit is durable before it returns.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open_path(path: impl AsRef<std::path::Path>, env: Arc<dyn Env>, opts: Options) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::open(conn, env, opts)
    }

    /// This store's device id.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The options it was opened with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The connection, for read-side queries ([`crate::query`]).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The last clock reading.
    pub fn clock(&self) -> Timestamp {
        self.clock.last()
    }

    /// Read a `kv` entry.
    pub fn kv_get(&self, key: &str) -> Result<Option<String>> {
        kv_get(&self.conn, key)
    }

    /// Write a `kv` entry.
    pub fn kv_set(&self, key: &str, value: &str) -> Result<()> {
        kv_set(&self.conn, key, value)
    }

    /// Milliseconds added to the wall clock to match the hub's time.
    pub fn clock_offset_ms(&self) -> Result<i64> {
        Ok(self
            .kv_get(keys::CLOCK_OFFSET)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Record the hub's time correction (learned at each sync); new ops are stamped with it.
    pub fn set_clock_offset_ms(&self, offset: i64) -> Result<()> {
        self.kv_set(keys::CLOCK_OFFSET, &offset.to_string())
    }

    /// The injected wall clock, uncorrected.
    pub fn env_now_ms(&self) -> u64 {
        self.env.now_ms()
    }

    /// Wall-clock time corrected by the hub offset.
    pub fn now_ms(&self) -> Result<u64> {
        Ok(self.env.now_ms().saturating_add_signed(self.clock_offset_ms()?))
    }

    /// The highest seq pulled and applied (0 before the first pull).
    pub fn cursor(&self) -> Result<u64> {
        Ok(self
            .kv_get(keys::CURSOR)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// A fresh node id: 16 random lower-case hex digits.
    pub fn new_node_id(&self) -> String {
        format!("{:016x}", self.env.random_u64())
    }

    /// Validate a batch and check its clocks, before any write.
    fn prepare_batch<'a>(&self, ops: impl Iterator<Item = &'a Op>) -> Result<Vec<(&'a Op, Prepared<'a>)>> {
        let now = self.now_ms()?;
        ops.map(|op| {
            let prepared = apply::prepare(&self.opts.kinds, op)?;
            self.clock
                .check(op.id.ts, now)
                .map_err(|ahead_ms| Error::ClockSkew {
                    op: op.id,
                    ahead_ms,
                    limit_ms: self.clock.max_drift_ms(),
                })?;
            Ok((op, prepared))
        })
        .collect()
    }

    /// Run `f` in an immediate transaction that also persists the advanced clock; the in-memory clock
    /// moves only once the commit succeeded.
    fn write<T>(
        &mut self,
        observed: Option<Timestamp>,
        f: impl FnOnce(&Transaction<'_>, &mut Clock) -> Result<T>,
    ) -> Result<T> {
        let mut clock = self.clock;
        if let Some(ts) = observed {
            clock.observe(ts);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx, &mut clock)?;
        if clock.last() != self.clock.last() {
            let Timestamp { ms, counter } = clock.last();
            kv_set(&tx, keys::CLOCK, &format!("{ms:x}-{counter:x}"))?;
        }
        tx.commit()?;
        self.clock = clock;
        Ok(out)
    }

    /// Stamp local edits with the clock, apply them and queue them in the outbox, in one transaction.
    pub fn commit(&mut self, ops: Vec<NewOp>) -> Result<Vec<Op>> {
        let now = self.now_ms()?;
        let device = self.device;
        let kinds = self.opts.kinds.clone();
        self.write(None, |tx, clock| {
            let stamped: Vec<Op> = ops
                .into_iter()
                .map(|n| {
                    n.stamp(OpId {
                        ts: clock.tick(now),
                        device,
                    })
                })
                .collect();
            for op in &stamped {
                let prepared = apply::prepare(&kinds, op)?;
                let applied = apply::apply_op(tx, op, &prepared)?;
                log_op(tx, op, None, applied)?;
            }
            Ok(stamped)
        })
    }

    /// Apply ops received from anywhere (a peer, a test, a vector file), without seqs.
    /// All-or-nothing: an invalid op or clock skew rejects the whole batch.
    pub fn apply(&mut self, ops: &[Op]) -> Result<ApplyReport> {
        self.ingest(ops.iter().map(|op| (None, op)))
    }

    /// Apply a page pulled from the hub and advance the cursor to its last seq, in one transaction.
    /// Our own ops coming back are confirmed (and pruned unless history is kept). The page is not refused
    /// for clock skew (the hub already bounded it), but stamps beyond this device's bound do not move
    /// its clock.
    pub fn apply_pulled(&mut self, ops: &[SeqOp], cursor: u64) -> Result<ApplyReport> {
        let report = self.ingest_then(ops.iter().map(|s| (Some(s.seq), &s.op)), |tx| {
            kv_set(tx, keys::CURSOR, &cursor.to_string())
        })?;
        Ok(report)
    }

    fn ingest<'a>(&mut self, ops: impl Iterator<Item = (Option<u64>, &'a Op)>) -> Result<ApplyReport> {
        self.ingest_then(ops, |_| Ok(()))
    }

    fn ingest_then<'a>(
        &mut self,
        ops: impl Iterator<Item = (Option<u64>, &'a Op)>,
        then: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<ApplyReport> {
        let (seqs, ops): (Vec<Option<u64>>, Vec<&Op>) = ops.unzip();
        let confirmed = seqs.iter().all(Option::is_some);
        let (prepared, max_ts) = if confirmed {
            // A page of the hub's log is authoritative: the hub bounded its clocks against its own time,
            // and refusing it would wedge this device. Apply it all, but let only stamps within this
            // device's own bound advance its clock.
            let now = self.now_ms()?;
            let prepared = ops
                .iter()
                .map(|op| Ok((*op, apply::prepare(&self.opts.kinds, op)?)))
                .collect::<Result<Vec<_>>>()?;
            let max_ts = ops
                .iter()
                .map(|op| op.id.ts)
                .filter(|ts| self.clock.check(*ts, now).is_ok())
                .max();
            (prepared, max_ts)
        } else {
            (
                self.prepare_batch(ops.iter().copied())?,
                ops.iter().map(|op| op.id.ts).max(),
            )
        };
        let keep = self.opts.keep_history || self.opts.role == Role::Hub;
        let device = self.device;
        self.write(max_ts, |tx, _| {
            let mut report = ApplyReport::default();
            // Apply is order-independent, so visit the batch by target node: neighbouring keys share
            // B-tree pages, which keeps them hot and each page is dirtied once per transaction.
            let mut order: Vec<(&str, usize)> = prepared
                .iter()
                .enumerate()
                .map(|(i, (_, p))| (p.target(), i))
                .collect();
            order.sort_unstable();
            for (_, i) in order {
                let ((op, prepared), seq) = (&prepared[i], seqs[i]);
                let applied = apply::apply_op(tx, op, prepared)?;
                if applied {
                    report.applied += 1;
                } else {
                    report.stored_unknown += 1;
                }
                if !applied || keep {
                    log_op(tx, op, seq, applied)?;
                } else if seq.is_some() && op.id.device == device {
                    // Our own op, confirmed and applied: it leaves the outbox. (Other devices' applied ops
                    // were never stored: unknown ones are applied by `replay_pending` when they become known.)
                    tx.prepare_cached("DELETE FROM ops WHERE id = ?1")?
                        .execute([op.id.to_string()])?;
                }
            }
            note_own_confirmed(
                tx,
                device,
                seqs.iter()
                    .zip(&ops)
                    .filter(|(s, _)| s.is_some())
                    .map(|(_, op)| op.id),
            )?;
            then(tx)?;
            Ok(report)
        })
    }

    /// Apply stored ops that this build now understands (after an upgrade or a new registered kind).
    pub fn replay_pending(&mut self) -> Result<usize> {
        let pending: Vec<(Option<u64>, Op)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT seq, id, kind, v, payload FROM ops WHERE applied = 0 ORDER BY id")?;
            let rows = stmt.query_map([], read_op_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .map(|(seq, op)| Ok((seq, op?)))
                .collect::<Result<_>>()?
        };
        let kinds = self.opts.kinds.clone();
        let ready: Vec<&(Option<u64>, Op)> = pending.iter().filter(|(_, op)| kinds.supports(op)).collect();
        if ready.is_empty() {
            return Ok(0);
        }
        let prune = self.opts.role == Role::Device && !self.opts.keep_history;
        self.write(None, |tx, _| {
            for (seq, op) in &ready {
                // A stored op that fails validation under the new rules stays stored, named in the log.
                let prepared = match apply::prepare(&kinds, op) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(op = %op.id, error = %e, "stored op still cannot be applied");
                        continue;
                    }
                };
                apply::apply_op(tx, op, &prepared)?;
                if prune && seq.is_some() {
                    tx.execute("DELETE FROM ops WHERE id = ?1", [op.id.to_string()])?;
                } else {
                    tx.execute("UPDATE ops SET applied = 1 WHERE id = ?1", [op.id.to_string()])?;
                }
            }
            Ok(ready.len())
        })
    }

    /// Unconfirmed local ops, oldest first (HLC order), at most `limit`.
    pub fn outbox(&self, limit: usize) -> Result<Vec<Op>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, id, kind, v, payload FROM ops WHERE seq IS NULL AND substr(id, 19) = ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![self.device.to_string(), limit as i64], read_op_row)?;
        rows.map(|r| r?.1).collect()
    }

    /// How many local ops await confirmation.
    pub fn outbox_len(&self) -> Result<usize> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM ops WHERE seq IS NULL AND substr(id, 19) = ?1",
            [self.device.to_string()],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// Record the seqs the hub assigned to pushed ops; they leave the outbox (and the log, unless kept).
    pub fn confirm(&mut self, confirmed: &[(OpId, u64)]) -> Result<()> {
        let prune = !self.opts.keep_history;
        let device = self.device;
        self.write(None, |tx, _| {
            note_own_confirmed(tx, device, confirmed.iter().map(|(id, _)| *id))?;
            for (id, seq) in confirmed {
                if prune {
                    tx.prepare_cached("DELETE FROM ops WHERE id = ?1 AND applied = 1")?
                        .execute([id.to_string()])?;
                }
                tx.prepare_cached("UPDATE ops SET seq = ?2 WHERE id = ?1")?
                    .execute(params![id.to_string(), *seq as i64])?;
            }
            Ok(())
        })
    }

    /// Canonical JSON of the materialized state (see [`crate::query::export`]).
    pub fn export(&self) -> Result<String> {
        crate::query::export(&self.conn)
    }
}

type OpRow = (Option<u64>, Result<Op>);

fn read_op_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OpRow> {
    let seq: Option<i64> = r.get(0)?;
    let id: String = r.get(1)?;
    let payload: String = r.get(4)?;
    let op = (|| {
        Ok(Op {
            id: id.parse()?,
            kind: r.get(2)?,
            v: r.get(3)?,
            payload: serde_json::from_str(&payload)?,
        })
    })();
    Ok((seq.map(|s| s as u64), op))
}

/// Write `op` to the log or, when it is already there (our own op coming back, or a repeat), record its
/// seq and applied flag. (A local commit or a hub append never meets an existing id: they check first.)
fn log_op(tx: &Transaction<'_>, op: &Op, seq: Option<u64>, applied: bool) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO ops (id, kind, v, payload, seq, applied) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (id) DO UPDATE SET seq = coalesce(ops.seq, excluded.seq), applied = max(ops.applied, excluded.applied)",
    )?
    .execute(params![
        op.id.to_string(),
        op.kind,
        op.v,
        serde_json::to_string(&op.payload)?,
        seq.map(|s| s as i64),
        applied
    ])?;
    Ok(())
}

impl Store {
    /// The ops that move `node` under `parent` (or to the top level with `None`): remove every parent tag
    /// this replica has observed, then add the new one. A concurrent move elsewhere keeps its own tag,
    /// and the greater tag wins (see [`crate::apply`]).
    pub fn move_ops(&self, node: &str, parent: Option<&str>) -> Result<Vec<NewOp>> {
        let mut by_dst: std::collections::BTreeMap<String, Vec<OpId>> = std::collections::BTreeMap::new();
        for (dst, tag) in crate::query::parent_tags(&self.conn, node)? {
            by_dst.entry(dst).or_default().push(tag.parse()?);
        }
        let mut ops: Vec<NewOp> = by_dst
            .iter()
            .map(|(dst, tags)| NewOp::link_remove(node, dst, crate::op::PARENT, tags))
            .collect();
        if let Some(p) = parent {
            ops.push(NewOp::link_add(node, p, crate::op::PARENT));
        }
        Ok(ops)
    }
}

impl Store {
    /// Re-stamp the unconfirmed local ops from `from` onwards (the first op the hub refused as too far
    /// ahead; the outbox is in clock order, so every later op is too), keeping their order, at `now_ms`
    /// (the hub's time). Ops before `from` keep their ids: the hub may already hold them. Nothing is dropped.
    ///
    /// The materialized state is rewritten in place: where an old stamp is the winning op of a field or
    /// a link tag, it becomes the new stamp (our `link.remove`s are rewritten to name the new tags). A
    /// lower stamp can lose to remote ops this device already merged and pruned, so the cursor is reset
    /// to 0: the next pull merges every remote op again against the new stamps, and the state converges
    /// to exactly what the other replicas compute. Returns the old → new id mapping.
    pub fn restamp_outbox(&mut self, from: Option<OpId>, now_ms: u64) -> Result<Vec<(OpId, OpId)>> {
        let all = self.outbox(usize::MAX >> 1)?;
        let split = all
            .iter()
            .position(|op| from.is_none_or(|f| op.id >= f))
            .unwrap_or(all.len());
        let (kept, outbox) = all.split_at(split);
        if outbox.is_empty() {
            return Ok(Vec::new());
        }
        let device = self.device;
        let kinds = self.opts.kinds.clone();
        // Above every op of ours the hub may hold: the kept unsent ones and the confirmed ones.
        let confirmed = self
            .kv_get(keys::OWN_CONFIRMED)?
            .map(|s| s.parse::<OpId>())
            .transpose()?;
        let base = kept
            .last()
            .map(|op| op.id)
            .max(confirmed)
            .map(|id| id.ts)
            .unwrap_or_default();
        let mut fresh = Clock::new(base, self.opts.max_drift_ms);
        let mapping: Vec<(OpId, OpId)> = outbox
            .iter()
            .map(|op| {
                (
                    op.id,
                    OpId {
                        ts: fresh.tick(now_ms),
                        device,
                    },
                )
            })
            .collect();
        let renamed: std::collections::HashMap<String, String> = mapping
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let new_clock = fresh.last();
        self.write(None, |tx, clock| {
            *clock = Clock::new(new_clock, clock.max_drift_ms());
            for (op, (old, new)) in outbox.iter().zip(&mapping) {
                let (old, new) = (old.to_string(), new.to_string());
                let mut payload = op.payload.clone();
                if let Some(tags) = payload.get_mut("tags").and_then(|t| t.as_array_mut()) {
                    for t in tags.iter_mut() {
                        if let Some(n) = t.as_str().and_then(|s| renamed.get(s)) {
                            *t = serde_json::Value::String(n.clone());
                        }
                    }
                }
                tx.execute(
                    "UPDATE ops SET id = ?2, payload = ?3 WHERE id = ?1",
                    params![old, new, serde_json::to_string(&payload)?],
                )?;
                let rewritten = Op {
                    id: op.id,
                    kind: op.kind.clone(),
                    v: op.v,
                    payload,
                };
                match apply::prepare(&kinds, &rewritten)? {
                    Prepared::Builtin(crate::op::Body::Create { node, fields, .. }) => {
                        restamp_field(tx, node, "type", &old, &new)?;
                        for (f, _) in fields {
                            restamp_field(tx, node, f, &old, &new)?;
                        }
                    }
                    Prepared::Builtin(crate::op::Body::Set { node, field, .. }) => {
                        restamp_field(tx, node, field, &old, &new)?
                    }
                    Prepared::Builtin(crate::op::Body::LinkAdd { src, .. }) => {
                        tx.execute("UPDATE links SET tag = ?2 WHERE tag = ?1", params![old, new])?;
                        tx.execute(
                            "UPDATE nodes SET (parent, parent_tag) = ( \
                               SELECT dst, tag FROM links WHERE src = ?1 AND type = 'parent' AND removed = 0 \
                               ORDER BY tag DESC LIMIT 1) WHERE id = ?1",
                            [src],
                        )?;
                    }
                    Prepared::Builtin(crate::op::Body::LinkRemove { .. }) => {
                        tx.execute(
                            "UPDATE link_removals SET tag = ?2 WHERE tag = ?1",
                            params![old, new],
                        )?;
                        tx.execute(
                            "UPDATE link_removals SET op = ?2 WHERE op = ?1",
                            params![old, new],
                        )?;
                    }
                    Prepared::Extra(_) | Prepared::Unknown => {}
                }
            }
            kv_set(tx, keys::CURSOR, "0")?;
            Ok(())
        })?;
        Ok(mapping)
    }
}

/// Remember the greatest of this device's ops among `ids` that the hub confirmed.
fn note_own_confirmed(tx: &Transaction<'_>, device: DeviceId, ids: impl Iterator<Item = OpId>) -> Result<()> {
    let Some(max) = ids.filter(|id| id.device == device).max() else {
        return Ok(());
    };
    let current = kv_get(tx, keys::OWN_CONFIRMED)?
        .map(|s| s.parse::<OpId>())
        .transpose()?;
    if current.is_none_or(|c| max > c) {
        kv_set(tx, keys::OWN_CONFIRMED, &max.to_string())?;
    }
    Ok(())
}

fn restamp_field(tx: &Transaction<'_>, node: &str, field: &str, old: &str, new: &str) -> Result<()> {
    if apply::is_typed(field) {
        // `field` is one of the typed column names, so it is safe to splice into the SQL.
        tx.execute(
            &format!("UPDATE nodes SET {field}_op = ?3 WHERE id = ?1 AND {field}_op = ?2"),
            params![node, old, new],
        )?;
    } else {
        tx.execute(
            "UPDATE fields SET op = ?4 WHERE node = ?1 AND field = ?2 AND op = ?3",
            params![node, field, old, new],
        )?;
    }
    Ok(())
}
