//! The hub's side of a space: the [`HubLog`] trait every hub-log backend implements, and its SQLite
//! implementation, [`SqliteHubLog`] (the default hub, and the loopback hub of the sync simulation).
//!
//! **Seq order is commit order.** A backend assigns seqs inside the transaction that inserts the ops, as
//! `head + 1, head + 2, …`, and bumps the head in the same transaction; readers see only committed
//! snapshots. So a reader that has seen seq N can never later see a new op with a seq ≤ N.
//!
//! This is the room for what the hub does with its log: appends (group commit), pages after a seq, head,
//! horizon and epoch, snapshots and compaction, as methods of the trait, so that every backend offers
//! them and the conformance suite (`hub_log_conformance_tests!`) checks them.
//!
//! **Duplicates before stamps.** An op the log holds (or compacted) is a duplicate before its stamp is
//! checked: a retried push is never told `clock_skew` because the hub's clock stepped back (or another
//! hub's clock is behind), which would make its device re-stamp an edit already logged. Only ops new to
//! the log are checked for skew, inside the write transaction.
//!
//! **A push refused for clock skew stays refused.** The device re-stamps the ops such an answer names
//! (PROTOCOL.md §7), so a late copy of the refused push (a retransmission the network delivers after
//! the hub's clock has caught up) must not land beside the new ids: the same edit would be in the log
//! twice. Each backend keeps the ids a skew refusal retires ([`retired_by_skew_refusal`]), written in
//! the commit of the refusal's group, before it is answered, and refuses a new op with such an id the
//! same way ([`refused_for_skew_before`]), whatever its stamp says by then.
//!
//! **Compaction** ([`HubLog::compact`], [`HubLog::compactor`]) snapshots the state at the head, then
//! removes log rows at or below both the horizon it is given and the snapshot; the log's `horizon` then
//! says which pulls must restore from the snapshot first ([`LogRead::snapshot_page`]). A retried push
//! of an op whose row was removed is still answered as a duplicate.
//!
//! ```
//! use std::sync::Arc;
//! use hearth_core::store::{HubLog, LogRead, SqliteHubLog};
//! use hearth_core::{NewOp, Options, Store, SystemEnv};
//!
//! let env = Arc::new(SystemEnv);
//! let mut hub = SqliteHubLog::open_in_memory(env.clone(), Default::default()).unwrap();
//! let mut phone = Store::open_in_memory(env, Options::default()).unwrap();
//! let node = phone.new_node_id();
//! let ops = phone.commit(vec![NewOp::create(&node, "task", Default::default())]).unwrap();
//!
//! let outcome = hub.append(&ops).unwrap();
//! assert_eq!((outcome.accepted, outcome.seqs.clone(), outcome.head), (1, vec![1], 1));
//! assert_eq!(hub.append(&ops).unwrap().duplicates, 1); // a retried push keeps its first seq
//! let page = hub.page(0, 100).unwrap();
//! assert_eq!((page.count, page.last, page.head, page.horizon, page.epoch), (1, Some(1), 1, 0, 1));
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rusqlite::Connection;
use serde::Serialize;

use super::compact::{self, CompactReport, SqliteCompactor};
use super::kv::{LogPosition, position};
use super::{Options, Role, Store, keys, kv_get, kv_set, log};
use crate::apply;
use crate::error::{Error, Result};
use crate::hlc::Env;
use crate::id::{DeviceId, OpId};
use crate::op::{Op, SeqOp};

/// The result of appending one pushed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendOutcome {
    /// Ops new to the log.
    pub accepted: usize,
    /// Ops already in the log (a retried push); they keep their first seq.
    pub duplicates: usize,
    /// The seq of each op of the batch, in batch order.
    pub seqs: Vec<u64>,
    /// The log's head after the commit.
    pub head: u64,
}

/// A page of the log after a seq, read in one snapshot together with the head, horizon and epoch, so
/// that a pull never skips or repeats an op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// The ops as a JSON array of `{seq, id, kind, v, payload}` (payloads copied as stored).
    pub json: String,
    /// How many ops.
    pub count: usize,
    /// The last seq in the page (None when empty).
    pub last: Option<u64>,
    /// The highest seq committed.
    pub head: u64,
    /// Ops at or below the horizon may have been compacted away (0: nothing has been).
    pub horizon: u64,
    /// The space's epoch (starts at 1).
    pub epoch: u64,
    /// The seq of the current snapshot (0: none yet).
    pub snapshot: u64,
}

impl LogPage {
    /// The ops, parsed.
    pub fn ops(&self) -> Result<Vec<SeqOp>> {
        Ok(serde_json::from_str(&self.json)?)
    }

    /// The cursor a client moves to after applying this page that it asked for with `after`.
    pub fn next(&self, after: u64) -> u64 {
        self.last.unwrap_or(after)
    }

    /// The page as the pull answer `{ops, next, head, horizon, epoch}`, parsed.
    pub fn pull_response(&self, after: u64) -> Result<crate::wire::PullResponse> {
        Ok(crate::wire::PullResponse {
            ops: self.ops()?,
            next: self.next(after),
            head: self.head,
            horizon: self.horizon,
            epoch: self.epoch,
        })
    }

    /// The same answer as JSON text, with the ops copied as stored (the hub's fast path).
    pub fn pull_body(&self, after: u64) -> String {
        let mut body = String::with_capacity(self.json.len() + 96);
        body.push_str("{\"ops\":");
        body.push_str(&self.json);
        body.push_str(&format!(
            ",\"next\":{},\"head\":{},\"horizon\":{},\"epoch\":{}}}",
            self.next(after),
            self.head,
            self.horizon,
            self.epoch
        ));
        body
    }

    /// The live event that carries this page, read with `after` (and at most [`LIVE_OPS`] ops):
    /// `{"head":…,"after":…,"page":{…}}`, its page the pull answer after `after`. None when the page
    /// is empty, starts below the horizon, or makes an event over [`LIVE_BYTES`]: then the event is
    /// the head alone and devices pull.
    pub fn live_event(&self, after: u64) -> Option<String> {
        if self.count == 0 || after < self.horizon {
            return None;
        }
        let body = self.pull_body(after);
        (body.len() <= LIVE_BYTES)
            .then(|| format!("{{\"head\":{},\"after\":{after},\"page\":{body}}}", self.head))
    }
}

/// Most ops a live event carries; after a bigger commit, devices pull.
pub const LIVE_OPS: usize = 64;
/// Largest page (JSON bytes) a live event carries.
pub const LIVE_BYTES: usize = 64 * 1024;

/// Reading a space's log: one consistent snapshot per call.
pub trait LogRead: Send {
    /// Up to `limit` ops with seq greater than `after`, in seq order, with head, horizon and epoch.
    fn page(&mut self, after: u64, limit: usize) -> Result<LogPage>;
    /// Head, horizon and epoch.
    fn position(&mut self) -> Result<LogPosition>;
    /// The highest seq committed.
    fn head(&mut self) -> Result<u64> {
        Ok(self.position()?.head)
    }
    /// How many ops the log holds (it shrinks only by compaction).
    fn log_rows(&mut self) -> Result<u64>;
    /// Up to `limit` entries after entry `after` of the snapshot at `seq` (the current one when None).
    /// None when there is no snapshot, or none at that seq any more (start again from the current one).
    fn snapshot_page(
        &mut self,
        seq: Option<u64>,
        after: u64,
        limit: usize,
    ) -> Result<Option<compact::SnapshotChunk>>;
}

/// Compacts a log from another thread (see [`HubLog::compactor`]): give it the horizon.
pub type Compactor = Arc<dyn Fn(u64) -> Result<CompactReport> + Send + Sync>;

/// A space's log on the hub. Only one writer appends; [`HubLog::reader`] gives readers for other threads.
pub trait HubLog: LogRead {
    /// Append several pushed batches in one durable transaction (group commit). Each batch is validated
    /// on its own: an invalid batch gets its error and adds nothing, the others commit together. A batch
    /// refused for clock skew (also for an id refused so before) records, in that transaction, the ids
    /// it retires (see the module docs). The outer error is a storage failure, in which case nothing of
    /// any batch was written.
    fn append_batches(&mut self, batches: &[&[Op]]) -> Result<Vec<Result<AppendOutcome>>>;

    /// Append one pushed batch: all-or-nothing, idempotent by op id.
    fn append(&mut self, ops: &[Op]) -> Result<AppendOutcome> {
        let mut out = self.append_batches(&[ops])?;
        out.pop().unwrap_or_else(|| unreachable!("one outcome per batch"))
    }

    /// Opens readers of this log for concurrent pulls, from any thread (the writer keeps the log).
    fn readers(&self) -> Result<Readers>;

    /// Compact now, on this handle: snapshot the state at the head, then remove log rows at or below
    /// `min(horizon, snapshot)`. The horizon never moves backwards; pulls below it must restore from
    /// the snapshot.
    fn compact(&mut self, horizon: u64) -> Result<CompactReport>;

    /// A compactor that runs beside the writer, from any thread (appends keep flowing: it takes the
    /// write lock only in short steps).
    fn compactor(&self) -> Result<Compactor>;
}

/// The op ids a refusal for clock skew naming `named` retires for good: that op and every later op
/// (in op id order) of the same batch from its device. They are the ids the device re-stamps (the named
/// op and every unsent op after it), so no copy of them may land afterwards. A device pushes its outbox
/// in op id order from its oldest unsent op, so any other push of its that holds a retired op holds
/// the named one too, and is refused with it.
pub fn retired_by_skew_refusal(batch: &[Op], named: OpId) -> impl Iterator<Item = OpId> + '_ {
    batch
        .iter()
        .map(|op| op.id)
        .filter(move |id| id.device == named.device && *id >= named)
}

/// The refusal of a pushed op whose id a refusal for clock skew retired before: the same
/// `clock_skew`, so a device re-stamps it as it would have the first time, though by `now_ms` its
/// stamp may be within `limit_ms` of the hub's clock.
pub fn refused_for_skew_before(op: OpId, now_ms: u64, limit_ms: u64) -> Error {
    Error::ClockSkew {
        op,
        ahead_ms: op.ts.ms.saturating_sub(now_ms),
        limit_ms,
        refused_before: true,
    }
}

/// Opens a reader of one log; see [`HubLog::readers`].
pub type Readers = Arc<dyn Fn() -> Result<Box<dyn LogRead>> + Send + Sync>;

/// How a [`SqliteHubLog`] is opened.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Refuse pushed ops stamped more than this many ms ahead of the hub's clock.
    pub max_drift_ms: u64,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            max_drift_ms: crate::hlc::DEFAULT_MAX_DRIFT_MS,
        }
    }
}

/// The hub log on SQLite: one file per space holding its log and its materialized state (written through
/// the one apply path, so the hub can answer queries and, later, build snapshots).
pub struct SqliteHubLog {
    store: Store,
    path: Option<std::path::PathBuf>,
    /// An in-memory log's snapshots by seq (a file log keeps them in files).
    snapshots: BTreeMap<u64, Connection>,
}

impl std::fmt::Debug for SqliteHubLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteHubLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn hub_options(opts: &HubOptions) -> Options {
    Options {
        role: Role::Hub,
        max_drift_ms: opts.max_drift_ms,
        ..Options::default()
    }
}

impl SqliteHubLog {
    /// Open (or create) a space's log file (WAL, `synchronous = FULL`: an append is durable when it returns).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: impl AsRef<std::path::Path>, env: Arc<dyn Env>, opts: HubOptions) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let new = !path.exists();
        let conn = Connection::open(&path)?;
        if new {
            // A new log gives the pages compaction frees back to the file system, in short steps
            // (set before anything is written: SQLite fixes the mode with the first page).
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let mut store = Store::open(conn, env, hub_options(&opts))?;
        // When a compaction step holds the write lock, retry every millisecond (SQLite's default
        // handler backs off up to 100 ms per try, and a writer that sleeps that long between tries can
        // miss every gap between steps).
        store.conn.busy_handler(Some(retry_every_ms))?;
        // Snapshot files a killed compaction left half-written (and their rollback journals) are never
        // used; remove them.
        if let Ok(dir) = std::fs::read_dir(compact::snapshots_dir(&path)) {
            for entry in dir.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.ends_with(".tmp") || name.ends_with(".tmp-journal") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(SqliteHubLog {
            store,
            path: Some(path),
            snapshots: BTreeMap::new(),
        })
    }

    /// A log in memory (tests, the sync simulation); it has no separate readers.
    pub fn open_in_memory(env: Arc<dyn Env>, opts: HubOptions) -> Result<Self> {
        Ok(SqliteHubLog {
            store: Store::open_in_memory(env, hub_options(&opts))?,
            path: None,
            snapshots: BTreeMap::new(),
        })
    }

    /// Serve an already open store as a hub log (a store opened with [`Role::Hub`] on any connection,
    /// e.g. the browser's). It has no separate readers.
    pub fn from_store(store: Store) -> Result<Self> {
        if store.options().role != Role::Hub {
            return Err(crate::Error::Unsupported(
                "a device store cannot serve as a hub log; open it with Role::Hub".into(),
            ));
        }
        Ok(SqliteHubLog {
            store,
            path: None,
            snapshots: BTreeMap::new(),
        })
    }

    /// The hub's replica of the space: its materialized state, for queries and export.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

fn read_page(conn: &mut Connection, after: u64, limit: usize) -> Result<LogPage> {
    let tx = conn.transaction()?;
    let (json, count, last) = log::page_json(&tx, after, limit)?;
    let LogPosition {
        head,
        horizon,
        epoch,
        snapshot,
    } = position(&tx)?;
    tx.commit()?;
    Ok(LogPage {
        json,
        count,
        last,
        head,
        horizon,
        epoch,
        snapshot,
    })
}

fn head(conn: &Connection) -> Result<u64> {
    Ok(kv_get(conn, keys::HEAD)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// A busy handler: wait 1 ms and try again, for up to 30 s.
#[cfg(not(target_arch = "wasm32"))]
fn retry_every_ms(tries: i32) -> bool {
    std::thread::sleep(std::time::Duration::from_millis(1));
    tries < 30_000
}

/// A page of a file log's snapshot (`path` is the space's log file).
fn file_snapshot_page(
    conn: &Connection,
    path: &std::path::Path,
    seq: Option<u64>,
    after: u64,
    limit: usize,
) -> Result<Option<compact::SnapshotChunk>> {
    let seq = match seq {
        Some(s) => s,
        None => compact::current_snapshot(conn)?,
    };
    if seq == 0 {
        return Ok(None);
    }
    match compact::open_snapshot(path, seq)? {
        Some(snap) => Ok(Some(compact::page(&snap, after, limit)?)),
        None => Ok(None),
    }
}

fn log_rows(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM ops", [], |r| r.get::<_, i64>(0))? as u64)
}

impl LogRead for SqliteHubLog {
    fn log_rows(&mut self) -> Result<u64> {
        log_rows(&self.store.conn)
    }

    fn page(&mut self, after: u64, limit: usize) -> Result<LogPage> {
        read_page(&mut self.store.conn, after, limit)
    }

    fn position(&mut self) -> Result<LogPosition> {
        let tx = self.store.conn.transaction()?;
        let p = position(&tx)?;
        tx.commit()?;
        Ok(p)
    }

    fn snapshot_page(
        &mut self,
        seq: Option<u64>,
        after: u64,
        limit: usize,
    ) -> Result<Option<compact::SnapshotChunk>> {
        if let Some(path) = &self.path {
            return file_snapshot_page(&self.store.conn, path, seq, after, limit);
        }
        let seq = match seq {
            Some(s) => s,
            None => compact::current_snapshot(&self.store.conn)?,
        };
        match self.snapshots.get(&seq) {
            Some(snap) => Ok(Some(compact::page(snap, after, limit)?)),
            None => Ok(None),
        }
    }
}

impl HubLog for SqliteHubLog {
    fn append_batches(&mut self, batches: &[&[Op]]) -> Result<Vec<Result<AppendOutcome>>> {
        self.store.append_batches(batches)
    }

    fn compact(&mut self, horizon: u64) -> Result<CompactReport> {
        if let Some(path) = &self.path {
            return SqliteCompactor::open(path)?.compact(horizon);
        }
        let mut out = Connection::open_in_memory()?;
        let (report, meta) = compact::compact_in_place(
            &mut self.store.conn,
            &mut out,
            horizon,
            compact::DEFAULT_STEP_ROWS,
        )?;
        self.snapshots.insert(meta.seq, out);
        while self.snapshots.len() > 2 {
            self.snapshots.pop_first();
        }
        Ok(report)
    }

    fn compactor(&self) -> Result<Compactor> {
        let Some(path) = self.path.clone() else {
            return Err(crate::Error::Unsupported(
                "an in-memory hub log compacts only through the log itself".into(),
            ));
        };
        let compactor = SqliteCompactor::open(path)?;
        Ok(Arc::new(move |horizon| compactor.compact(horizon)))
    }

    fn readers(&self) -> Result<Readers> {
        let Some(path) = self.path.clone() else {
            return Err(crate::Error::Unsupported(
                "an in-memory hub log has no separate readers; read through the log itself".into(),
            ));
        };
        Ok(Arc::new(move || {
            let conn = Connection::open(&path)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.pragma_update(None, "query_only", true)?;
            Ok(Box::new(SqliteLogReader {
                conn,
                path: path.clone(),
            }) as Box<dyn LogRead>)
        }))
    }
}

/// A read-only connection to a [`SqliteHubLog`]'s file.
#[derive(Debug)]
pub struct SqliteLogReader {
    conn: Connection,
    path: std::path::PathBuf,
}

impl LogRead for SqliteLogReader {
    fn log_rows(&mut self) -> Result<u64> {
        log_rows(&self.conn)
    }

    fn page(&mut self, after: u64, limit: usize) -> Result<LogPage> {
        read_page(&mut self.conn, after, limit)
    }

    fn position(&mut self) -> Result<LogPosition> {
        let tx = self.conn.transaction()?;
        let p = position(&tx)?;
        tx.commit()?;
        Ok(p)
    }

    fn snapshot_page(
        &mut self,
        seq: Option<u64>,
        after: u64,
        limit: usize,
    ) -> Result<Option<compact::SnapshotChunk>> {
        file_snapshot_page(&self.conn, &self.path, seq, after, limit)
    }
}

/// The skew refusals a SQLite hub log keeps (`kv` keys [`keys::skew_refused`]), read and written inside
/// the append's write transaction.
#[derive(Default)]
struct SkewMarks {
    /// Per device, whether it has any mark (most devices never have one: their ops cost no lookup).
    any: HashMap<DeviceId, bool>,
}

impl SkewMarks {
    fn device_has_any(&mut self, conn: &Connection, device: DeviceId) -> Result<bool> {
        if let Some(any) = self.any.get(&device) {
            return Ok(*any);
        }
        let prefix = keys::skew_refused_prefix(device);
        let end = format!("{};", prefix.trim_end_matches(':'));
        let any = conn
            .prepare_cached("SELECT 1 FROM kv WHERE key > ?1 AND key < ?2 LIMIT 1")?
            .exists([&prefix, &end])?;
        self.any.insert(device, any);
        Ok(any)
    }

    /// The first op of `ops` (in batch order) that is not in the log and whose id was refused for skew.
    fn first_refused<'a>(
        &mut self,
        conn: &Connection,
        ops: impl Iterator<Item = &'a Op>,
    ) -> Result<Option<OpId>> {
        for op in ops {
            if self.device_has_any(conn, op.id.device)?
                && kv_get(conn, &keys::skew_refused(op.id))?.is_some()
                // An op the log holds is a duplicate, whatever else is true of its id.
                && log::find(conn, op.id)?.is_none()
            {
                return Ok(Some(op.id));
            }
        }
        Ok(None)
    }

    /// Mark the ids a refusal of `batch` naming `named` retires (none the log already holds).
    fn retire(&mut self, conn: &Connection, batch: &[Op], named: OpId) -> Result<()> {
        for id in retired_by_skew_refusal(batch, named) {
            if log::find(conn, id)?.is_none() {
                kv_set(conn, &keys::skew_refused(id), "")?;
                self.any.insert(id.device, true);
            }
        }
        Ok(())
    }
}

/// Where the log has op `id`: its seq, or the horizon when compaction removed its row (`removed`
/// caches, per device, the greatest op id compaction removed: an op at or below it was accepted
/// before); None for an op new to the log.
fn held(
    tx: &Connection,
    id: OpId,
    horizon: u64,
    removed: &mut HashMap<DeviceId, Option<OpId>>,
) -> Result<Option<u64>> {
    if let Some(seq) = log::find(tx, id)? {
        return Ok(Some(seq.unwrap_or(0)));
    }
    if horizon == 0 {
        return Ok(None);
    }
    let mark = match removed.get(&id.device) {
        Some(m) => *m,
        None => {
            let m = compact::compacted_watermark(tx, id.device)?;
            removed.insert(id.device, m);
            m
        }
    };
    // Its row was compacted away; it sits at or below the horizon.
    Ok(mark.is_some_and(|m| id <= m).then_some(horizon))
}

impl Store {
    /// The hub's append (see [`HubLog::append_batches`]): seqs are assigned inside the write transaction.
    ///
    /// Each batch is checked against the rules before the transaction; its stamps are checked inside
    /// it, and only for ops the log does not hold (nor compacted): a retried push of a logged op is a
    /// duplicate, however far its stamp is ahead of the hub's clock by now (a clock that stepped back,
    /// another hub's clock). The first op at fault answers: an invalid one, or a new one stamped too
    /// far ahead. Then, before any op is appended: each batch refused for clock skew retires its ids
    /// ([`retired_by_skew_refusal`]); then each batch that passed but holds an id retired now or
    /// before (and not in the log) is refused the same way and retires its later ids too. The marks
    /// commit with the group, before any push of it is answered.
    fn append_batches(&mut self, batches: &[&[Op]]) -> Result<Vec<Result<AppendOutcome>>> {
        let now = self.now_ms()?;
        let limit_ms = self.clock.max_drift_ms();
        let mut outcomes: Vec<Result<AppendOutcome>> = Vec::with_capacity(batches.len());
        // Batches that may commit, or be refused for the stamp of an op not in the log: their ops
        // before the first invalid one, prepared; that op's error; whether one of those ops is stamped
        // too far ahead, in batch order (a fault only if the log does not hold it).
        let mut open = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            let (prepared, invalid) = self.prepare_ops(batch);
            let ahead: Vec<(OpId, Error)> = prepared
                .iter()
                .filter_map(|(op, _)| Some((op.id, self.check_stamp(op.id, now)?)))
                .collect();
            match invalid {
                Some(e) if ahead.is_empty() => outcomes.push(Err(e)),
                invalid => {
                    open.push((i, prepared, invalid, ahead));
                    outcomes.push(Ok(AppendOutcome {
                        accepted: 0,
                        duplicates: 0,
                        seqs: vec![],
                        head: 0,
                    }));
                }
            }
        }
        if open.is_empty() {
            return Ok(outcomes);
        }
        let head = self.write(None, |tx, clock| {
            let horizon = position(tx)?.horizon;
            let mut removed: HashMap<DeviceId, Option<OpId>> = HashMap::new();
            // The stamps of ops new to the log.
            let mut valid = Vec::with_capacity(open.len());
            for (i, prepared, invalid, ahead) in open {
                let mut skew = None;
                for (id, e) in ahead {
                    if held(tx, id, horizon, &mut removed)?.is_none() {
                        skew = Some(e);
                        break;
                    }
                }
                match (skew, invalid) {
                    (Some(e), _) | (None, Some(e)) => outcomes[i] = Err(e),
                    (None, None) => valid.push((i, prepared)),
                }
            }
            let mut marks = SkewMarks::default();
            // Refused for skew just now: name the first op at fault (an earlier one may have been
            // refused before) and retire the ids from it on.
            for (batch, outcome) in batches.iter().zip(outcomes.iter_mut()) {
                let Err(Error::ClockSkew { op: named, .. }) = outcome else {
                    continue;
                };
                let named = *named;
                let named = match marks.first_refused(tx, batch.iter().take_while(|op| op.id != named))? {
                    Some(earlier) => {
                        *outcome = Err(refused_for_skew_before(earlier, now, limit_ms));
                        earlier
                    }
                    None => named,
                };
                marks.retire(tx, batch, named)?;
            }
            // Valid, but holding an id refused for skew (now or before): refused the same way.
            let mut appendable = Vec::with_capacity(valid.len());
            for (i, prepared) in valid {
                match marks.first_refused(tx, batches[i].iter())? {
                    Some(named) => {
                        marks.retire(tx, batches[i], named)?;
                        outcomes[i] = Err(refused_for_skew_before(named, now, limit_ms));
                    }
                    None => appendable.push((i, prepared)),
                }
            }
            let before = head(tx)?;
            let mut head = before;
            for (i, prepared) in &appendable {
                let Ok(outcome) = &mut outcomes[*i] else { continue };
                for (op, prepared) in prepared {
                    if let Some(seq) = held(tx, op.id, horizon, &mut removed)? {
                        outcome.duplicates += 1;
                        outcome.seqs.push(seq);
                        continue;
                    }
                    // Only appended ops move the hub's clock.
                    clock.observe(op.id.ts);
                    head += 1;
                    let applied = apply::apply_op(tx, op, prepared)?;
                    log::write(tx, op, Some(head), applied)?;
                    outcome.accepted += 1;
                    outcome.seqs.push(head);
                }
            }
            if head != before {
                kv_set(tx, keys::HEAD, &head.to_string())?;
            }
            Ok(head)
        })?;
        for o in outcomes.iter_mut().flatten() {
            o.head = head;
        }
        Ok(outcomes)
    }
}
