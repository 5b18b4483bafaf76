//! The one error type JS sees: a code to branch on and a message that says what to do.
//!
//! Every exported function returns `Result<_, JsValue>` whose error is a JS `Error` with `name`
//! `"HearthError"`, a stable `code` (see [`codes`]) and a `message`. Panics are bugs, not error handling.

use std::fmt;

/// Stable error codes.
pub mod codes {
    /// An argument from JS has the wrong shape or value.
    pub const BAD_ARGUMENT: &str = "bad_argument";
    /// An op failed validation (`hearth_core::Error::InvalidOp`).
    pub const INVALID_OP: &str = "invalid_op";
    /// An op is stamped too far in the future.
    pub const CLOCK_SKEW: &str = "clock_skew";
    /// A lookup found nothing.
    pub const NOT_FOUND: &str = "not_found";
    /// A short id or name matches several things.
    pub const AMBIGUOUS: &str = "ambiguous";
    /// The database was written by a newer build.
    pub const SCHEMA_TOO_NEW: &str = "schema_too_new";
    /// SQLite or OPFS failed (I/O, corruption, a second owner).
    pub const STORAGE: &str = "storage";
    /// The storage the browser gives this site is full (OPFS over its quota): the change was not made.
    pub const STORAGE_FULL: &str = "storage_full";
    /// This browser context has no OPFS sync access handles (not a dedicated worker, or no OPFS).
    pub const OPFS_UNSUPPORTED: &str = "opfs_unsupported";
    /// The hub could not be reached.
    pub const NETWORK: &str = "network";
    /// The hub refused a request (bad pairing code, revoked token, …).
    pub const HUB: &str = "hub";
    /// The store is not paired with a hub.
    pub const NOT_PAIRED: &str = "not_paired";
    /// Something inside hearth-core that is not the caller's fault.
    pub const INTERNAL: &str = "internal";
}

/// A typed error: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Error {
    /// One of [`codes`].
    pub code: &'static str,
    /// What happened and what to do.
    pub message: String,
}

/// What a person reads when the browser's storage for the site is full (SQLite's "database or disk is
/// full", from OPFS's `QuotaExceededError`). SQLite rolled the transaction back, so nothing was half
/// written.
pub const STORAGE_FULL_MESSAGE: &str = "The browser's storage for this site is full: this change was not \
     made, and everything saved before is intact. Free some space on this device (or clear other sites' \
     data in the browser), then try again.";

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with a code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    /// A bad argument from JS.
    pub fn bad_argument(message: impl Into<String>) -> Self {
        Error::new(codes::BAD_ARGUMENT, message)
    }

    /// A failure of SQLite: `storage_full` with [`STORAGE_FULL_MESSAGE`] when the storage is full, else
    /// `storage` with `shown`.
    fn sqlite(e: &rusqlite::Error, shown: String) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            Error::new(codes::STORAGE_FULL, STORAGE_FULL_MESSAGE)
        } else {
            Error::new(codes::STORAGE, shown)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<hearth_core::Error> for Error {
    fn from(e: hearth_core::Error) -> Self {
        use hearth_core::Error as E;
        if let E::Sqlite(s) = &e {
            return Error::sqlite(s, e.to_string());
        }
        let code = match &e {
            E::InvalidOp { .. } | E::BadOpId(_) | E::BadDeviceId(_) => codes::INVALID_OP,
            E::ClockSkew { .. } => codes::CLOCK_SKEW,
            E::NotFound { .. } => codes::NOT_FOUND,
            E::Ambiguous { .. } | E::SameName { .. } => codes::AMBIGUOUS,
            E::WrongType { .. }
            | E::Deleted { .. }
            | E::BadNodeId(_)
            | E::BadLabel(_)
            | E::BadComment { .. }
            | E::Untranslatable { .. }
            | E::ReadOnlyField(_)
            | E::IntoItself(_) => codes::BAD_ARGUMENT,
            E::SchemaTooNew { .. } => codes::SCHEMA_TOO_NEW,
            E::Sqlite(_) | E::Database(_) | E::Migration { .. } | E::Io(_) => codes::STORAGE,
            E::Json(_) | E::Unsupported(_) | E::SnapshotMismatch { .. } => codes::INTERNAL,
        };
        Error::new(code, e.to_string())
    }
}

impl From<hearth_core::id::BadDeviceId> for Error {
    fn from(e: hearth_core::id::BadDeviceId) -> Self {
        hearth_core::Error::from(e).into()
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::bad_argument(e.to_string())
    }
}

#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::{JsCast, JsValue};

    use super::Error;

    impl From<Error> for JsValue {
        fn from(e: Error) -> JsValue {
            let err = js_sys::Error::new(&e.message);
            err.set_name("HearthError");
            // A plain data property, so that `err.code` works and the worker glue can forward it.
            let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code.into());
            err.unchecked_into()
        }
    }

    impl From<rusqlite::Error> for Error {
        fn from(e: rusqlite::Error) -> Self {
            Error::sqlite(&e, format!("storage error: {e}"))
        }
    }

    impl From<serde_wasm_bindgen::Error> for Error {
        fn from(e: serde_wasm_bindgen::Error) -> Self {
            Error::bad_argument(e.to_string())
        }
    }

    /// The message of a JS exception, for wrapping it in an [`Error`].
    pub fn describe(v: &JsValue) -> String {
        if let Some(e) = v.dyn_ref::<js_sys::Error>() {
            return format!("{}: {}", String::from(e.name()), String::from(e.message()));
        }
        v.as_string().unwrap_or_else(|| format!("{v:?}"))
    }
}

#[cfg(target_arch = "wasm32")]
pub use js::describe;

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_full_storage_is_storage_full_with_a_sentence() {
        let e: Error = hearth_core::Error::Sqlite(sqlite_failure(rusqlite::ffi::SQLITE_FULL)).into();
        assert_eq!(e.code, codes::STORAGE_FULL);
        assert!(
            e.message
                .starts_with("The browser's storage for this site is full: this change was not made")
        );
        let other: Error = hearth_core::Error::Sqlite(sqlite_failure(rusqlite::ffi::SQLITE_IOERR)).into();
        assert_eq!(other.code, codes::STORAGE);
        assert!(other.message.starts_with("storage error: "), "{}", other.message);
    }
}
