//! The hub's shared state ([`AppState`]): configuration, `hub.db`, the open spaces, the network view
//! (peers with their acks, last seen and versions, written through to `hub.db`), the token cache and the
//! rate limiter. Every handler gets a clone.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth_core::DeviceId;
use hearth_core::wire::{PeerInfo, PeerState, PeersResponse, SpaceInfo};
use tokio::sync::watch;

use crate::config::Config;
use crate::devices::{self, Devices, Paired, hash_secret};
use crate::error::{ApiError, Result};
use crate::rate;
use crate::space::Space;

/// The space a fresh hub creates.
pub const DEFAULT_SPACE: &str = "default";

/// How often peers' last seen, versions and acks are written to `hub.db`.
pub(crate) const PEER_FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Peer {
    info: PeerInfo,
    dirty: bool,
}

/// How long a looked-up token is trusted without asking `hub.db` again.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Everything the handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Hub>);

#[derive(Debug)]
struct Hub {
    config: Config,
    devices: Devices,
    spaces: Mutex<HashMap<String, Arc<Space>>>,
    /// Serializes opening spaces (rare, slow) without blocking lookups.
    opening: tokio::sync::Mutex<()>,
    /// Peers by space, then device: the network view, written through to `hub.db` periodically.
    peers: Mutex<HashMap<String, BTreeMap<DeviceId, Peer>>>,
    /// Token hash → (space, device, when looked up). Entries are trusted for [`TOKEN_CACHE_TTL`], so a
    /// token revoked with `hearth device revoke` (another process) stops working within that time.
    tokens: Mutex<HashMap<String, (String, DeviceId, Instant)>>,
    rate: rate::RateLimiter,
    /// Failed pairing attempts by address: (count, start of the window).
    pair_failures: Mutex<HashMap<std::net::IpAddr, (u32, Instant)>>,
    shutdown: watch::Sender<bool>,
    /// On PostgreSQL, the connection that holds the serving lock (shared with the other hubs; `hearth
    /// migrate` waits for none).
    _serving: Option<Mutex<crate::pg::Conn>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// Open the hub's data directory: `hub.db` and every space already in it.
    pub fn open(config: Config) -> anyhow::Result<Self> {
        let serving = match &config.database {
            Some(db) => Some(Mutex::new(db.hold_serving()?)),
            None => None,
        };
        let devices = match &config.database {
            Some(db) => Devices::open_postgres(db)?,
            None => {
                std::fs::create_dir_all(&config.data_dir)?;
                Devices::open(&config.hub_db())?
            }
        };
        let mut peers: HashMap<String, BTreeMap<DeviceId, Peer>> = HashMap::new();
        for (space, info) in devices.peers()? {
            peers
                .entry(space)
                .or_default()
                .insert(info.device, Peer { info, dirty: false });
        }
        let mut spaces = HashMap::new();
        for (name, _) in devices.spaces()? {
            let space = open_space(&config, &name).map_err(|e| anyhow::anyhow!("open space {name}: {e}"))?;
            spaces.insert(name, space);
        }
        let rate = rate::RateLimiter::new(config.limits.rate_per_sec, config.limits.rate_burst);
        let (shutdown, _) = watch::channel(false);
        let database = config.database.clone();
        let state = AppState(Arc::new(Hub {
            config,
            devices,
            spaces: Mutex::new(spaces),
            opening: tokio::sync::Mutex::new(()),
            peers: Mutex::new(peers),
            tokens: Mutex::new(HashMap::new()),
            rate,
            pair_failures: Mutex::new(HashMap::new()),
            shutdown,
            _serving: serving,
        }));
        if let Some(db) = database {
            // Pushes committed through other hubs wake this hub's live listeners.
            let hub = Arc::downgrade(&state.0);
            crate::pg::listen(db, move |space, head| {
                let Some(hub) = hub.upgrade() else {
                    return false;
                };
                if let Some(open) = lock(&hub.spaces).get(space) {
                    open.saw_head(head);
                }
                true
            })?;
        }
        Ok(state)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The devices and tokens database.
    pub fn devices(&self) -> &Devices {
        &self.0.devices
    }

    /// On a hub with no space yet, create the default one and return a first pairing code for it.
    pub fn bootstrap(&self) -> anyhow::Result<Option<(String, String)>> {
        if !self.0.devices.spaces()?.is_empty() {
            return Ok(None);
        }
        self.0.devices.create_space(DEFAULT_SPACE)?;
        let code = self
            .0
            .devices
            .create_code(DEFAULT_SPACE, self.0.config.limits.code_ttl())?;
        Ok(Some((DEFAULT_SPACE.to_owned(), code)))
    }

    /// A fresh pairing code for `space` (created if missing), valid for the configured TTL.
    pub fn invite(&self, space: &str) -> anyhow::Result<String> {
        anyhow::ensure!(
            devices::valid_space_name(space),
            "space names are 1–64 of [a-z0-9_-]"
        );
        self.0.devices.create_space(space)?;
        Ok(self
            .0
            .devices
            .create_code(space, self.0.config.limits.code_ttl())?)
    }

    /// Run blocking work on `hub.db` off the async threads.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Devices) -> devices::DbResult<T> + Send + 'static,
    ) -> Result<T> {
        let hub = self.0.clone();
        Ok(tokio::task::spawn_blocking(move || f(&hub.devices)).await??)
    }

    /// The open space `name`, opening it if `hub.db` knows it. 404 otherwise.
    pub async fn space(&self, name: &str) -> Result<Arc<Space>> {
        if let Some(s) = lock(&self.0.spaces).get(name) {
            return Ok(s.clone());
        }
        let _guard = self.0.opening.lock().await;
        if let Some(s) = lock(&self.0.spaces).get(name) {
            return Ok(s.clone());
        }
        let owned = name.to_owned();
        if !devices::valid_space_name(name) || self.db(move |d| d.space(&owned)).await?.is_none() {
            return Err(ApiError::NotFound(format!(
                "there is no space {name:?} on this hub"
            )));
        }
        let (owned, hub) = (name.to_owned(), self.0.clone());
        let space = tokio::task::spawn_blocking(move || open_space(&hub.config, &owned)).await??;
        lock(&self.0.spaces).insert(name.to_owned(), space.clone());
        Ok(space)
    }

    /// The space's epoch and minimum schema version, read fresh (the CLI may change them while we run).
    pub async fn space_info(&self, name: &str) -> Result<SpaceInfo> {
        let owned = name.to_owned();
        self.db(move |d| d.space(&owned))
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no space {name:?} on this hub")))
    }

    /// Every space with its epoch (from its log) and minimum schema version (from `hub.db`).
    pub async fn spaces_info(&self) -> Result<BTreeMap<String, SpaceInfo>> {
        let mut infos: BTreeMap<String, SpaceInfo> = self.db(|d| d.spaces()).await?.into_iter().collect();
        for (name, info) in infos.iter_mut() {
            info.epoch = self.space(name).await?.position().await?.epoch;
        }
        Ok(infos)
    }

    /// The (space, device) a bearer token belongs to; 401 if none.
    pub async fn authenticate(&self, token: &str) -> Result<(String, DeviceId)> {
        let hash = hash_secret(token);
        if let Some((space, device, at)) = lock(&self.0.tokens).get(&hash)
            && at.elapsed() < TOKEN_CACHE_TTL
        {
            return Ok((space.clone(), *device));
        }
        let key = hash.clone();
        match self.db(move |d| d.token(&key)).await? {
            Some(found) => {
                lock(&self.0.tokens).insert(hash, (found.0.clone(), found.1, Instant::now()));
                Ok(found)
            }
            None => Err(ApiError::Unauthorized(
                "this token is not known to the hub; pair the device again with a code from `hearth invite`"
                    .into(),
            )),
        }
    }

    /// Take a request from this device's rate budget; 429 when it is spent.
    pub fn rate_limit(&self, space: &str, device: DeviceId) -> Result<()> {
        self.0
            .rate
            .check(space, device)
            .map_err(|wait| ApiError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            })
    }

    /// Refuse pairing from `ip` while it is locked out (too many wrong codes in the window).
    pub fn check_pairing(&self, ip: std::net::IpAddr) -> Result<()> {
        let limits = &self.0.config.limits;
        if limits.pair_attempts == 0 {
            return Ok(());
        }
        let window = Duration::from_secs(limits.pair_window_secs);
        let mut failures = lock(&self.0.pair_failures);
        failures.retain(|_, (_, since)| since.elapsed() < window);
        match failures.get(&ip) {
            Some((n, since)) if *n >= limits.pair_attempts => Err(ApiError::PairingLocked {
                retry_after_secs: window.saturating_sub(since.elapsed()).as_secs().max(1),
            }),
            _ => Ok(()),
        }
    }

    /// Count a wrong pairing code from `ip`.
    pub fn pairing_failed(&self, ip: std::net::IpAddr) {
        let mut failures = lock(&self.0.pair_failures);
        let entry = failures.entry(ip).or_insert((0, Instant::now()));
        entry.0 += 1;
        tracing::warn!(%ip, failures = entry.0, "wrong pairing code");
    }

    /// Record a request: last seen now, and the versions it reported (or keep the recorded ones).
    /// Returns the versions in effect.
    pub fn touch_peer(
        &self,
        space: &str,
        device: DeviceId,
        app: Option<String>,
        schema: Option<i64>,
    ) -> (String, i64) {
        let now = devices::now_ms();
        let mut peers = lock(&self.0.peers);
        let peer = peers
            .entry(space.to_owned())
            .or_default()
            .entry(device)
            .or_insert_with(|| Peer {
                info: PeerInfo {
                    device,
                    name: String::new(),
                    acked: 0,
                    last_seen_ms: now,
                    app_version: String::new(),
                    schema_version: 0,
                    epoch: 0,
                    state: PeerState::Active,
                },
                dirty: true,
            });
        peer.info.last_seen_ms = now;
        if let Some(app) = app {
            peer.info.app_version = app;
        }
        if let Some(schema) = schema {
            peer.info.schema_version = schema;
        }
        peer.dirty = true;
        (peer.info.app_version.clone(), peer.info.schema_version)
    }

    /// Note the epoch a device's push or pull was in (shown in the network view; kept in memory).
    pub fn note_epoch(&self, space: &str, device: DeviceId, epoch: u64) {
        if let Some(peer) = lock(&self.0.peers)
            .get_mut(space)
            .and_then(|p| p.get_mut(&device))
        {
            peer.info.epoch = epoch;
        }
    }

    /// Record a newly paired device.
    pub(crate) fn add_peer(&self, paired: &Paired) {
        lock(&self.0.peers)
            .entry(paired.space.clone())
            .or_default()
            .insert(
                paired.device,
                Peer {
                    info: paired.peer.clone(),
                    dirty: false,
                },
            );
        lock(&self.0.tokens).insert(
            hash_secret(&paired.token),
            (paired.space.clone(), paired.device, Instant::now()),
        );
    }

    /// Record an ack (never moves backwards) and write it through to `hub.db`.
    pub async fn ack(&self, space: &str, device: DeviceId, seq: u64) -> Result<u64> {
        let info = {
            let mut peers = lock(&self.0.peers);
            let Some(peer) = peers.get_mut(space).and_then(|p| p.get_mut(&device)) else {
                return Err(ApiError::internal(format!(
                    "device {device} of space {space} has no peer record"
                )));
            };
            peer.info.acked = peer.info.acked.max(seq);
            peer.info.clone()
        };
        let acked = info.acked;
        let space = space.to_owned();
        self.db(move |d| d.save_peers(&[(space, info)])).await?;
        Ok(acked)
    }

    /// The peers of a space, by device id, each with its state ([`PeerState`]) against the peer TTL
    /// and the log's `compacted` seq (ops at or below it may be gone).
    pub fn peers(&self, space: &str, compacted: u64) -> Vec<PeerInfo> {
        let infos: Vec<PeerInfo> = lock(&self.0.peers)
            .get(space)
            .map(|p| p.values().map(|p| p.info.clone()).collect())
            .unwrap_or_default();
        classify(infos, compacted, self.0.config.limits.peer_ttl, devices::now_ms())
    }

    /// The network view of a space (`GET …/peers` and `/admin`): its devices with their states, the
    /// head, the horizon, what the log has compacted and how many rows it holds.
    pub async fn network_view(&self, space: &str) -> Result<PeersResponse> {
        let open = self.space(space).await?;
        if self.0.devices.is_shared() {
            self.refresh_peers(space).await?;
        }
        let at = open.position().await?;
        let log_rows = open.log_rows().await?;
        let peers = self.peers(space, at.horizon);
        Ok(PeersResponse {
            horizon: horizon(&peers, at.head),
            peers,
            head: at.head,
            compacted: at.horizon,
            snapshot_seq: at.snapshot,
            log_rows,
            epoch: at.epoch,
        })
    }

    /// Compact a space now: up to its horizon (see [`horizon`]), beside the writer.
    pub async fn compact(&self, space: &str) -> Result<hearth_core::store::CompactReport> {
        let open = self.space(space).await?;
        let view = self.network_view(space).await?;
        open.compact(view.horizon).await
    }

    /// Other hubs on the same database record acks and visits too: write ours, then take theirs (acks
    /// and last-seen only move forward), so the horizon counts every device of the space.
    async fn refresh_peers(&self, space: &str) -> Result<()> {
        let hub = self.0.clone();
        let owned = space.to_owned();
        let stored = tokio::task::spawn_blocking(move || {
            let state = AppState(hub);
            state.flush_peers()?;
            state.0.devices.peers()
        })
        .await??;
        let mut peers = lock(&self.0.peers);
        let mine = peers.entry(owned.clone()).or_default();
        for (_, info) in stored.into_iter().filter(|(s, _)| *s == owned) {
            let peer = mine.entry(info.device).or_insert_with(|| Peer {
                info: info.clone(),
                dirty: false,
            });
            peer.info.acked = peer.info.acked.max(info.acked);
            peer.info.last_seen_ms = peer.info.last_seen_ms.max(info.last_seen_ms);
            if peer.info.name.is_empty() {
                peer.info.name = info.name;
            }
            if peer.info.app_version.is_empty() {
                peer.info.app_version = info.app_version;
                peer.info.schema_version = info.schema_version;
            }
        }
        Ok(())
    }

    /// The names of the open spaces.
    pub fn open_space_names(&self) -> Vec<String> {
        lock(&self.0.spaces).keys().cloned().collect()
    }

    /// Write changed peer records to `hub.db`.
    pub fn flush_peers(&self) -> devices::DbResult<()> {
        let dirty: Vec<(String, PeerInfo)> = {
            let mut peers = lock(&self.0.peers);
            peers
                .iter_mut()
                .flat_map(|(space, ps)| {
                    ps.values_mut().filter(|p| p.dirty).map(move |p| {
                        p.dirty = false;
                        (space.clone(), p.info.clone())
                    })
                })
                .collect()
        };
        self.0.devices.save_peers(&dirty)
    }

    /// Resolves once the hub is shutting down (ends live event streams).
    pub fn shutting_down(&self) -> impl Future<Output = ()> + Send + use<> {
        let mut rx = self.0.shutdown.subscribe();
        async move {
            let _ = rx.wait_for(|down| *down).await;
        }
    }
}

impl AppState {
    /// Tell live streams the hub is going down.
    pub(crate) fn begin_shutdown(&self) {
        self.0.shutdown.send_replace(true);
    }
}

/// Open a space's log where the configuration keeps it: PostgreSQL, or its SQLite file.
fn open_space(config: &Config, name: &str) -> Result<Arc<Space>> {
    match &config.database {
        Some(db) => {
            let log = crate::pg::PgHubLog::open(
                db,
                name,
                Arc::new(hearth_core::SystemEnv),
                hearth_core::store::HubOptions {
                    max_drift_ms: config.limits.max_drift_ms,
                },
            )?;
            Space::start(name, Box::new(log))
        }
        None => Space::open(name, &config.space_db(name), config.limits.max_drift_ms),
    }
}

/// Give each peer its state at `now_ms`: behind the horizon when its ack is below the `compacted` seq
/// (it must restore from the snapshot), inactive when not seen within `ttl`, active otherwise.
pub fn classify(mut peers: Vec<PeerInfo>, compacted: u64, ttl: Duration, now_ms: u64) -> Vec<PeerInfo> {
    let ttl = ttl.as_millis() as u64;
    for info in &mut peers {
        info.state = if info.acked < compacted {
            PeerState::BehindHorizon
        } else if now_ms.saturating_sub(info.last_seen_ms) > ttl {
            PeerState::Inactive
        } else {
            PeerState::Active
        };
    }
    peers
}

/// The compaction horizon of a space: the lowest acked seq over its active devices, or `head` when none
/// is active. Compaction may remove log rows up to it and no further.
pub fn horizon(peers: &[PeerInfo], head: u64) -> u64 {
    peers
        .iter()
        .filter(|p| p.state == PeerState::Active)
        .map(|p| p.acked)
        .min()
        .unwrap_or(head)
        .min(head)
}
