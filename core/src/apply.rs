//! The one apply path: every op reaches materialized state through [`apply_op`], on the hub, in the
//! CLI and in the browser.
//!
//! Merge rules (each gives the same state for any order and any number of repeats of the same ops):
//!
//! * **Fields** are last-writer-wins registers keyed by `(node, field)`. The winner is the op with the
//!   greatest [`OpId`]: `(ms, counter, device)`, a total order, so ties cannot happen between distinct
//!   ops and every replica picks the same winner. `node.create` sets `type` and its initial fields,
//!   all stamped with the create's id; `node.delete` sets `deleted = true`.
//! * **Links** are an OR-set: each `link.add` is a tag (its op id); `link.remove` tombstones exactly the
//!   tags it names (for the same src, dst and type). A tag is live iff added and not tombstoned, so an add
//!   concurrent with a remove survives, and a remove that arrives before its add still wins over it.
//! * **Effective parent**: a node's `parent` column is the dst of its live `parent` link with the greatest
//!   tag (the latest move wins); cycles are broken on the read side ([`crate::query`]).

use std::collections::BTreeMap;
use std::fmt;

use rusqlite::{Connection, OptionalExtension, ToSql, params};
use serde_json::Value;

use crate::error::Result;
use crate::op::{Body, Op, OpId, PARENT};

/// Applies an op of a kind registered by the embedding build. It must be deterministic and
/// order-independent like the built-in rules, and may use only [`Apply`]'s primitives.
pub type Handler = fn(&mut Apply<'_>, &Op) -> Result<()>;

/// The op kinds a build applies: the built-ins plus any registered extensions.
#[derive(Clone, Default)]
pub struct Kinds {
    extra: BTreeMap<String, (u32, Handler)>,
}

impl fmt::Debug for Kinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.extra.iter().map(|(k, (v, _))| (k, v)))
            .finish()
    }
}

impl Kinds {
    /// Register `kind` up to payload version `max_v`.
    pub fn register(mut self, kind: &str, max_v: u32, handler: Handler) -> Self {
        self.extra.insert(kind.to_owned(), (max_v, handler));
        self
    }

    /// Every kind this build applies, with the highest `v` of each.
    pub fn list(&self) -> BTreeMap<String, u32> {
        let mut all: BTreeMap<String, u32> = crate::op::kinds::BUILTIN
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        all.extend(self.extra.iter().map(|(k, (v, _))| (k.clone(), *v)));
        all
    }

    /// Can this build apply `op`?
    pub fn supports(&self, op: &Op) -> bool {
        op.is_builtin_supported() || self.extra.get(&op.kind).is_some_and(|(max_v, _)| op.v <= *max_v)
    }
}

/// A validated op, ready for the apply path.
#[derive(Debug)]
pub(crate) enum Prepared<'a> {
    Builtin(Body<'a>),
    Extra(Handler),
    /// Stored, not applied (unknown kind or newer `v`).
    Unknown,
}

impl fmt::Debug for Apply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Apply")
    }
}

impl Prepared<'_> {
    /// The node (or link source) an op writes to: a locality key for ordering a batch.
    pub(crate) fn target(&self) -> &str {
        match self {
            Prepared::Builtin(Body::Create { node, .. } | Body::Set { node, .. }) => node,
            Prepared::Builtin(Body::LinkAdd { src, .. } | Body::LinkRemove { src, .. }) => src,
            Prepared::Builtin(Body::Comment { node, .. }) => node,
            Prepared::Extra(_) | Prepared::Unknown => "",
        }
    }
}

/// Validate `op` without touching the database.
pub(crate) fn prepare<'a>(kinds: &Kinds, op: &'a Op) -> Result<Prepared<'a>> {
    if let Some(body) = op.body()? {
        return Ok(Prepared::Builtin(body));
    }
    match kinds.extra.get(&op.kind) {
        Some((max_v, handler)) if op.v <= *max_v => Ok(Prepared::Extra(*handler)),
        _ => Ok(Prepared::Unknown),
    }
}

/// Apply one prepared op inside the caller's transaction. Returns whether it was applied.
pub(crate) fn apply_op(conn: &Connection, op: &Op, prepared: &Prepared<'_>) -> Result<bool> {
    let mut a = Apply { conn };
    match prepared {
        Prepared::Builtin(body) => a.builtin(op, body)?,
        Prepared::Extra(handler) => handler(&mut a, op)?,
        Prepared::Unknown => return Ok(false),
    }
    Ok(true)
}

/// The merge primitives, bound to an open transaction.
pub struct Apply<'c> {
    conn: &'c Connection,
}

impl<'c> Apply<'c> {
    /// The primitives on `conn` (inside the caller's transaction), for merges that are not single ops:
    /// a snapshot ([`crate::snapshot`]).
    pub(crate) fn on(conn: &'c Connection) -> Self {
        Apply { conn }
    }
}

/// The LWW upsert of one typed column, as a static string so that the statement cache is hit without
/// formatting SQL per op.
macro_rules! typed_upsert {
    ($c:literal) => {
        concat!(
            "INSERT INTO nodes (id, ",
            $c,
            ", ",
            $c,
            "_op) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET ",
            $c,
            " = excluded.",
            $c,
            ", ",
            $c,
            "_op = excluded.",
            $c,
            "_op WHERE nodes.",
            $c,
            "_op IS NULL OR excluded.",
            $c,
            "_op > nodes.",
            $c,
            "_op"
        )
    };
}

/// Fields whose concurrent edits are kept. Not `deleted` (a delete and a restore are their own
/// story, with Undo and the trash) and not `rank` (an order position: two concurrent moves are
/// not two values a person would choose between).
pub fn keeps_conflicts(field: &str) -> bool {
    !matches!(field, "deleted" | "rank" | "type")
}

/// The winning value of `(node, field)` and its stamp, if the field has one.
pub fn current(conn: &Connection, node: &str, field: &str) -> Result<Option<(Value, OpId)>> {
    let typed = match field {
        "type" => Some("SELECT type, type_op FROM nodes WHERE id = ?1 AND type_op IS NOT NULL"),
        "title" => Some("SELECT title, title_op FROM nodes WHERE id = ?1 AND title_op IS NOT NULL"),
        "status" => Some("SELECT status, status_op FROM nodes WHERE id = ?1 AND status_op IS NOT NULL"),
        "due" => Some("SELECT due, due_op FROM nodes WHERE id = ?1 AND due_op IS NOT NULL"),
        "priority" => {
            Some("SELECT priority, priority_op FROM nodes WHERE id = ?1 AND priority_op IS NOT NULL")
        }
        "deleted" => Some("SELECT deleted, deleted_op FROM nodes WHERE id = ?1 AND deleted_op IS NOT NULL"),
        _ => None,
    };
    let row: Option<(Value, String)> = match typed {
        Some(sql) => conn
            .prepare_cached(sql)?
            .query_row([node], |r| {
                let value = match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(i) if field == "deleted" => Value::Bool(i != 0),
                    rusqlite::types::ValueRef::Integer(i) => Value::from(i),
                    v => Value::String(v.as_str()?.to_owned()),
                };
                Ok((value, r.get(1)?))
            })
            .optional()?,
        None => conn
            .prepare_cached("SELECT value, op FROM fields WHERE node = ?1 AND field = ?2")?
            .query_row(params![node, field], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?
            .map(|(v, op)| serde_json::from_str(&v).map(|v| (v, op)))
            .transpose()?,
    };
    row.map(|(v, op)| Ok((v, op.parse()?))).transpose()
}

/// Note the seq of the op `id` of kind `kind` where the materialized state keeps it: a comment's row
/// remembers the seq of its `comment.add`, which a snapshot carries with it.
pub(crate) fn note_comment_seq(conn: &Connection, id: &str, kind: &str, seq: Option<u64>) -> Result<()> {
    if let (crate::op::kinds::COMMENT_ADD, Some(seq)) = (kind, seq) {
        conn.prepare_cached("UPDATE comments SET seq = ?2 WHERE id = ?1 AND seq IS NULL")?
            .execute(params![id, seq as i64])?;
    }
    Ok(())
}

/// Is `field` stored in a typed `nodes` column (with a `<field>_op` column) rather than in `fields`?
fn is_typed(field: &str) -> bool {
    typed_sql(field).is_some()
}

fn typed_sql(field: &str) -> Option<&'static str> {
    Some(match field {
        "type" => typed_upsert!("type"),
        "title" => typed_upsert!("title"),
        "status" => typed_upsert!("status"),
        "due" => typed_upsert!("due"),
        "priority" => typed_upsert!("priority"),
        "deleted" => typed_upsert!("deleted"),
        _ => return None,
    })
}

/// The SQL value a typed column holds for a JSON value (validated by [`Op::body`]).
fn typed_value<'v>(field: &str, value: &'v Value) -> Box<dyn ToSql + 'v> {
    match (field, value) {
        ("deleted", v) => Box::new(i64::from(v.as_bool().unwrap_or(false))),
        (_, Value::String(s)) => Box::new(s.as_str()),
        (_, Value::Number(n)) => Box::new(n.as_i64()),
        _ => Box::new(rusqlite::types::Null),
    }
}

impl Apply<'_> {
    fn builtin(&mut self, op: &Op, body: &Body<'_>) -> Result<()> {
        let id = op.id;
        match body {
            Body::Create { node, ty, fields } => {
                self.set_field(node, "type", &Value::String((*ty).to_owned()), id)?;
                for (field, value) in fields {
                    self.set_field(node, field, value, id)?;
                }
                Ok(())
            }
            Body::Set {
                node,
                field,
                value,
                prev,
                seen,
            } => {
                self.set_field(node, field, value, id)?;
                if let Some(prev) = prev
                    && keeps_conflicts(field)
                {
                    for named in prev.iter().chain(seen) {
                        self.supersede(node, field, *named)?;
                    }
                    self.add_head(node, field, id, value)?;
                }
                Ok(())
            }
            Body::LinkAdd { src, dst, ty } => self.add_link(id, src, dst, ty),
            Body::LinkRemove { src, dst, ty, tags } => tags
                .iter()
                .try_for_each(|tag| self.remove_link(id, *tag, src, dst, ty)),
            Body::Comment { node, text } => self.add_comment(op, node, text),
        }
    }

    /// Add the comment `op` made (a grow-only set keyed by op id). Its payload is kept verbatim, so a
    /// snapshot can carry the comment as the op itself; its seq is noted once known
    /// ([`note_comment_seq`]).
    fn add_comment(&mut self, op: &Op, node: &str, text: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO comments (id, node, text, v, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                op.id.to_string(),
                node,
                text,
                op.v,
                serde_json::to_string(&op.payload)?
            ])?;
        Ok(())
    }

    /// LWW-set `(node, field)` to `value` stamped `op`: it wins iff `op` is greater than the current stamp.
    pub fn set_field(&mut self, node: &str, field: &str, value: &Value, op: OpId) -> Result<()> {
        let op = op.to_string();
        // Fields the read side queries live in typed `nodes` columns, each with a `<name>_op` column
        // holding the winning op id; every other field goes to the generic register table.
        if let Some(sql) = typed_sql(field) {
            let mut stmt = self.conn.prepare_cached(sql)?;
            stmt.execute(params![node, typed_value(field, value), op])?;
        } else {
            let mut stmt = self.conn.prepare_cached(
                "INSERT INTO fields (node, field, value, op) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (node, field) DO UPDATE SET value = excluded.value, op = excluded.op \
                 WHERE excluded.op > fields.op",
            )?;
            stmt.execute(params![node, field, serde_json::to_string(value)?, op])?;
        }
        Ok(())
    }

    /// Record the set `op` of `(node, field)` to `value` as a head of the field's edits, unless a set
    /// that saw it has already arrived (then only note that it arrived).
    pub fn add_head(&mut self, node: &str, field: &str, op: OpId, value: &Value) -> Result<()> {
        let op = op.to_string();
        let named = self
            .conn
            .prepare_cached("UPDATE superseded SET arrived = 1 WHERE node = ?1 AND field = ?2 AND op = ?3")?
            .execute(params![node, field, op])?;
        if named == 0 {
            self.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO heads (node, field, op, value) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![node, field, op, serde_json::to_string(value)?])?;
        }
        Ok(())
    }

    /// A set of `(node, field)` saw `op` (as the value it replaced, or a concurrent edit it resolved):
    /// `op` is no longer a head, and never becomes one if it arrives later.
    pub fn supersede(&mut self, node: &str, field: &str, op: OpId) -> Result<()> {
        let op = op.to_string();
        let removed = self
            .conn
            .prepare_cached("DELETE FROM heads WHERE node = ?1 AND field = ?2 AND op = ?3")?
            .execute(params![node, field, op])?;
        self.conn
            .prepare_cached(
                "INSERT INTO superseded (node, field, op, arrived) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (node, field, op) DO UPDATE SET arrived = max(arrived, excluded.arrived)",
            )?
            .execute(params![node, field, op, removed > 0])?;
        Ok(())
    }

    /// OR-set add with tag `tag`. A tombstone that arrived first keeps it removed.
    pub fn add_link(&mut self, tag: OpId, src: &str, dst: &str, ty: &str) -> Result<()> {
        let tag = tag.to_string();
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO links (tag, src, dst, type, removed) VALUES (?1, ?2, ?3, ?4, EXISTS ( \
                   SELECT 1 FROM link_removals WHERE tag = ?1 AND src = ?2 AND dst = ?3 AND type = ?4)) \
                 ON CONFLICT (tag) DO NOTHING RETURNING removed",
            )?
            .query_row(params![tag, src, dst, ty], |r| r.get::<_, bool>(0))
            .optional()?;
        if ty == PARENT && inserted == Some(false) {
            self.conn
                .prepare_cached(
                    "INSERT INTO nodes (id, parent, parent_tag) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (id) DO UPDATE SET parent = excluded.parent, parent_tag = excluded.parent_tag \
                     WHERE nodes.parent_tag IS NULL OR excluded.parent_tag > nodes.parent_tag",
                )?
                .execute(params![src, dst, tag])?;
        }
        Ok(())
    }

    /// OR-set remove of exactly `tag` for `(src, dst, ty)`, by the remove op `op`.
    pub fn remove_link(&mut self, op: OpId, tag: OpId, src: &str, dst: &str, ty: &str) -> Result<()> {
        let tag = tag.to_string();
        self.conn
            .prepare_cached(
                "INSERT INTO link_removals (tag, src, dst, type, op) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (tag, src, dst, type) DO UPDATE SET op = excluded.op WHERE excluded.op < link_removals.op",
            )?
            .execute(params![tag, src, dst, ty, op.to_string()])?;
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE links SET removed = 1 WHERE tag = ?1 AND src = ?2 AND dst = ?3 AND type = ?4 AND removed = 0",
            )?
            .execute(params![tag, src, dst, ty])?;
        if ty == PARENT && changed > 0 {
            // The removed tag may have been the winning parent: fall back to the next-latest live one.
            recompute_parent(self.conn, src, Some(&tag))?;
        }
        Ok(())
    }
}

/// Set `node`'s effective parent to its live `parent` link with the greatest tag (none: top level).
/// With `if_tag`, only when that tag is the current winner (the others cannot have changed).
fn recompute_parent(conn: &Connection, node: &str, if_tag: Option<&str>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE nodes SET (parent, parent_tag) = ( \
           SELECT dst, tag FROM links WHERE src = ?1 AND type = 'parent' AND removed = 0 \
           ORDER BY tag DESC LIMIT 1) \
         WHERE id = ?1 AND (?2 IS NULL OR parent_tag = ?2)",
    )?
    .execute(params![node, if_tag])?;
    Ok(())
}

/// Re-stamp what one op wrote: wherever `old` is the winning stamp of a field it set, the tag of a link
/// it added, or the op or tag of a removal it made, it becomes `new`. `prepared` is the op with its
/// payload already rewritten to name re-stamped tags. Used only for a device's own unconfirmed ops after
/// a clock-skew answer ([`crate::Store::restamp_outbox`]), which then re-merges every remote op against
/// the new stamps; so this may move a stamp without re-running the merge comparison.
pub(crate) fn restamp(conn: &Connection, prepared: &Prepared<'_>, old: OpId, new: OpId) -> Result<()> {
    let (old, new) = (old.to_string(), new.to_string());
    match prepared {
        Prepared::Builtin(Body::Create { node, fields, .. }) => {
            restamp_field(conn, node, "type", &old, &new)?;
            for (f, _) in fields {
                restamp_field(conn, node, f, &old, &new)?;
            }
        }
        Prepared::Builtin(Body::Set { node, field, .. }) => {
            restamp_field(conn, node, field, &old, &new)?;
            conn.execute(
                "UPDATE heads SET op = ?3 WHERE node = ?1 AND op = ?2",
                params![node, old, new],
            )?;
            conn.execute(
                "UPDATE superseded SET op = ?3 WHERE node = ?1 AND op = ?2",
                params![node, old, new],
            )?;
        }
        Prepared::Builtin(Body::LinkAdd { src, .. }) => {
            conn.execute("UPDATE links SET tag = ?2 WHERE tag = ?1", params![old, new])?;
            recompute_parent(conn, src, None)?;
        }
        Prepared::Builtin(Body::LinkRemove { .. }) => {
            conn.execute(
                "UPDATE link_removals SET tag = ?2 WHERE tag = ?1",
                params![old, new],
            )?;
            conn.execute(
                "UPDATE link_removals SET op = ?2 WHERE op = ?1",
                params![old, new],
            )?;
        }
        Prepared::Builtin(Body::Comment { .. }) => {
            conn.execute("UPDATE comments SET id = ?2 WHERE id = ?1", params![old, new])?;
        }
        Prepared::Extra(_) | Prepared::Unknown => {}
    }
    Ok(())
}

fn restamp_field(conn: &Connection, node: &str, field: &str, old: &str, new: &str) -> Result<()> {
    if is_typed(field) {
        // `field` is one of the typed column names, so it is safe to splice into the SQL.
        conn.execute(
            &format!("UPDATE nodes SET {field}_op = ?3 WHERE id = ?1 AND {field}_op = ?2"),
            params![node, old, new],
        )?;
    } else {
        conn.execute(
            "UPDATE fields SET op = ?4 WHERE node = ?1 AND field = ?2 AND op = ?3",
            params![node, field, old, new],
        )?;
    }
    Ok(())
}
