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
