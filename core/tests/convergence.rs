//! Property tests: random ops from 3–5 devices, delivered to several replicas in different random orders,
//! in random batches, with duplicates, give byte-identical exports; on each history every list holds
//! the tasks of its project, and the sidebar's counts agree with the lists they count.
//!
//! `HEARTH_PROP_CASES` sets the number of random seeds (default 1,000). A failing seed is printed; add it
//! to `tests/regressions.txt` so it runs on every build from then on.

use std::collections::HashMap;
use std::sync::Arc;

use hearth_core::snapshot::{self, Snapshot};
use hearth_core::{Clock, DeviceId, ManualEnv, NewOp, Op, OpId, Options, Store, query};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const T0: u64 = 1_750_000_000_000;
const NODES: [&str; 7] = ["n0", "n1", "n2", "n3", "n4", "n5", "n6"];
const TYPES: [&str; 3] = ["project", "task", "note"];

struct Device {
    id: DeviceId,
    clock: Clock,
    skew: i64,
    /// Link tags this device has seen, per (src, dst, type): what a remove may name.
    seen: Vec<(OpId, String, String, &'static str)>,
}

fn value_for(rng: &mut StdRng, field: &str) -> Value {
    match field {
        "title" => json!(["Buy milk", "Plan trip", "Zoë", "", "Fix tap"][rng.random_range(0..5)]),
        "status" => json!(["open", "done", "cancelled"][rng.random_range(0..3)]),
        "due" => {
            if rng.random_bool(0.2) {
                Value::Null
            } else {
                json!(format!("2026-11-{:02}", rng.random_range(1..=30)))
            }
        }
        "priority" => {
            if rng.random_bool(0.2) {
                Value::Null
            } else {
                json!(rng.random_range(1..=4))
            }
        }
        "deleted" => json!(rng.random_bool(0.5)),
        "notes" => json!({"text": "n", "n": rng.random_range(0..3), "tags": ["a", "b"]}),
        _ => json!(rng.random_range(0..100)),
    }
}

/// Generate one history: each op is stamped by its device's clock as the devices interleave in time,
/// and removes name only tags their device has seen (so adds concurrent with them survive).
fn history(rng: &mut StdRng) -> Vec<Op> {
    let n_devices = rng.random_range(3..=5);
    let mut devices: Vec<Device> = (0..n_devices)
        .map(|i| Device {
            id: DeviceId(0x1000 + i as u64 * 0x0101_0101),
            clock: Clock::new(Default::default(), u64::MAX),
            skew: rng.random_range(-3..=3),
            seen: Vec::new(),
        })
        .collect();
    let mut ops = Vec::new();
    let mut t = T0;
    let n_ops = rng.random_range(10..60);
    for _ in 0..n_ops {
        t += rng.random_range(0..3);
        let d = rng.random_range(0..devices.len());
        // Gossip: sometimes a device learns the link tags another has seen.
        if rng.random_bool(0.3) {
            let other = rng.random_range(0..devices.len());
            let learned = devices[other].seen.clone();
            devices[d].seen.extend(learned);
        }
        let dev = &mut devices[d];
        let now = t.saturating_add_signed(dev.skew);
        let node = NODES[rng.random_range(0..NODES.len())];
        let new = match rng.random_range(0..100) {
            0..=14 => {
                let ty = TYPES[rng.random_range(0..3)];
                let mut f = serde_json::Map::new();
                if rng.random_bool(0.5) {
                    f.insert("title".into(), value_for(rng, "title"));
                }
                if rng.random_bool(0.3) {
                    f.insert("due".into(), value_for(rng, "due"));
                }
                NewOp::create(node, ty, f)
            }
            15..=44 => {
                let field = ["title", "status", "due", "priority", "notes", "color"][rng.random_range(0..6)];
                let v = value_for(rng, field);
                if rng.random_bool(0.5) {
                    NewOp::set(node, field, v)
                } else {
                    NewOp::task_set(node, field, v)
                }
            }
            45..=51 => NewOp::delete(node),
            52..=56 => NewOp::set(node, "deleted", json!(false)),
            57..=74 => {
                let dst = NODES[rng.random_range(0..NODES.len())];
                let ty = if rng.random_bool(0.8) { "parent" } else { "blocks" };
                NewOp::link_add(node, dst, ty)
            }
            75..=89 if !dev.seen.is_empty() => {
                let (_, src, dst, ty) = dev.seen[rng.random_range(0..dev.seen.len())].clone();
                let tags: Vec<OpId> = dev
                    .seen
                    .iter()
                    .filter(|(_, s, d2, t2)| *s == src && *d2 == dst && *t2 == ty && rng.random_bool(0.8))
                    .map(|(tag, ..)| *tag)
                    .collect();
                NewOp::link_remove(&src, &dst, ty, &tags)
            }
            90..=94 => NewOp {
                kind: "node.star".into(),
                v: 1,
                payload: json!({"node": node}),
            },
            95..=97 => NewOp {
                kind: "node.set".into(),
                v: 2,
                payload: json!({"node": node, "field": "title", "value": {"rich": true}}),
            },
            _ => NewOp::set(node, "extra", json!({"unknown_field": 1})).clone(),
        };
        let op = new.stamp(OpId {
            ts: dev.clock.tick(now),
            device: dev.id,
        });
        if op.kind == "link.add" {
            let src = op.payload["src"].as_str().unwrap_or_default().to_owned();
            let dst = op.payload["dst"].as_str().unwrap_or_default().to_owned();
            let ty = if op.payload["type"] == "parent" {
                "parent"
            } else {
                "blocks"
            };
            dev.seen.push((op.id, src, dst, ty));
        }
        // Another device sometimes observes this op at once, which advances its clock (HLC receive).
        let observer = rng.random_range(0..devices.len());
        devices[observer].clock.observe(op.id.ts);
        ops.push(op);
    }
    ops
}

/// Deliver `ops` to a fresh replica in a random order, with duplicates, in random batches.
fn replicate(rng: &mut StdRng, ops: &[Op], seed: u64, replica: u64) -> String {
    let env = Arc::new(ManualEnv::new(T0 + 1_000_000, seed * 31 + replica));
    let mut store = Store::open_in_memory(env, Options::default()).expect("open");
    let mut delivery: Vec<Op> = ops.to_vec();
    for _ in 0..rng.random_range(0..=ops.len() / 3) {
        delivery.push(ops[rng.random_range(0..ops.len())].clone());
    }
    delivery.shuffle(rng);
    let mut rest = delivery.as_slice();
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(12));
        store
            .apply(&rest[..n])
            .unwrap_or_else(|e| panic!("seed {seed}: apply failed: {e}"));
        rest = &rest[n..];
    }
    store.export().expect("export")
}

fn check_seed(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let ops = history(&mut rng);
    let mut sorted = ops.clone();
    sorted.sort_by_key(|o| o.id);
    let reference = {
        let env = Arc::new(ManualEnv::new(T0 + 1_000_000, seed));
        let mut s = Store::open_in_memory(env, Options::default()).expect("open");
        s.apply(&sorted).expect("apply in clock order");
        s.export().expect("export")
    };
    check_lists(&sorted, seed);
    for replica in 0..3 {
        let got = replicate(&mut rng, &ops, seed, replica);
        if got != reference {
            let ops_json = serde_json::to_string_pretty(&ops).unwrap_or_default();
            panic!(
                "seed {seed} diverged on replica {replica}: add `{seed}` to core/tests/regressions.txt\n\
                 ops:\n{ops_json}\nexpected:\n{reference}\ngot:\n{got}"
            );
        }
    }
}

/// Each list is every task of the space whose effective parent is its project, in the same order (the
/// Inbox: no parent, or one that is not a live project or task); the sidebar's counts are the lengths
/// of the lists they stand for (the Inbox's open tasks, the agenda split at the end of the day).
/// Whatever the tree is like: parents deleted, cycles, tasks under notes or under tasks.
fn check_lists(ops: &[Op], seed: u64) {
    let env = Arc::new(ManualEnv::new(T0 + 1_000_000, seed));
    let mut s = Store::open_in_memory(env, Options::default()).expect("open");
    s.apply(ops).expect("apply in clock order");
    assert_eq!(
        query::effective_parents(s.conn()).expect("effective parents"),
        effective_parents_by_definition(&s),
        "seed {seed}: effective parents"
    );
    let all = query::all_tasks(s.conn()).expect("all tasks");
    let projects: Vec<String> = query::tree(s.conn())
        .expect("tree")
        .into_iter()
        .map(|p| p.id)
        .collect();
    let holds = |id: &String| projects.contains(id) || all.iter().any(|t| t.id == *id);
    let inbox: Vec<_> = all
        .iter()
        .filter(|t| t.parent.as_ref().is_none_or(|p| !holds(p)))
        .cloned()
        .collect();
    assert_eq!(
        query::tasks(s.conn(), None).expect("inbox"),
        inbox,
        "seed {seed}: the Inbox"
    );
    for p in projects.iter().chain(all.iter().map(|t| &t.id)) {
        let list: Vec<_> = all
            .iter()
            .filter(|t| t.parent.as_ref() == Some(p))
            .cloned()
            .collect();
        assert_eq!(
            query::tasks(s.conn(), Some(p)).expect("list"),
            list,
            "seed {seed}: the list of {p}"
        );
    }
    for day in ["2026-11-01", "2026-11-15", "2026-12-01"] {
        let inbox = query::tasks(s.conn(), None)
            .expect("inbox")
            .iter()
            .filter(|t| !query::CLOSED.contains(&t.status.as_str()))
            .count() as u64;
        let agenda = query::agenda(s.conn(), day).expect("agenda");
        let today = agenda
            .iter()
            .filter(|a| a.task.due.as_deref().is_some_and(|d| d <= day))
            .count() as u64;
        let want = query::Counts {
            inbox,
            today,
            upcoming: agenda.len() as u64 - today,
        };
        assert_eq!(
            query::counts(s.conn(), day).expect("counts"),
            want,
            "seed {seed}, day {day}"
        );
    }
}

/// The effective parents as the query module defines them, computed the plain way: an edge to a
/// missing or deleted node is dropped, and every cycle (a node whose chain comes back to it) loses the
/// edge of its member with the greatest tag.
fn effective_parents_by_definition(s: &Store) -> HashMap<String, Option<String>> {
    let mut stmt = s
        .conn()
        .prepare("SELECT id, deleted, parent, parent_tag FROM nodes WHERE type IS NOT NULL")
        .expect("prepare");
    let raw: HashMap<String, (bool, Option<String>, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let edge = |id: &str| -> Option<String> {
        raw[id]
            .1
            .clone()
            .filter(|p| raw.get(p).is_some_and(|(deleted, ..)| !deleted))
    };
    let mut eff: HashMap<String, Option<String>> = raw.keys().map(|id| (id.clone(), edge(id))).collect();
    for id in raw.keys() {
        // The cycle through `id`, if its chain comes back to it.
        let mut cycle = vec![id.clone()];
        let mut cur = edge(id);
        let closes = loop {
            match cur {
                None => break false,
                Some(n) if n == *id => break true,
                // Longer than the space: the chain ran into a cycle that `id` is not on.
                Some(_) if cycle.len() > raw.len() => break false,
                Some(n) => {
                    cur = edge(&n);
                    cycle.push(n);
                }
            }
        };
        if closes {
            let cut = cycle
                .iter()
                .max_by(|a, b| raw[*a].2.cmp(&raw[*b].2))
                .expect("a cycle has members");
            eff.insert(cut.clone(), None);
        }
    }
    eff
}

fn regression_seeds() -> Vec<u64> {
    include_str!("regressions.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.parse()
                .unwrap_or_else(|_| panic!("regressions.txt: {l:?} is not a seed"))
        })
        .collect()
}

#[test]
fn regression_seeds_converge() {
    for seed in regression_seeds() {
        check_seed(seed);
    }
}

#[test]
fn random_histories_converge() {
    let cases: u64 = std::env::var("HEARTH_PROP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let base: u64 = std::env::var("HEARTH_PROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for seed in base..base + cases {
        check_seed(seed);
    }
    eprintln!(
        "convergence: {cases} random histories from seed {base}, 3 replicas each, all exports identical"
    );
}

fn fresh(seed: u64) -> Store {
    let env = Arc::new(ManualEnv::new(T0 + 1_000_000, seed));
    Store::open_in_memory(env, Options::default()).expect("open")
}

fn applied(seed: u64, ops: &[Op]) -> Store {
    let mut s = fresh(seed);
    s.apply(ops)
        .unwrap_or_else(|e| panic!("seed {seed}: apply failed: {e}"));
    s
}

/// A device's own edits, not yet confirmed: creates, sets and moves on the history's nodes.
fn local_edits(rng: &mut StdRng, store: &mut Store) {
    for _ in 0..rng.random_range(1..8) {
        let node = NODES[rng.random_range(0..NODES.len())];
        let ops = match rng.random_range(0..4) {
            0 => vec![NewOp::create(node, "task", Default::default())],
            1 => vec![NewOp::set(node, "title", value_for(rng, "title"))],
            2 => hearth_core::edit::move_ops(store, node, Some(NODES[rng.random_range(0..NODES.len())]))
                .expect("move"),
            _ => vec![NewOp::delete(node)],
        };
        store.commit(ops).expect("commit");
    }
}

/// A snapshot taken at any point of the log, followed by the rest of the log, gives the full log's state
/// with the same stamps; merged into a replica that holds unconfirmed ops of its own, it gives that
/// replica after pulling the full log, and the outbox stays as it was.
fn check_snapshot(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_5eed);
    let ops = history(&mut rng);
    let full = applied(seed, &ops);
    let want = snapshot::read(full.conn(), ops.len() as u64, 1).expect("snapshot");
    let fail = |what: &str| -> ! {
        let ops_json = serde_json::to_string_pretty(&ops).unwrap_or_default();
        panic!("seed {seed}: {what}; add `{seed}` to core/tests/regressions.txt\nops:\n{ops_json}")
    };
    for _ in 0..3 {
        let at = rng.random_range(0..=ops.len());
        let prefix = applied(seed, &ops[..at]);
        let snap = snapshot::read(prefix.conn(), at as u64, 1).expect("snapshot");
        // What travels is JSON.
        let snap: Snapshot =
            serde_json::from_str(&serde_json::to_string(&snap).expect("encode")).expect("decode");
        let mut rebuilt = fresh(seed + 1);
        rebuilt.merge_snapshot(&snap).expect("merge");
        rebuilt.apply(&ops[at..]).expect("tail");
        if rebuilt.export().expect("export") != full.export().expect("export") {
            fail(&format!("snapshot at {at} + tail differs from the full log"));
        }
        if snapshot::read(rebuilt.conn(), ops.len() as u64, 1).expect("snapshot") != want {
            fail(&format!(
                "snapshot at {at} + tail has other stamps than the full log"
            ));
        }
    }
    let device_seed = seed * 7 + 3;
    let mut pulled = fresh(device_seed);
    let mut restored = fresh(device_seed);
    let mut edits = StdRng::seed_from_u64(seed);
    local_edits(&mut edits, &mut pulled);
    local_edits(&mut StdRng::seed_from_u64(seed), &mut restored);
    let outbox = pulled.outbox(1_000).expect("outbox");
    assert!(!outbox.is_empty());
    pulled.apply(&ops).expect("pull the full log");
    restored.merge_snapshot(&want).expect("merge");
    if restored.export().expect("export") != pulled.export().expect("export") {
        fail("a snapshot merged over unconfirmed ops differs from pulling the full log");
    }
    assert_eq!(
        restored.outbox(1_000).expect("outbox"),
        outbox,
        "seed {seed}: the outbox changed"
    );
    assert_eq!(pulled.outbox(1_000).expect("outbox"), outbox);
}

#[test]
fn snapshots_plus_the_tail_equal_the_full_log() {
    let cases = std::env::var("HEARTH_PROP_CASES")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1_000)
        .div_ceil(2);
    for seed in regression_seeds().into_iter().chain(0..cases) {
        check_snapshot(seed);
    }
    eprintln!(
        "snapshots: {cases} random histories, a snapshot at 3 random seqs each plus a device with unsent ops"
    );
}
