//! Per-device rate limiting: a token bucket per (space, device), in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hearth_core::DeviceId;

/// Token buckets keyed by device. A rate of 0 turns limiting off.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<(String, DeviceId), Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `rate` requests per second sustained, `burst` at once.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for this device, or say how long until one is available.
    pub fn check(&self, space: &str, device: DeviceId) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((space.to_owned(), device)).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses_then_refills() {
        let r = RateLimiter::new(1000.0, 3.0);
        let d = DeviceId(1);
        assert!((0..3).all(|_| r.check("s", d).is_ok()));
        assert!(r.check("s", d).is_err());
        assert!(r.check("s", DeviceId(2)).is_ok(), "buckets are per device");
        std::thread::sleep(Duration::from_millis(5));
        assert!(r.check("s", d).is_ok());
        assert!(RateLimiter::new(0.0, 0.0).check("s", d).is_ok(), "rate 0 is off");
    }
}
