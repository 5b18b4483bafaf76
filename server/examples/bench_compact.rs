//! `cargo xtask bench compact`: a hub holding 1,000,000 ops over 10,000 records × 5 fields, acked by 3
//! devices, is compacted; then fresh devices pair and take their first sync.
//!
//! The hub's space is filled through core's append path, the hub runs in process on 127.0.0.1:0, the
//! three devices are paired and ack the head over HTTP, and compaction runs as the background job runs
//! it (`AppState::compact`: snapshot beside the writer, then short prune steps). Before it, as the
//! same-run reference, and after it, fresh homes run the real `hearth init --hub URL --code CODE`
//! (pair + first sync) three times each, alternating homes, and the medians are printed; each device's
//! export is checked against the hub's. Last line exactly
//! `log-rows: <N>  live-fields: <F>  db-bytes: <B>  compact: <ms> ms  first-sync: <ms> ms`.
//! Options: `--ops N` (default 1000000).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use hearth_core::snapshot::{self, Entry};
use hearth_core::store::{HubLog, HubOptions, SqliteHubLog};
use hearth_core::wire::PairResponse;
use hearth_core::{SystemEnv, wire};
use hearth_server::{AppState, Config, run};

mod shared;
use shared::{generate, hearth_bin, ops_arg};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Pair a fresh home and take its first sync; returns the wall time in ms and checks the export.
fn first_sync(hearth: &Path, home: &Path, url: &str, code: &str, hub_export: &str) -> anyhow::Result<f64> {
    let start = Instant::now();
    let out = Command::new(hearth)
        .args(["init", "--hub", url, "--code", code, "--home"])
        .arg(home)
        .env("RUST_LOG", "warn")
        .output()?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    ensure!(
        out.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!(
        "  {}",
        String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap_or("")
    );
    eprintln!("  ({ms:.0} ms)");
    let export = Command::new(hearth)
        .args(["export", "--home"])
        .arg(home)
        .output()?;
    ensure!(
        export.stdout == hub_export.as_bytes(),
        "the device's export differs from the hub's"
    );
    Ok(ms)
}

fn main() -> anyhow::Result<()> {
    let total = ops_arg()?;
    let hearth = hearth_bin()?;
    let dir = tempfile::tempdir()?;
    let config = Config::new(dir.path().join("hub"));
    let space_db = config.space_db("default");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let ops = generate(total, now - 3_600_000);
    let fill = Instant::now();
    std::fs::create_dir_all(space_db.parent().context("spaces dir")?)?;
    {
        let mut log = SqliteHubLog::open(&space_db, Arc::new(SystemEnv), HubOptions::default())?;
        for chunk in ops.chunks(10_000) {
            log.append(chunk)?;
        }
    }
    drop(ops);
    eprintln!(
        "filled the hub with {total} ops in {:.1} s",
        fill.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut config = config;
    // Only this benchmark compacts.
    config.limits.compact_every = std::time::Duration::ZERO;
    config.limits.compact_rows = 0;
    let state = AppState::open(config.clone())?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(run(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    let client = reqwest::blocking::Client::new();
    let head = total as u64;
    let mut tokens = Vec::new();
    for i in 0..3 {
        let code = state.invite("default")?;
        let paired: PairResponse = client
            .post(format!("{url}/v1/pair"))
            .json(&wire::PairRequest {
                code,
                name: format!("device {i}"),
                app_version: wire::APP_VERSION.into(),
                schema_version: hearth_core::migrate::LATEST,
                device: None,
            })
            .send()?
            .error_for_status()?
            .json()?;
        client
            .post(format!("{url}/v1/spaces/default/ack"))
            .bearer_auth(&paired.token)
            .json(&wire::AckRequest { seq: head })
            .send()?
            .error_for_status()?;
        tokens.push(paired);
    }
    let hub_export = hearth_core::query::export(&rusqlite::Connection::open(&space_db)?)?;

    // Reference, same run: first syncs from the whole log.
    let mut before = Vec::new();
    for i in 0..3 {
        let code = state.invite("default")?;
        before.push(first_sync(
            &hearth,
            &dir.path().join(format!("before{i}")),
            &url,
            &code,
            &hub_export,
        )?);
    }

    // While compaction runs, one device keeps pushing one op at a time: the longest wait for an answer
    // is how long compaction held the writer (plus a push's own cost).
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pusher = {
        let (done, url, dev) = (done.clone(), url.clone(), tokens[0].clone());
        std::thread::spawn(move || -> anyhow::Result<Vec<f64>> {
            let client = reqwest::blocking::Client::new();
            let mut clock = hearth_core::Clock::new(Default::default(), 3_600_000);
            let mut waits = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_millis() as u64;
                let op =
                    hearth_core::NewOp::set("0000000000000000", "title", "pushed during compaction".into())
                        .stamp(hearth_core::OpId {
                            ts: clock.tick(now),
                            device: dev.device,
                        });
                let start = Instant::now();
                client
                    .post(format!("{url}/v1/spaces/default/push"))
                    .bearer_auth(&dev.token)
                    .json(&wire::PushRequest {
                        ops: vec![op],
                        epoch: None,
                    })
                    .send()?
                    .error_for_status()?;
                waits.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(waits)
        })
    };
    let start = Instant::now();
    let report = runtime.block_on(state.compact("default"))?;
    let compact_ms = start.elapsed().as_secs_f64() * 1000.0;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut waits = pusher
        .join()
        .map_err(|_| anyhow::anyhow!("the pusher panicked"))??;
    waits.sort_by(f64::total_cmp);
    let push_max = waits.last().copied().unwrap_or(0.0);
    let push_p50 = waits.get(waits.len() / 2).copied().unwrap_or(0.0);
    let pushes = waits.len();
    // The pushes moved the head: the hub's export now includes them.
    let hub_export = hearth_core::query::export(&rusqlite::Connection::open(&space_db)?)?;
    eprintln!(
        "compacted: horizon {}, snapshot at {} ({} entries), log rows {} → {}, {} prune steps, the longest {} ms",
        report.horizon,
        report.snapshot_seq,
        report.snapshot_entries,
        report.log_rows_before,
        report.log_rows_after,
        report.steps,
        report.longest_step_ms
    );
    ensure!(
        report.horizon == head,
        "every device acked the head ({head}), not {}",
        report.horizon
    );

    let mut after = Vec::new();
    for i in 0..3 {
        let code = state.invite("default")?;
        after.push(first_sync(
            &hearth,
            &dir.path().join(format!("after{i}")),
            &url,
            &code,
            &hub_export,
        )?);
    }
    let _ = stop.send(());
    let _ = runtime.block_on(server);

    let conn = rusqlite::Connection::open(&space_db)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    let mut fields = 0u64;
    snapshot::for_each(&conn, |e| {
        fields += u64::from(matches!(e, Entry::Field { .. }));
        Ok(())
    })?;
    let log_rows: u64 = conn.query_row("SELECT count(*) FROM ops", [], |r| r.get::<_, i64>(0))? as u64;
    let pragma = |name: &str| -> anyhow::Result<i64> {
        Ok(conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?)
    };
    eprintln!(
        "hub space file: {} pages of {} bytes, {} free (auto_vacuum {})",
        pragma("page_count")?,
        pragma("page_size")?,
        pragma("freelist_count")?,
        pragma("auto_vacuum")?
    );
    drop(conn);
    let db_bytes = std::fs::metadata(&space_db)?.len();
    let (before, after) = (median(before), median(after));
    println!(
        "first sync of {total} ops: {before:.0} ms from the whole log (median of 3), {after:.0} ms from the snapshot (median of 3)"
    );
    println!(
        "longest prune step: {} ms; {pushes} pushes during compaction: p50 {push_p50:.1} ms, max {push_max:.1} ms",
        report.longest_step_ms
    );
    println!(
        "log-rows: {log_rows}  live-fields: {fields}  db-bytes: {db_bytes}  compact: {compact_ms:.0} ms  first-sync: {after:.0} ms"
    );
    Ok(())
}
