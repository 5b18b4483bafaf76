//! The sync state machine alone, driven by a simulated hub (a real hub-role store) over a network that
//! drops requests, loses responses, duplicates and delays pushes, fails with 500/429/507, and partitions
//! a client from the hub for a while. Clients edit while syncing; one has a clock two hours fast, or a
//! year ahead or behind; clocks jump backwards mid-run. The hub compacts at random points. A history
//! checker asserts that no cursor ever moves backwards; after the network heals, every replica
//! converges to the hub's state, no op is lost or duplicated, and nothing deleted comes back. In one
//! seed of four the hub keeps its log in files and restarts at random points: a new process opening
//! them, with only what it wrote there (its clock, its refusals, its compaction marks, its snapshots).
//! After each push the hub makes the live event a real hub sends (the ops since its previous event, when
//! few); half the pulls of a client that hears it are answered from that event when it fits, as the
//! drivers do, stale events included.
//! `HEARTH_SIM_CASES` sets the number of seeds (default 1,000), `HEARTH_SIM_FIRST` the first one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static RESTAMPED: AtomicUsize = AtomicUsize::new(0);
static FAULTS: AtomicUsize = AtomicUsize::new(0);
static COMPACTIONS: AtomicUsize = AtomicUsize::new(0);
static RESTORES: AtomicUsize = AtomicUsize::new(0);
static PARTITIONS: AtomicUsize = AtomicUsize::new(0);
static BACKWARD_JUMPS: AtomicUsize = AtomicUsize::new(0);
static HUB_RESTARTS: AtomicUsize = AtomicUsize::new(0);
static LIVE_PAGES: AtomicUsize = AtomicUsize::new(0);

use hearth_core::store::{HubLog, HubOptions, LIVE_OPS, LogRead, SqliteHubLog};
use hearth_core::sync::{Reply, Request, Step, Sync, SyncConfig};
use hearth_core::wire::{ErrorBody, HeadEvent, codes};
use hearth_core::{Error, ManualEnv, NewOp, Options, Store, query};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const T0: u64 = 1_750_000_000_000;
const NODES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

struct Faults {
    drop_request: f64,
    drop_response: f64,
    duplicate: f64,
    delay: f64,
    server_error: f64,
}

struct Hub {
    store: SqliteHubLog,
    env: Arc<ManualEnv>,
    /// Pushes that arrive late (a retransmission overtaken by its retry).
    delayed: Vec<Vec<hearth_core::Op>>,
    /// Where a hub that restarts keeps its log (and the directory, removed at the end).
    files: Option<(tempfile::TempDir, std::path::PathBuf)>,
    /// The head its last live event announced, and that event.
    announced: u64,
    live: Option<HeadEvent>,
    /// Whether a pull is answered from the live event: its own generator, so that every other choice
    /// of a seed stays as it was before live events carried ops.
    hears: StdRng,
}

impl Hub {
    /// A hub on a fresh log: in memory, or in files (in RAM where the system has a tmpfs for it, as
    /// every append waits for its fsync).
    fn new(env: Arc<ManualEnv>, in_files: bool, seed: u64) -> Hub {
        let files = in_files.then(|| {
            let shm = std::path::Path::new("/dev/shm");
            let dir = if shm.is_dir() {
                tempfile::tempdir_in(shm)
            } else {
                tempfile::tempdir()
            }
            .expect("a directory for the hub's log");
            let path = dir.path().join("space.sqlite");
            (dir, path)
        });
        let store = match &files {
            Some((_, path)) => SqliteHubLog::open(path, env.clone(), HubOptions::default()),
            None => SqliteHubLog::open_in_memory(env.clone(), HubOptions::default()),
        }
        .expect("hub");
        let hears = StdRng::seed_from_u64(seed ^ 0x11fe_e7e7);
        Hub {
            store,
            env,
            delayed: Vec::new(),
            files,
            announced: 0,
            live: None,
            hears,
        }
    }

    /// The live event after a commit, as the hub's announcing task makes it (the same rule and the
    /// same JSON, read back as a device does): the ops since the last event when they are few, else
    /// the head alone.
    fn announce(&mut self) {
        let head = self.store.head().expect("head");
        if head <= self.announced {
            return;
        }
        let after = self.announced;
        let page = self.store.page(after, LIVE_OPS).expect("page");
        let carried = (head - after <= LIVE_OPS as u64)
            .then(|| page.live_event(after))
            .flatten();
        self.live = Some(match carried {
            Some(json) => {
                self.announced = page.next(after).max(head);
                serde_json::from_str(&json).expect("a live event reads as a HeadEvent")
            }
            None => {
                self.announced = head;
                HeadEvent::head(head)
            }
        });
    }

    /// The hub process ends and a new one opens its files (pushes still in the network may arrive later).
    fn restart(&mut self) {
        let Some((_, path)) = &self.files else {
            return;
        };
        // The old process's connections close before the new one opens the files.
        let placeholder = SqliteHubLog::open_in_memory(self.env.clone(), HubOptions::default()).expect("hub");
        drop(std::mem::replace(&mut self.store, placeholder));
        self.store =
            SqliteHubLog::open(path, self.env.clone(), HubOptions::default()).expect("hub reopens its log");
        HUB_RESTARTS.fetch_add(1, Relaxed);
    }

    fn serve(&mut self, req: &Request) -> Reply {
        match req {
            Request::HubInfo => Reply::Hub {
                time_ms: self.env.now_ms_now(),
                min_schema_version: 0,
                kinds: Some(hearth_core::Kinds::default().list()),
                migrations: Vec::new(),
            },
            // Like a hub with a small batch limit: the engine must split (413) rather than give up.
            Request::Push { ops, .. } if ops.len() > 4 => Reply::Error {
                status: 413,
                body: Some(ErrorBody {
                    error: codes::TOO_LARGE.into(),
                    message: "at most 4 ops per push".into(),
                    hub_time_ms: None,
                    op: None,
                    horizon: None,
                    snapshot_seq: None,
                    epoch: None,
                }),
            },
            Request::Push { ops, .. } => match self.store.append(ops) {
                Ok(o) => {
                    self.announce();
                    Reply::Pushed(o.into())
                }
                Err(Error::ClockSkew { op, .. }) => Reply::Error {
                    status: 422,
                    body: Some(ErrorBody {
                        error: codes::CLOCK_SKEW.into(),
                        message: format!("op {op} is too far ahead"),
                        hub_time_ms: Some(self.env.now_ms_now()),
                        op: Some(op.to_string()),
                        horizon: None,
                        snapshot_seq: None,
                        epoch: None,
                    }),
                },
                Err(e) => panic!("hub refused a client batch: {e}"),
            },
            Request::Pull { after, limit, .. } => {
                let page = self.store.page(*after, (*limit).min(7)).expect("page");
                if *after < page.horizon {
                    return Reply::Error {
                        status: 410,
                        body: Some(ErrorBody {
                            error: codes::BEHIND_HORIZON.into(),
                            message: "compacted".into(),
                            hub_time_ms: None,
                            op: None,
                            horizon: Some(page.horizon),
                            snapshot_seq: Some(page.snapshot),
                            epoch: None,
                        }),
                    };
                }
                Reply::Pulled(page.pull_response(*after).expect("page"))
            }
            Request::Snapshot { seq, after, limit } => {
                match self
                    .store
                    .snapshot_page(*seq, *after, (*limit).min(5))
                    .expect("snapshot")
                {
                    Some(chunk) => Reply::Snapshot(chunk.page().expect("parse")),
                    None => Reply::Error {
                        status: 410,
                        body: Some(ErrorBody {
                            error: codes::SNAPSHOT_GONE.into(),
                            message: "replaced".into(),
                            hub_time_ms: None,
                            op: None,
                            horizon: None,
                            snapshot_seq: None,
                            epoch: None,
                        }),
                    },
                }
            }
            Request::Ack { .. } => Reply::Acked,
        }
    }
}

trait NowExt {
    fn now_ms_now(&self) -> u64;
}
impl NowExt for ManualEnv {
    fn now_ms_now(&self) -> u64 {
        hearth_core::Env::now_ms(self)
    }
}

struct Client {
    store: Store,
    env: Arc<ManualEnv>,
    round: Option<Sync>,
    committed: usize,
    /// Steps left during which the network between this client and the hub is down.
    partitioned: usize,
    /// The highest cursor seen: a cursor never moves backwards.
    cursor: u64,
}

fn edit(rng: &mut StdRng, c: &mut Client) {
    let node = NODES[rng.random_range(0..NODES.len())];
    let ops = match rng.random_range(0..10) {
        0 | 1 => vec![NewOp::create(
            node,
            ["project", "task"][rng.random_range(0..2)],
            Default::default(),
        )],
        2..=4 => vec![NewOp::set(
            node,
            "title",
            json!(format!("t{}", rng.random_range(0..100))),
        )],
        5 => vec![NewOp::task_set(
            node,
            "status",
            json!(["open", "done"][rng.random_range(0..2)]),
        )],
        6 => vec![NewOp::delete(node)],
        7 | 8 => {
            let to = NODES[rng.random_range(0..NODES.len())];
            hearth_core::edit::move_ops(&c.store, node, if rng.random_bool(0.8) { Some(to) } else { None })
                .expect("move")
        }
        _ if rng.random_bool(0.5) => vec![NewOp::comment(node, &format!("c{}", rng.random_range(0..100)))],
        _ => vec![NewOp::set(node, "deleted", json!(false))],
    };
    c.committed += c.store.commit(ops).expect("commit").len();
}

/// Drive one client one step. Returns true when its round finished.
fn step(rng: &mut StdRng, c: &mut Client, hub: &mut Hub, f: &Faults) -> bool {
    let round = c.round.get_or_insert_with(|| {
        Sync::new(SyncConfig {
            push_batch: 5,
            pull_limit: 7,
            ..SyncConfig::default()
        })
    });
    let now = hearth_core::Env::now_ms(&*c.env);
    match round.poll(&mut c.store, now).expect("poll") {
        Step::Done(r) => {
            RESTAMPED.fetch_add(r.restamped, Relaxed);
            RESTORES.fetch_add(usize::from(r.recovered.is_some()), Relaxed);
            c.round = None;
            true
        }
        Step::Sleep(ms) => {
            c.env.advance(ms.min(50));
            false
        }
        Step::Send(req) => {
            let faulty = c.partitioned > 0 || rng.random_bool(f.drop_request + f.server_error);
            if faulty {
                FAULTS.fetch_add(1, Relaxed);
            }
            let reply = if c.partitioned > 0 {
                Reply::Network("partitioned from the hub".into())
            } else if faulty && rng.random_bool(f.drop_request / (f.drop_request + f.server_error)) {
                Reply::Network("request dropped".into())
            } else if faulty {
                // A bug, a busy hub, a full disk: nothing of the request was done.
                let status = [500, 429, 507][rng.random_range(0..3)];
                Reply::Error { status, body: None }
            } else {
                if let Request::Push { ops, .. } = &req
                    && rng.random_bool(f.delay)
                {
                    hub.delayed.push(ops.clone());
                }
                let reply = hub.serve(&req);
                if rng.random_bool(f.duplicate) {
                    hub.serve(&req);
                }
                if rng.random_bool(f.drop_response) {
                    Reply::Network("response lost".into())
                } else {
                    reply
                }
            };
            // The live stream reached this client with the ops after its cursor: no pull needed.
            let reply = match (&req, &hub.live) {
                (Request::Pull { .. }, Some(event)) if c.partitioned == 0 && hub.hears.random_bool(0.5) => {
                    match Reply::from_live(&req, event) {
                        Some(live) => {
                            LIVE_PAGES.fetch_add(1, Relaxed);
                            live
                        }
                        None => reply,
                    }
                }
                _ => reply,
            };
            let now = hearth_core::Env::now_ms(&*c.env);
            let restamped_before = round.report().restamped;
            let handled = round.handle(&mut c.store, reply, now).expect("handle");
            let restamped = match &handled {
                Some(Step::Done(r)) => r.restamped,
                _ => round.report().restamped,
            };
            let cursor = c.store.cursor().expect("cursor");
            // The only rewind: after re-stamping its ops (new ids), a client pulls the log again from
            // the start, deliberately.
            assert!(
                cursor >= c.cursor || restamped > restamped_before,
                "a cursor moved backwards without a re-stamp: {} -> {cursor}",
                c.cursor
            );
            c.cursor = cursor;
            if let Some(Step::Done(r)) = handled {
                RESTAMPED.fetch_add(r.restamped, Relaxed);
                RESTORES.fetch_add(usize::from(r.recovered.is_some()), Relaxed);
                c.round = None;
                return true;
            }
            false
        }
    }
}

fn run(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let hub_env = Arc::new(ManualEnv::new(T0, seed));
    let mut hub = Hub::new(hub_env.clone(), seed % 4 == 1, seed);
    // Restarts draw from their own generator, so that every other choice of a seed stays as it was
    // before restarts existed (the regression seeds replay the same runs).
    let mut restarts = StdRng::seed_from_u64(seed ^ 0x5eed_4e57_a475);
    let n: usize = 3;
    let mut clients: Vec<Client> = (0..n)
        .map(|i| {
            // Client 2 runs two hours fast: its first pushes are refused and re-stamped.
            // Client 1 sometimes runs 30 minutes fast: within the hub's bound, so its ops are accepted and
            // can outrank ops that client 2 re-stamps at the hub's time.
            // Client 0 is sometimes a year behind (a dead RTC battery) or a year ahead (refused as
            // skewed, then re-stamped at the hub's time).
            const YEAR: u64 = 365 * 24 * 3600 * 1000;
            let start = match i {
                2 if seed.is_multiple_of(2) => T0 + 2 * 3600 * 1000,
                1 if seed % 3 != 2 => T0 + 30 * 60 * 1000,
                0 if seed % 7 == 3 => T0 - YEAR,
                0 if seed % 7 == 5 => T0 + YEAR,
                _ => T0 + rng.random_range(0..500),
            };
            let env = Arc::new(ManualEnv::new(start, seed * 10 + i as u64));
            let store = Store::open_in_memory(env.clone(), Options::default()).expect("client");
            Client {
                store,
                env,
                round: None,
                committed: 0,
                partitioned: 0,
                cursor: 0,
            }
        })
        .collect();
    let faults = Faults {
        drop_request: 0.1,
        drop_response: 0.1,
        duplicate: 0.1,
        delay: 0.1,
        server_error: 0.05,
    };
    let steps = rng.random_range(20..80);
    let jump_at = rng.random_range(0..steps);
    for t in 0..steps {
        if t == jump_at && !seed.is_multiple_of(2) {
            // Client 2's clock jumps two hours ahead mid-run, after it has already pulled.
            clients[2].env.advance(2 * 3600 * 1000);
        }
        let i = rng.random_range(0..n);
        if rng.random_bool(0.03) {
            // A partition: this client cannot reach the hub for a while (it keeps editing).
            clients[i].partitioned = rng.random_range(3..15);
            PARTITIONS.fetch_add(1, Relaxed);
        }
        clients[i].partitioned = clients[i].partitioned.saturating_sub(1);
        if rng.random_bool(0.03) {
            // The clock jumps backwards (NTP correcting a fast clock): up to an hour.
            let now = hearth_core::Env::now_ms(&*clients[i].env);
            clients[i].env.set_now(now - rng.random_range(1..3_600_000));
            BACKWARD_JUMPS.fetch_add(1, Relaxed);
        }
        hub_env.advance(rng.random_range(0..20));
        clients[i].env.advance(rng.random_range(0..20));
        if rng.random_bool(0.4) {
            edit(&mut rng, &mut clients[i]);
        } else {
            step(&mut rng, &mut clients[i], &mut hub, &faults);
        }
        if rng.random_bool(0.06) {
            // Compaction at a random point, to any horizon up to the head: not only past what every
            // client acked, so clients fall behind it and must restore from the snapshot.
            let head = hub.store.head().expect("head");
            let horizon = rng.random_range(0..=head);
            hub.store.compact(horizon).expect("compact");
            COMPACTIONS.fetch_add(1, Relaxed);
        }
        if hub.files.is_some() && restarts.random_bool(0.04) {
            hub.restart();
        }
        if !hub.delayed.is_empty() && rng.random_bool(0.2) {
            let late = hub.delayed.remove(rng.random_range(0..hub.delayed.len()));
            let _ = hub.store.append(&late); // a late duplicate: accepted once or refused, never twice
        }
    }
    // Heal the network and let every client finish rounds until nothing moves.
    let calm = Faults {
        drop_request: 0.0,
        drop_response: 0.0,
        duplicate: 0.0,
        delay: 0.0,
        server_error: 0.0,
    };
    for late in std::mem::take(&mut hub.delayed) {
        let _ = hub.store.append(&late);
    }
    for _pass in 0..3 {
        for c in clients.iter_mut() {
            c.round = None;
            c.partitioned = 0;
            let mut guard = 0;
            while !step(&mut rng, c, &mut hub, &calm) {
                guard += 1;
                assert!(guard < 10_000, "seed {seed}: a sync round did not finish");
            }
        }
    }
    let hub_export = hub.store.store().export().expect("export");
    let head = hub.store.head().expect("head");
    let total: usize = clients.iter().map(|c| c.committed).sum();
    assert_eq!(
        head as usize, total,
        "seed {seed}: the hub log must hold every committed op exactly once"
    );
    for (i, c) in clients.iter().enumerate() {
        assert_eq!(
            c.store.outbox_len().expect("outbox"),
            0,
            "seed {seed}: client {i} kept unsent ops"
        );
        assert_eq!(
            c.store.cursor().expect("cursor"),
            head,
            "seed {seed}: client {i} cursor"
        );
        let export = c.store.export().expect("export");
        assert!(
            export == hub_export,
            "seed {seed}: client {i} diverged\nhub:\n{hub_export}\nclient:\n{export}"
        );
        query::tree(c.store.conn()).expect("tree");
    }
}

/// Seeds that found real bugs, kept in `sync_sim_regressions.txt` (the default range may not cover a
/// seed found by a long run).
fn regressions() -> Vec<u64> {
    include_str!("sync_sim_regressions.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.parse().expect("a seed per line"))
        .collect()
}

#[test]
fn regression_seeds() {
    let seeds = regressions();
    assert!(seeds.len() >= 3, "the regression file lists its seeds");
    for seed in seeds {
        run(seed);
    }
}

#[test]
fn replicas_converge_over_a_faulty_network() {
    let cases: u64 = std::env::var("HEARTH_SIM_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let first: u64 = std::env::var("HEARTH_SIM_FIRST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut failed = Vec::new();
    for seed in first..first + cases {
        if std::panic::catch_unwind(|| run(seed)).is_err() {
            failed.push(seed);
        }
    }
    assert!(
        failed.is_empty(),
        "sync simulation: {} of {cases} seeds failed: {failed:?} (each says why above; replay one with \
         HEARTH_SIM_FIRST=S HEARTH_SIM_CASES=1, and once fixed add it to core/tests/sync_sim_regressions.txt)",
        failed.len()
    );
    let (restamped, faults) = (RESTAMPED.load(Relaxed), FAULTS.load(Relaxed));
    let (compactions, restores) = (COMPACTIONS.load(Relaxed), RESTORES.load(Relaxed));
    let (partitions, jumps) = (PARTITIONS.load(Relaxed), BACKWARD_JUMPS.load(Relaxed));
    let hub_restarts = HUB_RESTARTS.load(Relaxed);
    let live_pages = LIVE_PAGES.load(Relaxed);
    eprintln!(
        "sync simulation: {cases} seeds, 3 clients each, {faults} injected failures, {partitions} partitions, \
         {jumps} clocks jumping back, {restamped} ops re-stamped, {compactions} compactions, {restores} restores \
         from a snapshot, {hub_restarts} hub restarts, {live_pages} pulls answered by a live event; all \
         converged, no op lost, no cursor moved back but to re-pull after a re-stamp"
    );
    assert!(
        cases < 50
            || (restamped > 0
                && faults > 0
                && compactions > 0
                && restores > 0
                && partitions > 0
                && jumps > 0
                && hub_restarts > 0
                && live_pages > 0),
        "the simulation must exercise faults, partitions, clock jumps and skew, compaction, restores, \
         hub restarts and pulls answered by live events"
    );
}

/// A poison pill first in the outbox: the hub refuses one op as it is (here: its payload is over the
/// hub's limit, named in a `413`; then another named in a `422 invalid_op`). The engine sets each aside
/// into the quarantine with the hub's reason and the rest of the outbox keeps flowing, in the same
/// round; nothing is wedged, and a retried op goes back to the outbox.
#[test]
fn a_poison_pill_is_set_aside_and_the_rest_of_the_outbox_flows() {
    let env = Arc::new(ManualEnv::new(T0, 5));
    let mut hub = SqliteHubLog::open_in_memory(env.clone(), HubOptions::default()).expect("hub");
    let mut phone = Store::open_in_memory(env.clone(), Options::default()).expect("phone");
    let big = "x".repeat(5_000);
    let ops = phone
        .commit(vec![
            NewOp::create("a", "task", Default::default()),
            NewOp::set("a", "notes", json!(big)),
            NewOp::set("a", "title", json!("refused by a newer rule")),
            NewOp::create("b", "task", Default::default()),
        ])
        .expect("commit");
    let (too_big, invalid) = (ops[1].id, ops[2].id);
    let refuse = |batch: &[hearth_core::Op]| -> Option<Reply> {
        for op in batch {
            let (status, error) = if op.id == too_big {
                (413, codes::TOO_LARGE)
            } else if op.id == invalid {
                (422, codes::INVALID_OP)
            } else {
                continue;
            };
            return Some(Reply::Error {
                status,
                body: Some(ErrorBody {
                    error: error.into(),
                    message: format!("op {} is refused by this hub", op.id),
                    hub_time_ms: None,
                    op: Some(op.id.to_string()),
                    horizon: None,
                    snapshot_seq: None,
                    epoch: None,
                }),
            });
        }
        None
    };
    let round = |phone: &mut Store, hub: &mut SqliteHubLog| {
        let mut sync = Sync::new(SyncConfig::default());
        loop {
            match sync.poll(phone, T0).expect("poll") {
                Step::Send(req) => {
                    let reply = match &req {
                        Request::HubInfo => Reply::Hub {
                            time_ms: T0,
                            min_schema_version: 0,
                            kinds: Some(hearth_core::Kinds::default().list()),
                            migrations: Vec::new(),
                        },
                        Request::Push { ops, .. } => refuse(ops)
                            .unwrap_or_else(|| Reply::Pushed(hub.append(ops).expect("append").into())),
                        Request::Pull { after, limit, .. } => Reply::Pulled(
                            hub.page(*after, *limit)
                                .expect("page")
                                .pull_response(*after)
                                .expect("page"),
                        ),
                        Request::Ack { .. } => Reply::Acked,
                        Request::Snapshot { .. } => unreachable!("nothing is compacted"),
                    };
                    if let Some(Step::Done(r)) = sync.handle(phone, reply, T0).expect("handle") {
                        return r;
                    }
                }
                Step::Sleep(_) => unreachable!("no retries here"),
                Step::Done(r) => return r,
            }
        }
    };
    let report = round(&mut phone, &mut hub);
    assert_eq!(report.problem, None, "the round ends well: {report:?}");
    assert_eq!(report.quarantined.len(), 2);
    assert_eq!(report.quarantined[0].0, too_big.to_string());
    assert!(report.quarantined[1].1.contains("refused by this hub"));
    assert_eq!(
        (report.unsent, hub.head().expect("head")),
        (0, 2),
        "the other two ops went through"
    );
    let set_aside = phone.quarantined().expect("list");
    assert_eq!(
        set_aside
            .iter()
            .map(|q| (q.op.id, q.code.as_str()))
            .collect::<Vec<_>>(),
        vec![(too_big, "too_large"), (invalid, "invalid_op")]
    );
    // Nothing is wedged: the next round is clean, and new edits flow.
    phone
        .commit(vec![NewOp::set("b", "title", json!("later"))])
        .expect("commit");
    let report = round(&mut phone, &mut hub);
    assert_eq!(
        (report.problem, report.quarantined.len(), report.unsent),
        (None, 0, 0)
    );
    assert_eq!(hub.head().expect("head"), 3);
    // Retried, it goes back to the outbox (and is refused and set aside again by this hub).
    assert!(phone.release_quarantined(invalid, true).expect("retry"));
    assert_eq!(phone.outbox_len().expect("outbox"), 1);
    let report = round(&mut phone, &mut hub);
    assert_eq!(report.quarantined.len(), 1);
    assert!(phone.release_quarantined(too_big, false).expect("discard"));
    assert_eq!(phone.quarantined().expect("list").len(), 1);
}

/// A round started with the hub's info from an earlier round sends no `GET /v1/hub`: its first request
/// is the push, and its last the ack. A space whose minimum schema is above this build's still holds
/// the push back (pulls go on). A push the hub numbers right after the cursor, with nothing after it,
/// moves the cursor and needs no pull; one numbered after another device's op does not.
#[test]
fn a_round_with_known_hub_info_goes_straight_to_the_push() {
    let env = Arc::new(ManualEnv::new(T0, 6));
    let mut hub = SqliteHubLog::open_in_memory(env.clone(), HubOptions::default()).expect("hub");
    let mut phone = Store::open_in_memory(env.clone(), Options::default()).expect("phone");
    let all_kinds = hearth_core::Kinds::default().list();
    let round = |phone: &mut Store,
                 hub: &mut SqliteHubLog,
                 min_schema_version: i64,
                 kinds: Option<&std::collections::BTreeMap<String, u32>>| {
        let mut sync = Sync::with_hub_info(SyncConfig::default(), phone, min_schema_version, kinds);
        let mut sent = Vec::new();
        let report = loop {
            match sync.poll(phone, T0).expect("poll") {
                Step::Send(req) => {
                    sent.push(
                        format!("{req:?}")
                            .split([' ', '{'])
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    let reply = match &req {
                        Request::HubInfo => unreachable!("the hub's info is known"),
                        Request::Push { ops, .. } => Reply::Pushed(hub.append(ops).expect("append").into()),
                        Request::Pull { after, limit, .. } => Reply::Pulled(
                            hub.page(*after, *limit)
                                .expect("page")
                                .pull_response(*after)
                                .expect("page"),
                        ),
                        Request::Ack { .. } => Reply::Acked,
                        Request::Snapshot { .. } => unreachable!("nothing is compacted"),
                    };
                    if let Some(Step::Done(r)) = sync.handle(phone, reply, T0).expect("handle") {
                        break r;
                    }
                }
                Step::Sleep(_) => unreachable!("no retries here"),
                Step::Done(r) => break r,
            }
        };
        (report, sent)
    };
    phone
        .commit(vec![NewOp::create("a", "task", Default::default())])
        .expect("commit");
    let (report, sent) = round(
        &mut phone,
        &mut hub,
        hearth_core::migrate::LATEST + 1,
        Some(&all_kinds),
    );
    assert!(report.update_required.is_some(), "{report:?}");
    assert_eq!((report.pushed, report.unsent), (0, 1));
    assert_eq!(sent, ["Pull"], "nothing to ack on an empty hub");
    // A comment, with the info of a hub that does not list its kinds: the comment waits.
    phone
        .commit(vec![NewOp::comment("a", "kept for later")])
        .expect("comment");
    let (report, sent) = round(&mut phone, &mut hub, 0, None);
    assert_eq!(
        (report.problem.clone(), report.pushed, report.unsent, report.held),
        (None, 1, 1, 1)
    );
    assert_eq!(report.held_kinds, ["comment.add"]);
    // The hub numbered the push right after the cursor and nothing followed: no pull.
    assert_eq!(sent, ["Push", "Ack"]);
    assert_eq!((report.cursor, phone.cursor().expect("cursor")), (1, 1));
    let (report, sent) = round(&mut phone, &mut hub, 0, Some(&all_kinds));
    assert_eq!(
        (report.problem, report.pushed, report.unsent, report.held),
        (None, 1, 0, 0)
    );
    assert_eq!(sent, ["Push", "Ack"]);
    assert_eq!(report.cursor, 2);
    // Another device's op lands first: the phone's next push is numbered after it, so the phone pulls
    // (that op and its own back) and ends at the same head.
    let mut laptop = Store::open_in_memory(env.clone(), Options::default()).expect("laptop");
    let theirs = laptop
        .commit(vec![NewOp::create("b", "task", Default::default())])
        .expect("laptop's task");
    hub.append(&theirs).expect("the laptop's push");
    phone
        .commit(vec![NewOp::set("a", "title", serde_json::json!("renamed"))])
        .expect("rename");
    let (report, sent) = round(&mut phone, &mut hub, 0, Some(&all_kinds));
    assert_eq!(sent, ["Push", "Pull", "Ack"]);
    assert_eq!(
        (report.pushed, report.pulled, report.echoed, report.cursor),
        (1, 1, 1, 4)
    );
    let tasks = phone.export().expect("export");
    assert!(tasks.contains("\"b\"") && tasks.contains("renamed"), "{tasks}");
}
