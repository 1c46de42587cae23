//! Dispatch of a builtin call: decoding its arguments and running the tool in `shell` or
//! `files`, with every failure turned into an `is_error` output for the model.

use serde_json::Value;

use super::args::Args;
use super::error::ToolError;
use super::files;
use super::shell::{self, ShellRequest};
use super::specs::{BUILTIN_NAMES, is_builtin};
use crate::tools::types::{ToolContext, ToolOutput};

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::tools::builtin::specs::builtin_specs;
    use crate::tools::test_support::{assert_error, context, run};
    use serde_json::json;
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
