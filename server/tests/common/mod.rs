//! Test helpers: a real hub on 127.0.0.1:0 with its data in a tempdir, and paired devices that talk to it
//! over real HTTP.
#![allow(dead_code, clippy::unwrap_used)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use hearth_core::wire::{PairRequest, PairResponse, PeersResponse, PullResponse, PushResponse};
use hearth_core::{Clock, DeviceId, Op, OpId, Timestamp};
use hearth_server::{AppState, Config, run};
use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Send a request; a transport failure (no answer at all) fails the test.
pub async fn send(req: RequestBuilder) -> Response {
    req.send().await.unwrap()
}

/// A hub running in this process.
pub struct TestHub {
    pub url: String,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestHub {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(f: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        f(&mut config);
        let state = AppState::open(config).unwrap();
        state.bootstrap().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestHub {
            url,
            state,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Graceful shutdown; returns what `run` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown().await
    }

    /// Graceful shutdown, keeping the data directory.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap(),
            None => Ok(()),
        }
    }

    /// Pair a new device to `space` (created if missing).
    pub async fn pair(&self, space: &str, name: &str) -> Device {
        let code = self.state.invite(space).unwrap();
        pair_with_code(&self.url, &code, name).await
    }

    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    /// The hub's address of `path` (which starts with `/`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A request to `path` without a token, to add headers or a body to before [`send`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client().request(method, self.at(path))
    }

    /// `GET path` without a token.
    pub async fn get(&self, path: &str) -> Response {
        send(self.request(Method::GET, path)).await
    }

    /// `GET path` with a bearer token.
    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        send(self.request(Method::GET, path).bearer_auth(token)).await
    }

    /// `POST path` of `body` as JSON, without a token.
    pub async fn post_json(&self, path: &str, body: &(impl Serialize + ?Sized)) -> Response {
        send(self.request(Method::POST, path).json(body)).await
    }

    /// `POST path` of `body` as JSON, with a bearer token.
    pub async fn post_json_with_token(
        &self,
        path: &str,
        token: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Response {
        send(self.request(Method::POST, path).bearer_auth(token).json(body)).await
    }

    /// `POST path` of raw bytes (no content type), without a token.
    pub async fn post_body(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        send(self.request(Method::POST, path).body(body)).await
    }
}

pub async fn pair_with_code(url: &str, code: &str, name: &str) -> Device {
    let res = send(
        reqwest::Client::new()
            .post(format!("{url}/v1/pair"))
            .json(&PairRequest {
                code: code.into(),
                name: name.into(),
                app_version: "0.1.0".into(),
                schema_version: hearth_core::migrate::LATEST,
                device: None,
            }),
    )
    .await;
    assert_eq!(res.status(), 200, "pairing failed: {}", res.text().await.unwrap());
    let p: PairResponse = res.json().await.unwrap();
    Device::new(url, p)
}

/// A paired device: makes ops stamped with its own id and pushes/pulls them.
pub struct Device {
    pub url: String,
    pub space: String,
    pub device: DeviceId,
    pub token: String,
    pub client: reqwest::Client,
    clock: Mutex<Clock>,
}

impl Device {
    pub fn new(url: &str, p: PairResponse) -> Self {
        Device {
            url: url.to_owned(),
            space: p.space,
            device: p.device,
            token: p.token,
            client: reqwest::Client::new(),
            clock: Mutex::new(Clock::new(Timestamp::default(), 0)),
        }
    }

    /// The address of `what` (`"push"`, `"pull?after=3"`, …) in this device's space.
    pub fn endpoint(&self, what: &str) -> String {
        format!("{}/v1/spaces/{}/{what}", self.url, self.space)
    }

    /// A request to `what` in this device's space with its token, to add headers or a body to before
    /// [`send`].
    pub fn request(&self, method: Method, what: &str) -> RequestBuilder {
        self.client
            .request(method, self.endpoint(what))
            .bearer_auth(&self.token)
    }

    /// `GET what` with this device's token.
    pub async fn get(&self, what: &str) -> Response {
        send(self.request(Method::GET, what)).await
    }

    /// `POST what` of `body` as JSON with this device's token.
    pub async fn post_json(&self, what: &str, body: &(impl Serialize + ?Sized)) -> Response {
        send(self.request(Method::POST, what).json(body)).await
    }

    /// `POST what` of raw bytes (no content type) with this device's token.
    pub async fn post_body(&self, what: &str, body: impl Into<reqwest::Body>) -> Response {
        send(self.request(Method::POST, what).body(body)).await
    }

    /// A fresh op id of this device.
    pub fn next_id(&self) -> OpId {
        OpId {
            ts: self.clock.lock().unwrap().tick(now_ms()),
            device: self.device,
        }
    }

    /// A fresh `node.set` of this device.
    pub fn op(&self, node: &str, value: &str) -> Op {
        Op {
            id: self.next_id(),
            kind: "node.set".into(),
            v: 1,
            payload: json!({"node": node, "field": "title", "value": value}),
        }
    }

    pub fn ops(&self, n: usize, tag: &str) -> Vec<Op> {
        (0..n)
            .map(|i| self.op(&format!("{tag}-{i}"), &format!("{tag} {i}")))
            .collect()
    }

    pub async fn push_raw(&self, ops: &[Op]) -> Response {
        self.post_json("push", &json!({"ops": ops})).await
    }

    pub async fn push(&self, ops: &[Op]) -> PushResponse {
        let res = self.push_raw(ops).await;
        assert_eq!(res.status(), 200, "push failed: {}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    pub async fn pull_raw(&self, after: u64, limit: usize) -> Response {
        self.get(&format!("pull?after={after}&limit={limit}")).await
    }

    pub async fn pull(&self, after: u64, limit: usize) -> PullResponse {
        let res = self.pull_raw(after, limit).await;
        assert_eq!(res.status(), 200, "pull failed: {}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    /// The space's network view, as this device sees it.
    pub async fn peers(&self) -> PeersResponse {
        let res = self.get("peers").await;
        assert_eq!(res.status(), 200, "peers failed: {}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    /// Everything after `after`, page by page.
    pub async fn pull_all(&self, mut after: u64) -> Vec<hearth_core::SeqOp> {
        let mut all = Vec::new();
        loop {
            let page = self.pull(after, 1000).await;
            if page.ops.is_empty() {
                return all;
            }
            after = page.next;
            all.extend(page.ops);
        }
    }
}

/// Every endpoint of `space` answers `dev`'s token with 403 `forbidden`: no cross reads or writes.
pub async fn expect_forbidden_everywhere(dev: &Device, hub_url: &str, space: &str) {
    let base = format!("{hub_url}/v1/spaces/{space}");
    let req = |method: Method, path: &str| {
        dev.client
            .request(method, format!("{base}/{path}"))
            .bearer_auth(&dev.token)
    };
    for path in ["pull?after=0", "peers", "events"] {
        expect_error(send(req(Method::GET, path)).await, 403, "forbidden").await;
    }
    let push = json!({"ops": [dev.op("x", "sneak")]});
    expect_error(
        send(req(Method::POST, "push").json(&push)).await,
        403,
        "forbidden",
    )
    .await;
    let ack = json!({"seq": 1});
    expect_error(send(req(Method::POST, "ack").json(&ack)).await, 403, "forbidden").await;
}

/// Check an error response: status, `error` code, and return the body.
pub async fn expect_error(res: Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], code, "body: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 10),
        "a message that says what to do: {body}"
    );
    body
}

/// A running `hearth serve` process, killed on drop.
pub struct HubProcess {
    pub child: Child,
    pub url: String,
}

impl HubProcess {
    /// `hearth serve --listen LISTEN` with `args` (where its data is, limits…); returns once it prints
    /// the URL it serves.
    pub fn spawn<A: AsRef<OsStr>>(listen: &str, args: impl IntoIterator<Item = A>) -> HubProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(["serve", "--listen", listen])
            .args(args)
            .env_remove("HEARTH_DATA")
            .env_remove("HEARTH_DATABASE")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(i) = line.find("http://") {
                    let _ = tx.send(line[i..].split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the hub prints the URL it serves");
        HubProcess { child, url }
    }

    /// SIGKILL, and wait for it to be gone.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next SSE event's `data:` as JSON, from a response's byte stream.
pub async fn next_event(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
) -> serde_json::Value {
    use futures_util::StreamExt;
    loop {
        if let Some(i) = buf.find("\n\n") {
            let event: String = buf.drain(..i + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(data).unwrap();
            }
            continue;
        }
        let chunk = stream.next().await.unwrap().unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

/// A fresh database on the test run's PostgreSQL server, as a connection string (its client blocks:
/// off the async threads).
pub fn pg_database() -> String {
    std::thread::spawn(|| {
        hearth_server::pg::cluster::shared()
            .expect("a PostgreSQL server for the tests")
            .new_database()
            .expect("a fresh database")
    })
    .join()
    .unwrap()
}

/// Output bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `bin ARGS… --home HOME`: the `hearth` CLI of a device (`bin`: this release's or another's).
pub fn cli(bin: &std::path::Path, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .args(args)
        .arg("--home")
        .arg(home)
        .env_remove("HEARTH_HOME")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hearth")
}

/// [`cli`], which must succeed without logging an error; its standard output.
pub fn cli_ok(bin: &std::path::Path, home: &std::path::Path, args: &[&str]) -> String {
    let out = cli(bin, home, args);
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        bin.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("ERROR"),
        "{} {args:?} logged an error: {}",
        bin.display(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// [`cli_ok`] with `--json`, parsed.
pub fn cli_json(bin: &std::path::Path, home: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&cli_ok(bin, home, &all)).expect("json output")
}

/// `task add TITLE ARGS… --json`: the new task's id.
pub fn cli_add_task(bin: &std::path::Path, home: &std::path::Path, title: &str, args: &[&str]) -> String {
    let mut all = vec!["task", "add", title];
    all.extend_from_slice(args);
    cli_json(bin, home, &all)["id"].as_str().expect("id").to_owned()
}
