//! `cargo xtask soak [--minutes N]`: the reliability tests at a larger scale than CI runs them, each
//! printing its figure line (`soak: …`), for RELIABILITY.md. CI runs the same tests at their default,
//! short sizes.
//!
//! * the sync simulation over 100,000 seeds (partitions, clock jumps and skew, 500/429/507, compaction);
//! * 200 SIGKILL cycles of the hub under pushes, and 200 with compaction running;
//! * every fuzz target for N minutes (default 10);
//! * the full-disk tests (hub and device store; they need root to mount a tmpfs).

use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cargo;

/// What a test prints as its figure: the lines that start with one of these (or contain it).
const FIGURES: [&str; 5] = [
    "sync simulation:",
    "SIGKILL cycles",
    "fuzz ",
    "disk full:",
    "device store on a full disk:",
];

struct Run {
    what: &'static str,
    package: &'static str,
    test: &'static str,
    filter: &'static str,
    env: Vec<(&'static str, String)>,
}

pub fn soak(args: &[String]) -> Result<()> {
    let mut minutes: u64 = 10;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--minutes" => {
                minutes = it
                    .next()
                    .and_then(|m| m.parse().ok())
                    .context("--minutes takes a whole number of minutes (per fuzz target)")?;
            }
            other => bail!("unknown soak option {other:?}; usage: cargo xtask soak [--minutes N]"),
        }
    }
    let runs = [
        Run {
            what: "sync simulation, 100,000 seeds",
            package: "hearth-core",
            test: "sync_sim",
            filter: "replicas_converge",
            env: vec![("HEARTH_SIM_CASES", "100000".into())],
        },
        Run {
            what: "fuzzing, every target",
            package: "hearth-core",
            test: "fuzz",
            filter: "",
            env: vec![("HEARTH_FUZZ_SECS", (minutes * 60).to_string())],
        },
        Run {
            what: "SIGKILL of the hub, 200 cycles (and 200 during compaction)",
            package: "hearth-server",
            test: "crash",
            filter: "sigkill",
            env: vec![("HEARTH_CRASH_CYCLES", "200".into())],
        },
        Run {
            what: "a full disk under the hub and under a device",
            package: "hearth-server",
            test: "disk",
            filter: "",
            env: vec![],
        },
    ];
    let started = Instant::now();
    let mut figures = Vec::new();
    let mut failed: Vec<&str> = Vec::new();
    for r in &runs {
        eprintln!("xtask: soak: {} (release build; this takes a while)…", r.what);
        let mut cmd = cargo();
        cmd.args(["test", "--release", "-p", r.package, "--test", r.test]);
        if !r.filter.is_empty() {
            cmd.arg(r.filter);
        }
        cmd.args(["--", "--nocapture", "--test-threads=1"])
            .envs(r.env.iter().map(|(k, v)| (k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let t = Instant::now();
        let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for line in text.lines() {
            if FIGURES.iter().any(|f| line.contains(f)) {
                let line = line.trim();
                println!("soak: {line}");
                figures.push(line.to_owned());
            }
        }
        if out.status.success() {
            eprintln!(
                "xtask: soak: {} passed in {:.0} s",
                r.what,
                t.elapsed().as_secs_f64()
            );
        } else {
            // Every panic message, so that a failing seed or cycle can be replayed; then the next run.
            for line in text
                .lines()
                .filter(|l| l.contains("panicked at") || l.contains("seed "))
            {
                eprintln!("xtask: soak: {line}");
            }
            println!("soak: FAILED {} ({:?})", r.what, out.status);
            failed.push(r.what);
        }
    }
    let minutes_taken = started.elapsed().as_secs_f64() / 60.0;
    if !failed.is_empty() {
        bail!(
            "soak: {} of {} runs failed ({}) in {minutes_taken:.0} min",
            failed.len(),
            runs.len(),
            failed.join("; ")
        );
    }
    println!(
        "soak: {} figures, every run passed, {minutes_taken:.0} min in all",
        figures.len()
    );
    Ok(())
}
