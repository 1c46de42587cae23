//! Answers to a tool server's question (MCP elicitation, form mode): the fields
//! its requested schema declares, an answer merged over the schema's defaults
//! (SEP-1034), and the check that the answer matches the schema before anything
//! is sent. The daemon checks every answer with these; clients use them to build
//! a form and to say early what is wrong.
//!
//! The schema is the restricted one the MCP spec (2025-11-25) allows: an object
//! of primitive properties — string (with `minLength`, `maxLength`, `format`
//! email | uri | date | date-time, `enum`, or `oneOf` of `{const, title}`),
//! number / integer (`minimum`, `maximum`), boolean, and arrays of enum values
//! (`items.enum` or `items.anyOf`, with `minItems`, `maxItems`) — and `required`.

use serde_json::{Map, Value};

/// What kind of input a field takes.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A number (`integer` when `whole`).
    Number {
        /// Only whole numbers.
        whole: bool,
    },
    /// Yes or no.
    Boolean,
    /// One of these values (value, label).
    Choice(Vec<(String, String)>),
    /// Any number of these values (value, label).
    Multi(Vec<(String, String)>),
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The property's name (what the answer's key is).
    pub name: String,
    /// Its title, else its name.
    pub label: String,
    /// Its description (may be empty).
    pub description: String,
    /// What it takes.
    pub kind: FieldKind,
    /// Listed in `required`.
    pub required: bool,
    /// Its `default`, when the schema gives one.
    pub default: Option<Value>,
}

/// The fields of a requested schema, in name order (how serde_json keeps them).
pub fn fields(schema: &Value) -> Vec<Field> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, p)| Field {
            name: name.clone(),
            label: p
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_string(),
            description: p
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            kind: kind_of(p),
            required: required.contains(&name.as_str()),
            default: p.get("default").cloned(),
        })
        .collect()
}

fn choices(p: &Value) -> Option<Vec<(String, String)>> {
    if let Some(values) = p.get("enum").and_then(Value::as_array) {
        let names = p.get("enumNames").and_then(Value::as_array);
        return Some(
            values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let v = v.as_str()?.to_string();
                    let label = names
                        .and_then(|n| n.get(i))
                        .and_then(Value::as_str)
                        .unwrap_or(&v)
                        .to_string();
                    Some((v, label))
                })
                .collect(),
        );
    }
    let list = p
        .get("oneOf")
        .or_else(|| p.get("anyOf"))
        .and_then(Value::as_array)?;
    Some(
        list.iter()
            .filter_map(|o| {
                let v = o.get("const")?.as_str()?.to_string();
                let label = o.get("title").and_then(Value::as_str).unwrap_or(&v);
                Some((v.clone(), label.to_string()))
            })
            .collect(),
    )
}

fn kind_of(p: &Value) -> FieldKind {
    match p.get("type").and_then(Value::as_str) {
        Some("number") => FieldKind::Number { whole: false },
        Some("integer") => FieldKind::Number { whole: true },
        Some("boolean") => FieldKind::Boolean,
        Some("array") => FieldKind::Multi(p.get("items").and_then(choices).unwrap_or_default()),
        _ => match choices(p) {
            Some(c) => FieldKind::Choice(c),
            None => FieldKind::Text,
        },
    }
}

/// `answer` (a JSON object) over the schema's defaults: every property with a
/// `default` that the answer leaves out gets it (SEP-1034).
pub fn merge_defaults(schema: &Value, answer: &Value) -> Result<Value, String> {
    let mut out: Map<String, Value> = match answer {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => return Err("the answer must be a JSON object of field values".into()),
    };
    for f in fields(schema) {
        if let Some(d) = f.default
            && !out.contains_key(&f.name)
        {
            out.insert(f.name, d);
        }
    }
    Ok(Value::Object(out))
}

/// Checks an answer against the schema; the error names the field and says
/// what it takes.
pub fn validate(schema: &Value, answer: &Value) -> Result<(), String> {
    let Some(obj) = answer.as_object() else {
        return Err("the answer must be a JSON object of field values".into());
    };
    let props = schema.get("properties").and_then(Value::as_object);
    for f in fields(schema) {
        if f.required && obj.get(&f.name).is_none_or(Value::is_null) {
            return Err(format!("field {:?} is required", f.name));
        }
    }
    for (name, value) in obj {
        let Some(p) = props.and_then(|p| p.get(name)) else {
            return Err(format!("field {name:?} is not in the server's form"));
        };
        check_field(name, p, value)?;
    }
    Ok(())
}

fn check_field(name: &str, p: &Value, v: &Value) -> Result<(), String> {
    let bad = |what: String| Err(format!("field {name:?} {what}"));
    let num = |k: &str| p.get(k).and_then(Value::as_f64);
    match kind_of(p) {
        FieldKind::Boolean if !v.is_boolean() => bad(format!("must be true or false, not {v}")),
        FieldKind::Number { whole } => {
            let Some(n) = v.as_f64() else {
                return bad(format!("must be a number, not {v}"));
            };
            if whole && n.fract() != 0.0 {
                return bad(format!("must be a whole number, not {v}"));
            }
            if let Some(min) = num("minimum")
                && n < min
            {
                return bad(format!("must be at least {min}, not {v}"));
            }
            if let Some(max) = num("maximum")
                && n > max
            {
                return bad(format!("must be at most {max}, not {v}"));
            }
            Ok(())
        }
        FieldKind::Choice(c) => match v.as_str() {
            Some(s) if c.iter().any(|(val, _)| val == s) => Ok(()),
            _ => bad(format!("must be one of {}, not {v}", list(&c))),
        },
        FieldKind::Multi(c) => {
            let Some(items) = v.as_array() else {
                return bad(format!("must be a list of {}, not {v}", list(&c)));
            };
            for i in items {
                if !i
                    .as_str()
                    .is_some_and(|s| c.iter().any(|(val, _)| val == s))
                {
                    return bad(format!("may only hold {}, not {i}", list(&c)));
                }
            }
            let n = items.len() as f64;
            if num("minItems").is_some_and(|m| n < m) || num("maxItems").is_some_and(|m| n > m) {
                return bad(format!(
                    "must have between {} and {} choices",
                    num("minItems").unwrap_or(0.0),
                    num("maxItems").map_or("any".into(), |m| m.to_string())
                ));
            }
            Ok(())
        }
        FieldKind::Text => {
            let Some(s) = v.as_str() else {
                return bad(format!("must be text, not {v}"));
            };
            let len = s.chars().count() as f64;
            if let Some(min) = num("minLength")
                && len < min
            {
                return bad(format!("must be at least {min} characters long"));
            }
            if let Some(max) = num("maxLength")
                && len > max
            {
                return bad(format!("must be at most {max} characters long"));
            }
            match p.get("format").and_then(Value::as_str) {
                Some(f) if !format_ok(f, s) => bad(format!("must be a valid {f}, not {s:?}")),
                _ => Ok(()),
            }
        }
        FieldKind::Boolean => Ok(()),
    }
}

fn list(c: &[(String, String)]) -> String {
    c.iter()
        .map(|(v, _)| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn date_ok(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && digits(parts[0], 4)
        && digits(parts[1], 2)
        && digits(parts[2], 2)
        && (1..=12).contains(&parts[1].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&parts[2].parse::<u32>().unwrap_or(0))
}

/// The string formats the spec lists, checked by shape (RFC 3339 dates, an
/// address with one `@`, an absolute URI with a scheme).
fn format_ok(format: &str, s: &str) -> bool {
    match format {
        "email" => {
            let mut parts = s.split('@');
            matches!((parts.next(), parts.next(), parts.next()),
                (Some(local), Some(domain), None) if !local.is_empty() && domain.contains('.')
                    && !domain.starts_with('.') && !domain.ends_with('.') && !s.contains(char::is_whitespace))
        }
        "uri" => s.split_once(':').is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && !s.contains(char::is_whitespace)
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }),
        "date" => date_ok(s),
        "date-time" => s
            .split_once(['T', 't'])
            .is_some_and(|(d, t)| date_ok(d) && time_ok(t)),
        _ => true,
    }
}

fn time_ok(t: &str) -> bool {
    let (clock, _zone) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
        (c, "Z")
    } else if let Some(i) = t.rfind(['+', '-']) {
        let zone = &t[i + 1..];
        let parts: Vec<&str> = zone.split(':').collect();
        if parts.len() != 2 || !digits(parts[0], 2) || !digits(parts[1], 2) {
            return false;
        }
        (&t[..i], zone)
    } else {
        return false;
    };
    let clock = clock.split('.').next().unwrap_or("");
    let parts: Vec<&str> = clock.split(':').collect();
    parts.len() == 3 && parts.iter().all(|p| digits(p, 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "name": {"type": "string", "default": "John Doe", "minLength": 2},
            "age": {"type": "integer", "minimum": 0, "maximum": 150, "default": 30},
            "score": {"type": "number", "default": 95.5},
            "status": {"type": "string", "enum": ["active", "inactive"], "default": "active"},
            "verified": {"type": "boolean", "default": true},
            "email": {"type": "string", "format": "email"},
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"anyOf": [{"const": "a", "title": "A"}, {"const": "b"}]}, "maxItems": 1}
        }, "required": ["email"]})
    }

    #[test]
    fn defaults_fill_what_the_answer_leaves_out() {
        let merged = merge_defaults(&schema(), &json!({"age": 41})).unwrap();
        assert_eq!(merged["age"], 41);
        assert_eq!(merged["name"], "John Doe");
        assert_eq!(merged["score"], 95.5);
        assert_eq!(merged["status"], "active");
        assert_eq!(merged["verified"], true);
        assert!(merged.get("email").is_none());
        assert!(merge_defaults(&schema(), &json!([1])).is_err());
    }

    #[test]
    fn a_bad_answer_is_named_by_its_field() {
        let s = schema();
        let ok = json!({"email": "a@b.io", "when": "2025-11-25T10:00:00Z", "tags": ["a"]});
        validate(&s, &merge_defaults(&s, &ok).unwrap()).unwrap();
        let cases = [
            (json!({}), "\"email\" is required"),
            (json!({"email": "nope"}), "\"email\" must be a valid email"),
            (
                json!({"email": "a@b.io", "age": 1.5}),
                "\"age\" must be a whole number",
            ),
            (
                json!({"email": "a@b.io", "age": 200}),
                "\"age\" must be at most 150",
            ),
            (
                json!({"email": "a@b.io", "age": "x"}),
                "\"age\" must be a number",
            ),
            (
                json!({"email": "a@b.io", "status": "gone"}),
                "\"status\" must be one of \"active\", \"inactive\"",
            ),
            (
                json!({"email": "a@b.io", "verified": "yes"}),
                "\"verified\" must be true or false",
            ),
            (
                json!({"email": "a@b.io", "name": "J"}),
                "\"name\" must be at least 2 characters",
            ),
            (
                json!({"email": "a@b.io", "when": "2025-13-01T00:00:00Z"}),
                "\"when\" must be a valid date-time",
            ),
            (
                json!({"email": "a@b.io", "tags": ["a", "b"]}),
                "\"tags\" must have between",
            ),
            (
                json!({"email": "a@b.io", "tags": ["c"]}),
                "\"tags\" may only hold",
            ),
            (
                json!({"email": "a@b.io", "other": 1}),
                "\"other\" is not in the server's form",
            ),
        ];
        for (answer, want) in cases {
            let err = validate(&s, &answer).unwrap_err();
            assert!(err.contains(want), "{answer}: {err}");
        }
    }

    #[test]
    fn fields_read_kinds_labels_and_choices() {
        // serde_json keeps object members in name order, so fields come that way.
        let f = fields(&schema());
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "age", "email", "name", "score", "status", "tags", "verified", "when"
            ]
        );
        assert_eq!(f[0].kind, FieldKind::Number { whole: true });
        assert_eq!(
            f[4].kind,
            FieldKind::Choice(vec![
                ("active".into(), "active".into()),
                ("inactive".into(), "inactive".into())
            ])
        );
        assert_eq!(f[6].kind, FieldKind::Boolean);
        assert!(f[1].required);
        assert_eq!(
            f[5].kind,
            FieldKind::Multi(vec![("a".into(), "A".into()), ("b".into(), "b".into())])
        );
        assert!(format_ok("uri", "https://example.com/x"));
        assert!(!format_ok("uri", "not a uri"));
        assert!(format_ok("date", "2025-11-25"));
        assert!(format_ok("date-time", "2025-11-25T10:00:00.5+02:00"));
    }
}
