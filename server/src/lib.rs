//! # hearth-server
//!
//! The Hearth hub (`hearth serve`): spaces of ops kept in SQLite, relayed to paired devices over the
//! sync protocol described in `PROTOCOL.md`, plus the PWA bundle, `/healthz` and an admin page.
//!
//! The server is a library: [`app`] builds the router over an [`AppState`], [`run`] serves it on a
//! listener until a shutdown future resolves. `main.rs` only parses arguments.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use hearth_server::{AppState, Config, run};
//! let state = AppState::open(Config::new("/tmp/hearth-hub"))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! run(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! Data flow of one push: [`auth`] turns the bearer token into a (space, device) and applies the rate
//! limit; the push route checks size limits, op devices and the space's minimum schema version, then hands
//! the batch to the space's writer thread ([`space`]), which group-commits queued pushes in one durable
//! transaction through core's one apply path and publishes the new head to live listeners.

pub mod auth;
pub mod clock;
pub mod config;
pub mod devices;
pub mod error;
pub mod pg;
pub mod rate;
pub mod routes;
pub mod space;
pub mod state;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use config::{Config, Limits};
pub use error::{ApiError, Result};
use state::PEER_FLUSH_EVERY;
pub use state::{AppState, DEFAULT_SPACE, TOKEN_CACHE_TTL};

/// The router: the sync API under `/v1`, `/healthz`, `/admin` and the PWA bundle.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serve `state` on `listener` until `shutdown` resolves, then finish in-flight requests, end live
/// streams and write the peer records.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let flusher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PEER_FLUSH_EVERY);
            loop {
                tick.tick().await;
                let s = state.clone();
                match tokio::task::spawn_blocking(move || s.flush_peers()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "could not save peer records"),
                    Err(e) => tracing::warn!(error = %e, "peer flush task failed"),
                }
            }
        })
    };
    let compactor = tokio::spawn(compaction(state.clone()));
    let signal = {
        let state = state.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down");
            state.begin_shutdown();
        }
    };
    let served = serve(listener, app(state.clone()), &state.config().limits, signal).await;
    flusher.abort();
    compactor.abort();
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.flush_peers()).await??;
    served?;
    Ok(())
}

/// Accept connections on `listener` and serve `router` over HTTP/1.1 until `signal` resolves, then let
/// open requests finish. Each connection has a deadline for its request line and headers
/// (`--header-timeout-secs`) and a size limit for them (`--max-header-bytes`, else 431), which a plain
/// `axum::serve` does not set: a sender that trickles its headers cannot hold connections forever.
async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let header_timeout = std::time::Duration::from_secs(limits.header_timeout_secs.max(1));
    let max_header_bytes = limits.max_header_bytes.max(8192);
    tokio::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                    req
                });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(max_header_bytes)
            .serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// How often the background compaction looks at the open spaces.
const COMPACT_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Background compaction: a space is compacted when its horizon has moved past what was compacted and
/// either `--compact-every` has passed since its last compaction or its log holds `--compact-rows`
/// rows above the compacted seq.
async fn compaction(state: AppState) {
    let (every, rows) = (
        state.config().limits.compact_every,
        state.config().limits.compact_rows,
    );
    if every.is_zero() && rows == 0 {
        return;
    }
    let check = if every.is_zero() {
        COMPACT_CHECK
    } else {
        every.min(COMPACT_CHECK)
    };
    let mut last: std::collections::HashMap<String, tokio::time::Instant> = Default::default();
    let mut tick = tokio::time::interval(check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for name in state.open_space_names() {
            let view = match state.network_view(&name).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(space = %name, error = %e, "compaction: cannot read the network view");
                    continue;
                }
            };
            if view.horizon <= view.compacted {
                continue;
            }
            let since = last.entry(name.clone()).or_insert_with(tokio::time::Instant::now);
            let due = !every.is_zero() && since.elapsed() >= every;
            let big = rows > 0 && view.head.saturating_sub(view.compacted) >= rows;
            if !(due || big) {
                continue;
            }
            // The view just read gives the horizon: compact up to it without reading it again.
            let compacted = match state.space(&name).await {
                Ok(space) => space.compact(view.horizon).await,
                Err(e) => Err(e),
            };
            match compacted {
                Ok(_) => {
                    last.insert(name, tokio::time::Instant::now());
                }
                Err(e) => {
                    tracing::warn!(space = %name, error = %e, "compaction failed; the log is unchanged past its last step")
                }
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
