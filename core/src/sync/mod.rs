//! The sans-IO sync engine: it decides what to send and what every answer means; the caller does the
//! I/O (an HTTP client in the CLI, `fetch` in the browser, a simulated network in tests).
//!
//! [`HttpRequest::of`] and [`Reply::from_http`] say how each request and answer look on the wire, so a
//! driver only moves bytes.
//!
//! One round: learn the hub's clock (`GET /v1/hub`), push the outbox in HLC order in batches, pull pages
//! after the cursor until the head, then ack the cursor. The cursor moves only in the same transaction
//! that applies a page, or that confirms a push the hub numbered right after the cursor with nothing
//! after it (the device holds that log already: it would only pull its own ops back, so the pull is
//! skipped).
//!
//! **Behind the horizon.** When the hub has compacted past the cursor (a pull answered
//! `410 behind_horizon`, also a new device's first pull), the engine pages the snapshot the hub names,
//! merging each page as it comes (a merge: unsent ops stay in the outbox and keep their effect), checks
//! an empty store's result against the snapshot's digest, moves the cursor to the snapshot's seq, and
//! pulls on from there. The report's [`Recovery`] says so.
//!
//! ```
//! use std::sync::Arc;
//! use hearth_core::sync::{Reply, Request, Step, Sync, SyncConfig};
//! use hearth_core::store::{HubLog, LogRead, SqliteHubLog};
//! use hearth_core::{ManualEnv, NewOp, Options, Store};
//!
//! let env = Arc::new(ManualEnv::new(1_750_000_000_000, 1));
//! let mut phone = Store::open_in_memory(env.clone(), Options::default()).unwrap();
//! let mut hub = SqliteHubLog::open_in_memory(env.clone(), Default::default()).unwrap();
//! phone.commit(vec![NewOp::create("n1", "task", Default::default())]).unwrap();
//!
//! // A loopback "network": hand each request straight to a hub log.
//! let mut sync = Sync::new(SyncConfig::default());
//! let report = loop {
//!     match sync.poll(&mut phone, 0).unwrap() {
//!         Step::Send(req) => {
//!             let reply = match req {
//!                 Request::HubInfo => Reply::Hub {
//!                     time_ms: 1_750_000_000_000,
//!                     min_schema_version: 0,
//!                     kinds: None,
//!                     migrations: Vec::new(),
//!                 },
//!                 Request::Push { ops, .. } => Reply::Pushed(hub.append(&ops).unwrap().into()),
//!                 Request::Pull { after, limit, .. } => {
//!                     Reply::Pulled(hub.page(after, limit).unwrap().pull_response(after).unwrap())
//!                 }
//!                 Request::Ack { .. } => Reply::Acked,
//!                 Request::Snapshot { seq, after, limit } => {
//!                     Reply::Snapshot(hub.snapshot_page(seq, after, limit).unwrap().unwrap().page().unwrap())
//!                 }
//!             };
//!             sync.handle(&mut phone, reply, 0).unwrap();
//!         }
//!         Step::Sleep(_) => unreachable!("nothing fails here"),
//!         Step::Done(report) => break report,
//!     }
//! };
//! assert_eq!((report.pushed, report.cursor), (1, 1));
//! assert_eq!(phone.outbox_len().unwrap(), 0);
//! ```

mod http;

use serde::Serialize;

pub use http::{HttpRequest, pair_reply, version_headers};

use crate::error::{Error, Result};
use crate::op::Op;
use crate::store::Store;
use crate::wire::{ErrorBody, PullResponse, PushResponse, SnapshotPage, codes};

/// Tunables of a sync round.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Ops per push (halved on 413, and kept halved for the rest of the round).
    pub push_batch: usize,
    /// Ops per pull page.
    pub pull_limit: usize,
    /// Entries per snapshot page.
    pub snapshot_limit: usize,
    /// First retry delay.
    pub backoff_base_ms: u64,
    /// Longest retry delay.
    pub backoff_max_ms: u64,
    /// Give up after this many consecutive failures (`None`: retry forever, for watch mode).
    pub max_retries: Option<u32>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            push_batch: 1_000,
            pull_limit: 10_000,
            snapshot_limit: 10_000,
            backoff_base_ms: 250,
            backoff_max_ms: 30_000,
            max_retries: Some(4),
        }
    }
}

/// What the caller must send.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `GET /v1/hub`.
    HubInfo,
    /// `POST /v1/spaces/{space}/push`.
    Push {
        /// The batch.
        ops: Vec<Op>,
        /// The epoch the ops were written in (the hub refuses ops of an older epoch with 409).
        epoch: u64,
    },
    /// `GET /v1/spaces/{space}/pull?after=…&limit=…`.
    Pull {
        /// Cursor.
        after: u64,
        /// Page size.
        limit: usize,
        /// The epoch this device is in (the hub answers 409 when the space moved on).
        epoch: u64,
    },
    /// `POST /v1/spaces/{space}/ack`.
    Ack {
        /// Applied up to here.
        seq: u64,
    },
    /// `GET /v1/spaces/{space}/snapshot?seq=…&after=…&limit=…`.
    Snapshot {
        /// The snapshot being paged (None: the hub's current one).
        seq: Option<u64>,
        /// Entries already merged.
        after: u64,
        /// Page size.
        limit: usize,
    },
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Hub info: its clock and the space's minimum schema version to write.
    Hub {
        /// The hub's clock.
        time_ms: u64,
        /// Minimum schema version to push.
        min_schema_version: i64,
        /// The op kinds the hub applies with the highest `v` of each (`None`: a hub that does not
        /// list them, which applies [`crate::op::kinds::FIRST_RELEASE`]).
        kinds: Option<std::collections::BTreeMap<String, u32>>,
        /// The whole-space migrations the space went through, oldest first (its epoch is one more
        /// than their number; empty from hubs before epochs).
        migrations: Vec<String>,
    },
    /// Push accepted.
    Pushed(PushResponse),
    /// A page.
    Pulled(PullResponse),
    /// Ack recorded.
    Acked,
    /// A page of a snapshot.
    Snapshot(SnapshotPage),
    /// An HTTP error with the hub's JSON body when it sent one.
    Error {
        /// HTTP status.
        status: u16,
        /// The body, if it parsed.
        body: Option<ErrorBody>,
    },
    /// No answer: connection refused, reset, timed out.
    Network(String),
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this and pass the reply to [`Sync::handle`].
    Send(Request),
    /// Wait this long, then poll again (backoff after a failure).
    Sleep(u64),
    /// The round is over.
    Done(SyncReport),
}

/// Why a round stopped early. Unsent ops are always kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// 401/403: the token is unknown, revoked, or for another space.
    Unauthorized {
        /// The hub's message.
        message: String,
    },
    /// 409/410: the hub compacted past this device or moved to a new epoch.
    Resync {
        /// The hub's message.
        message: String,
    },
    /// The hub refused an op as invalid, or a single op is larger than the hub accepts.
    Rejected {
        /// The hub's message.
        message: String,
    },
    /// The hub could not be reached (after retries).
    Unreachable {
        /// The last error.
        message: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Unauthorized { message } => {
                write!(
                    f,
                    "the hub refused this device's token ({message}); pair again with `hearth init --hub URL --code CODE`"
                )
            }
            Problem::Resync { message } => {
                write!(f, "this device must rebuild from the hub's snapshot: {message}")
            }
            Problem::Rejected { message } => write!(
                f,
                "the hub rejected a change: {message}; it is kept on this device"
            ),
            Problem::Unreachable { message } => {
                write!(
                    f,
                    "the hub is unreachable ({message}); your changes are kept and will sync later"
                )
            }
        }
    }
}

/// A restore from the hub's snapshot, done because the hub had compacted past this device's cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Recovery {
    /// The snapshot's seq: the cursor moved there, and pulling went on after it.
    pub snapshot_seq: u64,
    /// Entries merged.
    pub entries: u64,
    /// Unsent changes this device held: kept, re-applied over the snapshot, and pushed.
    pub kept: usize,
    /// Whether the result was checked against the snapshot's digest (a store that was empty).
    pub verified: bool,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.verified {
            // A store that was empty: its first sync, from the snapshot instead of the whole history.
            return write!(
                f,
                "started from the hub's snapshot at seq {} ({} entries, digest verified)",
                self.snapshot_seq, self.entries
            );
        }
        write!(
            f,
            "behind the hub's horizon: restored from snapshot at seq {}, {} unsent changes kept and pushed",
            self.snapshot_seq, self.kept
        )
    }
}

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Ops the hub accepted (including ones it already had).
    pub pushed: usize,
    /// Ops of other devices pulled and applied.
    pub pulled: usize,
    /// This device's own ops that came back in the pull (already applied here; not counted as pulled).
    pub echoed: usize,
    /// Unsent ops left on the device.
    pub unsent: usize,
    /// The cursor at the end.
    pub cursor: u64,
    /// The hub's head as last seen.
    pub head: u64,
    /// Set when the space requires a newer schema to write: ops wait on the device.
    pub update_required: Option<String>,
    /// Ops re-stamped after the hub reported clock skew.
    pub restamped: usize,
    /// Set when the space moved to a newer epoch and this round carried the device over (see
    /// [`crate::evolve`]): its unsent ops went through the lenses.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub epoch_changed: bool,
    /// Unsent ops carried into the new epoch (those no lens could translate are in `quarantined`).
    #[serde(skip_serializing_if = "is_zero")]
    pub translated: usize,
    /// Unsent ops of kinds the hub does not take yet (it runs an older release): they wait on the
    /// device until the hub is updated, while everything else syncs.
    #[serde(skip_serializing_if = "is_zero")]
    pub held: usize,
    /// The kinds of those ops.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held_kinds: Vec<String>,
    /// Ops of this device the hub refused as they are, set aside into the quarantine this round (the
    /// rest of the outbox went on): the op id and the hub's reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<(String, String)>,
    /// Set when this round restored from the hub's snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Recovery>,
    /// Set when the round stopped early.
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Info,
    Push,
    Pull,
    /// Paging the snapshot at `seq` (None until the first page names it).
    Restore {
        seq: Option<u64>,
        after: u64,
        verify: bool,
    },
    Ack,
    Done,
}

/// One sync round's state. Create one per round (or per live-event wake-up).
#[derive(Debug)]
pub struct Sync {
    cfg: SyncConfig,
    phase: Phase,
    batch: usize,
    failures: u32,
    sent_at: u64,
    in_flight: Option<Request>,
    report: SyncReport,
    /// Kinds this build writes that the hub takes only up to a lower `v` (0: not at all).
    held: Vec<(String, u32)>,
    /// The head a push of this round moved the cursor to (the hub numbered its ops right after the
    /// cursor and nothing followed them): unless the cursor moved since, the pull has nothing to get.
    caught_up: Option<u64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The kinds `store` writes that a hub listing `kinds` (`None`: a hub that does not list them, which
/// takes [`crate::op::kinds::FIRST_RELEASE`]) takes only up to a lower `v` (0: not at all).
fn held_kinds(store: &Store, kinds: Option<&std::collections::BTreeMap<String, u32>>) -> Vec<(String, u32)> {
    let first: std::collections::BTreeMap<String, u32>;
    let hub = match kinds {
        Some(k) => k,
        None => {
            first = crate::op::kinds::FIRST_RELEASE
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect();
            &first
        }
    };
    store
        .kinds()
        .list()
        .into_iter()
        .filter_map(|(kind, v)| {
            let takes = hub.get(&kind).copied().unwrap_or(0);
            (takes < v).then_some((kind, takes))
        })
        .collect()
}

impl Sync {
    /// A new round.
    pub fn new(cfg: SyncConfig) -> Self {
        let batch = cfg.push_batch.max(1);
        Sync {
            cfg,
            phase: Phase::Info,
            batch,
            failures: 0,
            sent_at: 0,
            in_flight: None,
            report: SyncReport::default(),
            held: Vec::new(),
            caught_up: None,
        }
    }

    /// A new round that skips `GET /v1/hub` and goes straight to the push: for a driver that asked
    /// the hub moments ago (an earlier round's [`Reply::Hub`]), so a change travels in fewer requests.
    /// The clock offset that answer gave is already in the store; `min_schema_version` is the space's
    /// minimum from that answer, and gates the push as it would have.
    /// `kinds` are the op kinds that answer listed (ops of other kinds wait in the outbox).
    pub fn with_hub_info(
        cfg: SyncConfig,
        store: &Store,
        min_schema_version: i64,
        kinds: Option<&std::collections::BTreeMap<String, u32>>,
    ) -> Self {
        let mut sync = Sync::new(cfg);
        sync.held = held_kinds(store, kinds);
        sync.gate(min_schema_version);
        sync.phase = Phase::Push;
        sync
    }

    /// A new round that skips `GET /v1/hub` when `known` holds that answer's `min_schema_version` and
    /// `kinds` (from an earlier round: see [`with_hub_info`](Self::with_hub_info)), and asks when it
    /// does not.
    pub fn knowing(
        cfg: SyncConfig,
        store: &Store,
        known: Option<(i64, Option<&std::collections::BTreeMap<String, u32>>)>,
    ) -> Self {
        match known {
            Some((min_schema_version, kinds)) => Self::with_hub_info(cfg, store, min_schema_version, kinds),
            None => Self::new(cfg),
        }
    }

    /// Below the space's minimum schema version to write: pulls work, pushes wait for an update.
    fn gate(&mut self, min_schema_version: i64) {
        if min_schema_version > crate::migrate::LATEST {
            self.report.update_required = Some(format!(
                "this space needs schema version {min_schema_version} to write and this build has {}; update Hearth",
                crate::migrate::LATEST
            ));
        }
    }

    /// Progress so far (for progress bars): ops pulled, the cursor and the head.
    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// The report as it would be if the round ended now: what it pushed and pulled so far, with the
    /// store's cursor and unsent count as they are. Once [`poll`](Self::poll) asks for the ack, the
    /// pulled changes are stored and only the hub is left to tell: a caller that shows each round
    /// can show it then.
    pub fn report_now(&self, store: &Store) -> Result<SyncReport> {
        let mut report = self.report.clone();
        Self::fill(store, &self.held, &mut report)?;
        Ok(report)
    }

    /// Set the fields of `report` read from the store at the end of a round (`held`: the kinds held
    /// back from the push).
    fn fill(store: &Store, held: &[(String, u32)], report: &mut SyncReport) -> Result<()> {
        report.unsent = store.outbox_len()?;
        if !held.is_empty() {
            (report.held, report.held_kinds) = store.outbox_held(held)?;
        }
        report.cursor = store.cursor()?;
        Ok(())
    }

    /// Decide the next step. `now_ms` is the caller's wall clock (for the hub clock offset).
    pub fn poll(&mut self, store: &mut Store, now_ms: u64) -> Result<Step> {
        if let Some(req) = &self.in_flight {
            return Ok(Step::Send(req.clone()));
        }
        let req = match self.phase {
            Phase::Info => Request::HubInfo,
            Phase::Push => {
                let ops = store.outbox_except(self.batch, &self.held)?;
                if ops.is_empty() || self.report.update_required.is_some() {
                    self.phase = match self.caught_up {
                        Some(head) if head == store.cursor()? => Phase::Ack,
                        _ => Phase::Pull,
                    };
                    return self.poll(store, now_ms);
                }
                Request::Push {
                    ops,
                    epoch: store.epoch()?,
                }
            }
            Phase::Pull => Request::Pull {
                after: store.cursor()?,
                limit: self.cfg.pull_limit,
                epoch: store.epoch()?,
            },
            Phase::Restore { seq, after, .. } => Request::Snapshot {
                seq,
                after,
                limit: self.cfg.snapshot_limit,
            },
            Phase::Ack => {
                let cursor = store.cursor()?;
                let acked = store
                    .kv_get(crate::store::keys::ACKED)?
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0u64);
                if cursor == acked {
                    return self.finish(store, None);
                }
                Request::Ack { seq: cursor }
            }
            Phase::Done => return self.finish(store, None),
        };
        self.sent_at = now_ms;
        self.in_flight = Some(req.clone());
        Ok(Step::Send(req))
    }

    fn finish(&mut self, store: &Store, problem: Option<Problem>) -> Result<Step> {
        self.finish_writing(store, problem, &[])
    }

    /// End the round; `also` are `kv` entries written in the same transaction as the last-sync time.
    fn finish_writing(
        &mut self,
        store: &Store,
        problem: Option<Problem>,
        also: &[(&str, &str)],
    ) -> Result<Step> {
        self.phase = Phase::Done;
        self.in_flight = None;
        Self::fill(store, &self.held, &mut self.report)?;
        if problem.is_some() {
            self.report.problem = problem;
        }
        let now = store.env_now_ms().to_string();
        let mut writes = also.to_vec();
        if self.report.problem.is_none() {
            writes.push((crate::store::keys::LAST_SYNC, &now));
        }
        store.kv_set_all(&writes)?;
        Ok(Step::Done(self.report.clone()))
    }

    /// Feed the reply to the request last returned by [`poll`](Self::poll). Returns a step only when the
    /// reply ends the round or asks for a pause; otherwise call `poll` again.
    pub fn handle(&mut self, store: &mut Store, reply: Reply, now_ms: u64) -> Result<Option<Step>> {
        let Some(req) = self.in_flight.take() else {
            return Err(Error::invalid("-", "sync reply without a request in flight"));
        };
        match (req, reply) {
            (
                Request::HubInfo,
                Reply::Hub {
                    time_ms,
                    min_schema_version,
                    kinds,
                    migrations,
                },
            ) => {
                self.held = held_kinds(store, kinds.as_ref());
                // The space moved to a newer epoch: carry this device's unsent ops over first.
                if migrations.len() as u64 + 1 > store.epoch()? {
                    match store.rebuild_for_epoch(&migrations) {
                        Ok(r) => {
                            self.report.translated += r.translated;
                            self.report.epoch_changed = true;
                            self.report.quarantined.extend(r.quarantined);
                        }
                        Err(e @ crate::Error::Unsupported(_)) => {
                            let message = e.to_string();
                            return Ok(Some(self.finish(store, Some(Problem::Resync { message }))?));
                        }
                        Err(e) => return Err(e),
                    }
                }
                // The hub's clock at the moment of our receipt, assuming a symmetric round trip.
                let rtt = now_ms.saturating_sub(self.sent_at);
                let offset = (time_ms + rtt / 2) as i64 - now_ms as i64;
                let local = store.env_now_ms();
                store.set_clock_offset_ms(offset + (now_ms as i64 - local as i64))?;
                self.gate(min_schema_version);
                self.phase = Phase::Push;
            }
            (Request::Push { ops, .. }, Reply::Pushed(resp)) => {
                let confirmed: Vec<_> = ops.iter().map(|o| o.id).zip(resp.seqs.iter().copied()).collect();
                // The hub numbered these ops right after the cursor and its head is the last of them:
                // the log up to the head is what this device holds already, so the cursor moves there
                // with the confirmation, as pulling its own ops back would have moved it.
                let cursor = store.cursor()?;
                let contiguous = !resp.seqs.is_empty()
                    && resp.head == cursor + resp.seqs.len() as u64
                    && resp.seqs.iter().zip(cursor + 1..).all(|(seq, next)| *seq == next);
                if contiguous {
                    store.confirm_through(&confirmed, resp.head)?;
                    self.caught_up = Some(resp.head);
                } else {
                    store.confirm(&confirmed)?;
                }
                self.report.pushed += ops.len();
                self.report.head = self.report.head.max(resp.head);
            }
            (Request::Pull { after, .. }, Reply::Pulled(page)) => {
                let next = page.next.max(after);
                store.apply_pulled(&page.ops, next)?;
                let own = page
                    .ops
                    .iter()
                    .filter(|o| o.op.id.device == store.device())
                    .count();
                self.report.pulled += page.ops.len() - own;
                self.report.echoed += own;
                self.report.head = page.head;
                if page.ops.is_empty() || next >= page.head {
                    self.phase = Phase::Ack;
                }
            }
            (Request::Snapshot { .. }, Reply::Snapshot(page)) => {
                let Phase::Restore { seq, verify, .. } = self.phase else {
                    return Err(Error::invalid("-", "a snapshot page arrived outside a restore"));
                };
                if seq.is_some_and(|s| s != page.seq) {
                    // The hub answered with another snapshot than the one being paged: start over on it.
                    self.phase = Phase::Restore {
                        seq: None,
                        after: 0,
                        verify,
                    };
                    return Ok(None);
                }
                store.merge_snapshot_entries(&page.entries)?;
                match page.next {
                    Some(next) => {
                        self.phase = Phase::Restore {
                            seq: Some(page.seq),
                            after: next,
                            verify,
                        };
                    }
                    None => {
                        let digest = verify.then_some(page.digest.as_str());
                        if let Err(e @ Error::SnapshotMismatch { .. }) =
                            store.finish_restore(page.seq, digest)
                        {
                            return Ok(Some(self.finish(
                                store,
                                Some(Problem::Rejected {
                                    message: e.to_string(),
                                }),
                            )?));
                        }
                        let recovery = Recovery {
                            snapshot_seq: page.seq,
                            entries: page.total,
                            kept: self.report.pushed + store.outbox_len()?,
                            verified: verify,
                            at_ms: store.env_now_ms(),
                        };
                        store.kv_set(
                            crate::store::keys::LAST_RECOVERY,
                            &serde_json::to_string(&recovery)?,
                        )?;
                        tracing::info!(%recovery, "restored from the hub's snapshot");
                        self.report.recovered = Some(recovery);
                        // Push anything still unsent, then pull on after the snapshot.
                        self.phase = Phase::Push;
                    }
                }
            }
            (Request::Ack { seq }, Reply::Acked) => {
                let seq = seq.to_string();
                return Ok(Some(self.finish_writing(
                    store,
                    None,
                    &[(crate::store::keys::ACKED, &seq)],
                )?));
            }
            (req, Reply::Error { status, body }) => return self.failed(store, req, status, body),
            (req, Reply::Network(message)) => return self.retry(store, req, message),
            (req, other) => {
                return Err(Error::invalid(
                    "-",
                    format!("sync got {other:?} in answer to {req:?}"),
                ));
            }
        }
        self.failures = 0;
        Ok(None)
    }

    fn retry(&mut self, store: &Store, req: Request, message: String) -> Result<Option<Step>> {
        self.failures += 1;
        if self.cfg.max_retries.is_some_and(|max| self.failures > max) {
            return Ok(Some(self.finish(store, Some(Problem::Unreachable { message }))?));
        }
        self.in_flight = Some(req);
        let delay = self
            .cfg
            .backoff_base_ms
            .saturating_mul(1 << (self.failures - 1).min(16))
            .min(self.cfg.backoff_max_ms);
        Ok(Some(Step::Sleep(delay)))
    }

    fn failed(
        &mut self,
        store: &mut Store,
        req: Request,
        status: u16,
        body: Option<ErrorBody>,
    ) -> Result<Option<Step>> {
        let code = body.as_ref().map(|b| b.error.as_str()).unwrap_or("");
        let message = body
            .as_ref()
            .map_or_else(|| format!("HTTP {status}"), |b| b.message.clone());
        let problem = match (status, code) {
            (401 | 403, _) => Problem::Unauthorized { message },
            (410, codes::BEHIND_HORIZON) if self.report.recovered.is_none() => {
                // Restore from the snapshot the hub names (once per round: a hub that answers 410 again
                // right after a restore has a problem of its own).
                self.phase = Phase::Restore {
                    seq: body.as_ref().and_then(|b| b.snapshot_seq).filter(|s| *s > 0),
                    after: 0,
                    verify: store.is_empty()?,
                };
                return Ok(None);
            }
            (410, codes::SNAPSHOT_GONE) => {
                if let Phase::Restore { verify, .. } = self.phase {
                    self.phase = Phase::Restore {
                        seq: None,
                        after: 0,
                        verify,
                    };
                    return Ok(None);
                }
                Problem::Resync { message }
            }
            // The space moved to a newer epoch since this round asked the hub: ask again (once), which
            // carries this device over.
            (409, codes::EPOCH_CHANGED) if !self.report.epoch_changed => {
                self.report.epoch_changed = true;
                self.phase = Phase::Info;
                return Ok(None);
            }
            (409 | 410, _) => Problem::Resync { message },
            // A refusal that sending again cannot change (an invalid op, an op over the hub's limits):
            // set the op aside so that it never wedges the outbox, and go on with the rest.
            (413, _) | (422, codes::INVALID_OP) => match &req {
                Request::Push { ops, .. } => {
                    let named = body
                        .as_ref()
                        .and_then(|b| b.op.as_deref())
                        .and_then(|s| s.parse::<crate::op::OpId>().ok())
                        .filter(|id| ops.iter().any(|o| o.id == *id));
                    let culprit = match named {
                        Some(id) => Some(id),
                        None if status == 413 && ops.len() > 1 => {
                            self.batch = (ops.len() / 2).max(1);
                            return Ok(None);
                        }
                        None if ops.len() == 1 => Some(ops[0].id),
                        None => None,
                    };
                    match culprit {
                        Some(id)
                            if store.quarantine(
                                id,
                                if code.is_empty() { codes::TOO_LARGE } else { code },
                                &message,
                            )? =>
                        {
                            tracing::warn!(op = %id, reason = %message, "the hub refuses an op; set aside");
                            self.report.quarantined.push((id.to_string(), message));
                            return Ok(None);
                        }
                        _ => Problem::Rejected { message },
                    }
                }
                _ => Problem::Rejected { message },
            },
            (422, codes::CLOCK_SKEW) => match body.as_ref().and_then(|b| b.hub_time_ms) {
                Some(hub_now) => {
                    let local = store.env_now_ms();
                    store.set_clock_offset_ms(hub_now as i64 - local as i64)?;
                    let from = body
                        .as_ref()
                        .and_then(|b| b.op.as_deref())
                        .and_then(|s| s.parse().ok());
                    let mapping = store.restamp_outbox(from, hub_now)?;
                    if mapping.is_empty() {
                        Problem::Rejected { message }
                    } else {
                        self.report.restamped += mapping.len();
                        return Ok(None);
                    }
                }
                None => Problem::Rejected { message },
            },
            (426, _) => {
                self.report.update_required = Some(message);
                self.phase = Phase::Pull;
                return Ok(None);
            }
            (429, _) | (500..=599, _) => return self.retry(store, req, message),
            _ => Problem::Rejected { message },
        };
        Ok(Some(self.finish(store, Some(problem))?))
    }
}
