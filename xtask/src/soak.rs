//! `cargo xtask soak [--minutes N]`: the reliability tests at a larger scale than CI runs them, each
//! printing its figure line (`soak: …`), for RELIABILITY.md. CI runs the same tests at their default,
//! short sizes.
//!
//! * the sync simulation over 100,000 seeds (partitions, clock jumps and skew, 500/429/507, compaction);
//! * 200 SIGKILL cycles of the hub under pushes, and 200 with compaction running;
//! * every fuzz target for N minutes (default 10);
//! * the full-disk tests (hub and device store; they need root to mount a tmpfs);
//! * the browser abuse tests (`wasm/tests/e2e/abuse.test.mjs`: tabs reloading with writes in flight,
//!   200 reloads per tab; the owner tab killed; the storage quota; OPFS wiped) in headless Chromium.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{browser, cargo};

/// What a test prints as its figure: the lines that start with one of these (or contain it).
const FIGURES: [&str; 6] = [
    "sync simulation:",
    "SIGKILL cycles",
    "fuzz ",
    "disk full:",
    "device store on a full disk:",
    "abuse:",
];

/// Which test a run is.
enum Test {
    /// `cargo test --release -p <package> --test <test> [<filter>]`.
    Cargo {
        package: &'static str,
        test: &'static str,
        filter: &'static str,
    },
    /// One Playwright file of the store's (`wasm/tests/e2e/<file>`), against the release bundle served
    /// by a real hub, in headless Chromium.
    StoreE2e { file: &'static str },
}

struct Run {
    what: &'static str,
    test: Test,
    env: Vec<(&'static str, String)>,
}

impl Run {
    /// The command of this run (building what a browser run needs first, once: `built`).
    fn command(&self, built: &mut Option<(PathBuf, PathBuf)>) -> Result<Command> {
        let mut cmd = match &self.test {
            Test::Cargo {
                package,
                test,
                filter,
            } => {
                let mut cmd = cargo();
                cmd.args(["test", "--release", "-p", package, "--test", test]);
                if !filter.is_empty() {
                    cmd.arg(filter);
                }
                cmd.args(["--", "--nocapture", "--test-threads=1"]);
                cmd
            }
            Test::StoreE2e { file } => {
                if built.is_none() {
                    crate::setup()?;
                    *built = Some((browser::build_bundle()?, browser::hearth_bin()?));
                }
                let (www, hearth) = built.as_ref().context("the bundle was built")?;
                let mut cmd = Command::new("node");
                cmd.args(["--test", "--test-concurrency=1"])
                    .arg(format!("tests/e2e/{file}"))
                    .current_dir(browser::root().join("wasm"))
                    .env("HEARTH_BIN", hearth)
                    .env("HEARTH_WWW", www)
                    .env("CHROMIUM", "/usr/bin/chromium");
                cmd
            }
        };
        cmd.envs(self.env.iter().map(|(k, v)| (k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(cmd)
    }
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
            test: Test::Cargo {
                package: "hearth-core",
                test: "sync_sim",
                filter: "replicas_converge",
            },
            env: vec![("HEARTH_SIM_CASES", "100000".into())],
        },
        Run {
            what: "fuzzing, every target",
            test: Test::Cargo {
                package: "hearth-core",
                test: "fuzz",
                filter: "",
            },
            env: vec![("HEARTH_FUZZ_SECS", (minutes * 60).to_string())],
        },
        Run {
            what: "SIGKILL of the hub, 200 cycles (and 200 during compaction)",
            test: Test::Cargo {
                package: "hearth-server",
                test: "crash",
                filter: "sigkill",
            },
            env: vec![("HEARTH_CRASH_CYCLES", "200".into())],
        },
        Run {
            what: "a full disk under the hub and under a device",
            test: Test::Cargo {
                package: "hearth-server",
                test: "disk",
                filter: "",
            },
            env: vec![],
        },
        Run {
            what: "browser abuse, 200 reloads per tab",
            test: Test::StoreE2e {
                file: "abuse.test.mjs",
            },
            env: vec![("HEARTH_ABUSE_RELOADS", "200".into())],
        },
    ];
    let started = Instant::now();
    let mut figures = Vec::new();
    let mut failed: Vec<&str> = Vec::new();
    let mut built = None;
    for r in &runs {
        eprintln!("xtask: soak: {} (release build; this takes a while)…", r.what);
        let mut cmd = r.command(&mut built)?;
        let t = Instant::now();
        let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for line in text.lines() {
            if FIGURES.iter().any(|f| line.contains(f)) {
                // Node's test runner may print a test's output as a TAP comment.
                let line = line.trim().trim_start_matches("# ");
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
            // Every panic message, so that a failing seed or cycle can be replayed (and every failed
            // browser test with its error); then the next run.
            for line in text.lines().filter(|l| {
                l.contains("panicked at")
                    || l.contains("seed ")
                    || l.trim_start().starts_with("not ok")
                    || l.contains("Error")
            }) {
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
