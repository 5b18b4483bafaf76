//! The workload of the benchmarks that fill a hub: 10,000 records (1,000 projects, 9,000 tasks in
//! them) with five fields each, then last-writer-wins edits from 5 devices up to `total` ops.

use anyhow::{Context, ensure};
use hearth_core::{DeviceId, NewOp, Op, OpId, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// `total` ops stamped from `start_ms` on, deterministic.
pub fn generate(total: usize, start_ms: u64) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(7);
    let devices: Vec<DeviceId> = (1..=5).map(|d| DeviceId(0xd0 + d)).collect();
    let mut n = 0usize;
    let mut stamp = |i: usize| {
        n += 1;
        OpId {
            ts: Timestamp {
                ms: start_ms + n as u64 / 16,
                counter: (n % 16) as u16,
            },
            device: devices[i % devices.len()],
        }
    };
    let node = |i: usize| format!("{i:016x}");
    let mut ops = Vec::with_capacity(total);
    for p in 0..1_000 {
        let fields = [("title".to_owned(), json!(format!("Project {p}")))]
            .into_iter()
            .collect();
        ops.push(NewOp::create(&node(p), "project", fields).stamp(stamp(p)));
    }
    for t in 1_000..10_000 {
        let fields = [
            ("title".to_owned(), json!(format!("Task {t}"))),
            ("status".to_owned(), json!("open")),
        ]
        .into_iter()
        .collect();
        ops.push(NewOp::create(&node(t), "task", fields).stamp(stamp(t)));
        ops.push(NewOp::link_add(&node(t), &node(t % 1_000), "parent").stamp(stamp(t)));
    }
    while ops.len() < total {
        let i = ops.len();
        let t = rng.random_range(1_000..10_000);
        let op = match rng.random_range(0..5) {
            0 => NewOp::set(&node(t), "title", json!(format!("Task {t} v{i}"))),
            1 => NewOp::task_set(
                &node(t),
                "status",
                json!(if rng.random_bool(0.3) { "done" } else { "open" }),
            ),
            2 => NewOp::task_set(
                &node(t),
                "due",
                json!(format!("2026-12-{:02}", rng.random_range(1..=28))),
            ),
            3 => NewOp::task_set(&node(t), "priority", json!(rng.random_range(1..=4))),
            _ => NewOp::set(&node(t), "notes", json!(format!("note {i}"))),
        };
        ops.push(op.stamp(stamp(i)));
    }
    ops
}

/// `--ops N` from the command line (default 1,000,000).
pub fn ops_arg() -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--ops") {
        Some(i) => Ok(args.get(i + 1).context("--ops takes a number")?.parse()?),
        None => Ok(1_000_000),
    }
}

/// The release `hearth` binary beside this example (built by `cargo xtask bench`).
pub fn hearth_bin() -> anyhow::Result<std::path::PathBuf> {
    let hearth = std::env::current_exe()?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("hearth"))
        .context("locating the hearth binary")?;
    ensure!(
        hearth.exists(),
        "build the binary first: cargo build --release -p hearth-server ({})",
        hearth.display()
    );
    Ok(hearth)
}
