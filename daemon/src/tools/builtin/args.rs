//! Typed access to a builtin call's arguments, with errors that name the field, and the
//! path and text helpers the tools share.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::ToolError;

pub(super) struct Args<'a> {
    tool: &'a str,
    fields: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    pub(super) fn new(tool: &'a str, arguments: &'a Value) -> Result<Self, ToolError> {
        let fields = match arguments {
            Value::Object(fields) => Some(fields),
            // A tool with no required arguments may be called with none at all.
            Value::Null => None,
            _ => {
                return Err(ToolError::InvalidArguments {
                    tool: tool.to_owned(),
                    reason: "arguments must be a JSON object".to_owned(),
                });
            }
        };
        Ok(Self { tool, fields })
    }

    pub(super) fn invalid(&self, reason: impl Into<String>) -> ToolError {
        ToolError::InvalidArguments {
            tool: self.tool.to_owned(),
            reason: reason.into(),
        }
    }

    /// A present, non-null field; JSON `null` counts as absent because models send it for
    /// optional fields they mean to omit.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.fields
            .and_then(|fields| fields.get(field))
            .filter(|value| !value.is_null())
    }

    pub(super) fn required_str(&self, field: &str) -> Result<&'a str, ToolError> {
        self.optional_str(field)?
            .ok_or_else(|| self.invalid(format!("missing string field `{field}`")))
    }

    pub(super) fn optional_str(&self, field: &str) -> Result<Option<&'a str>, ToolError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.invalid(format!(
                "field `{field}` must be a string, got {}",
                json_type(other)
            ))),
        }
    }

    pub(super) fn optional_number(&self, field: &str) -> Result<Option<f64>, ToolError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(number)) => number
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.invalid(format!("field `{field}` is not a usable number"))),
            Some(other) => Err(self.invalid(format!(
                "field `{field}` must be a number, got {}",
                json_type(other)
            ))),
        }
    }

    /// A positive whole number (line numbers and counts); `3.0` is accepted as `3`.
    pub(super) fn optional_count(&self, field: &str) -> Result<Option<usize>, ToolError> {
        self.optional_integer(field, 1)
    }

    /// A present positive whole number (a seq).
    pub(super) fn required_count(&self, field: &str) -> Result<usize, ToolError> {
        self.optional_count(field)?
            .ok_or_else(|| self.invalid(format!("missing integer field `{field}`")))
    }

    /// A whole number of at least `min` (0 for offsets, 1 for counts); `3.0` is
    /// accepted as `3`.
    pub(super) fn optional_integer(
        &self,
        field: &str,
        min: u64,
    ) -> Result<Option<usize>, ToolError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let must = || {
            let what = if min == 0 {
                "a non-negative integer"
            } else {
                "a positive integer"
            };
            self.invalid(format!("field `{field}` must be {what}"))
        };
        let n = match value {
            Value::Number(number) => match number.as_u64() {
                Some(n) => n,
                None => match number.as_f64() {
                    Some(f) if f.fract() == 0.0 && f >= 0.0 && f <= u64::MAX as f64 => f as u64,
                    _ => return Err(must()),
                },
            },
            _ => return Err(must()),
        };
        if n < min {
            return Err(must());
        }
        // Saturating is right: no file has more lines than usize::MAX anyway.
        Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)))
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Absolute paths are used as-is; relative ones join `cwd`. `.` components are dropped so
/// messages show the path the model would expect (`/w/src`, not `/w/./src`).
pub(crate) fn resolve(cwd: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    joined.components().collect()
}

/// `text` with a trailing newline if it is non-empty, so a status line starts on its own line.
pub(super) fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}
