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

mod compact;
mod hub;
mod kv;
pub(crate) mod log;

pub use log::Quarantined;
mod restamp;

use std::sync::Arc;

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use crate::apply::{self, Kinds, Prepared};
use crate::error::{Error, Result};
use crate::hlc::{Clock, DEFAULT_MAX_DRIFT_MS, DeviceId, Env, Timestamp};
use crate::migrate;
use crate::op::{NewOp, Op, OpId, SeqOp};

pub use compact::{
    CompactReport, DEFAULT_STEP_ROWS, MigrateReport, SnapshotChunk, SnapshotMeta, SqliteCompactor,
    snapshots_dir,
};
pub use hub::{
    AppendOutcome, Compactor, HubLog, HubOptions, LIVE_BYTES, LIVE_OPS, LogPage, LogRead, Readers,
    SqliteHubLog, SqliteLogReader, refused_for_skew_before, retired_by_skew_refusal,
};
pub use kv::LogPosition;
pub use kv::keys;
pub(crate) use kv::{cursor_of, kv_get, kv_set, raise_cursor};

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

/// The whole-space migrations the data on `conn` went through, oldest first (`kv` key `migrations`).
pub(crate) fn migrations(conn: &Connection) -> Result<Vec<String>> {
    Ok(match kv_get(conn, keys::MIGRATIONS)? {
        Some(s) => serde_json::from_str(&s)?,
        None => Vec::new(),
    })
}

/// The migrations of data that went through `names` once `m` runs too; refused when it ran already.
pub(crate) fn migrations_after(names: &[String], m: &crate::evolve::Migration) -> Result<Vec<String>> {
    if names.iter().any(|n| n == m.name) {
        return Err(Error::Unsupported(format!(
            "this space went through the migration {:?} already",
            m.name
        )));
    }
    let mut after = names.to_vec();
    after.push(m.name.to_owned());
    Ok(after)
}

/// Inside `tx`: rewrite the state with `m`, then record `names` (the migrations, ending with `m`) and
/// the epoch they make. Returns how many values the rewrite changed and cleared.
pub(crate) fn apply_migration(
    tx: &Transaction<'_>,
    m: &crate::evolve::Migration,
    names: &[String],
) -> Result<(u64, u64)> {
    let counts = (m.rewrite)(tx)?;
    kv_set(tx, keys::MIGRATIONS, &serde_json::to_string(names)?)?;
    kv_set(tx, keys::EPOCH, &(names.len() as u64 + 1).to_string())?;
    Ok(counts)
}

/// What [`Store::rebuild_for_epoch`] did with the unsent ops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuild {
    /// Unsent ops carried into the new epoch (translated, or meaning the same there).
    pub translated: usize,
    /// Unsent ops no lens could translate, set aside: the op id and why.
    pub quarantined: Vec<(String, String)>,
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

    /// Write `kv` entries in one transaction (one commit: one flush instead of one each).
    pub fn kv_set_all(&self, entries: &[(&str, &str)]) -> Result<()> {
        match entries {
            [] => Ok(()),
            [(key, value)] => self.kv_set(key, value),
            _ => {
                let tx = self.conn.unchecked_transaction()?;
                for (key, value) in entries {
                    kv_set(&tx, key, value)?;
                }
                tx.commit()?;
                Ok(())
            }
        }
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
        cursor_of(&self.conn)
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
            if let Some(skew) = self.check_stamp(op.id, now) {
                return Err(skew);
            }
            Ok((op, prepared))
        })
        .collect()
    }

    /// Check a pushed batch against this build's rules only, not its stamps: the ops before the first
    /// invalid one, prepared, and that op's error (None: every op is valid). A hub checks stamps only
    /// for the ops its log does not hold yet ([`Store::check_stamp`]).
    pub(crate) fn prepare_ops<'a>(&self, ops: &'a [Op]) -> (Vec<(&'a Op, Prepared<'a>)>, Option<Error>) {
        let mut prepared = Vec::with_capacity(ops.len());
        for op in ops {
            match apply::prepare(&self.opts.kinds, op) {
                Ok(p) => prepared.push((op, p)),
                Err(e) => return (prepared, Some(e)),
            }
        }
        (prepared, None)
    }

    /// Check a pushed batch against this build's rules only, not its stamps, for a hub log kept
    /// elsewhere: per op before the first invalid one, whether this build applies it (false: a kind or
    /// version it stores without applying); and that op's error (None: every op is valid). Stamps are
    /// checked only for ops the log does not hold yet ([`Store::check_stamp`]).
    pub fn check_rules(&self, ops: &[Op]) -> (Vec<bool>, Option<Error>) {
        let (prepared, invalid) = self.prepare_ops(ops);
        let applied = prepared
            .iter()
            .map(|(_, p)| !matches!(p, Prepared::Unknown))
            .collect();
        (applied, invalid)
    }

    /// The clock-skew refusal of a pushed op stamped more than the drift bound ahead of `now_ms` (the
    /// hub's clock), or None. A hub asks only for ops its log does not hold yet: a retried push of a
    /// logged op is a duplicate whatever its stamp says by now.
    pub fn check_stamp(&self, op: OpId, now_ms: u64) -> Option<Error> {
        self.clock
            .check(op.ts, now_ms)
            .err()
            .map(|ahead_ms| Error::ClockSkew {
                op,
                ahead_ms,
                limit_ms: self.clock.max_drift_ms(),
                refused_before: false,
            })
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
        // Edits are written as the space's current epoch means them (an old-style priority becomes
        // a level once the space went through that migration).
        let chain = crate::evolve::chain(&self.migrations()?).map_err(|name| {
            Error::Unsupported(format!(
                "this store went through the migration {name:?}, which this build does not know; update Hearth"
            ))
        })?;
        let ops = if chain.is_empty() {
            ops
        } else {
            ops.into_iter()
                .map(|n| {
                    crate::evolve::translate(&chain, &n.kind, n.v, &n.payload)
                        .map(|(kind, v, payload)| NewOp { kind, v, payload })
                        .map_err(|(migration, reason)| Error::Untranslatable { migration, reason })
                })
                .collect::<Result<Vec<_>>>()?
        };
        self.write(None, |tx, clock| {
            let mut stamped = Vec::with_capacity(ops.len());
            for n in ops {
                let mut op = n.stamp(OpId {
                    ts: clock.tick(now),
                    device,
                });
                name_what_was_seen(tx, &mut op)?;
                let prepared = apply::prepare(&kinds, &op)?;
                let applied = apply::apply_op(tx, &op, &prepared)?;
                log::write(tx, &op, None, applied)?;
                stamped.push(op);
            }
            Ok(stamped)
        })
    }

    /// The whole-space migrations this store's data went through, oldest first (see
    /// [`crate::evolve`]).
    pub fn migrations(&self) -> Result<Vec<String>> {
        migrations(&self.conn)
    }

    /// The space's epoch as this store knows it: one more than its migrations.
    pub fn epoch(&self) -> Result<u64> {
        Ok(self.migrations()?.len() as u64 + 1)
    }

    /// Run the whole-space migration `m` on this store's state, in one transaction: its state rewrite,
    /// then the store records the migration (and the epoch it starts). Refused when the store went
    /// through it already. Returns how many values it changed and how many it had to clear. (The hub
    /// runs this on a space's log; see `hearth migrate`.)
    pub fn run_migration(&mut self, m: &crate::evolve::Migration) -> Result<(u64, u64)> {
        let names = migrations_after(&self.migrations()?, m)?;
        self.write(None, |tx, _| apply_migration(tx, m, &names))
    }

    /// Move a device's store into the epoch the whole-space migrations `names` lead to (the hub's list;
    /// it must start with this store's own): its unsent ops go through the lenses of the migrations it
    /// missed, in turn; the state, the log and the cursor are cleared (the new epoch's snapshot brings the
    /// space back, merged around the translated ops, which stay unsent); an op that a lens cannot
    /// translate goes to the quarantine with the lens's reason and the epoch it was written in.
    /// An empty store (a new device) just takes the new epoch.
    pub fn rebuild_for_epoch(&mut self, names: &[String]) -> Result<Rebuild> {
        let mine = self.migrations()?;
        if names.len() < mine.len() || names[..mine.len()] != mine[..] {
            return Err(Error::Unsupported(format!(
                "the hub's space went through the migrations {names:?}, which do not continue this                  device's {mine:?}; pair this device again"
            )));
        }
        let missed = crate::evolve::chain(&names[mine.len()..]).map_err(|name| {
            Error::Unsupported(format!(
                "the space moved to a new form of its data (migration {name:?}) that this build does not                  know; update Hearth"
            ))
        })?;
        let from_epoch = mine.len() as u64 + 1;
        let device = self.device;
        let kinds = self.opts.kinds.clone();
        let at = self.env_now_ms();
        let list = serde_json::to_string(names)?;
        let mut report = Rebuild::default();
        self.write(None, |tx, _| {
            let unsent = log::outbox(tx, device, usize::MAX)?;
            tx.execute_batch(
                "DELETE FROM nodes; DELETE FROM fields; DELETE FROM links; DELETE FROM link_removals;                  DELETE FROM heads; DELETE FROM superseded; DELETE FROM comments; DELETE FROM ops;",
            )?;
            tx.execute(
                "DELETE FROM kv WHERE key IN (?1, ?2, ?3)",
                params![keys::CURSOR, keys::ACKED, keys::LAST_SYNC],
            )?;
            tx.execute("UPDATE quarantine SET epoch = ?1 WHERE epoch IS NULL", [from_epoch as i64])?;
            kv_set(tx, keys::MIGRATIONS, &list)?;
            for op in unsent {
                match crate::evolve::translate(&missed, &op.kind, op.v, &op.payload) {
                    Ok((kind, v, payload)) => {
                        let op = Op {
                            id: op.id,
                            kind,
                            v,
                            payload,
                        };
                        let prepared = match apply::prepare(&kinds, &op) {
                            Ok(p) => p,
                            Err(e) => {
                                log::set_aside(tx, &op, "untranslatable", &e.to_string(), at, from_epoch)?;
                                report.quarantined.push((op.id.to_string(), e.to_string()));
                                continue;
                            }
                        };
                        let applied = apply::apply_op(tx, &op, &prepared)?;
                        log::write(tx, &op, None, applied)?;
                        report.translated += 1;
                    }
                    Err((migration, why)) => {
                        let reason = format!("{} ({migration}): {why}", crate::evolve::UNTRANSLATABLE);
                        log::set_aside(tx, &op, "untranslatable", &reason, at, from_epoch)?;
                        report.quarantined.push((op.id.to_string(), reason));
                    }
                }
            }
            Ok(())
        })?;
        Ok(report)
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
        let keep = self.keeps_history();
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
                log::settle(tx, op, seq, applied, keep, op.id.device == device)?;
            }
            log::note_own_confirmed(
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
        let pending = log::pending(&self.conn)?;
        let kinds = self.opts.kinds.clone();
        let ready: Vec<&(Option<u64>, Op)> = pending.iter().filter(|(_, op)| kinds.supports(op)).collect();
        if ready.is_empty() {
            return Ok(0);
        }
        let keep = self.keeps_history();
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
                let applied = apply::apply_op(tx, op, &prepared)?;
                log::settle(tx, op, *seq, applied, keep, true)?;
            }
            Ok(ready.len())
        })
    }

    /// The op kinds this store applies.
    pub fn kinds(&self) -> &apply::Kinds {
        &self.opts.kinds
    }

    /// Unconfirmed local ops, oldest first, at most `limit`, leaving out those of a kind in `held`
    /// at a `v` above the one given there (kinds the hub does not take yet).
    pub fn outbox_except(&self, limit: usize, held: &[(String, u32)]) -> Result<Vec<Op>> {
        if held.is_empty() {
            return self.outbox(limit);
        }
        log::outbox_except(&self.conn, self.device, limit, held)
    }

    /// How many unconfirmed local ops are held back by `held` (see [`Store::outbox_except`]), and
    /// their kinds.
    pub fn outbox_held(&self, held: &[(String, u32)]) -> Result<(usize, Vec<String>)> {
        log::outbox_held(&self.conn, self.device, held)
    }

    /// Unconfirmed local ops, oldest first (HLC order), at most `limit`.
    pub fn outbox(&self, limit: usize) -> Result<Vec<Op>> {
        log::outbox(&self.conn, self.device, limit)
    }

    /// How many local ops await confirmation.
    pub fn outbox_len(&self) -> Result<usize> {
        log::outbox_len(&self.conn, self.device)
    }

    /// Set one of this device's unsent ops aside, with the hub's refusal (`code`, `reason`), so that
    /// the rest of the outbox keeps flowing. Its effect stays applied here. False when the op is not
    /// in the outbox.
    pub fn quarantine(&mut self, id: OpId, code: &str, reason: &str) -> Result<bool> {
        let at = self.env.now_ms();
        self.write(None, |tx, _| log::quarantine(tx, id, code, reason, at))
    }

    /// The ops set aside, oldest first.
    pub fn quarantined(&self) -> Result<Vec<log::Quarantined>> {
        log::quarantined(&self.conn)
    }

    /// Put a set-aside op back in the outbox (`retry`, e.g. after the hub's limits changed) or drop it
    /// (its effect stays applied here until a later change overwrites it). False when absent.
    pub fn release_quarantined(&mut self, id: OpId, retry: bool) -> Result<bool> {
        // An op written in an earlier epoch goes through the lenses from there first; one that still
        // cannot be translated stays, with the lens's reason.
        let old = log::quarantined(&self.conn)?
            .into_iter()
            .find(|q| q.op.id == id)
            .filter(|q| retry && q.epoch.is_some());
        let Some(q) = old else {
            if !retry {
                tracing::warn!(op = %id, "a set-aside change is discarded at the person's request");
            }
            return self.write(None, |tx, _| log::release(tx, id, retry));
        };
        let names = self.migrations()?;
        let from = (q.epoch.unwrap_or(1) as usize).saturating_sub(1).min(names.len());
        let chain = crate::evolve::chain(&names[from..]).map_err(|name| {
            Error::Unsupported(format!(
                "this build does not know the migration {name:?}; update Hearth"
            ))
        })?;
        let (kind, v, payload) = crate::evolve::translate(&chain, &q.op.kind, q.op.v, &q.op.payload)
            .map_err(|(migration, reason)| Error::Untranslatable { migration, reason })?;
        let op = Op {
            id: q.op.id,
            kind,
            v,
            payload,
        };
        let prepared = apply::prepare(&self.opts.kinds, &op)?;
        self.write(None, |tx, _| {
            let applied = apply::apply_op(tx, &op, &prepared)?;
            log::write(tx, &op, None, applied)?;
            Ok(tx.execute("DELETE FROM quarantine WHERE id = ?1", [id.to_string()])? > 0)
        })
    }

    /// Record the seqs the hub assigned to pushed ops; they leave the outbox (and the log, unless kept).
    pub fn confirm(&mut self, confirmed: &[(OpId, u64)]) -> Result<()> {
        self.confirm_with_cursor(confirmed, None)
    }

    /// [`confirm`](Self::confirm), and in the same transaction move the cursor up to `head` (never
    /// lower it): for a push the hub numbered right after the cursor, with `head` its last seq, so that
    /// the log up to `head` is exactly what this store holds already.
    pub fn confirm_through(&mut self, confirmed: &[(OpId, u64)], head: u64) -> Result<()> {
        self.confirm_with_cursor(confirmed, Some(head))
    }

    fn confirm_with_cursor(&mut self, confirmed: &[(OpId, u64)], head: Option<u64>) -> Result<()> {
        let keep = self.opts.keep_history;
        let device = self.device;
        self.write(None, |tx, _| {
            log::note_own_confirmed(tx, device, confirmed.iter().map(|(id, _)| *id))?;
            log::confirm(tx, confirmed, keep)?;
            match head {
                Some(head) => raise_cursor(tx, head),
                None => Ok(()),
            }
        })
    }

    /// Does this store keep confirmed, applied ops in its log? Always on the hub; on a device only
    /// with [`Options::keep_history`].
    fn keeps_history(&self) -> bool {
        self.opts.keep_history || self.opts.role == Role::Hub
    }

    /// Merge a [`Snapshot`](crate::snapshot::Snapshot) into this store, in one transaction, through the
    /// apply path's primitives: every field winner, link tag and tombstone merges by the ordinary rules,
    /// and ops this build does not understand are stored to be replayed after an upgrade. The outbox is
    /// untouched. The cursor is not moved: the caller decides (a device that restores from a snapshot
    /// then pulls after its seq).
    pub fn merge_snapshot(&mut self, snap: &crate::snapshot::Snapshot) -> Result<()> {
        self.merge_snapshot_entries(&snap.entries)
    }

    /// Merge some entries of a snapshot (one page of it), in one transaction; see
    /// [`merge_snapshot`](Self::merge_snapshot). Every entry is a merge on its own, so pages may be
    /// merged one at a time, and a page merged twice changes nothing.
    pub fn merge_snapshot_entries(&mut self, entries: &[crate::snapshot::Entry]) -> Result<()> {
        use crate::snapshot::Entry;
        let keep = self.keeps_history();
        let kinds = self.opts.kinds.clone();
        // Field values obey the rules ops do (a text priority would break every read of the node).
        for entry in entries {
            if let Entry::Field { field, value, op, .. } | Entry::Head { field, value, op, .. } = entry {
                crate::op::check_snapshot_field(*op, field, value)?;
            }
        }
        self.write(None, |tx, _| {
            let mut a = apply::Apply::on(tx);
            for entry in entries {
                match entry {
                    Entry::Field {
                        node,
                        field,
                        value,
                        op,
                    } => a.set_field(node, field, value, *op)?,
                    Entry::Link {
                        tag, src, dst, ty, ..
                    } => a.add_link(*tag, src, dst, ty)?,
                    Entry::Removal {
                        tag,
                        src,
                        dst,
                        ty,
                        op,
                    } => a.remove_link(*op, *tag, src, dst, ty)?,
                    Entry::Head {
                        node,
                        field,
                        op,
                        value,
                    } => a.add_head(node, field, *op, value)?,
                    Entry::Seen { node, field, op } => a.supersede(node, field, *op)?,
                    // An op this build applies (a comment) is applied now; others wait, stored.
                    Entry::Pending { seq, op } => {
                        let prepared = match apply::prepare(&kinds, op) {
                            Ok(p) => p,
                            Err(_) => apply::Prepared::Unknown,
                        };
                        let applied = apply::apply_op(tx, op, &prepared)?;
                        log::settle(tx, op, *seq, applied, keep, true)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Whether this store holds nothing yet: no state, no ops, never pulled (a device about to take
    /// its first snapshot, which it can then check against the snapshot's digest).
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.cursor()? == 0
            && self.conn.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM nodes) AND NOT EXISTS (SELECT 1 FROM fields) \
                 AND NOT EXISTS (SELECT 1 FROM links) AND NOT EXISTS (SELECT 1 FROM link_removals) \
                 AND NOT EXISTS (SELECT 1 FROM ops) AND NOT EXISTS (SELECT 1 FROM heads)",
                [],
                |r| r.get::<_, bool>(0),
            )?)
    }

    /// End a restore from the snapshot at `seq` whose pages are all merged: check the state against
    /// the snapshot's `digest` when given (a store that was empty holds exactly the snapshot), move the
    /// cursor up to `seq`, then apply stored ops this build understands. On a mismatch nothing moves.
    pub fn finish_restore(&mut self, seq: u64, digest: Option<&str>) -> Result<()> {
        self.write(None, |tx, _| {
            if let Some(expected) = digest {
                let found = crate::snapshot::digest(tx)?;
                if found != expected {
                    return Err(Error::SnapshotMismatch {
                        seq,
                        expected: expected.to_owned(),
                        found,
                    });
                }
            }
            raise_cursor(tx, seq)
        })?;
        self.replay_pending()?;
        Ok(())
    }

    /// How many rows this store's op log holds (unsent ops, ops this build cannot apply yet, and with
    /// full history every confirmed op).
    pub fn log_rows(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM ops", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Canonical JSON of the materialized state (see [`crate::query::export`]).
    pub fn export(&self) -> Result<String> {
        crate::query::export(&self.conn)
    }
}

/// A local set of a field says which value its writer saw: `prev` is the field's winning stamp on
/// this replica (null when it has none), unless the caller named it already (a restore or dismiss of
/// a conflict names it together with `seen`). See [`crate::conflicts`].
fn name_what_was_seen(conn: &Connection, op: &mut Op) -> Result<()> {
    if op.kind != crate::kinds::NODE_SET && op.kind != crate::kinds::TASK_SET {
        return Ok(());
    }
    let serde_json::Value::Object(p) = &op.payload else {
        return Ok(());
    };
    if p.contains_key("prev") {
        return Ok(());
    }
    let (Some(node), Some(field)) = (
        p.get("node").and_then(|v| v.as_str()),
        p.get("field").and_then(|v| v.as_str()),
    ) else {
        return Ok(());
    };
    if !apply::keeps_conflicts(field) {
        return Ok(());
    }
    let prev = apply::current(conn, node, field)?.map_or(serde_json::Value::Null, |(_, op)| {
        serde_json::Value::String(op.to_string())
    });
    if let serde_json::Value::Object(p) = &mut op.payload {
        p.insert("prev".to_owned(), prev);
    }
    Ok(())
}
