//! The project's commands as Rust: `cargo xtask <command>`.
//!
//! * `setup`: install what building and testing need (wasm32 target, clang, and for the browser tests
//!   Chromium, wasm-bindgen-cli and playwright-core: see `browser.rs`; Trunk and the PWA's npm packages:
//!   see `web.rs`), skipping what is present.
//! * `test`: setup, then every test: the wasm32 build of the core, doc tests, the browser tests
//!   (`browser.rs`), the PWA's browser tests once `web/tests/e2e/` exists (`web.rs`), the workspace
//!   suites.
//! * `web`: build the PWA bundle (`trunk build --release` into `dist/`) and print its files' sizes.
//! * `web-post-build`: Trunk's post_build hook (Trunk.toml): adds the store to the bundle, stamps sw.js.
//! * `serve [ARGS]`: install what building needs (wasm32 target, clang, wasm-bindgen-cli, Trunk), build the PWA bundle, then run the hub (release build) serving it, with a default
//!   data dir; ARGS go to `hearth serve` (with `--web DIR` or `--help` among them, nothing is built).
//! * `store`: build the store's bundle and the hub (debug) and print them as the environment the
//!   store's Playwright tests read, to run one file of `wasm/tests/e2e/` by hand.
//! * `previous-release`: the previous release's `hearth` and PWA bundle, built once per machine
//!   (`previous.rs`); prints them as shell `export`s.
//! * `bench <apply|hub|sync|all|wasm|web>`: the benchmarks, in release; each prints its figures and a
//!   summary line. `wasm` (browser apply vs native apply, headless Chromium) and `web` (the PWA's bundle
//!   size and cold start in headless Chromium, see `web.rs`) are not part of `all`.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

mod browser;
mod previous;
mod soak;
mod web;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  setup               install the wasm32 target, clang, Chromium, wasm-bindgen-cli, Trunk and
                      playwright-core if missing
  test                run every test (installs what the tests need first)
  web                 build the PWA (`trunk build --release`) into dist/ and print its sizes
  web-post-build      Trunk's post_build hook: add the store (hearth-wasm) under store/ and
                      stamp sw.js with the build's version and files (run by Trunk, see Trunk.toml)
  serve [ARGS…]       build the PWA, then run the Hearth hub serving it; ARGS are passed to
                      `hearth serve` (try `-- --help`; with `--web DIR` the PWA is not built)
  store               build the store's bundle (target/wasm-www) and the hub (debug); print them as
                      `export HEARTH_WWW=… HEARTH_BIN=… CHROMIUM=…`, to run one store test by hand:
                      eval \"$(cargo xtask store)\" && cd wasm && node --test tests/e2e/abuse.test.mjs
  previous-release    build the previous release's `hearth` and PWA (the commit in xtask/previous-release)
                      once for this machine and print its path; the mixed-version tests run it
  bench apply|hub|sync|compact|all
                      run benchmarks in release mode and print their figures
  bench wasm          apply 100,000 ops in headless Chromium (OPFS) and natively; print the ratio
  bench web           build the PWA; print its gzip -9 size and its cold start time to interactive
                      in headless Chromium (median of 5)
  bench live          a change made in the app reaching `hearth sync --watch` and a second browser
                      context: p50/p99 over 200 changes on loopback
  soak [--minutes N]  the reliability tests at scale: 100,000 simulation seeds, 200 SIGKILL cycles
                      (also during compaction), N minutes per fuzz target (default 10), the full-disk
                      tests, the browser abuse tests with 200 reloads per tab; one `soak:` figure
                      line per test";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("test") => setup().and_then(|()| test()),
        Some("web") => setup_build().and_then(|()| web::build()).map(drop),
        Some("web-post-build") => web::post_build(),
        Some("serve") => serve(&args[1..]),
        Some("store") => store(),
        Some("previous-release") => previous::build().map(|p| {
            for (name, path) in p.env() {
                println!("export {name}='{}'", path.display());
            }
        }),
        Some("bench") => bench(
            args.get(1).map(String::as_str).unwrap_or("all"),
            args.get(2..).unwrap_or_default(),
        ),
        Some("soak") => soak::soak(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown command {other:?}\n\n{USAGE}")),
        None => Err(anyhow::anyhow!("{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

fn output(cmd: &mut Command) -> String {
    cmd.output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Install the build prerequisites, each only when missing.
fn setup() -> Result<()> {
    setup_build()?;
    if !has_postgres() {
        apt_install(&["postgresql"])?;
    }
    browser::setup()
}

/// Whether PostgreSQL's server programs are here: the hub-log tests start a throwaway cluster with
/// them (`initdb`, `pg_ctl`) on a unix socket.
fn has_postgres() -> bool {
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten();
    versions.into_iter().any(|e| e.path().join("bin/initdb").exists())
        || succeeds(Command::new("pg_config").arg("--bindir"))
}

/// What building the app needs (`serve` and `web` run this; `setup` adds the test tools): the wasm32
/// target, clang (SQLite's C for wasm32), wasm-bindgen-cli at the locked version, Trunk, and Node with
/// the app's npm packages (binaryen's wasm-opt shrinks both wasm modules of the bundle).
fn setup_build() -> Result<()> {
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"]));
    if !targets.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    if !succeeds(Command::new("clang").arg("--version")) {
        apt_install(&["clang"])?;
    }
    browser::install_wasm_bindgen()?;
    web::install_trunk()?;
    if !succeeds(Command::new("node").arg("--version")) {
        apt_install(&["nodejs", "npm"])?;
    }
    web::setup()
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let root = output(Command::new("id").arg("-u")).trim() == "0";
    let sudo: &[&str] = if root { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.extend_from_slice(args);
        let mut c = Command::new(all[0]);
        c.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["apt-get", "update", "-qq"]))?;
    let mut args = vec!["apt-get", "install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(packages);
    run(&mut apt(&args)).with_context(|| format!("installing {packages:?}; install them by hand and retry"))
}

/// Every test. The workspace suites run last so that the runner's summary closes the output.
fn test() -> Result<()> {
    // The mixed-version tests run the previous release beside this one. First: its build replaces the
    // target directory's uplifted binaries, which every later build of this release puts back.
    let previous = previous::build()?;
    run(cargo().args([
        "check",
        "-p",
        "hearth-core",
        "-p",
        "hearth-wasm",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    run(cargo().args(["test", "--workspace", "--doc"]))?;
    browser::test()?;
    web::test(&previous.env())?;
    let mut suites = cargo();
    if succeeds(cargo().args(["nextest", "--version"])) {
        suites.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        suites.args(["test", "--workspace", "--no-fail-fast"]);
    }
    run(suites.envs(previous.env()))
}

fn serve(args: &[String]) -> Result<()> {
    // `cargo xtask serve -- --help` and `cargo xtask serve --help` both reach `hearth serve`.
    let args = args.strip_prefix(&["--".to_owned()]).unwrap_or(args);
    // The bundle first (it takes a while; the hub after it, so its address is the last thing printed),
    // unless the hub is given another one or only asked for help.
    let web_given = args.iter().any(|a| a == "--web" || a.starts_with("--web="));
    let help = args.iter().any(|a| a == "-h" || a == "--help");
    let dist = if web_given || help {
        None
    } else {
        setup_build()?;
        Some(web::build()?)
    };
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "-p",
        "hearth-server",
        "--bin",
        "hearth",
        "--",
        "serve",
    ]);
    if let Some(dist) = dist {
        cmd.arg("--web").arg(dist);
    }
    cmd.args(args);
    run(&mut cmd)
}

/// `store`: the bundle and the hub the store's Playwright tests run against, built, and printed as shell
/// `export`s (everything else goes to stderr, so `eval "$(cargo xtask store)"` works).
fn store() -> Result<()> {
    browser::install_wasm_bindgen()?;
    let www = browser::build_bundle()?;
    let hearth = browser::hearth_bin()?;
    let quote = |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    println!(
        "export HEARTH_WWW={} HEARTH_BIN={} CHROMIUM=/usr/bin/chromium",
        quote(&www),
        quote(&hearth)
    );
    Ok(())
}

fn bench(which: &str, extra: &[String]) -> Result<()> {
    let example = |name: &str| {
        run(cargo()
            .args(["run", "--release", "-p", "hearth-server", "--example", name, "--"])
            .args(extra))
    };
    let apply = || run(cargo().args(["bench", "-p", "hearth-core", "--bench", "apply"]));
    let hub = || {
        if extra.iter().any(|a| a == "--postgres") && !has_postgres() {
            apt_install(&["postgresql"])?;
        }
        example("bench_hub")
    };
    let sync = || {
        run(cargo().args(["build", "--release", "-p", "hearth-server", "--bin", "hearth"]))?;
        example("bench_sync")
    };
    let compact = || {
        run(cargo().args(["build", "--release", "-p", "hearth-server", "--bin", "hearth"]))?;
        example("bench_compact")
    };
    match which {
        // The browser benchmarks need what the browser tests need.
        "wasm" => setup().and_then(|()| browser::bench()),
        "web" => setup().and_then(|()| web::bench()),
        "live" => setup().and_then(|()| web::bench_live()),
        "apply" => apply(),
        "hub" => hub(),
        "sync" => sync(),
        "compact" => compact(),
        "all" => apply()
            .and_then(|()| hub())
            .and_then(|()| sync())
            .and_then(|()| compact()),
        other => {
            bail!("unknown benchmark {other:?}: choose apply, hub, sync, compact, all, wasm, web or live")
        }
    }
}
