//! Concurrent edits, kept: when two devices change the same field without seeing each other's change,
//! the last writer still wins (nothing about merging changes), and the other value is kept as a
//! conflict the person can see, restore or dismiss.
//!
//! Every `node.set`/`task.set` this build commits names the stamp of the value its writer saw
//! (`prev`; `null` when the field had none). The **heads** of a field are the sets that named what they
//! saw and that no other set named in turn; the field's last-writer-wins winner is one of them, and
//! every other head whose value differs is an open [`Conflict`]: an edit made without seeing the
//! winner. Heads are a function of the set of ops, so every replica lists the same conflicts whatever
//! the delivery order. A set from a build that does not name `prev` is no head, and a field whose
//! winner is such a set shows no conflict (nobody can tell what its writer saw).
//!
//! Restoring or dismissing is an ordinary set of the field ([`crate::edit::resolve_conflict`]):
//! restore writes the other value, dismiss writes the winner's value again, and both name the conflict
//! in `seen`, so it leaves the list on every device once the set syncs.
//!
//! ```
//! use std::sync::Arc;
//! use hearth_core::{ManualEnv, Options, Store, conflicts, edit};
//!
//! let env = Arc::new(ManualEnv::new(1_750_000_000_000, 1));
//! let mut laptop = Store::open_in_memory(env.clone(), Options::default()).unwrap();
//! let task = edit::create_task(&mut laptop, edit::NewTask { title: "Fix tap".into(), ..Default::default() })
//!     .unwrap();
//! let mut phone = Store::open_in_memory(Arc::new(ManualEnv::new(1_750_000_000_000, 2)), Options::default()).unwrap();
//! phone.apply(&task.ops).unwrap();
//!
//! // Both rename the task without seeing the other's rename, then exchange their ops.
//! let a = edit::set_field(&mut laptop, &task.node, "title", "Fix the tap".into()).unwrap();
//! env.advance(5);
//! let b = edit::set_field(&mut phone, &task.node, "title", "Fix kitchen tap".into()).unwrap();
//! laptop.apply(&b.ops).unwrap();
//! phone.apply(&a.ops).unwrap();
//!
//! let open = conflicts::open(laptop.conn()).unwrap();
//! assert_eq!(open, conflicts::open(phone.conn()).unwrap());
//! assert_eq!(open.len(), 1);
//! assert_eq!(open[0].kept, "Fix kitchen tap");
//! assert_eq!(open[0].value, "Fix the tap");
//!
//! // Restore the laptop's title on the phone: an ordinary set, and the conflict is gone.
//! let restored = edit::resolve_conflict(&mut phone, &open[0].id, true).unwrap();
//! laptop.apply(&restored.ops).unwrap();
//! assert!(conflicts::open(laptop.conn()).unwrap().is_empty());
//! assert_eq!(laptop.export().unwrap(), phone.export().unwrap());
//! ```

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::Value;

pub use crate::apply::{current, keeps_conflicts};
use crate::error::{Error, Result};
use crate::id::OpId;

/// One open conflict: a value of `field` that lost to `kept` without its writer having seen it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// A short id for the command line and the app (8 hex digits, from `op`).
    pub id: String,
    /// The op that wrote the other value.
    pub op: OpId,
    /// The node (task or project).
    pub node: String,
    /// The node's title now.
    pub title: String,
    /// The field.
    pub field: String,
    /// The value that won, which the node shows.
    pub kept: Value,
    /// The op that wrote it.
    pub kept_op: OpId,
    /// The device that wrote it.
    pub kept_device: String,
    /// That device's name, when this device knows it.
    pub kept_device_name: Option<String>,
    /// The other value, kept here.
    pub value: Value,
    /// The device that wrote the other value.
    pub device: String,
    /// That device's name, when this device knows it.
    pub device_name: Option<String>,
    /// When the other value was written (ms since the epoch, by its writer's clock).
    pub at_ms: u64,
}

/// Remember the names of the space's devices (from the hub's network view), with this device's own.
pub fn remember_names(store: &crate::Store, peers: &[crate::wire::PeerInfo]) -> Result<()> {
    let mut names = device_names(store.conn())?;
    for p in peers {
        names.insert(p.device.to_string(), p.name.clone());
    }
    store.kv_set(crate::store::keys::PEER_NAMES, &serde_json::to_string(&names)?)
}

/// Device id → name: the names last remembered, and this device's own name.
pub fn device_names(conn: &Connection) -> Result<std::collections::BTreeMap<String, String>> {
    use crate::store::{keys, kv_get};
    let get = |key: &str| kv_get(conn, key);
    let mut names: std::collections::BTreeMap<String, String> = match get(keys::PEER_NAMES)? {
        Some(json) => serde_json::from_str(&json)?,
        None => Default::default(),
    };
    if let (Some(id), Some(name)) = (get(keys::DEVICE)?, get(keys::DEVICE_NAME)?) {
        names.insert(id, name);
    }
    Ok(names)
}

/// The short id of the conflict whose other value `op` wrote.
pub fn short_id(op: OpId) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(op.to_string().as_bytes());
    hash[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Every open conflict of the space's visible, undeleted nodes, by node, field and op.
pub fn open(conn: &Connection) -> Result<Vec<Conflict>> {
    collect(conn, None)
}

/// The open conflicts of one node.
pub fn of_node(conn: &Connection, node: &str) -> Result<Vec<Conflict>> {
    collect(conn, Some(node))
}

/// The open conflict with this short id (or op id).
pub fn find(conn: &Connection, id: &str) -> Result<Conflict> {
    let id = id.trim();
    open(conn)?
        .into_iter()
        .find(|c| c.id == id || c.op.to_string() == id)
        .ok_or_else(|| Error::NotFound {
            what: "open conflict",
            key: id.to_owned(),
        })
}

fn collect(conn: &Connection, only: Option<&str>) -> Result<Vec<Conflict>> {
    // Fields with more than one head: the only ones that can hold a conflict.
    let mut stmt = conn.prepare_cached(
        "SELECT h.node, h.field, coalesce(n.title, '') FROM heads h JOIN nodes n ON n.id = h.node \
         WHERE n.type IS NOT NULL AND n.deleted = 0 AND (?1 IS NULL OR h.node = ?1) \
         GROUP BY h.node, h.field HAVING count(*) > 1 ORDER BY h.node, h.field",
    )?;
    let fields: Vec<(String, String, String)> = stmt
        .query_map([only], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let names = device_names(conn)?;
    let mut out = Vec::new();
    let mut heads =
        conn.prepare_cached("SELECT op, value FROM heads WHERE node = ?1 AND field = ?2 ORDER BY op")?;
    for (node, field, title) in fields {
        let Some((kept, kept_op)) = current(conn, &node, &field)? else {
            continue;
        };
        let rows: Vec<(String, String)> = heads
            .query_map(params![node, field], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        // A winner that named nothing (an older build's set) gives no ground to call anything concurrent.
        if !rows.iter().any(|(op, _)| *op == kept_op.to_string()) {
            continue;
        }
        for (op, value) in rows {
            let op: OpId = op.parse()?;
            let value: Value = serde_json::from_str(&value)?;
            if op == kept_op || value == kept {
                continue;
            }
            out.push(Conflict {
                id: short_id(op),
                op,
                node: node.clone(),
                title: title.clone(),
                field: field.clone(),
                kept: kept.clone(),
                kept_op,
                kept_device: kept_op.device.to_string(),
                kept_device_name: names.get(&kept_op.device.to_string()).cloned(),
                value,
                device: op.device.to_string(),
                device_name: names.get(&op.device.to_string()).cloned(),
                at_ms: op.ts.ms,
            });
        }
    }
    Ok(out)
}
