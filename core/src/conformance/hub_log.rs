//! The hub-log conformance suite: the same cases against every [`HubLog`] backend (SQLite files here;
//! any further backend invokes [`hub_log_conformance_tests!`](crate::hub_log_conformance_tests) in its
//! own tests).
//!
//! What every backend must guarantee: seqs dense and increasing in commit order, appends all-or-nothing
//! per batch and idempotent by op id, group commit that refuses only the bad batch, pages read in one
//! snapshot with head, horizon and epoch, durability across reopen, and readers that see exactly what
//! is committed.

use std::sync::Arc;

use serde_json::json;

use super::{T0, env, id, set};
use crate::Error;
use crate::hlc::Env;
use crate::op::{Op, SeqOp};
use crate::store::HubLog;

/// Something that opens hub logs by name; the same name reopens the same log.
pub trait HubLogBackend {
    /// Open or reopen the log `name`, refusing ops more than an hour ahead of `env`'s clock.
    fn open_log(&self, name: &str, env: Arc<dyn Env>) -> crate::Result<Box<dyn HubLog>>;
}

/// Generate one test per hub-log conformance case for a backend expression.
#[macro_export]
macro_rules! hub_log_conformance_tests {
    ($backend:expr) => {
        $crate::hub_log_conformance_tests!(@cases $backend;
            log_assigns_dense_seqs_and_dedups_retries, group_commit_refuses_only_the_bad_batch,
            pages_follow_seq_order_with_head_horizon_and_epoch, appends_survive_reopen,
            readers_see_exactly_what_is_committed, clock_skew_refuses_the_batch_and_keeps_the_head);
    };
    (@cases $backend:expr; $($name:ident),*) => { $(
        #[test]
        fn $name() { $crate::conformance::hub_log::$name(&$backend); }
    )* };
}

fn batch(device: u64, counters: std::ops::Range<u16>) -> Vec<Op> {
    counters
        .map(|i| {
            set(
                id(T0, i, device),
                &format!("n{device}"),
                "title",
                json!(format!("t{i}")),
            )
        })
        .collect()
}

fn seqs(page: &[SeqOp]) -> Vec<u64> {
    page.iter().map(|s| s.seq).collect()
}

/// Seqs are 1, 2, 3, … across pushes; a retried push gets its first seqs back as duplicates.
pub fn log_assigns_dense_seqs_and_dedups_retries(b: &dyn HubLogBackend) {
    let mut log = b.open_log("dense", env(21)).unwrap();
    let (a, c) = (batch(1, 0..3), batch(2, 0..2));
    let first = log.append(&a).unwrap();
    assert_eq!(
        (first.accepted, first.seqs.clone(), first.head),
        (3, vec![1, 2, 3], 3)
    );
    let second = log.append(&c).unwrap();
    assert_eq!(
        (second.accepted, second.seqs.clone(), second.head),
        (2, vec![4, 5], 5)
    );
    // A retry that overlaps: the known ops keep their seqs, the new one is appended.
    let mut retry = a[1..].to_vec();
    retry.extend(batch(1, 3..4));
    let out = log.append(&retry).unwrap();
    assert_eq!(
        (out.accepted, out.duplicates, out.seqs, out.head),
        (1, 2, vec![2, 3, 6], 6)
    );
    assert_eq!(log.head().unwrap(), 6);
    assert_eq!(log.log_rows().unwrap(), 6, "a retried op is logged once");
}

/// In one group commit, an invalid batch gets its error and adds nothing; the others commit.
pub fn group_commit_refuses_only_the_bad_batch(b: &dyn HubLogBackend) {
    let mut log = b.open_log("group", env(22)).unwrap();
    let good = batch(1, 0..2);
    let mut bad = batch(2, 0..1);
    bad.push(set(id(T0, 1, 2), "n2", "due", json!("someday")));
    let also_good = batch(3, 0..1);
    let out = log.append_batches(&[&good, &bad, &also_good]).unwrap();
    assert_eq!(out[0].as_ref().unwrap().seqs, vec![1, 2]);
    assert!(matches!(out[1], Err(Error::InvalidOp { .. })), "{:?}", out[1]);
    assert_eq!(out[2].as_ref().unwrap().seqs, vec![3]);
    assert_eq!(out[0].as_ref().unwrap().head, 3);
    let all = log.page(0, 100).unwrap().ops().unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3]);
    assert!(
        all.iter().all(|s| s.op.id.device.0 != 2),
        "nothing of the bad batch is logged"
    );
}

/// Pages start after `after`, hold at most `limit` ops in seq order, and carry head, horizon, epoch.
pub fn pages_follow_seq_order_with_head_horizon_and_epoch(b: &dyn HubLogBackend) {
    let mut log = b.open_log("pages", env(23)).unwrap();
    let empty = log.page(0, 10).unwrap();
    assert_eq!(
        (
            empty.count,
            empty.last,
            empty.head,
            empty.horizon,
            empty.epoch,
            empty.json.as_str()
        ),
        (0, None, 0, 0, 1, "[]")
    );
    let ops = batch(4, 0..5);
    log.append(&ops).unwrap();
    let page = log.page(1, 3).unwrap();
    assert_eq!((page.count, page.last, page.head), (3, Some(4), 5));
    let parsed = page.ops().unwrap();
    assert_eq!(seqs(&parsed), vec![2, 3, 4]);
    assert_eq!(parsed[0].op, ops[1]);
    let rest = log.page(4, 3).unwrap();
    assert_eq!((rest.count, rest.last), (1, Some(5)));
    let beyond = log.page(5, 3).unwrap();
    assert_eq!((beyond.count, beyond.last, beyond.head), (0, None, 5));
}

/// What was appended is there after reopening, and seqs continue from the head.
pub fn appends_survive_reopen(b: &dyn HubLogBackend) {
    let e = env(24);
    {
        let mut log = b.open_log("reopen", e.clone()).unwrap();
        log.append(&batch(5, 0..3)).unwrap();
    }
    let mut log = b.open_log("reopen", e).unwrap();
    assert_eq!(log.head().unwrap(), 3);
    let out = log.append(&batch(6, 0..1)).unwrap();
    assert_eq!(out.seqs, vec![4]);
    assert_eq!(log.append(&batch(5, 0..3)).unwrap().duplicates, 3);
    assert_eq!(seqs(&log.page(0, 10).unwrap().ops().unwrap()), vec![1, 2, 3, 4]);
}

/// A reader sees every committed append and its pages equal the writer's.
pub fn readers_see_exactly_what_is_committed(b: &dyn HubLogBackend) {
    let mut log = b.open_log("readers", env(25)).unwrap();
    let mut reader = (log.readers().unwrap())().unwrap();
    assert_eq!(reader.head().unwrap(), 0);
    log.append(&batch(7, 0..4)).unwrap();
    assert_eq!(reader.head().unwrap(), 4);
    assert_eq!(reader.page(0, 10).unwrap(), log.page(0, 10).unwrap());
    log.append(&batch(8, 0..2)).unwrap();
    let page = reader.page(4, 10).unwrap();
    assert_eq!((seqs(&page.ops().unwrap()), page.head), (vec![5, 6], 6));
}

/// An op stamped beyond the drift bound refuses its batch; the head does not move.
pub fn clock_skew_refuses_the_batch_and_keeps_the_head(b: &dyn HubLogBackend) {
    let mut log = b.open_log("skew", env(26)).unwrap();
    log.append(&batch(9, 0..1)).unwrap();
    let ahead = vec![set(
        id(T0 + 2 * 60 * 60 * 1000, 0, 9),
        "n9",
        "title",
        json!("later"),
    )];
    let out = log.append_batches(&[&ahead]).unwrap();
    assert!(matches!(out[0], Err(Error::ClockSkew { .. })), "{:?}", out[0]);
    assert_eq!(log.head().unwrap(), 1);
}
