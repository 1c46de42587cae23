//! Dispatch of a builtin call: decoding its arguments and running the tool in `shell`,
//! `files` or `history`, with every failure turned into an `is_error` output for the model.

use serde_json::Value;

use super::args::Args;
use super::error::ToolError;
use super::files;
use super::history;
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

    if name.starts_with("history_") {
        let result = tokio::select! {
            () = ctx.cancel.cancelled() => Err(ToolError::Interrupted),
            result = history::run_history_tool(name, &args, ctx) => result,
        };
        return match result {
            Ok(output) => ToolOutput::ok(output),
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
