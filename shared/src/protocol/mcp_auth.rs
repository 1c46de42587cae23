//! The params and results of OAuth for HTTP tool servers (`mcp.login_start`,
//! `mcp.login_finish`, `mcp.logout`); what `tools.list` says about a server that
//! waits for a login is [`LoginNeeded`](super::types::LoginNeeded).
//!
//! The daemon does the OAuth work (discovery, client registration, PKCE, token
//! exchange and refresh) and keeps the tokens; the CLI does the browser part on
//! the user's machine: it opens the authorization URL and receives the redirect
//! on a loopback port, then gives the daemon the code.

use serde::{Deserialize, Serialize};

/// `mcp.login_start` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginStartParams {
    /// The tool server's name (an HTTP server of `tools.toml` or a `.mcp.json`).
    pub server: String,
    /// Where the authorization server sends the browser back, a loopback URL the
    /// CLI listens on, e.g. `http://127.0.0.1:53124/callback`.
    pub redirect_uri: String,
}

/// `mcp.login_start` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginStartResult {
    /// Names this login attempt in `mcp.login_finish`.
    pub login_id: String,
    /// The URL to open in a browser.
    pub authorization_url: String,
    /// The scope requested (space-separated); absent when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// `mcp.login_finish` params: what came back to the redirect URI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFinishParams {
    /// From `mcp.login_start`.
    pub login_id: String,
    /// The `code` query parameter of the redirect.
    pub code: String,
    /// The `state` query parameter of the redirect; checked against the attempt's
    /// own when given (a pasted bare code has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// `mcp.login_finish` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFinishResult {
    /// The server now logged in.
    pub server: String,
    /// The scope the token was granted (space-separated), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Whether the token came with a refresh token (so the daemon can renew it).
    pub refreshable: bool,
    /// The server's status once it reconnected with the token (`running`, or
    /// `needs_login` when it still refuses); absent if it did not settle in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<super::tools_types::ServerStatus>,
    /// The server's error then, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `mcp.logout` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutParams {
    /// The tool server's name.
    pub server: String,
}

/// `mcp.logout` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutResult {
    /// The server.
    pub server: String,
    /// Whether stored tokens were deleted (false: there were none).
    pub removed: bool,
}
