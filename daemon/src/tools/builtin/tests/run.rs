//! Arguments and dispatch of builtin calls.

use super::support::{assert_error, context, run};
use crate::tools::builtin::specs::{BUILTIN_NAMES, builtin_specs, is_builtin};
use crate::tools::types::ToolOutput;
use serde_json::Value;
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
