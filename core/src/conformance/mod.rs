//! The store conformance suite: written once, run against every store backend (native files here, the
//! browser's OPFS store in hearth-wasm) with [`store_conformance_tests!`](crate::store_conformance_tests).
//!
//! Each case is a plain function taking a [`Backend`]; it panics with a message on failure. The hub-log
//! suite ([`hub_log`], [`hub_log_conformance_tests!`](crate::hub_log_conformance_tests)) does the same
//! for every [`HubLog`] backend.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::{Value, json};

use crate::hlc::{Env, ManualEnv};
use crate::kinds::NODE_SET;
use crate::op::{NewOp, Op, OpId, SeqOp};
use crate::store::{HubLog, LogRead, Options, Role, SqliteHubLog, Store};
use crate::{Error, Kinds, query};

pub mod hub_log;
pub use hub_log::HubLogBackend;

/// Something that opens stores by name; the same name reopens the same data.
pub trait Backend {
    /// Open or reopen the store `name`.
    fn open(&self, name: &str, env: Arc<dyn Env>, opts: Options) -> crate::Result<Store>;
}

/// Generate one test per store conformance case for a backend expression; with `setup = path::to::fn;`
/// first, an async test per case that awaits that setup before the case (the browser's OPFS pool).
#[macro_export]
macro_rules! store_conformance_tests {
    ($backend:expr) => {
        $crate::store_conformance_tests!(@list cases, ($backend));
    };
    (setup = $setup:path; $backend:expr) => {
        $crate::store_conformance_tests!(@list async_cases, ($setup; $backend));
    };
    // The case list, written once.
    (@list $mode:ident, ($($args:tt)*)) => {
        $crate::store_conformance_tests!(@$mode $($args)*;
            identity_and_clock_survive_reopen, local_commit_applies_and_fills_outbox,
            apply_is_order_independent_and_idempotent, invalid_op_rejects_whole_batch,
            clock_skew_is_refused_without_advancing_clock, unknown_kinds_are_stored_and_replayed_after_upgrade,
            pulled_ops_confirm_outbox_and_advance_cursor, hub_append_assigns_seqs_in_order_and_dedups,
            tree_counts_subtrees_and_breaks_cycles, agenda_search_and_inbox, lists_carry_their_labels_and_comments,
            move_and_concurrent_move);
    };
    (@async_cases $setup:path; $backend:expr; $($name:ident),*) => { $(
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        async fn $name() { $setup().await; $crate::conformance::$name(&$backend); }
    )* };
    (@cases $backend:expr; $($name:ident),*) => { $(
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        fn $name() { $crate::conformance::$name(&$backend); }
    )* };
}

pub(crate) const T0: u64 = 1_750_000_000_000;

pub(crate) fn env(seed: u64) -> Arc<ManualEnv> {
    Arc::new(ManualEnv::new(T0, seed))
}

fn fields(pairs: &[(&str, Value)]) -> serde_json::Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

pub(crate) fn id(ms: u64, counter: u16, device: u64) -> OpId {
    OpId {
        ts: crate::Timestamp { ms, counter },
        device: crate::DeviceId(device),
    }
}

pub(crate) fn set(at: OpId, node: &str, field: &str, value: Value) -> Op {
    NewOp::set(node, field, value).stamp(at)
}

/// The device id and clock are made once and survive reopening.
pub fn identity_and_clock_survive_reopen(b: &dyn Backend) {
    let e = env(1);
    let mut s = b.open("identity", e.clone(), Options::default()).unwrap();
    let device = s.device();
    let n = s.new_node_id();
    let ops = s
        .commit(vec![NewOp::create(&n, "task", Default::default())])
        .unwrap();
    drop(s);
    e.set_now(T0 - 10_000); // the wall clock went backwards
    let mut s = b.open("identity", e, Options::default()).unwrap();
    assert_eq!(s.device(), device);
    let later = s.commit(vec![NewOp::set(&n, "title", json!("x"))]).unwrap();
    assert!(
        later[0].id > ops[0].id,
        "clock must not go back across reopen: {:?} !> {:?}",
        later[0].id,
        ops[0].id
    );
}

/// Local edits are stamped in order, applied, and queued until confirmed.
pub fn local_commit_applies_and_fills_outbox(b: &dyn Backend) {
    let mut s = b.open("commit", env(2), Options::default()).unwrap();
    let p = s.new_node_id();
    let ops = s
        .commit(vec![
            NewOp::create(&p, "project", fields(&[("title", json!("Garden"))])),
            NewOp::set(&p, "color", json!("green")),
        ])
        .unwrap();
    assert!(ops[0].id < ops[1].id);
    assert_eq!(ops[0].id.device, s.device());
    assert_eq!(s.outbox(10).unwrap(), ops);
    assert_eq!(s.outbox_len().unwrap(), 2);
    let export: Value = serde_json::from_str(&s.export().unwrap()).unwrap();
    assert_eq!(
        export["nodes"][0]["fields"],
        json!({"color": "green", "title": "Garden"})
    );
}

/// Any order, with repeats, gives the same export.
pub fn apply_is_order_independent_and_idempotent(b: &dyn Backend) {
    let ops = vec![
        NewOp::create("n1", "task", fields(&[("title", json!("a"))])).stamp(id(T0, 0, 1)),
        set(id(T0 + 5, 0, 2), "n1", "title", json!("b")),
        set(id(T0 + 5, 0, 1), "n1", "title", json!("c")), // same ms, lower device: loses to device 2
        NewOp::task_set("n1", "status", json!("done")).stamp(id(T0 + 1, 0, 3)),
        NewOp::link_add("n1", "p", "blocks").stamp(id(T0 + 2, 0, 1)),
        NewOp::link_remove("n1", "p", "blocks", &[id(T0 + 2, 0, 1)]).stamp(id(T0 + 3, 0, 2)),
        NewOp::link_add("n1", "p", "blocks").stamp(id(T0 + 2, 1, 3)), // concurrent add survives
    ];
    let mut a = b.open("order-a", env(3), Options::default()).unwrap();
    let mut z = b.open("order-b", env(4), Options::default()).unwrap();
    a.apply(&ops).unwrap();
    let mut rev: Vec<Op> = ops.iter().rev().cloned().collect();
    rev.extend(ops.iter().cloned());
    for op in &rev {
        z.apply(std::slice::from_ref(op)).unwrap();
    }
    assert_eq!(a.export().unwrap(), z.export().unwrap());
    let export: Value = serde_json::from_str(&a.export().unwrap()).unwrap();
    assert_eq!(
        export["nodes"][0]["fields"],
        json!({"status": "done", "title": "b"})
    );
    assert_eq!(
        export["links"],
        json!([{"src": "n1", "dst": "p", "type": "blocks"}])
    );
}

/// One bad op: the error names it, and nothing of the batch is applied or stored.
pub fn invalid_op_rejects_whole_batch(b: &dyn Backend) {
    let mut s = b.open("invalid", env(5), Options::default()).unwrap();
    let good = NewOp::create("n1", "task", Default::default()).stamp(id(T0, 0, 9));
    let bad = set(id(T0, 1, 9), "n1", "priority", json!("high"));
    let unknown = Op {
        id: id(T0, 2, 9),
        kind: "node.star".into(),
        v: 1,
        payload: json!({"node": "n1"}),
    };
    let before = s.export().unwrap();
    let err = s.apply(&[good, unknown, bad]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "op {} is invalid: priority must be an integer or null, got \"high\"",
            id(T0, 1, 9)
        )
    );
    assert_eq!(s.export().unwrap(), before);
    let stored: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM ops", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0);
}

/// An op too far ahead is refused, and the clock does not move.
pub fn clock_skew_is_refused_without_advancing_clock(b: &dyn Backend) {
    let opts = Options {
        max_drift_ms: 60_000,
        ..Options::default()
    };
    let mut s = b.open("skew", env(6), opts).unwrap();
    let before = s.clock();
    let far = set(id(T0 + 61_000, 0, 7), "n", "title", json!("future"));
    match s.apply(&[far]) {
        Err(Error::ClockSkew {
            ahead_ms, limit_ms, ..
        }) => assert_eq!((ahead_ms, limit_ms), (61_000, 60_000)),
        other => panic!("expected clock skew, got {other:?}"),
    }
    assert_eq!(s.clock(), before);
    s.apply(&[set(id(T0 + 59_000, 0, 7), "n", "title", json!("near"))])
        .unwrap();
    assert_eq!(s.clock().ms, T0 + 59_000);
    let local = s.commit(vec![NewOp::set("n", "title", json!("mine"))]).unwrap();
    assert!(
        local[0].id.ts
            > crate::Timestamp {
                ms: T0 + 59_000,
                counter: 0
            }
    );
}

fn star(a: &mut crate::Apply<'_>, op: &Op) -> crate::Result<()> {
    let node = op.payload["node"].as_str().ok_or_else(|| Error::InvalidOp {
        op: op.id.to_string(),
        reason: "node".into(),
    })?;
    a.set_field(node, "starred", &json!(true), op.id)
}

/// Unknown kinds and newer versions are kept, and applied once a build that knows them opens the store.
pub fn unknown_kinds_are_stored_and_replayed_after_upgrade(b: &dyn Backend) {
    let e = env(8);
    let ops = [
        NewOp::create("n1", "task", Default::default()).stamp(id(T0, 0, 1)),
        Op {
            id: id(T0, 1, 1),
            kind: "node.star".into(),
            v: 1,
            payload: json!({"node": "n1", "extra": 1}),
        },
        Op {
            id: id(T0, 2, 1),
            kind: NODE_SET.into(),
            v: 2,
            payload: json!({"node": "n1", "field": "title", "value": {"rich": "x"}}),
        },
    ];
    let seqd: Vec<SeqOp> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| SeqOp {
            seq: i as u64 + 1,
            op: op.clone(),
        })
        .collect();
    let mut old = b.open("upgrade", e.clone(), Options::default()).unwrap();
    let r = old.apply_pulled(&seqd, 3).unwrap();
    assert_eq!((r.applied, r.stored_unknown), (1, 2));
    assert!(!old.export().unwrap().contains("starred"));
    drop(old);
    let kinds = Kinds::default().register("node.star", 1, star);
    let new = b
        .open(
            "upgrade",
            e,
            Options {
                kinds,
                ..Options::default()
            },
        )
        .unwrap();
    let export: Value = serde_json::from_str(&new.export().unwrap()).unwrap();
    assert_eq!(export["nodes"][0]["fields"], json!({"starred": true}));
    // The v2 set is still waiting; the applied, confirmed star op is pruned.
    let left: Vec<String> = new
        .conn()
        .prepare("SELECT id FROM ops")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(left, vec![id(T0, 2, 1).to_string()]);
}

/// Our own ops coming back from the hub leave the outbox; the cursor moves with the page.
pub fn pulled_ops_confirm_outbox_and_advance_cursor(b: &dyn Backend) {
    let mut s = b.open("pull", env(10), Options::default()).unwrap();
    let mine = s
        .commit(vec![
            NewOp::create("n1", "task", Default::default()),
            NewOp::set("n1", "title", json!("t")),
        ])
        .unwrap();
    s.confirm(&[(mine[0].id, 1)]).unwrap();
    assert_eq!(s.outbox(10).unwrap(), vec![mine[1].clone()]);
    let theirs = set(id(T0 + 1, 0, 42), "n1", "notes", json!("hello"));
    let page = vec![
        SeqOp {
            seq: 2,
            op: mine[1].clone(),
        },
        SeqOp { seq: 3, op: theirs },
    ];
    s.apply_pulled(&page, 3).unwrap();
    assert_eq!(s.cursor().unwrap(), 3);
    assert_eq!(s.outbox_len().unwrap(), 0);
    let export: Value = serde_json::from_str(&s.export().unwrap()).unwrap();
    assert_eq!(
        export["nodes"][0]["fields"],
        json!({"notes": "hello", "title": "t"})
    );
}

/// A store opened as a hub serves as a hub log: dense, increasing seqs; a retried batch gets the same
/// seqs back as duplicates.
pub fn hub_append_assigns_seqs_in_order_and_dedups(b: &dyn Backend) {
    let store = b
        .open(
            "hub",
            env(11),
            Options {
                role: Role::Hub,
                ..Options::default()
            },
        )
        .unwrap();
    let mut hub = SqliteHubLog::from_store(store).unwrap();
    let batch: Vec<Op> = (0..3)
        .map(|i| set(id(T0, i, 5), "n", "title", json!(format!("t{i}"))))
        .collect();
    let bad = vec![set(id(T0, 9, 5), "n", "due", json!("soon"))];
    let out = hub.append_batches(&[&batch, &bad]).unwrap();
    let first = out[0].as_ref().unwrap();
    assert_eq!(
        (first.accepted, first.duplicates, first.seqs.clone(), first.head),
        (3, 0, vec![1, 2, 3], 3)
    );
    assert!(matches!(out[1], Err(Error::InvalidOp { .. })));
    let again = hub.append(&batch).unwrap();
    assert_eq!(
        (again.accepted, again.duplicates, again.seqs, again.head),
        (0, 3, vec![1, 2, 3], 3)
    );
    let page = hub.page(1, 10).unwrap().ops().unwrap();
    assert_eq!(page.iter().map(|s| s.seq).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(page[0].op, batch[1]);
    let first_two = hub.page(0, 2).unwrap();
    assert_eq!((first_two.count, first_two.last), (2, Some(2)));
    let parsed: Vec<SeqOp> = first_two.ops().unwrap();
    assert_eq!(
        parsed,
        batch[..2]
            .iter()
            .zip(1..)
            .map(|(op, seq)| SeqOp { seq, op: op.clone() })
            .collect::<Vec<_>>()
    );
}

fn node(s: &mut Store, ty: &str, title: &str, parent: Option<&str>) -> String {
    let n = s.new_node_id();
    let mut ops = vec![NewOp::create(&n, ty, fields(&[("title", json!(title))]))];
    if let Some(p) = parent {
        ops.push(NewOp::link_add(&n, p, "parent"));
    }
    s.commit(ops).unwrap();
    n
}

/// Sub-projects nest, counts roll up, closed tasks do not count, and a parent cycle is cut.
pub fn tree_counts_subtrees_and_breaks_cycles(b: &dyn Backend) {
    let mut s = b.open("tree", env(12), Options::default()).unwrap();
    let home = node(&mut s, "project", "Home", None);
    let garden = node(&mut s, "project", "garden", Some(&home));
    let work = node(&mut s, "project", "Work", None);
    node(&mut s, "task", "mow", Some(&garden));
    node(&mut s, "task", "weed", Some(&garden));
    let done = node(&mut s, "task", "rake", Some(&garden));
    node(&mut s, "task", "tidy", Some(&home));
    s.commit(vec![NewOp::task_set(&done, "status", json!("done"))])
        .unwrap();
    let t = query::tree(s.conn()).unwrap();
    let rows: Vec<(&str, usize, u64, u64)> = t
        .iter()
        .map(|e| (e.title.as_str(), e.depth, e.open, e.open_total))
        .collect();
    assert_eq!(
        rows,
        vec![("Home", 0, 1, 3), ("garden", 1, 2, 2), ("Work", 0, 0, 0)]
    );
    // Concurrent moves: Home under Work (older), Work under Home (newer) make a cycle; the newer is cut.
    let ops = [
        crate::edit::move_ops(&s, &home, Some(&work)).unwrap(),
        crate::edit::move_ops(&s, &work, Some(&home)).unwrap(),
    ]
    .concat();
    s.commit(ops).unwrap();
    let t = query::tree(s.conn()).unwrap();
    let rows: Vec<(&str, usize, u64)> = t
        .iter()
        .map(|e| (e.title.as_str(), e.depth, e.open_total))
        .collect();
    assert_eq!(rows, vec![("Work", 0, 3), ("Home", 1, 3), ("garden", 2, 2)]);
    // Deleting a parent lifts its children to the top level rather than hiding them.
    s.commit(vec![NewOp::delete(&home)]).unwrap();
    let t = query::tree(s.conn()).unwrap();
    let rows: Vec<(&str, usize)> = t.iter().map(|e| (e.title.as_str(), e.depth)).collect();
    assert_eq!(rows, vec![("garden", 0), ("Work", 0)]);
}

/// Agenda puts overdue first, skips done and undated tasks; search is case-insensitive; the Inbox holds
/// tasks with no project; the sidebar's counts agree with those lists.
pub fn agenda_search_and_inbox(b: &dyn Backend) {
    let mut s = b.open("agenda", env(13), Options::default()).unwrap();
    let p = node(&mut s, "project", "Errands", None);
    let a = node(&mut s, "task", "Pay rent", Some(&p));
    let c = node(&mut s, "task", "Call Zoë", None);
    let d = node(&mut s, "task", "File taxes", None);
    let e = node(&mut s, "task", "Buy bread", None);
    s.commit(vec![
        NewOp::task_set(&a, "due", json!("2026-11-30")),
        NewOp::task_set(&c, "due", json!("2026-11-20")),
        NewOp::task_set(&d, "due", json!("2026-11-24")),
        NewOp::task_set(&d, "status", json!("done")),
        NewOp::task_set(&e, "priority", json!(1)),
    ])
    .unwrap();
    let ag = query::agenda(s.conn(), "2026-11-24").unwrap();
    let rows: Vec<(&str, bool)> = ag.iter().map(|r| (r.task.title.as_str(), r.overdue)).collect();
    assert_eq!(rows, vec![("Call Zoë", true), ("Pay rent", false)]);
    let hits: Vec<String> = query::search(s.conn(), "ZOË")
        .unwrap()
        .into_iter()
        .map(|h| h.title)
        .collect();
    assert_eq!(hits, vec!["Call Zoë"]);
    let inbox: Vec<String> = query::tasks(s.conn(), None)
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(inbox, vec!["Call Zoë", "Buy bread", "File taxes"]);
    let errands: Vec<String> = query::tasks(s.conn(), Some(&p))
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(errands, vec!["Pay rent"]);
    // The sidebar's counts: open tasks only; Today takes the overdue and those due by the day.
    let counts = |day| query::counts(s.conn(), day).unwrap();
    assert_eq!(
        counts("2026-11-24"),
        query::Counts {
            inbox: 2,
            today: 1,
            upcoming: 1
        }
    );
    assert_eq!(
        counts("2026-11-30"),
        query::Counts {
            inbox: 2,
            today: 2,
            upcoming: 0
        }
    );
    assert_eq!(query::resolve(s.conn(), &a[..6]).unwrap(), a);
    assert!(matches!(
        query::resolve(s.conn(), "zzzzzz"),
        Err(Error::NotFound { .. })
    ));
}

/// Every list gives each of its tasks its labels and comment count (read for the list's own rows),
/// the same as the list of all tasks does.
pub fn lists_carry_their_labels_and_comments(b: &dyn Backend) {
    let mut s = b.open("lists", env(16), Options::default()).unwrap();
    let home = node(&mut s, "project", "Home", None);
    let work = node(&mut s, "project", "Work", None);
    let tap = node(&mut s, "task", "Fix the tap", Some(&home));
    let rent = node(&mut s, "task", "Pay rent", Some(&home));
    let deck = node(&mut s, "task", "Slides", Some(&work));
    let milk = node(&mut s, "task", "Buy milk", None);
    for (task, label) in [
        (&tap, "urgent"),
        (&tap, "Plumbing"),
        (&deck, "urgent"),
        (&milk, "shop"),
    ] {
        crate::edit::label(&mut s, task, label).unwrap();
    }
    for (task, text) in [(&tap, "washer"), (&tap, "ask Zoë"), (&deck, "v2"), (&milk, "oat")] {
        crate::edit::add_comment(&mut s, task, text).unwrap();
    }
    let shown = |list: Vec<query::TaskRow>| -> Vec<(String, Vec<String>, u32)> {
        list.into_iter()
            .map(|t| (t.title, t.labels, t.comments))
            .collect()
    };
    let strs = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        shown(query::tasks(s.conn(), Some(&home)).unwrap()),
        vec![
            ("Fix the tap".to_string(), strs(&["Plumbing", "urgent"]), 2),
            ("Pay rent".to_string(), vec![], 0),
        ]
    );
    assert_eq!(
        shown(query::tasks(s.conn(), Some(&work)).unwrap()),
        vec![("Slides".to_string(), strs(&["urgent"]), 1)]
    );
    assert_eq!(
        shown(query::tasks(s.conn(), None).unwrap()),
        vec![("Buy milk".to_string(), strs(&["shop"]), 1)]
    );
    let all = query::all_tasks(s.conn()).unwrap();
    let rent_row = all.iter().find(|t| t.id == rent).unwrap();
    assert_eq!((rent_row.labels.len(), rent_row.comments), (0, 0));
    assert_eq!(all.iter().map(|t| t.comments).sum::<u32>(), 4);
}

/// A move removes the observed parent; two devices moving the same task concurrently end on the later.
pub fn move_and_concurrent_move(b: &dyn Backend) {
    let mut x = b.open("move-x", env(14), Options::default()).unwrap();
    let mut y = b.open("move-y", env(15), Options::default()).unwrap();
    let p1 = node(&mut x, "project", "One", None);
    let p2 = node(&mut x, "project", "Two", None);
    let p3 = node(&mut x, "project", "Three", None);
    let t = node(&mut x, "task", "Task", Some(&p1));
    y.apply(&x.outbox(100).unwrap()).unwrap();
    let to2 = crate::edit::move_ops(&x, &t, Some(&p2)).unwrap();
    let to2 = x.commit(to2).unwrap();
    let to3 = crate::edit::move_ops(&y, &t, Some(&p3)).unwrap();
    let to3 = y.commit(to3).unwrap();
    x.apply(&to3).unwrap();
    y.apply(&to2).unwrap();
    assert_eq!(x.export().unwrap(), y.export().unwrap());
    let winner = if to2.last().unwrap().id > to3.last().unwrap().id {
        &p2
    } else {
        &p3
    };
    let eff = query::effective_parents(x.conn()).unwrap();
    assert_eq!(eff[&t].as_deref(), Some(winner.as_str()));
    // Moving again from either side clears both concurrent tags.
    let back = crate::edit::move_ops(&x, &t, None).unwrap();
    x.commit(back).unwrap();
    assert_eq!(query::effective_parents(x.conn()).unwrap()[&t], None);
}
