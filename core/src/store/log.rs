//! The op log: the `ops` table, and the only code that reads or writes it.
//!
//! One table holds three kinds of rows: on a device, the **outbox** (its own ops with `seq` NULL, not yet
//! confirmed by the hub) and the **not-yet-understood** ops (`applied = 0`: an unknown kind or a newer
//! `v`, replayed after an upgrade); on the hub, every op with its `seq`. One rule, [`stays`], says which
//! rows a log keeps.

use rusqlite::{Connection, Transaction, params};

use super::keys;
use super::{kv_get, kv_set};
use crate::error::Result;
use crate::id::{DeviceId, OpId};
use crate::op::Op;

/// The log's one retention rule: a row stays while it is unconfirmed (the outbox), while this build
/// cannot apply it yet, or when history is kept (always on the hub). Confirmed, applied ops have done
/// their work on a device: the materialized state holds their effect.
pub(crate) fn stays(seq: Option<u64>, applied: bool, keep_history: bool) -> bool {
    keep_history || seq.is_none() || !applied
}

/// A row read back: its seq (if confirmed) and the op, or why the stored op cannot be read.
pub(crate) type OpRow = (Option<u64>, Result<Op>);

/// Columns for [`read_row`], in its order.
pub(crate) const COLUMNS: &str = "seq, id, kind, v, payload";

pub(crate) fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OpRow> {
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
pub(crate) fn write(tx: &Transaction<'_>, op: &Op, seq: Option<u64>, applied: bool) -> Result<()> {
    if applied {
        crate::apply::note_comment_seq(tx, &op.id.to_string(), &op.kind, seq)?;
    }
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

/// Settle a received (or replayed) op in the log by [`stays`]: kept rows are written, a confirmed
/// applied op leaves, and an unconfirmed applied op is only marked applied where it is already queued
/// (an op received without a seq is not ours to send). `may_be_logged` says whether a row for the op
/// can exist already (our own ops, or a replay of stored ops); when not, a leaving op costs no
/// statement — this is the hot path of every pulled page.
pub(crate) fn settle(
    tx: &Transaction<'_>,
    op: &Op,
    seq: Option<u64>,
    applied: bool,
    keep_history: bool,
    may_be_logged: bool,
) -> Result<()> {
    if !stays(seq, applied, keep_history) {
        // Confirmed and applied: it leaves the log.
        crate::apply::note_comment_seq(tx, &op.id.to_string(), &op.kind, seq)?;
        if may_be_logged {
            tx.prepare_cached("DELETE FROM ops WHERE id = ?1")?
                .execute([op.id.to_string()])?;
        }
    } else if keep_history || !applied {
        write(tx, op, seq, applied)?;
    } else if may_be_logged {
        // Unconfirmed and applied: it stays only where it is already queued.
        tx.prepare_cached("UPDATE ops SET applied = 1 WHERE id = ?1")?
            .execute([op.id.to_string()])?;
    }
    Ok(())
}

/// Does the log hold `id`, and at which seq (None while unconfirmed)?
pub(crate) fn find(conn: &Connection, id: OpId) -> Result<Option<Option<u64>>> {
    let mut stmt = conn.prepare_cached("SELECT seq FROM ops WHERE id = ?1")?;
    let mut rows = stmt.query([id.to_string()])?;
    Ok(rows
        .next()?
        .map(|r| r.get::<_, Option<i64>>(0))
        .transpose()?
        .map(|s| s.map(|s| s as u64)))
}

/// Stored ops this build did not apply, in id order.
pub(crate) fn pending(conn: &Connection) -> Result<Vec<(Option<u64>, Op)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM ops WHERE applied = 0 ORDER BY id"
    ))?;
    let rows = stmt.query_map([], read_row)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(seq, op)| Ok((seq, op?)))
        .collect()
}

/// `device`'s unconfirmed ops, oldest first (HLC order), at most `limit`.
pub(crate) fn outbox(conn: &Connection, device: DeviceId, limit: usize) -> Result<Vec<Op>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM ops WHERE seq IS NULL AND substr(id, 19) = ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![device.to_string(), limit as i64], read_row)?;
    rows.map(|r| r?.1).collect()
}

/// `(kind = ? AND v > ?)` for each held kind, or-ed, with its parameters after `first` others.
fn held_clause(held: &[(String, u32)], first: usize) -> String {
    (0..held.len())
        .map(|i| format!("(kind = ?{} AND v > ?{})", first + 2 * i + 1, first + 2 * i + 2))
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn held_params<'a>(held: &'a [(String, u32)]) -> impl Iterator<Item = Box<dyn rusqlite::ToSql + 'a>> {
    held.iter().flat_map(|(k, v)| {
        [
            Box::new(k.as_str()) as Box<dyn rusqlite::ToSql>,
            Box::new(*v) as Box<dyn rusqlite::ToSql>,
        ]
    })
}

/// `device`'s unconfirmed ops but those of a held kind above the held `v`, oldest first, at most `limit`.
pub(crate) fn outbox_except(
    conn: &Connection,
    device: DeviceId,
    limit: usize,
    held: &[(String, u32)],
) -> Result<Vec<Op>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ops WHERE seq IS NULL AND substr(id, 19) = ?1 AND NOT ({}) ORDER BY id LIMIT ?2",
        held_clause(held, 2)
    );
    let device = device.to_string();
    let limit = limit as i64;
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(device), Box::new(limit)];
    args.extend(held_params(held));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), read_row)?;
    rows.map(|r| r?.1).collect()
}

/// How many of `device`'s unconfirmed ops are of a held kind above the held `v`, and which kinds.
pub(crate) fn outbox_held(
    conn: &Connection,
    device: DeviceId,
    held: &[(String, u32)],
) -> Result<(usize, Vec<String>)> {
    let sql = format!(
        "SELECT kind, count(*) FROM ops WHERE seq IS NULL AND substr(id, 19) = ?1 AND ({}) GROUP BY kind ORDER BY kind",
        held_clause(held, 1)
    );
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(device.to_string())];
    args.extend(held_params(held));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut total = 0;
    let mut kinds = Vec::new();
    for row in rows {
        let (kind, n) = row?;
        total += n as usize;
        kinds.push(kind);
    }
    Ok((total, kinds))
}

/// How many of `device`'s ops await confirmation.
pub(crate) fn outbox_len(conn: &Connection, device: DeviceId) -> Result<usize> {
    Ok(conn.query_row(
        "SELECT count(*) FROM ops WHERE seq IS NULL AND substr(id, 19) = ?1",
        [device.to_string()],
        |r| r.get::<_, i64>(0),
    )? as usize)
}

/// Record the seqs the hub assigned to pushed ops; by [`stays`], applied ones leave unless history is kept.
pub(crate) fn confirm(tx: &Transaction<'_>, confirmed: &[(OpId, u64)], keep_history: bool) -> Result<()> {
    for (id, seq) in confirmed {
        let row: Option<(bool, String)> = {
            let mut stmt =
                tx.prepare_cached("UPDATE ops SET seq = ?2 WHERE id = ?1 RETURNING applied, kind")?;
            let mut rows = stmt.query(params![id.to_string(), *seq as i64])?;
            rows.next()?
                .map(|r| Ok::<_, rusqlite::Error>((r.get(0)?, r.get(1)?)))
                .transpose()?
        };
        if let Some((true, kind)) = &row {
            crate::apply::note_comment_seq(tx, &id.to_string(), kind, Some(*seq))?;
        }
        if row.is_some_and(|(applied, _)| !stays(Some(*seq), applied, keep_history)) {
            tx.prepare_cached("DELETE FROM ops WHERE id = ?1")?
                .execute([id.to_string()])?;
        }
    }
    Ok(())
}

/// Rename an unconfirmed op (a re-stamp after a clock-skew answer), with its rewritten payload.
pub(crate) fn rename(tx: &Transaction<'_>, old: OpId, new: OpId, payload: &serde_json::Value) -> Result<()> {
    tx.execute(
        "UPDATE ops SET id = ?2, payload = ?3 WHERE id = ?1",
        params![old.to_string(), new.to_string(), serde_json::to_string(payload)?],
    )?;
    Ok(())
}

/// Remember the greatest of this device's ops among `ids` that the hub confirmed: re-stamped ops must
/// stay above it.
pub(crate) fn note_own_confirmed(
    tx: &Transaction<'_>,
    device: DeviceId,
    ids: impl Iterator<Item = OpId>,
) -> Result<()> {
    let Some(max) = ids.filter(|id| id.device == device).max() else {
        return Ok(());
    };
    let current = own_confirmed(tx)?;
    if current.is_none_or(|c| max > c) {
        kv_set(tx, keys::OWN_CONFIRMED, &max.to_string())?;
    }
    Ok(())
}

/// The greatest of this device's ops the hub has confirmed.
pub(crate) fn own_confirmed(conn: &Connection) -> Result<Option<OpId>> {
    Ok(kv_get(conn, keys::OWN_CONFIRMED)?
        .map(|s| s.parse::<OpId>())
        .transpose()?)
}

/// Up to `limit` ops with seq greater than `after`, in seq order, written straight into a JSON array (payloads are copied as stored, not re-parsed).
/// Returns the JSON text, the number of ops and the last seq in the page.
pub(crate) fn page_json(conn: &Connection, after: u64, limit: usize) -> Result<(String, usize, Option<u64>)> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM ops WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![after as i64, limit as i64])?;
    let mut out = String::from("[");
    let (mut n, mut last) = (0, None);
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let id: String = r.get(1)?;
        let kind: String = r.get(2)?;
        let v: i64 = r.get(3)?;
        let payload: String = r.get(4)?;
        if n > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"seq\":{seq},\"id\":\"{id}\",\"kind\":{},\"v\":{v},\"payload\":{payload}}}",
            serde_json::to_string(&kind)?
        ));
        n += 1;
        last = Some(seq as u64);
    }
    out.push(']');
    Ok((out, n, last))
}

/// An op set aside from the outbox because the hub refuses it as it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quarantined {
    /// The op.
    pub op: Op,
    /// The hub's error code (`invalid_op`, `too_large`, …).
    pub code: String,
    /// The hub's message.
    pub reason: String,
    /// When it was set aside, ms since the Unix epoch.
    pub at_ms: u64,
    /// The epoch it was written in, when that is not the store's current one (a lens could not
    /// translate it into the space's new epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

/// Move an unconfirmed op from the outbox into the quarantine. False when it is not in the outbox.
pub(crate) fn quarantine(
    tx: &Transaction<'_>,
    id: OpId,
    code: &str,
    reason: &str,
    at_ms: u64,
) -> Result<bool> {
    let moved = tx.execute(
        "INSERT INTO quarantine (id, kind, v, payload, code, reason, at_ms) \
         SELECT id, kind, v, payload, ?2, ?3, ?4 FROM ops WHERE id = ?1 AND seq IS NULL",
        params![id.to_string(), code, reason, at_ms as i64],
    )?;
    tx.execute("DELETE FROM ops WHERE id = ?1 AND seq IS NULL", [id.to_string()])?;
    Ok(moved > 0)
}

/// Put an op into the quarantine directly (one no longer in the outbox: a lens could not translate it
/// into the space's new epoch), with the epoch it was written in.
pub(crate) fn set_aside(
    tx: &Transaction<'_>,
    op: &Op,
    code: &str,
    reason: &str,
    at_ms: u64,
    epoch: u64,
) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO quarantine (id, kind, v, payload, code, reason, at_ms, epoch) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            op.id.to_string(),
            op.kind,
            op.v,
            serde_json::to_string(&op.payload)?,
            code,
            reason,
            at_ms as i64,
            epoch as i64
        ],
    )?;
    Ok(())
}

/// Every quarantined op, oldest first.
pub(crate) fn quarantined(conn: &Connection) -> Result<Vec<Quarantined>> {
    let mut stmt =
        conn.prepare("SELECT id, kind, v, payload, code, reason, at_ms, epoch FROM quarantine ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, Option<i64>>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, v, payload, code, reason, at_ms, epoch) = row?;
        out.push(Quarantined {
            op: Op {
                id: id.parse()?,
                kind,
                v,
                payload: serde_json::from_str(&payload)?,
            },
            code,
            reason,
            at_ms: at_ms as u64,
            epoch: epoch.map(|e| e as u64),
        });
    }
    Ok(out)
}

/// Take an op out of the quarantine: back into the outbox (`retry`) or gone. False when absent.
pub(crate) fn release(tx: &Transaction<'_>, id: OpId, retry: bool) -> Result<bool> {
    if retry {
        tx.execute(
            "INSERT OR IGNORE INTO ops (id, kind, v, payload, seq, applied) \
             SELECT id, kind, v, payload, NULL, 1 FROM quarantine WHERE id = ?1",
            [id.to_string()],
        )?;
    }
    Ok(tx.execute("DELETE FROM quarantine WHERE id = ?1", [id.to_string()])? > 0)
}
