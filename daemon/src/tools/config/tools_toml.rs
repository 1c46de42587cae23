//! `tools.toml`, the global tool config file: `[servers.NAME]` tables, with unknown keys
//! refused and errors at the line and column of what is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::def::{Env, ServerDef, process_env};
use super::entry::{ServerFields, err, server_def};
use crate::config::ConfigError;
use crate::tools::mcp::Transport;
use crate::tools::mcp::auth::OAuthConfig;

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
    /// OAuth settings of an HTTP server (`[servers.NAME.oauth]`).
    oauth: Option<OAuthConfig>,
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
        let mut server = spanned.into_inner();
        let oauth = server.oauth.take();
        let fields = server.into_fields();
        let def = server_def(name.clone(), fields, path, env)
            .map_err(|e| err(path, text, Some(e.offset(text, at)), e.message))?;
        if let Some(mut def) = def {
            if oauth.is_some() && !matches!(def.transport, Transport::Http { .. }) {
                let message =
                    format!("server {name:?}: [oauth] applies to HTTP servers (url) only");
                return Err(err(path, text, Some(at), message));
            }
            def.oauth = oauth;
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
            env_file: None,
            timeout_s: self.timeout_s,
            per_session: self.per_session,
            disabled: self.disabled,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_http_server_takes_an_oauth_table_and_a_stdio_one_refuses_it() {
        let defs = parse_tools_toml(
            r#"
[servers.linear]
url = "https://mcp.linear.app/mcp"

[servers.linear.oauth]
client_id = "tether-ana"
client_secret_env = "LINEAR_SECRET"
scopes = ["read", "write"]

[servers.plain]
url = "http://127.0.0.1:3001/mcp"
"#,
            Path::new("/c/tools.toml"),
        )
        .unwrap();
        let oauth = defs[0].oauth.clone().unwrap();
        assert_eq!(oauth.client_id.as_deref(), Some("tether-ana"));
        assert_eq!(oauth.client_secret_env.as_deref(), Some("LINEAR_SECRET"));
        assert_eq!(oauth.scopes, Some(vec!["read".into(), "write".into()]));
        assert_eq!(defs[1].oauth, None);

        let e = parse_tools_toml(
            "[servers.fs]\ncommand = \"x\"\n[servers.fs.oauth]\nclient_id = \"a\"\n",
            Path::new("/c/tools.toml"),
        )
        .unwrap_err();
        assert!(e.message.contains("HTTP servers"), "{e}");
        let e = parse_tools_toml(
            "[servers.w]\nurl = \"http://x/mcp\"\n[servers.w.oauth]\nclient = \"a\"\n",
            Path::new("/c/tools.toml"),
        )
        .unwrap_err();
        assert!(e.message.contains("client"), "{e}");
    }
}
