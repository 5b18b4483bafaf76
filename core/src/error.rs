//! The one error type of hearth-core.

use crate::id::{BadDeviceId, BadOpId, OpId};

/// Result alias used throughout hearth-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core. Messages say what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An op failed validation. Nothing of its batch was applied.
    #[error("op {op} is invalid: {reason}")]
    InvalidOp {
        /// The op id as received (may itself be malformed).
        op: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An op is stamped further in the future than the configured bound allows, or (on a hub) its id
    /// was refused so before: an id once refused for clock skew stays refused.
    #[error("{}", clock_skew_message(.op, .ahead_ms, .limit_ms, .refused_before))]
    ClockSkew {
        /// The offending op.
        op: OpId,
        /// How far ahead of local time it is (0 when it no longer is).
        ahead_ms: u64,
        /// The configured bound.
        limit_ms: u64,
        /// A hub refused this op id for clock skew before, and refuses it for good: the device
        /// re-stamps such ops, so a late copy of the refused push must not land beside the new ids.
        refused_before: bool,
    },
    /// A string is not a well-formed op id.
    #[error(transparent)]
    BadOpId(#[from] BadOpId),
    /// A string is not a well-formed device id.
    #[error(transparent)]
    BadDeviceId(#[from] BadDeviceId),
    /// The database was written by a newer build than this one.
    #[error(
        "this database has schema version {found}, newer than this build understands ({supported}); \
         update Hearth to open it"
    )]
    SchemaTooNew {
        /// `PRAGMA user_version` found on disk.
        found: i64,
        /// The latest migration this build has.
        supported: i64,
    },
    /// A migration failed; the database stays at the previous version.
    #[error("migration {version} ({name}) failed: {source}; the database is unchanged at version {previous}")]
    Migration {
        /// The migration that failed.
        version: i64,
        /// Its file name.
        name: &'static str,
        /// The schema version the database is still at.
        previous: i64,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A lookup by id or name found nothing.
    #[error("no {what} matches {key:?}{}", short_key_hint(.key))]
    NotFound {
        /// What was looked up ("node", "project", …).
        what: &'static str,
        /// The key given.
        key: String,
    },
    /// A short id or name matches more than one thing.
    #[error("{key:?} matches several {what}s ({candidates}); give more characters")]
    Ambiguous {
        /// What was looked up.
        what: &'static str,
        /// The key given.
        key: String,
        /// Some of the matches, comma separated.
        candidates: String,
    },
    /// A project cannot go inside itself or one of its own sub-projects.
    #[error("{0:?} cannot go inside itself or one of its own sub-projects")]
    IntoItself(String),
    /// The operation is not available on this kind of store.
    #[error("{0}")]
    Unsupported(String),
    /// SQLite reported an error (disk full, I/O error, corruption…). The transaction was rolled back.
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Another log backend (a database server) reported an error; the transaction was rolled back.
    #[error("database error: {0}")]
    Database(String),
    /// A stored JSON value could not be read back.
    /// The state rebuilt from a snapshot is not the state the snapshot describes.
    #[error(
        "the state rebuilt from the snapshot at seq {seq} does not match it (digest {found}, expected {expected}); \
         nothing was moved: sync again to restore once more"
    )]
    SnapshotMismatch {
        /// The snapshot's seq.
        seq: u64,
        /// Its digest.
        expected: String,
        /// The rebuilt state's.
        found: String,
    },

    /// A file next to the database (a snapshot) could not be read or written.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),

    #[error("stored data is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A key resolved to a node of another type than the command needs (a task where a project is
    /// expected, …).
    #[error("{key:?} is a {found}, not a {expected}")]
    WrongType {
        /// The key given.
        key: String,
        /// The node's type.
        found: String,
        /// The type needed.
        expected: &'static str,
    },
    /// The node is deleted already (restore it first).
    #[error("{key:?} is already deleted")]
    Deleted {
        /// The key given.
        key: String,
    },
    /// Several live nodes have the name given; only an id can tell them apart.
    #[error("several {what}s are called {name:?} ({}); use an id", short_ids(.ids))]
    SameName {
        /// What was looked up ("project").
        what: &'static str,
        /// The name given.
        name: String,
        /// The full ids of the nodes so named (the message shows their first 8 characters).
        ids: Vec<String>,
    },
    /// A node id chosen by the caller is not usable (1–64 ASCII letters and digits).
    #[error("{0:?} is not a usable node id")]
    BadNodeId(String),
    /// A label name that is empty, too long or has control characters.
    #[error("{0:?} is not a usable label: give 1–64 characters, no line breaks")]
    BadLabel(String),
    /// A change that has no meaning in the space's current epoch (see [`crate::evolve`]).
    #[error("this change cannot be made since the space's data changed ({migration}): {reason}")]
    Untranslatable {
        /// The migration whose lens refused it.
        migration: &'static str,
        /// Why.
        reason: String,
    },
    /// A comment that is empty or too long.
    #[error("a comment needs some text, at most {max} characters")]
    BadComment {
        /// The longest comment, in characters.
        max: usize,
    },
    /// A field that an edit cannot set directly (`deleted`: use delete or restore).
    #[error("field {0:?} cannot be set directly; use delete/restore")]
    ReadOnlyField(String),
}

/// Ids as a list shows them: the first 8 characters of each, comma separated.
fn short_ids(ids: &[String]) -> String {
    ids.iter()
        .map(|id| {
            id.char_indices()
                .nth(8)
                .map_or(id.as_str(), |(end, _)| &id[..end])
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub(crate) fn invalid(op: impl ToString, reason: impl Into<String>) -> Self {
        Error::InvalidOp {
            op: op.to_string(),
            reason: reason.into(),
        }
    }
}

/// Said after "no … matches KEY" when KEY is too short to be matched as an id prefix.
pub fn short_key_hint(key: &str) -> &'static str {
    if key.len() < 4 {
        " (ids are matched by their first 4 or more characters)"
    } else {
        ""
    }
}

/// The sentence of [`Error::ClockSkew`].
fn clock_skew_message(op: &OpId, ahead_ms: &u64, limit_ms: &u64, refused_before: &bool) -> String {
    if *refused_before {
        format!(
            "op {op} was refused before for being stamped too far ahead of this clock, and its id stays \
             refused (it is {ahead_ms} ms ahead now, limit {limit_ms} ms); re-stamp it, then sync again"
        )
    } else {
        format!(
            "op {op} is {ahead_ms} ms ahead of this clock (limit {limit_ms} ms); check the clock of the \
             device that wrote it, then sync again"
        )
    }
}
