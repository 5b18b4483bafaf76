//! `cargo xtask bench sync`: first sync of a fresh device from a hub holding 1,000,000 ops.
//!
//! The hub's space is filled through core's own append path (10,000 nodes — 1,000 projects and 9,000
//! tasks in them — then last-writer-wins edits from 5 devices up to the total), the hub runs in process
//! on 127.0.0.1:0, and the real `hearth` binary runs `init --hub URL --code CODE` (pair + first sync) in
//! a fresh home. The device's export is then checked against the hub's. Last line exactly
//! `first-sync: <N> ops/s  <S> s`. Options: `--ops N` (default 1000000).
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use hearth_core::SystemEnv;
use hearth_core::store::{HubLog, HubOptions, SqliteHubLog};
use hearth_server::{AppState, Config, run};

mod shared;
use shared::{generate, hearth_bin, ops_arg};

fn main() -> anyhow::Result<()> {
    let total = ops_arg()?;
    let hearth = hearth_bin()?;
    let dir = tempfile::tempdir()?;
    let config = Config::new(dir.path().join("hub"));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let ops = generate(total, now - 3_600_000);
    let json_bytes: usize = ops
        .iter()
        .map(|o| serde_json::to_string(o).map_or(0, |s| s.len()))
        .sum();
    let fill = Instant::now();
    std::fs::create_dir_all(config.space_db("default").parent().context("spaces dir")?)?;
    {
        let mut log = SqliteHubLog::open(
            config.space_db("default"),
            Arc::new(SystemEnv),
            HubOptions::default(),
        )?;
        for chunk in ops.chunks(10_000) {
            log.append(chunk)?;
        }
    }
    eprintln!(
        "filled the hub with {total} ops ({json_bytes} bytes as JSON) in {:.1} s",
        fill.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let state = AppState::open(config.clone())?;
    let code = state.invite("default")?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(run(listener, state, async move {
        let _ = stopped.await;
    }));

    let home = dir.path().join("home");
    let start = Instant::now();
    let out = Command::new(&hearth)
        .args(["init", "--hub", &url, "--code", &code, "--home"])
        .arg(&home)
        .env("RUST_LOG", "warn")
        .output()?;
    let secs = start.elapsed().as_secs_f64();
    ensure!(
        out.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));

    let export = Command::new(&hearth)
        .args(["export", "--home"])
        .arg(&home)
        .output()?;
    let hub_conn = rusqlite::Connection::open(config.space_db("default"))?;
    let hub_export = hearth_core::query::export(&hub_conn)?;
    ensure!(
        export.stdout == hub_export.as_bytes(),
        "the device's export differs from the hub's"
    );
    let db_bytes = std::fs::metadata(home.join("hearth.sqlite"))?.len();
    let _ = stop.send(());
    let _ = runtime.block_on(server);

    println!(
        "device database: {db_bytes} bytes; export identical to the hub's ({} bytes)",
        hub_export.len()
    );
    println!(
        "first-sync: {} ops/s  {secs:.2} s",
        (total as f64 / secs).round() as u64
    );
    Ok(())
}
