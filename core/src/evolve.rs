//! Whole-space migrations (epochs) and their lenses.
//!
//! A change of meaning of existing data (priority numbers becoming named levels, say) cannot roll out
//! op by op: devices on different releases would write both forms for months. Instead the hub runs a
//! **migration** on the whole space once (`hearth migrate`): it rewrites the state with the new code,
//! archives the old log, starts a new **epoch** and raises the space's minimum write version. A device
//! that comes back from the old epoch rebuilds from the new epoch's snapshot and passes each of its
//! unsent ops through the migration's **lens**: a pure function from an op of the old epoch to the op
//! of the new one, or to "cannot translate, because …" (those ops go to the device's quarantine, kept
//! and visible, never dropped silently). A device two epochs behind goes through both lenses in turn.
//!
//! Every migration is declared once, in [`MIGRATIONS`], with its state rewrite and its lens; the
//! property tests check that translating an old history and applying it gives the state that migrating
//! the old history's state gives.
//!
//! ```
//! use hearth_core::evolve::{self, Lensed};
//! use serde_json::json;
//!
//! let m = evolve::find("priority-levels").unwrap();
//! let out = (m.lens)("task.set", 1, &json!({"node": "t1", "field": "priority", "value": 2}));
//! assert_eq!(out, Lensed::Into { kind: "node.set".into(), v: 1,
//!     payload: json!({"node": "t1", "field": "level", "value": "high"}) });
//! let out = (m.lens)("task.set", 1, &json!({"node": "t1", "field": "priority", "value": 9}));
//! assert!(matches!(out, Lensed::Untranslatable(_)));
//! ```

use rusqlite::{Transaction, params};
use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::op::kinds;

/// How the reason of an op a lens could not carry over begins (the migration and the lens's words
/// follow).
pub const UNTRANSLATABLE: &str = "the space's data changed";

/// What a lens makes of one op of the old epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum Lensed {
    /// The op means the same in the new epoch.
    Same,
    /// The op of the new epoch that means what it meant (same id).
    Into {
        /// Its kind.
        kind: String,
        /// Its payload version.
        v: u32,
        /// Its payload.
        payload: Value,
    },
    /// It has no meaning in the new epoch: why, in words for the person who made it.
    Untranslatable(String),
}

/// A lens: `(kind, v, payload)` of an op of the old epoch to what it is in the new one.
pub type Lens = fn(&str, u32, &Value) -> Lensed;

/// A state rewrite, inside the caller's transaction on a store (or hub log): returns how many values
/// it changed and how many it had to clear (values the new epoch cannot hold).
pub type Rewrite = fn(&Transaction<'_>) -> Result<(u64, u64)>;

/// A whole-space migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its name, as `hearth migrate` takes it.
    pub name: &'static str,
    /// What it does, in a sentence.
    pub summary: &'static str,
    /// The store schema version of the first build that knows it: the space's new minimum write
    /// version once it has run.
    pub schema_version: i64,
    /// The state rewrite.
    pub rewrite: Rewrite,
    /// The lens for ops of the epoch before it.
    pub lens: Lens,
}

/// Every migration this build can run or translate through, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "priority-levels",
        summary: "priorities become named levels: 1–4 become urgent, high, normal, low (field `level`); \
                  a priority outside 1–4 cannot be carried over",
        schema_version: 5,
        rewrite: priority_levels_rewrite,
        lens: priority_levels_lens,
    },
    Migration {
        name: "tidy-titles",
        summary: "titles lose white space at either end and runs of spaces inside; a title of only \
                  white space cannot be carried over",
        schema_version: 5,
        rewrite: tidy_titles_rewrite,
        lens: tidy_titles_lens,
    },
];

/// The migration called `name`.
pub fn find(name: &str) -> Option<&'static Migration> {
    MIGRATIONS.iter().find(|m| m.name == name)
}

pub use crate::op::{LEVELS, rank_of};

/// The level of an old priority number.
pub fn level_of(priority: i64) -> Option<&'static str> {
    usize::try_from(priority)
        .ok()
        .and_then(|p| p.checked_sub(1))
        .and_then(|i| LEVELS.get(i).copied())
}

/// What a lens makes of a set of `field` to `value`: the new field and value, or why not.
type FieldLens = fn(&str, &Value) -> std::result::Result<Option<(&'static str, Value)>, String>;

/// Run a field-level lens over an op: a set of one field (`node.set`, `task.set`) or the initial
/// fields of a `node.create`. Other kinds mean the same in the new epoch.
fn lens_fields(kind: &str, v: u32, payload: &Value, f: FieldLens) -> Lensed {
    if v != 1 {
        return Lensed::Same;
    }
    match kind {
        kinds::NODE_SET | kinds::TASK_SET => {
            let (Some(field), Some(value)) =
                (payload.get("field").and_then(Value::as_str), payload.get("value"))
            else {
                return Lensed::Same;
            };
            match f(field, value) {
                Ok(None) => Lensed::Same,
                Ok(Some((new_field, new_value))) => {
                    let mut p = payload.as_object().cloned().unwrap_or_default();
                    p.insert("field".into(), json!(new_field));
                    p.insert("value".into(), new_value);
                    // A set of a task field that is a generic field in the new epoch is a node.set.
                    let kind = if matches!(new_field, "status" | "due" | "priority") {
                        kind.to_owned()
                    } else {
                        kinds::NODE_SET.to_owned()
                    };
                    Lensed::Into {
                        kind,
                        v,
                        payload: Value::Object(p),
                    }
                }
                Err(why) => Lensed::Untranslatable(why),
            }
        }
        kinds::NODE_CREATE => {
            let Some(fields) = payload.get("fields").and_then(Value::as_object) else {
                return Lensed::Same;
            };
            let mut out = Map::new();
            let mut changed = false;
            for (field, value) in fields {
                match f(field, value) {
                    Ok(None) => {
                        out.insert(field.clone(), value.clone());
                    }
                    Ok(Some((new_field, new_value))) => {
                        changed = true;
                        out.insert(new_field.to_owned(), new_value);
                    }
                    Err(why) => return Lensed::Untranslatable(why),
                }
            }
            if !changed {
                return Lensed::Same;
            }
            let mut p = payload.as_object().cloned().unwrap_or_default();
            p.insert("fields".into(), Value::Object(out));
            Lensed::Into {
                kind: kind.to_owned(),
                v,
                payload: Value::Object(p),
            }
        }
        _ => Lensed::Same,
    }
}

fn priority_field(field: &str, value: &Value) -> std::result::Result<Option<(&'static str, Value)>, String> {
    if field != "priority" {
        return Ok(None);
    }
    match value {
        Value::Null => Ok(Some(("level", Value::Null))),
        v => match v.as_i64().and_then(level_of) {
            Some(level) => Ok(Some(("level", json!(level)))),
            None => Err(format!(
                "priority {v} is outside 1–4, so it has no named level (urgent, high, normal, low)"
            )),
        },
    }
}

fn priority_levels_lens(kind: &str, v: u32, payload: &Value) -> Lensed {
    lens_fields(kind, v, payload, priority_field)
}

/// Every `priority` winner becomes a `level` winner with the same stamp; heads and seen sets of the
/// field follow. A priority outside 1–4 is cleared.
fn priority_levels_rewrite(tx: &Transaction<'_>) -> Result<(u64, u64)> {
    let rows: Vec<(String, Option<i64>, String)> = tx
        .prepare("SELECT id, priority, priority_op FROM nodes WHERE priority_op IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let (mut changed, mut cleared) = (0, 0);
    for (node, priority, op) in rows {
        let level = priority.and_then(level_of);
        if priority.is_some() && level.is_none() {
            cleared += 1;
        } else {
            changed += 1;
        }
        tx.execute(
            "INSERT INTO fields (node, field, value, op) VALUES (?1, 'level', ?2, ?3) \
             ON CONFLICT (node, field) DO UPDATE SET value = excluded.value, op = excluded.op \
             WHERE excluded.op > fields.op",
            params![
                node,
                serde_json::to_string(&level.map_or(Value::Null, |l| json!(l)))?,
                op
            ],
        )?;
    }
    tx.execute(
        "UPDATE nodes SET priority = NULL, priority_op = NULL WHERE priority_op IS NOT NULL",
        [],
    )?;
    rewrite_heads(tx, "priority", "level", |v| match v {
        Value::Null => Some(Value::Null),
        v => v.as_i64().and_then(level_of).map(|l| json!(l)),
    })?;
    Ok((changed, cleared))
}

/// Heads of `from` become heads of `to` with their values mapped (a value with no mapping is no longer
/// a head); seen sets of `from` become seen sets of `to`.
fn rewrite_heads(
    tx: &Transaction<'_>,
    from: &str,
    to: &str,
    map: impl Fn(&Value) -> Option<Value>,
) -> Result<()> {
    let heads: Vec<(String, String, String)> = tx
        .prepare("SELECT node, op, value FROM heads WHERE field = ?1")?
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (node, op, value) in heads {
        let value: Value = serde_json::from_str(&value)?;
        tx.execute(
            "DELETE FROM heads WHERE node = ?1 AND field = ?2 AND op = ?3",
            params![node, from, op],
        )?;
        if let Some(v) = map(&value) {
            tx.execute(
                "INSERT OR REPLACE INTO heads (node, field, op, value) VALUES (?1, ?2, ?3, ?4)",
                params![node, to, op, serde_json::to_string(&v)?],
            )?;
        }
    }
    if from != to {
        tx.execute(
            "INSERT OR IGNORE INTO superseded (node, field, op, arrived) \
             SELECT node, ?2, op, arrived FROM superseded WHERE field = ?1",
            params![from, to],
        )?;
        tx.execute("DELETE FROM superseded WHERE field = ?1", [from])?;
    }
    Ok(())
}

/// A title without white space at either end and with runs of white space inside made one space.
pub fn tidy_title(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn title_field(field: &str, value: &Value) -> std::result::Result<Option<(&'static str, Value)>, String> {
    if field != "title" {
        return Ok(None);
    }
    match value.as_str() {
        None => Ok(None),
        Some(t) => {
            let tidy = tidy_title(t);
            if tidy.is_empty() {
                Err("a title of only white space has nothing left once tidied".into())
            } else if tidy == t {
                Ok(None)
            } else {
                Ok(Some(("title", json!(tidy))))
            }
        }
    }
}

fn tidy_titles_lens(kind: &str, v: u32, payload: &Value) -> Lensed {
    lens_fields(kind, v, payload, title_field)
}

fn tidy_titles_rewrite(tx: &Transaction<'_>) -> Result<(u64, u64)> {
    let rows: Vec<(String, String)> = tx
        .prepare("SELECT id, title FROM nodes WHERE title IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let (mut changed, mut cleared) = (0, 0);
    for (node, title) in rows {
        let tidy = tidy_title(&title);
        if tidy == title {
            continue;
        }
        if tidy.is_empty() {
            cleared += 1;
            tx.execute("UPDATE nodes SET title = NULL WHERE id = ?1", [&node])?;
        } else {
            changed += 1;
            tx.execute("UPDATE nodes SET title = ?2 WHERE id = ?1", params![node, tidy])?;
        }
    }
    rewrite_heads(tx, "title", "title", |v| match v.as_str() {
        Some(t) => Some(json!(tidy_title(t))).filter(|t| t != &json!("")),
        None => Some(v.clone()),
    })?;
    Ok((changed, cleared))
}

/// Pass `(kind, v, payload)` through `chain` in turn: the op it is at the end, or the first migration
/// that cannot translate it and why.
pub fn translate(
    chain: &[&Migration],
    kind: &str,
    v: u32,
    payload: &Value,
) -> std::result::Result<(String, u32, Value), (&'static str, String)> {
    let (mut kind, mut v, mut payload) = (kind.to_owned(), v, payload.clone());
    for m in chain {
        match (m.lens)(&kind, v, &payload) {
            Lensed::Same => {}
            Lensed::Into {
                kind: k,
                v: nv,
                payload: p,
            } => {
                (kind, v, payload) = (k, nv, p);
            }
            Lensed::Untranslatable(why) => return Err((m.name, why)),
        }
    }
    Ok((kind, v, payload))
}

/// The migrations named `names`, in order; `Err` names the first one this build does not know.
pub fn chain(names: &[String]) -> std::result::Result<Vec<&'static Migration>, String> {
    names.iter().map(|n| find(n).ok_or_else(|| n.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_ranks() {
        assert_eq!(
            (level_of(1), level_of(4), level_of(0), level_of(5)),
            (Some("urgent"), Some("low"), None, None)
        );
        assert_eq!(rank_of("normal"), Some(3));
    }

    #[test]
    fn a_create_with_a_priority_is_translated_and_a_bad_title_is_not() {
        let m = find("priority-levels").expect("known");
        let out = (m.lens)(
            "node.create",
            1,
            &json!({"node": "t", "type": "task", "fields": {"title": "x", "priority": 1}}),
        );
        assert_eq!(
            out,
            Lensed::Into {
                kind: "node.create".into(),
                v: 1,
                payload: json!({"node": "t", "type": "task", "fields": {"title": "x", "level": "urgent"}}),
            }
        );
        let t = find("tidy-titles").expect("known");
        assert_eq!(
            (t.lens)(
                "node.set",
                1,
                &json!({"node": "t", "field": "title", "value": "  a   b "})
            ),
            Lensed::Into {
                kind: "node.set".into(),
                v: 1,
                payload: json!({"node": "t", "field": "title", "value": "a b"})
            }
        );
        assert!(matches!(
            (t.lens)(
                "node.set",
                1,
                &json!({"node": "t", "field": "title", "value": "   "})
            ),
            Lensed::Untranslatable(_)
        ));
        assert_eq!((t.lens)("link.add", 1, &json!({"src": "a"})), Lensed::Same);
        // Through both, in turn.
        let both = chain(&["priority-levels".into(), "tidy-titles".into()]).expect("known");
        assert_eq!(
            translate(
                &both,
                "node.create",
                1,
                &json!({"node": "t", "type": "task",
                "fields": {"title": " Fix  it ", "priority": 4}})
            ),
            Ok((
                "node.create".into(),
                1,
                json!({"node": "t", "type": "task",
                "fields": {"title": "Fix it", "level": "low"}})
            ))
        );
        assert_eq!(
            translate(
                &both,
                "task.set",
                1,
                &json!({"node": "t", "field": "priority", "value": 0})
            )
            .map_err(|e| e.0),
            Err("priority-levels")
        );
        assert_eq!(chain(&["nope".into()]).expect_err("unknown"), "nope");
    }
}
