//! The hub's configuration: where it keeps its data, what it serves, and the limits it enforces.
//! Every limit has a default and a `hearth serve` flag.

use std::path::PathBuf;
use std::time::Duration;

/// Largest request body, in bytes (checked on the raw body, before any parsing).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Most ops in one push.
pub const DEFAULT_MAX_OPS_PER_BATCH: usize = 5_000;
/// Largest op payload, in bytes of JSON.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// How far ahead of the hub's clock an op may be stamped: one hour.
pub const DEFAULT_MAX_DRIFT_MS: u64 = hearth_core::hlc::DEFAULT_MAX_DRIFT_MS;
/// Sustained requests per second per device.
pub const DEFAULT_RATE_PER_SEC: f64 = 1_000.0;
/// Burst of requests a device may make above the sustained rate.
pub const DEFAULT_RATE_BURST: f64 = 2_000.0;
/// How long a pairing code stays valid.
pub const DEFAULT_CODE_TTL_SECS: u64 = 60 * 60;
/// Largest page a pull returns.
pub const DEFAULT_MAX_PULL_LIMIT: usize = 10_000;
/// How often the hub compacts a space whose horizon has moved: 10 minutes.
pub const DEFAULT_COMPACT_EVERY: Duration = Duration::from_secs(10 * 60);
/// Log rows above the compacted seq that make the hub compact without waiting for the next period.
pub const DEFAULT_COMPACT_ROWS: u64 = 100_000;
/// Failed pairing attempts one address may make per window before it is locked out.
pub const DEFAULT_PAIR_ATTEMPTS: u32 = 10;
/// The pairing lockout window: 15 minutes.
pub const DEFAULT_PAIR_WINDOW_SECS: u64 = 15 * 60;
/// How long a request body may take to arrive, in seconds (slow senders are cut off).
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
/// Default `--header-timeout-secs`.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// Default `--max-header-bytes`.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long a device counts as active after its last request: 30 days.
pub const DEFAULT_PEER_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Parse a duration as `hearth serve` flags take it: a number and a unit, e.g. `2s`, `10m`, `12h`, `30d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}); write e.g. 2s, 10m, 12h or 30d"))
}

/// Limits the hub enforces. Every one is a `hearth serve` flag.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Largest request body in bytes; larger bodies get 413 before they are parsed.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Most ops in one push; more get 413.
    #[arg(long, default_value_t = DEFAULT_MAX_OPS_PER_BATCH)]
    pub max_ops_per_batch: usize,
    /// Largest op payload in bytes of JSON; larger get 413.
    #[arg(long, default_value_t = DEFAULT_MAX_PAYLOAD_BYTES)]
    pub max_payload_bytes: usize,
    /// Refuse ops stamped more than this many ms ahead of the hub's clock (422 clock_skew).
    #[arg(long, default_value_t = DEFAULT_MAX_DRIFT_MS)]
    pub max_drift_ms: u64,
    /// Sustained requests per second allowed per device (0 turns rate limiting off).
    #[arg(long, default_value_t = DEFAULT_RATE_PER_SEC)]
    pub rate_per_sec: f64,
    /// Requests a device may burst above the sustained rate.
    #[arg(long, default_value_t = DEFAULT_RATE_BURST)]
    pub rate_burst: f64,
    /// Seconds a pairing code printed by `hearth serve` stays valid.
    #[arg(long, default_value_t = DEFAULT_CODE_TTL_SECS)]
    pub code_ttl_secs: u64,
    /// Largest page a pull may ask for.
    #[arg(long, default_value_t = DEFAULT_MAX_PULL_LIMIT)]
    pub max_pull_limit: usize,
    /// A device counts as active while seen within this long (e.g. 2s, 10m, 30d); only active devices'
    /// acks hold the compaction horizon back.
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub peer_ttl: Duration,
    /// Compact each space this often when its horizon has moved (e.g. 30s, 10m, 1h; 0s turns the
    /// periodic compaction off; `hearth compact` still works).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub compact_every: Duration,
    /// Failed pairing attempts one address may make per `--pair-window-secs`; more get 429 until the
    /// window ends (0 turns the lockout off).
    #[arg(long, default_value_t = DEFAULT_PAIR_ATTEMPTS)]
    pub pair_attempts: u32,
    /// The pairing lockout window, in seconds.
    #[arg(long, default_value_t = DEFAULT_PAIR_WINDOW_SECS)]
    pub pair_window_secs: u64,
    /// Seconds a request body may take to arrive; slower ones get 408.
    #[arg(long, default_value_t = DEFAULT_BODY_TIMEOUT_SECS)]
    pub body_timeout_secs: u64,
    /// Seconds a request's line and headers may take to arrive; a connection that is slower (a
    /// slow-loris sender) is closed.
    #[arg(long, default_value_t = DEFAULT_HEADER_TIMEOUT_SECS)]
    pub header_timeout_secs: u64,
    /// Largest request line and headers, in bytes (at least 8192); larger get 431.
    #[arg(long, default_value_t = DEFAULT_MAX_HEADER_BYTES, value_parser = clap::value_parser!(usize))]
    pub max_header_bytes: usize,
    /// Also compact as soon as a space's log holds this many rows above what was compacted (0: never
    /// by size).
    #[arg(long, default_value_t = DEFAULT_COMPACT_ROWS)]
    pub compact_rows: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_ops_per_batch: DEFAULT_MAX_OPS_PER_BATCH,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            max_drift_ms: DEFAULT_MAX_DRIFT_MS,
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            rate_burst: DEFAULT_RATE_BURST,
            code_ttl_secs: DEFAULT_CODE_TTL_SECS,
            max_pull_limit: DEFAULT_MAX_PULL_LIMIT,
            peer_ttl: DEFAULT_PEER_TTL,
            pair_attempts: DEFAULT_PAIR_ATTEMPTS,
            pair_window_secs: DEFAULT_PAIR_WINDOW_SECS,
            body_timeout_secs: DEFAULT_BODY_TIMEOUT_SECS,
            header_timeout_secs: DEFAULT_HEADER_TIMEOUT_SECS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            compact_every: DEFAULT_COMPACT_EVERY,
            compact_rows: DEFAULT_COMPACT_ROWS,
        }
    }
}

impl Limits {
    /// The pairing code lifetime.
    pub fn code_ttl(&self) -> Duration {
        Duration::from_secs(self.code_ttl_secs)
    }
}

/// Everything a hub needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds `hub.db` (devices, tokens, codes, spaces) and `spaces/<name>.db` (one per space).
    pub data_dir: PathBuf,
    /// The PWA bundle (Trunk's `dist/`); without one, `/` says the app is not built yet.
    pub web_dir: Option<PathBuf>,
    /// The limits.
    pub limits: Limits,
    /// Keep everything in this PostgreSQL database instead of SQLite files under `data_dir`, so that
    /// several hub processes can serve the same spaces.
    pub database: Option<crate::pg::Database>,
}

impl Config {
    /// A configuration with default limits and no web bundle.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            web_dir: None,
            limits: Limits::default(),
            database: None,
        }
    }

    /// The devices and tokens database.
    pub fn hub_db(&self) -> PathBuf {
        self.data_dir.join("hub.db")
    }

    /// The database of one space.
    pub fn space_db(&self, space: &str) -> PathBuf {
        self.data_dir.join("spaces").join(format!("{space}.db"))
    }
}

/// The default data directory: `$XDG_DATA_HOME/hearth` (or the platform's equivalent).
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("hearth")
}

/// Whether `dir` (which exists) takes writes: a small file is created there and removed. The error is
/// the file system's answer, e.g. [`std::io::ErrorKind::ReadOnlyFilesystem`] for a read-only mount.
pub fn probe_writable(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".hearth-write-check-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}

/// Whether an I/O error says the place cannot be written at all (a read-only mount, or no permission).
pub fn is_read_only(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn peer_ttl_takes_seconds_minutes_and_days() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("30d"), Ok(DEFAULT_PEER_TTL));
        let err = parse_duration("soon").unwrap_err();
        assert!(err.contains("30d"), "{err}");
    }
}
