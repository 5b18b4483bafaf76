//! The edit verbs: what a person does to the space (add a project or a task, change a field, move,
//! complete, delete, restore) and how they name things (an id, an id prefix, a project's name). The
//! command line (`hearth project add`, `task edit`, …) and the browser client (`createTask`, `set`,
//! `move`, …) both call these, so an edit builds the same ops wherever it is made.
//!
//! * **Verbs** take the `&mut Store` and node ids already resolved. Each commits its ops in one
//!   transaction through [`Store::commit`] (the one apply path, which validates every value) and returns
//!   an [`Edited`]: the node and the stamped ops. An edit that changes nothing commits nothing.
//! * **Resolution** reads the connection: [`resolve`] (any node by id or id prefix), [`resolve_task`],
//!   [`resolve_project`] (also by name) and [`resolve_any`] (a live node, or a project by name). It fails
//!   with [`Error::NotFound`], [`Error::Ambiguous`], [`Error::SameName`], [`Error::WrongType`] or
//!   [`Error::Deleted`]; callers word these for their users.
//! * **Values arrive parsed**: dates are ISO `YYYY-MM-DD` strings (the command line reads "fri" or "+3"
//!   itself; core has no calendar).
//!
//! ```
//! use std::sync::Arc;
//! use hearth_core::{Options, Store, SystemEnv, edit, query};
//!
//! let mut store = Store::open_in_memory(Arc::new(SystemEnv), Options::default()).unwrap();
//! let home = edit::create_project(&mut store, "Home", None, None).unwrap().node;
//! let task = edit::create_task(&mut store, edit::NewTask {
//!     title: "Fix the tap".into(),
//!     project: Some(home.clone()),
//!     due: Some("2026-05-01".into()),
//!     ..Default::default()
//! })
//! .unwrap()
//! .node;
//!
//! // A project by its name (in any case), a task by an id prefix.
//! assert_eq!(edit::resolve_project(store.conn(), "home").unwrap(), home);
//! assert_eq!(edit::resolve_task(store.conn(), &task[..6]).unwrap(), task);
//!
//! edit::complete(&mut store, &task).unwrap();
//! let tasks = query::tasks(store.conn(), Some(&home)).unwrap();
//! assert_eq!((tasks[0].title.as_str(), tasks[0].status.as_str()), ("Fix the tap", "done"));
//! ```

use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::hlc::DeviceId;
use crate::op::{NewOp, Op, PARENT};
use crate::store::{self, Store, keys};

/// What an edit committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    /// The node edited; for a create, the new node's id.
    pub node: String,
    /// The ops committed, stamped, in order; empty when there was nothing to change.
    pub ops: Vec<Op>,
}

fn commit(store: &mut Store, node: &str, ops: Vec<NewOp>) -> Result<Edited> {
    let ops = if ops.is_empty() {
        Vec::new()
    } else {
        store.commit(ops)?
    };
    Ok(Edited {
        node: node.to_owned(),
        ops,
    })
}

/// The id of a node about to be created: `chosen` (1–64 ASCII letters and digits; a caller that picks
/// the id makes a retried create idempotent) or a fresh random one.
fn node_id(store: &Store, chosen: Option<String>) -> Result<String> {
    match chosen {
        Some(id) if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Ok(id)
        }
        Some(id) => Err(Error::BadNodeId(id)),
        None => Ok(store.new_node_id()),
    }
}

/// Create a project titled `title`, inside project `parent` when given, with id `id` when given.
pub fn create_project(
    store: &mut Store,
    title: &str,
    parent: Option<&str>,
    id: Option<String>,
) -> Result<Edited> {
    let id = node_id(store, id)?;
    let mut fields = Map::new();
    fields.insert("title".into(), json!(title));
    let mut ops = vec![NewOp::create(&id, "project", fields)];
    if let Some(p) = parent {
        ops.push(NewOp::link_add(&id, p, PARENT));
    }
    commit(store, &id, ops)
}

/// A task to create with [`create_task`]. Only the title is required; the task starts `open`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTask {
    /// What to do.
    pub title: String,
    /// The project it goes in (a resolved id); the Inbox when `None`.
    pub project: Option<String>,
    /// Due date, `YYYY-MM-DD`.
    pub due: Option<String>,
    /// Priority, 1 (highest) to 4.
    pub priority: Option<i64>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// The node id to use (see [`create_project`]); a fresh one when `None`.
    pub id: Option<String>,
}

/// Create a task (one `node.create` with all its fields, plus the parent link when in a project).
pub fn create_task(store: &mut Store, task: NewTask) -> Result<Edited> {
    let id = node_id(store, task.id)?;
    let mut fields = Map::new();
    fields.insert("title".into(), json!(task.title));
    fields.insert("status".into(), json!("open"));
    if let Some(d) = task.due {
        fields.insert("due".into(), json!(d));
    }
    if let Some(p) = task.priority {
        fields.insert("priority".into(), json!(p));
    }
    if let Some(n) = task.notes {
        fields.insert("notes".into(), json!(n));
    }
    let mut ops = vec![NewOp::create(&id, "task", fields)];
    if let Some(p) = &task.project {
        ops.push(NewOp::link_add(&id, p, PARENT));
    }
    commit(store, &id, ops)
}

/// The op setting one field: `status`, `due` and `priority` are task fields (`task.set`), `deleted` is
/// only changed by [`delete`] and [`restore`], anything else is a plain `node.set`.
fn set_op(node: &str, field: &str, value: Value) -> Result<NewOp> {
    match field {
        "status" | "due" | "priority" => Ok(NewOp::task_set(node, field, value)),
        "deleted" | "" => Err(Error::ReadOnlyField(field.to_owned())),
        _ => Ok(NewOp::set(node, field, value)),
    }
}

/// Set one field of a node to a JSON value (`null` clears it). The apply path checks the value: a
/// string or null for `title` and `status`, a date `YYYY-MM-DD` or null for `due`, an integer or null
/// for `priority`. `deleted` cannot be set here ([`Error::ReadOnlyField`]).
pub fn set_field(store: &mut Store, node: &str, field: &str, value: Value) -> Result<Edited> {
    let op = set_op(node, field, value)?;
    commit(store, node, vec![op])
}

/// Restore (`restore`) or dismiss an open conflict, by its short id or op id (see
/// [`crate::conflicts`]): an ordinary set of the field to the other value, or to the kept value again,
/// that names both the kept value (`prev`) and the conflict (`seen`), so that every device drops the
/// conflict once it syncs.
pub fn resolve_conflict(store: &mut Store, id: &str, restore: bool) -> Result<Edited> {
    let c = crate::conflicts::find(store.conn(), id)?;
    let value = if restore { c.value.clone() } else { c.kept.clone() };
    let mut op = set_op(&c.node, &c.field, value)?;
    if let Value::Object(p) = &mut op.payload {
        p.insert("prev".into(), Value::String(c.kept_op.to_string()));
        p.insert("seen".into(), json!([c.op.to_string()]));
    }
    commit(store, &c.node, vec![op])
}

/// Several changes to one node, committed together by [`update`]: fields first, in order, then a move.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Fields to set, as [`set_field`] would.
    pub fields: Vec<(String, Value)>,
    /// `Some(Some(p))`: move under `p`; `Some(None)`: to the top level (for a task, the Inbox).
    pub parent: Option<Option<String>>,
}

/// Apply [`Changes`] to `node` in one transaction. When they amount to no op (no fields, and a move to
/// where the node already is with no parent link to remove), nothing is committed and
/// [`Edited::ops`] is empty.
pub fn update(store: &mut Store, node: &str, changes: Changes) -> Result<Edited> {
    let mut ops = changes
        .fields
        .into_iter()
        .map(|(field, value)| set_op(node, &field, value))
        .collect::<Result<Vec<_>>>()?;
    if let Some(parent) = changes.parent {
        ops.extend(move_ops(store, node, parent.as_deref())?);
    }
    commit(store, node, ops)
}

/// Move `node` under `parent`, or to the top level with `None`: the parent links this replica has
/// observed are removed and the new one added (see [`move_ops`]).
pub fn move_node(store: &mut Store, node: &str, parent: Option<&str>) -> Result<Edited> {
    let ops = move_ops(store, node, parent)?;
    commit(store, node, ops)
}

/// The ops that move `node` under `parent` (or to the top level with `None`): remove every parent tag
/// this replica has observed, then add the new one. A concurrent move elsewhere keeps its own tag,
/// and the greater tag wins (see [`crate::apply`]).
pub fn move_ops(store: &Store, node: &str, parent: Option<&str>) -> Result<Vec<NewOp>> {
    let mut by_dst: std::collections::BTreeMap<String, Vec<crate::OpId>> = std::collections::BTreeMap::new();
    for (dst, tag) in parent_tags(store.conn(), node)? {
        by_dst.entry(dst).or_default().push(tag.parse()?);
    }
    let mut ops: Vec<NewOp> = by_dst
        .iter()
        .map(|(dst, tags)| NewOp::link_remove(node, dst, crate::op::PARENT, tags))
        .collect();
    if let Some(p) = parent {
        ops.push(NewOp::link_add(node, p, crate::op::PARENT));
    }
    Ok(ops)
}

/// Where [`place`] puts a node: just before or just after another one of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// Just before this node.
    Before(&'a str),
    /// Just after this node.
    After(&'a str),
}

/// Put `node` (a task or a project) just before or after `place`'s node, in the order a person sees
/// (tasks in their list, projects among the sub-projects of their parent); when that node is in
/// another list or under another parent, `node` moves there too.
///
/// Positions are order keys in the `rank` field (a last-writer-wins field, so concurrent moves
/// converge, and no migration: older builds keep it as any other field). A new key always fits between
/// two neighbours, so nothing else is renumbered; only the first time a list is ordered, its nodes
/// that have no key yet get one, in the order they were shown.
///
/// ```
/// use std::sync::Arc;
/// use hearth_core::{Options, Store, SystemEnv, edit, query};
///
/// let mut s = Store::open_in_memory(Arc::new(SystemEnv), Options::default()).unwrap();
/// let add = |s: &mut Store, t: &str| {
///     edit::create_task(s, edit::NewTask { title: t.into(), ..Default::default() }).unwrap().node
/// };
/// let (a, b, c) = (add(&mut s, "a"), add(&mut s, "b"), add(&mut s, "c"));
/// edit::place(&mut s, &c, edit::Place::Before(&a)).unwrap();
/// edit::place(&mut s, &a, edit::Place::After(&b)).unwrap();
/// let order: Vec<String> = query::tasks(s.conn(), None).unwrap().into_iter().map(|t| t.title).collect();
/// assert_eq!(order, ["c", "b", "a"]);
/// ```
pub fn place(store: &mut Store, node: &str, place: Place<'_>) -> Result<Edited> {
    use fractional_index::FractionalIndex;
    let target = match place {
        Place::Before(t) | Place::After(t) => t,
    };
    let (ty, target_ty) = (node_type(store.conn(), node)?, node_type(store.conn(), target)?);
    if ty != target_ty || !(ty == "task" || ty == "project") {
        return Err(Error::WrongType {
            key: target.to_owned(),
            expected: if ty == "project" { "project" } else { "task" },
            found: target_ty,
        });
    }
    if node == target {
        return commit(store, node, Vec::new());
    }
    // The target's siblings in the order shown, with their keys.
    let (parent, siblings): (Option<String>, Vec<(String, Option<String>)>) = if ty == "task" {
        let parent = crate::query::all_tasks(store.conn())?
            .into_iter()
            .find(|t| t.id == target)
            .and_then(|t| t.parent);
        let list = crate::query::tasks(store.conn(), parent.as_deref())?;
        (parent, list.into_iter().map(|t| (t.id, t.rank)).collect())
    } else {
        let tree = crate::query::tree(store.conn())?;
        let parent_of = |id: &str| tree.iter().find(|p| p.id == id).and_then(|p| p.parent.clone());
        let parent = parent_of(target);
        // Under its own subtree it would make a cycle.
        let mut up = parent.clone();
        while let Some(p) = up {
            if p == node {
                return Err(Error::IntoItself(title(store.conn(), node)?));
            }
            up = parent_of(&p);
        }
        let list = tree
            .into_iter()
            .filter(|p| p.parent == parent)
            .map(|p| (p.id, p.rank))
            .collect();
        (parent, list)
    };
    let mut ops = Vec::new();
    let mut order: Vec<(String, FractionalIndex)> = Vec::with_capacity(siblings.len());
    for (id, rank) in siblings.into_iter().filter(|(id, _)| id != node) {
        let rank = match rank.as_deref().map(FractionalIndex::from_string) {
            Some(Ok(r)) => r,
            // No key yet (or one this build cannot read): one after the previous sibling's.
            _ => {
                let r = order.last().map_or_else(FractionalIndex::default, |(_, prev)| {
                    FractionalIndex::new_after(prev)
                });
                ops.push(NewOp::set(&id, "rank", Value::String(r.to_string())));
                r
            }
        };
        order.push((id, rank));
    }
    let at = order
        .iter()
        .position(|(id, _)| id == target)
        .ok_or_else(|| Error::NotFound {
            what: ty_name(&ty),
            key: target.to_owned(),
        })?;
    let (lower, upper) = match place {
        Place::Before(_) => (at.checked_sub(1).map(|i| &order[i].1), Some(&order[at].1)),
        Place::After(_) => (Some(&order[at].1), order.get(at + 1).map(|(_, r)| r)),
    };
    // Equal neighbours (two devices gave the same key at once) leave no room between: go just past
    // the lower one, which the id then orders.
    let rank = FractionalIndex::new(lower, upper)
        .or_else(|| lower.map(FractionalIndex::new_after))
        .unwrap_or_default();
    ops.push(NewOp::set(node, "rank", Value::String(rank.to_string())));
    let now = match ty.as_str() {
        "task" => crate::query::all_tasks(store.conn())?
            .into_iter()
            .find(|t| t.id == node)
            .and_then(|t| t.parent),
        _ => crate::query::tree(store.conn())?
            .into_iter()
            .find(|p| p.id == node)
            .and_then(|p| p.parent),
    };
    if now != parent {
        ops.extend(move_ops(store, node, parent.as_deref())?);
    }
    commit(store, node, ops)
}

fn ty_name(ty: &str) -> &'static str {
    if ty == "project" { "project" } else { "task" }
}

fn node_type(conn: &Connection, id: &str) -> Result<String> {
    conn.query_row(
        "SELECT type FROM nodes WHERE id = ?1 AND type IS NOT NULL AND deleted = 0",
        [id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| Error::NotFound {
        what: "node",
        key: id.to_owned(),
    })
}

/// Live parent-link tags of `node` (what a move must remove).
pub fn parent_tags(conn: &Connection, node: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT dst, tag FROM links WHERE src = ?1 AND type = 'parent' AND removed = 0 ORDER BY tag",
    )?;
    let rows = stmt.query_map([node], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Mark a task done.
pub fn complete(store: &mut Store, task: &str) -> Result<Edited> {
    commit(store, task, vec![NewOp::task_set(task, "status", json!("done"))])
}

/// Mark a task open again.
pub fn reopen(store: &mut Store, task: &str) -> Result<Edited> {
    commit(store, task, vec![NewOp::task_set(task, "status", json!("open"))])
}

/// The id of the label called `name`: derived from the name (trimmed, lowercased), so that devices
/// that create the same label offline create the same node. `None` when the name is not usable.
pub fn label_id(name: &str) -> Option<String> {
    use sha2::{Digest, Sha256};
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return None;
    }
    let hash = Sha256::digest(name.to_lowercase().as_bytes());
    let hex: String = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Some(format!("label{hex}"))
}

/// Give `node` the label `name` (created with that name when this replica has no such label yet). A
/// label is a node of type `label`; carrying it is a `label` link, so an older build keeps and merges
/// labels without showing them. Nothing is committed when the node carries it already.
pub fn label(store: &mut Store, node: &str, name: &str) -> Result<Edited> {
    let id = label_id(name).ok_or_else(|| Error::BadLabel(name.to_owned()))?;
    let mut ops = Vec::new();
    match node_row(store.conn(), &id)? {
        Some((Some(_), false)) => {}
        // Deleted, or never created here: (re)create it with this spelling.
        Some((Some(_), true)) => ops.push(NewOp::set(&id, "deleted", json!(false))),
        _ => {
            let mut fields = Map::new();
            fields.insert("title".into(), json!(name.trim()));
            ops.push(NewOp::create(&id, crate::op::LABEL_TYPE, fields));
        }
    }
    if label_tags(store.conn(), node, &id)?.is_empty() {
        ops.push(NewOp::link_add(node, &id, crate::op::LABEL));
    }
    commit(store, node, ops)
}

/// Take the label `name` off `node` (every tag this replica has seen; a concurrent add survives, as
/// for any link). Nothing is committed when the node does not carry it.
pub fn unlabel(store: &mut Store, node: &str, name: &str) -> Result<Edited> {
    let id = label_id(name).ok_or_else(|| Error::BadLabel(name.to_owned()))?;
    let tags = label_tags(store.conn(), node, &id)?;
    if tags.is_empty() {
        return commit(store, node, Vec::new());
    }
    commit(
        store,
        node,
        vec![NewOp::link_remove(node, &id, crate::op::LABEL, &tags)],
    )
}

/// Live tags of the `label` links from `node` to the label `label`.
fn label_tags(conn: &Connection, node: &str, label: &str) -> Result<Vec<crate::OpId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT tag FROM links WHERE src = ?1 AND dst = ?2 AND type = 'label' AND removed = 0 ORDER BY tag",
    )?;
    let rows = stmt.query_map([node, label], |r| r.get::<_, String>(0))?;
    rows.map(|t| Ok(t?.parse()?)).collect()
}

/// Add a comment to `node`. The comment's id is the id of the op that adds it ([`Edited::ops`]).
pub fn add_comment(store: &mut Store, node: &str, text: &str) -> Result<Edited> {
    if !crate::op::is_comment_text(text) {
        return Err(Error::BadComment {
            max: crate::op::COMMENT_MAX_CHARS,
        });
    }
    commit(store, node, vec![NewOp::comment(node, text)])
}

/// Delete a node: a tombstone, so [`restore`] brings it back with everything it had.
pub fn delete(store: &mut Store, node: &str) -> Result<Edited> {
    commit(store, node, vec![NewOp::delete(node)])
}

/// Restore a deleted node.
pub fn restore(store: &mut Store, node: &str) -> Result<Edited> {
    commit(store, node, vec![NewOp::set(node, "deleted", json!(false))])
}

/// Resolve a full id or an unambiguous id prefix (at least 4 characters) of a visible node, deleted or
/// not. (Also at [`crate::query::resolve`].)
pub fn resolve(conn: &Connection, key: &str) -> Result<String> {
    let exact: Option<String> = conn
        .prepare_cached("SELECT id FROM nodes WHERE id = ?1 AND type IS NOT NULL")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    if let Some(id) = exact {
        return Ok(id);
    }
    let not_found = || Error::NotFound {
        what: "node",
        key: key.to_owned(),
    };
    if key.len() < 4 {
        return Err(not_found());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM nodes WHERE id >= ?1 AND id < ?1 || x'ff' AND type IS NOT NULL ORDER BY id LIMIT 6",
    )?;
    let ids: Vec<String> = stmt
        .query_map([key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    match ids.as_slice() {
        [] => Err(not_found()),
        [one] => Ok(one.clone()),
        many => Err(Error::Ambiguous {
            what: "node",
            key: key.to_owned(),
            candidates: many.join(", "),
        }),
    }
}

/// A node's type (`None` for a node only linked to, never created) and tombstone, if it is known.
fn node_row(conn: &Connection, id: &str) -> Result<Option<(Option<String>, bool)>> {
    Ok(conn
        .prepare_cached("SELECT type, deleted FROM nodes WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// `id` (resolved from `key`) if its type is `expected`, else [`Error::WrongType`].
fn of_type(conn: &Connection, key: &str, id: String, expected: &'static str) -> Result<String> {
    let ty = node_row(conn, &id)?.and_then(|(ty, _)| ty);
    if ty.as_deref() == Some(expected) {
        Ok(id)
    } else {
        Err(Error::WrongType {
            key: key.to_owned(),
            found: ty.unwrap_or_default(),
            expected,
        })
    }
}

/// A task by id or id prefix ([`resolve`], then [`Error::WrongType`] for anything but a task).
pub fn resolve_task(conn: &Connection, key: &str) -> Result<String> {
    let id = resolve(conn, key)?;
    of_type(conn, key, id, "task")
}

/// A project by name (exact, ASCII case-insensitive, among live projects) or else by id or id prefix
/// (deleted or not). Two live projects of that name are [`Error::SameName`]; a key that is neither a
/// name nor an id is [`Error::NotFound`] (`what: "project"`); an ambiguous prefix is
/// [`Error::Ambiguous`]; an id of a non-project is [`Error::WrongType`].
pub fn resolve_project(conn: &Connection, key: &str) -> Result<String> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM nodes WHERE type = 'project' AND deleted = 0 AND lower(title) = lower(?1) ORDER BY id",
    )?;
    let mut named: Vec<String> = stmt
        .query_map([key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    match named.len() {
        0 => {}
        1 => return Ok(named.remove(0)),
        _ => {
            return Err(Error::SameName {
                what: "project",
                name: key.to_owned(),
                ids: named,
            });
        }
    }
    let id = resolve(conn, key).map_err(|e| match e {
        Error::NotFound { key, .. } => Error::NotFound { what: "project", key },
        e => e,
    })?;
    of_type(conn, key, id, "project")
}

/// A live node by id or id prefix, else a project by name ([`resolve_project`]); with its title. A
/// deleted node is [`Error::Deleted`]: what to delete, say, must still be there.
pub fn resolve_any(conn: &Connection, key: &str) -> Result<(String, String)> {
    let id = match resolve(conn, key) {
        Ok(id) => {
            if node_row(conn, &id)?.is_some_and(|(_, deleted)| deleted) {
                return Err(Error::Deleted { key: key.to_owned() });
            }
            id
        }
        Err(Error::NotFound { .. }) => resolve_project(conn, key)?,
        Err(e) => return Err(e),
    };
    let title = title(conn, &id)?;
    Ok((id, title))
}

/// A node's title; empty when it has none or is unknown.
pub fn title(conn: &Connection, id: &str) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT coalesce(title, '') FROM nodes WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

/// The pairing a device remembered outside its database, for [`restore_identity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pairing<'a> {
    /// The hub's base URL.
    pub hub: &'a str,
    /// The space.
    pub space: &'a str,
    /// The device's bearer token.
    pub token: &'a str,
}

/// Whether a raw connection already holds a store (a device id in its `kv` table).
fn has_device(conn: &Connection) -> Result<bool> {
    let table: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'kv'",
        [],
        |r| r.get(0),
    )?;
    if table == 0 {
        return Ok(false);
    }
    Ok(store::kv_get(conn, keys::DEVICE)?.is_some())
}

/// Rebuild the identity of a store that was lost (a browser store the browser wiped): on a raw
/// connection holding no store yet, migrate the schema and write `device` and, when given, its
/// `pairing`, so that [`Store::open`] then opens as that device and the next sync downloads the space
/// again. A database that already holds a device id is left alone (and `device` is not even parsed).
/// Returns whether the identity was written.
pub fn restore_identity(conn: &mut Connection, device: &str, pairing: Option<Pairing<'_>>) -> Result<bool> {
    if has_device(conn)? {
        return Ok(false);
    }
    let device: DeviceId = device.parse()?;
    crate::migrate::migrate(conn)?;
    store::kv_set(conn, keys::DEVICE, &device.to_string())?;
    if let Some(p) = pairing {
        store::kv_set(conn, keys::HUB_URL, p.hub)?;
        store::kv_set(conn, keys::SPACE, p.space)?;
        store::kv_set(conn, keys::TOKEN, p.token)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{ManualEnv, Options, query};

    fn store() -> Result<Store> {
        Store::open_in_memory(Arc::new(ManualEnv::new(1_750_000_000_000, 7)), Options::default())
    }

    fn project(s: &mut Store, title: &str, id: &str) -> Result<String> {
        Ok(create_project(s, title, None, Some(id.into()))?.node)
    }

    fn task(s: &mut Store, title: &str, project: Option<&str>) -> Result<String> {
        let task = NewTask {
            title: title.into(),
            project: project.map(str::to_owned),
            ..NewTask::default()
        };
        Ok(create_task(s, task)?.node)
    }

    fn row(s: &Store, id: &str) -> Result<query::TaskRow> {
        Ok(query::all_tasks(s.conn())?
            .into_iter()
            .find(|t| t.id == id)
            .expect("the task is live"))
    }

    #[test]
    fn resolve_takes_a_full_id_or_an_unambiguous_prefix() -> Result<()> {
        let mut s = store()?;
        let a = project(&mut s, "A", "abcd1111")?;
        project(&mut s, "B", "abcd2222")?;
        assert_eq!(resolve(s.conn(), "abcd1111")?, a);
        assert_eq!(resolve(s.conn(), "abcd1")?, a);
        match resolve(s.conn(), "abcd") {
            Err(Error::Ambiguous { what, candidates, .. }) => {
                assert_eq!((what, candidates.as_str()), ("node", "abcd1111, abcd2222"));
            }
            other => panic!("expected Ambiguous, got {other:?}"),
        }
        // Short keys never match by prefix; unknown ones are not found.
        assert!(matches!(
            resolve(s.conn(), "abc"),
            Err(Error::NotFound { what: "node", .. })
        ));
        assert!(matches!(resolve(s.conn(), "ffff"), Err(Error::NotFound { .. })));
        // A deleted node still resolves (to be restored).
        delete(&mut s, &a)?;
        assert_eq!(resolve(s.conn(), "abcd1")?, a);
        assert_eq!(query::resolve(s.conn(), "abcd1")?, a);
        Ok(())
    }

    #[test]
    fn projects_resolve_by_name_then_by_id() -> Result<()> {
        let mut s = store()?;
        let home = project(&mut s, "Home", "a1a1a1a1a1")?;
        assert_eq!(resolve_project(s.conn(), "HOME")?, home);
        assert_eq!(resolve_project(s.conn(), "a1a1")?, home);
        let t = task(&mut s, "Home", None)?;
        assert_eq!(
            resolve_project(s.conn(), "home")?,
            home,
            "a task of that name is no project"
        );
        match resolve_project(s.conn(), &t) {
            Err(e @ Error::WrongType { .. }) => {
                assert_eq!(e.to_string(), format!("{t:?} is a task, not a project"));
            }
            other => panic!("expected WrongType, got {other:?}"),
        }
        assert!(matches!(
            resolve_project(s.conn(), "Garden"),
            Err(Error::NotFound { what: "project", .. })
        ));
        // Two live projects of one name: only an id tells them apart.
        let other = project(&mut s, "home", "b2b2b2b2b2b2")?;
        match resolve_project(s.conn(), "Home") {
            Err(e @ Error::SameName { .. }) => assert_eq!(
                e.to_string(),
                "several projects are called \"Home\" (a1a1a1a1, b2b2b2b2); use an id"
            ),
            other => panic!("expected SameName, got {other:?}"),
        }
        delete(&mut s, &other)?;
        assert_eq!(
            resolve_project(s.conn(), "Home")?,
            home,
            "deleted projects have no name"
        );
        Ok(())
    }

    #[test]
    fn tasks_and_any_node_resolve_with_their_checks() -> Result<()> {
        let mut s = store()?;
        let p = project(&mut s, "Errands", "cafe0001")?;
        let t = task(&mut s, "Buy bread", Some(&p))?;
        assert_eq!(resolve_task(s.conn(), &t[..5])?, t);
        assert!(matches!(
            resolve_task(s.conn(), &p),
            Err(Error::WrongType { expected: "task", .. })
        ));
        assert_eq!(resolve_any(s.conn(), &t)?, (t.clone(), "Buy bread".into()));
        assert_eq!(resolve_any(s.conn(), "errands")?, (p.clone(), "Errands".into()));
        delete(&mut s, &t)?;
        match resolve_any(s.conn(), &t) {
            Err(e @ Error::Deleted { .. }) => assert_eq!(e.to_string(), format!("{t:?} is already deleted")),
            other => panic!("expected Deleted, got {other:?}"),
        }
        assert!(matches!(
            resolve_any(s.conn(), "nothing"),
            Err(Error::NotFound { what: "project", .. })
        ));
        assert_eq!(title(s.conn(), "unknown")?, "");
        Ok(())
    }

    #[test]
    fn create_project_nests_and_checks_a_chosen_id() -> Result<()> {
        let mut s = store()?;
        let top = create_project(&mut s, "Home", None, None)?;
        assert_eq!((top.node.len(), top.ops.len()), (16, 1));
        let sub = create_project(&mut s, "Kitchen", Some(&top.node), Some("kitchen1".into()))?;
        assert_eq!((sub.node.as_str(), sub.ops.len()), ("kitchen1", 2));
        let tree = query::tree(s.conn())?;
        let shape: Vec<(&str, usize)> = tree.iter().map(|p| (p.title.as_str(), p.depth)).collect();
        assert_eq!(shape, [("Home", 0), ("Kitchen", 1)]);
        for bad in ["", "has space", "dash-ed", &"x".repeat(65)] {
            match create_project(&mut s, "Bad", None, Some(bad.into())) {
                Err(e @ Error::BadNodeId(_)) => {
                    assert_eq!(e.to_string(), format!("{bad:?} is not a usable node id"));
                }
                other => panic!("expected BadNodeId, got {other:?}"),
            }
        }
        assert_eq!(s.outbox_len()?, 3, "refused creates commit nothing");
        Ok(())
    }

    #[test]
    fn create_task_sets_every_field_given() -> Result<()> {
        let mut s = store()?;
        let p = project(&mut s, "Home", "home0001")?;
        let full = create_task(
            &mut s,
            NewTask {
                title: "Fix the tap".into(),
                project: Some(p.clone()),
                due: Some("2026-05-01".into()),
                priority: Some(2),
                notes: Some("washer".into()),
                id: Some("tap1".into()),
            },
        )?;
        assert_eq!((full.node.as_str(), full.ops.len()), ("tap1", 2));
        let t = row(&s, "tap1")?;
        assert_eq!(
            (t.title.as_str(), t.status.as_str(), t.due.as_deref(), t.priority),
            ("Fix the tap", "open", Some("2026-05-01"), Some(2))
        );
        assert_eq!(
            (t.parent.as_deref(), t.notes.as_deref()),
            (Some(p.as_str()), Some("washer"))
        );
        let inbox = task(&mut s, "Call Ann", None)?;
        assert_eq!(query::tasks(s.conn(), None)?[0].id, inbox);
        // The apply path checks the values.
        let bad = NewTask {
            title: "x".into(),
            due: Some("friday".into()),
            ..NewTask::default()
        };
        assert!(matches!(create_task(&mut s, bad), Err(Error::InvalidOp { .. })));
        Ok(())
    }

    #[test]
    fn set_field_routes_task_fields_and_refuses_deleted() -> Result<()> {
        let mut s = store()?;
        let t = task(&mut s, "Old", None)?;
        let e = set_field(&mut s, &t, "title", json!("New"))?;
        assert_eq!(e.ops[0].kind, crate::kinds::NODE_SET);
        let e = set_field(&mut s, &t, "due", json!("2026-01-02"))?;
        assert_eq!(e.ops[0].kind, crate::kinds::TASK_SET);
        set_field(&mut s, &t, "priority", json!(1))?;
        set_field(&mut s, &t, "notes", json!("n"))?;
        let r = row(&s, &t)?;
        assert_eq!(
            (r.title.as_str(), r.due.as_deref(), r.priority, r.notes.as_deref()),
            ("New", Some("2026-01-02"), Some(1), Some("n"))
        );
        set_field(&mut s, &t, "due", Value::Null)?;
        assert_eq!(row(&s, &t)?.due, None);
        for field in ["deleted", ""] {
            match set_field(&mut s, &t, field, json!(true)) {
                Err(e @ Error::ReadOnlyField(_)) => assert_eq!(
                    e.to_string(),
                    format!("field {field:?} cannot be set directly; use delete/restore")
                ),
                other => panic!("expected ReadOnlyField, got {other:?}"),
            }
        }
        assert!(matches!(
            set_field(&mut s, &t, "priority", json!("high")),
            Err(Error::InvalidOp { .. })
        ));
        Ok(())
    }

    #[test]
    fn update_commits_fields_and_a_move_together_or_nothing() -> Result<()> {
        let mut s = store()?;
        let p = project(&mut s, "Home", "home0001")?;
        let t = task(&mut s, "Tap", None)?;
        let before = s.outbox_len()?;
        // Already in the Inbox: moving there is no op, and nothing is committed.
        let none = update(
            &mut s,
            &t,
            Changes {
                fields: vec![],
                parent: Some(None),
            },
        )?;
        assert!(none.ops.is_empty());
        assert_eq!(s.outbox_len()?, before);
        let changes = Changes {
            fields: vec![
                ("title".into(), json!("Fix the tap")),
                ("priority".into(), json!(3)),
            ],
            parent: Some(Some(p.clone())),
        };
        let e = update(&mut s, &t, changes)?;
        assert_eq!((e.node.as_str(), e.ops.len()), (t.as_str(), 3));
        let r = row(&s, &t)?;
        assert_eq!(
            (r.title.as_str(), r.priority, r.parent.as_deref()),
            ("Fix the tap", Some(3), Some(p.as_str()))
        );
        // A refused field refuses the whole update.
        let bad = Changes {
            fields: vec![("title".into(), json!("kept?")), ("deleted".into(), json!(true))],
            parent: None,
        };
        assert!(matches!(update(&mut s, &t, bad), Err(Error::ReadOnlyField(_))));
        assert_eq!(row(&s, &t)?.title, "Fix the tap");
        Ok(())
    }

    #[test]
    fn move_node_reparents_and_goes_back_to_the_top() -> Result<()> {
        let mut s = store()?;
        let a = project(&mut s, "A", "aaaa0001")?;
        let b = project(&mut s, "B", "bbbb0001")?;
        let t = task(&mut s, "T", Some(&a))?;
        let e = move_node(&mut s, &t, Some(&b))?;
        assert_eq!(e.ops.len(), 2, "remove the link to A, add one to B");
        assert_eq!(row(&s, &t)?.parent.as_deref(), Some(b.as_str()));
        move_node(&mut s, &b, Some(&a))?;
        assert_eq!(query::tree(s.conn())?[1].parent.as_deref(), Some(a.as_str()));
        move_node(&mut s, &t, None)?;
        assert_eq!(row(&s, &t)?.parent, None);
        assert!(move_node(&mut s, &t, None)?.ops.is_empty(), "already at the top");
        Ok(())
    }

    #[test]
    fn complete_reopen_delete_restore() -> Result<()> {
        let mut s = store()?;
        let t = task(&mut s, "Tap", None)?;
        complete(&mut s, &t)?;
        assert_eq!(row(&s, &t)?.status, "done");
        reopen(&mut s, &t)?;
        assert_eq!(row(&s, &t)?.status, "open");
        let e = delete(&mut s, &t)?;
        assert_eq!(
            (e.ops.len(), e.ops[0].kind.as_str()),
            (1, crate::kinds::NODE_DELETE)
        );
        assert!(query::all_tasks(s.conn())?.is_empty());
        restore(&mut s, &t)?;
        assert_eq!(row(&s, &t)?.title, "Tap");
        Ok(())
    }

    #[test]
    fn restore_identity_fills_only_an_empty_database() -> Result<()> {
        let device = "00000000000000aa";
        let pairing = Pairing {
            hub: "http://hub",
            space: "home",
            token: "secret",
        };
        let mut conn = Connection::open_in_memory()?;
        assert!(restore_identity(&mut conn, device, Some(pairing))?);
        assert!(!restore_identity(&mut conn, "not even parsed", None)?);
        let s = Store::open(conn, Arc::new(ManualEnv::new(0, 1)), Options::default())?;
        assert_eq!(s.device().to_string(), device);
        assert_eq!(s.kv_get(keys::HUB_URL)?.as_deref(), Some("http://hub"));
        assert_eq!(s.kv_get(keys::TOKEN)?.as_deref(), Some("secret"));
        let mut fresh = Connection::open_in_memory()?;
        assert!(matches!(
            restore_identity(&mut fresh, "nope", None),
            Err(Error::BadDeviceId(_))
        ));
        Ok(())
    }
}
