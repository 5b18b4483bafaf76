//! Whole-space migrations: the lens of each migration agrees with its state rewrite, and a device that
//! comes back from an old epoch keeps every unsent op, translated or set aside with a reason.
//!
//! The property: for random histories of one epoch (random order, duplicates), applying the history and
//! then running the migration's state rewrite gives the same export as applying the history translated
//! by the migration's lens, through one migration and through two in turn. `HEARTH_PROP_CASES` sets the
//! number of seeds (default 300).

use std::sync::Arc;

use hearth_core::evolve::{self, Migration};
use hearth_core::{ManualEnv, NewOp, Op, OpId, Options, Store, edit, query};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const T0: u64 = 1_750_000_000_000;
const NODES: [&str; 5] = ["n0", "n1", "n2", "n3", "n4"];

fn store(seed: u64) -> Store {
    Store::open_in_memory(
        Arc::new(ManualEnv::new(T0 + 10_000_000, seed)),
        Options::default(),
    )
    .expect("open")
}

/// A random history that every lens translates (priorities 1–4 or none, titles with some text).
fn history(rng: &mut StdRng) -> Vec<Op> {
    let titles = ["Fix the tap", "  Fix  the tap ", "Plan\ttrip", "Zoë ", "a  b  c"];
    let n = rng.random_range(1..40);
    (0..n)
        .map(|i| {
            let node = NODES[rng.random_range(0..NODES.len())];
            let new = match rng.random_range(0..6) {
                0 => {
                    let mut fields = serde_json::Map::new();
                    fields.insert("title".into(), json!(titles[rng.random_range(0..titles.len())]));
                    if rng.random_bool(0.5) {
                        fields.insert("priority".into(), json!(rng.random_range(1..=4)));
                    }
                    NewOp::create(node, "task", fields)
                }
                1 | 2 => NewOp::task_set(
                    node,
                    "priority",
                    if rng.random_bool(0.2) {
                        Value::Null
                    } else {
                        json!(rng.random_range(1..=4))
                    },
                ),
                3 | 4 => NewOp::set(node, "title", json!(titles[rng.random_range(0..titles.len())])),
                _ => NewOp::task_set(node, "status", json!("done")),
            };
            new.stamp(OpId {
                ts: hearth_core::Timestamp {
                    ms: T0 + rng.random_range(0..5_000),
                    counter: i as u16,
                },
                device: hearth_core::DeviceId(rng.random_range(1..4)),
            })
        })
        .collect()
}

fn translated(ops: &[Op], chain: &[&Migration]) -> Vec<Op> {
    ops.iter()
        .map(|op| {
            let (kind, v, payload) = evolve::translate(chain, &op.kind, op.v, &op.payload)
                .unwrap_or_else(|e| panic!("{op:?} should translate: {e:?}"));
            Op {
                id: op.id,
                kind,
                v,
                payload,
            }
        })
        .collect()
}

fn shuffled(rng: &mut StdRng, ops: &[Op]) -> Vec<Op> {
    let mut out = ops.to_vec();
    for _ in 0..rng.random_range(0..3) {
        out.push(ops[rng.random_range(0..ops.len())].clone());
    }
    out.shuffle(rng);
    out
}

#[test]
fn translating_a_history_equals_migrating_its_state() {
    let cases: u64 = std::env::var("HEARTH_PROP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let levels = evolve::find("priority-levels").expect("known");
    let tidy = evolve::find("tidy-titles").expect("known");
    for seed in 0..cases {
        let mut rng = StdRng::seed_from_u64(seed);
        let ops = history(&mut rng);
        for chain in [vec![levels], vec![tidy], vec![levels, tidy]] {
            let mut migrated = store(1);
            migrated.apply(&shuffled(&mut rng, &ops)).expect("apply");
            for m in &chain {
                migrated.run_migration(m).expect("migrate");
            }
            let mut lensed = store(2);
            lensed
                .apply(&shuffled(&mut rng, &translated(&ops, &chain)))
                .expect("apply translated");
            let names: Vec<&str> = chain.iter().map(|m| m.name).collect();
            assert_eq!(
                migrated.export().expect("export"),
                lensed.export().expect("export"),
                "seed {seed}, {names:?}: translating the history and migrating its state disagree"
            );
            // The lists agree too: the read side takes levels as it took priorities.
            let ranks = |s: &Store| {
                query::all_tasks(s.conn())
                    .expect("tasks")
                    .into_iter()
                    .map(|t| (t.id, t.priority, t.title))
                    .collect::<Vec<_>>()
            };
            assert_eq!(ranks(&migrated), ranks(&lensed), "seed {seed}, {names:?}");
        }
    }
}

#[test]
fn priorities_read_the_same_before_and_after_the_migration() {
    let mut s = store(3);
    let t = edit::create_task(
        &mut s,
        hearth_core::NewTask {
            title: "Call the plumber".into(),
            priority: Some(2),
            ..Default::default()
        },
    )
    .expect("task")
    .node;
    let before = query::all_tasks(s.conn()).expect("tasks");
    assert_eq!(before[0].priority, Some(2));
    s.run_migration(evolve::find("priority-levels").expect("known"))
        .expect("migrate");
    assert_eq!(query::all_tasks(s.conn()).expect("tasks"), before);
    let export: Value = serde_json::from_str(&s.export().expect("export")).expect("json");
    assert_eq!(export["nodes"][0]["fields"]["level"], "high", "{export}");
    assert!(export["nodes"][0]["fields"].get("priority").is_none(), "{export}");
    // Edits after the migration write levels; a priority the levels cannot hold is refused, with why.
    edit::set_field(&mut s, &t, "priority", json!(1)).expect("set");
    assert_eq!(query::all_tasks(s.conn()).expect("tasks")[0].priority, Some(1));
    let err = edit::set_field(&mut s, &t, "priority", json!(7)).expect_err("outside the levels");
    assert!(err.to_string().contains("priority 7 is outside 1–4"), "{err}");
    // Running it twice is refused.
    assert!(
        s.run_migration(evolve::find("priority-levels").expect("known"))
            .is_err()
    );
}

#[test]
fn a_device_back_from_an_old_epoch_keeps_every_unsent_op() {
    let mut s = store(4);
    let mut ids = Vec::new();
    for i in 0..200 {
        let t = edit::create_task(
            &mut s,
            hearth_core::NewTask {
                title: format!("  Task   {i} "),
                priority: Some(i % 6),
                ..Default::default()
            },
        );
        match t {
            Ok(e) => ids.push(e.node),
            Err(e) => panic!("{e}"),
        }
    }
    // Priority 0 and 5 have no level: 2 × 34 of the 200 (i % 6 in {0, 5}) cannot be translated.
    assert_eq!(s.outbox_len().expect("outbox"), 200);
    let names = vec!["priority-levels".to_owned(), "tidy-titles".to_owned()];
    let report = s.rebuild_for_epoch(&names).expect("rebuild");
    let untranslatable = (0..200).filter(|i| i % 6 == 0 || i % 6 == 5).count();
    assert_eq!(report.quarantined.len(), untranslatable);
    assert_eq!(report.translated + report.quarantined.len(), 200);
    assert_eq!(s.outbox_len().expect("outbox"), report.translated);
    assert_eq!(s.quarantined().expect("quarantine").len(), untranslatable);
    assert!(
        report.quarantined[0].1.contains("priority-levels"),
        "{:?}",
        report.quarantined[0]
    );
    assert_eq!(s.epoch().expect("epoch"), 3);
    // Translated through both lenses: a level, and a tidy title.
    let tasks = query::all_tasks(s.conn()).expect("tasks");
    assert_eq!(tasks.len(), report.translated);
    assert!(
        tasks
            .iter()
            .all(|t| !t.title.starts_with(' ') && !t.title.contains("  ")),
        "{tasks:?}"
    );
    let export = s.export().expect("export");
    assert!(
        export.contains("\"level\": \"urgent\"") && !export.contains("\"priority\""),
        "{export}"
    );
    // A retry runs the lenses again: still untranslatable, so it stays, with the reason.
    let q = s.quarantined().expect("quarantine");
    let err = s
        .release_quarantined(q[0].op.id, true)
        .expect_err("still untranslatable");
    assert!(err.to_string().contains("outside 1–4"), "{err}");
    assert_eq!(s.quarantined().expect("quarantine").len(), untranslatable);
    assert_eq!(q[0].epoch, Some(1));
    // Discarding is explicit.
    assert!(s.release_quarantined(q[0].op.id, false).expect("discard"));
    assert_eq!(s.quarantined().expect("quarantine").len(), untranslatable - 1);
}
