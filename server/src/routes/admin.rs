//! `GET /admin`: the network view as a small HTML page (spaces, heads, and every device's acked seq,
//! last seen and versions). Served only to clients on the hub's own machine (loopback).

use std::fmt::Write;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use hearth_core::wire::PeerState;

use crate::AppState;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How long ago `then` was, for people: "12 s ago", "5 min ago", "3 h ago", "2 days ago" (ms times).
pub fn ago(now: u64, then: u64) -> String {
    let s = now.saturating_sub(then) / 1000;
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86400 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86400),
    }
}

/// The admin page.
pub async fn page(State(state): State<AppState>, req: Request) -> Response {
    let local = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    if !local {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "the admin page is only served on the hub's own machine\n",
        )
            .into_response();
    }
    let infos = state.spaces_info().await.unwrap_or_default();
    let now = crate::devices::now_ms();
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hearth hub — peers</title>\
         <style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style></head><body><h1>Hearth hub</h1>\n",
    );
    for (name, info) in &infos {
        let view = match state.network_view(name).await {
            Ok(view) => view,
            Err(e) => {
                let _ = writeln!(
                    html,
                    "<h2>Space {}</h2><p>cannot read its log: {}</p>",
                    esc(name),
                    esc(&e.to_string())
                );
                continue;
            }
        };
        let _ = write!(
            html,
            "<h2>Space {}</h2><p>head {} · horizon {} · compacted to {} · snapshot seq {} · \
             log rows {} · epoch {} · minimum schema version to write {}</p>\n\
             <table><tr><th>device</th><th>name</th><th>state</th><th>acked seq</th><th>last seen</th><th>app version</th><th>schema version</th></tr>\n",
            esc(name),
            view.head,
            view.horizon,
            view.compacted,
            view.snapshot_seq,
            view.log_rows,
            info.epoch,
            info.min_schema_version
        );
        for p in &view.peers {
            let state = match p.state {
                PeerState::Active => "active",
                PeerState::Inactive => "inactive",
                PeerState::BehindHorizon => "behind horizon",
            };
            let _ = writeln!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{state}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                p.device,
                esc(&p.name),
                p.acked,
                ago(now, p.last_seen_ms),
                esc(&p.app_version),
                p.schema_version
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("</body></html>\n");
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}
