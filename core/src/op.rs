//! Ops: the only thing that crosses the wire, and their validation.
//!
//! ```
//! use hearth_core::{Op, OpId};
//! let op: Op = serde_json::from_str(
//!     r#"{"id":"0193a1b2c3d4-0000-7f3a9c2e11aa0b3c","kind":"node.set","v":1,
//!         "payload":{"node":"n1","field":"title","value":"Buy milk"}}"#,
//! ).unwrap();
//! assert_eq!(op.id.to_string(), "0193a1b2c3d4-0000-7f3a9c2e11aa0b3c");
//! assert!(op.id < "0193a1b2c3d5-0000-0000000000000000".parse::<OpId>().unwrap());
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
pub use crate::id::OpId;

fn one() -> u32 {
    1
}

/// An op as it travels: id, kind, payload data version and JSON payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Timestamp and origin device; also the LWW stamp and, for `link.add`, the OR-set tag.
    pub id: OpId,
    /// `node.create`, `node.set`, … or a kind this build does not know.
    pub kind: String,
    /// The payload's data version for this kind (1 when absent).
    #[serde(default = "one")]
    pub v: u32,
    /// Kind-specific fields; unknown fields are ignored.
    pub payload: Value,
}

/// An op with the seq the hub assigned it. On the wire the op's fields sit beside `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "FlatSeqOp")]
pub struct SeqOp {
    /// Position in the space's log, strictly increasing in commit order.
    pub seq: u64,
    /// The op itself (flattened on the wire).
    #[serde(flatten)]
    pub op: Op,
}

/// `SeqOp` as it is read: a plain struct, because serde's `flatten` buffers every field through a generic
/// intermediate form, which made pulling a page several times slower.
#[derive(Deserialize)]
struct FlatSeqOp {
    seq: u64,
    id: OpId,
    kind: String,
    #[serde(default = "one")]
    v: u32,
    payload: Value,
}

impl From<FlatSeqOp> for SeqOp {
    fn from(f: FlatSeqOp) -> Self {
        SeqOp {
            seq: f.seq,
            op: Op {
                id: f.id,
                kind: f.kind,
                v: f.v,
                payload: f.payload,
            },
        }
    }
}

/// Op kinds and the highest payload version of each that this build applies.
pub mod kinds {
    /// Create a node.
    pub const NODE_CREATE: &str = "node.create";
    /// Set a field of a node (LWW).
    pub const NODE_SET: &str = "node.set";
    /// Set a task field (LWW).
    pub const TASK_SET: &str = "task.set";
    /// Tombstone a node.
    pub const NODE_DELETE: &str = "node.delete";
    /// Add a link (OR-set).
    pub const LINK_ADD: &str = "link.add";
    /// Remove observed link tags.
    pub const LINK_REMOVE: &str = "link.remove";
    /// Add a comment to a node (a grow-only set; the op id is the comment's id).
    pub const COMMENT_ADD: &str = "comment.add";
    /// Built-in kinds with their supported `v`.
    pub const BUILTIN: [(&str, u32); 7] = [
        (NODE_CREATE, 1),
        (NODE_SET, 1),
        (TASK_SET, 1),
        (NODE_DELETE, 1),
        (LINK_ADD, 1),
        (LINK_REMOVE, 1),
        (COMMENT_ADD, 1),
    ];
    /// The kinds every hub applies, also one that does not list its kinds (a hub of a release before
    /// `comment.add`): a device pushes other kinds only to a hub that lists them.
    pub const FIRST_RELEASE: [(&str, u32); 6] = [
        (NODE_CREATE, 1),
        (NODE_SET, 1),
        (TASK_SET, 1),
        (NODE_DELETE, 1),
        (LINK_ADD, 1),
        (LINK_REMOVE, 1),
    ];
}

/// The node type of a label; tasks point at labels with [`LABEL`] links.
pub const LABEL_TYPE: &str = "label";

/// The link type from a node to a label it carries.
pub const LABEL: &str = "label";

/// The longest comment, in characters.
pub const COMMENT_MAX_CHARS: usize = 10_000;

/// Can `text` be a comment: some text that is not only white space, at most [`COMMENT_MAX_CHARS`]?
pub fn is_comment_text(text: &str) -> bool {
    !text.trim().is_empty() && text.chars().count() <= COMMENT_MAX_CHARS
}

/// A task's named priority levels, most urgent first (the field `level`; the old priorities 1–4).
pub const LEVELS: [&str; 4] = ["urgent", "high", "normal", "low"];

/// The rank (1 most urgent) of a level.
pub fn rank_of(level: &str) -> Option<i64> {
    LEVELS.iter().position(|l| *l == level).map(|i| i as i64 + 1)
}

/// Node types the read side understands. Other strings are stored and exported, and ignored by queries.
pub const NODE_TYPES: [&str; 3] = ["project", "task", "note"];

/// The link type that builds the project tree.
pub const PARENT: &str = "parent";

/// The payload of a built-in op, borrowed from the op and validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Body<'a> {
    /// `node.create`: the type plus initial fields, all stamped with the create's id.
    Create {
        /// Node id.
        node: &'a str,
        /// `project`, `task`, `note`, …
        ty: &'a str,
        /// Initial fields.
        fields: Vec<(&'a str, &'a Value)>,
    },
    /// `node.set`, `task.set` and `node.delete` (as a set of `deleted`).
    Set {
        /// Node id.
        node: &'a str,
        /// Field name.
        field: &'a str,
        /// New value.
        value: &'a Value,
        /// The stamp of the value the writer saw: `None` when the writer did not say (an older build,
        /// a delete), `Some(None)` when the field had no value yet. Sets naming the same `prev` were
        /// made concurrently; see [`crate::conflicts`].
        prev: Option<Option<OpId>>,
        /// Other concurrent edits of the field the writer resolved (restored or dismissed).
        seen: Vec<OpId>,
    },
    /// `link.add`: the op id is the tag.
    LinkAdd {
        /// Source node.
        src: &'a str,
        /// Destination node.
        dst: &'a str,
        /// Link type.
        ty: &'a str,
    },
    /// `link.remove` of the add tags the writer observed.
    LinkRemove {
        /// Source node.
        src: &'a str,
        /// Destination node.
        dst: &'a str,
        /// Link type.
        ty: &'a str,
        /// Add tags to remove.
        tags: Vec<OpId>,
    },
    /// `comment.add`: the op id is the comment's id.
    Comment {
        /// The node commented on.
        node: &'a str,
        /// The comment's text.
        text: &'a str,
    },
}

const TRUE: Value = Value::Bool(true);

fn str_field<'a>(op: &Op, p: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match p.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(Error::invalid(
            op.id,
            format!("{name} must be a string, got {}", type_name(other)),
        )),
        None => Err(Error::invalid(
            op.id,
            format!("{} payload is missing {name}", op.kind),
        )),
    }
}

fn id_field<'a>(op: &Op, p: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    let s = str_field(op, p, name)?;
    if s.is_empty() || s.len() > 128 || s.chars().any(char::is_control) {
        return Err(Error::invalid(
            op.id,
            format!("{name} must be 1–128 printable characters"),
        ));
    }
    Ok(s)
}

/// An array of at most `max` op ids, as `tags` and `seen` hold.
fn op_ids(op: &Op, name: &str, v: &Value, max: usize) -> Result<Vec<OpId>> {
    let Value::Array(a) = v else {
        return Err(Error::invalid(
            op.id,
            format!("{name} must be an array, got {}", type_name(v)),
        ));
    };
    if a.len() > max {
        return Err(Error::invalid(
            op.id,
            format!("{name} may name at most {max} op ids"),
        ));
    }
    a.iter()
        .map(|t| t.as_str().and_then(|s| s.parse().ok()))
        .collect::<Option<Vec<OpId>>>()
        .ok_or_else(|| Error::invalid(op.id, format!("{name} must be an array of op ids")))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Is `s` a calendar date `YYYY-MM-DD`?
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok().filter(|_| true);
    let digits = b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    match (digits, num(0..4), num(5..7), num(8..10)) {
        (true, Some(y), Some(m), Some(d)) => {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let days = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            (1..=12).contains(&m) && d >= 1 && d <= days[(m - 1) as usize]
        }
        _ => false,
    }
}

/// Is `s` an order key: the text form of a fractional index (lowercase hex, ending in the terminator
/// byte `80`), at most 64 characters? Keys sort as strings.
pub fn is_rank(s: &str) -> bool {
    s.len() <= 64 && fractional_index::FractionalIndex::from_string(s).is_ok()
}

/// Validate the value of a field the read side types; other fields take any JSON.
fn check_field(op: &Op, field: &str, value: &Value) -> Result<()> {
    if field == "type" {
        return Err(Error::invalid(op.id, "type is set by node.create, not by a set"));
    }
    check_field_value(op.id, field, value)
}

/// The same rules for a field's value in a snapshot (where a node's `type`, set by its `node.create`, is a
/// field like the others): a snapshot that breaks them is refused before any of it is merged.
pub(crate) fn check_snapshot_field(op: OpId, field: &str, value: &Value) -> Result<()> {
    if field == "type" {
        return if value.as_str().is_some_and(|t| !t.is_empty()) {
            Ok(())
        } else {
            Err(Error::invalid(
                op,
                format!("type must be a non-empty string, got {value}"),
            ))
        };
    }
    check_field_value(op, field, value)
}

fn check_field_value(op: OpId, field: &str, value: &Value) -> Result<()> {
    if field.is_empty()
        || field.len() > 64
        || !field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return Err(Error::invalid(
            op,
            format!("field name {field:?} must be 1–64 of [A-Za-z0-9_.-]"),
        ));
    }
    let ok = match field {
        "title" | "status" => value.is_string() || value.is_null(),
        "due" => value.is_null() || value.as_str().is_some_and(is_date),
        "priority" => value.is_null() || value.is_i64(),
        "deleted" => value.is_boolean(),
        "rank" => value.is_null() || value.as_str().is_some_and(is_rank),
        "level" => value.is_null() || value.as_str().is_some_and(|l| rank_of(l).is_some()),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        let want = match field {
            "due" => "a date YYYY-MM-DD or null",
            "priority" => "an integer or null",
            "deleted" => "a boolean",
            "rank" => "an order key (hex digits ending in 80, at most 64) or null",
            "level" => "urgent, high, normal, low or null",
            _ => "a string or null",
        };
        Err(Error::invalid(op, format!("{field} must be {want}, got {value}")))
    }
}

impl Op {
    /// Is this a built-in kind at a version this build applies?
    pub fn is_builtin_supported(&self) -> bool {
        kinds::BUILTIN
            .iter()
            .any(|(k, v)| *k == self.kind && self.v <= *v)
    }

    /// Structural checks that hold for every op, known or not: a non-empty kind and an object payload.
    pub fn check_envelope(&self) -> Result<()> {
        if self.kind.is_empty() || self.kind.len() > 64 {
            return Err(Error::invalid(self.id, "kind must be 1–64 characters"));
        }
        if self.v == 0 {
            return Err(Error::invalid(self.id, "v must be at least 1"));
        }
        if !self.payload.is_object() {
            return Err(Error::invalid(
                self.id,
                format!("payload must be an object, got {}", type_name(&self.payload)),
            ));
        }
        Ok(())
    }

    /// Parse and validate the payload of a built-in kind this build supports.
    /// Returns `Ok(None)` for kinds (or versions) it does not know: those are stored, not applied.
    pub fn body(&self) -> Result<Option<Body<'_>>> {
        self.check_envelope()?;
        if !self.is_builtin_supported() {
            return Ok(None);
        }
        let Value::Object(p) = &self.payload else {
            unreachable!("checked by check_envelope")
        };
        let body = match self.kind.as_str() {
            kinds::NODE_CREATE => {
                let node = id_field(self, p, "node")?;
                let ty = id_field(self, p, "type")?;
                let mut fields = Vec::new();
                match p.get("fields") {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(f)) => {
                        for (k, v) in f {
                            check_field(self, k, v)?;
                            fields.push((k.as_str(), v));
                        }
                    }
                    Some(other) => {
                        return Err(Error::invalid(
                            self.id,
                            format!("fields must be an object, got {}", type_name(other)),
                        ));
                    }
                }
                Body::Create { node, ty, fields }
            }
            kinds::NODE_SET | kinds::TASK_SET => {
                let node = id_field(self, p, "node")?;
                let field = str_field(self, p, "field")?;
                let value = p.get("value").ok_or_else(|| {
                    Error::invalid(self.id, format!("{} payload is missing value", self.kind))
                })?;
                check_field(self, field, value)?;
                let prev = match p.get("prev") {
                    None => None,
                    Some(Value::Null) => Some(None),
                    Some(v) => {
                        Some(Some(v.as_str().and_then(|s| s.parse().ok()).ok_or_else(
                            || Error::invalid(self.id, "prev must be an op id or null"),
                        )?))
                    }
                };
                let seen = match p.get("seen") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(v) => op_ids(self, "seen", v, 64)?,
                };
                Body::Set {
                    node,
                    field,
                    value,
                    prev,
                    seen,
                }
            }
            kinds::NODE_DELETE => Body::Set {
                node: id_field(self, p, "node")?,
                field: "deleted",
                value: &TRUE,
                prev: None,
                seen: Vec::new(),
            },
            kinds::LINK_ADD => Body::LinkAdd {
                src: id_field(self, p, "src")?,
                dst: id_field(self, p, "dst")?,
                ty: id_field(self, p, "type")?,
            },
            kinds::LINK_REMOVE => {
                let tags = match p.get("tags") {
                    Some(v) => op_ids(self, "tags", v, usize::MAX)?,
                    None => return Err(Error::invalid(self.id, "link.remove payload is missing tags")),
                };
                Body::LinkRemove {
                    src: id_field(self, p, "src")?,
                    dst: id_field(self, p, "dst")?,
                    ty: id_field(self, p, "type")?,
                    tags,
                }
            }
            kinds::COMMENT_ADD => {
                let node = id_field(self, p, "node")?;
                let text = str_field(self, p, "text")?;
                if !is_comment_text(text) {
                    return Err(Error::invalid(
                        self.id,
                        format!("text must be 1–{COMMENT_MAX_CHARS} characters, not only spaces"),
                    ));
                }
                Body::Comment { node, text }
            }
            _ => unreachable!("is_builtin_supported matched a built-in kind"),
        };
        Ok(Some(body))
    }
}

/// An op before it is stamped: what a local edit produces. [`Store::commit`](crate::Store::commit) stamps it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOp {
    /// Op kind.
    pub kind: String,
    /// Payload version.
    pub v: u32,
    /// Payload.
    pub payload: Value,
}

impl NewOp {
    fn new(kind: &str, payload: Value) -> Self {
        NewOp {
            kind: kind.to_owned(),
            v: 1,
            payload,
        }
    }
    /// `node.create` with initial fields.
    pub fn create(node: &str, ty: &str, fields: Map<String, Value>) -> Self {
        Self::new(
            kinds::NODE_CREATE,
            serde_json::json!({"node": node, "type": ty, "fields": fields}),
        )
    }
    /// `node.set`.
    pub fn set(node: &str, field: &str, value: Value) -> Self {
        Self::new(
            kinds::NODE_SET,
            serde_json::json!({"node": node, "field": field, "value": value}),
        )
    }
    /// `task.set`.
    pub fn task_set(node: &str, field: &str, value: Value) -> Self {
        Self::new(
            kinds::TASK_SET,
            serde_json::json!({"node": node, "field": field, "value": value}),
        )
    }
    /// `node.delete`.
    pub fn delete(node: &str) -> Self {
        Self::new(kinds::NODE_DELETE, serde_json::json!({"node": node}))
    }
    /// `link.add`.
    pub fn link_add(src: &str, dst: &str, ty: &str) -> Self {
        Self::new(
            kinds::LINK_ADD,
            serde_json::json!({"src": src, "dst": dst, "type": ty}),
        )
    }
    /// `link.remove` of the observed tags.
    pub fn link_remove(src: &str, dst: &str, ty: &str, tags: &[OpId]) -> Self {
        Self::new(
            kinds::LINK_REMOVE,
            serde_json::json!({"src": src, "dst": dst, "type": ty, "tags": tags}),
        )
    }
    /// `comment.add` on `node`.
    pub fn comment(node: &str, text: &str) -> Self {
        Self::new(
            kinds::COMMENT_ADD,
            serde_json::json!({"node": node, "text": text}),
        )
    }
    /// Stamp it.
    pub fn stamp(self, id: OpId) -> Op {
        Op {
            id,
            kind: self.kind,
            v: self.v,
            payload: self.payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(kind: &str, payload: Value) -> Op {
        Op {
            id: "000000000001-0000-0000000000000001".parse().expect("id"),
            kind: kind.into(),
            v: 1,
            payload,
        }
    }

    #[test]
    fn op_id_round_trips_and_orders_like_strings() {
        let ids = [
            "000000000001-ffff-0000000000000000",
            "000000000002-0000-0000000000000000",
            "000000000002-0000-0000000000000001",
            "ffffffffffff-0001-ffffffffffffffff",
        ];
        let parsed: Vec<OpId> = ids.iter().map(|s| s.parse().expect("valid")).collect();
        for (s, id) in ids.iter().zip(&parsed) {
            assert_eq!(&id.to_string(), s);
        }
        assert!(parsed.windows(2).all(|w| w[0] < w[1]));
        for bad in [
            "",
            "000000000001-0000-000000000000000",
            "000000000001_0000-0000000000000000",
            "00000000000G-0000-0000000000000000",
            "000000000001-00A0-0000000000000000",
        ] {
            assert!(bad.parse::<OpId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_op_and_reason() {
        let e = op(
            "node.set",
            json!({"node": "n", "field": "due", "value": "tomorrow"}),
        )
        .body()
        .expect_err("bad date");
        assert_eq!(
            e.to_string(),
            "op 000000000001-0000-0000000000000001 is invalid: due must be a date YYYY-MM-DD or null, got \"tomorrow\""
        );
        let e = op("link.add", json!({"src": "a", "type": "parent"}))
            .body()
            .expect_err("missing");
        assert!(e.to_string().ends_with("link.add payload is missing dst"), "{e}");
        let e = op("node.set", json!({"node": 5, "field": "title", "value": "x"}))
            .body()
            .expect_err("type");
        assert!(
            e.to_string().ends_with("node must be a string, got a number"),
            "{e}"
        );
        assert!(op("node.set", json!([1])).body().is_err());
    }

    #[test]
    fn unknown_kinds_and_versions_parse_to_none_and_extra_fields_are_ignored() {
        assert_eq!(op("node.star", json!({"node": "n"})).body().expect("ok"), None);
        let mut newer = op("node.set", json!({"node": "n", "field": "title", "value": 1}));
        newer.v = 2;
        assert_eq!(newer.body().expect("stored, not validated as v1"), None);
        let extra = op("node.delete", json!({"node": "n", "reason": "dup"}));
        assert_eq!(
            extra.body().expect("ok"),
            Some(Body::Set {
                node: "n",
                field: "deleted",
                value: &TRUE,
                prev: None,
                seen: Vec::new(),
            })
        );
    }

    #[test]
    fn dates() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2023-13-01"));
        assert!(!is_date("2023-1-011"));
    }
}
