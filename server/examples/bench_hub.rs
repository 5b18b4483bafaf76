//! `cargo xtask bench hub`: the real hub (in process, on 127.0.0.1:0, data in a tempdir, durable commits)
//! driven over real HTTP. 16 clients each push 100-op batches of distinct ops until the total is reached,
//! then one client pulls them all.
//!
//! Options: `--ops N` (default 200000), `--clients N` (16), `--batch N` (100), `--page N` (10000).
//! The last line is exactly `push: <N> ops/s  pull: <M> ops/s`.
//!
//! With `--postgres` the hub log is a PostgreSQL database (a throwaway server on a unix socket, fsync
//! and `synchronous_commit` on) served by two hubs, the clients split between them; then a device
//! listening on the second hub times 200 pushes made through the first until its live event arrives.
//! The last line is then exactly `push: <N> ops/s  pull: <M> ops/s  hubs: 2  live-p99: <ms> ms`.
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

    let postgres = std::env::args().any(|a| a == "--postgres");

    // Open the hubs (PostgreSQL's client blocks: before the async runtime) and make the codes.
    let dir = tempfile::tempdir()?;
    let cluster = if postgres {
        Some(hearth_server::pg::cluster::TempCluster::start_durable()?)
    } else {
        None
    };
    let mut config = Config::new(dir.path());
    if let Some(cluster) = &cluster {
        let url = cluster.server().new_database()?;
        config.database = Some(hearth_server::pg::Database::parse(&url)?);
    }
    let states: Vec<AppState> = (0..if postgres { 2 } else { 1 })
        .map(|_| AppState::open(config.clone()))
        .collect::<Result<_, _>>()?;
    states[0].bootstrap()?;
    let codes: Vec<String> = (0..=clients)
        .map(|_| states[0].invite("default"))
        .collect::<Result<_, _>>()?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut urls = Vec::new();
        let mut servers = Vec::new();
        for state in &states {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            urls.push(format!("http://{}", listener.local_addr()?));
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(run(listener, state.clone(), async move {
                let _ = stopped.await;
            }));
            servers.push((stop, server));
        }
        let http = reqwest::Client::new();

        // Pair the clients (spread over the hubs) and build every request body before the clock starts.
        let mut work = Vec::new();
        for (c, code) in codes.iter().take(clients).enumerate() {
            let url = urls[c % urls.len()].clone();
            let code = code.clone();
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
            work.push((paired, bodies, url));
        }
        let reader = work[0].0.clone();
        let url = urls[0].clone();

        let start = Instant::now();
        let tasks: Vec<_> = work
            .into_iter()
            .map(|(paired, bodies, url)| {
                let http = http.clone();
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

        let live = match urls.get(1) {
            Some(other) => Some(live_p99(&http, &urls[0], other, &reader, &codes[clients]).await?),
            None => None,
        };

        for (stop, server) in servers {
            let _ = stop.send(());
            tokio::time::timeout(Duration::from_secs(30), server).await???;
        }

        let rate = |n: usize, t: Duration| (n as f64 / t.as_secs_f64()) as u64;
        match &cluster {
            Some(_) => println!(
                "hub bench: {clients} clients x {batches_per_client} pushes of {batch} ops = {total} ops over 2 hubs on one PostgreSQL (fsync on, synchronous_commit on, group commit per hub)"
            ),
            None => println!(
                "hub bench: {clients} clients x {batches_per_client} pushes of {batch} ops = {total} ops, durable (synchronous=FULL, group commit)"
            ),
        }
        println!(
            "pushed {total} ops in {:.2} s: {:.1} MiB sent, {:.1} MiB received",
            push_time.as_secs_f64(),
            mb(push_sent),
            mb(push_received)
        );
        println!("pulled {pulled} ops in {:.2} s ({page}-op pages): {:.1} MiB received", pull_time.as_secs_f64(), mb(pull_bytes));
        match live {
            Some(times) => {
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                println!(
                    "cross-hub live event over {} pushes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                    times.len(),
                    ms(times[times.len() / 2]),
                    ms(times[times.len() * 99 / 100]),
                    ms(times[times.len() - 1])
                );
                println!(
                    "push: {} ops/s  pull: {} ops/s  hubs: 2  live-p99: {:.1} ms",
                    rate(total, push_time),
                    rate(pulled, pull_time),
                    ms(times[times.len() * 99 / 100])
                );
            }
            None => println!("push: {} ops/s  pull: {} ops/s", rate(total, push_time), rate(pulled, pull_time)),
        }
        drop(cluster);
        anyhow::Ok(())
    })
}

/// A device paired on hub `b` listens for live events; 200 one-op pushes through hub `a`, each timed
/// from sending the push to the event on `b` that carries its head. Sorted.
async fn live_p99(
    http: &reqwest::Client,
    a: &str,
    b: &str,
    writer: &PairResponse,
    code: &str,
) -> anyhow::Result<Vec<Duration>> {
    use futures_util::StreamExt;
    let listener: PairResponse = http
        .post(format!("{b}/v1/pair"))
        .json(&PairRequest {
            code: code.to_owned(),
            name: "listener".into(),
            app_version: hearth_core::wire::APP_VERSION.into(),
            schema_version: hearth_core::migrate::LATEST,
            device: None,
        })
        .send()
        .await?
        .json()
        .await?;
    let res = http
        .get(format!("{b}/v1/spaces/{}/events", listener.space))
        .bearer_auth(&listener.token)
        .send()
        .await?;
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    let mut next_head = async move || -> anyhow::Result<u64> {
        loop {
            if let Some(i) = buf.find("\n\n") {
                let event: String = buf.drain(..i + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                    let v: serde_json::Value = serde_json::from_str(data)?;
                    return v["head"].as_u64().context("an event without a head");
                }
                continue;
            }
            let chunk = stream.next().await.context("the event stream ended")??;
            buf.push_str(std::str::from_utf8(&chunk)?);
        }
    };
    next_head().await?; // the head on connect
    let mut clock = Clock::new(Timestamp::default(), 0);
    let mut times = Vec::new();
    for i in 0..200 {
        let op = Op {
            id: OpId {
                ts: clock.tick(now_ms()),
                device: writer.device,
            },
            kind: "node.set".into(),
            v: 1,
            payload: json!({"node": format!("live-{i}"), "field": "title", "value": "live"}),
        };
        let start = Instant::now();
        let out: PushResponse = http
            .post(format!("{a}/v1/spaces/{}/push", writer.space))
            .bearer_auth(&writer.token)
            .json(&json!({"ops": [op]}))
            .send()
            .await?
            .json()
            .await?;
        while tokio::time::timeout(Duration::from_secs(10), next_head()).await?? < out.head {}
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times)
}
