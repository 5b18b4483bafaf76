//! Identities: device ids, HLC timestamps and op ids, with their text forms and parse errors.
//!
//! A leaf: it imports nothing of the crate, so the clock ([`crate::hlc`]), ops ([`crate::op`]) and the
//! crate error ([`crate::Error`], which wraps [`BadOpId`] and [`BadDeviceId`]) all point down to it.
//!
//! ```
//! use hearth_core::id::{DeviceId, OpId};
//! let id: OpId = "0193a1b2c3d4-0000-7f3a9c2e11aa0b3c".parse().unwrap();
//! assert_eq!(id.device, "7f3a9c2e11aa0b3c".parse::<DeviceId>().unwrap());
//! assert!("not-an-id".parse::<OpId>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string is not a well-formed op id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an op id (expected <12 hex ms>-<4 hex counter>-<16 hex device>)")]
pub struct BadOpId(pub String);

/// A string is not a well-formed device id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a device id (expected 16 lower-case hex digits)")]
pub struct BadDeviceId(pub String);

/// The largest millisecond value a timestamp can carry (48 bits: the year 10889).
pub const MAX_MS: u64 = (1 << 48) - 1;

/// A device's identity: 64 random bits, printed as 16 lower-case hex digits. Made once per store.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub u64);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl FromStr for DeviceId {
    type Err = BadDeviceId;
    fn from_str(s: &str) -> Result<Self, BadDeviceId> {
        if s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            u64::from_str_radix(s, 16)
                .map(DeviceId)
                .map_err(|_| BadDeviceId(s.to_owned()))
        } else {
            Err(BadDeviceId(s.to_owned()))
        }
    }
}

impl Serialize for DeviceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One HLC reading: wall-clock milliseconds (48 bits) and a logical counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Milliseconds since the Unix epoch, at most [`MAX_MS`].
    pub ms: u64,
    /// Orders events within the same millisecond.
    pub counter: u16,
}

impl Timestamp {
    /// The next reading after `self`, spilling the counter into the milliseconds on overflow.
    pub(crate) fn successor(self) -> Timestamp {
        match self.counter.checked_add(1) {
            Some(counter) => Timestamp { ms: self.ms, counter },
            None => Timestamp {
                ms: self.ms + 1,
                counter: 0,
            },
        }
    }
}

/// Globally unique, totally ordered id of an op: its HLC timestamp and origin device.
///
/// The text form `<12 hex ms>-<4 hex counter>-<16 hex device>` is fixed width and lower case, so string
/// order equals `(ms, counter, device)` order; the derived `Ord` is the same order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId {
    /// When (HLC).
    pub ts: Timestamp,
    /// Who.
    pub device: DeviceId,
}

impl OpId {
    /// Length of the text form.
    pub const LEN: usize = 34;
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012x}-{:04x}-{}", self.ts.ms, self.ts.counter, self.device)
    }
}

impl fmt::Debug for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpId({self})")
    }
}

fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl FromStr for OpId {
    type Err = BadOpId;
    fn from_str(s: &str) -> Result<Self, BadOpId> {
        let bad = || BadOpId(s.to_owned());
        if s.len() != Self::LEN || !s.is_ascii() {
            return Err(bad());
        }
        let (ms, counter, device) = (&s[0..12], &s[13..17], &s[18..34]);
        if &s[12..13] != "-" || &s[17..18] != "-" || !lower_hex(ms) || !lower_hex(counter) {
            return Err(bad());
        }
        let ms = u64::from_str_radix(ms, 16).map_err(|_| bad())?;
        let counter = u16::from_str_radix(counter, 16).map_err(|_| bad())?;
        let device = device.parse().map_err(|_| bad())?;
        debug_assert!(ms <= MAX_MS);
        Ok(OpId {
            ts: Timestamp { ms, counter },
            device,
        })
    }
}

impl Serialize for OpId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OpId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
