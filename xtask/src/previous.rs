//! The previous release's `hearth`, for the tests that run two versions side by side.
//!
//! `xtask/previous-release` names the commit of the release before this one. Its source is taken from
//! git (`git archive`, so the cache does not depend on this clone) into a per-machine cache,
//! `$HEARTH_DEV_CACHE` or `~/.cache/hearth-dev` (`$XDG_CACHE_HOME/hearth-dev` when set), built once,
//! and kept as `previous-release/<commit>/hearth`; later runs reuse it while the commit is unchanged.
//! Its PWA bundle is built the same way, as `previous-release/<commit>/dist/`. `cargo xtask test` builds
//! both first and hands their paths to the tests as `HEARTH_PREVIOUS_BIN` and `HEARTH_PREVIOUS_DIST`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::browser::{root, target_dir};
use crate::{cargo, run, succeeds};

/// The file that names the previous release's commit.
const RECORD: &str = "xtask/previous-release";

/// The commit named in `xtask/previous-release` (its first line that is not a comment).
pub fn commit() -> Result<String> {
    let path = root().join(RECORD);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let commit = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{RECORD} should name a commit by its 40 hex digits, not {commit:?}");
    }
    Ok(commit.to_owned())
}

/// The per-machine cache of development builds.
fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("HEARTH_DEV_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("hearth-dev");
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/hearth-dev")
}

/// The previous release as the tests run it: its `hearth` and its PWA bundle (what its hub serves).
pub struct Previous {
    /// The previous release's `hearth` binary.
    pub bin: PathBuf,
    /// The previous release's PWA bundle, as `cargo xtask web` builds it.
    pub dist: PathBuf,
}

impl Previous {
    /// The variables the tests find them under.
    pub fn env(&self) -> [(&'static str, &Path); 2] {
        [
            ("HEARTH_PREVIOUS_BIN", self.bin.as_path()),
            ("HEARTH_PREVIOUS_DIST", self.dist.as_path()),
        ]
    }
}

/// The previous release's `hearth` and PWA bundle, built when this machine does not have them yet.
///
/// The build shares this checkout's target directory when the two releases have different version
/// numbers: the dependencies (most of the build) are then compiled once for both, and the workspace's
/// own crates cannot be mistaken for each other, since the version is part of their build hash (with the
/// same version, Cargo would take one's fresh outputs for the other's, so the build gets its own
/// directory then; the one output without that hash, the store's wasm, is cleaned after the previous
/// release's bundle is built). Building the previous release replaces the uplifted binaries of the target
/// directory (`debug/hearth`, …); the current build puts its own back the next time Cargo runs, so this
/// runs before anything of the current release is built.
pub fn build() -> Result<Previous> {
    let commit = commit()?;
    let dir = cache_root().join("previous-release").join(&commit);
    let previous = Previous {
        bin: dir.join("hearth"),
        dist: dir.join("dist"),
    };
    let have_bin = previous.bin.is_file();
    let have_dist = previous.dist.join("index.html").is_file();
    if have_bin && have_dist {
        eprintln!(
            "xtask: the previous release ({}) is built: {}",
            &commit[..12],
            dir.display()
        );
        return Ok(previous);
    }
    let started = std::time::Instant::now();
    eprintln!(
        "xtask: building the previous release ({}) once for this machine, into {}",
        &commit[..12],
        dir.display()
    );
    let src = extract(&commit, &dir)?;
    let (ours, theirs) = (workspace_version(&root())?, workspace_version(&src)?);
    let shared = ours != theirs;
    let target = if shared {
        target_dir()
    } else {
        eprintln!(
            "xtask: the previous release has this release's version ({ours}): building it in its own \
             target directory"
        );
        dir.join("target")
    };
    if !have_bin {
        run(cargo()
            .args(["build", "--locked", "-p", "hearth-server", "--bin", "hearth"])
            .current_dir(&src)
            .env("CARGO_TARGET_DIR", &target))?;
        let tmp = dir.join("hearth.tmp");
        std::fs::copy(target.join("debug/hearth"), &tmp).context("copying the previous release's hearth")?;
        std::fs::rename(&tmp, &previous.bin)?;
    }
    if !have_dist {
        bundle(&src, &target, &previous.dist)?;
        if shared {
            // A cdylib's output has no build hash in its name (`deps/hearth_wasm.wasm`): the previous
            // release's store may have replaced this release's, which Cargo would still take as fresh.
            // Cleaning it (in either profile a release built its store in) makes the next build of
            // this release's store compile it again.
            for profile in ["release", "store-release"] {
                run(cargo()
                    .args(["clean", "-p", "hearth-wasm", "--profile", profile])
                    .args(["--target", "wasm32-unknown-unknown"])
                    .current_dir(root()))?;
            }
        }
    }
    std::fs::remove_dir_all(&src).with_context(|| format!("removing {}", src.display()))?;
    if !shared {
        std::fs::remove_dir_all(&target).with_context(|| format!("removing {}", target.display()))?;
    }
    eprintln!(
        "xtask: the previous release is in {} ({:.0} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(previous)
}

/// The source of `commit`, from git, in `<dir>/src` (emptied first).
fn extract(commit: &str, dir: &Path) -> Result<PathBuf> {
    let object = format!("{commit}^{{commit}}");
    if !succeeds(
        Command::new("git")
            .args(["cat-file", "-e", &object])
            .current_dir(root()),
    ) {
        bail!(
            "this clone does not have commit {commit} ({RECORD}); a shallow clone needs \
             `git fetch --unshallow` first"
        );
    }
    let src = dir.join("src");
    if src.exists() {
        std::fs::remove_dir_all(&src).with_context(|| format!("clearing {}", src.display()))?;
    }
    std::fs::create_dir_all(&src).with_context(|| format!("creating {}", src.display()))?;
    let mut archive = Command::new("git")
        .args(["archive", "--format=tar", commit])
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .context("running git archive")?;
    let stdout = archive.stdout.take().context("git archive's output")?;
    // `-m`: the files get the time of extraction, so Cargo sees them as changed.
    let untar = Command::new("tar")
        .args(["-x", "-m", "-C"])
        .arg(&src)
        .stdin(stdout)
        .status()
        .context("running tar")?;
    let archived = archive.wait().context("waiting for git archive")?;
    if !archived.success() || !untar.success() {
        bail!(
            "extracting {commit} into {} failed (git archive {archived}, tar {untar})",
            src.display()
        );
    }
    Ok(src)
}

/// The previous release's PWA bundle: its own `trunk build --release` (and post-build step) in `src`,
/// moved to `dist`. Its npm packages are this checkout's when the lock files agree.
fn bundle(src: &Path, target: &Path, dist: &Path) -> Result<()> {
    crate::web::setup()?;
    let lock = |root: &Path| std::fs::read(root.join("web/package-lock.json")).ok();
    let modules = src.join("web/node_modules");
    if lock(src).is_some() && lock(src) == lock(&root()) {
        std::os::unix::fs::symlink(root().join("web/node_modules"), &modules)
            .with_context(|| format!("linking {}", modules.display()))?;
    } else {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(src.join("web")))?;
    }
    run(Command::new("trunk")
        .args(["build", "--release"])
        .current_dir(src)
        .env("CARGO_TARGET_DIR", target)
        // This workspace's build settings for the browser's SQLite (`[env]` of .cargo/config.toml,
        // inherited through `cargo xtask`) are not the previous release's: it builds with its own.
        .env_remove("SQLITE_WASM_RS_FLAGS")
        .env_remove("CFLAGS_wasm32_unknown_unknown"))
    .context("building the previous release's PWA with Trunk")?;
    if dist.exists() {
        std::fs::remove_dir_all(dist).with_context(|| format!("clearing {}", dist.display()))?;
    }
    std::fs::rename(src.join("dist"), dist)
        .with_context(|| format!("moving the bundle to {}", dist.display()))
}

/// `[workspace.package] version` of the workspace at `root`.
fn workspace_version(root: &Path) -> Result<String> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package
            && let Some(rest) = line.strip_prefix("version")
            && let Some(value) = rest.trim_start().strip_prefix('=')
        {
            return Ok(value.trim().trim_matches('"').to_owned());
        }
    }
    bail!("{} has no [workspace.package] version", path.display())
}
