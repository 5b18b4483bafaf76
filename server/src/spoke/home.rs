//! A device's home: its store file and its pairing, kept in the store's `kv` table.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use hearth_core::{Options, Store, SystemEnv};

/// `kv` keys the command line adds.
pub mod keys {
    /// Hub base URL.
    pub const HUB: &str = "hub_url";
    /// Space paired to.
    pub const SPACE: &str = "space";
    /// Bearer token.
    pub const TOKEN: &str = "token";
    /// Name given at pairing.
    pub const NAME: &str = "device_name";
    /// Time of the last complete sync, ms.
    pub const LAST_SYNC: &str = "last_sync_ms";
    /// "1" to keep confirmed ops in the local log.
    pub const KEEP_HISTORY: &str = "keep_history";
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
    let open = |opts| {
        Store::open_path(&path, Arc::new(SystemEnv), opts)
            .with_context(|| format!("cannot open {}", path.display()))
    };
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

/// The hub this store is paired with, if any.
pub fn paired(store: &Store) -> anyhow::Result<Option<(String, String, String)>> {
    let get = |k| store.kv_get(k);
    Ok(match (get(keys::HUB)?, get(keys::SPACE)?, get(keys::TOKEN)?) {
        (Some(h), Some(s), Some(t)) => Some((h, s, t)),
        _ => None,
    })
}
