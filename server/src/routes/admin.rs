//! `GET /admin`: the network view as a page for people (each space: changes recorded, how far every
//! active device has them, compaction and snapshot, and every device with how far it has synced, when
//! it was last seen and its versions), styled like the app. Served only to clients on the hub's own
//! machine (loopback).

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

/// The page's head and style: the app's colours and type, light and dark.
const HEAD: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Hearth hub</title><link rel=\"icon\" href=\"/icons/favicon.svg\" type=\"image/svg+xml\">\
<style>:root{color-scheme:light dark;--bg:#faf7f2;--panel:#fff;--text:#1c1917;--muted:#6b625a;--line:#e4ddd2;\
--accent:#b4532a;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Ubuntu,sans-serif;line-height:1.45}\
@media (prefers-color-scheme:dark){:root{--bg:#1c1917;--panel:#262220;--text:#f5f0ea;--muted:#b3a89c;\
--line:#3a3430;--accent:#e07a4c}}\
body{margin:0;background:var(--bg);color:var(--text)}main{max-width:60rem;margin:0 auto;padding:1.5rem}\
h1{font-size:1.5rem;margin:0 0 .25rem;color:var(--accent)}.lede{color:var(--muted);margin-top:0}\
section{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:1rem 1.25rem;margin:1rem 0}\
h2{font-size:1.15rem;margin:0 0 .75rem}dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));\
gap:.5rem 1rem;margin:0 0 1rem}dt{color:var(--muted);font-size:.85rem}dd{margin:0;font-weight:600}\
table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;padding:.25rem 0}\
th,td{border-bottom:1px solid var(--line);padding:.4rem .6rem;text-align:left;vertical-align:top}\
th{color:var(--muted);font-weight:500;font-size:.85rem}code{font-size:.85em;color:var(--muted)}\
.problem{color:#b42318}.scroll{overflow-x:auto}@media (max-width:40rem){main{padding:1rem}td,th{padding:.3rem}}</style></head>\
<body><main><h1>Hearth hub</h1>\n";

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
    let mut html = String::from(HEAD);
    let _ = writeln!(
        html,
        "<p class=\"lede\">{} on this hub. This page is shown only on the hub's own machine; \
         <code>hearth invite</code> prints a code to pair another device.</p>",
        match infos.len() {
            1 => "One space".to_owned(),
            n => format!("{n} spaces"),
        }
    );
    for (name, info) in &infos {
        let _ = writeln!(html, "<section><h2>Space “{}”</h2>", esc(name));
        let view = match state.network_view(name).await {
            Ok(view) => view,
            Err(e) => {
                let _ = writeln!(
                    html,
                    "<p class=\"problem\">Its log cannot be read: {}</p></section>",
                    esc(&e.to_string())
                );
                continue;
            }
        };
        let facts = [
            ("Changes recorded", view.head.to_string()),
            (
                "Every active device has up to",
                format!("change {}", view.horizon),
            ),
            (
                "Compacted up to",
                if view.compacted == 0 {
                    "nothing yet".to_owned()
                } else {
                    format!("change {}", view.compacted)
                },
            ),
            (
                "Latest snapshot",
                if view.snapshot_seq == 0 {
                    "none yet".to_owned()
                } else {
                    format!("at change {}", view.snapshot_seq)
                },
            ),
            ("Changes kept in the log", view.log_rows.to_string()),
            ("Data generation", info.epoch.to_string()),
            (
                "Devices may write from schema",
                if info.min_schema_version == 0 {
                    "any".to_owned()
                } else {
                    info.min_schema_version.to_string()
                },
            ),
        ];
        html.push_str("<dl>");
        for (term, value) in facts {
            let _ = write!(html, "<div><dt>{term}</dt><dd>{}</dd></div>", esc(&value));
        }
        html.push_str("</dl>\n");
        if view.peers.is_empty() {
            html.push_str("<p>No device is paired yet.</p></section>\n");
            continue;
        }
        html.push_str(
            "<div class=\"scroll\"><table><caption>Devices</caption><thead><tr><th scope=\"col\">Device</th><th scope=\"col\">State</th>\
             <th scope=\"col\">Synced up to</th><th scope=\"col\">Last seen</th><th scope=\"col\">App version</th>\
             <th scope=\"col\">Schema</th></tr></thead><tbody>\n",
        );
        for p in &view.peers {
            let state = match p.state {
                PeerState::Active => "active",
                PeerState::Inactive => "inactive",
                PeerState::BehindHorizon => "behind the compacted log",
            };
            let _ = writeln!(
                html,
                "<tr><td>{} <code>{}</code></td><td>{state}</td><td>change {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.name),
                p.device,
                p.acked,
                ago(now, p.last_seen_ms),
                esc(&p.app_version),
                p.schema_version
            );
        }
        html.push_str("</tbody></table></div></section>\n");
    }
    html.push_str("</main></body></html>\n");
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}
