//! The protocol encoded once: how each [`Request`] of the engine becomes an HTTP request (method, path,
//! body, headers) and how an HTTP answer becomes a [`Reply`]. Drivers (the CLI's blocking client, the
//! browser's `fetch`) only move bytes.
//!
//! ```
//! use hearth_core::sync::{HttpRequest, Reply, Request};
//! let req = Request::Pull { after: 7, limit: 100, epoch: 1 };
//! let http = HttpRequest::of(&req, "default").unwrap();
//! assert_eq!((http.method, http.path.as_str(), http.auth), ("GET", "/v1/spaces/default/pull?after=7&limit=100", true));
//! let reply = Reply::from_http(&req, "default", 200, r#"{"ops":[],"next":7,"head":7,"horizon":0,"epoch":1}"#);
//! assert!(matches!(reply, Reply::Pulled(p) if p.head == 7));
//!
//! // A live event that carries the ops after 7 answers that pull without a request.
//! let event: hearth_core::wire::HeadEvent = serde_json::from_str(
//!     r#"{"head":8,"after":7,"page":{"ops":[],"next":7,"head":8,"horizon":0,"epoch":1}}"#,
//! ).unwrap();
//! assert!(matches!(Reply::from_live(&req, &event), Some(Reply::Pulled(p)) if p.head == 8));
//! assert!(Reply::from_live(&Request::Pull { after: 6, limit: 100, epoch: 1 }, &event).is_none());
//! ```

use super::{Reply, Request};
use crate::error::Result;
use crate::wire::{
    APP_VERSION, APP_VERSION_HEADER, AckRequest, ErrorBody, HeadEvent, HubInfo, PairRequest, PairResponse,
    PullResponse, PushResponse, SCHEMA_VERSION_HEADER, SnapshotPage,
};

/// One request on the wire, relative to the hub's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path and query, e.g. `/v1/spaces/default/pull?after=0&limit=1000`.
    pub path: String,
    /// A JSON body (sent with `Content-Type: application/json`).
    pub body: Option<String>,
    /// Whether it carries the device's bearer token.
    pub auth: bool,
}

/// The headers every request carries: this build's app and schema version.
pub fn version_headers() -> [(&'static str, String); 2] {
    [
        (APP_VERSION_HEADER, APP_VERSION.to_owned()),
        (SCHEMA_VERSION_HEADER, crate::migrate::LATEST.to_string()),
    ]
}

/// [`crate::wire::PushRequest`] over borrowed ops: the batch is serialized without a copy.
#[derive(serde::Serialize)]
struct PushBody<'a> {
    ops: &'a [crate::op::Op],
    #[serde(skip_serializing_if = "is_first")]
    epoch: u64,
}

/// Epoch 1 goes unsaid (hubs before epochs know no other).
fn is_first(epoch: &u64) -> bool {
    *epoch <= 1
}

fn space_path(space: &str, what: &str) -> String {
    format!("/v1/spaces/{space}/{what}")
}

impl HttpRequest {
    /// The HTTP form of an engine request for `space`.
    pub fn of(req: &Request, space: &str) -> Result<Self> {
        Ok(match req {
            Request::HubInfo => HttpRequest {
                method: "GET",
                path: "/v1/hub".into(),
                body: None,
                auth: false,
            },
            Request::Push { ops, epoch } => HttpRequest {
                method: "POST",
                path: space_path(space, "push"),
                body: Some(serde_json::to_string(&PushBody { ops, epoch: *epoch })?),
                auth: true,
            },
            Request::Pull { after, limit, epoch } => HttpRequest {
                method: "GET",
                path: if is_first(epoch) {
                    format!("{}?after={after}&limit={limit}", space_path(space, "pull"))
                } else {
                    format!(
                        "{}?after={after}&limit={limit}&epoch={epoch}",
                        space_path(space, "pull")
                    )
                },
                body: None,
                auth: true,
            },
            Request::Ack { seq } => HttpRequest {
                method: "POST",
                path: space_path(space, "ack"),
                body: Some(serde_json::to_string(&AckRequest { seq: *seq })?),
                auth: true,
            },
            Request::Snapshot { seq, after, limit } => HttpRequest {
                method: "GET",
                path: match seq {
                    Some(seq) => format!(
                        "{}?seq={seq}&after={after}&limit={limit}",
                        space_path(space, "snapshot")
                    ),
                    None => format!("{}?after={after}&limit={limit}", space_path(space, "snapshot")),
                },
                body: None,
                auth: true,
            },
        })
    }

    /// `POST /v1/pair`.
    pub fn pair(req: &PairRequest) -> Result<Self> {
        Ok(HttpRequest {
            method: "POST",
            path: "/v1/pair".into(),
            body: Some(serde_json::to_string(req)?),
            auth: false,
        })
    }

    /// `GET /v1/spaces/{space}/peers` (the network view).
    pub fn peers(space: &str) -> Self {
        HttpRequest {
            method: "GET",
            path: space_path(space, "peers"),
            body: None,
            auth: true,
        }
    }

    /// `GET /v1/spaces/{space}/events` (server-sent events of the head; the browser passes the token as
    /// `?token=` because `EventSource` cannot set headers).
    pub fn events(space: &str) -> Self {
        HttpRequest {
            method: "GET",
            path: space_path(space, "events"),
            body: None,
            auth: true,
        }
    }
}

impl Reply {
    /// The answer to `req` that a live event already carries: its page, when `req` is the pull that
    /// page answers ([`HeadEvent::answers`]). A driver that holds such an event skips the request.
    pub fn from_live(req: &Request, event: &HeadEvent) -> Option<Reply> {
        match req {
            Request::Pull { after, limit, epoch } => {
                event.answers(*after, *limit, *epoch).cloned().map(Reply::Pulled)
            }
            _ => None,
        }
    }

    /// Read the answer to `req` (for `space`): its HTTP status and body text.
    pub fn from_http(req: &Request, space: &str, status: u16, body: &str) -> Reply {
        if !(200..300).contains(&status) {
            return Reply::Error {
                status,
                body: serde_json::from_str::<ErrorBody>(body).ok(),
            };
        }
        let parsed = match req {
            Request::HubInfo => serde_json::from_str::<HubInfo>(body).map(|h| Reply::Hub {
                time_ms: h.time_ms,
                min_schema_version: h.spaces.get(space).map_or(0, |s| s.min_schema_version),
                migrations: h
                    .spaces
                    .get(space)
                    .map(|s| s.migrations.clone())
                    .unwrap_or_default(),
                kinds: h.kinds,
            }),
            Request::Push { .. } => serde_json::from_str::<PushResponse>(body).map(Reply::Pushed),
            Request::Pull { .. } => serde_json::from_str::<PullResponse>(body).map(Reply::Pulled),
            Request::Ack { .. } => Ok(Reply::Acked),
            Request::Snapshot { .. } => serde_json::from_str::<SnapshotPage>(body).map(Reply::Snapshot),
        };
        parsed.unwrap_or_else(|e| Reply::Network(format!("the hub's answer could not be read: {e}")))
    }
}

/// Read the answer to `POST /v1/pair`; `Err` is the hub's message (or the status) to show.
pub fn pair_reply(status: u16, body: &str) -> std::result::Result<PairResponse, String> {
    if (200..300).contains(&status) {
        return serde_json::from_str(body).map_err(|e| format!("the hub's pairing answer is not valid: {e}"));
    }
    Err(serde_json::from_str::<ErrorBody>(body)
        .map(|b| b.message)
        .unwrap_or_else(|_| format!("HTTP {status}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::op::{NewOp, OpId};
    use crate::wire::PushRequest;

    #[test]
    fn requests_encode_to_the_documented_paths_and_bodies() {
        let op = NewOp::set("n", "title", "x".into())
            .stamp("0193a1b2c3d4-0000-7f3a9c2e11aa0b3c".parse::<OpId>().unwrap());
        let push = HttpRequest::of(
            &Request::Push {
                ops: vec![op.clone()],
                epoch: 1,
            },
            "home",
        )
        .unwrap();
        assert_eq!(
            (push.method, push.path.as_str(), push.auth),
            ("POST", "/v1/spaces/home/push", true)
        );
        let body: PushRequest = serde_json::from_str(push.body.as_deref().unwrap()).unwrap();
        assert_eq!(body.ops, vec![op]);
        let ack = HttpRequest::of(&Request::Ack { seq: 9 }, "home").unwrap();
        assert_eq!(
            (ack.path.as_str(), ack.body.as_deref()),
            ("/v1/spaces/home/ack", Some(r#"{"seq":9}"#))
        );
        let info = HttpRequest::of(&Request::HubInfo, "home").unwrap();
        assert_eq!(
            (info.method, info.path.as_str(), info.auth),
            ("GET", "/v1/hub", false)
        );
    }

    #[test]
    fn answers_decode_by_status_and_request() {
        let info = r#"{"version":"0.1.0","protocols":[1],"time_ms":5,"spaces":{"home":{"epoch":1,"min_schema_version":2}}}"#;
        assert_eq!(
            Reply::from_http(&Request::HubInfo, "home", 200, info),
            Reply::Hub {
                time_ms: 5,
                min_schema_version: 2,
                kinds: None,
                migrations: Vec::new(),
            }
        );
        let err = Reply::from_http(
            &Request::Ack { seq: 1 },
            "home",
            426,
            r#"{"error":"upgrade_required","message":"update"}"#,
        );
        assert!(matches!(err, Reply::Error { status: 426, body: Some(b) } if b.error == "upgrade_required"));
        let html = Reply::from_http(&Request::Ack { seq: 1 }, "home", 502, "<html>bad gateway</html>");
        assert_eq!(
            html,
            Reply::Error {
                status: 502,
                body: None
            }
        );
        let garbled = Reply::from_http(
            &Request::Pull {
                after: 0,
                limit: 1,
                epoch: 1,
            },
            "home",
            200,
            "{",
        );
        assert!(matches!(garbled, Reply::Network(m) if m.contains("could not be read")));
        assert_eq!(
            pair_reply(401, r#"{"error":"unauthorized","message":"code used"}"#),
            Err("code used".into())
        );
    }
}
