//! The apply benchmark's workload (feature `bench`), shared by `cargo xtask bench apply` (native) and
//! `cargo xtask bench wasm` (the browser and its native half), so every side applies the same ops:
//! 100,000 `node.set` ops from 3 devices over 10,000 records × 5 fields, shuffled with a seeded RNG, in
//! pages of 10,000 with seqs. [`checksum`] lets a reader see that two runs applied the same ops.

use crate::{DeviceId, NewOp, Op, OpId, SeqOp, Store, Timestamp};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Ops in the run.
pub const OPS: usize = 100_000;
/// Distinct records.
pub const RECORDS: usize = 10_000;
/// Fields set on each record.
pub const FIELDS: [&str; 5] = ["title", "status", "due", "priority", "notes"];
/// Ops per applied page (one transaction each).
pub const PAGE: usize = 10_000;
/// The benchmark's epoch.
pub const T0: u64 = 1_750_000_000_000;

fn value(rng: &mut StdRng, field: &str, i: usize) -> Value {
    match field {
        "title" => json!(format!("Task number {i} with a realistic title")),
        "status" => json!(if rng.random_bool(0.3) { "done" } else { "open" }),
        "due" => json!(format!(
            "2026-{:02}-{:02}",
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        )),
        "priority" => json!(rng.random_range(1..=4)),
        _ => json!(format!("note {i}: remember the details")),
    }
}

/// The shuffled ops (same seed and algorithm as the core bench).
pub fn ops() -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(2026);
    let devices = [DeviceId(0xa1), DeviceId(0xb2), DeviceId(0xc3)];
    let mut ops: Vec<Op> = (0..OPS)
        .map(|i| {
            let record = i % RECORDS;
            let field = FIELDS[(i / RECORDS) % FIELDS.len()];
            let id = OpId {
                ts: Timestamp {
                    ms: T0 + rng.random_range(0..100_000),
                    counter: 0,
                },
                device: devices[i % 3],
            };
            NewOp::set(&format!("{record:016x}"), field, value(&mut rng, field, i)).stamp(id)
        })
        .collect();
    // Distinct ids (a device never reuses a stamp): bump the counter on collisions.
    ops.sort_by_key(|o| o.id);
    for i in 1..ops.len() {
        if ops[i].id <= ops[i - 1].id {
            ops[i].id.ts = Timestamp {
                ms: ops[i - 1].id.ts.ms,
                counter: ops[i - 1].id.ts.counter + 1,
            };
        }
    }
    ops.shuffle(&mut rng);
    ops
}

/// The ops cut into pulled pages of [`PAGE`] with consecutive seqs from 1.
pub fn pages(ops: &[Op]) -> Vec<Vec<SeqOp>> {
    ops.chunks(PAGE)
        .enumerate()
        .map(|(p, c)| {
            c.iter()
                .enumerate()
                .map(|(i, op)| SeqOp {
                    seq: (p * PAGE + i + 1) as u64,
                    op: op.clone(),
                })
                .collect()
        })
        .collect()
}

/// FNV-1a over the ops' JSON in order: equal on both sides iff the workloads are the same.
pub fn checksum(ops: &[Op]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for op in ops {
        for b in serde_json::to_string(op).unwrap_or_default().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Rows in a store's `kv` table, which the browser run reports beside its timing; 0 when unreadable.
pub fn kv_rows(store: &Store) -> i64 {
    store
        .conn()
        .query_row("SELECT count(*) FROM kv", [], |r| r.get(0))
        .unwrap_or(0)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn workload_is_deterministic_distinct_and_paged() {
        let a = super::ops();
        assert_eq!(a.len(), super::OPS);
        assert_eq!(super::checksum(&a), super::checksum(&super::ops()));
        let ids: std::collections::BTreeSet<_> = a.iter().map(|o| o.id).collect();
        assert_eq!(ids.len(), super::OPS);
        let pages = super::pages(&a);
        assert_eq!(pages.len(), super::OPS / super::PAGE);
        assert_eq!(pages[9].last().map(|s| s.seq), Some(super::OPS as u64));
    }
}
