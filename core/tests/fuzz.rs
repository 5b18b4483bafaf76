//! Mutation fuzzing of every input a store takes from the network: a pushed batch (decode, validate,
//! apply), a pulled page (the engine's decoding of the hub's answer, then apply), and a snapshot page
//! (decode, merge). Inputs start from real samples (the golden vectors, a real page, a real snapshot)
//! and are mutated byte by byte and structurally. Each must give `Ok` or an error, never a panic, and a
//! refused input must leave the store as it was.
//!
//! Time-boxed: `HEARTH_FUZZ_SECS` (default 4 s per target; the soak runs longer). An input that panics is
//! written to `tests/fuzz-crashers/` before the test fails; every file there is replayed first.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_core::sync::{Reply, Request};
use hearth_core::wire::{PushRequest, SnapshotPage};
use hearth_core::{ManualEnv, Op, Options, SeqOp, Store, snapshot};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const T0: u64 = 0x0190_0000_0000 + 60_000;

fn budget() -> Duration {
    let secs = std::env::var("HEARTH_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(4.0);
    Duration::from_secs_f64(secs)
}

fn crashers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-crashers")
}

fn store() -> Store {
    Store::open_in_memory(Arc::new(ManualEnv::new(T0, 3)), Options::default()).unwrap()
}

/// Every op of the golden vectors.
fn vector_ops() -> Vec<Op> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .flat_map(|p| {
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            serde_json::from_value::<Vec<Op>>(v["ops"].clone()).unwrap()
        })
        .collect()
}

const TOKENS: [&str; 16] = [
    "null",
    "true",
    "-1",
    "1e999",
    "\"\"",
    "{}",
    "[]",
    "\"\u{0}\"",
    "18446744073709551616",
    "\"node.set\"",
    "\"link.remove\"",
    "\"0193a1b2c3d4-0000-7f3a9c2e11aa0b3c\"",
    "\"\\ud800\"",
    "0.5",
    "\"2026-02-30\"",
    "{\"a\":",
];

fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.random_range(1..6) {
        if b.is_empty() {
            b.push(b'{');
        }
        let i = rng.random_range(0..b.len());
        match rng.random_range(0..6) {
            0 => b[i] = rng.random(),
            1 => {
                b.remove(i);
            }
            2 => b.insert(i, *b"{}[]\",:0\\".get(rng.random_range(0..9)).unwrap()),
            3 => {
                // Replace a value-looking span with a hostile token.
                let end = (i + rng.random_range(1..12)).min(b.len());
                let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                b.splice(i..end, t.iter().copied());
            }
            4 => {
                let j = rng.random_range(0..b.len());
                let (lo, hi) = (i.min(j), i.max(j));
                let chunk = b[lo..hi].to_vec();
                b.splice(hi..hi, chunk);
            }
            _ => b.truncate(i),
        }
    }
    b
}

/// Run `target` on `input`; on a panic, keep the input as a crasher and fail.
fn guarded(name: &str, input: &[u8], target: &dyn Fn(&[u8])) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(input)));
    if r.is_err() {
        std::fs::create_dir_all(crashers()).unwrap();
        let file = crashers().join(format!("{name}-{:016x}.bin", fxhash(input)));
        std::fs::write(&file, input).unwrap();
        panic!("{name} panicked on an input, kept in {}", file.display());
    }
}

fn fxhash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Mutate `seeds` for the time budget (after replaying kept crashers of this target).
fn fuzz(name: &str, seeds: &[Vec<u8>], target: &dyn Fn(&[u8])) -> usize {
    if let Ok(dir) = std::fs::read_dir(crashers()) {
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().starts_with(name) {
                guarded(name, &std::fs::read(e.path()).unwrap(), target);
            }
        }
    }
    let mut rng = StdRng::seed_from_u64(fxhash(name.as_bytes()));
    let (start, mut n) = (Instant::now(), 0);
    for s in seeds {
        guarded(name, s, target);
    }
    while start.elapsed() < budget() {
        let seed = &seeds[rng.random_range(0..seeds.len())];
        guarded(name, &mutate(&mut rng, seed), target);
        n += 1;
    }
    eprintln!("fuzz {name}: {n} mutated inputs, no panic");
    n
}

#[test]
fn pushed_batches_decode_validate_and_apply_without_panics() {
    let ops = vector_ops();
    let seeds: Vec<Vec<u8>> = ops
        .chunks(3)
        .map(|c| {
            serde_json::to_vec(&PushRequest {
                ops: c.to_vec(),
                epoch: None,
            })
            .unwrap()
        })
        .collect();
    let n = fuzz("push", &seeds, &|input| {
        let Ok(req) = serde_json::from_slice::<PushRequest>(input) else {
            return;
        };
        let mut s = store();
        let before = s.export().unwrap();
        if s.apply(&req.ops).is_err() {
            assert_eq!(s.export().unwrap(), before, "a refused batch changed the state");
        }
        s.export().unwrap();
    });
    assert!(n > 100, "the fuzzer ran ({n} inputs)");
}

#[test]
fn pulled_pages_decode_and_apply_without_panics() {
    let ops = vector_ops();
    let page: Vec<SeqOp> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| SeqOp {
            seq: i as u64 + 1,
            op: op.clone(),
        })
        .collect();
    let body =
        serde_json::json!({"ops": page, "next": page.len(), "head": page.len(), "horizon": 0, "epoch": 1});
    let seeds = vec![serde_json::to_vec(&body).unwrap()];
    let n = fuzz("pull", &seeds, &|input| {
        let text = String::from_utf8_lossy(input);
        let req = Request::Pull {
            after: 0,
            limit: 1000,
            epoch: 1,
        };
        if let Reply::Pulled(p) = Reply::from_http(&req, "default", 200, &text) {
            let mut s = store();
            let _ = s.apply_pulled(&p.ops, p.next);
            s.export().unwrap();
        }
    });
    assert!(n > 100, "the fuzzer ran ({n} inputs)");
}

#[test]
fn snapshot_pages_decode_and_merge_without_panics() {
    let mut source = store();
    source.apply(&vector_ops()).unwrap();
    let snap = snapshot::read(source.conn(), 9, 1).unwrap();
    let page = SnapshotPage {
        seq: 9,
        epoch: 1,
        digest: snapshot::digest(source.conn()).unwrap(),
        total: snap.entries.len() as u64,
        entries: snap.entries,
        next: None,
    };
    let seeds = vec![serde_json::to_vec(&page).unwrap()];
    let n = fuzz("snapshot", &seeds, &|input| {
        let Ok(p) = serde_json::from_slice::<SnapshotPage>(input) else {
            return;
        };
        let mut s = store();
        if s.merge_snapshot_entries(&p.entries).is_ok() {
            let _ = s.finish_restore(p.seq, Some(&p.digest));
        }
        s.export().unwrap();
    });
    assert!(n > 100, "the fuzzer ran ({n} inputs)");
}
