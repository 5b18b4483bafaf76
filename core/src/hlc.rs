//! Hybrid logical clocks (Kulkarni et al. 2014), device ids and the injected environment.
//!
//! A timestamp is 48 bits of wall-clock milliseconds and a 16-bit counter. Together with the 64-bit id of
//! the device that made it, it forms an [`OpId`](crate::OpId), whose fixed-width text form sorts the same
//! way as the clock: `(ms, counter, device)`.

pub use crate::id::{DeviceId, MAX_MS, Timestamp};

/// Default bound on how far ahead of local time a received op may be: one hour.
pub const DEFAULT_MAX_DRIFT_MS: u64 = 60 * 60 * 1000;

/// Time and randomness, injected so that tests choose them (sans-IO).
pub trait Env: Send + Sync {
    /// Wall-clock milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// 64 random bits (device ids, node ids).
    fn random_u64(&self) -> u64;
}

/// The real clock and the operating system's randomness.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnv;

#[cfg(not(target_arch = "wasm32"))]
impl Env for SystemEnv {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
    fn random_u64(&self) -> u64 {
        // The OS refusing randomness is unrecoverable for identity generation; fall back to time-mixed
        // bits rather than panic, keeping ids unique in practice.
        getrandom::u64().unwrap_or_else(|_| self.now_ms().wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// A hybrid logical clock.
///
/// * [`Clock::tick`] stamps a local event: `max(last, now)`, bumping the counter when time has not moved.
/// * [`Clock::observe`] merges a received timestamp, refusing one further than `max_drift_ms` ahead of
///   `now`; a refused timestamp never moves the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    last: Timestamp,
    max_drift_ms: u64,
}

impl Clock {
    /// A clock that has seen `last` and refuses remote stamps more than `max_drift_ms` ahead.
    pub fn new(last: Timestamp, max_drift_ms: u64) -> Self {
        Clock { last, max_drift_ms }
    }

    /// The latest reading this clock has produced or observed.
    pub fn last(&self) -> Timestamp {
        self.last
    }

    /// The configured drift bound in milliseconds.
    pub fn max_drift_ms(&self) -> u64 {
        self.max_drift_ms
    }

    /// Stamp a local event at wall time `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> Timestamp {
        let now = now_ms.min(MAX_MS);
        self.last = if now > self.last.ms {
            Timestamp { ms: now, counter: 0 }
        } else {
            self.last.successor()
        };
        self.last
    }

    /// Check that `remote` is within the drift bound of `now_ms`, without touching the clock.
    /// Returns how far ahead it is on failure.
    pub fn check(&self, remote: Timestamp, now_ms: u64) -> std::result::Result<(), u64> {
        let ahead = remote.ms.saturating_sub(now_ms);
        if ahead > self.max_drift_ms {
            Err(ahead)
        } else {
            Ok(())
        }
    }

    /// Merge a received timestamp (HLC receive rule). The caller has already [`check`](Self::check)ed it.
    pub fn observe(&mut self, remote: Timestamp) {
        if remote > self.last {
            self.last = remote;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_is_strictly_increasing_even_when_wall_time_goes_back() {
        let mut c = Clock::new(Timestamp::default(), DEFAULT_MAX_DRIFT_MS);
        let a = c.tick(1_000);
        let b = c.tick(1_000);
        let d = c.tick(900);
        assert_eq!(
            a,
            Timestamp {
                ms: 1_000,
                counter: 0
            }
        );
        assert_eq!(
            b,
            Timestamp {
                ms: 1_000,
                counter: 1
            }
        );
        assert_eq!(
            d,
            Timestamp {
                ms: 1_000,
                counter: 2
            }
        );
        assert_eq!(
            c.tick(1_001),
            Timestamp {
                ms: 1_001,
                counter: 0
            }
        );
    }

    #[test]
    fn counter_overflow_spills_into_ms() {
        let mut c = Clock::new(
            Timestamp {
                ms: 5,
                counter: u16::MAX,
            },
            DEFAULT_MAX_DRIFT_MS,
        );
        assert_eq!(c.tick(5), Timestamp { ms: 6, counter: 0 });
    }

    #[test]
    fn observe_moves_forward_only_and_check_bounds_drift() {
        let mut c = Clock::new(Timestamp { ms: 100, counter: 3 }, 50);
        c.observe(Timestamp { ms: 90, counter: 9 });
        assert_eq!(c.last(), Timestamp { ms: 100, counter: 3 });
        assert_eq!(c.check(Timestamp { ms: 160, counter: 0 }, 100), Err(60));
        assert_eq!(c.check(Timestamp { ms: 150, counter: 0 }, 100), Ok(()));
        c.observe(Timestamp { ms: 150, counter: 0 });
        assert_eq!(c.tick(120), Timestamp { ms: 150, counter: 1 });
    }

    #[test]
    fn device_id_round_trips_and_rejects_bad_text() {
        let d: DeviceId = "7f3a9c2e11aa0b3c".parse().expect("valid");
        assert_eq!(d.to_string(), "7f3a9c2e11aa0b3c");
        assert!("7F3A9C2E11AA0B3C".parse::<DeviceId>().is_err());
        assert!("7f3a".parse::<DeviceId>().is_err());
        assert!("+f3a9c2e11aa0b3c".parse::<DeviceId>().is_err());
    }
}

/// An [`Env`] whose clock is set by hand and whose randomness is a seeded sequence (SplitMix64):
/// for tests, simulations and benchmarks that must be repeatable.
#[derive(Debug)]
pub struct ManualEnv {
    now_ms: std::sync::atomic::AtomicU64,
    state: std::sync::atomic::AtomicU64,
}

impl ManualEnv {
    /// Start at `now_ms` with randomness seeded by `seed`.
    pub fn new(now_ms: u64, seed: u64) -> Self {
        ManualEnv {
            now_ms: now_ms.into(),
            state: seed.into(),
        }
    }
    /// Set the clock.
    pub fn set_now(&self, ms: u64) {
        self.now_ms.store(ms, std::sync::atomic::Ordering::SeqCst);
    }
    /// Move the clock forward.
    pub fn advance(&self, ms: u64) {
        self.now_ms.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Env for ManualEnv {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn random_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::SeqCst)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
