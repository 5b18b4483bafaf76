//! The browser's sync driver: performs the requests of [`hearth_core::sync`]'s sans-IO engine with
//! `fetch`, and decides when to run a round:
//!
//! * right after a local edit (edits made while a round is under way share the next one);
//! * when the hub's live stream (`/events`, SSE) announces a head beyond this device's cursor (unless a
//!   round reached that head meanwhile, e.g. the round that pushed the change announced); when the
//!   event carries the ops after this device's cursor, the round applies them without a pull;
//! * when the browser comes back `online`, and every minute as a safety net;
//! * after a failed round, with exponential backoff (1 s … 30 s) while the hub is unreachable.
//!
//! A round that restored from the hub's snapshot (this device was behind the horizon) emits
//! `{source: "sync", recovered, message}` once, beside the usual `{source: "remote"}`; a round that set
//! changes of this device aside (the hub refuses them as they are) emits
//! `{source: "sync", quarantined: [{id, reason}]}`.
//!
//! A round asks the hub for its clock and minimum schema (`GET /v1/hub`) only when no round did in the
//! last 30 s or the last round had a problem; otherwise its first request is the push (or the pull).
//! Pulled changes are told (`{source: "remote"}`) as soon as they are applied, before the round's ack.
//!
//! Rounds never overlap: `syncNow()` and the background loop take turns.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use hearth_core::DeviceId;
use hearth_core::sync::{
    HttpRequest, Problem, Recovery, Reply, Request, Step, Sync, SyncConfig, SyncReport, pair_reply,
    version_headers,
};
use hearth_core::wire::{APP_VERSION, ErrorBody, HeadEvent, PairRequest, PairResponse, PeersResponse};
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result, codes, describe};

const IDLE_MS: u64 = 60_000;
const HUB_INFO_MS: u64 = 30_000;
const BACKOFF_MIN_MS: u64 = 1_000;
const BACKOFF_MAX_MS: u64 = 30_000;

fn now() -> u64 {
    js_sys::Date::now() as u64
}

fn global_fn(name: &str) -> Result<js_sys::Function> {
    js_sys::Reflect::get(&js_sys::global(), &name.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| Error::new(codes::INTERNAL, format!("this browser context has no {name}()")))
}

/// Resolve after `ms` milliseconds.
pub async fn sleep(ms: u64) {
    let Ok(set_timeout) = global_fn("setTimeout") else {
        return;
    };
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = set_timeout.call2(&JsValue::NULL, &resolve, &JsValue::from_f64(ms as f64));
    });
    let _ = JsFuture::from(p).await;
}

/// Whether the browser says it is online (a round starts only then: offline, it ends at once).
pub(crate) fn online() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"onLine".into()))
        .map(|v| v.as_bool() != Some(false))
        .unwrap_or(true)
}

struct HttpReply {
    status: u16,
    body: String,
}

/// `fetch` one request of the protocol from the hub at `base`, with Hearth's version headers (and the
/// bearer token when the request needs it); `Err` is a network failure.
async fn http(base: &str, req: &HttpRequest, token: Option<&str>) -> std::result::Result<HttpReply, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(req.method);
    let headers = web_sys::Headers::new().map_err(|e| describe(&e))?;
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| describe(&e));
    for (name, value) in version_headers() {
        set(name, &value)?;
    }
    if let (true, Some(t)) = (req.auth, token) {
        set("Authorization", &format!("Bearer {t}"))?;
    }
    if let Some(b) = &req.body {
        set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(b));
    }
    let url = format!("{base}{}", req.path);
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(|e| describe(&e))?;
    let fetch = global_fn("fetch").map_err(|e| e.message)?;
    let promise: js_sys::Promise = fetch
        .call1(&JsValue::NULL, &request)
        .map_err(|e| describe(&e))?
        .dyn_into()
        .map_err(|e| describe(&e))?;
    let resp: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(|e| describe(&e))?
        .dyn_into()
        .map_err(|e| describe(&e))?;
    let text = JsFuture::from(resp.text().map_err(|e| describe(&e))?)
        .await
        .map_err(|e| describe(&e))?;
    Ok(HttpReply {
        status: resp.status(),
        body: text.as_string().unwrap_or_default(),
    })
}

/// `POST /v1/pair`.
pub async fn pair(hub: &str, code: &str, name: &str, device: DeviceId) -> Result<PairResponse> {
    let req = PairRequest {
        code: code.to_owned(),
        name: name.to_owned(),
        app_version: APP_VERSION.into(),
        schema_version: hearth_core::migrate::LATEST,
        device: Some(device),
    };
    // The browser's own words ("TypeError: Failed to fetch") say nothing to a person: they go to the log.
    let reply = http(hub, &HttpRequest::pair(&req)?, None).await.map_err(|e| {
        web_sys::console::debug_2(&"hearth: the pairing request failed:".into(), &e.into());
        Error::new(
            codes::NETWORK,
            format!(
                "The hub at {hub} cannot be reached. Check that it is running and reachable from this device; \
                 the code stays valid until it expires."
            ),
        )
    })?;
    pair_reply(reply.status, &reply.body).map_err(|message| {
        if reply.status < 300 {
            Error::new(codes::HUB, message)
        } else {
            Error::new(codes::HUB, format!("That code did not work: {message}."))
        }
    })
}

/// `GET /v1/spaces/{space}/peers`: the hub's network view of the space (every device, with what it
/// acked and when it was last seen). Needs the hub: offline, or when the hub cannot be reached, the
/// error (`network`) says so.
pub async fn peers(hub: &str, space: &str, token: &str) -> Result<PeersResponse> {
    let unreachable = |why: &str| {
        Error::new(
            codes::NETWORK,
            format!("the list of devices comes from the hub at {hub}, which cannot be reached ({why})"),
        )
    };
    if !online() {
        return Err(unreachable("this device is offline"));
    }
    let req = HttpRequest {
        method: "GET",
        path: format!(
            "/v1/spaces/{}/peers",
            String::from(js_sys::encode_uri_component(space))
        ),
        body: None,
        auth: true,
    };
    let reply = http(hub, &req, Some(token)).await.map_err(|e| unreachable(&e))?;
    if !(200..300).contains(&reply.status) {
        let message = serde_json::from_str::<ErrorBody>(&reply.body)
            .map(|b| b.message)
            .unwrap_or_else(|_| format!("HTTP {}", reply.status));
        return Err(Error::new(
            codes::HUB,
            format!("the hub did not give the list of devices: {message}"),
        ));
    }
    serde_json::from_str(&reply.body).map_err(|e| {
        Error::new(
            codes::HUB,
            format!("the hub's list of devices could not be read ({e}); update Hearth"),
        )
    })
}

/// The change event for changes a round set aside: `{source: "sync", quarantined: [{id, reason}]}`.
pub(crate) fn quarantine_event(set_aside: &[(String, String)]) -> serde_json::Value {
    let list: Vec<_> = set_aside
        .iter()
        .map(|(id, reason)| json!({"id": id, "reason": reason}))
        .collect();
    json!({"source": "sync", "quarantined": list})
}

/// The change event, and `status().lastRecovery` (without `source`), for a restore from the hub's
/// snapshot: `{source: "sync", recovered: {snapshot_seq, entries, kept, verified, at_ms}, message}`.
pub(crate) fn recovery_event(r: &Recovery) -> serde_json::Value {
    json!({"source": "sync", "recovered": r, "message": r.to_string()})
}

/// What the driver needs from the client that owns it: the store, and ways to tell the page.
pub(crate) trait Host {
    /// The store being synced.
    fn store(&self) -> &RefCell<hearth_core::Store>;
    /// Report the sync state (`syncing`, `synced`, `offline`, `update`, `error`) with an optional reason.
    fn set_sync_state(&self, state: &str, error: Option<String>);
    /// Send a change event to the page.
    fn emit(&self, event: &serde_json::Value);
}

/// Syncs one paired store in the background.
pub(crate) struct Driver {
    hub: String,
    space: String,
    token: String,
    pending: Cell<bool>,
    /// The highest head the live stream announced.
    heard: Cell<u64>,
    /// The last live event, when it carried ops after this device's cursor.
    live: RefCell<Option<HeadEvent>>,
    /// When a round last learned the hub's info, the space's minimum schema version it gave, and the
    /// op kinds the hub listed.
    #[allow(clippy::type_complexity)]
    hub_info: Cell<Option<(u64, i64, Option<std::collections::BTreeMap<String, u32>>)>>,
    stopped: Cell<bool>,
    running: Cell<bool>,
    wake: RefCell<Option<js_sys::Function>>,
    events: RefCell<Option<web_sys::EventSource>>,
    #[allow(clippy::type_complexity)]
    handlers: RefCell<Vec<Closure<dyn FnMut(web_sys::Event)>>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("hub", &self.hub)
            .field("space", &self.space)
            .finish()
    }
}

impl Driver {
    /// A driver for `space` at `hub`, authenticated by `token`.
    pub fn new(hub: String, space: String, token: String) -> Self {
        Driver {
            hub,
            space,
            token,
            pending: Cell::new(true),
            heard: Cell::new(0),
            live: RefCell::new(None),
            hub_info: Cell::new(None),
            stopped: Cell::new(false),
            running: Cell::new(false),
            wake: RefCell::new(None),
            events: RefCell::new(None),
            handlers: RefCell::new(Vec::new()),
        }
    }

    /// A local edit happened: push it soon.
    pub fn local_edit(&self) {
        self.wake();
    }

    fn wake(&self) {
        self.pending.set(true);
        self.resume();
    }

    /// The live stream announced `head`, beyond this device's cursor: pull it.
    fn hear(&self, head: u64) {
        self.heard.set(self.heard.get().max(head));
        self.resume();
    }

    fn resume(&self) {
        if let Some(resolve) = self.wake.borrow_mut().take() {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::TRUE);
        }
    }

    /// Wait for a wake-up or `ms`, whichever comes first; true when woken.
    async fn idle(&self, ms: u64) -> bool {
        let Ok(set_timeout) = global_fn("setTimeout") else {
            return false;
        };
        let p = js_sys::Promise::new(&mut |resolve, _| {
            let _ = set_timeout.call2(&JsValue::NULL, &resolve, &JsValue::from_f64(ms as f64));
            *self.wake.borrow_mut() = Some(resolve);
        });
        let woken = JsFuture::from(p).await.is_ok_and(|v| v.is_truthy());
        self.wake.borrow_mut().take();
        woken
    }

    /// Stop the loop and close the live stream.
    pub fn stop(&self) {
        self.stopped.set(true);
        if let Some(es) = self.events.borrow_mut().take() {
            es.close();
        }
        self.wake();
        self.handlers.borrow_mut().clear();
    }

    /// Listen to the live stream and `online`, and run the background loop.
    pub(crate) fn start<H: Host + 'static>(self: &Rc<Self>, inner: Weak<H>) {
        let url = format!(
            "{}{}?token={}",
            self.hub,
            HttpRequest::events(&self.space).path,
            String::from(js_sys::encode_uri_component(&self.token))
        );
        let weak = Rc::downgrade(self);
        let inner_for_events = inner.clone();
        let on_event = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let (Some(d), Some(inner)) = (weak.upgrade(), inner_for_events.upgrade()) else {
                return;
            };
            let Some(data) = ev
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            let Ok(event) = serde_json::from_str::<HeadEvent>(&data) else {
                return;
            };
            let cursor = inner
                .store()
                .try_borrow()
                .ok()
                .and_then(|s| s.cursor().ok())
                .unwrap_or(0);
            if event.head > cursor {
                let head = event.head;
                *d.live.borrow_mut() = event.page.is_some().then_some(event);
                d.hear(head);
            }
        });
        match web_sys::EventSource::new(&url) {
            Ok(es) => {
                es.set_onmessage(Some(on_event.as_ref().unchecked_ref()));
                *self.events.borrow_mut() = Some(es);
            }
            Err(e) => web_sys::console::warn_2(&"hearth: no live stream; syncing on a timer".into(), &e),
        }
        let weak = Rc::downgrade(self);
        let on_online = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(d) = weak.upgrade() {
                d.wake();
            }
        });
        if let Ok(add) = js_sys::Reflect::get(&js_sys::global(), &"addEventListener".into())
            .and_then(|f| f.dyn_into::<js_sys::Function>())
        {
            let _ = add.call2(
                &js_sys::global(),
                &"online".into(),
                on_online.as_ref().unchecked_ref(),
            );
        }
        self.handlers.borrow_mut().extend([on_event, on_online]);
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move { me.run(inner).await });
    }

    /// Whether the live stream announced a head beyond this device's cursor.
    fn behind<H: Host + ?Sized>(&self, inner: &H) -> bool {
        let cursor = inner.store().try_borrow().ok().and_then(|s| s.cursor().ok());
        cursor.is_some_and(|c| self.heard.get() > c)
    }

    async fn run<H: Host>(self: Rc<Self>, inner: Weak<H>) {
        let mut backoff = 0u64;
        loop {
            let due = self.pending.get() || inner.upgrade().is_some_and(|i| self.behind(i.as_ref()));
            let woken = due || self.idle(if backoff > 0 { backoff } else { IDLE_MS }).await;
            if self.stopped.get() {
                return;
            }
            let Some(inner) = inner.upgrade() else { return };
            // Woken by the live stream only, for a head a round has reached meanwhile: nothing to do.
            if !self.pending.replace(false) && woken && !self.behind(inner.as_ref()) {
                continue;
            }
            backoff = match self.round(inner.as_ref()).await {
                Ok(r) if r.problem.is_none() => 0,
                Ok(SyncReport {
                    problem: Some(Problem::Unreachable { .. }),
                    ..
                }) => (backoff * 2).clamp(BACKOFF_MIN_MS, BACKOFF_MAX_MS),
                Ok(_) | Err(_) => IDLE_MS,
            };
        }
    }

    /// One sync round, now (waits for a round in progress to end first).
    pub(crate) async fn round<H: Host + ?Sized>(&self, inner: &H) -> Result<SyncReport> {
        while self.running.get() {
            sleep(20).await;
        }
        self.running.set(true);
        let result = self.round_inner(inner).await;
        self.running.set(false);
        // A round that could not finish (offline, say) drops the live event it held: by the next
        // round the hub may have compacted past this device, which must then hear so from a pull.
        if !matches!(&result, Ok(r) if r.problem.is_none()) {
            self.live.borrow_mut().take();
        }
        match &result {
            Ok(r) => match &r.problem {
                // Below the space's minimum version: pulls work, pushes wait for an update.
                None if r.update_required.is_some() => {
                    inner.set_sync_state("update", r.update_required.clone())
                }
                None => inner.set_sync_state("synced", None),
                Some(p @ Problem::Unreachable { .. }) => inner.set_sync_state("offline", Some(p.to_string())),
                Some(p) => inner.set_sync_state("error", Some(p.to_string())),
            },
            Err(e) => inner.set_sync_state("error", Some(e.message.clone())),
        }
        result
    }

    async fn round_inner<H: Host + ?Sized>(&self, inner: &H) -> Result<SyncReport> {
        if !online() {
            let unsent = inner.store().borrow().outbox_len()?;
            return Ok(SyncReport {
                unsent,
                problem: Some(Problem::Unreachable {
                    message: "the browser is offline".into(),
                }),
                ..SyncReport::default()
            });
        }
        inner.set_sync_state("syncing", None);
        let cfg = SyncConfig {
            max_retries: Some(2),
            ..SyncConfig::default()
        };
        let known = self
            .hub_info
            .take()
            .filter(|(at, _, _)| now().saturating_sub(*at) < HUB_INFO_MS);
        let mut sync = Sync::knowing(
            cfg,
            &inner.store().borrow(),
            known.as_ref().map(|(_, min, kinds)| (*min, kinds.as_ref())),
        );
        let mut info = None;
        let mut told = 0;
        let report = loop {
            let step = sync.poll(&mut inner.store().borrow_mut(), now())?;
            let step = match step {
                Step::Send(req) => {
                    // The ops a live event carried answer the pull that follows on from them.
                    let live = match &req {
                        Request::Pull { .. } => self.live.borrow_mut().take(),
                        _ => None,
                    };
                    let reply = match live.and_then(|event| Reply::from_live(&req, &event)) {
                        Some(reply) => reply,
                        None => self.send(&req).await,
                    };
                    if let Reply::Hub {
                        min_schema_version,
                        kinds,
                        ..
                    } = &reply
                    {
                        info = Some((now(), *min_schema_version, kinds.clone()));
                    }
                    sync.handle(&mut inner.store().borrow_mut(), reply, now())?
                }
                other => Some(other),
            };
            // Pulled changes are in the store: tell the page now, not after the ack.
            let pulled = sync.report().pulled;
            if pulled > told {
                inner.emit(&json!({"source": "remote", "ops": pulled - told}));
                told = pulled;
            }
            match step {
                Some(Step::Sleep(ms)) => sleep(ms).await,
                Some(Step::Done(report)) => break report,
                Some(Step::Send(_)) | None => {}
            }
        };
        // The next round may skip asking for the hub's info, unless this one had a problem.
        if report.problem.is_none() {
            self.hub_info.set(info.or(known));
        }
        // A restore from the snapshot changes the data even when no op was pulled after it.
        if told == 0 && report.recovered.is_some() {
            inner.emit(&json!({"source": "remote", "ops": 0}));
        }
        // Behind the hub's horizon: say so once, with what was kept (a first sync from the snapshot
        // is nothing to tell).
        if let Some(r) = report.recovered.as_ref().filter(|r| !r.verified) {
            inner.emit(&recovery_event(r));
        }
        // Changes the hub refuses as they are: say so once, when they are set aside.
        if !report.quarantined.is_empty() {
            inner.emit(&quarantine_event(&report.quarantined));
        }
        Ok(report)
    }

    /// Perform one request of the engine and turn the answer into a [`Reply`].
    async fn send(&self, req: &Request) -> Reply {
        let http_req = match HttpRequest::of(req, &self.space) {
            Ok(h) => h,
            Err(e) => return Reply::Network(e.to_string()),
        };
        match http(&self.hub, &http_req, Some(&self.token)).await {
            Ok(resp) => Reply::from_http(req, &self.space, resp.status, &resp.body),
            Err(e) => Reply::Network(e),
        }
    }
}
