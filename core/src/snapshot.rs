//! Snapshots: the state of a space at a seq, with every stamp later merges need, so that a device can
//! start (or restart) from it instead of from the whole log.
//!
//! A snapshot holds every last-writer-wins winner with its value and winning op id, every link tag
//! with its add op id and whether it is removed, every link tombstone (also those whose add has not
//! arrived: dropping them would let a returning device resurrect a removed link), and the ops this
//! build does not understand, verbatim. Merging one goes through the apply path's own primitives
//! ([`crate::Apply`]), so it is itself a merge: merged into any replica and followed by the ops after
//! its seq, it gives exactly the state the full log gives, and it never touches the outbox.
//!
//! ```
//! use std::sync::Arc;
//! use hearth_core::{NewOp, Options, Store, SystemEnv, snapshot};
//!
//! let env = Arc::new(SystemEnv);
//! let mut laptop = Store::open_in_memory(env.clone(), Options::default()).unwrap();
//! let node = laptop.new_node_id();
//! laptop.commit(vec![NewOp::create(&node, "task", Default::default()),
//!                    NewOp::set(&node, "title", "Fix the tap".into())]).unwrap();
//!
//! let snap = snapshot::read(laptop.conn(), 2, 1).unwrap();
//! let mut phone = Store::open_in_memory(env, Options::default()).unwrap();
//! phone.merge_snapshot(&snap).unwrap();
//! assert_eq!(phone.export().unwrap(), laptop.export().unwrap());
//! assert_eq!(snapshot::read(phone.conn(), 2, 1).unwrap(), snap); // the stamps came along too
//! ```

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::id::OpId;
use crate::op::Op;

/// One piece of state with its stamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Entry {
    /// The winning value of `(node, field)` and the op that wrote it.
    Field {
        /// The node.
        node: String,
        /// The field.
        field: String,
        /// Its value.
        value: Value,
        /// The winning op.
        op: OpId,
    },
    /// A link add (its tag is the add's op id), removed or not.
    Link {
        /// The add's op id.
        tag: OpId,
        /// Source node.
        src: String,
        /// Destination node.
        dst: String,
        /// Link type.
        #[serde(rename = "type")]
        ty: String,
        /// Whether a remove has named it.
        removed: bool,
    },
    /// A link tombstone: the remove `op` named `tag` (the add may not have arrived yet).
    Removal {
        /// The removed add's tag.
        tag: OpId,
        /// Source node.
        src: String,
        /// Destination node.
        dst: String,
        /// Link type.
        #[serde(rename = "type")]
        ty: String,
        /// The remove op.
        op: OpId,
    },
    /// A head of a field's edits ([`crate::conflicts`]): a set that named the value it saw and that no
    /// other set named; the winner or a concurrent edit kept beside it.
    Head {
        /// The node.
        node: String,
        /// The field.
        field: String,
        /// The set.
        op: OpId,
        /// The value it wrote.
        value: Value,
    },
    /// A set that another set named as seen, whose own op has not arrived at the snapshot's seq: it
    /// must not become a head when it does.
    Seen {
        /// The node.
        node: String,
        /// The field.
        field: String,
        /// The named set.
        op: OpId,
    },
    /// An op this build stores but does not apply, verbatim, with its seq when confirmed; also every
    /// comment, as the `comment.add` that added it.
    Pending {
        /// Its seq on the hub.
        seq: Option<u64>,
        /// The op.
        op: Op,
    },
}

/// The state of a space at `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every op with a seq at or below this is reflected.
    pub seq: u64,
    /// The space's epoch.
    pub epoch: u64,
    /// The state, in a deterministic order (fields by node and field, links and tombstones by tag,
    /// pending ops by id).
    pub entries: Vec<Entry>,
}

/// The typed `nodes` columns, in the order entries are read. Each has a `<name>_op` column.
const TYPED: [&str; 6] = ["type", "title", "status", "due", "priority", "deleted"];

/// Read the snapshot of a store's materialized state, labelled with `seq` and `epoch` (the caller
/// reads inside the transaction that fixes them). Holds every entry in memory: for large spaces use
/// [`for_each`].
pub fn read(conn: &Connection, seq: u64, epoch: u64) -> Result<Snapshot> {
    let mut entries = Vec::new();
    for_each(conn, |e| {
        entries.push(e);
        Ok(())
    })?;
    Ok(Snapshot { seq, epoch, entries })
}

/// Visit every entry of a store's materialized state, one at a time, in the snapshot's deterministic
/// order: the typed fields node by node, then the other fields by node and field, then links by tag,
/// then tombstones, then the heads of fields' edits and the seen sets still to arrive, then the ops
/// this build stores without applying (by id). Nothing is collected, so
/// a space of any size streams in constant memory.
pub fn for_each(conn: &Connection, mut visit: impl FnMut(Entry) -> Result<()>) -> Result<()> {
    {
        let cols: Vec<String> = TYPED.iter().map(|c| format!("{c}, {c}_op")).collect();
        // The column names are the fixed list above, safe to splice.
        let mut stmt = conn.prepare(&format!("SELECT id, {} FROM nodes ORDER BY id", cols.join(", ")))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let node: String = r.get(0)?;
            for (i, col) in TYPED.iter().enumerate() {
                let (at, op_at) = (1 + 2 * i, 2 + 2 * i);
                let Some(op) = r.get::<_, Option<String>>(op_at)? else {
                    continue;
                };
                let value = match *col {
                    "deleted" => Value::Bool(r.get::<_, i64>(at)? != 0),
                    "priority" => r.get::<_, Option<i64>>(at)?.map_or(Value::Null, Value::from),
                    _ => r.get::<_, Option<String>>(at)?.map_or(Value::Null, Value::String),
                };
                visit(Entry::Field {
                    node: node.clone(),
                    field: (*col).to_owned(),
                    value,
                    op: op.parse()?,
                })?;
            }
        }
    }
    {
        let mut stmt = conn.prepare("SELECT node, field, value, op FROM fields ORDER BY node, field")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let value: String = r.get(2)?;
            visit(Entry::Field {
                node: r.get(0)?,
                field: r.get(1)?,
                value: serde_json::from_str(&value)?,
                op: r.get::<_, String>(3)?.parse()?,
            })?;
        }
    }
    {
        let mut stmt = conn.prepare("SELECT tag, src, dst, type, removed FROM links ORDER BY tag")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            visit(Entry::Link {
                tag: r.get::<_, String>(0)?.parse()?,
                src: r.get(1)?,
                dst: r.get(2)?,
                ty: r.get(3)?,
                removed: r.get(4)?,
            })?;
        }
    }
    {
        let mut stmt =
            conn.prepare("SELECT tag, src, dst, type, op FROM link_removals ORDER BY tag, src, dst, type")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            visit(Entry::Removal {
                tag: r.get::<_, String>(0)?.parse()?,
                src: r.get(1)?,
                dst: r.get(2)?,
                ty: r.get(3)?,
                op: r.get::<_, String>(4)?.parse()?,
            })?;
        }
    }
    {
        let mut stmt = conn.prepare("SELECT node, field, op, value FROM heads ORDER BY node, field, op")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let value: String = r.get(3)?;
            visit(Entry::Head {
                node: r.get(0)?,
                field: r.get(1)?,
                op: r.get::<_, String>(2)?.parse()?,
                value: serde_json::from_str(&value)?,
            })?;
        }
    }
    {
        let mut stmt = conn
            .prepare("SELECT node, field, op FROM superseded WHERE arrived = 0 ORDER BY node, field, op")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            visit(Entry::Seen {
                node: r.get(0)?,
                field: r.get(1)?,
                op: r.get::<_, String>(2)?.parse()?,
            })?;
        }
    }
    // Comments travel as the ops that added them, beside the ops this build does not apply: every
    // release can store those (one that predates comments applies them after its upgrade).
    {
        let mut stmt = conn.prepare(
            "SELECT seq, id, kind, v, payload FROM ops WHERE applied = 0 \
             UNION ALL SELECT seq, id, 'comment.add', v, payload FROM comments ORDER BY 2",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (seq, op) = crate::store::log::read_row(r)?;
            visit(Entry::Pending { seq, op: op? })?;
        }
    }
    Ok(())
}

/// The digest of a store's canonical export without comments ([`crate::query::export_base`]):
/// `sha256:<hex>`. A snapshot carries the digest at its seq, so a device that rebuilt from it can check
/// the result; comments are left out because a release that predates them stores them without
/// applying them (they arrive as ops and are kept whole by id).
pub fn digest(conn: &Connection) -> Result<String> {
    use sha2::{Digest, Sha256};
    let export = crate::query::export_base(conn)?;
    let hash = Sha256::digest(export.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}
