//! Tool config files: the global `tools.toml` and a session directory's
//! `.mcp.json`, parsed into server definitions with file/line/column errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::mcp::client::Transport;

/// The default per-call timeout of an MCP server.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// One server definition from a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDef {
    /// The server's name (the prefix of its tools' names).
    pub name: String,
    /// The file that declares it.
    pub source: PathBuf,
    /// How to reach it.
    pub transport: Transport,
    /// Per-call timeout.
    pub timeout: Duration,
    /// One process per session instead of one shared by all sessions.
    pub per_session: bool,
}

fn err(path: &Path, text: &str, offset: Option<usize>, message: String) -> ConfigError {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    servers: BTreeMap<String, toml::Spanned<TomlServer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlServer {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout_s: Option<f64>,
    #[serde(default)]
    per_session: bool,
    #[serde(default)]
    disabled: bool,
}

/// Parses `tools.toml`.
pub fn parse_tools_toml(text: &str, path: &Path) -> Result<Vec<ServerDef>, ConfigError> {
    let file: TomlFile = toml::from_str(text).map_err(|e| {
        err(
            path,
            text,
            e.span().map(|s| s.start),
            e.message().trim().to_string(),
        )
    })?;
    let mut out = Vec::new();
    for (name, spanned) in file.servers {
        let at = Some(spanned.span().start);
        let fields = spanned.into_inner().into_fields();
        if let Some(def) = server_def(name, fields, path).map_err(|m| err(path, text, at, m))? {
            out.push(def);
        }
    }
    Ok(out)
}

impl TomlServer {
    /// The same fields as a `.mcp.json` entry (tools.toml has no `type`).
    fn into_fields(self) -> ServerFields {
        ServerFields {
            command: self.command,
            args: self.args,
            env: self.env,
            cwd: self.cwd,
            url: self.url,
            headers: self.headers,
            kind: None,
            timeout_s: self.timeout_s,
            per_session: self.per_session,
            disabled: self.disabled,
        }
    }
}

/// One server entry as either file declares it, checked into a definition;
/// `None` for a disabled entry. Errors are the message only; the caller knows
/// where in its file the entry is.
fn server_def(name: String, s: ServerFields, path: &Path) -> Result<Option<ServerDef>, String> {
    if s.disabled {
        return Ok(None);
    }
    if !valid_server_name(&name) {
        return Err(format!(
            "server name {name:?} may only use letters, digits, '_' and '-'"
        ));
    }
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
    Ok(Some(ServerDef {
        name,
        source: path.to_path_buf(),
        transport,
        timeout,
        per_session: s.per_session,
    }))
}

#[derive(Deserialize)]
struct McpJson {
    #[serde(rename = "mcpServers", default)]
    mcp_servers: BTreeMap<String, ServerFields>,
}

/// A server entry's fields. Unknown keys are allowed: other MCP clients put
/// their own in `.mcp.json` (tools.toml's own struct refuses them).
#[derive(Deserialize)]
struct ServerFields {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    timeout_s: Option<f64>,
    #[serde(default)]
    per_session: bool,
    #[serde(default)]
    disabled: bool,
}

/// Parses a `.mcp.json`. Stdio servers without `cwd` run in the file's directory.
pub fn parse_mcp_json(text: &str, path: &Path) -> Result<Vec<ServerDef>, ConfigError> {
    let file: McpJson = serde_json::from_str(text).map_err(|e| ConfigError {
        path: path.display().to_string(),
        line: e.line().max(1),
        column: e.column().max(1),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    })?;
    let mut out = Vec::new();
    for (name, fields) in file.mcp_servers {
        // serde_json keeps no positions for values: the entry's own errors point at
        // the top of the file, with the server's name in the message.
        if let Some(def) = server_def(name, fields, path).map_err(|message| ConfigError {
            path: path.display().to_string(),
            line: 1,
            column: 1,
            message,
        })? {
            out.push(def);
        }
    }
    Ok(out)
}

/// Reads and parses a tool config file; a missing file declares no servers.
pub fn load(path: &Path) -> Result<Vec<ServerDef>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ConfigError {
                path: path.display().to_string(),
                line: 1,
                column: 1,
                message: format!("cannot read: {e}"),
            });
        }
    };
    if path.file_name().is_some_and(|n| n == ".mcp.json") {
        parse_mcp_json(&text, path)
    } else {
        parse_tools_toml(&text, path)
    }
}

/// The name the model sees for a server's tool: `<server>__<tool>`, characters
/// outside `[A-Za-z0-9_-]` replaced by `_`, at most 64 long.
pub fn model_tool_name(server: &str, tool: &str) -> String {
    let raw = format!("{server}__{tool}");
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tools_toml_servers() {
        let defs = parse_tools_toml(
            r#"
[servers.fs]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/srv/data"]
env = { LOG_LEVEL = "warn" }

[servers.web]
url = "http://127.0.0.1:3001/mcp"
timeout_s = 5
per_session = true

[servers.off]
command = "x"
disabled = true
"#,
            Path::new("/c/tools.toml"),
        )
        .unwrap();
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[0].name, "fs");
        assert!(
            matches!(&defs[0].transport, Transport::Stdio { command, args, env, .. }
            if command == "npx" && args.len() == 3 && env["LOG_LEVEL"] == "warn")
        );
        assert_eq!(defs[0].timeout, DEFAULT_TIMEOUT);
        assert_eq!(defs[1].timeout, Duration::from_secs(5));
        assert!(defs[1].per_session);
    }

    #[test]
    fn tools_toml_errors_have_positions() {
        let e = parse_tools_toml(
            "[servers.a]\ncommand = \"x\"\n\n[servers.b\n",
            Path::new("/t.toml"),
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        let e = parse_tools_toml(
            "[servers.a]\ncommand = \"x\"\nurl = \"http://h\"\n",
            Path::new("/t.toml"),
        )
        .unwrap_err();
        assert!(e.message.contains("not both"), "{e}");
        assert_eq!(e.line, 1);
        let e =
            parse_tools_toml("[servers.a]\ncomand = \"x\"\n", Path::new("/t.toml")).unwrap_err();
        assert!(e.message.contains("comand"), "{e}");
        assert_eq!(e.line, 2);
        let e = parse_tools_toml("[servers.\"a b\"]\ncommand = \"x\"\n", Path::new("/t.toml"))
            .unwrap_err();
        assert!(e.message.contains("a b"));
    }

    #[test]
    fn parses_mcp_json_and_defaults_cwd_to_its_directory() {
        let defs = parse_mcp_json(
            r#"{"mcpServers": {"mem": {"command": "mcp-server-memory", "args": [], "env": {"MEMORY_FILE_PATH": "/tmp/m.json"}},
                "remote": {"type": "http", "url": "http://127.0.0.1:9/mcp"}}}"#,
            Path::new("/proj/.mcp.json"),
        )
        .unwrap();
        assert_eq!(defs.len(), 2);
        let mem = defs.iter().find(|d| d.name == "mem").unwrap();
        assert!(
            matches!(&mem.transport, Transport::Stdio { cwd: Some(c), .. } if c == Path::new("/proj"))
        );
        assert!(matches!(
            &defs.iter().find(|d| d.name == "remote").unwrap().transport,
            Transport::Http { .. }
        ));
    }

    #[test]
    fn mcp_json_errors_have_positions() {
        let e = parse_mcp_json(
            "{\"mcpServers\": {\n  \"a\": {\"command\": }\n}}",
            Path::new("/p/.mcp.json"),
        )
        .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.column > 1);
        let e = parse_mcp_json(
            r#"{"mcpServers": {"a": {"type": "sse", "url": "http://h"}}}"#,
            Path::new("/p/.mcp.json"),
        )
        .unwrap_err();
        assert!(e.message.contains("SSE"));
        // Both formats go through the same checks.
        let e = parse_mcp_json(
            r#"{"mcpServers": {"a": {"command": "x", "url": "http://h"}}}"#,
            Path::new("/p/.mcp.json"),
        )
        .unwrap_err();
        assert!(e.message.contains("not both"), "{e}");
        let e = parse_mcp_json(
            r#"{"mcpServers": {"a": {"command": "x", "timeout_s": -1}}}"#,
            Path::new("/p/.mcp.json"),
        )
        .unwrap_err();
        assert!(e.message.contains("timeout_s"), "{e}");
    }

    #[test]
    fn model_names_are_sanitised_and_capped() {
        assert_eq!(
            model_tool_name("fs", "read_text_file"),
            "fs__read_text_file"
        );
        assert_eq!(model_tool_name("my.srv", "do it!"), "my_srv__do_it_");
        assert_eq!(model_tool_name("s", &"x".repeat(100)).len(), 64);
    }
}
