//! The builtin tools an agent can call without any MCP server: `shell`, `read_file`,
//! `write_file`, `edit_file` and `list_dir`.
//!
//! This module owns their public interface: the JSON Schema specs (as offered to the model),
//! dispatch, argument parsing and the errors the model sees. The tools themselves run in the
//! sibling modules `shell` and `files`. Every failure, including malformed arguments, becomes
//! an `is_error` output that tells the model what went wrong, because the model is the one who
//! has to fix the call.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::files;
use super::shell::{self, ShellRequest};

/// Names of every builtin tool, in the order their specs are offered.
pub const BUILTIN_NAMES: [&str; 5] = ["shell", "read_file", "write_file", "edit_file", "list_dir"];

/// A tool as offered to the model (OpenAI function-calling shape).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Name the model calls the tool by.
    pub name: String,
    /// What the tool does and when to use it, written for the model.
    pub description: String,
    /// JSON Schema (an object schema) of the tool's arguments.
    pub parameters: Value,
}

/// What a tool call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// Text handed back to the model.
    pub output: String,
    /// Whether the call failed (bad arguments, I/O error, non-zero exit, timeout, interrupt).
    pub is_error: bool,
    /// Images the tool returned (MCP `image` content), for the model to see.
    pub images: Vec<tether_shared::event::ToolImage>,
}

impl ToolOutput {
    pub(super) fn ok(output: impl Into<String>) -> Self {
        Self {
            output: output.into(),
            is_error: false,
            images: Vec::new(),
        }
    }

    pub(crate) fn error(output: impl Into<String>) -> Self {
        Self {
            output: output.into(),
            is_error: true,
            images: Vec::new(),
        }
    }
}

/// Everything a builtin needs from the session that runs it.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// Session working directory; relative paths resolve against it.
    pub cwd: PathBuf,
    /// Cancelled on interrupt or shutdown; a running tool stops and reports `interrupted`.
    pub cancel: CancellationToken,
    /// Receives live output chunks (shell stdout/stderr as they arrive, lossy UTF-8).
    pub live: Option<mpsc::UnboundedSender<String>>,
    /// Receives the process group id of each process group a tool starts, so the
    /// daemon can record it and stop a group left running by a crash.
    pub spawned: Option<mpsc::UnboundedSender<u32>>,
}

/// Why a builtin call failed; its `Display` is the text the model sees.
#[derive(Debug, thiserror::Error)]
pub(super) enum ToolError {
    #[error("invalid arguments for {tool}: {reason}")]
    InvalidArguments { tool: String, reason: String },
    #[error("no such file or directory: {}", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is a directory, not a file (use list_dir to see its entries)", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{} is not a directory", path.display())]
    NotDirectory { path: PathBuf },
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{} is not valid UTF-8 text, so edit_file cannot change it safely", path.display())]
    NotUtf8 { path: PathBuf },
    #[error(
        "old_string was not found in {}; read the file and copy the text exactly, \
         including whitespace",
        path.display()
    )]
    EditNotFound { path: PathBuf },
    #[error(
        "old_string was found {count} times in {}; it must match exactly once, so include \
         more surrounding context",
        path.display()
    )]
    EditAmbiguous { path: PathBuf, count: usize },
    #[error("interrupted")]
    Interrupted,
}

impl ToolError {
    /// Maps an I/O error to the clearest message for the model: a missing path is the common
    /// mistake and deserves a plain sentence rather than an errno string.
    pub(super) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            Self::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            Self::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// The specs of every builtin tool, in [`BUILTIN_NAMES`] order.
pub fn builtin_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "shell".to_owned(),
            description: "Run a command with `sh -c` in the session working directory and \
                return its combined stdout and stderr followed by its exit code. Stdin is \
                empty. Long output keeps only the beginning and the end. The command is \
                killed (with everything it started) when it times out."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {
                        "type": "string",
                        "description": "The shell command to run."
                    },
                    "timeout_s": {
                        "type": "number",
                        "description": "Seconds until the command is killed (default 120, max 3600)."
                    }
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "read_file".to_owned(),
            description: "Read a UTF-8 text file. Relative paths resolve against the session \
                working directory. Output is capped at 100000 bytes; use offset and limit to \
                read large files in parts."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to read."
                    },
                    "offset": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "First line to return, 1-based (default 1)."
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Maximum number of lines to return (default: all)."
                    }
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "write_file".to_owned(),
            description: "Write content to a file, replacing it if it exists and creating \
                missing parent directories."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to write."
                    },
                    "content": {
                        "type": "string",
                        "description": "The complete new content of the file."
                    }
                },
                "required": ["path", "content"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "edit_file".to_owned(),
            description: "Replace one exact occurrence of old_string with new_string in a \
                file. old_string must appear exactly once; include enough surrounding text \
                to make it unique."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to edit."
                    },
                    "old_string": {
                        "type": "string",
                        "description": "The exact text to replace, including whitespace."
                    },
                    "new_string": {
                        "type": "string",
                        "description": "The text to put in its place."
                    }
                },
                "required": ["path", "old_string", "new_string"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "list_dir".to_owned(),
            description: "List a directory's entries sorted by name; directories end with \
                `/`. At most 1000 entries are shown."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Directory to list (default: the working directory)."
                    }
                },
                "additionalProperties": false
            }),
        },
    ]
}

/// Whether `name` is one of the builtin tools.
pub fn is_builtin(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
}

/// Runs a builtin. Never panics; bad arguments give is_error output that tells the model what
/// was wrong.
pub async fn run_builtin(name: &str, arguments: &Value, ctx: &ToolContext) -> ToolOutput {
    if !is_builtin(name) {
        return ToolOutput::error(format!(
            "unknown tool `{name}`; builtin tools are: {}",
            BUILTIN_NAMES.join(", ")
        ));
    }
    if ctx.cancel.is_cancelled() {
        return ToolOutput::error(ToolError::Interrupted.to_string());
    }
    // Some models send the arguments as a JSON-encoded string rather than an object.
    let decoded;
    let arguments = match arguments {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                decoded = value;
                &decoded
            }
            Err(err) => {
                return ToolOutput::error(format!(
                    "invalid arguments for {name}: arguments are not a JSON object ({err})"
                ));
            }
        },
        other => other,
    };
    let args = match Args::new(name, arguments) {
        Ok(args) => args,
        Err(err) => return ToolOutput::error(err.to_string()),
    };

    if name == "shell" {
        return match ShellRequest::parse(&args) {
            Ok(request) => shell::run_shell(request, ctx).await,
            Err(err) => ToolOutput::error(err.to_string()),
        };
    }

    // File tools are quick, but a read can still block (a FIFO, a hung network mount), so
    // they honour cancellation too.
    let result = tokio::select! {
        () = ctx.cancel.cancelled() => Err(ToolError::Interrupted),
        result = files::run_file_tool(name, &args, ctx) => result,
    };
    match result {
        Ok(output) => ToolOutput::ok(output),
        Err(err) => ToolOutput::error(err.to_string()),
    }
}

/// Typed access to a call's argument object, producing errors that name the field.
pub(super) struct Args<'a> {
    tool: &'a str,
    fields: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    fn new(tool: &'a str, arguments: &'a Value) -> Result<Self, ToolError> {
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
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let must = || self.invalid(format!("field `{field}` must be a positive integer"));
        let count = match value {
            Value::Number(number) => match number.as_u64() {
                Some(n) => n,
                None => match number.as_f64() {
                    Some(f) if f.fract() == 0.0 && f >= 1.0 && f <= u64::MAX as f64 => f as u64,
                    _ => return Err(must()),
                },
            },
            _ => return Err(must()),
        };
        if count == 0 {
            return Err(must());
        }
        // Saturating is right: no file has more lines than usize::MAX anyway.
        Ok(Some(usize::try_from(count).unwrap_or(usize::MAX)))
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
pub(super) fn resolve(cwd: &Path, path: &str) -> PathBuf {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::tools::test_support::{assert_error, context, run};
    use tempfile::tempdir;

    // --- arguments and dispatch ---

    #[test]
    fn specs_match_names() {
        let specs = builtin_specs();
        let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
        assert_eq!(names, BUILTIN_NAMES);
        for spec in &specs {
            assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
            assert!(!spec.description.is_empty());
        }
        assert!(is_builtin("shell"));
        assert!(is_builtin("list_dir"));
        assert!(!is_builtin("Shell"));
        assert!(!is_builtin("mcp__x"));
    }

    #[tokio::test]
    async fn unknown_tool_is_an_error() {
        let dir = tempdir().unwrap();
        let out = run("rm_rf", json!({}), &context(&dir)).await;
        assert_error(&out, "unknown tool `rm_rf`");
    }

    #[tokio::test]
    async fn missing_and_mistyped_arguments_name_the_field() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let out = run("shell", json!({}), &ctx).await;
        assert_eq!(
            out,
            ToolOutput::error("invalid arguments for shell: missing string field `command`")
        );
        let out = run("shell", json!({"command": 5}), &ctx).await;
        assert_error(&out, "field `command` must be a string, got a number");
        let out = run("shell", json!({"command": "true", "timeout_s": -1}), &ctx).await;
        assert_error(&out, "`timeout_s`");
        let out = run("read_file", json!({"path": "x", "offset": 0}), &ctx).await;
        assert_error(&out, "`offset`");
        let out = run("write_file", json!({"path": "x"}), &ctx).await;
        assert_error(&out, "`content`");
        let out = run("list_dir", json!([1, 2]), &ctx).await;
        assert_error(&out, "must be a JSON object");
    }

    #[tokio::test]
    async fn arguments_sent_as_a_json_string_are_decoded() {
        let dir = tempdir().unwrap();
        let out = run(
            "shell",
            Value::String(r#"{"command": "echo hi"}"#.to_owned()),
            &context(&dir),
        )
        .await;
        assert_eq!(out, ToolOutput::ok("hi\n[exit code: 0]"));
    }

    #[tokio::test]
    async fn cancelled_before_start_runs_nothing() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        ctx.cancel.cancel();
        let out = run("shell", json!({"command": "touch ran"}), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.contains("interrupted"));
        assert!(!dir.path().join("ran").exists());
    }
}
