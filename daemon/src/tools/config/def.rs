//! A server definition as the tool config files give it, and where `${VAR}` values
//! are looked up.

use std::path::PathBuf;
use std::time::Duration;

use crate::tools::mcp::Transport;
use crate::tools::mcp::auth::OAuthConfig;

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
    /// `[servers.NAME.oauth]` of an HTTP server in tools.toml: how to log in.
    pub oauth: Option<OAuthConfig>,
}

/// Looks a variable up in the daemon's environment (a value that is not
/// UTF-8 counts as unset).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
