//! The browser side of the xtasks: installing Chromium, wasm-bindgen-cli and the Playwright driver;
//! building the hearth-wasm bundle; running its wasm-bindgen tests and Playwright tests; and
//! `bench wasm`.
//!
//! Layout: the bundle is built into `<target>/wasm-www/` (`pkg/` from wasm-bindgen, `hearth.js` and
//! `worker.js` from `wasm/js/`, the test page from `wasm/www/`) and served by a real `hearth serve --web`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{apt_install, cargo, output, run, succeeds};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The workspace root. `cargo run` sets CARGO_MANIFEST_DIR when it starts xtask; it is read at run time
/// first, so that a copy of the workspace (a git worktree) sharing this target directory, whose cargo
/// reuses this binary, still works on its own files.
pub fn root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`, like cargo itself).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() { d } else { root().join(d) }
        }
        None => root().join("target"),
    }
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must match it exactly.
fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(v.trim_matches('"').to_owned());
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

/// Chromium and its driver (Debian packages), wasm-bindgen-cli at the locked version, and the npm
/// packages of `wasm/package.json`; each only when missing.
pub fn setup() -> Result<()> {
    if !Path::new("/usr/bin/chromium").exists() || !Path::new("/usr/bin/chromedriver").exists() {
        apt_install(&["chromium", "chromium-driver"])?;
    }
    if !succeeds(Command::new("node").arg("--version")) {
        apt_install(&["nodejs", "npm"])?;
    }
    let wasm = root().join("wasm");
    if !wasm.join("node_modules/playwright-core").exists() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&wasm))?;
    }
    Ok(())
}

/// wasm-bindgen-cli at exactly the version in Cargo.lock (building any wasm bundle needs it).
pub fn install_wasm_bindgen() -> Result<()> {
    let want = locked_wasm_bindgen()?;
    let have = output(Command::new("wasm-bindgen").arg("--version"));
    if have.split_whitespace().nth(1) != Some(want.as_str()) {
        // Not --locked: the CLI's own lockfile pins versions that no longer build (see TOOLCHAIN notes).
        run(cargo().args(["install", "wasm-bindgen-cli", "--version", &want]))?;
    }
    Ok(())
}

fn chromium_env(cmd: &mut Command) -> &mut Command {
    cmd.env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("CHROMIUM", "/usr/bin/chromium")
}

/// The core's store conformance suite against the OPFS store, in headless Chromium.
pub fn wasm_bindgen_tests() -> Result<()> {
    run(chromium_env(
        cargo()
            .args(["test", "-p", "hearth-wasm", "--target", WASM_TARGET])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            // wasm-bindgen-test-runner reads webdriver.json from the package directory.
            .current_dir(root().join("wasm")),
    ))
}

/// The Cargo profile the store is built in for the browser (see the workspace's Cargo.toml).
const STORE_PROFILE: &str = "store-release";

/// Build the store: hearth-wasm for wasm32 in the `store-release` profile (optimised, small), through
/// wasm-bindgen (`--target web`) into `<target>/wasm-www/pkg/`, which is returned. The JS glue that
/// loads it is in `wasm/js/`.
pub fn build_store() -> Result<PathBuf> {
    build_store_with(&[])
}

/// [`build_store`] with these cargo features of hearth-wasm (`bench` for `bench wasm`).
fn build_store_with(features: &[&str]) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "-p",
        "hearth-wasm",
        "--target",
        WASM_TARGET,
        "--profile",
        STORE_PROFILE,
    ]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    run(&mut cmd)?;
    let pkg = target_dir().join("wasm-www/pkg");
    let wasm = target_dir()
        .join(WASM_TARGET)
        .join(STORE_PROFILE)
        .join("hearth_wasm.wasm");
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--out-dir"])
        .arg(&pkg)
        .arg(&wasm))?;
    // A C function the store's SQLite calls but nothing defines becomes an import from the module
    // "env", which no browser provides: the store would fail to load. Say so at build time.
    let glue = pkg.join("hearth_wasm.js");
    let js = std::fs::read_to_string(&glue).with_context(|| format!("reading {}", glue.display()))?;
    if js.contains(r#"from "env""#) {
        bail!(
            "the store's wasm imports functions from \"env\" (a C function SQLite calls is missing \
             from this build): check SQLITE_WASM_RS_FLAGS in .cargo/config.toml, then look for \
             `\"env\"` in {}",
            glue.display()
        );
    }
    Ok(pkg)
}

/// Build the release bundle into `<target>/wasm-www/` and return that directory.
pub fn build_bundle() -> Result<PathBuf> {
    build_bundle_with(&[])
}

/// [`build_bundle`] with these cargo features of hearth-wasm.
fn build_bundle_with(features: &[&str]) -> Result<PathBuf> {
    let started = std::time::Instant::now();
    let out = build_store_with(features)?
        .parent()
        .context("the store's pkg/ has a parent")?
        .to_path_buf();
    for dir in ["wasm/js", "wasm/www"] {
        for entry in std::fs::read_dir(root().join(dir)).with_context(|| format!("reading {dir}"))? {
            let path = entry?.path();
            if path.is_file() {
                let name = path.file_name().context("file name")?;
                std::fs::copy(&path, out.join(name))
                    .with_context(|| format!("copying {}", path.display()))?;
            }
        }
    }
    eprintln!(
        "xtask: bundle in {} ({:.0} s)",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// Build the hub (debug) and return its path.
pub fn hearth_bin() -> Result<PathBuf> {
    run(cargo().args(["build", "-p", "hearth-server", "--bin", "hearth"]))?;
    Ok(target_dir().join("debug/hearth"))
}

/// The Playwright tests of the npm package in `<root>/<package>` (`tests/e2e/`, one file at a time),
/// with the hub binary (`HEARTH_BIN`) and Chromium (`CHROMIUM`) in their environment; `bundle` names
/// the directory the hub serves (`env_name` says under which variable).
pub fn node_e2e(package: &str, env_name: &str, bundle: &Path, extra: &[(&str, &Path)]) -> Result<()> {
    let hearth = hearth_bin()?;
    run(Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/e2e/"])
        .current_dir(root().join(package))
        .env("HEARTH_BIN", &hearth)
        .env(env_name, bundle)
        .envs(extra.iter().copied())
        .env("CHROMIUM", "/usr/bin/chromium"))
}

/// Playwright tests against the bundle served by a real hub.
pub fn e2e(www: &Path) -> Result<()> {
    node_e2e("wasm", "HEARTH_WWW", www, &[])
}

/// Every browser test: wasm-bindgen tests, then the bundle and the Playwright tests.
pub fn test() -> Result<()> {
    wasm_bindgen_tests()?;
    let www = build_bundle()?;
    e2e(&www)
}

/// `bench wasm`: the apply benchmark's ops in headless Chromium (OPFS) and natively, in one run.
pub fn bench() -> Result<()> {
    // The app's store has no benchmark in it: this run builds one that has.
    let www = build_bundle_with(&["bench"])?;
    let hearth = target_dir().join("debug/hearth");
    if !hearth.exists() {
        hearth_bin()?;
    }
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "hearth-wasm",
        "--features",
        "bench",
        "--example",
        "bench_native",
    ]))?;
    let native = output(&mut Command::new(
        target_dir().join("release/examples/bench_native"),
    ));
    eprint!("{native}");
    let native_line = native
        .lines()
        .find_map(|l| l.strip_prefix("native: "))
        .context("the native run printed no result")?
        .to_owned();
    let wasm_out = output(
        Command::new("node")
            .arg("tests/bench.mjs")
            .current_dir(root().join("wasm"))
            .env("HEARTH_BIN", &hearth)
            .env("HEARTH_WWW", &www)
            .env("CHROMIUM", "/usr/bin/chromium"),
    );
    eprint!("{wasm_out}");
    let wasm_line = wasm_out
        .lines()
        .find_map(|l| l.strip_prefix("wasm: "))
        .context("the browser run printed no result")?
        .to_owned();
    // Both sides print their runs, then `<side>: ops_per_s=<median> runs=R checksum=X …`.
    let field = |line: &str, key: &str| -> Result<String> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key).and_then(|w| w.strip_prefix('=')))
            .map(str::to_owned)
            .with_context(|| format!("no {key} in {line:?}"))
    };
    let (n_sum, w_sum) = (field(&native_line, "checksum")?, field(&wasm_line, "checksum")?);
    if n_sum != w_sum {
        bail!("the browser and native runs applied different ops ({w_sum} vs {n_sum})");
    }
    let raw = std::fs::metadata(www.join("pkg/hearth_wasm_bg.wasm"))?.len();
    let gz = output(Command::new("sh").arg("-c").arg(format!(
        "gzip -9 -c '{}' | wc -c",
        www.join("pkg/hearth_wasm_bg.wasm").display()
    )));
    println!("wasm size: {raw} bytes raw, {} bytes gzip -9", gz.trim());
    let n: f64 = field(&native_line, "ops_per_s")?.parse().unwrap_or(0.0);
    let w: f64 = field(&wasm_line, "ops_per_s")?.parse().unwrap_or(0.0);
    if n <= 0.0 {
        bail!("the native run measured nothing");
    }
    println!(
        "wasm: {} ops/s  native: {} ops/s  ratio: {:.2}",
        w.round() as u64,
        n.round() as u64,
        w / n
    );
    Ok(())
}
