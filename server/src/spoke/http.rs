//! The HTTP side of sync for the command line: moves the sans-IO engine's requests (encoded by
//! [`HttpRequest::of`]) with a blocking client and hands status and body back ([`Reply::from_http`]).
//! A pull that a held live event already answers ([`Reply::from_live`]) is not sent.

use std::time::Duration;

use anyhow::Context;
use hearth_core::sync::{HttpRequest, Reply, Request, pair_reply, version_headers};
use hearth_core::wire::{HeadEvent, PairRequest, PairResponse};
use reqwest::blocking::{Client, RequestBuilder};

/// A paired hub.
#[derive(Debug)]
pub struct Hub {
    client: Client,
    url: String,
    space: String,
    token: String,
    /// The next pull page, fetched while the engine applies the current one: `(after, limit, reply)`.
    prefetch: std::sync::Mutex<Option<(u64, usize, std::thread::JoinHandle<Reply>)>>,
    /// A live event that carried ops: it answers the pull it follows on from.
    live: std::sync::Mutex<Option<HeadEvent>>,
    /// The hub's last info answer and when it came: the next round may skip asking again.
    info: std::sync::Mutex<Option<(std::time::Instant, KnownInfo)>>,
}

/// What a round needs of `GET /v1/hub` when it skips asking: the space's minimum schema version and
/// the op kinds the hub applies.
pub type KnownInfo = (i64, Option<std::collections::BTreeMap<String, u32>>);

/// How long an info answer stands in for asking again.
const INFO_FRESH: Duration = Duration::from_secs(30);

fn client(timeout: Option<Duration>) -> anyhow::Result<Client> {
    Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()
        .context("cannot create an HTTP client")
}

fn versioned(mut b: RequestBuilder) -> RequestBuilder {
    for (name, value) in version_headers() {
        b = b.header(name, value);
    }
    b
}

/// Send `req` to the hub at `base` (with `token` when the request needs it); status and body text.
fn perform(
    client: &Client,
    base: &str,
    token: Option<&str>,
    req: &HttpRequest,
) -> Result<(u16, String), reqwest::Error> {
    let url = format!("{base}{}", req.path);
    let mut b = versioned(match req.method {
        "POST" => client.post(url),
        _ => client.get(url),
    });
    if let (true, Some(token)) = (req.auth, token) {
        b = b.bearer_auth(token);
    }
    if let Some(body) = &req.body {
        b = b
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
    }
    let resp = b.send()?;
    let status = resp.status().as_u16();
    Ok((status, resp.text()?))
}

/// Pair with a hub using a one-time code.
pub fn pair(url: &str, req: &PairRequest) -> anyhow::Result<PairResponse> {
    let url = url.trim_end_matches('/');
    let client = client(Some(Duration::from_secs(30)))?;
    let (status, body) = perform(&client, url, None, &HttpRequest::pair(req)?)
        .with_context(|| format!("cannot reach the hub at {url}; is `hearth serve` running there?"))?;
    pair_reply(status, &body).map_err(|message| match status {
        200..300 => anyhow::anyhow!(message),
        _ => anyhow::anyhow!("pairing failed: {message}"),
    })
}

/// The network view of `space` from the hub at `url` (`GET …/peers`), waiting at most `timeout`.
pub fn peers(
    url: &str,
    space: &str,
    token: &str,
    timeout: Duration,
) -> anyhow::Result<hearth_core::wire::PeersResponse> {
    let url = url.trim_end_matches('/');
    let client = Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .context("cannot create an HTTP client")?;
    let (status, body) = perform(&client, url, Some(token), &HttpRequest::peers(space))
        .with_context(|| format!("the hub at {url} is unreachable"))?;
    if status != 200 {
        let message = serde_json::from_str::<hearth_core::wire::ErrorBody>(&body)
            .map(|b| b.message)
            .unwrap_or_else(|_| format!("HTTP {status}"));
        anyhow::bail!("the hub refused: {message}");
    }
    serde_json::from_str(&body).context("the hub's network view could not be read")
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
            live: std::sync::Mutex::new(None),
            info: std::sync::Mutex::new(None),
        })
    }

    /// Hold a live event: if it carries ops, the next pull that follows on from it uses them.
    pub fn hold(&self, event: HeadEvent) {
        if let Ok(mut live) = self.live.lock() {
            *live = event.page.is_some().then_some(event);
        }
    }

    /// The hub's info from a recent round, if there was one in the last 30 s.
    pub fn known_info(&self) -> Option<KnownInfo> {
        let info = self.info.lock().ok()?;
        info.as_ref()
            .filter(|(at, _)| at.elapsed() < INFO_FRESH)
            .map(|(_, i)| i.clone())
    }

    /// A round had a problem: the next one asks for the hub's info again, and pulls instead of using
    /// a live event held meanwhile (the hub may have compacted past this device since).
    pub fn forget(&self) {
        if let Ok(mut info) = self.info.lock() {
            *info = None;
        }
        if let Ok(mut live) = self.live.lock() {
            *live = None;
        }
    }

    fn handle(&self) -> Hub {
        Hub {
            client: self.client.clone(),
            url: self.url.clone(),
            space: self.space.clone(),
            token: self.token.clone(),
            prefetch: std::sync::Mutex::new(None),
            live: std::sync::Mutex::new(None),
            info: std::sync::Mutex::new(None),
        }
    }

    /// Perform one request of the sync engine. While the engine applies a pull page that is not the
    /// last, the next page is already being fetched; it is used only if the engine asks for exactly it.
    pub fn send(&self, req: &Request) -> Reply {
        if matches!(req, Request::Pull { .. }) {
            let live = self.live.lock().map(|mut l| l.take()).unwrap_or(None);
            if let Some(reply) = live.and_then(|event| Reply::from_live(req, &event)) {
                return reply;
            }
        }
        let pending = self.prefetch.lock().map(|mut p| p.take()).unwrap_or(None);
        let reply = match (req, pending) {
            (Request::Pull { after, limit, .. }, Some((a, l, handle))) if *after == a && *limit == l => {
                handle
                    .join()
                    .unwrap_or_else(|_| Reply::Network("the prefetch thread failed".into()))
            }
            _ => self.send_now(req),
        };
        if let Reply::Hub {
            min_schema_version,
            kinds,
            ..
        } = &reply
            && let Ok(mut info) = self.info.lock()
        {
            *info = Some((std::time::Instant::now(), (*min_schema_version, kinds.clone())));
        }
        if let (Request::Pull { limit, epoch, .. }, Reply::Pulled(page)) = (req, &reply)
            && page.next < page.head
            && !page.ops.is_empty()
        {
            let (after, limit, epoch, hub) = (page.next, *limit, *epoch, self.handle());
            let handle = std::thread::spawn(move || hub.send_now(&Request::Pull { after, limit, epoch }));
            if let Ok(mut p) = self.prefetch.lock() {
                *p = Some((after, limit, handle));
            }
        }
        reply
    }

    fn send_now(&self, req: &Request) -> Reply {
        let http = match HttpRequest::of(req, &self.space) {
            Ok(h) => h,
            Err(e) => return Reply::Network(format!("could not encode the request: {e}")),
        };
        match perform(&self.client, &self.url, Some(&self.token), &http) {
            Ok((status, body)) => Reply::from_http(req, &self.space, status, &body),
            Err(e) => Reply::Network(describe(&e)),
        }
    }

    /// Open the live event stream (SSE). Each call of the returned iterator yields the next event.
    pub fn events(&self) -> anyhow::Result<impl Iterator<Item = anyhow::Result<HeadEvent>>> {
        use std::io::BufRead;
        let events = HttpRequest::events(&self.space);
        let resp = versioned(client(None)?.get(format!("{}{}", self.url, events.path)))
            .bearer_auth(&self.token)
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
                .and_then(|d| serde_json::from_str::<HeadEvent>(d.trim()).ok())
                .map(Ok),
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
