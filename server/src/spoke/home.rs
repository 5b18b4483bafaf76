//! A device's home: its store file and its pairing, kept in the store's `kv` table.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use hearth_core::{Options, Store, SystemEnv};

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
