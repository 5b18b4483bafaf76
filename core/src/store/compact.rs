//! Compaction of a hub log on SQLite: snapshot files and the short steps that prune the log.
//!
//! A compaction (1) reads the materialized state at the head in one read transaction and writes it,
//! with its seq, epoch and the digest of its canonical export, to a snapshot file
//! (`<space>.snapshots/<seq>.db`) that is synced and renamed into place before anything else happens;
//! (2) records that snapshot as the space's current one; (3) deletes applied log rows at or below both
//! the horizon it was given and the snapshot, a few thousand rows per transaction, each transaction
//! moving the log's `horizon` up to the last seq it removed. A reader reads the horizon and a page in one
//! transaction, so it sees either the rows or the horizon that replaces them, never a gap. A kill at any
//! point leaves a consistent log: a half-written snapshot file is never named `<seq>.db`, and every
//! step is its own transaction.
//!
//! It needs no writer: the snapshot is read on its own connection while pushes commit, and each
//! prune step takes SQLite's write lock for a few milliseconds. So the hub runs it beside its writer,
//! and `hearth compact` runs it from another process while the hub serves.
//!
//! Ops this build stores without applying are never pruned (they wait for an upgrade), and for each
//! device the greatest op id removed is kept (`compacted:<device>` in `kv`), so that a retried push of
//! an op whose row is gone is still recognised as a duplicate. The device's skew refusals
//! (`skew_refused:<device>:<op id>`) at or below that watermark go with the step that moves it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::kv::{LogPosition, position};
use super::{keys, kv_get, kv_set};
use crate::error::Result;
use crate::id::{DeviceId, OpId};
use crate::snapshot;
use crate::wire::SnapshotPage;

/// Rows one prune step deletes at most (a few ms of the write lock).
pub const DEFAULT_STEP_ROWS: usize = 2_000;

/// The pause after each prune step, so that pushes waiting for the write lock get it between steps.
const STEP_PAUSE: std::time::Duration = std::time::Duration::from_millis(3);

/// What one compaction did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompactReport {
    /// The log's horizon afterwards: ops at or below it may be gone.
    pub horizon: u64,
    /// The seq of the snapshot devices restore from.
    pub snapshot_seq: u64,
    /// Rows of the log before.
    pub log_rows_before: u64,
    /// Rows of the log after.
    pub log_rows_after: u64,
    /// Entries in that snapshot.
    pub snapshot_entries: u64,
    /// Prune steps taken (one short write transaction each).
    pub steps: usize,
    /// The longest any step (a delete, or giving pages back) held the write lock, in ms.
    pub longest_step_ms: u64,
}

/// The header of a stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// Every op at or below it is reflected.
    pub seq: u64,
    /// The space's epoch at that seq.
    pub epoch: u64,
    /// `sha256:<hex>` of the canonical export at `seq`.
    pub digest: String,
    /// How many entries.
    pub total: u64,
}

const SNAPSHOT_SCHEMA: &str = "
CREATE TABLE meta (seq INTEGER NOT NULL, epoch INTEGER NOT NULL, digest TEXT NOT NULL, total INTEGER NOT NULL);
CREATE TABLE entries (i INTEGER PRIMARY KEY, entry TEXT NOT NULL);
";

/// Write the state `state` holds (the caller has it in a read transaction at `seq`) into the empty
/// snapshot database `out`, in one transaction.
pub(crate) fn write_snapshot(
    state: &Connection,
    out: &mut Connection,
    seq: u64,
    epoch: u64,
) -> Result<SnapshotMeta> {
    let tx = out.transaction()?;
    tx.execute_batch(SNAPSHOT_SCHEMA)?;
    let mut total = 0u64;
    {
        let mut insert = tx.prepare("INSERT INTO entries (i, entry) VALUES (?1, ?2)")?;
        snapshot::for_each(state, |entry| {
            total += 1;
            insert.execute(params![total as i64, serde_json::to_string(&entry)?])?;
            Ok(())
        })?;
    }
    let digest = snapshot::digest(state)?;
    tx.execute(
        "INSERT INTO meta (seq, epoch, digest, total) VALUES (?1, ?2, ?3, ?4)",
        params![seq as i64, epoch as i64, digest, total as i64],
    )?;
    tx.commit()?;
    Ok(SnapshotMeta {
        seq,
        epoch,
        digest,
        total,
    })
}

/// Write the state `state` holds (in a read or write transaction at `seq`) as the snapshot file of
/// `seq` in `dir`: into a temporary file, synced, then renamed into place, so a killed write leaves only
/// a `.tmp` file (removed when the space next opens).
fn write_snapshot_file(state: &Connection, dir: &Path, seq: u64, epoch: u64) -> Result<SnapshotMeta> {
    let tmp = dir.join(format!(".{seq}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut out = Connection::open(&tmp)?;
    out.pragma_update(None, "synchronous", "FULL")?;
    let meta = write_snapshot(state, &mut out, seq, epoch)?;
    drop(out);
    std::fs::rename(&tmp, snapshot_file(dir, seq))?;
    sync_dir(dir)?;
    Ok(meta)
}

/// Delete the snapshot files in `dir` of a seq below `seq`.
fn remove_snapshots_below(dir: &Path, seq: u64) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let below = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s < seq);
        if below {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The header of a snapshot database.
pub(crate) fn meta(snap: &Connection) -> Result<SnapshotMeta> {
    Ok(
        snap.query_row("SELECT seq, epoch, digest, total FROM meta", [], |r| {
            Ok(SnapshotMeta {
                seq: r.get::<_, i64>(0)? as u64,
                epoch: r.get::<_, i64>(1)? as u64,
                digest: r.get(2)?,
                total: r.get::<_, i64>(3)? as u64,
            })
        })?,
    )
}

/// A page of a stored snapshot, with its entries as stored (JSON text, not parsed): the hub serves
/// it as it is ([`body`](Self::body)); in-process readers parse it ([`page`](Self::page)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotChunk {
    /// The snapshot's seq.
    pub seq: u64,
    /// The space's epoch at that seq.
    pub epoch: u64,
    /// `sha256:<hex>` of the canonical export at `seq`.
    pub digest: String,
    /// Entries in the whole snapshot.
    pub total: u64,
    /// This page's entries: a JSON array.
    pub entries_json: String,
    /// How many entries in this page.
    pub count: usize,
    /// The entry to continue after; None on the last page.
    pub next: Option<u64>,
}

impl SnapshotChunk {
    /// The page, parsed.
    pub fn page(&self) -> Result<SnapshotPage> {
        Ok(SnapshotPage {
            seq: self.seq,
            epoch: self.epoch,
            digest: self.digest.clone(),
            total: self.total,
            entries: serde_json::from_str(&self.entries_json)?,
            next: self.next,
        })
    }

    /// The page as the JSON answer of `GET …/snapshot` (entries copied as stored).
    pub fn body(&self) -> Result<String> {
        let mut out = String::with_capacity(self.entries_json.len() + 160);
        out.push_str(&format!(
            "{{\"seq\":{},\"epoch\":{},\"digest\":{},\"total\":{},\"entries\":",
            self.seq,
            self.epoch,
            serde_json::to_string(&self.digest)?,
            self.total
        ));
        out.push_str(&self.entries_json);
        if let Some(next) = self.next {
            out.push_str(&format!(",\"next\":{next}"));
        }
        out.push('}');
        Ok(out)
    }
}

/// Up to `limit` entries of a snapshot after entry number `after` (entries count from 1).
pub(crate) fn page(snap: &Connection, after: u64, limit: usize) -> Result<SnapshotChunk> {
    let tx = snap.unchecked_transaction()?;
    let m = meta(&tx)?;
    let mut stmt = tx.prepare_cached("SELECT i, entry FROM entries WHERE i > ?1 ORDER BY i LIMIT ?2")?;
    let mut rows = stmt.query(params![after as i64, limit as i64])?;
    let mut entries_json = String::from("[");
    let (mut count, mut last) = (0usize, after);
    while let Some(r) = rows.next()? {
        last = r.get::<_, i64>(0)? as u64;
        if count > 0 {
            entries_json.push(',');
        }
        entries_json.push_str(r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?);
        count += 1;
    }
    entries_json.push(']');
    drop(rows);
    drop(stmt);
    tx.commit()?;
    Ok(SnapshotChunk {
        seq: m.seq,
        epoch: m.epoch,
        digest: m.digest,
        total: m.total,
        entries_json,
        count,
        next: (last < m.total).then_some(last),
    })
}

/// Where a space's snapshot files live: `spaces/home.db` keeps them in `spaces/home.snapshots/`.
pub fn snapshots_dir(space_db: &Path) -> PathBuf {
    space_db.with_extension("snapshots")
}

fn snapshot_file(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq}.db"))
}

/// Open the stored snapshot at `seq` read-only (None when there is no such file).
pub(crate) fn open_snapshot(space_db: &Path, seq: u64) -> Result<Option<Connection>> {
    let file = snapshot_file(&snapshots_dir(space_db), seq);
    if !file.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(&file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(Some(conn))
}

/// The seq of the space's current snapshot (0: none yet).
pub(crate) fn current_snapshot(conn: &Connection) -> Result<u64> {
    Ok(kv_get(conn, keys::SNAPSHOT)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// The greatest op id of `device` that compaction removed from the log.
pub(crate) fn compacted_watermark(conn: &Connection, device: DeviceId) -> Result<Option<OpId>> {
    Ok(kv_get(conn, &keys::compacted(device))?
        .map(|s| s.parse::<OpId>())
        .transpose()?)
}

/// Prune applied rows with seq in `(horizon, cut]` in steps of at most `step_rows`, each step its own
/// immediate transaction that also moves the `horizon` key to the last seq it removed. Returns the
/// steps taken and the longest one in ms.
pub(crate) fn prune(conn: &mut Connection, cut: u64, step_rows: usize) -> Result<(usize, u64)> {
    let (mut steps, mut longest) = (0usize, 0u64);
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Timed from the moment the write lock is ours.
        let started = Instant::now();
        let horizon = position(&tx)?.horizon;
        if horizon >= cut {
            tx.commit()?;
            break;
        }
        // The seq of the `step_rows`-th applied row above the horizon, or the cut.
        let upto: u64 = tx
            .query_row(
                "SELECT seq FROM ops WHERE seq > ?1 AND seq <= ?2 AND applied = 1 ORDER BY seq LIMIT 1 OFFSET ?3",
                params![horizon as i64, cut as i64, step_rows.saturating_sub(1) as i64],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map_or(cut, |s| s as u64);
        let mut marks: Vec<(String, String)> = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT substr(id, 19), max(id) FROM ops WHERE seq > ?1 AND seq <= ?2 AND applied = 1 GROUP BY 1",
            )?;
            let rows = stmt.query_map(params![horizon as i64, upto as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            for row in rows {
                marks.push(row?);
            }
        }
        for (device, max) in marks {
            let device: DeviceId = device.parse()?;
            let max: OpId = max.parse()?;
            let watermark = match compacted_watermark(&tx, device)? {
                Some(m) if m >= max => m,
                _ => {
                    kv_set(&tx, &keys::compacted(device), &max.to_string())?;
                    max
                }
            };
            // The device's skew refusals at or below its watermark may go: a late copy of such an op
            // is then refused as too far ahead or answered as a duplicate at the horizon (see the
            // append), and never written either way. No device still holds such an op unsent: the
            // watermark already stands for "every op of this device up to here reached the log",
            // which holds because a device pushes its outbox in op id order (so it re-stamped a
            // refused op before any later op of its was accepted). Dropping marks by age instead
            // would not be safe: the network may deliver a copy of a push at any later time.
            tx.prepare_cached("DELETE FROM kv WHERE key > ?1 AND key <= ?2")?
                .execute([keys::skew_refused_prefix(device), keys::skew_refused(watermark)])?;
        }
        tx.prepare_cached("DELETE FROM ops WHERE seq > ?1 AND seq <= ?2 AND applied = 1")?
            .execute(params![horizon as i64, upto as i64])?;
        kv_set(&tx, keys::HORIZON, &upto.to_string())?;
        tx.commit()?;
        steps += 1;
        let took = started.elapsed();
        longest = longest.max(took.as_millis() as u64);
        // Leave the lock free for a moment: a waiting writer gets in between two steps.
        std::thread::sleep(STEP_PAUSE.max(took / 4));
        // Give pages freed by the deletes back to the file system, also in short steps (only files
        // created with incremental auto-vacuum; elsewhere a no-op).
        {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let started = Instant::now();
            {
                // Each step of this pragma frees one page: run it to the end.
                let mut stmt = tx.prepare_cached("PRAGMA incremental_vacuum(500)")?;
                let mut rows = stmt.query([])?;
                while rows.next()?.is_some() {}
            }
            tx.commit()?;
            longest = longest.max(started.elapsed().as_millis() as u64);
        }
        // Copy the steps' pages from the WAL into the database now, beside the writer (a passive
        // checkpoint takes no lock a push needs), rather than in the commit of some later push.
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    }
    Ok((steps, longest))
}

fn log_rows(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM ops", [], |r| r.get::<_, i64>(0))? as u64)
}

/// Compacts one space's log file from any thread or process (see the module docs).
#[derive(Debug, Clone)]
pub struct SqliteCompactor {
    path: PathBuf,
    step_rows: usize,
}

fn open_rw(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Checkpoints are run explicitly between steps (see `prune`), not inside a step's commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

/// fsync a directory, so that a rename in it is durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// What [`SqliteCompactor::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrateReport {
    /// The migration.
    pub migration: String,
    /// The epoch before.
    pub epoch_before: u64,
    /// The new epoch.
    pub epoch: u64,
    /// Every migration the space went through, oldest first.
    pub migrations: Vec<String>,
    /// The seq of the new epoch's snapshot (the migration's place in the log).
    pub seq: u64,
    /// Values the migration rewrote.
    pub changed: u64,
    /// Values it had to clear (the new epoch cannot hold them).
    pub cleared: u64,
    /// Entries in the new epoch's snapshot.
    pub snapshot_entries: u64,
    /// Where the old epoch's log is kept.
    pub archive: String,
    /// Log rows before and after.
    pub log_rows_before: u64,
    /// Log rows after (ops this build does not apply stay).
    pub log_rows_after: u64,
}

impl SqliteCompactor {
    /// A compactor for the space log at `path` (which must exist).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if !path.exists() {
            return Err(crate::Error::Unsupported(format!(
                "there is no space log at {}",
                path.display()
            )));
        }
        Ok(SqliteCompactor {
            path,
            step_rows: DEFAULT_STEP_ROWS,
        })
    }

    /// Head, horizon, epoch and snapshot of the log, read together.
    pub fn position(&self) -> Result<LogPosition> {
        let mut conn = open_rw(&self.path)?;
        let tx = conn.transaction()?;
        let p = position(&tx)?;
        tx.commit()?;
        Ok(p)
    }

    /// Delete at most this many rows per step.
    pub fn step_rows(mut self, rows: usize) -> Self {
        self.step_rows = rows.max(1);
        self
    }

    /// Run the whole-space migration `m` on this space's log (with no hub serving it): the log as it
    /// was is archived whole beside it (`<space>.epoch<E>.db`, kept); then, in one transaction, the
    /// state is rewritten by the migration, the new epoch and the migration recorded, the head moved one
    /// seq on (the migration's place in the log) and the new epoch's snapshot written there; then the
    /// log is pruned up to it (every device restores from that snapshot) and the old epoch's
    /// snapshots go. A kill at any point leaves either the old epoch whole or the new one whole.
    pub fn migrate(&self, m: &crate::evolve::Migration) -> Result<MigrateReport> {
        let mut conn = open_rw(&self.path)?;
        let (at, names) = {
            let tx = conn.transaction()?;
            let at = position(&tx)?;
            let names = super::migrations_after(&super::migrations(&tx)?, m)?;
            tx.commit()?;
            (at, names)
        };
        let log_rows_before = log_rows(&conn)?;
        // The old epoch, whole, beside the log.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let archive = self.path.with_extension(format!("epoch{}.db", at.epoch));
        let _ = std::fs::remove_file(&archive);
        conn.execute("VACUUM INTO ?1", [archive.to_string_lossy()])?;
        let epoch = names.len() as u64 + 1;
        let seq = at.head + 1;
        let dir = snapshots_dir(&self.path);
        std::fs::create_dir_all(&dir)?;
        let (changed, cleared, entries) = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (changed, cleared) = super::apply_migration(&tx, m, &names)?;
            kv_set(&tx, keys::HEAD, &seq.to_string())?;
            // The new epoch's snapshot, under a seq no snapshot of the old epoch can have.
            let meta = write_snapshot_file(&tx, &dir, seq, epoch)?;
            kv_set(&tx, keys::SNAPSHOT, &seq.to_string())?;
            tx.commit()?;
            (changed, cleared, meta.total)
        };
        prune(&mut conn, seq, self.step_rows)?;
        // The old epoch's snapshots go.
        remove_snapshots_below(&dir, seq)?;
        Ok(MigrateReport {
            migration: m.name.to_owned(),
            epoch_before: at.epoch,
            epoch,
            migrations: names,
            seq,
            changed,
            cleared,
            snapshot_entries: entries,
            archive: archive.display().to_string(),
            log_rows_before,
            log_rows_after: log_rows(&conn)?,
        })
    }

    /// Snapshot the state at the head (unless the current snapshot is already there), then prune the log
    /// up to `min(horizon, snapshot)`. The horizon never moves backwards.
    pub fn compact(&self, horizon: u64) -> Result<CompactReport> {
        let mut read = open_rw(&self.path)?;
        read.pragma_update(None, "query_only", true)?;
        let dir = snapshots_dir(&self.path);
        std::fs::create_dir_all(&dir)?;
        let (log_rows_before, meta) = {
            let tx = read.transaction()?;
            let LogPosition {
                head,
                epoch,
                snapshot: current,
                ..
            } = position(&tx)?;
            let rows = log_rows(&tx)?;
            let existing = if current == head && head > 0 {
                open_snapshot(&self.path, current)?
                    .map(|c| meta(&c))
                    .transpose()?
            } else {
                None
            };
            let meta = match existing {
                Some(m) => m,
                None => write_snapshot_file(&tx, &dir, head, epoch)?,
            };
            tx.commit()?;
            (rows, meta)
        };
        drop(read);
        let mut write = open_rw(&self.path)?;
        let previous = {
            let tx = write.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let previous = current_snapshot(&tx)?;
            if meta.seq > previous {
                kv_set(&tx, keys::SNAPSHOT, &meta.seq.to_string())?;
            }
            tx.commit()?;
            previous
        };
        // Keep the current snapshot and the one before it (a device may be paging through it).
        remove_snapshots_below(&dir, previous.min(meta.seq))?;
        let cut = horizon.min(meta.seq);
        let (steps, longest_step_ms) = prune(&mut write, cut, self.step_rows)?;
        Ok(CompactReport {
            horizon: position(&write)?.horizon,
            snapshot_seq: meta.seq,
            snapshot_entries: meta.total,
            log_rows_before,
            log_rows_after: log_rows(&write)?,
            steps,
            longest_step_ms,
        })
    }
}

/// Compact a log held on one connection (an in-memory log): the snapshot goes into `out` (an empty
/// database) and the prune steps run on `conn`.
pub(crate) fn compact_in_place(
    conn: &mut Connection,
    out: &mut Connection,
    horizon: u64,
    step_rows: usize,
) -> Result<(CompactReport, SnapshotMeta)> {
    let (log_rows_before, meta) = {
        let tx = conn.transaction()?;
        let LogPosition { head, epoch, .. } = position(&tx)?;
        let rows = log_rows(&tx)?;
        let meta = write_snapshot(&tx, out, head, epoch)?;
        kv_set(&tx, keys::SNAPSHOT, &head.to_string())?;
        tx.commit()?;
        (rows, meta)
    };
    let (steps, longest_step_ms) = prune(conn, horizon.min(meta.seq), step_rows)?;
    Ok((
        CompactReport {
            horizon: position(conn)?.horizon,
            snapshot_seq: meta.seq,
            snapshot_entries: meta.total,
            log_rows_before,
            log_rows_after: log_rows(conn)?,
            steps,
            longest_step_ms,
        },
        meta,
    ))
}
