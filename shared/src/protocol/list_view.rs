//! `session.list`'s optional `fields` (issue 13): a client that shows only some
//! of each session's summary (the `ls` table) asks for those, and each
//! `SessionInfo` of the result carries only them. At 100,000 sessions the whole
//! summaries are a 44 MB reply; the table's ten fields are about half of it,
//! and what is not sent is neither encoded nor parsed.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::types::SessionInfo;

/// `session.list` params. Absent, `null`, `{}`, or anything without a
/// `fields` array of strings lists whole summaries, as before: whatever a
/// client sent as this method's params was ignored until then, so it still is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListParams {
    /// Only these fields of each `SessionInfo` (its JSON names); the others are
    /// left out. Unknown names are ignored. Absent: every field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// With `fields`: each session as an array of those fields' values, in the
    /// order named (`null` for a name not known), instead of an object (issue
    /// 13: the names are not repeated for each of 100,000 sessions). A daemon
    /// before this sends objects; without `fields` it is ignored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rows: bool,
    /// The `tether ls` table instead of the list: the result is one string,
    /// the table as `tether ls` prints it ([`list_table`](super::list_table);
    /// issue 13: a client of 100,000 sessions parses one string, not 100,000
    /// rows). `fields` and `rows` are then ignored; a daemon before this
    /// ignores `table` and sends the list they ask for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub table: bool,
}

/// The fields of `SessionInfo` the `tether ls` table shows, in the order its
/// rows carry them: what `tether ls` asks `session.list` for (issue 13), and
/// the shape of the list a daemon keeps from one clean stop to its next start.
pub const LS_FIELDS: [&str; 12] = [
    "name",
    "state",
    "model",
    "cwd",
    "updated_at",
    "pending_approvals",
    "pending_inputs",
    "attached_clients",
    "context_tokens",
    "context_window",
    "worktree",
    "node",
];

impl ListParams {
    /// What `tether ls` asks for: the table, or from a daemon before
    /// `table`, [`LS_FIELDS`] as rows to make it of.
    pub fn ls() -> ListParams {
        ListParams {
            fields: Some(LS_FIELDS.map(String::from).to_vec()),
            rows: true,
            table: true,
        }
    }
}

impl<'de> Deserialize<'de> for ListParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(deserializer)?;
        let fields = v.get("fields").and_then(|f| {
            f.as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        });
        let rows = v
            .get("rows")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let table = v
            .get("table")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        Ok(ListParams {
            fields,
            rows,
            table,
        })
    }
}

/// How `session.list` writes each session: an object with the fields of a
/// mask, or (`rows`) an array of the named fields' values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListShape {
    /// Objects with these fields.
    Objects(FieldMask),
    /// Arrays: for each name asked for, its field's index in
    /// [`SESSION_INFO_FIELDS`] (`None`: not a field, written as `null`).
    Rows(Vec<Option<usize>>),
    /// Not a list: the `tether ls` table, as one string.
    Table,
}

impl ListShape {
    /// The shape `p` asks for.
    pub fn new(p: &ListParams) -> ListShape {
        if p.table {
            return ListShape::Table;
        }
        match (&p.fields, p.rows) {
            (Some(names), true) => ListShape::Rows(
                names
                    .iter()
                    .map(|n| SESSION_INFO_FIELDS.iter().position(|f| f == n))
                    .collect(),
            ),
            _ => ListShape::Objects(FieldMask::new(p.fields.as_deref())),
        }
    }
}

/// A `SessionInfo` written in a [`ListShape`]; as an object, exactly what
/// [`PartialInfo`] writes. (A table is made of the whole list, not of its
/// items: one session of [`ListShape::Table`] is written whole.)
pub struct ListItem<'a>(pub &'a SessionInfo, pub &'a ListShape);

impl Serialize for ListItem<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let (s, fields) = match self.1 {
            ListShape::Objects(mask) => return PartialInfo(self.0, *mask).serialize(serializer),
            ListShape::Table => return PartialInfo(self.0, FieldMask::ALL).serialize(serializer),
            ListShape::Rows(fields) => (self.0, fields),
        };
        let mut seq = serializer.serialize_seq(Some(fields.len()))?;
        for f in fields {
            // Each value as the object form writes it; absent ones are null.
            match f {
                Some(0) => seq.serialize_element(&s.id)?,
                Some(1) => seq.serialize_element(&s.name)?,
                Some(2) => seq.serialize_element(&s.state)?,
                Some(3) => seq.serialize_element(&s.model)?,
                Some(4) => seq.serialize_element(&s.cwd)?,
                Some(5) => seq.serialize_element(&s.created_at)?,
                Some(6) => seq.serialize_element(&s.updated_at)?,
                Some(7) => seq.serialize_element(&s.pending_approvals)?,
                Some(8) => seq.serialize_element(&s.queued_inputs)?,
                Some(9) => seq.serialize_element(&s.attached_clients)?,
                Some(10) => seq.serialize_element(&s.last_seq)?,
                Some(11) => seq.serialize_element(&s.usage)?,
                Some(12) => seq.serialize_element(&s.instructions)?,
                Some(13) => seq.serialize_element(&s.last_error)?,
                Some(14) => seq.serialize_element(&s.context_tokens)?,
                Some(15) => seq.serialize_element(&s.context_window)?,
                Some(16) => seq.serialize_element(&s.budget)?,
                Some(17) => seq.serialize_element(&s.cost_usd)?,
                Some(18) => seq.serialize_element(&s.cost_basis)?,
                Some(19) => seq.serialize_element(&s.waiting_since)?,
                Some(20) => seq.serialize_element(&s.pending_inputs)?,
                Some(21) => seq.serialize_element(&s.worktree)?,
                Some(22) => seq.serialize_element(&s.node)?,
                Some(23) => seq.serialize_element(&s.portable)?,
                _ => seq.serialize_element(&())?,
            }
        }
        seq.end()
    }
}

/// The JSON names of `SessionInfo`'s fields, in its order (the order they are
/// written in).
pub const SESSION_INFO_FIELDS: [&str; 24] = [
    "id",
    "name",
    "state",
    "model",
    "cwd",
    "created_at",
    "updated_at",
    "pending_approvals",
    "queued_inputs",
    "attached_clients",
    "last_seq",
    "usage",
    "instructions",
    "last_error",
    "context_tokens",
    "context_window",
    "budget",
    "cost_usd",
    "cost_basis",
    "waiting_since",
    "pending_inputs",
    "worktree",
    "node",
    "portable",
];

/// Which fields of a `SessionInfo` to write: a bit per field of
/// [`SESSION_INFO_FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMask(u32);

impl FieldMask {
    /// Every field.
    pub const ALL: FieldMask = FieldMask(u32::MAX);

    /// The fields `names` asks for (unknown ones ignored); every field for `None`.
    pub fn new(names: Option<&[String]>) -> FieldMask {
        let Some(names) = names else {
            return FieldMask::ALL;
        };
        let mut bits = 0;
        for n in names {
            if let Some(i) = SESSION_INFO_FIELDS.iter().position(|f| f == n) {
                bits |= 1 << i;
            }
        }
        FieldMask(bits)
    }

    /// True when this is every field.
    pub fn is_all(self) -> bool {
        self == FieldMask::ALL
    }

    fn has(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }
}

/// A `SessionInfo` written with only the fields of a mask; with
/// [`FieldMask::ALL`], exactly as `SessionInfo` serialises itself.
pub struct PartialInfo<'a>(pub &'a SessionInfo, pub FieldMask);

impl Serialize for PartialInfo<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (s, mask) = (self.0, self.1);
        if mask.is_all() {
            return s.serialize(serializer);
        }
        let mut m = serializer.serialize_map(None)?;
        // Each in SessionInfo's order, with its skip rule.
        macro_rules! field {
            ($i:expr, $name:ident) => {
                if mask.has($i) {
                    m.serialize_entry(SESSION_INFO_FIELDS[$i], &s.$name)?;
                }
            };
            ($i:expr, $name:ident, $skip:expr) => {
                if mask.has($i) && !$skip(&s.$name) {
                    m.serialize_entry(SESSION_INFO_FIELDS[$i], &s.$name)?;
                }
            };
        }
        field!(0, id);
        field!(1, name);
        field!(2, state);
        field!(3, model);
        field!(4, cwd);
        field!(5, created_at);
        field!(6, updated_at);
        field!(7, pending_approvals);
        field!(8, queued_inputs);
        field!(9, attached_clients);
        field!(10, last_seq);
        field!(11, usage);
        field!(12, instructions, Option::is_none);
        field!(13, last_error, Option::is_none);
        field!(14, context_tokens);
        field!(15, context_window);
        field!(16, budget);
        field!(17, cost_usd);
        field!(18, cost_basis);
        field!(19, waiting_since, Option::is_none);
        field!(20, pending_inputs, Vec::is_empty);
        field!(21, worktree, Option::is_none);
        field!(22, node, Option::is_none);
        field!(23, portable, |b: &bool| !*b);
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full() -> SessionInfo {
        serde_json::from_value(json!({
            "id": "s-1", "name": "a\"b", "state": "failed", "model": "p/m", "cwd": "/w",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
            "pending_approvals": ["c1"], "queued_inputs": 2, "attached_clients": 3,
            "last_seq": 9, "usage": {"prompt_tokens": 5, "completion_tokens": 6},
            "instructions": "be brief", "last_error": "boom", "context_tokens": 7,
            "context_window": 8, "budget": {"max_tokens": 100}, "cost_usd": 0.5,
            "cost_basis": "estimate", "waiting_since": "2026-01-02T00:00:00Z",
            "pending_inputs": ["q1"],
            "worktree": {"path": "/r/.tether/worktrees/w", "branch": "tether/w",
                         "repo": "/r", "base_commit": "0123abcd"},
            "node": "n1", "portable": true
        }))
        .unwrap()
    }

    #[test]
    fn every_field_named_gives_the_whole_summary_byte_for_byte() {
        let names: Vec<String> = SESSION_INFO_FIELDS.iter().map(|s| s.to_string()).collect();
        let mask = FieldMask::new(Some(&names));
        assert!(!mask.is_all(), "the named path is the one tested");
        for info in [full(), {
            let mut i = full();
            i.instructions = None;
            i.last_error = None;
            i.waiting_since = None;
            i.pending_inputs.clear();
            i.worktree = None;
            i.node = None;
            i.portable = false;
            i
        }] {
            assert_eq!(
                serde_json::to_string(&PartialInfo(&info, mask)).unwrap(),
                serde_json::to_string(&info).unwrap()
            );
        }
        // And a field added to SessionInfo must be added here too.
        let v = serde_json::to_value(full()).unwrap();
        assert_eq!(v.as_object().unwrap().len(), SESSION_INFO_FIELDS.len());
    }

    #[test]
    fn only_the_fields_asked_for_and_unknown_names_ignored() {
        let names = ["name", "pending_approvals", "nonsense", "instructions"].map(String::from);
        let v = serde_json::to_value(PartialInfo(&full(), FieldMask::new(Some(&names)))).unwrap();
        assert_eq!(
            v,
            json!({"name": "a\"b", "pending_approvals": ["c1"], "instructions": "be brief"})
        );
        let none = serde_json::to_value(PartialInfo(&full(), FieldMask::new(Some(&[])))).unwrap();
        assert_eq!(none, json!({}));
    }

    #[test]
    fn params_that_are_not_a_fields_list_list_everything() {
        for v in [
            json!({}),
            json!(null),
            json!([1]),
            json!({"fields": "name"}),
            json!({"fields": [1]}),
        ] {
            let p: ListParams = serde_json::from_value(v).unwrap();
            assert_eq!(p, ListParams::default());
        }
        let p: ListParams = serde_json::from_value(json!({"fields": ["name"]})).unwrap();
        assert_eq!(p.fields, Some(vec!["name".to_string()]));
        assert_eq!(
            serde_json::to_value(ListParams::default()).unwrap(),
            json!({})
        );
    }
}
