//! One server entry, as either file declares it, checked into a definition: its name,
//! its transport (`command` for stdio, `url` for streamable HTTP, or an explicit `type`),
//! its timeout, and `${VAR}` expanded in the values Claude Code expands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::def::{DEFAULT_TIMEOUT, Env, ServerDef};
use super::expand;
use crate::config::ConfigError;
use crate::tools::mcp::Transport;

/// Why one server entry cannot be used: the message, and text of the entry to
/// find in the file for a more precise line than the entry's start.
pub(super) struct EntryError {
    pub(super) message: String,
    pub(super) written: Option<String>,
}

impl From<String> for EntryError {
    fn from(message: String) -> Self {
        EntryError {
            message,
            written: None,
        }
    }
}

impl EntryError {
    /// Where in `text` the error is: the first occurrence of the text it names
    /// at or after `from`, else `from`.
    pub(super) fn offset(&self, text: &str, from: usize) -> usize {
        self.written
            .as_deref()
            .and_then(|w| text.get(from..).and_then(|t| t.find(w)))
            .map_or(from, |o| from + o)
    }
}

pub(super) fn err(path: &Path, text: &str, offset: Option<usize>, message: String) -> ConfigError {
    let (line, column) = offset.map_or((1, 1), |o| crate::config::line_col(text, o));
    ConfigError {
        path: path.display().to_string(),
        line,
        column,
        message,
    }
}

fn valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// One server entry as either file declares it, checked into a definition;
/// `None` for a disabled entry. Errors are the message only; the caller knows
/// where in its file the entry is.
pub(super) fn server_def(
    name: String,
    mut s: ServerFields,
    path: &Path,
    env: Env<'_>,
) -> Result<Option<ServerDef>, EntryError> {
    if s.disabled {
        return Ok(None);
    }
    if !valid_server_name(&name) {
        return Err(
            format!("server name {name:?} may only use letters, digits, '_' and '-'").into(),
        );
    }
    if s.env_file.is_some() {
        return Err(format!(
            "server {name:?}: envFile is not supported; put the variables in env (values may use ${{VAR}})"
        )
        .into());
    }
    expand_fields(&name, &mut s, env)?;
    checked_def(name, s, path)
        .map(Some)
        .map_err(EntryError::from)
}

/// Expands `${VAR}` in the values Claude Code expands: command, args, env,
/// url and headers (not names, keys, cwd or tether's own keys).
fn expand_fields(server: &str, s: &mut ServerFields, env: Env<'_>) -> Result<(), EntryError> {
    let one = |value: &mut String, field: &str| -> Result<(), EntryError> {
        if !value.contains("${") {
            return Ok(());
        }
        *value = expand::expand(value, env).map_err(|e| EntryError {
            message: e.message(server, field),
            written: Some(e.written().to_string()),
        })?;
        Ok(())
    };
    if let Some(c) = s.command.as_mut() {
        one(c, "command")?;
    }
    for (i, a) in s.args.iter_mut().enumerate() {
        one(a, &format!("args[{i}]"))?;
    }
    for (k, v) in s.env.iter_mut() {
        one(v, &format!("env.{k}"))?;
    }
    if let Some(u) = s.url.as_mut() {
        one(u, "url")?;
    }
    for (k, v) in s.headers.iter_mut() {
        one(v, &format!("headers.{k}"))?;
    }
    Ok(())
}

/// The definition an expanded entry describes, or what is wrong with it.
fn checked_def(name: String, s: ServerFields, path: &Path) -> Result<ServerDef, String> {
    let kind = match (s.kind.as_deref(), &s.command, &s.url) {
        (Some(k), _, _) => k,
        (None, Some(_), Some(_)) => {
            return Err(format!(
                "server {name:?}: give either command or url, not both"
            ));
        }
        (None, None, None) => {
            return Err(format!(
                "server {name:?}: needs a command (stdio) or a url (streamable HTTP)"
            ));
        }
        (None, _, Some(_)) => "http",
        (None, Some(_), None) => "stdio",
    };
    let transport = match (kind, s.command, s.url) {
        ("stdio", Some(command), _) => {
            if command.trim().is_empty() {
                return Err(format!("server {name:?}: command is empty"));
            }
            // Relative (or absent) working directories are the file's directory's:
            // an auto-started daemon's own is arbitrary.
            let dir = path.parent().map(Path::to_path_buf);
            let cwd = match (s.cwd, &dir) {
                (Some(c), Some(d)) if c.is_relative() => Some(d.join(c)),
                (Some(c), _) => Some(c),
                (None, d) => d.clone(),
            };
            Transport::Stdio {
                command,
                args: s.args,
                env: s.env,
                cwd,
            }
        }
        ("http" | "streamable-http" | "streamableHttp", _, Some(url)) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "server {name:?}: url must start with http:// or https://"
                ));
            }
            Transport::Http {
                url,
                headers: s.headers,
            }
        }
        ("sse", _, _) => {
            return Err(format!(
                "server {name:?}: the legacy SSE transport is not supported; use streamable HTTP"
            ));
        }
        ("stdio", _, _) => return Err(format!("server {name:?}: type \"stdio\" needs a command")),
        ("http" | "streamable-http" | "streamableHttp", _, _) => {
            return Err(format!("server {name:?}: type {kind:?} needs a url"));
        }
        (k, _, _) => {
            return Err(format!(
                "server {name:?}: unknown type {k:?} (use \"stdio\" or \"http\")"
            ));
        }
    };
    let timeout = match s.timeout_s {
        None => DEFAULT_TIMEOUT,
        Some(t) if t.is_finite() && t > 0.0 => crate::util::secs(t),
        Some(_) => {
            return Err(format!(
                "server {name:?}: timeout_s must be a positive number"
            ));
        }
    };
    Ok(ServerDef {
        name,
        source: path.to_path_buf(),
        transport,
        timeout,
        per_session: s.per_session,
        oauth: None,
    })
}

/// A server entry's fields. Unknown keys are allowed: other MCP clients put
/// their own in `.mcp.json` (tools.toml's own struct refuses them).
#[derive(Deserialize)]
pub(super) struct ServerFields {
    pub(super) command: Option<String>,
    #[serde(default)]
    pub(super) args: Vec<String>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, String>,
    pub(super) cwd: Option<PathBuf>,
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    /// VS Code's; refused rather than ignored (the server would lack its variables).
    #[serde(rename = "envFile")]
    pub(super) env_file: Option<serde_json::Value>,
    pub(super) timeout_s: Option<f64>,
    #[serde(default)]
    pub(super) per_session: bool,
    #[serde(default)]
    pub(super) disabled: bool,
}

/// Where the definitions of a session's own servers (`session.create`'s
/// `mcp_servers`) come from: no file, so `tools.list` shows this as their source.
pub const SESSION_SOURCE: &str = "session.create";

/// The definitions of a session's own servers, checked as a `.mcp.json` entry is
/// (without `${VAR}` expansion: the values are given, not written in a file);
/// stdio servers run in the session's working directory `cwd`.
pub fn session_defs(
    servers: &[tether_shared::protocol::SessionServer],
    cwd: &Path,
) -> Result<Vec<ServerDef>, String> {
    let mut defs: Vec<ServerDef> = Vec::new();
    for s in servers {
        if !valid_server_name(&s.name) {
            return Err(format!(
                "server name {:?} may only use letters, digits, '_' and '-'",
                s.name
            ));
        }
        if defs.iter().any(|d| d.name == s.name) {
            return Err(format!("two servers are named {:?}", s.name));
        }
        let fields = ServerFields {
            command: s.command.clone(),
            args: s.args.clone(),
            env: s.env.clone(),
            cwd: Some(cwd.to_path_buf()),
            url: s.url.clone(),
            headers: s.headers.clone(),
            kind: None,
            env_file: None,
            timeout_s: None,
            per_session: true,
            disabled: false,
        };
        defs.push(checked_def(
            s.name.clone(),
            fields,
            Path::new(SESSION_SOURCE),
        )?);
    }
    Ok(defs)
}
