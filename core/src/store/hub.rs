//! The hub's side of the log: assigning seqs in commit order, and reading pages of it.
//!
//! SQLite has one writer at a time and readers see only committed snapshots. Seqs are assigned inside
//! the write transaction as `head + 1, head + 2, …`, so seq order is commit order: a reader that has
//! seen seq N can never later see a new op with a seq ≤ N.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::{Store, keys, kv_get, kv_set, log_op, read_op_row};
use crate::apply;
use crate::error::Result;
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

/// The highest seq assigned so far (0 for an empty space).
pub fn head(conn: &Connection) -> Result<u64> {
    Ok(kv_get(conn, keys::HEAD)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Up to `limit` ops with seq greater than `after`, in seq order.
pub fn log_page(conn: &Connection, after: u64, limit: usize) -> Result<Vec<SeqOp>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, id, kind, v, payload FROM ops WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let rows = stmt.query_map(params![after as i64, limit as i64], read_op_row)?;
    rows.map(|r| {
        let (seq, op) = r?;
        Ok(SeqOp {
            seq: seq.unwrap_or(0),
            op: op?,
        })
    })
    .collect()
}

/// Like [`log_page`], written straight into a JSON array (payloads are copied as stored, not re-parsed).
/// Returns the JSON text, the number of ops and the last seq in the page.
pub fn log_page_json(conn: &Connection, after: u64, limit: usize) -> Result<(String, usize, Option<u64>)> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, id, kind, v, payload FROM ops WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
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

impl Store {
    /// Append one pushed batch to the hub log: all-or-nothing, idempotent by op id.
    pub fn append(&mut self, ops: &[Op]) -> Result<AppendOutcome> {
        let mut out = self.append_batches(&[ops])?;
        out.pop().unwrap_or_else(|| unreachable!("one outcome per batch"))
    }

    /// Append several pushed batches in one durable transaction (group commit). Each batch is validated
    /// on its own: an invalid batch gets its error and adds nothing, the others commit together. The
    /// outer error is a storage failure, in which case nothing of any batch was written.
    pub fn append_batches(&mut self, batches: &[&[Op]]) -> Result<Vec<Result<AppendOutcome>>> {
        let mut outcomes: Vec<Result<AppendOutcome>> = Vec::with_capacity(batches.len());
        let mut valid = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            match self.prepare_batch(batch.iter()) {
                Ok(prepared) => {
                    valid.push((i, prepared));
                    outcomes.push(Ok(AppendOutcome {
                        accepted: 0,
                        duplicates: 0,
                        seqs: vec![],
                        head: 0,
                    }));
                }
                Err(e) => outcomes.push(Err(e)),
            }
        }
        if valid.is_empty() {
            return Ok(outcomes);
        }
        let max_ts = valid
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(op, _)| op.id.ts))
            .max();
        let head = self.write(max_ts, |tx, _| {
            let mut head = head(tx)?;
            for (i, prepared) in &valid {
                let Ok(outcome) = &mut outcomes[*i] else { continue };
                for (op, prepared) in prepared {
                    let existing: Option<i64> = {
                        let mut stmt = tx.prepare_cached("SELECT seq FROM ops WHERE id = ?1")?;
                        let mut rows = stmt.query([op.id.to_string()])?;
                        rows.next()?.map(|r| r.get(0)).transpose()?
                    };
                    if let Some(seq) = existing {
                        outcome.duplicates += 1;
                        outcome.seqs.push(seq as u64);
                        continue;
                    }
                    head += 1;
                    let applied = apply::apply_op(tx, op, prepared)?;
                    log_op(tx, op, Some(head), applied)?;
                    outcome.accepted += 1;
                    outcome.seqs.push(head);
                }
            }
            kv_set(tx, keys::HEAD, &head.to_string())?;
            Ok(head)
        })?;
        for o in outcomes.iter_mut().flatten() {
            o.head = head;
        }
        Ok(outcomes)
    }
}
