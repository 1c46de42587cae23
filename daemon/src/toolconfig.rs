//! Tool config files: the global `tools.toml` and a session directory's
//! `.mcp.json`, parsed into server definitions with file/line/column errors.
//! `${VAR}` references in a server's values are expanded here (see `expand`).

mod expand;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::tools::mcp::Transport;

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

/// Looks a variable up in the daemon's environment (a value that is not
/// UTF-8 counts as unset).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Why one server entry cannot be used: the message, and text of the entry to
/// find in the file for a more precise line than the entry's start.
struct EntryError {
    message: String,
    written: Option<String>,
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
    fn offset(&self, text: &str, from: usize) -> usize {
        self.written
            .as_deref()
            .and_then(|w| text.get(from..).and_then(|t| t.find(w)))
            .map_or(from, |o| from + o)
    }
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

/// Parses `tools.toml`, expanding variables from the daemon's environment.
pub fn parse_tools_toml(text: &str, path: &Path) -> Result<Vec<ServerDef>, ConfigError> {
    parse_tools_toml_with(text, path, &process_env)
}

/// Parses `tools.toml`, expanding variables from `env`.
pub fn parse_tools_toml_with(
    text: &str,
    path: &Path,
    env: Env<'_>,
) -> Result<Vec<ServerDef>, ConfigError> {
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
        let at = spanned.span().start;
        let fields = spanned.into_inner().into_fields();
        let def = server_def(name, fields, path, env)
            .map_err(|e| err(path, text, Some(e.offset(text, at)), e.message))?;
        out.extend(def);
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
            env_file: None,
            timeout_s: self.timeout_s,
            per_session: self.per_session,
            disabled: self.disabled,
        }
    }
}

/// One server entry as either file declares it, checked into a definition;
/// `None` for a disabled entry. Errors are the message only; the caller knows
/// where in its file the entry is.
fn server_def(
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
    })
}

/// `.mcp.json`: Claude Code's `mcpServers`, or VS Code's `servers` (the same
/// entries, with `type` "stdio" or "http"). Other top-level keys (VS Code's
/// `inputs`) are ignored.
#[derive(Deserialize)]
struct McpJson {
    #[serde(rename = "mcpServers")]
    mcp_servers: Option<BTreeMap<String, ServerFields>>,
    servers: Option<BTreeMap<String, ServerFields>>,
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
    /// VS Code's; refused rather than ignored (the server would lack its variables).
    #[serde(rename = "envFile")]
    env_file: Option<serde_json::Value>,
    timeout_s: Option<f64>,
    #[serde(default)]
    per_session: bool,
    #[serde(default)]
    disabled: bool,
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

/// The longest tool name OpenAI-compatible APIs accept.
pub const MAX_TOOL_NAME: usize = 64;

/// The name the model sees for a server's tool: `<server>__<tool>`, characters
/// outside `[A-Za-z0-9_-]` replaced by `_`, at most 64 long. Two tools of one
/// server can end up with the same name this way: [`model_tool_names`] makes
/// them unique.
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
    clean.chars().take(MAX_TOOL_NAME).collect()
}

/// FNV-1a: a hash that, unlike std's, is the same in every build and run, so a
/// suffix made from it is stable across daemon restarts.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn with_suffix(base: &str, suffix: &str) -> String {
    let keep = MAX_TOOL_NAME.saturating_sub(suffix.len() + 1);
    format!("{}_{suffix}", &base[..keep.min(base.len())])
}

/// The model names of a server's tools, in the order given, unique within the
/// server. A tool keeps [`model_tool_name`] unless another tool of the server
/// has the same one; then every tool of that clash whose name was changed to
/// fit (characters replaced, or cut at 64) gets `_` and 6 hex digits of a hash
/// of its original name instead (cut so the whole stays within 64). A tool
/// whose name was used as it is keeps it. The result depends only on the set
/// of names, never on their order.
pub fn model_tool_names(server: &str, tools: &[&str]) -> Vec<String> {
    let base: Vec<String> = tools.iter().map(|t| model_tool_name(server, t)).collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &base {
        *count.entry(b.as_str()).or_default() += 1;
    }
    let mut taken: std::collections::BTreeSet<String> = base
        .iter()
        .zip(tools)
        .filter(|(b, t)| count[b.as_str()] == 1 || **b == format!("{server}__{t}"))
        .map(|(b, _)| b.clone())
        .collect();
    base.iter()
        .zip(tools)
        .map(|(b, t)| {
            if count[b.as_str()] == 1 || *b == format!("{server}__{t}") {
                return b.clone();
            }
            let hash = stable_hash(t);
            let short = with_suffix(b, &format!("{:06x}", hash >> 40));
            let name = if taken.contains(&short) {
                with_suffix(b, &format!("{hash:016x}"))
            } else {
                short
            };
            taken.insert(name.clone());
            name
        })
        .collect()
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

    fn test_env(name: &str) -> Option<String> {
        match name {
            "NODE_BIN" => Some("/opt/node/bin/node".into()),
            "TOKEN" => Some("tok-123".into()),
            _ => None,
        }
    }

    #[test]
    fn variables_are_expanded_in_mcp_json_values() {
        let defs = parse_mcp_json_with(
            r#"{"mcpServers": {
  "s": {"command": "${NODE_BIN}", "args": ["${SERVER_JS:-missing}", "$HOME", "$${TOKEN}"],
        "env": {"KEY": "${TOKEN}"}, "cwd": "${TOKEN}"},
  "h": {"type": "http", "url": "${BASE:-http://127.0.0.1:9}/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}
}}"#,
            Path::new("/p/.mcp.json"),
            &test_env,
        )
        .unwrap();
        let s = defs.iter().find(|d| d.name == "s").unwrap();
        let Transport::Stdio {
            command,
            args,
            env,
            cwd,
        } = &s.transport
        else {
            panic!("{s:?}")
        };
        assert_eq!(command, "/opt/node/bin/node");
        assert_eq!(args, &["missing", "$HOME", "${TOKEN}"]);
        assert_eq!(env["KEY"], "tok-123");
        // cwd is not one of the expanded fields.
        assert_eq!(cwd.as_deref(), Some(Path::new("/p/${TOKEN}")));
        let h = defs.iter().find(|d| d.name == "h").unwrap();
        assert!(
            matches!(&h.transport, Transport::Http { url, headers }
                if url == "http://127.0.0.1:9/mcp" && headers["Authorization"] == "Bearer tok-123"),
            "{h:?}"
        );
    }

    #[test]
    fn a_missing_variable_names_itself_and_its_line() {
        let text = "{\"mcpServers\": {\n  \"s\": {\n    \"command\": \"node\",\n    \"args\": [\"${SERVER_JS}\"]\n  }\n}}";
        let e = parse_mcp_json_with(text, Path::new("/p/.mcp.json"), &test_env).unwrap_err();
        assert_eq!((e.line, e.column), (4, 15), "{e}");
        assert!(
            e.message.contains("SERVER_JS is not set") && e.message.contains("args[0]"),
            "{e}"
        );
        let e = parse_tools_toml_with(
            "[servers.a]\ncommand = \"x\"\n\n[servers.b]\ncommand = \"y\"\nheaders = {}\nenv = { K = \"${API_KEY}\" }\n",
            Path::new("/t.toml"),
            &test_env,
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (7, 14), "{e}");
        assert!(e.message.contains("API_KEY is not set"), "{e}");
        assert!(e.message.contains("\"b\""), "{e}");
        // A disabled entry is not expanded, so its variables need not be set.
        assert!(
            parse_tools_toml_with(
                "[servers.a]\ncommand = \"${NOPE}\"\ndisabled = true\n",
                Path::new("/t.toml"),
                &test_env
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn tools_toml_expands_tokens_too() {
        let defs = parse_tools_toml_with(
            "[servers.web]\nurl = \"https://mcp.example.com/mcp\"\nheaders = { Authorization = \"Bearer ${TOKEN}\" }\n",
            Path::new("/t.toml"),
            &test_env,
        )
        .unwrap();
        assert!(matches!(&defs[0].transport, Transport::Http { headers, .. }
            if headers["Authorization"] == "Bearer tok-123"));
    }

    #[test]
    fn vs_code_servers_are_read() {
        let defs = parse_mcp_json_with(
            r#"{"inputs": [], "servers": {
  "mem": {"type": "stdio", "command": "mcp-server-memory", "args": []},
  "web": {"type": "http", "url": "http://127.0.0.1:9/mcp"}
}}"#,
            Path::new("/p/.mcp.json"),
            &test_env,
        )
        .unwrap();
        assert_eq!(defs.len(), 2);
        assert!(matches!(defs[0].transport, Transport::Stdio { .. }));
        assert!(matches!(defs[1].transport, Transport::Http { .. }));
    }

    #[test]
    fn a_file_without_servers_is_refused_unless_empty() {
        let p = Path::new("/p/.mcp.json");
        assert!(parse_mcp_json_with("{}", p, &test_env).unwrap().is_empty());
        assert!(
            parse_mcp_json_with(r#"{"mcpServers": {}}"#, p, &test_env)
                .unwrap()
                .is_empty()
        );
        let e = parse_mcp_json_with(r#"{"mcp_servers": {"a": {"command": "x"}}}"#, p, &test_env)
            .unwrap_err();
        assert!(
            e.message.contains("no \"mcpServers\"") && e.message.contains("mcp_servers"),
            "{e}"
        );
        let e =
            parse_mcp_json_with(r#"{"mcpServers": {}, "servers": {}}"#, p, &test_env).unwrap_err();
        assert!(e.message.contains("not both"), "{e}");
        let e = parse_mcp_json_with("[]", p, &test_env).unwrap_err();
        assert!(e.message.contains("JSON object"), "{e}");
        let e = parse_mcp_json_with(
            r#"{"servers": {"a": {"type": "stdio", "command": "x", "envFile": ".env"}}}"#,
            p,
            &test_env,
        )
        .unwrap_err();
        assert!(e.message.contains("envFile"), "{e}");
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

    #[test]
    fn clashing_model_names_get_stable_suffixes() {
        let names = model_tool_names(
            "probe",
            &["weird.name/with spaces", "weird_name_with_spaces", "echo"],
        );
        assert_eq!(names[1], "probe__weird_name_with_spaces");
        assert_eq!(names[2], "probe__echo");
        assert!(
            names[0].starts_with("probe__weird_name_with_spaces_") && names[0].len() == 36,
            "{names:?}"
        );
        // The same in any order, and across runs (the hash is fixed).
        let reversed = model_tool_names(
            "probe",
            &["echo", "weird_name_with_spaces", "weird.name/with spaces"],
        );
        assert_eq!(reversed[2], names[0]);
        assert_eq!(
            names[0],
            format!(
                "probe__weird_name_with_spaces_{:06x}",
                stable_hash("weird.name/with spaces") >> 40
            )
        );
        // Two changed names that clash both get suffixes; long ones stay within 64.
        let long = "y".repeat(80);
        let long_a = format!("{long}a");
        let long_b = format!("{long}b");
        let n = model_tool_names("s", &["a b", "a/b", &long_a, &long_b]);
        assert!(
            n[0] != n[1] && n[0].starts_with("s__a_b_") && n[1].starts_with("s__a_b_"),
            "{n:?}"
        );
        assert!(
            n[2] != n[3] && n[2].len() == 64 && n[3].len() == 64,
            "{n:?}"
        );
        let unique: std::collections::BTreeSet<&String> = n.iter().collect();
        assert_eq!(unique.len(), 4);
    }
}
