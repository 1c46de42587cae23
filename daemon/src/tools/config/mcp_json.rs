//! A session directory's `.mcp.json`, in Claude Code's format (`mcpServers`) or VS
//! Code's (`servers`), with JSON errors at their line and column.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::def::{Env, ServerDef, process_env};
use super::entry::{ServerFields, err, server_def};
use crate::config::ConfigError;

/// `.mcp.json`: Claude Code's `mcpServers`, or VS Code's `servers` (the same
/// entries, with `type` "stdio" or "http"). Other top-level keys (VS Code's
/// `inputs`) are ignored.
#[derive(Deserialize)]
struct McpJson {
    #[serde(rename = "mcpServers")]
    mcp_servers: Option<BTreeMap<String, ServerFields>>,
    servers: Option<BTreeMap<String, ServerFields>>,
}

/// Parses a `.mcp.json`, expanding variables from the daemon's environment.
/// Stdio servers without `cwd` run in the file's directory.
pub fn parse_mcp_json(text: &str, path: &Path) -> Result<Vec<ServerDef>, ConfigError> {
    parse_mcp_json_with(text, path, &process_env)
}

/// Parses a `.mcp.json`, expanding variables from `env`.
///
/// An empty object declares no servers; an object with neither `mcpServers`
/// nor `servers` (or with both) is refused, so a file in another client's
/// format is never read as "no servers".
pub fn parse_mcp_json_with(
    text: &str,
    path: &Path,
    env: Env<'_>,
) -> Result<Vec<ServerDef>, ConfigError> {
    let json_error = |e: serde_json::Error| ConfigError {
        path: path.display().to_string(),
        line: e.line().max(1),
        column: e.column().max(1),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let top: BTreeMap<String, serde::de::IgnoredAny> = serde_json::from_str(text)
        .map_err(&json_error)
        .map_err(|mut e| {
            if e.message.starts_with("invalid type") {
                e.message = "the file must be a JSON object with \"mcpServers\"".to_string();
            }
            e
        })?;
    let file: McpJson = serde_json::from_str(text).map_err(json_error)?;
    let at_top = |message: String| ConfigError {
        path: path.display().to_string(),
        line: 1,
        column: 1,
        message,
    };
    let entries = match (file.mcp_servers, file.servers) {
        (Some(_), Some(_)) => {
            return Err(at_top(
                "give either \"mcpServers\" or \"servers\" (VS Code's name), not both".to_string(),
            ));
        }
        (Some(m), None) | (None, Some(m)) => m,
        (None, None) if top.is_empty() => BTreeMap::new(),
        (None, None) => {
            let keys: Vec<&str> = top.keys().map(String::as_str).collect();
            return Err(at_top(format!(
                "no \"mcpServers\" object (found {}); declare servers as {{\"mcpServers\": {{\"NAME\": {{...}}}}}}",
                keys.join(", ")
            )));
        }
    };
    let mut out = Vec::new();
    for (name, fields) in entries {
        // serde_json keeps no positions for values: an entry's own errors point
        // at the text they name when there is one, else the top of the file,
        // with the server's name in the message.
        let def = server_def(name, fields, path, env).map_err(|e| {
            let offset = e.written.is_some().then(|| e.offset(text, 0));
            err(path, text, offset, e.message)
        })?;
        out.extend(def);
    }
    Ok(out)
}
