//! The hub-log conformance suite: the same cases against every [`HubLog`] backend (SQLite files here;
//! any further backend invokes [`hub_log_conformance_tests!`](crate::hub_log_conformance_tests) in its
//! own tests).
//!
//! What every backend must guarantee: seqs dense and increasing in commit order, appends all-or-nothing
//! per batch and idempotent by op id, group commit that refuses only the bad batch, pages read in one
//! snapshot with head, horizon and epoch, durability across reopen, readers that see exactly what
//! is committed, retried pushes answered as duplicates before any stamp is checked, op ids refused
//! for clock skew that stay refused (also across reopen), and compaction: rows removed only up to `min(horizon, snapshot)`, a snapshot that
//! rebuilds the state at its seq, and retries of removed ops still answered as duplicates.

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
            readers_see_exactly_what_is_committed, clock_skew_refuses_the_batch_and_keeps_the_head,
            an_op_id_refused_for_clock_skew_stays_refused,
            a_retried_push_of_a_logged_op_is_a_duplicate_whatever_the_hubs_clock_says,
            skew_refusals_at_or_below_the_compacted_watermark_go_and_their_ops_never_land,
            compaction_prunes_to_the_horizon_and_keeps_pulls_consistent,
            the_snapshot_pages_rebuild_the_state_at_its_seq, retries_after_compaction_are_duplicates);
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

const HOUR: u64 = 60 * 60 * 1000;

fn skew_refused_before(out: &crate::Result<crate::AppendOutcome>) -> Option<(crate::OpId, bool)> {
    match out {
        Err(Error::ClockSkew {
            op, refused_before, ..
        }) => Some((*op, *refused_before)),
        _ => None,
    }
}

/// A push refused for clock skew is re-stamped by its device; a late copy of it (the network delivers
/// it once the hub's clock has caught up) is refused all the same, naming the same op, so the edit is
/// never logged twice. The named op and the later ops of that push stay refused, also in a group
/// commit and after reopening; the op before the named one and the re-stamped ops are logged.
pub fn an_op_id_refused_for_clock_skew_stays_refused(b: &dyn HubLogBackend) {
    let e = env(30);
    let mut log = b.open_log("refused", e.clone()).unwrap();
    let before = set(id(T0, 0, 17), "n17", "title", json!("kept"));
    let x = set(id(T0 + 2 * HOUR, 0, 17), "n17", "title", json!("ahead"));
    let y = set(id(T0 + 2 * HOUR, 1, 17), "n17", "notes", json!("further"));
    let push = vec![before.clone(), x.clone(), y.clone()];
    let out = log.append_batches(&[&push]).unwrap();
    assert_eq!(skew_refused_before(&out[0]), Some((x.id, false)), "{:?}", out[0]);
    // The device re-stamps x and y at the hub's time; `before` keeps its id.
    let restamped = vec![
        before.clone(),
        set(id(T0 + 1, 0, 17), "n17", "title", json!("ahead")),
        set(id(T0 + 1, 1, 17), "n17", "notes", json!("further")),
    ];
    let ok = log.append(&restamped).unwrap();
    assert_eq!((ok.accepted, ok.seqs.clone(), ok.head), (3, vec![1, 2, 3], 3));
    // Two hours later every stamp of the first push is within the bound, and still:
    e.advance(2 * HOUR);
    let late = log.append_batches(&[&push]).unwrap();
    match &late[0] {
        Err(Error::ClockSkew {
            op,
            ahead_ms,
            refused_before,
            ..
        }) => assert_eq!((*op, *ahead_ms, *refused_before), (x.id, 0, true)),
        other => panic!("a late copy of a refused push must be refused, got {other:?}"),
    }
    let alone = log.append_batches(&[std::slice::from_ref(&y)]).unwrap();
    assert_eq!(
        skew_refused_before(&alone[0]),
        Some((y.id, true)),
        "{:?}",
        alone[0]
    );
    // In a group commit, only the push holding a refused id is refused.
    let fresh = vec![set(id(T0 + 2 * HOUR, 0, 18), "n18", "title", json!("new"))];
    let out = log.append_batches(&[&push, &fresh]).unwrap();
    assert_eq!(skew_refused_before(&out[0]), Some((x.id, true)), "{:?}", out[0]);
    assert_eq!(out[1].as_ref().unwrap().seqs, vec![4]);
    drop(log);
    let mut log = b.open_log("refused", e.clone()).unwrap();
    let out = log.append_batches(&[&push[1..]]).unwrap();
    assert_eq!(
        skew_refused_before(&out[0]),
        Some((x.id, true)),
        "the refusal survives reopening: {:?}",
        out[0]
    );
    assert_eq!(log.head().unwrap(), 4);
    let logged: Vec<crate::OpId> = log
        .page(0, 100)
        .unwrap()
        .ops()
        .unwrap()
        .into_iter()
        .map(|s| s.op.id)
        .collect();
    assert_eq!(
        logged,
        vec![before.id, restamped[1].id, restamped[2].id, fresh[0].id],
        "each edit logged once"
    );
}

/// A retried push of an op the log holds (or compacted) is a duplicate before any stamp is checked:
/// when the hub's clock has stepped back by more than the drift bound (or another hub's clock is
/// behind), the retry must not be told `clock_skew`, or its device would re-stamp the op and the edit
/// would be logged twice. Only ops new to the log are checked for skew, and only they are retired.
pub fn a_retried_push_of_a_logged_op_is_a_duplicate_whatever_the_hubs_clock_says(b: &dyn HubLogBackend) {
    let e = env(32);
    let mut log = b.open_log("dup-before-skew", e.clone()).unwrap();
    let a = set(id(T0, 0, 21), "n21", "title", json!("one"));
    let c = set(id(T0, 1, 21), "n21", "notes", json!("two"));
    let push = vec![a.clone(), c.clone()];
    let first = log.append(&push).unwrap();
    assert_eq!((first.accepted, first.seqs.clone()), (2, vec![1, 2]));
    // The hub's clock steps back three hours: both stamps are now far beyond the bound.
    e.set_now(T0 - 3 * HOUR);
    let retry = log.append_batches(&[&push]).unwrap();
    match &retry[0] {
        Ok(out) => assert_eq!(
            (out.accepted, out.duplicates, out.seqs.clone(), out.head),
            (0, 2, vec![1, 2], 2)
        ),
        Err(err) => panic!("a retried push of logged ops must be a duplicate, got {err:?}"),
    }
    // Beside a new op stamped as far ahead, that new op alone is at fault: it is named and retired;
    // the logged ops are not.
    let d = set(id(T0, 2, 21), "n21", "title", json!("three"));
    let mixed = vec![a.clone(), c.clone(), d.clone()];
    let out = log.append_batches(&[&mixed]).unwrap();
    assert_eq!(skew_refused_before(&out[0]), Some((d.id, false)), "{:?}", out[0]);
    e.set_now(T0);
    let again = log.append_batches(&[&push]).unwrap();
    assert_eq!(
        again[0].as_ref().map(|o| o.duplicates).ok(),
        Some(2),
        "{:?}",
        again[0]
    );
    let out = log.append_batches(&[&mixed]).unwrap();
    assert_eq!(
        skew_refused_before(&out[0]),
        Some((d.id, true)),
        "the new op stays refused: {:?}",
        out[0]
    );
    // Compacted ops too: their rows are gone, and a retry behind the hub's clock is a duplicate at
    // the horizon.
    log.compact(2).unwrap();
    e.set_now(T0 - 3 * HOUR);
    let late = log.append_batches(&[&push]).unwrap();
    match &late[0] {
        Ok(out) => assert_eq!(
            (out.accepted, out.duplicates, out.seqs.clone(), out.head),
            (0, 2, vec![2, 2], 2)
        ),
        Err(err) => panic!("a retried push of compacted ops must be a duplicate, got {err:?}"),
    }
    e.set_now(T0);
    let next = set(id(T0, 3, 21), "n21", "title", json!("four"));
    assert_eq!(log.append(std::slice::from_ref(&next)).unwrap().seqs, vec![3]);
    let logged: Vec<crate::OpId> = log
        .page(2, 100)
        .unwrap()
        .ops()
        .unwrap()
        .into_iter()
        .map(|s| s.op.id)
        .collect();
    assert_eq!(logged, vec![next.id], "each op logged once");
    assert_eq!((log.head().unwrap(), log.log_rows().unwrap()), (3, 1));
}

/// Compaction drops a device's skew refusals at or below the greatest op id of its that it removed:
/// a late copy of such an op is then answered as a duplicate at the horizon, and still never logged.
pub fn skew_refusals_at_or_below_the_compacted_watermark_go_and_their_ops_never_land(b: &dyn HubLogBackend) {
    let e = env(31);
    let mut log = b.open_log("refused-compact", e.clone()).unwrap();
    let x = set(id(T0 + 2 * HOUR, 0, 19), "n19", "title", json!("ahead"));
    let out = log.append_batches(&[std::slice::from_ref(&x)]).unwrap();
    assert_eq!(skew_refused_before(&out[0]), Some((x.id, false)), "{:?}", out[0]);
    log.append(&batch(20, 0..2)).unwrap();
    // Re-stamped at the hub's time: below x.
    log.append(&[set(id(T0 + 1, 0, 19), "n19", "title", json!("ahead"))])
        .unwrap();
    e.advance(2 * HOUR);
    // Compacting past the re-stamped op leaves the refusal in force: device 19 has no op above x yet.
    log.compact(3).unwrap();
    let out = log.append_batches(&[std::slice::from_ref(&x)]).unwrap();
    assert_eq!(skew_refused_before(&out[0]), Some((x.id, true)), "{:?}", out[0]);
    // Two hours on, the device's new ops pass x; once one is compacted, x's copy is a duplicate.
    let later = set(id(T0 + 2 * HOUR, 1, 19), "n19", "title", json!("later"));
    assert_eq!(log.append(std::slice::from_ref(&later)).unwrap().seqs, vec![4]);
    log.compact(4).unwrap();
    let again = log.append(std::slice::from_ref(&x)).unwrap();
    assert_eq!(
        (again.accepted, again.duplicates, again.seqs, again.head),
        (0, 1, vec![4], 4)
    );
    assert_eq!((log.head().unwrap(), log.log_rows().unwrap()), (4, 0));
}

/// Compaction removes rows at or below the horizon it is given, never more, never backwards; pages
/// above it are unchanged, and the page reports the new horizon and snapshot.
pub fn compaction_prunes_to_the_horizon_and_keeps_pulls_consistent(b: &dyn HubLogBackend) {
    let mut log = b.open_log("compact", env(27)).unwrap();
    log.append(&batch(10, 0..10)).unwrap();
    let before = log.page(4, 100).unwrap();
    let report = log.compact(4).unwrap();
    assert_eq!(
        (
            report.horizon,
            report.snapshot_seq,
            report.log_rows_before,
            report.log_rows_after
        ),
        (4, 10, 10, 6)
    );
    let after = log.page(4, 100).unwrap();
    assert_eq!(
        after.json, before.json,
        "the rows above the horizon are untouched"
    );
    assert_eq!((after.horizon, after.snapshot, after.head), (4, 10, 10));
    let pos = log.position().unwrap();
    assert_eq!((pos.horizon, pos.snapshot), (4, 10));
    // A lower horizon never moves it back.
    assert_eq!(log.compact(2).unwrap().horizon, 4);
    assert_eq!(log.log_rows().unwrap(), 6);
    // New appends continue the seqs; a second compaction takes the rest.
    assert_eq!(log.append(&batch(11, 0..2)).unwrap().seqs, vec![11, 12]);
    let report = log.compact(12).unwrap();
    assert_eq!(
        (report.horizon, report.snapshot_seq, report.log_rows_after),
        (12, 12, 0)
    );
    assert_eq!(log.page(12, 10).unwrap().count, 0);
}

/// The snapshot, paged, rebuilds exactly the state at its seq (by the digest of the export), and a
/// replaced snapshot can no longer be paged by its seq once two newer ones exist.
pub fn the_snapshot_pages_rebuild_the_state_at_its_seq(b: &dyn HubLogBackend) {
    let e = env(28);
    let mut log = b.open_log("snapshot", e.clone()).unwrap();
    assert!(
        log.snapshot_page(None, 0, 10).unwrap().is_none(),
        "no snapshot before a compaction"
    );
    let mut ops = batch(12, 0..6);
    ops.push(Op {
        id: id(T0, 6, 12),
        kind: "link.add".into(),
        v: 1,
        payload: json!({"src": "n12", "dst": "p", "type": "parent"}),
    });
    ops.push(Op {
        id: id(T0, 7, 12),
        kind: "shiny.new".into(),
        v: 1,
        payload: json!({"anything": 1}),
    });
    log.append(&ops).unwrap();
    log.compact(8).unwrap();
    let mut entries = Vec::new();
    let mut after = 0;
    let digest = loop {
        let page = log
            .snapshot_page(Some(8), after, 1)
            .unwrap()
            .unwrap()
            .page()
            .unwrap();
        assert_eq!((page.seq, page.epoch, page.total), (8, 1, 3));
        assert!(page.entries.len() <= 1);
        entries.extend(page.entries);
        match page.next {
            Some(n) => after = n,
            None => break page.digest,
        }
    };
    // The title winner, the link, and the op this build does not understand, kept verbatim.
    assert_eq!(entries.len(), 3);
    assert!(
        matches!(&entries[2], crate::snapshot::Entry::Pending { seq: Some(8), op } if op.kind == "shiny.new")
    );
    let mut fresh = crate::Store::open_in_memory(e, crate::Options::default()).unwrap();
    fresh.merge_snapshot_entries(&entries).unwrap();
    assert_eq!(crate::snapshot::digest(fresh.conn()).unwrap(), digest);
    // Two compactions later, the snapshot at 8 is gone; the current one is served.
    for (device, seq) in [(13, 9), (14, 10)] {
        log.append(&batch(device, 0..1)).unwrap();
        log.compact(seq).unwrap();
    }
    assert!(log.snapshot_page(Some(8), 0, 10).unwrap().is_none());
    assert_eq!(log.snapshot_page(None, 0, 10).unwrap().unwrap().seq, 10);
    assert_eq!(
        log.snapshot_page(Some(9), 0, 10).unwrap().unwrap().seq,
        9,
        "the previous one is kept"
    );
}

/// A retried push of ops whose rows compaction removed is answered as duplicates at or below the
/// horizon, and nothing is logged again; new ops of the same device are appended as usual.
pub fn retries_after_compaction_are_duplicates(b: &dyn HubLogBackend) {
    let mut log = b.open_log("retry", env(29)).unwrap();
    let ops = batch(15, 0..5);
    log.append(&ops).unwrap();
    log.append(&batch(16, 0..5)).unwrap();
    log.compact(10).unwrap();
    let again = log.append(&ops).unwrap();
    assert_eq!((again.accepted, again.duplicates, again.head), (0, 5, 10));
    assert!(again.seqs.iter().all(|s| *s <= 10));
    assert_eq!(log.log_rows().unwrap(), 0);
    let more = log.append(&batch(15, 5..7)).unwrap();
    assert_eq!((more.accepted, more.seqs), (2, vec![11, 12]));
}
