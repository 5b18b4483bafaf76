//! A device's home: its store file and its pairing, kept in the store's `kv` table.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hearth_core::{Options, Store, SystemEnv};
use rusqlite::{Connection, OpenFlags};

/// `kv` keys of a client store (shared with the browser client).
pub mod keys {
    pub use hearth_core::store::keys::{
        DEVICE_NAME as NAME, HUB_URL as HUB, KEEP_HISTORY, LAST_SYNC, SPACE, TOKEN,
    };
}

/// The default home: `<user data dir>/hearth-home`.
pub fn default_home() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("hearth-home")
}

/// The store file inside a home.
pub fn store_path(home: &std::path::Path) -> PathBuf {
    home.join("hearth.sqlite")
}

/// Open the store of `home`, creating it when `create` is set.
pub fn open(home: &std::path::Path, create: bool) -> anyhow::Result<Store> {
    let path = store_path(home);
    if !create && !path.exists() {
        anyhow::bail!(
            "no Hearth store in {}; run `hearth init` (local only) or `hearth init --hub URL --code CODE`",
            home.display()
        );
    }
    std::fs::create_dir_all(home).with_context(|| format!("cannot create {}", home.display()))?;
    let open = |opts| open_store(home, &path, opts);
    let store = open(Options::default())?;
    if store.kv_get(keys::KEEP_HISTORY)?.as_deref() == Some("1") {
        drop(store);
        return open(Options {
            keep_history: true,
            ..Options::default()
        });
    }
    Ok(store)
}

/// Open the store file for reading and writing; on a read-only home, for reading only (so that reads
/// still work there, and a change fails as read-only, said as such by the command).
fn open_store(home: &Path, path: &Path, opts: Options) -> anyhow::Result<Store> {
    let err = match Store::open_path(path, Arc::new(SystemEnv), opts.clone()) {
        Ok(store) => return Ok(store),
        Err(e) => anyhow::Error::new(e).context(format!("cannot open {}", path.display())),
    };
    // On a read-only mount SQLite cannot open a WAL store for writing, nor create the shared-memory
    // file it reads one with.
    match hearth_server::config::probe_writable(home) {
        Err(ro) if hearth_server::config::is_read_only(&ro) && path.is_file() => open_read_only(path, opts)
            .with_context(|| {
                format!(
                    "the store's home {} is read-only ({ro}) and the store cannot be read there either; \
                     make it writable and run the command again",
                    home.display()
                )
            }),
        _ => Err(err),
    }
}

/// Open the store file read-only. Without a write-ahead log to read, the file is the whole store and
/// nothing can change it, so it is opened `immutable` (no shared-memory file needed); with one, SQLite
/// reads the log through the shared-memory file beside it, which must then exist.
fn open_read_only(path: &Path, opts: Options) -> anyhow::Result<Store> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let logged = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    let mut uri = String::from("file:");
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(*b as char)
            }
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push_str(if logged { "?mode=ro" } else { "?immutable=1" });
    let conn = Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    Ok(Store::open(conn, Arc::new(SystemEnv), opts)?)
}

/// The hub this store is paired with, if any.
pub fn paired(store: &Store) -> anyhow::Result<Option<(String, String, String)>> {
    let get = |k| store.kv_get(k);
    Ok(match (get(keys::HUB)?, get(keys::SPACE)?, get(keys::TOKEN)?) {
        (Some(h), Some(s), Some(t)) => Some((h, s, t)),
        _ => None,
    })
}
