//! A space's log on PostgreSQL: [`PgHubLog`] (the writer), [`PgLogReader`] (pulls) and
//! [`PgCompactor`] (snapshots and pruning). See the module above for the ordering rule.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth_core::store::{
    CompactReport, Compactor, HubLog, HubOptions, LogPage, LogPosition, LogRead, MigrateReport, Readers,
    SnapshotChunk, refused_for_skew_before, retired_by_skew_refusal,
};
use hearth_core::{AppendOutcome, DeviceId, Env, Error, Op, OpId, Options, Result, Role, SeqOp, Store};
use postgres::{Client, GenericClient, IsolationLevel, Statement};

use super::{CHANNEL, Database, db_err};

/// Rows one prune step deletes at most (a few ms of the space's counter-row lock).
const STEP_ROWS: i64 = 2_000;
/// The pause after each prune step, so that waiting appends get the counter row between steps.
const STEP_PAUSE: Duration = Duration::from_millis(3);
/// Ops applied to the compactor's replica per page read.
const CATCH_UP_PAGE: i64 = 5_000;
/// At most this many ops committed by others between an append's lookup and its lock are read back
/// under the lock; past it the append looks its ids up again instead.
const SINCE_ROWS: u64 = 10_000;
/// Snapshot entries inserted per statement.
const ENTRIES_PER_INSERT: usize = 1_000;

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

fn position(c: &mut impl GenericClient, space: &str) -> Result<LogPosition> {
    let row = c
        .query_opt(
            "SELECT head, horizon, epoch, snapshot FROM spaces WHERE name = $1",
            &[&space],
        )
        .map_err(db_err)?;
    Ok(match row {
        Some(r) => LogPosition {
            head: u(r.get(0)),
            horizon: u(r.get(1)),
            epoch: u(r.get(2)),
            snapshot: u(r.get(3)),
        },
        None => LogPosition {
            head: 0,
            horizon: 0,
            epoch: 1,
            snapshot: 0,
        },
    })
}

/// A page and the position, in one statement (one snapshot of the database).
fn page(c: &mut super::Conn, space: &str, after: u64, limit: usize) -> Result<LogPage> {
    let stmt = c
        .prepared(
            "SELECT s.head, s.horizon, s.epoch, s.snapshot, o.seq, o.body FROM spaces s \
             LEFT JOIN LATERAL (SELECT seq, body FROM ops WHERE space = s.name AND seq > $2 ORDER BY seq LIMIT $3) o \
             ON true WHERE s.name = $1",
        )
        .map_err(db_err)?;
    // Put in seq order here: sorting a page's bodies in the server took more than its work_mem
    // (an external sort on disk for a 10,000-op page).
    let mut rows = c
        .query(&stmt, &[&space, &(after as i64), &(limit as i64)])
        .map_err(db_err)?;
    rows.sort_by_key(|r| r.get::<_, Option<i64>>(4));
    let mut json = String::from("[");
    let (mut count, mut last) = (0usize, None);
    let mut pos = LogPosition {
        head: 0,
        horizon: 0,
        epoch: 1,
        snapshot: 0,
    };
    for r in &rows {
        pos = LogPosition {
            head: u(r.get(0)),
            horizon: u(r.get(1)),
            epoch: u(r.get(2)),
            snapshot: u(r.get(3)),
        };
        let Some(seq) = r.get::<_, Option<i64>>(4) else {
            continue;
        };
        if count > 0 {
            json.push(',');
        }
        json.push_str(r.get::<_, &str>(5));
        count += 1;
        last = Some(u(seq));
    }
    json.push(']');
    Ok(LogPage {
        json,
        count,
        last,
        head: pos.head,
        horizon: pos.horizon,
        epoch: pos.epoch,
        snapshot: pos.snapshot,
    })
}

/// How many rows the space's log holds, without counting the whole log: every seq from the horizon to
/// the head is a row (seqs are dense and only rows at or below the horizon are pruned), and below it
/// only the rows pruning kept are left to count. One statement, so one snapshot of both.
/// The rows of the append's lookup: the group's ops the log holds, by id with their seqs, and the ids
/// refused for clock skew.
fn found(rows: Vec<postgres::Row>) -> (HashMap<String, u64>, HashSet<String>) {
    let mut known = HashMap::new();
    let mut refused = HashSet::new();
    for r in rows {
        let id: String = r.get(0);
        if r.get::<_, bool>(2) {
            refused.insert(id.clone());
        }
        if let Some(seq) = r.get::<_, Option<i64>>(1) {
            known.insert(id, u(seq));
        }
    }
    (known, refused)
}

fn log_rows(c: &mut impl GenericClient, space: &str) -> Result<u64> {
    let n: i64 = c
        .query_one(
            "SELECT greatest(s.head - s.horizon, 0) \
                 + (SELECT count(*) FROM ops o WHERE o.space = s.name AND o.seq <= s.horizon) \
             FROM spaces s WHERE s.name = $1",
            &[&space],
        )
        .map_err(db_err)?
        .get(0);
    Ok(u(n))
}

fn snapshot_page(
    c: &mut Client,
    space: &str,
    seq: Option<u64>,
    after: u64,
    limit: usize,
) -> Result<Option<SnapshotChunk>> {
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(db_err)?;
    let seq = match seq {
        Some(s) => s,
        None => position(&mut tx, space)?.snapshot,
    };
    if seq == 0 {
        return Ok(None);
    }
    let Some(meta) = tx
        .query_opt(
            "SELECT epoch, digest, total FROM snapshots WHERE space = $1 AND seq = $2",
            &[&space, &(seq as i64)],
        )
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let total = u(meta.get(2));
    let rows = tx
        .query(
            "SELECT i, entry FROM snapshot_entries WHERE space = $1 AND seq = $2 AND i > $3 ORDER BY i LIMIT $4",
            &[&space, &(seq as i64), &(after as i64), &(limit as i64)],
        )
        .map_err(db_err)?;
    let mut entries_json = String::from("[");
    let (mut count, mut last) = (0usize, after);
    for r in &rows {
        if count > 0 {
            entries_json.push(',');
        }
        entries_json.push_str(r.get::<_, &str>(1));
        last = u(r.get(0));
        count += 1;
    }
    entries_json.push(']');
    tx.commit().map_err(db_err)?;
    Ok(Some(SnapshotChunk {
        seq,
        epoch: u(meta.get(0)),
        digest: meta.get(1),
        total,
        entries_json,
        count,
        next: (last < total).then_some(last),
    }))
}

/// The op as a pull serves it, `{seq, id, kind, v, payload}`, but for its seq: `"id":…}`. Encoded
/// before the counter row is locked; [`body`] puts the seq in front.
fn body_tail(op: &Op) -> Result<String> {
    Ok(format!(
        "\"id\":\"{}\",\"kind\":{},\"v\":{},\"payload\":{}}}",
        op.id,
        serde_json::to_string(&op.kind)?,
        op.v,
        serde_json::to_string(&op.payload)?
    ))
}

/// The op as a pull serves it: `{seq, id, kind, v, payload}`.
fn body(seq: u64, tail: &str) -> String {
    let mut body = String::with_capacity(tail.len() + 24);
    body.push_str("{\"seq\":");
    body.push_str(&seq.to_string());
    body.push(',');
    body.push_str(tail);
    body
}

/// A space's log on PostgreSQL, for the hub's writer thread.
pub struct PgHubLog {
    db: Database,
    client: super::Conn,
    space: String,
    /// Validates pushes with the core's rules (an empty in-memory hub store: nothing is written to it).
    validator: Store,
    compactor: Arc<PgCompactor>,
    /// The head as of this writer's last append (None: read it from the database).
    head: Option<u64>,
}

/// The append's statements, prepared once on the writer's connection.
struct AppendStatements {
    lock: Statement,
    head: Statement,
    lookup: Statement,
    since: Statement,
    any_refused: Statement,
    insert: Statement,
    set_head: Statement,
    notify: Statement,
}

impl std::fmt::Debug for PgHubLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHubLog")
            .field("db", &self.db)
            .field("space", &self.space)
            .finish_non_exhaustive()
    }
}

impl PgHubLog {
    /// Open the log of `space` (its counter row is created if missing). The schema must be migrated
    /// ([`Database::migrate`]).
    pub fn open(db: &Database, space: &str, env: Arc<dyn Env>, opts: HubOptions) -> Result<Self> {
        let mut client = db.connect().map_err(db_err)?;
        client
            .execute(
                "INSERT INTO spaces (name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&space, &(env.now_ms() as i64)],
            )
            .map_err(db_err)?;
        let validator = Store::open_in_memory(
            env.clone(),
            Options {
                role: Role::Hub,
                max_drift_ms: opts.max_drift_ms,
                ..Options::default()
            },
        )?;
        Ok(PgHubLog {
            db: db.clone(),
            client,
            space: space.to_owned(),
            validator,
            compactor: Arc::new(PgCompactor::new(db.clone(), space, env)),
            head: None,
        })
    }

    fn statements(&mut self) -> Result<AppendStatements> {
        let c = &mut self.client;
        let mut p = |sql| c.prepared(sql).map_err(db_err);
        Ok(AppendStatements {
            lock: p("SELECT head, horizon FROM spaces WHERE name = $1 FOR UPDATE")?,
            head: p("SELECT head FROM spaces WHERE name = $1")?,
            // Scalar subqueries, so that each id is an index probe: as `id = ANY($2)` the planner
            // scans the whole log once the group holds a few hundred ids.
            lookup: p("SELECT id, seq, refused FROM (SELECT k.id, \
                 (SELECT o.seq FROM ops o WHERE o.space = $1 AND o.id = k.id) AS seq, \
                 EXISTS (SELECT 1 FROM skew_refused r WHERE r.space = $1 AND r.id = k.id) AS refused \
                 FROM unnest($2::text[]) AS k(id)) found WHERE seq IS NOT NULL OR refused")?,
            since: p("SELECT id, seq FROM ops WHERE space = $1 AND seq > $2")?,
            // A statement of its own, after the lock: as a subquery of the lock's statement it would
            // read the snapshot taken before waiting for the row, and miss a refusal committed meanwhile.
            any_refused: p("SELECT EXISTS (SELECT 1 FROM skew_refused WHERE space = $1)")?,
            insert: p("INSERT INTO ops (space, seq, id, device, applied, body) \
                 SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bool[], $6::text[])")?,
            set_head: p("UPDATE spaces SET head = $2 WHERE name = $1")?,
            notify: p("SELECT pg_notify($1, $2)")?,
        })
    }
}

impl LogRead for PgHubLog {
    fn page(&mut self, after: u64, limit: usize) -> Result<LogPage> {
        page(&mut self.client, &self.space, after, limit)
    }
    fn position(&mut self) -> Result<LogPosition> {
        position(&mut *self.client, &self.space)
    }
    /// The head this writer's last append read under the counter row's lock (or committed), else read
    /// now: heads other hubs commit later arrive through `LISTEN`.
    fn head(&mut self) -> Result<u64> {
        match self.head {
            Some(h) => Ok(h),
            None => Ok(self.position()?.head),
        }
    }
    fn log_rows(&mut self) -> Result<u64> {
        log_rows(&mut *self.client, &self.space)
    }
    fn snapshot_page(&mut self, seq: Option<u64>, after: u64, limit: usize) -> Result<Option<SnapshotChunk>> {
        snapshot_page(&mut self.client, &self.space, seq, after, limit)
    }
}

impl HubLog for PgHubLog {
    fn append_batches(&mut self, batches: &[&[Op]]) -> Result<Vec<Result<AppendOutcome>>> {
        let now = self.validator.now_ms()?;
        let limit_ms = self.validator.options().max_drift_ms;
        let mut outcomes: Vec<Result<AppendOutcome>> = Vec::with_capacity(batches.len());
        // Batches that may commit, or be refused for the stamp of an op not in the log: per op before
        // the first invalid one, whether it is applied; that op's error; the ops of those stamped too
        // far ahead, in batch order (a fault only if the log does not hold them: a retried push of a
        // logged op is a duplicate, whatever this hub's clock says of its stamp).
        let mut open = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            let (applied, invalid) = self.validator.check_rules(batch);
            let ahead: Vec<(OpId, Error)> = batch[..applied.len()]
                .iter()
                .filter_map(|op| Some((op.id, self.validator.check_stamp(op.id, now)?)))
                .collect();
            match invalid {
                Some(e) if ahead.is_empty() => outcomes.push(Err(e)),
                invalid => {
                    open.push((i, applied, invalid, ahead));
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
        self.head = None;
        let st = self.statements()?;
        let space = self.space.as_str();
        let ids: Vec<String> = open
            .iter()
            .flat_map(|(i, ..)| batches[*i].iter().map(|op| op.id.to_string()))
            .collect();
        // Per batch, the ops' rows but for their seqs (the lock below is held as briefly as may be).
        let mut tails: Vec<Vec<String>> = vec![Vec::new(); batches.len()];
        for (i, applied, ..) in &open {
            tails[*i] = batches[*i][..applied.len()]
                .iter()
                .map(body_tail)
                .collect::<Result<_>>()?;
        }
        // Ops of this group the log holds already (a retried push), and op ids refused for clock skew
        // (by any hub): one index probe per id each, whatever the size of the log. Looked up before
        // the counter row is locked, so that the other hubs' appends go on meanwhile; under the lock
        // only what committed since is read (below). The head is read first: the lookup then sees at
        // least every op at or below it.
        let seen: i64 = self.client.query_one(&st.head, &[&space]).map_err(db_err)?.get(0);
        let (mut known, mut refused) = found(self.client.query(&st.lookup, &[&space, &ids]).map_err(db_err)?);
        let mut tx = self.client.transaction().map_err(db_err)?;
        // The counter row: appends to this space, through any hub, commit one after another (and so
        // do the skew refusals they read and write).
        let row = tx.query_one(&st.lock, &[&space]).map_err(db_err)?;
        let (mut head, horizon) = (u(row.get(0)), u(row.get(1)));
        let any_refused: bool = tx.query_one(&st.any_refused, &[&space]).map_err(db_err)?.get(0);
        if any_refused || head > u(seen) + SINCE_ROWS {
            // Refusals are rare: when the space holds any, look everything up again under the lock,
            // so that an op another hub has just refused is not accepted here (and so when too many
            // ops committed since the lookup to read them back).
            (known, refused) = found(tx.query(&st.lookup, &[&space, &ids]).map_err(db_err)?);
        } else if head > u(seen) {
            // Ops other appends committed since the head read above: the ones of this group among them
            // are duplicates too.
            let group: HashSet<&str> = ids.iter().map(String::as_str).collect();
            for r in tx.query(&st.since, &[&space, &seen]).map_err(db_err)? {
                let id: &str = r.get(0);
                if group.contains(id) {
                    known.insert(id.to_owned(), u(r.get(1)));
                }
            }
        }
        // Per device, the greatest op id compaction removed: an op at or below it was accepted before.
        let mut marks: HashMap<DeviceId, OpId> = HashMap::new();
        if horizon > 0 {
            for r in tx
                .query("SELECT device, max_id FROM compacted WHERE space = $1", &[&space])
                .map_err(db_err)?
            {
                let device: DeviceId = r.get::<_, &str>(0).parse()?;
                marks.insert(device, r.get::<_, &str>(1).parse()?);
            }
        }
        let compacted = |id: OpId| marks.get(&id.device).is_some_and(|m| id <= *m);
        // The stamps of ops new to the log.
        let mut valid: Vec<(usize, Vec<bool>)> = Vec::with_capacity(open.len());
        let mut skewed: Vec<usize> = Vec::new();
        for (i, applied, invalid, ahead) in open {
            let skew = ahead
                .into_iter()
                .find(|(id, _)| !known.contains_key(&id.to_string()) && !compacted(*id))
                .map(|(_, e)| e);
            match (skew, invalid) {
                (Some(e), _) => {
                    outcomes[i] = Err(e);
                    skewed.push(i);
                }
                (None, Some(e)) => outcomes[i] = Err(e),
                (None, None) => valid.push((i, applied)),
            }
        }
        // The first op of `ops` not in the log whose id was refused for skew.
        let first_refused = |ops: &mut dyn Iterator<Item = &Op>, refused: &HashSet<String>| {
            if refused.is_empty() {
                return None;
            }
            ops.map(|op| op.id).find(|id| {
                let id = id.to_string();
                refused.contains(&id) && !known.contains_key(&id)
            })
        };
        let mut retired: Vec<OpId> = Vec::new();
        let mut retire = |batch: &[Op], named: OpId, refused: &mut HashSet<String>| {
            for id in retired_by_skew_refusal(batch, named) {
                let text = id.to_string();
                if !known.contains_key(&text) && refused.insert(text) {
                    retired.push(id);
                }
            }
        };
        // Refused for skew just now: name the first op at fault (an earlier one may have been refused
        // before) and retire the ids from it on.
        for i in skewed {
            let batch = batches[i];
            let Err(Error::ClockSkew { op: named, .. }) = outcomes[i] else {
                continue;
            };
            let named = match first_refused(&mut batch.iter().take_while(|op| op.id != named), &refused) {
                Some(earlier) => {
                    outcomes[i] = Err(refused_for_skew_before(earlier, now, limit_ms));
                    earlier
                }
                None => named,
            };
            retire(batch, named, &mut refused);
        }
        // Valid, but holding an id refused for skew (now or before): refused the same way.
        let mut appendable = Vec::with_capacity(valid.len());
        for (i, applied) in valid {
            match first_refused(&mut batches[i].iter(), &refused) {
                Some(named) => {
                    retire(batches[i], named, &mut refused);
                    outcomes[i] = Err(refused_for_skew_before(named, now, limit_ms));
                }
                None => appendable.push((i, applied)),
            }
        }
        if !retired.is_empty() {
            let devices: Vec<String> = retired.iter().map(|id| id.device.to_string()).collect();
            let ids: Vec<String> = retired.iter().map(ToString::to_string).collect();
            tx.execute(
                "INSERT INTO skew_refused (space, device, id) SELECT $1, * FROM unnest($2::text[], $3::text[]) \
                 ON CONFLICT (space, id) DO NOTHING",
                &[&space, &devices, &ids],
            )
            .map_err(db_err)?;
        }
        let (mut seq_col, mut id_col, mut dev_col, mut applied_col, mut body_col) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, applied) in &appendable {
            let Ok(outcome) = &mut outcomes[*i] else { continue };
            for ((op, applied), tail) in batches[*i].iter().zip(applied).zip(&tails[*i]) {
                let id = op.id.to_string();
                if let Some(seq) = known.get(&id) {
                    outcome.duplicates += 1;
                    outcome.seqs.push(*seq);
                    continue;
                }
                if compacted(op.id) {
                    // Its row was compacted away; it sits at or below the horizon.
                    outcome.duplicates += 1;
                    outcome.seqs.push(horizon);
                    continue;
                }
                head += 1;
                seq_col.push(head as i64);
                body_col.push(body(head, tail));
                dev_col.push(op.id.device.to_string());
                applied_col.push(*applied);
                known.insert(id.clone(), head);
                id_col.push(id);
                outcome.accepted += 1;
                outcome.seqs.push(head);
            }
        }
        if !seq_col.is_empty() {
            tx.execute(
                &st.insert,
                &[&space, &seq_col, &id_col, &dev_col, &applied_col, &body_col],
            )
            .map_err(db_err)?;
            tx.execute(&st.set_head, &[&space, &(head as i64)])
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        self.head = Some(head);
        if !seq_col.is_empty() {
            // After the commit: inside the transaction NOTIFY serializes every committing hub.
            let payload = format!("{space} {head}");
            if let Err(e) = self.client.execute(&st.notify, &[&CHANNEL, &payload]) {
                tracing::warn!(space, head, error = %e, "could not notify other hubs of the new head");
            }
        }
        for o in outcomes.iter_mut().flatten() {
            o.head = head;
        }
        Ok(outcomes)
    }

    fn readers(&self) -> Result<Readers> {
        let (db, space) = (self.db.clone(), self.space.clone());
        Ok(Arc::new(move || {
            Ok(Box::new(PgLogReader::open(&db, &space)?) as Box<dyn LogRead>)
        }))
    }

    fn compact(&mut self, horizon: u64) -> Result<CompactReport> {
        self.compactor.compact(horizon)
    }

    fn compactor(&self) -> Result<Compactor> {
        let compactor = self.compactor.clone();
        Ok(Arc::new(move |horizon| compactor.compact(horizon)))
    }
}

/// A reader of a space's log on PostgreSQL (its own connection).
pub struct PgLogReader {
    client: super::Conn,
    space: String,
}

impl std::fmt::Debug for PgLogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLogReader")
            .field("space", &self.space)
            .finish_non_exhaustive()
    }
}

impl PgLogReader {
    /// Connect a reader of `space`.
    pub fn open(db: &Database, space: &str) -> Result<Self> {
        let mut client = db.connect().map_err(db_err)?;
        // A page must come in the primary key's order, straight from the index. Until the log's
        // statistics catch up with a burst of appends (autovacuum analyzes a minute or more later),
        // the planner takes the rows after the cursor for a few hundred and sorts them all instead:
        // 100+ ms a page, on disk. Nothing a reader asks needs a sort.
        client.batch_execute("SET enable_sort = off").map_err(db_err)?;
        Ok(PgLogReader {
            client,
            space: space.to_owned(),
        })
    }
}

impl LogRead for PgLogReader {
    fn page(&mut self, after: u64, limit: usize) -> Result<LogPage> {
        page(&mut self.client, &self.space, after, limit)
    }
    fn position(&mut self) -> Result<LogPosition> {
        position(&mut *self.client, &self.space)
    }
    fn log_rows(&mut self) -> Result<u64> {
        log_rows(&mut *self.client, &self.space)
    }
    fn snapshot_page(&mut self, seq: Option<u64>, after: u64, limit: usize) -> Result<Option<SnapshotChunk>> {
        snapshot_page(&mut self.client, &self.space, seq, after, limit)
    }
}

/// Compacts a space's log on PostgreSQL. It keeps a replica of the space in SQLite, which
/// `hearth-core`'s apply path brings up to the head before each snapshot (from the current snapshot
/// and the log above it, the first time), and holds an advisory lock per space while it works, so
/// that among all hubs one compacts a space at a time.
pub struct PgCompactor {
    db: Database,
    space: String,
    env: Arc<dyn Env>,
    replica: Mutex<Option<Store>>,
}

impl std::fmt::Debug for PgCompactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCompactor")
            .field("space", &self.space)
            .finish_non_exhaustive()
    }
}

impl PgCompactor {
    /// A compactor of `space`.
    pub fn new(db: Database, space: &str, env: Arc<dyn Env>) -> Self {
        PgCompactor {
            db,
            space: space.to_owned(),
            env,
            replica: Mutex::new(None),
        }
    }

    fn lock_key(&self) -> i64 {
        use sha2::{Digest, Sha256};
        let hash = Sha256::digest(format!("hearth-compact:{}", self.space).as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&hash[..8]);
        i64::from_be_bytes(bytes)
    }

    /// Snapshot the state at the head (unless the current snapshot is already there), then prune the
    /// log up to `min(horizon, snapshot)`. The horizon never moves backwards.
    pub fn compact(&self, horizon: u64) -> Result<CompactReport> {
        let mut replica = self.replica.lock().unwrap_or_else(|p| p.into_inner());
        let mut c = self.db.connect().map_err(db_err)?;
        let key = self.lock_key();
        c.execute("SELECT pg_advisory_lock($1)", &[&key])
            .map_err(db_err)?;
        let out = self.compact_locked(&mut c, &mut replica, horizon);
        if out.is_err() {
            // The replica may be half caught up; the next compaction builds it anew.
            *replica = None;
        }
        let _ = c.execute("SELECT pg_advisory_unlock($1)", &[&key]);
        out
    }

    /// Run the whole-space migration `m` (no hub may serve the database meanwhile:
    /// [`super::Database::hold_no_hub_serving`]). Under the space's compaction lock, the replica is
    /// brought to the head and, in one transaction that holds the counter row: the old epoch's log
    /// (and the snapshot it continues from) is archived, kept in `archived_ops` /
    /// `archived_snapshots` under its epoch; the replica's state is rewritten by the migration through
    /// `hearth-core` and written as the new epoch's snapshot at head + 1 (the migration's place in the
    /// log); the log is pruned up to it; and the new epoch, the migrations and the raised minimum
    /// schema version are recorded. A kill at any point leaves the old epoch whole or the new one.
    pub fn migrate(&self, m: &hearth_core::evolve::Migration) -> Result<MigrateReport> {
        let mut replica = self.replica.lock().unwrap_or_else(|p| p.into_inner());
        let mut c = self.db.connect().map_err(db_err)?;
        let key = self.lock_key();
        c.execute("SELECT pg_advisory_lock($1)", &[&key])
            .map_err(db_err)?;
        let out = self.migrate_locked(&mut c, &mut replica, m);
        // Built again from the new snapshot when next needed.
        *replica = None;
        let _ = c.execute("SELECT pg_advisory_unlock($1)", &[&key]);
        out
    }

    fn migrate_locked(
        &self,
        c: &mut Client,
        replica: &mut Option<Store>,
        m: &hearth_core::evolve::Migration,
    ) -> Result<MigrateReport> {
        let space = self.space.as_str();
        let before = migrations(c, space)?;
        if before.iter().any(|n| n == m.name) {
            return Err(Error::Unsupported(format!(
                "this space went through the migration {:?} already",
                m.name
            )));
        }
        let mut names = before.clone();
        names.push(m.name.to_owned());
        let pos = position(c, space)?;
        let log_rows_before = log_rows(c, space)?;
        // Most of the catching up before the counter row is held.
        self.catch_up(c, replica, pos)?;
        let Some(store) = replica.as_mut() else {
            unreachable!("caught up")
        };
        let mut tx = c.transaction().map_err(db_err)?;
        let row = tx
            .query_one(
                "SELECT head, epoch, snapshot, migrations FROM spaces WHERE name = $1 FOR UPDATE",
                &[&space],
            )
            .map_err(db_err)?;
        let (head, epoch_before, snapshot) = (u(row.get(0)), u(row.get(1)), row.get::<_, i64>(2));
        if serde_json::from_str::<Vec<String>>(row.get(3))? != before {
            return Err(Error::Unsupported(
                "another migration of this space ran meanwhile; run `hearth migrations` and try again".into(),
            ));
        }
        apply_log(&mut tx, space, store, head)?;
        let (changed, cleared) = store.run_migration(m)?;
        let epoch = names.len() as u64 + 1;
        let seq = head + 1;
        // The old epoch, kept.
        tx.execute(
            "INSERT INTO archived_ops (space, epoch, seq, id, device, applied, body) \
             SELECT space, $2, seq, id, device, applied, body FROM ops WHERE space = $1",
            &[&space, &(epoch_before as i64)],
        )
        .map_err(db_err)?;
        tx.execute(
            "INSERT INTO archived_snapshots (space, epoch, seq, digest, total) \
             SELECT space, $2, seq, digest, total FROM snapshots WHERE space = $1 AND seq = $3",
            &[&space, &(epoch_before as i64), &snapshot],
        )
        .map_err(db_err)?;
        tx.execute(
            "INSERT INTO archived_snapshot_entries (space, epoch, i, entry) \
             SELECT space, $2, i, entry FROM snapshot_entries WHERE space = $1 AND seq = $3",
            &[&space, &(epoch_before as i64), &snapshot],
        )
        .map_err(db_err)?;
        // The new epoch's snapshot, under a seq no snapshot of the old epoch can have; the old
        // epoch's snapshots go (every device restores from the new one).
        let entries = write_snapshot(&mut tx, space, store, seq, epoch, seq)?;
        let horizon: i64 = tx
            .query_one("SELECT horizon FROM spaces WHERE name = $1", &[&space])
            .map_err(db_err)?
            .get(0);
        prune_rows(&mut tx, space, horizon, head as i64)?;
        tx.execute(
            "UPDATE spaces SET head = $2, horizon = $2, snapshot = $2, epoch = $3, migrations = $4, \
             min_schema_version = GREATEST(min_schema_version, $5) WHERE name = $1",
            &[
                &space,
                &(seq as i64),
                &(epoch as i64),
                &serde_json::to_string(&names)?,
                &m.schema_version,
            ],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        let payload = format!("{space} {seq}");
        if let Err(e) = c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]) {
            tracing::warn!(space, seq, error = %e, "could not notify hubs of the new head");
        }
        Ok(MigrateReport {
            migration: m.name.to_owned(),
            epoch_before,
            epoch,
            migrations: names,
            seq,
            changed,
            cleared,
            snapshot_entries: entries,
            archive: format!(
                "the tables archived_ops and archived_snapshots of {:?} (space {space:?}, epoch {epoch_before})",
                self.db
            ),
            log_rows_before,
            log_rows_after: log_rows(c, space)?,
        })
    }

    fn compact_locked(
        &self,
        c: &mut Client,
        replica: &mut Option<Store>,
        horizon: u64,
    ) -> Result<CompactReport> {
        let space = self.space.as_str();
        let pos = position(c, space)?;
        let log_rows_before = log_rows(c, space)?;
        let existing = if pos.snapshot == pos.head && pos.head > 0 {
            c.query_opt(
                "SELECT total FROM snapshots WHERE space = $1 AND seq = $2",
                &[&space, &(pos.snapshot as i64)],
            )
            .map_err(db_err)?
            .map(|r| u(r.get(0)))
        } else {
            None
        };
        let (snapshot_seq, snapshot_entries) = match existing {
            Some(total) => (pos.snapshot, total),
            None => {
                let store = self.catch_up(c, replica, pos)?;
                (pos.head, self.write_snapshot(c, store, pos)?)
            }
        };
        let cut = horizon.min(snapshot_seq) as i64;
        let (mut steps, mut longest) = (0usize, 0u64);
        loop {
            let mut tx = c.transaction().map_err(db_err)?;
            let started = Instant::now();
            let h: i64 = tx
                .query_one("SELECT horizon FROM spaces WHERE name = $1 FOR UPDATE", &[&space])
                .map_err(db_err)?
                .get(0);
            if h >= cut {
                tx.commit().map_err(db_err)?;
                break;
            }
            let upto: i64 = tx
                .query_opt(
                    "SELECT seq FROM ops WHERE space = $1 AND seq > $2 AND seq <= $3 AND applied \
                     ORDER BY seq LIMIT 1 OFFSET $4",
                    &[&space, &h, &cut, &(STEP_ROWS - 1)],
                )
                .map_err(db_err)?
                .map_or(cut, |r| r.get(0));
            prune_rows(&mut tx, space, h, upto)?;
            tx.execute("UPDATE spaces SET horizon = $2 WHERE name = $1", &[&space, &upto])
                .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            steps += 1;
            let took = started.elapsed();
            longest = longest.max(took.as_millis() as u64);
            std::thread::sleep(STEP_PAUSE.max(took / 4));
        }
        Ok(CompactReport {
            horizon: position(c, space)?.horizon,
            snapshot_seq,
            log_rows_before,
            log_rows_after: log_rows(c, space)?,
            snapshot_entries,
            steps,
            longest_step_ms: longest,
        })
    }

    /// Bring the replica to exactly `pos.head`: from where it is, or (the first time, or when the log
    /// rows it needs are gone, or the space moved to another epoch) from the current snapshot, checked
    /// against its digest.
    fn catch_up<'a>(
        &self,
        c: &mut Client,
        replica: &'a mut Option<Store>,
        pos: LogPosition,
    ) -> Result<&'a mut Store> {
        let migrations = migrations(c, &self.space)?;
        let usable = match replica.as_ref() {
            Some(r) => {
                let at = r.cursor()?;
                at >= pos.horizon && at <= pos.head && r.migrations()? == migrations
            }
            None => false,
        };
        if !usable {
            let mut store = Store::open_in_memory(self.env.clone(), Options::default())?;
            if !migrations.is_empty() {
                // An empty store just takes the epoch (and knows the migrations it went through).
                store.rebuild_for_epoch(&migrations)?;
            }
            if pos.snapshot > 0 {
                let mut after = 0;
                let digest = loop {
                    let Some(chunk) = snapshot_page(c, &self.space, Some(pos.snapshot), after, 2_000)? else {
                        return Err(Error::Database(format!(
                            "the snapshot at seq {} of space {} is missing",
                            pos.snapshot, self.space
                        )));
                    };
                    let page = chunk.page()?;
                    store.merge_snapshot_entries(&page.entries)?;
                    match page.next {
                        Some(n) => after = n,
                        None => break page.digest,
                    }
                };
                let found = hearth_core::snapshot::digest(store.conn())?;
                if found != digest {
                    return Err(Error::SnapshotMismatch {
                        seq: pos.snapshot,
                        expected: digest,
                        found,
                    });
                }
                store.apply_pulled(&[], pos.snapshot)?;
            }
            *replica = Some(store);
        }
        let Some(store) = replica.as_mut() else {
            unreachable!("the replica was just set")
        };
        apply_log(c, &self.space, store, pos.head)?;
        Ok(store)
    }

    /// Store the replica's state as the snapshot at `pos.head`, make it the current one and drop the
    /// snapshots older than the one before it, in one transaction. Returns its entry count.
    fn write_snapshot(&self, c: &mut Client, store: &Store, pos: LogPosition) -> Result<u64> {
        let mut tx = c.transaction().map_err(db_err)?;
        // Keep the new snapshot and the one before it (a device may be paging through it).
        let keep_from = pos.snapshot.min(pos.head);
        let total = write_snapshot(&mut tx, &self.space, store, pos.head, pos.epoch, keep_from)?;
        tx.commit().map_err(db_err)?;
        Ok(total)
    }
}

/// Inside `tx`: the replica's state as the snapshot at `seq` of `epoch`, made the current one; the
/// snapshots below `keep_from` go. Returns its entry count.
fn write_snapshot(
    tx: &mut postgres::Transaction<'_>,
    space: &str,
    store: &Store,
    seq: u64,
    epoch: u64,
    keep_from: u64,
) -> Result<u64> {
    let (seq, keep_from) = (seq as i64, keep_from as i64);
    tx.execute(
        "DELETE FROM snapshot_entries WHERE space = $1 AND seq = $2",
        &[&space, &seq],
    )
    .map_err(db_err)?;
    tx.execute(
        "DELETE FROM snapshots WHERE space = $1 AND seq = $2",
        &[&space, &seq],
    )
    .map_err(db_err)?;
    let mut total = 0i64;
    let (mut is, mut entries) = (Vec::new(), Vec::new());
    hearth_core::snapshot::for_each(store.conn(), |entry| {
        total += 1;
        is.push(total);
        entries.push(serde_json::to_string(&entry)?);
        if is.len() >= ENTRIES_PER_INSERT {
            insert_entries(tx, space, seq, &mut is, &mut entries)?;
        }
        Ok(())
    })?;
    insert_entries(tx, space, seq, &mut is, &mut entries)?;
    let digest = hearth_core::snapshot::digest(store.conn())?;
    tx.execute(
        "INSERT INTO snapshots (space, seq, epoch, digest, total) VALUES ($1, $2, $3, $4, $5)",
        &[&space, &seq, &(epoch as i64), &digest, &total],
    )
    .map_err(db_err)?;
    tx.execute(
        "UPDATE spaces SET snapshot = GREATEST(snapshot, $2) WHERE name = $1",
        &[&space, &seq],
    )
    .map_err(db_err)?;
    tx.execute(
        "DELETE FROM snapshot_entries WHERE space = $1 AND seq < $2",
        &[&space, &keep_from],
    )
    .map_err(db_err)?;
    tx.execute(
        "DELETE FROM snapshots WHERE space = $1 AND seq < $2",
        &[&space, &keep_from],
    )
    .map_err(db_err)?;
    Ok(u(total))
}

/// The whole-space migrations `space` went through, oldest first.
fn migrations(c: &mut impl GenericClient, space: &str) -> Result<Vec<String>> {
    let row = c
        .query_opt("SELECT migrations FROM spaces WHERE name = $1", &[&space])
        .map_err(db_err)?;
    match row {
        Some(r) => Ok(serde_json::from_str(r.get::<_, &str>(0))?),
        None => Ok(Vec::new()),
    }
}

/// Apply the log above the replica's cursor up to `head` to it, through `hearth-core`'s apply path.
fn apply_log(c: &mut impl GenericClient, space: &str, store: &mut Store, head: u64) -> Result<()> {
    loop {
        let at = store.cursor()?;
        if at >= head {
            return Ok(());
        }
        let rows = c
            .query(
                "SELECT body FROM ops WHERE space = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
                &[&space, &(at as i64), &(head as i64), &CATCH_UP_PAGE],
            )
            .map_err(db_err)?;
        let ops = rows
            .iter()
            .map(|r| serde_json::from_str::<SeqOp>(r.get::<_, &str>(0)))
            .collect::<serde_json::Result<Vec<_>>>()?;
        let next = ops.last().map_or(head, |s| s.seq);
        store.apply_pulled(&ops, next)?;
    }
}

/// Inside `tx`: drop the applied log rows in `(from, upto]`, recording per device the greatest op id
/// removed (a retried push at or below it is a duplicate) and dropping the skew refusals such a
/// watermark covers.
fn prune_rows(tx: &mut postgres::Transaction<'_>, space: &str, from: i64, upto: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO compacted (space, device, max_id) \
         SELECT $1, device, max(id) FROM ops WHERE space = $1 AND seq > $2 AND seq <= $3 AND applied GROUP BY device \
         ON CONFLICT (space, device) DO UPDATE SET max_id = GREATEST(compacted.max_id, excluded.max_id)",
        &[&space, &from, &upto],
    )
    .map_err(db_err)?;
    tx.execute(
        "DELETE FROM ops WHERE space = $1 AND seq > $2 AND seq <= $3 AND applied",
        &[&space, &from, &upto],
    )
    .map_err(db_err)?;
    // Skew refusals at or below their device's watermark may go: a late copy of such an op is then
    // refused as too far ahead or answered as a duplicate at the horizon, and never written either
    // way; no device still holds it unsent (the watermark already stands for "every op of this device
    // up to here reached the log", as a device pushes in op id order). Dropping them by age would not
    // be safe: a copy of a push may arrive any time.
    tx.execute(
        "DELETE FROM skew_refused r USING compacted c \
         WHERE r.space = $1 AND c.space = $1 AND c.device = r.device AND r.id <= c.max_id",
        &[&space],
    )
    .map_err(db_err)?;
    Ok(())
}

fn insert_entries(
    tx: &mut postgres::Transaction<'_>,
    space: &str,
    seq: i64,
    is: &mut Vec<i64>,
    entries: &mut Vec<String>,
) -> Result<()> {
    if is.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO snapshot_entries (space, seq, i, entry) SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[])",
        &[&space, &seq, &*is, &*entries],
    )
    .map_err(db_err)?;
    is.clear();
    entries.clear();
    Ok(())
}
