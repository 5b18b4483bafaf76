//! The read side: pure queries over the materialized tables. No ops of their own, no migrations.
//!
//! **Effective parent.** Each node's `parent` column holds the dst of its latest live `parent` link.
//! Before it is used, an edge is dropped when its target is missing or deleted (the child shows at the
//! top level, so nothing disappears with its parent), and every cycle (concurrent moves can make one) is
//! cut at the edge with the greatest tag, i.e. the most recent move that closed it. Effective parents form
//! a functional graph, each cycle is a fact of the state, and the cut edge is chosen by a total order, so
//! every replica computes the same tree without ever looping.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::id::OpId;

/// Task statuses that do not count as open.
pub const CLOSED: [&str; 2] = ["done", "cancelled"];

fn is_open(status: Option<&str>) -> bool {
    !status.is_some_and(|s| CLOSED.contains(&s))
}

/// A visible node's raw parent edge.
struct Edge {
    id: String,
    deleted: bool,
    parent: Option<String>,
    tag: Option<String>,
}

/// Effective parent of every visible node (see the module docs).
pub fn effective_parents(conn: &Connection) -> Result<HashMap<String, Option<String>>> {
    // Nodes by index (in id order); each edge as the index of its target, dropped when the target is
    // missing or deleted.
    let mut stmt = conn.prepare_cached(
        "SELECT id, deleted, parent, parent_tag FROM nodes WHERE type IS NOT NULL ORDER BY id",
    )?;
    let nodes: Vec<Edge> = stmt
        .query_map([], |r| {
            Ok(Edge {
                id: r.get(0)?,
                deleted: r.get(1)?,
                parent: r.get(2)?,
                tag: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let at: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut parent: Vec<Option<usize>> = nodes
        .iter()
        .map(|n| {
            n.parent
                .as_deref()
                .and_then(|p| at.get(p).copied())
                .filter(|&i| !nodes[i].deleted)
        })
        .collect();
    // Follow each chain once; a chain that comes back onto itself closes a cycle, cut at its edge with
    // the greatest tag. 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; nodes.len()];
    let mut path: Vec<usize> = Vec::new();
    for start in 0..nodes.len() {
        path.clear();
        let mut cur = Some(start);
        while let Some(i) = cur {
            match state[i] {
                2 => break,
                1 => {
                    let from = path.iter().position(|&p| p == i).unwrap_or(0);
                    if let Some(&cut) = path[from..]
                        .iter()
                        .max_by(|&&a, &&b| nodes[a].tag.cmp(&nodes[b].tag))
                    {
                        parent[cut] = None;
                    }
                    break;
                }
                _ => {
                    state[i] = 1;
                    path.push(i);
                    cur = parent[i];
                }
            }
        }
        for &i in &path {
            state[i] = 2;
        }
    }
    Ok(nodes
        .iter()
        .zip(parent)
        .map(|(n, p)| (n.id.clone(), p.map(|p| nodes[p].id.clone())))
        .collect())
}

/// One project in the sidebar, in pre-order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeEntry {
    /// Node id.
    pub id: String,
    /// Title (empty when unset).
    pub title: String,
    /// Nesting depth, 0 for top-level projects.
    pub depth: usize,
    /// Effective parent project.
    pub parent: Option<String>,
    /// Open tasks directly in this project.
    pub open: u64,
    /// Open tasks in this project and all its sub-projects.
    pub open_total: u64,
    /// Its place among its siblings when ordered by hand (an order key).
    pub rank: Option<String>,
}

/// The project tree with open-task counts (own, and own plus sub-projects), siblings in their manual
/// order (order keys; those without one after, by title).
pub fn tree(conn: &Connection) -> Result<Vec<TreeEntry>> {
    let eff = effective_parents(conn)?;
    // Open tasks per raw parent by GROUP BY, corrected for the few tasks whose effective parent differs.
    let mut own: HashMap<String, u64> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT parent, count(*) FROM nodes WHERE type = 'task' AND deleted = 0 AND parent IS NOT NULL \
         AND (status IS NULL OR status NOT IN ('done', 'cancelled')) GROUP BY parent",
    )?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (p, n) = row?;
        own.insert(p, n as u64);
    }
    let mut moved = conn.prepare_cached(
        "SELECT id, parent, status FROM nodes WHERE type = 'task' AND deleted = 0 AND parent IS NOT NULL",
    )?;
    for row in moved.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })? {
        let (id, raw, status) = row?;
        let effective = eff.get(&id).cloned().flatten();
        if effective.as_deref() != Some(raw.as_str()) && is_open(status.as_deref()) {
            if let Some(n) = own.get_mut(&raw) {
                *n -= 1;
            }
            if let Some(e) = effective {
                *own.entry(e).or_default() += 1;
            }
        }
    }
    let mut projects: Vec<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT id, coalesce(title, ''), (SELECT json_extract(f.value, '$') FROM fields f \
               WHERE f.node = nodes.id AND f.field = 'rank') FROM nodes WHERE type = 'project' AND deleted = 0",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    projects.sort_by(|a, b| {
        (a.2.is_none(), &a.2)
            .cmp(&(b.2.is_none(), &b.2))
            .then_with(|| a.1.to_lowercase().cmp(&b.1.to_lowercase()))
            .then_with(|| a.0.cmp(&b.0))
    });
    let is_project: HashMap<&str, &str> = projects
        .iter()
        .map(|(id, t, _)| (id.as_str(), t.as_str()))
        .collect();
    let ranks: HashMap<&str, &str> = projects
        .iter()
        .filter_map(|(id, _, r)| Some((id.as_str(), r.as_deref()?)))
        .collect();
    let parent_project = |id: &str| {
        eff.get(id)
            .cloned()
            .flatten()
            .filter(|p| is_project.contains_key(p.as_str()))
    };
    let mut children: BTreeMap<Option<String>, Vec<&str>> = BTreeMap::new();
    for (id, _, _) in &projects {
        children.entry(parent_project(id)).or_default().push(id);
    }
    let ctx = TreeCtx {
        children: &children,
        titles: &is_project,
        ranks: &ranks,
        own: &own,
    };
    let mut out = Vec::with_capacity(projects.len());
    for root in children.get(&None).into_iter().flatten() {
        ctx.walk(root, 0, None, &mut out);
    }
    Ok(out)
}

struct TreeCtx<'a> {
    children: &'a BTreeMap<Option<String>, Vec<&'a str>>,
    titles: &'a HashMap<&'a str, &'a str>,
    ranks: &'a HashMap<&'a str, &'a str>,
    own: &'a HashMap<String, u64>,
}

impl TreeCtx<'_> {
    /// Push `id` and its subtree in pre-order; returns the subtree's open-task total.
    fn walk(&self, id: &str, depth: usize, parent: Option<String>, out: &mut Vec<TreeEntry>) -> u64 {
        let at = out.len();
        let mine = self.own.get(id).copied().unwrap_or(0);
        let title = self.titles.get(id).copied().unwrap_or_default().to_owned();
        out.push(TreeEntry {
            id: id.to_owned(),
            title,
            depth,
            parent,
            open: mine,
            open_total: 0,
            rank: self.ranks.get(id).map(|r| (*r).to_owned()),
        });
        let mut total = mine;
        for c in self.children.get(&Some(id.to_owned())).into_iter().flatten() {
            total += self.walk(c, depth + 1, Some(id.to_owned()), out);
        }
        out[at].open_total = total;
        total
    }
}

/// A task as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRow {
    /// Node id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status (`open` when unset).
    pub status: String,
    /// Due date `YYYY-MM-DD`.
    pub due: Option<String>,
    /// Priority, 1 highest.
    pub priority: Option<i64>,
    /// Effective parent.
    pub parent: Option<String>,
    /// Notes (free text), when set.
    pub notes: Option<String>,
    /// Its place in a manually ordered list (an order key; none: after the ordered ones).
    pub rank: Option<String>,
    /// The names of its labels, sorted.
    pub labels: Vec<String>,
    /// How many comments it has.
    pub comments: u32,
}

/// A node's priority rank (1 most urgent) as a SQL expression over `nodes`: its `level` (the named
/// levels, `op::LEVELS`) when it has one, else its numeric `priority`.
macro_rules! priority_rank {
    () => {
        "coalesce((SELECT CASE json_extract(f.value, '$') WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 \
         WHEN 'normal' THEN 3 WHEN 'low' THEN 4 END FROM fields f WHERE f.node = nodes.id AND f.field = 'level'), \
         priority)"
    };
}

/// Notes live in the generic `fields` table (no typed column): read the JSON string, ignore other types.
const TASK_COLUMNS: &str = concat!(
    "id, coalesce(title, ''), coalesce(status, 'open'), due, ",
    priority_rank!(),
    " AS prio, \
     (SELECT CASE WHEN json_type(f.value) = 'text' THEN json_extract(f.value, '$') END \
      FROM fields f WHERE f.node = nodes.id AND f.field = 'notes'), \
     (SELECT json_extract(f.value, '$') FROM fields f WHERE f.node = nodes.id AND f.field = 'rank') AS rank"
);
/// Open before done; the manual order (order keys sort as text; tasks without one after those with
/// one), then due date, priority and title.
const TASK_ORDER: &str = "CASE WHEN status IN ('done', 'cancelled') THEN 1 ELSE 0 END, rank IS NULL, rank, \
                          due IS NULL, due, prio IS NULL, prio, lower(title), id";

/// A [`TaskRow`] from the first columns of a row selected with [`TASK_COLUMNS`] (no parent yet).
fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        id: r.get(0)?,
        title: r.get(1)?,
        status: r.get(2)?,
        due: r.get(3)?,
        priority: r.get(4)?,
        parent: None,
        notes: r.get(5)?,
        rank: r.get(6)?,
        labels: Vec::new(),
        comments: 0,
    })
}

/// The task rows `sql` selects (with [`TASK_COLUMNS`]), with their effective parents, labels and
/// comment counts. `only`: the ids it selects from (a JSON array, which `sql` takes as `?1`), so that
/// only their labels and comments are read; `None`: any task (and `sql` takes no parameter).
fn task_rows(
    conn: &Connection,
    sql: &str,
    only: Option<&str>,
    eff: &HashMap<String, Option<String>>,
) -> Result<Vec<TaskRow>> {
    let mut labels = labels_by_node(conn, only)?;
    let comments = comment_counts(conn, only)?;
    let mut stmt = conn.prepare_cached(sql)?;
    let rows: Vec<TaskRow> = match only {
        Some(ids) => stmt
            .query_map([ids], task_row)?
            .collect::<rusqlite::Result<_>>()?,
        None => stmt.query_map([], task_row)?.collect::<rusqlite::Result<_>>()?,
    };
    Ok(rows
        .into_iter()
        .map(|mut t| {
            t.parent = eff.get(&t.id).cloned().flatten();
            t.labels = labels.remove(&t.id).unwrap_or_default();
            t.comments = comments.get(&t.id).copied().unwrap_or(0);
            t
        })
        .collect())
}

/// The live labels (names, sorted, each once) of every node, or of the nodes in `only` (a JSON array).
fn labels_by_node(conn: &Connection, only: Option<&str>) -> Result<HashMap<String, Vec<String>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT l.src, n.title FROM links l JOIN nodes n ON n.id = l.dst \
         WHERE l.type = 'label' AND l.removed = 0 AND n.type = 'label' AND n.deleted = 0 AND n.title IS NOT NULL \
         AND (?1 IS NULL OR l.src IN (SELECT value FROM json_each(?1))) \
         ORDER BY l.src, lower(n.title), n.title",
    )?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for row in stmt.query_map([only], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (node, name) = row?;
        out.entry(node).or_default().push(name);
    }
    Ok(out)
}

/// How many comments each node has, or each node in `only` (a JSON array).
fn comment_counts(conn: &Connection, only: Option<&str>) -> Result<HashMap<String, u32>> {
    let mut stmt = conn.prepare_cached(
        "SELECT node, count(*) FROM comments \
         WHERE ?1 IS NULL OR node IN (SELECT value FROM json_each(?1)) GROUP BY node",
    )?;
    let rows = stmt.query_map([only], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A label as the label list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelRow {
    /// The label node's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Open tasks carrying it.
    pub open: u32,
}

/// Every live label, by name, with its count of open tasks.
pub fn labels(conn: &Connection) -> Result<Vec<LabelRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT n.id, n.title, (SELECT count(DISTINCT l.src) FROM links l JOIN nodes t ON t.id = l.src \
            WHERE l.dst = n.id AND l.type = 'label' AND l.removed = 0 AND t.type = 'task' AND t.deleted = 0 \
            AND coalesce(t.status, 'open') NOT IN ('done', 'cancelled')) \
         FROM nodes n WHERE n.type = 'label' AND n.deleted = 0 AND n.title IS NOT NULL \
         ORDER BY lower(n.title), n.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(LabelRow {
            id: r.get(0)?,
            name: r.get(1)?,
            open: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Live tasks carrying the label `name` (ASCII case-insensitive), in list order.
pub fn tasks_labelled(conn: &Connection, name: &str) -> Result<Vec<TaskRow>> {
    let wanted = name.to_lowercase();
    Ok(all_tasks(conn)?
        .into_iter()
        .filter(|t| t.labels.iter().any(|l| l.to_lowercase() == wanted))
        .collect())
}

/// A comment on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommentRow {
    /// The comment's id (the id of the op that added it).
    pub id: String,
    /// The node commented on.
    pub node: String,
    /// Its text.
    pub text: String,
    /// When it was written (ms since the Unix epoch, the writer's clock).
    pub at_ms: u64,
    /// The device that wrote it.
    pub device: String,
}

/// The comments on `node`, oldest first.
pub fn comments(conn: &Connection, node: &str) -> Result<Vec<CommentRow>> {
    let mut stmt = conn.prepare_cached("SELECT id, node, text FROM comments WHERE node = ?1 ORDER BY id")?;
    let rows = stmt.query_map([node], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (id, node, text) = row?;
        let op: OpId = id.parse()?;
        Ok(CommentRow {
            at_ms: op.ts.ms,
            device: op.device.to_string(),
            id,
            node,
            text,
        })
    })
    .collect()
}

/// Every live task, open first, then by due date, priority and title, with its effective parent.
pub fn all_tasks(conn: &Connection) -> Result<Vec<TaskRow>> {
    let eff = effective_parents(conn)?;
    let sql =
        format!("SELECT {TASK_COLUMNS} FROM nodes WHERE type = 'task' AND deleted = 0 ORDER BY {TASK_ORDER}");
    task_rows(conn, &sql, None, &eff)
}

/// Tasks whose effective parent is `project`; with `None`, the Inbox (tasks with no project).
/// Open first, then by due date, priority and title.
pub fn tasks(conn: &Connection, project: Option<&str>) -> Result<Vec<TaskRow>> {
    let eff = effective_parents(conn)?;
    let holders = match project {
        None => holders(conn)?,
        Some(_) => HashSet::new(),
    };
    // Only the rows of the list are built (with their fields, labels and comment counts), not every
    // task of the space.
    let listed: Vec<&str> = eff
        .iter()
        .filter(|(_, parent)| lists(project, parent.as_deref(), &holders))
        .map(|(id, _)| id.as_str())
        .collect();
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM nodes WHERE id IN (SELECT value FROM json_each(?1)) \
         AND type = 'task' AND deleted = 0 ORDER BY {TASK_ORDER}"
    );
    task_rows(conn, &sql, Some(&serde_json::to_string(&listed)?), &eff)
}

/// The live projects and tasks: the parents that keep a task out of the Inbox.
fn holders(conn: &Connection) -> Result<HashSet<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM nodes WHERE type IN ('project', 'task') AND deleted = 0")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether a task with effective parent `parent` is in the list of `project` (the Inbox with `None`:
/// no parent, or one that is neither a project nor a task, such as a note).
fn lists(project: Option<&str>, parent: Option<&str>, holders: &HashSet<String>) -> bool {
    match (project, parent) {
        (Some(p), Some(q)) => p == q,
        (None, None) => true,
        (None, Some(q)) => !holders.contains(q),
        (Some(_), None) => false,
    }
}

/// An agenda entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgendaRow {
    /// The task.
    #[serde(flatten)]
    pub task: TaskRow,
    /// Due before `today`.
    pub overdue: bool,
}

/// Open tasks with a due date, overdue first, then by date, priority and title.
pub fn agenda(conn: &Connection, today: &str) -> Result<Vec<AgendaRow>> {
    let eff = effective_parents(conn)?;
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM nodes WHERE type = 'task' AND deleted = 0 AND due IS NOT NULL \
         AND (status IS NULL OR status NOT IN ('done', 'cancelled')) \
         ORDER BY due, prio IS NULL, prio, lower(title), id"
    );
    Ok(task_rows(conn, &sql, None, &eff)?
        .into_iter()
        .map(|task| AgendaRow {
            overdue: task.due.as_deref().is_some_and(|d| d < today),
            task,
        })
        .collect())
}

/// The sidebar's counts of open tasks: the Inbox, Today (overdue or due by `today`) and Upcoming (due
/// after it). The same rules as [`tasks`] with no project and [`agenda`], without sending the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Open tasks in the Inbox.
    pub inbox: u64,
    /// Open tasks overdue or due on `today` or before.
    pub today: u64,
    /// Open tasks due after `today`.
    pub upcoming: u64,
}

/// [`Counts`] for the day `today` (`YYYY-MM-DD`). Counted without building the rows: the sidebar asks
/// after every change.
pub fn counts(conn: &Connection, today: &str) -> Result<Counts> {
    let eff = effective_parents(conn)?;
    // The Inbox: the open tasks of [`tasks`] with no project.
    let holders = holders(conn)?;
    let mut stmt = conn.prepare_cached("SELECT id, status FROM nodes WHERE type = 'task' AND deleted = 0")?;
    let mut inbox = 0;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })? {
        let (id, status) = row?;
        let parent = eff.get(&id).and_then(Option::as_deref);
        if is_open(status.as_deref()) && lists(None, parent, &holders) {
            inbox += 1;
        }
    }
    // The agenda's open dated tasks, split at the end of `today`.
    let (due_now, later) = conn
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE due <= ?1), count(*) FILTER (WHERE due > ?1) FROM nodes \
             WHERE type = 'task' AND deleted = 0 AND due IS NOT NULL \
             AND (status IS NULL OR status NOT IN ('done', 'cancelled'))",
        )?
        .query_row([today], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    Ok(Counts {
        inbox,
        today: due_now as u64,
        upcoming: later as u64,
    })
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// Node id.
    pub id: String,
    /// `project`, `task`, `note`, …
    #[serde(rename = "type")]
    pub ty: String,
    /// Title.
    pub title: String,
    /// Effective parent (the project a task or sub-project sits in).
    pub parent: Option<String>,
    /// A task's status (`open` when unset); none for other nodes.
    pub status: Option<String>,
    /// A task's due date.
    pub due: Option<String>,
    /// A task's priority.
    pub priority: Option<i64>,
    /// The text was found in the notes, not in the title.
    pub in_notes: bool,
}

/// A deleted node, as "Recently deleted" lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deleted {
    /// Node id.
    pub id: String,
    /// `project`, `task`, `note`, …
    #[serde(rename = "type")]
    pub ty: String,
    /// Title.
    pub title: String,
    /// When it was deleted (ms since the Unix epoch, by the deleting device's clock).
    pub deleted_ms: u64,
}

/// Deleted nodes, most recently deleted first: what `restore` can bring back (deletes are tombstones,
/// so nothing is lost until then).
pub fn deleted(conn: &Connection) -> Result<Vec<Deleted>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, type, coalesce(title, ''), deleted_op FROM nodes \
         WHERE type IS NOT NULL AND deleted = 1 ORDER BY deleted_op DESC, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (id, ty, title, op) = row?;
        let deleted_ms = op
            .map(|o| o.parse::<crate::OpId>())
            .transpose()?
            .map_or(0, |o| o.ts.ms);
        Ok(Deleted {
            id,
            ty,
            title,
            deleted_ms,
        })
    })
    .collect()
}

/// Live nodes whose title or notes contain `text`, case-insensitively (Unicode-aware), by title; a hit
/// found only in the notes says so (`in_notes`).
pub fn search(conn: &Connection, text: &str) -> Result<Vec<Hit>> {
    let needle = text.to_lowercase();
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT id, type, title, CASE WHEN type = 'task' THEN coalesce(status, 'open') END, due, ",
        priority_rank!(),
        ", \
         (SELECT CASE WHEN json_type(f.value) = 'text' THEN json_extract(f.value, '$') END \
          FROM fields f WHERE f.node = nodes.id AND f.field = 'notes') \
         FROM nodes WHERE type IN ('project', 'task', 'note') AND deleted = 0 AND title IS NOT NULL \
         ORDER BY lower(title), id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            Hit {
                id: r.get(0)?,
                ty: r.get(1)?,
                title: r.get(2)?,
                parent: None,
                status: r.get(3)?,
                due: r.get(4)?,
                priority: r.get(5)?,
                in_notes: false,
            },
            r.get::<_, Option<String>>(6)?,
        ))
    })?;
    let mut hits = Vec::new();
    let mut eff = None;
    for row in rows {
        let (mut h, notes) = row?;
        let in_title = h.title.to_lowercase().contains(&needle);
        h.in_notes = !in_title && notes.is_some_and(|n| n.to_lowercase().contains(&needle));
        if in_title || h.in_notes {
            if eff.is_none() {
                eff = Some(effective_parents(conn)?);
            }
            h.parent = eff.as_ref().and_then(|e| e.get(&h.id).cloned().flatten());
            hits.push(h);
        }
    }
    Ok(hits)
}

/// A finished task, as the logbook lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finished {
    /// The task.
    #[serde(flatten)]
    pub task: TaskRow,
    /// When it was marked done or cancelled (ms since the Unix epoch, by the marking device's clock).
    pub done_ms: u64,
}

/// Done and cancelled tasks, most recently finished first: the logbook.
pub fn logbook(conn: &Connection) -> Result<Vec<Finished>> {
    let eff = effective_parents(conn)?;
    let sql = format!(
        "SELECT {TASK_COLUMNS}, status_op FROM nodes WHERE type = 'task' AND deleted = 0 \
         AND status IN ('done', 'cancelled') ORDER BY status_op DESC, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| Ok((task_row(r)?, r.get::<_, Option<String>>(7)?)))?;
    rows.map(|row| {
        let (mut task, op) = row?;
        task.parent = eff.get(&task.id).cloned().flatten();
        let done_ms = op
            .map(|o| o.parse::<crate::OpId>())
            .transpose()?
            .map_or(0, |o| o.ts.ms);
        Ok(Finished { task, done_ms })
    })
    .collect()
}

/// Resolving a key to a node, and a node's parent tags (what a move removes), live with the edits.
pub use crate::edit::{parent_tags, resolve};

/// Rebuild every object with its keys in sorted order, whatever map type serde_json was built with.
fn canonical(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<String, Value> = m.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        other => other,
    }
}

#[derive(Serialize)]
struct ExportNode {
    id: String,
    #[serde(rename = "type")]
    ty: String,
    deleted: bool,
    parent: Option<String>,
    fields: BTreeMap<String, Value>,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct ExportLink {
    src: String,
    dst: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Serialize)]
struct Export {
    nodes: Vec<ExportNode>,
    links: Vec<ExportLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    comments: Vec<ExportComment>,
}

#[derive(Serialize)]
struct ExportComment {
    id: String,
    node: String,
    text: String,
}

/// The canonical dump of the materialized state (JSON, keys sorted at every level, two-space indent): every created node (by id) with its type, tombstone,
/// effective parent and fields (sorted), every live link (deduplicated, sorted), and every comment (by
/// id; the key is absent when there is none). Pretty JSON ending in a newline. Two replicas holding the
/// same ops print the same bytes, whatever order they got them in.
pub fn export(conn: &Connection) -> Result<String> {
    export_with(conn, true)
}

/// The export without comments: what every release since the first materializes, so a snapshot's
/// digest ([`crate::snapshot::digest`]) checks on a build that stores comments without applying them.
pub fn export_base(conn: &Connection) -> Result<String> {
    export_with(conn, false)
}

fn export_with(conn: &Connection, with_comments: bool) -> Result<String> {
    let eff = effective_parents(conn)?;
    let mut generic: HashMap<String, BTreeMap<String, Value>> = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT node, field, value FROM fields")?;
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        let (node, field, value) = row?;
        generic
            .entry(node)
            .or_default()
            .insert(field, canonical(serde_json::from_str(&value)?));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, type, deleted, title, title_op, status, status_op, due, due_op, priority, priority_op \
         FROM nodes WHERE type IS NOT NULL ORDER BY id",
    )?;
    let mut nodes = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let mut fields = generic.remove(&id).unwrap_or_default();
        for (i, name) in [(3, "title"), (5, "status"), (7, "due")] {
            if r.get::<_, Option<String>>(i + 1)?.is_some() {
                fields.insert(
                    name.to_owned(),
                    r.get::<_, Option<String>>(i)?.map_or(Value::Null, Value::String),
                );
            }
        }
        if r.get::<_, Option<String>>(10)?.is_some() {
            fields.insert(
                "priority".to_owned(),
                r.get::<_, Option<i64>>(9)?.map_or(Value::Null, Value::from),
            );
        }
        let parent = eff.get(&id).cloned().flatten();
        nodes.push(ExportNode {
            ty: r.get(1)?,
            deleted: r.get(2)?,
            parent,
            fields,
            id,
        });
    }
    let mut stmt = conn.prepare_cached("SELECT DISTINCT src, dst, type FROM links WHERE removed = 0")?;
    let mut links: Vec<ExportLink> = stmt
        .query_map([], |r| {
            Ok(ExportLink {
                src: r.get(0)?,
                dst: r.get(1)?,
                ty: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    links.sort();
    let comments = if with_comments {
        conn.prepare_cached("SELECT id, node, text FROM comments ORDER BY id")?
            .query_map([], |r| {
                Ok(ExportComment {
                    id: r.get(0)?,
                    node: r.get(1)?,
                    text: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?
    } else {
        Vec::new()
    };
    let export = Export {
        nodes,
        links,
        comments,
    };
    let mut out = serde_json::to_string_pretty(&canonical(serde_json::to_value(export)?))?;
    out.push('\n');
    Ok(out)
}

/// An op of the local log, as `hearth log` lists it: `seq` is `None` until the hub confirms it, `applied`
/// is false for an op stored but not understood, `payload` is the stored JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedOp {
    pub id: String,
    pub kind: String,
    pub v: u32,
    pub seq: Option<u64>,
    pub applied: bool,
    pub payload: String,
}

/// The `limit` newest ops of the local log, newest first.
pub fn recent_ops(conn: &Connection, limit: usize) -> Result<Vec<LoggedOp>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, kind, v, seq, applied, payload FROM ops ORDER BY id DESC LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(LoggedOp {
            id: r.get(0)?,
            kind: r.get(1)?,
            v: r.get(2)?,
            seq: r.get::<_, Option<i64>>(3)?.map(|s| s as u64),
            applied: r.get(4)?,
            payload: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
