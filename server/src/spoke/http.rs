//! The HTTP side of sync for the command line: performs the sans-IO engine's requests with a blocking
//! client and turns every answer into a [`Reply`].

use std::time::Duration;

use anyhow::Context;
use hearth_core::sync::{Reply, Request};
use hearth_core::wire::{
    APP_VERSION, APP_VERSION_HEADER, AckRequest, ErrorBody, HubInfo, PairRequest, PairResponse, PullResponse,
    PushRequest, PushResponse, SCHEMA_VERSION_HEADER,
};
use reqwest::blocking::{Client, RequestBuilder, Response};

/// A paired hub.
#[derive(Debug)]
pub struct Hub {
    client: Client,
    url: String,
    space: String,
    token: String,
    /// The next pull page, fetched while the engine applies the current one: `(after, limit, reply)`.
    prefetch: std::sync::Mutex<Option<(u64, usize, std::thread::JoinHandle<Reply>)>>,
}

fn client(timeout: Option<Duration>) -> anyhow::Result<Client> {
    Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()
        .context("cannot create an HTTP client")
}

fn versioned(b: RequestBuilder) -> RequestBuilder {
    b.header(APP_VERSION_HEADER, APP_VERSION)
        .header(SCHEMA_VERSION_HEADER, hearth_core::migrate::LATEST)
}

/// The hub's JSON error, or a description of what came back instead.
fn error_of(status: u16, resp: Response) -> Reply {
    let body = resp.json::<ErrorBody>().ok();
    Reply::Error { status, body }
}

/// Pair with a hub using a one-time code.
pub fn pair(url: &str, req: &PairRequest) -> anyhow::Result<PairResponse> {
    let url = url.trim_end_matches('/');
    let resp = versioned(client(Some(Duration::from_secs(30)))?.post(format!("{url}/v1/pair")))
        .json(req)
        .send()
        .with_context(|| format!("cannot reach the hub at {url}; is `hearth serve` running there?"))?;
    let status = resp.status();
    if status.is_success() {
        return resp.json().context("the hub's pairing answer is not valid");
    }
    let message = resp
        .json::<ErrorBody>()
        .map(|b| b.message)
        .unwrap_or_else(|_| format!("HTTP {status}"));
    anyhow::bail!("pairing failed: {message}")
}

impl Hub {
    /// A hub at `url` for `space`, authenticated by `token`.
    pub fn new(url: &str, space: &str, token: &str) -> anyhow::Result<Self> {
        Ok(Hub {
            client: client(Some(Duration::from_secs(60)))?,
            url: url.trim_end_matches('/').to_owned(),
            space: space.to_owned(),
            token: token.to_owned(),
            prefetch: std::sync::Mutex::new(None),
        })
    }

    fn handle(&self) -> Hub {
        Hub {
            client: self.client.clone(),
            url: self.url.clone(),
            space: self.space.clone(),
            token: self.token.clone(),
            prefetch: std::sync::Mutex::new(None),
        }
    }

    /// Perform one request of the sync engine. While the engine applies a pull page that is not the
    /// last, the next page is already being fetched; it is used only if the engine asks for exactly it.
    pub fn send(&self, req: &Request) -> Reply {
        let pending = self.prefetch.lock().map(|mut p| p.take()).unwrap_or(None);
        let reply = match (req, pending) {
            (Request::Pull { after, limit }, Some((a, l, handle))) if *after == a && *limit == l => handle
                .join()
                .unwrap_or_else(|_| Reply::Network("the prefetch thread failed".into())),
            _ => self.send_now(req),
        };
        if let (Request::Pull { limit, .. }, Reply::Pulled(page)) = (req, &reply)
            && page.next < page.head
            && !page.ops.is_empty()
        {
            let (after, limit, hub) = (page.next, *limit, self.handle());
            let handle = std::thread::spawn(move || hub.send_now(&Request::Pull { after, limit }));
            if let Ok(mut p) = self.prefetch.lock() {
                *p = Some((after, limit, handle));
            }
        }
        reply
    }

    fn space_url(&self, path: &str) -> String {
        format!("{}/v1/spaces/{}/{path}", self.url, self.space)
    }

    fn authed(&self, b: RequestBuilder) -> RequestBuilder {
        versioned(b).bearer_auth(&self.token)
    }

    fn send_now(&self, req: &Request) -> Reply {
        let sent = match req {
            Request::HubInfo => versioned(self.client.get(format!("{}/v1/hub", self.url))).send(),
            Request::Push { ops } => self
                .authed(self.client.post(self.space_url("push")))
                .json(&PushRequest { ops: ops.clone() })
                .send(),
            Request::Pull { after, limit } => self
                .authed(
                    self.client
                        .get(format!("{}?after={after}&limit={limit}", self.space_url("pull"))),
                )
                .send(),
            Request::Ack { seq } => self
                .authed(self.client.post(self.space_url("ack")))
                .json(&AckRequest { seq: *seq })
                .send(),
        };
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Reply::Network(describe(&e)),
        };
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            return error_of(status, resp);
        }
        let parsed = match req {
            Request::HubInfo => resp.json::<HubInfo>().map(|h| Reply::Hub {
                time_ms: h.time_ms,
                min_schema_version: h.spaces.get(&self.space).map_or(0, |s| s.min_schema_version),
            }),
            Request::Push { .. } => resp.json::<PushResponse>().map(Reply::Pushed),
            Request::Pull { .. } => resp.json::<PullResponse>().map(Reply::Pulled),
            Request::Ack { .. } => Ok(Reply::Acked),
        };
        parsed.unwrap_or_else(|e| Reply::Network(format!("the hub's answer could not be read: {e}")))
    }

    /// Open the live event stream (SSE). Each call of the returned iterator yields the next head.
    pub fn events(&self) -> anyhow::Result<impl Iterator<Item = anyhow::Result<u64>>> {
        use std::io::BufRead;
        let resp = self
            .authed(client(None)?.get(self.space_url("events")))
            .header("Accept", "text/event-stream")
            .send()
            .map_err(|e| anyhow::anyhow!(describe(&e)))?;
        anyhow::ensure!(
            resp.status().is_success(),
            "the hub refused the live stream: HTTP {}",
            resp.status()
        );
        let lines = std::io::BufReader::new(resp).lines();
        Ok(lines.filter_map(|line| match line {
            Err(e) => Some(Err(anyhow::anyhow!("the live stream broke: {e}"))),
            Ok(l) => l
                .strip_prefix("data:")
                .and_then(|d| serde_json::from_str::<hearth_core::wire::HeadEvent>(d.trim()).ok())
                .map(|e| Ok(e.head)),
        }))
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
