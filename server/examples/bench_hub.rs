//! `cargo xtask bench hub`: the real hub (in process, on 127.0.0.1:0, data in a tempdir, durable commits)
//! driven over real HTTP. 16 clients each push 100-op batches of distinct ops until the total is reached,
//! then one client pulls them all.
//!
//! Options: `--ops N` (default 200000), `--clients N` (16), `--batch N` (100), `--page N` (10000).
//! The last line is exactly `push: <N> ops/s  pull: <M> ops/s`.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use hearth_core::wire::{PairRequest, PairResponse, PullResponse, PushResponse};
use hearth_core::{Clock, Op, OpId, Timestamp};
use hearth_server::{AppState, Config, run};
use serde_json::json;

fn arg(name: &str, default: usize) -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .context("missing value")?
            .parse()
            .with_context(|| format!("{name} takes a number")),
        None => Ok(default),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn main() -> anyhow::Result<()> {
    let total = arg("--ops", 200_000)?;
    let clients = arg("--clients", 16)?;
    let batch = arg("--batch", 100)?;
    let page = arg("--page", 10_000)?;
    let batches_per_client = total.div_ceil(clients * batch);
    let total = batches_per_client * clients * batch;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let dir = tempfile::tempdir()?;
        let state = AppState::open(Config::new(dir.path()))?;
        state.bootstrap()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::new();

        // Pair the clients and build every request body before the clock starts.
        let mut work = Vec::new();
        for c in 0..clients {
            let code = state.invite("default")?;
            let paired: PairResponse = http
                .post(format!("{url}/v1/pair"))
                .json(&PairRequest {
                    code,
                    name: format!("bench {c}"),
                    app_version: hearth_core::wire::APP_VERSION.into(),
                    schema_version: hearth_core::migrate::LATEST,
                    device: None,
                })
                .send()
                .await?
                .json()
                .await?;
            let mut clock = Clock::new(Timestamp::default(), 0);
            let bodies: Vec<bytes::Bytes> = (0..batches_per_client)
                .map(|b| {
                    let ops: Vec<Op> = (0..batch)
                        .map(|i| Op {
                            id: OpId { ts: clock.tick(now_ms()), device: paired.device },
                            kind: "node.set".into(),
                            v: 1,
                            payload: json!({"node": format!("n{c}-{b}-{i}"), "field": "title", "value": format!("Task {b}.{i}")}),
                        })
                        .collect();
                    serde_json::to_vec(&json!({"ops": ops})).map(bytes::Bytes::from)
                })
                .collect::<Result<_, _>>()?;
            work.push((paired, bodies));
        }
        let reader = work[0].0.clone();

        let start = Instant::now();
        let tasks: Vec<_> = work
            .into_iter()
            .map(|(paired, bodies)| {
                let (http, url) = (http.clone(), url.clone());
                tokio::spawn(async move {
                    let (mut sent, mut received) = (0usize, 0usize);
                    for body in bodies {
                        sent += body.len();
                        let res = http
                            .post(format!("{url}/v1/spaces/{}/push", paired.space))
                            .bearer_auth(&paired.token)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await?;
                        if res.status() != 200 {
                            bail!("push failed: {} {}", res.status(), res.text().await?);
                        }
                        let bytes = res.bytes().await?;
                        received += bytes.len();
                        let out: PushResponse = serde_json::from_slice(&bytes)?;
                        if out.accepted != batch {
                            bail!("expected {batch} new ops, got {}", out.accepted);
                        }
                    }
                    anyhow::Ok((sent, received))
                })
            })
            .collect();
        let (mut push_sent, mut push_received) = (0, 0);
        for t in tasks {
            let (s, r) = t.await??;
            push_sent += s;
            push_received += r;
        }
        let push_time = start.elapsed();

        let start = Instant::now();
        let (mut after, mut pulled, mut pull_bytes) = (0u64, 0usize, 0usize);
        loop {
            let res = http
                .get(format!("{url}/v1/spaces/{}/pull?after={after}&limit={page}", reader.space))
                .bearer_auth(&reader.token)
                .send()
                .await?;
            if res.status() != 200 {
                bail!("pull failed: {}", res.status());
            }
            let bytes = res.bytes().await?;
            pull_bytes += bytes.len();
            let page: PullResponse = serde_json::from_slice(&bytes)?;
            if page.ops.is_empty() {
                break;
            }
            pulled += page.ops.len();
            after = page.next;
        }
        let pull_time = start.elapsed();
        if pulled != total {
            bail!("pulled {pulled} ops, expected {total}");
        }

        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(30), server).await???;

        let rate = |n: usize, t: Duration| (n as f64 / t.as_secs_f64()) as u64;
        println!(
            "hub bench: {clients} clients x {batches_per_client} pushes of {batch} ops = {total} ops, durable (synchronous=FULL, group commit)"
        );
        println!(
            "pushed {total} ops in {:.2} s: {:.1} MiB sent, {:.1} MiB received",
            push_time.as_secs_f64(),
            mb(push_sent),
            mb(push_received)
        );
        println!("pulled {pulled} ops in {:.2} s ({page}-op pages): {:.1} MiB received", pull_time.as_secs_f64(), mb(pull_bytes));
        println!("push: {} ops/s  pull: {} ops/s", rate(total, push_time), rate(pulled, pull_time));
        anyhow::Ok(())
    })
}
