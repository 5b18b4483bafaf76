//! Opening the browser's store: SQLite on the origin-private file system through the `sahpool` VFS
//! (sync access handles, so only in a dedicated worker), or in memory when OPFS is unavailable; and the
//! browser [`Env`]: `Date.now()` and `crypto.getRandomValues`.
//!
//! The store itself is [`hearth_core::Store`], opened on the connection made here: the same migrations,
//! apply path and queries as on every other node.

use std::sync::Arc;

use hearth_core::{Env, Options, Store};
use rusqlite::{Connection, OpenFlags};
use sqlite_wasm_rs::WasmOsCallback;
use sqlite_wasm_vfs::sahpool::{OpfsSAHError, OpfsSAHPoolCfgBuilder, OpfsSAHPoolUtil, install};
use wasm_bindgen::JsCast;

use crate::error::{Error, Result, codes};

/// The name Hearth registers its OPFS VFS under.
pub const VFS: &str = "hearth-opfs";
/// The OPFS directory holding the pool's files.
pub const DIRECTORY: &str = ".hearth";

/// The real clock and the browser's cryptographic randomness.
#[derive(Debug, Default, Clone, Copy)]
pub struct BrowserEnv;

impl Env for BrowserEnv {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn random_u64(&self) -> u64 {
        let bytes = js_sys::Uint8Array::new_with_length(8);
        let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).ok();
        let filled = crypto.and_then(|c| {
            let f = js_sys::Reflect::get(&c, &"getRandomValues".into()).ok()?;
            let f: js_sys::Function = wasm_bindgen::JsCast::dyn_into(f).ok()?;
            f.call1(&c, &bytes).ok()
        });
        if filled.is_none() {
            // Every browser with WebAssembly has crypto.getRandomValues; keep ids unique regardless.
            for i in 0..8 {
                bytes.set_index(i, (js_sys::Math::random() * 256.0) as u8);
            }
        }
        let mut b = [0u8; 8];
        bytes.copy_to(&mut b);
        u64::from_le_bytes(b)
    }
}

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Storage {
    /// Durable, in OPFS.
    Opfs,
    /// In memory: lost when the worker ends. `reason` says why OPFS could not be used.
    Memory {
        /// Why not OPFS.
        reason: String,
    },
}

thread_local! {
    static POOL: std::cell::RefCell<Option<OpfsSAHPoolUtil>> = const { std::cell::RefCell::new(None) };
}

/// Install the OPFS VFS (once per worker) with room for at least `capacity` files (a database and its
/// journal take two). Fails outside a dedicated worker or when the browser has no OPFS, or when another
/// worker of this origin holds the pool (a second owner).
pub async fn install_opfs(capacity: usize) -> Result<OpfsSAHPoolUtil> {
    let existing = POOL.with(|p| p.borrow().clone());
    let pool = match existing {
        Some(p) => p,
        None => {
            let cfg = OpfsSAHPoolCfgBuilder::new()
                .vfs_name(VFS)
                .directory(DIRECTORY)
                .initial_capacity(capacity.max(4))
                .build();
            let pool = install::<WasmOsCallback>(&cfg, false)
                .await
                .map_err(|e| match e {
                    OpfsSAHError::NotSupported => Error::new(codes::OPFS_UNSUPPORTED, e.to_string()),
                    // The browser refuses OPFS here (e.g. a SecurityError in a private window).
                    OpfsSAHError::Opfs {
                        operation: "get OPFS root",
                        ..
                    } => Error::new(codes::OPFS_UNSUPPORTED, e.to_string()),
                    // Typically the previous owner's worker still holding the files: worth a retry.
                    e => Error::new(codes::STORAGE, format!("OPFS could not be opened: {e}")),
                })?;
            POOL.with(|p| *p.borrow_mut() = Some(pool.clone()));
            pool
        }
    };
    if pool.capacity() < capacity {
        pool.ensure_capacity(capacity)
            .await
            .map_err(|e| Error::new(codes::STORAGE, format!("cannot grow the OPFS pool: {e}")))?;
    }
    Ok(pool)
}

/// The file name of store `name` inside the pool.
pub fn file_name(name: &str) -> String {
    format!("/{name}.sqlite3")
}

/// A connection to store `name` in OPFS ([`install_opfs`] first).
pub fn open_opfs_connection(name: &str) -> Result<Connection> {
    let conn = Connection::open_with_flags_and_vfs(
        file_name(name),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        VFS,
    )?;
    // WAL in exclusive locking mode: the pool has no shared memory, and with the lock held SQLite keeps
    // the WAL's index in the heap instead (only this worker's one connection opens the file). A commit
    // is then one append to the WAL and one flush (`synchronous = FULL`), where a rollback journal
    // flushed the journal, the database and the journal's header again.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::new(
            codes::STORAGE,
            format!("the store could not use its write-ahead log (journal mode {mode})"),
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Open store `name` on OPFS, or in memory when OPFS cannot be used (the reason is returned).
pub async fn open(name: &str, opts: Options) -> Result<(Store, Storage)> {
    open_with(name, Arc::new(BrowserEnv), opts, |_| Ok(())).await
}

/// [`open`] with a hook that may prepare the raw connection before the store opens on it (used to
/// restore a device's identity into a store the browser wiped).
pub async fn open_with(
    name: &str,
    env: Arc<dyn Env>,
    opts: Options,
    prepare: impl FnOnce(&mut Connection) -> Result<()>,
) -> Result<(Store, Storage)> {
    // Memory only where OPFS cannot work at all; any other failure (a locked file while another tab
    // hands the database over, a full disk) is an error, never a silent switch to an empty store.
    let unsupported = if !in_dedicated_worker() {
        Some("not running in a dedicated worker".to_owned())
    } else {
        match install_opfs(4).await {
            Ok(_) => None,
            Err(e) if e.code == codes::OPFS_UNSUPPORTED => Some(e.message),
            Err(e) => return Err(e),
        }
    };
    let (mut conn, storage) = match unsupported {
        None => (open_opfs_connection(name)?, Storage::Opfs),
        Some(reason) => (Connection::open_in_memory()?, Storage::Memory { reason }),
    };
    prepare(&mut conn)?;
    Ok((Store::open(conn, env, opts)?, storage))
}

/// Whether this code runs in a dedicated worker (where OPFS sync access handles exist).
pub fn in_dedicated_worker() -> bool {
    js_sys::global()
        .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
        .is_ok()
}
