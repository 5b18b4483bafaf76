//! The previous release's `hearth`, for the tests that run two versions side by side.
//!
//! `xtask/previous-release` names the commit of the release before this one. Its source is taken from
//! git (`git archive`, so the cache does not depend on this clone) into a per-machine cache,
//! `$HEARTH_DEV_CACHE` or `~/.cache/hearth-dev` (`$XDG_CACHE_HOME/hearth-dev` when set), built once,
//! and kept as `previous-release/<commit>/hearth`; later runs reuse it while the commit is unchanged.
//! `cargo xtask test` builds it first and hands its path to the tests as `HEARTH_PREVIOUS_BIN`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::browser::root;
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

/// The previous release's `hearth`, built when this machine does not have it yet. Returns its path.
pub fn build() -> Result<PathBuf> {
    let commit = commit()?;
    let dir = cache_root().join("previous-release").join(&commit);
    let bin = dir.join("hearth");
    if bin.is_file() {
        eprintln!(
            "xtask: the previous release ({}) is built: {}",
            &commit[..12],
            bin.display()
        );
        return Ok(bin);
    }
    let started = std::time::Instant::now();
    eprintln!(
        "xtask: building the previous release's hearth ({}) once for this machine, into {}",
        &commit[..12],
        dir.display()
    );
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
        .args(["archive", "--format=tar", &commit])
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .context("running git archive")?;
    let stdout = archive.stdout.take().context("git archive's output")?;
    let untar = Command::new("tar")
        .args(["-x", "-C"])
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
    let target = dir.join("target");
    // Without debug info the build is faster and a fraction of the size; only the binary is kept.
    run(cargo()
        .args(["build", "--locked", "-p", "hearth-server", "--bin", "hearth"])
        .current_dir(&src)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_INCREMENTAL", "0"))?;
    let tmp = dir.join("hearth.tmp");
    std::fs::copy(target.join("debug/hearth"), &tmp).context("copying the previous release's hearth")?;
    std::fs::rename(&tmp, &bin)?;
    for d in [&target, &src] {
        std::fs::remove_dir_all(d).with_context(|| format!("removing {}", d.display()))?;
    }
    eprintln!(
        "xtask: the previous release's hearth is at {} ({:.0} s)",
        bin.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(bin)
}
