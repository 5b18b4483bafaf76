//! Re-stamping the outbox after the hub answered `clock_skew`: this device's clock was too far ahead,
//! so its unsent ops get new ids at the hub's time, in their original order. Nothing is dropped.

use super::{Store, keys, kv_set, log};
use crate::apply;
use crate::error::Result;
use crate::hlc::Clock;
use crate::id::OpId;
use crate::op::Op;

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
        let confirmed = log::own_confirmed(&self.conn)?;
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
                let mut payload = op.payload.clone();
                // Payloads name other ops by id: the link tags a remove drops, and the values a set
                // saw or resolved. Those of restamped ops take the new ids.
                for key in ["tags", "seen"] {
                    if let Some(ids) = payload.get_mut(key).and_then(|t| t.as_array_mut()) {
                        for t in ids.iter_mut() {
                            if let Some(n) = t.as_str().and_then(|s| renamed.get(s)) {
                                *t = serde_json::Value::String(n.clone());
                            }
                        }
                    }
                }
                if let Some(prev) = payload.get_mut("prev")
                    && let Some(n) = prev.as_str().and_then(|s| renamed.get(s))
                {
                    *prev = serde_json::Value::String(n.clone());
                }
                log::rename(tx, *old, *new, &payload)?;
                let rewritten = Op {
                    id: op.id,
                    kind: op.kind.clone(),
                    v: op.v,
                    payload,
                };
                apply::restamp(tx, &apply::prepare(&kinds, &rewritten)?, *old, *new)?;
            }
            kv_set(tx, keys::CURSOR, "0")?;
            Ok(())
        })?;
        Ok(mapping)
    }
}
