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
        Ok(ListParams { fields })
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
