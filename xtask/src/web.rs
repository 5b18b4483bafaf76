//! The PWA's build pipeline: Trunk builds `web/` (the Leptos UI, `web/index.html`) into `dist/` at the
//! workspace root, and its post-build hook (`Trunk.toml` → `cargo xtask web-post-build`) completes the
//! bundle in Trunk's staging directory before Trunk moves it into place:
//!
//! 1. the store: hearth-wasm (always release, see [`browser::build_store`]) as `store/pkg/`, with its JS
//!    glue `store/{hearth,worker,dispatch}.js` (the UI imports `./store/hearth.js`);
//! 2. development files that `copy-dir` brought along (`icons/render.mjs`) are dropped;
//! 3. `sw.js` is stamped: `'__HEARTH_VERSION__'` becomes this build's version and
//!    `['__HEARTH_ASSETS__']` the list of every file of the bundle (see [`stamp_sw`]);
//! 4. every text and wasm file gets `name.br` (brotli, quality 11) and `name.gz` (gzip -9) beside it,
//!    which the hub serves to browsers that accept them (see [`precompress`]).
//!
//! So `trunk build --release` alone yields a complete bundle; `cargo xtask web` runs it and prints the
//! sizes, `cargo xtask serve` builds it and serves it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::browser::{self, root};
use crate::{cargo, output, run};

/// The Trunk release the build is known to work with (0.22 needs a newer rustc).
const TRUNK_VERSION: &str = "0.21.14";
/// The service worker's placeholders (`web/sw.js`), replaced by [`stamp_sw`].
const VERSION_PLACEHOLDER: &str = "'__HEARTH_VERSION__'";
const ASSETS_PLACEHOLDER: &str = "['__HEARTH_ASSETS__']";

/// Trunk's output directory (`dist` in Trunk.toml, relative to the workspace root).
pub fn dist_dir() -> PathBuf {
    root().join("dist")
}

/// Trunk at the pinned version, when missing.
pub fn install_trunk() -> Result<()> {
    let have = output(Command::new("trunk").arg("--version"));
    if have.trim() != format!("trunk {TRUNK_VERSION}") {
        // Without LTO and with more codegen units the install takes minutes less on 2 cores.
        run(cargo()
            .args(["install", &format!("trunk@{TRUNK_VERSION}"), "--locked"])
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"))?;
    }
    Ok(())
}

/// The npm packages of `web/package.json` (binaryen for the bundle build, playwright-core for the app's
/// browser tests), when missing. Needs Node.
pub fn setup() -> Result<()> {
    let web = root().join("web");
    let have = |p: &str| web.join("node_modules").join(p).join("package.json").is_file();
    if !have("playwright-core") || !have("binaryen") {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&web))?;
    }
    Ok(())
}

/// `cargo xtask web`: `trunk build --release` into `dist/`; prints every file's size. Returns `dist/`.
pub fn build() -> Result<PathBuf> {
    let started = Instant::now();
    run(Command::new("trunk")
        .args(["build", "--release"])
        .current_dir(root()))
    .context("building the PWA with Trunk (`cargo xtask setup` installs it)")?;
    let dist = dist_dir();
    let mut total = (0, 0);
    let mut served = 0;
    eprintln!("xtask: {:>9} {:>9} {:>9}  file", "bytes", "gzip -9", "served");
    for (rel, path) in bundle_files(&dist)? {
        let raw = std::fs::metadata(&path)?.len();
        let gz = gzip_size(&path);
        // What a browser that accepts brotli downloads.
        let br = std::fs::metadata(encoded(&path, "br")).map_or(raw, |m| m.len());
        total = (total.0 + raw, total.1 + gz);
        served += br;
        eprintln!("xtask: {raw:>9} {gz:>9} {br:>9}  {rel}");
    }
    eprintln!("xtask: {:>9} {:>9} {served:>9}  (total)", total.0, total.1);
    eprintln!(
        "xtask: PWA bundle in {} ({:.0} s)",
        dist.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(dist)
}

/// Size of the file after `gzip -9` (0 when gzip is missing).
fn gzip_size(path: &Path) -> u64 {
    let out = output(
        Command::new("sh")
            .arg("-c")
            .arg("gzip -9 -c \"$1\" | wc -c")
            .arg("sh")
            .arg(path),
    );
    out.trim().parse().unwrap_or(0)
}

/// `cargo xtask web-post-build`: Trunk's post_build hook. Completes the bundle in `$TRUNK_STAGING_DIR`.
pub fn post_build() -> Result<()> {
    let staging = std::env::var_os("TRUNK_STAGING_DIR").map(PathBuf::from).context(
        "TRUNK_STAGING_DIR is not set: this step runs as Trunk's post_build hook (see Trunk.toml)",
    )?;
    let started = Instant::now();
    add_store(&staging)?;
    shrink_wasm(&staging)?;
    drop_dev_files(&staging)?;
    drop_unused_snippets(&staging)?;
    let version = stamp_sw(&staging)?;
    precompress(&staging)?;
    eprintln!(
        "xtask: store added and sw.js stamped (version {version}) in {} ({:.0} s)",
        staging.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The store under `store/`: wasm-bindgen's output as `store/pkg/` (without TypeScript declarations,
/// which the browser never loads) and the JS glue of `wasm/js/`.
fn add_store(staging: &Path) -> Result<()> {
    let pkg = browser::build_store()?;
    let store = staging.join("store");
    copy_tree(&pkg, &store.join("pkg"), &|p: &Path| {
        !p.to_string_lossy().ends_with(".d.ts")
    })?;
    copy_tree(&root().join("wasm/js"), &store, &|p: &Path| {
        p.extension().is_some_and(|e| e == "js")
    })?;
    for name in [
        "hearth.js",
        "worker.js",
        "dispatch.js",
        "pkg/hearth_wasm.js",
        "pkg/hearth_wasm_bg.wasm",
    ] {
        if !store.join(name).is_file() {
            bail!("the store has no {name}");
        }
    }
    Ok(())
}

/// binaryen's `wasm-opt` (npm's binaryen, pinned in `web/package.json`; Debian's older one writes
/// broken modules) over both wasm modules of the bundle: the UI for size (`-Oz`, it is downloaded
/// before the first paint) and the store for speed (`-O3`, where apply time matters; `-Oz` makes it
/// no smaller).
fn shrink_wasm(staging: &Path) -> Result<()> {
    let wasm_opt = root().join("web/node_modules/binaryen/bin/wasm-opt");
    if !wasm_opt.is_file() {
        bail!(
            "{} is missing: run `cargo xtask setup` (it installs web/package.json's packages)",
            wasm_opt.display()
        );
    }
    let mut modules = vec![(staging.join("store/pkg/hearth_wasm_bg.wasm"), "-O3")];
    modules.extend(
        ui_files(staging, "_bg.wasm")?
            .into_iter()
            .map(|path| (path, "-Oz")),
    );
    if modules.len() != 2 {
        bail!(
            "expected the UI's and the store's wasm modules in {}",
            staging.display()
        );
    }
    for (module, level) in modules {
        let before = std::fs::metadata(&module)?.len();
        run(Command::new("node")
            .arg(&wasm_opt)
            .arg(level)
            .arg(&module)
            .arg("-o")
            .arg(&module))?;
        let after = std::fs::metadata(&module)?.len();
        eprintln!(
            "xtask: wasm-opt {level} {}: {before} -> {after} bytes",
            module
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// The files Trunk wrote for the UI crate at the top of `staging` whose names end with `suffix`
/// (`hearth-web-<hash>_bg.wasm`, `hearth-web-<hash>.js`).
fn ui_files(staging: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(staging).with_context(|| format!("reading {}", staging.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("hearth-web-") && name.ends_with(suffix) {
            out.push(path);
        }
    }
    Ok(out)
}

/// Is this file worth compressing (text and wasm; images are compressed already)?
fn compressible(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e,
            "html" | "js" | "mjs" | "css" | "wasm" | "json" | "webmanifest" | "svg" | "txt"
        )
    })
}

/// `path` with `.br` or `.gz` appended.
fn encoded(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// `name.br` and `name.gz` beside every compressible file of the bundle at `dir`, kept only when
/// smaller than the file itself. They are encodings of the files, not files of the bundle: the service
/// worker's list and the version leave them out (see [`bundle_files`]).
pub fn precompress(dir: &Path) -> Result<()> {
    use std::io::Write;
    let started = Instant::now();
    let (mut raw_total, mut br_total) = (0, 0);
    for (_, path) in bundle_files(dir)? {
        if !compressible(&path) {
            continue;
        }
        let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut br = Vec::new();
        {
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                lgwin: 24,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut raw.as_slice(), &mut br, &params)
                .with_context(|| format!("brotli over {}", path.display()))?;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw)?;
        let gz = gz.finish()?;
        for (suffix, bytes) in [("br", &br), ("gz", &gz)] {
            if bytes.len() < raw.len() {
                let out = encoded(&path, suffix);
                std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
            }
        }
        raw_total += raw.len();
        br_total += br.len().min(raw.len());
    }
    eprintln!(
        "xtask: precompressed the bundle: {raw_total} -> {br_total} bytes with brotli ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Copy the files of `from` (recursively) that `keep` accepts into `to`.
fn copy_tree(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        let name = path.file_name().context("file name")?;
        if path.is_dir() {
            copy_tree(&path, &to.join(name), keep)?;
        } else if keep(&path) {
            std::fs::copy(&path, to.join(name)).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// `copy-dir icons` copies the whole directory; only the images belong in the bundle.
fn drop_dev_files(staging: &Path) -> Result<()> {
    let icons = staging.join("icons");
    if !icons.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(&icons)? {
        let path = entry?.path();
        let image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "png" | "svg" | "ico" | "webp"));
        if path.is_file() && !image {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// wasm-bindgen writes the UI's JS snippets (`web/js/`) under two crate hashes in `snippets/`, and the
/// UI's JS imports one of them; Trunk lists both in index.html as module preloads. The other copy is
/// never run: drop it and its preload links, so the browser does not download it.
fn drop_unused_snippets(staging: &Path) -> Result<()> {
    let snippets = staging.join("snippets");
    if !snippets.is_dir() {
        return Ok(());
    }
    let mut glue = String::new();
    for path in ui_files(staging, ".js")? {
        glue += &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    }
    if glue.is_empty() {
        bail!(
            "the UI's JS (hearth-web-*.js) is missing from {}",
            staging.display()
        );
    }
    let index_path = staging.join("index.html");
    let mut index =
        std::fs::read_to_string(&index_path).with_context(|| format!("reading {}", index_path.display()))?;
    for entry in std::fs::read_dir(&snippets)? {
        let dir = entry?.path();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if glue.contains(&format!("snippets/{name}/")) {
            continue;
        }
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        let href = format!("href=\"/snippets/{name}/");
        while let Some(at) = index.find(&href) {
            let start = index[..at]
                .rfind('<')
                .context("a snippet's link in index.html has no `<`")?;
            let end = at
                + index[at..]
                    .find('>')
                    .context("a snippet's link in index.html has no `>`")?
                + 1;
            index.replace_range(start..end, "");
        }
        eprintln!("xtask: dropped snippets/{name}/, which the UI's JS does not import");
    }
    std::fs::write(&index_path, index).with_context(|| format!("writing {}", index_path.display()))?;
    Ok(())
}

/// Every file under `dir` (hidden ones left out, as the hub does not serve them, and the precompressed
/// `.br`/`.gz` copies, which are encodings of other files), as (relative path with `/` separators,
/// path), sorted by relative path.
fn bundle_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(".br") || name.ends_with(".gz") {
                continue;
            }
            let rel = format!("{prefix}{name}");
            let path = entry.path();
            if path.is_dir() {
                walk(&path, &format!("{rel}/"), out)?;
            } else {
                out.push((rel, path));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, "", &mut files)?;
    files.sort();
    Ok(files)
}

/// Stamp `sw.js` in the bundle at `dir`, returning the version. The contract with `web/sw.js`:
///
/// * `'__HEARTH_VERSION__'` (with its quotes, exactly once) becomes `'<version>'`: the first 16 hex
///   digits of SHA-256 over every file of the bundle, sw.js as written (unstamped) included, each as
///   its relative path, a NUL byte, its length (u64, little endian) and its bytes, in path order.
/// * `['__HEARTH_ASSETS__']` (exactly once) becomes the array of URLs to precache, relative to sw.js:
///   `'./'` and then `'./<path>'` for every file except sw.js (percent-encoded where needed).
pub fn stamp_sw(dir: &Path) -> Result<String> {
    let sw_path = dir.join("sw.js");
    let sw = std::fs::read_to_string(&sw_path)
        .with_context(|| format!("reading {} (index.html copies web/sw.js)", sw_path.display()))?;
    for placeholder in [VERSION_PLACEHOLDER, ASSETS_PLACEHOLDER] {
        let n = sw.matches(placeholder).count();
        if n != 1 {
            bail!("sw.js has {placeholder} {n} times, expected once (stamped twice?)");
        }
    }
    let files = bundle_files(dir)?;
    let mut hash = Sha256::new();
    for (rel, path) in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        hash.update(rel.as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let version: String = hash.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect();
    let mut assets = String::from("[\n  './',\n");
    for (rel, _) in files.iter().filter(|(rel, _)| rel != "sw.js") {
        assets.push_str(&format!("  './{}',\n", url_path(rel)));
    }
    assets.push(']');
    let stamped = sw
        .replace(VERSION_PLACEHOLDER, &format!("'{version}'"))
        .replace(ASSETS_PLACEHOLDER, &assets);
    if stamped.contains("__HEARTH_") {
        bail!("sw.js still has a __HEARTH_ placeholder after stamping");
    }
    std::fs::write(&sw_path, stamped).with_context(|| format!("writing {}", sw_path.display()))?;
    Ok(version)
}

/// A relative path as a URL path: unreserved characters and `/` as they are, the rest percent-encoded
/// (so the result is also safe inside a JS string in single quotes).
fn url_path(rel: &str) -> String {
    rel.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The PWA's browser tests (`web/tests/e2e/`, Playwright) against `dist` served by a real hub, with
/// `env` added (the previous release's build, for the tests that run it).
pub fn e2e(dist: &Path, env: &[(&str, &Path)]) -> Result<()> {
    browser::node_e2e("web", "HEARTH_DIST", dist, env)
}

/// `cargo xtask bench web`: build the bundle and the hub, time the PWA's cold start in headless Chromium
/// (`web/tests/bench.mjs`, which says what "cold" means and prints each run and the median), and size
/// the bundle: every file of `dist/` after `gzip -9`, added up, and each wasm module. The last line is
/// `bundle: <KB> KB gz  interactive: <ms> ms`, with 1 KB = 1000 bytes.
pub fn bench() -> Result<()> {
    let dist = build()?;
    let hearth = browser::hearth_bin()?;
    let stdout = node_bench("tests/bench.mjs", &hearth, &dist)?;
    eprint!("{stdout}");
    let ms: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("interactive: ")?.strip_suffix(" ms"))
        .context("the browser run printed no `interactive: <ms> ms` line")?
        .trim()
        .parse()
        .context("reading the interactive time")?;
    let mut gz_total = 0;
    for (rel, path) in bundle_files(&dist)? {
        let gz = gzip_size(&path);
        if gz == 0 {
            bail!("could not gzip {} (is gzip installed?)", path.display());
        }
        gz_total += gz;
        if rel.ends_with(".wasm") {
            let raw = std::fs::metadata(&path)?.len();
            println!("wasm {rel}: {raw} bytes raw, {gz} bytes gzip -9");
        }
    }
    println!(
        "bundle: every file of {} after gzip -9, added up; 1 KB = 1000 bytes",
        dist.display()
    );
    println!(
        "bundle: {} KB gz  interactive: {} ms",
        (gz_total as f64 / 1000.0).round() as u64,
        ms.round() as u64
    );
    Ok(())
}

/// Run a browser benchmark script of `web/` (`script`) with the hub binary, the bundle and Chromium in
/// its environment; its stderr goes straight through, its stdout comes back once it succeeded.
fn node_bench(script: &str, hearth: &Path, dist: &Path) -> Result<String> {
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .current_dir(root().join("web"))
        .env("HEARTH_BIN", hearth)
        .env("HEARTH_DIST", dist)
        .env("CHROMIUM", "/usr/bin/chromium")
        .stderr(std::process::Stdio::inherit());
    eprintln!("xtask: running {cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("could not start {cmd:?} (`cargo xtask setup` installs Node)"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        eprint!("{stdout}");
        bail!("{cmd:?} failed with {}", out.status);
    }
    Ok(stdout)
}

/// `cargo xtask bench live`: build the bundle and the release hub, then time how long a change made in
/// the app of one browser context takes to show in `hearth sync --watch` and in a second context
/// (`web/tests/bench-live.mjs` says how each is read). The last line is exactly
/// `live-cli: p50 <ms> ms p99 <ms> ms  live-web: p50 <ms> ms p99 <ms> ms`.
pub fn bench_live() -> Result<()> {
    let dist = build()?;
    run(cargo().args(["build", "--release", "-p", "hearth-server", "--bin", "hearth"]))?;
    let hearth = browser::target_dir().join("release/hearth");
    let stdout = node_bench("tests/bench-live.mjs", &hearth, &dist)?;
    print!("{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    if !last.starts_with("live-cli: p50 ") || !last.contains("  live-web: p50 ") {
        bail!("the browser run did not end with the live-latency line (got {last:?})");
    }
    Ok(())
}

/// Build the bundle and run the PWA's browser tests, once they exist (`web/tests/e2e/`), with `env` added.
pub fn test(env: &[(&str, &Path)]) -> Result<()> {
    if !root().join("web/tests/e2e").is_dir() {
        eprintln!("xtask: no web/tests/e2e yet: skipping the PWA's browser tests");
        return Ok(());
    }
    let dist = build()?;
    e2e(&dist, env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_version_and_assets() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-stamp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("store/pkg"))?;
        std::fs::write(
            dir.join("sw.js"),
            "const VERSION = '__HEARTH_VERSION__';\nconst ASSETS = ['__HEARTH_ASSETS__'];\n",
        )?;
        std::fs::write(dir.join("index.html"), "<!doctype html>")?;
        std::fs::write(dir.join("store/pkg/a b.wasm"), [0u8, 97, 115, 109])?;
        std::fs::write(dir.join(".hidden"), "x")?;
        let version = stamp_sw(&dir)?;
        assert_eq!(version.len(), 16);
        assert!(version.bytes().all(|b| b.is_ascii_hexdigit()));
        let sw = std::fs::read_to_string(dir.join("sw.js"))?;
        assert_eq!(
            sw,
            format!(
                "const VERSION = '{version}';\nconst ASSETS = [\n  './',\n  './index.html',\n  \
                 './store/pkg/a%20b.wasm',\n];\n"
            )
        );
        // Stamping twice is an error, not a silent no-op.
        assert!(stamp_sw(&dir).is_err());
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn drops_the_snippets_the_ui_does_not_import() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-snippets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for hash in ["aaa", "bbb"] {
            std::fs::create_dir_all(dir.join(format!("snippets/hearth-web-{hash}/js")))?;
            std::fs::write(
                dir.join(format!("snippets/hearth-web-{hash}/js/pwa.js")),
                "export {}",
            )?;
        }
        std::fs::write(
            dir.join("hearth-web-123.js"),
            "import { x } from './snippets/hearth-web-bbb/js/pwa.js';",
        )?;
        std::fs::write(
            dir.join("index.html"),
            "<head><link rel=\"modulepreload\" href=\"/snippets/hearth-web-aaa/js/pwa.js\" \
             crossorigin=\"anonymous\"><link rel=\"modulepreload\" \
             href=\"/snippets/hearth-web-bbb/js/pwa.js\" crossorigin=\"anonymous\"></head>",
        )?;
        drop_unused_snippets(&dir)?;
        assert!(!dir.join("snippets/hearth-web-aaa").exists());
        assert!(dir.join("snippets/hearth-web-bbb/js/pwa.js").is_file());
        assert_eq!(
            std::fs::read_to_string(dir.join("index.html"))?,
            "<head><link rel=\"modulepreload\" href=\"/snippets/hearth-web-bbb/js/pwa.js\" \
             crossorigin=\"anonymous\"></head>"
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
