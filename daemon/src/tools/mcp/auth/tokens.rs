//! A server's tokens on disk: one JSON file per server under the state dir's
//! `mcp-auth/` (directory 0700, file 0600), written whole through a temp file
//! and a rename. Never in the event log or a config file.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client: `client_id` in the body.
    None,
    /// `Authorization: Basic` with the id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the body.
    ClientSecretPost,
}

/// The client tether is at an authorization server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCreds {
    /// Its id (pre-registered, registered dynamically, or a metadata URL).
    pub client_id: String,
    /// Its secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// How it authenticates at the token endpoint.
    pub auth_method: AuthMethod,
}

/// What a login leaves behind for one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The MCP server URL these are for: a changed URL ignores them.
    pub url: String,
    /// The bearer token.
    pub access_token: String,
    /// For renewing it, when the server gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds after which the access token is expired, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The scope granted (or requested, when the server did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Where refreshes go.
    pub token_endpoint: String,
    /// The `resource` parameter the tokens were issued for.
    pub resource: String,
    /// The client that got them.
    pub client: ClientCreds,
}

/// The token file of `server` under `dir`.
pub fn path_for(dir: &Path, server: &str) -> PathBuf {
    dir.join(format!("{server}.json"))
}

/// Reads a token file; a missing or unreadable one is no tokens (logged).
pub fn load(path: &Path) -> Option<StoredTokens> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot read stored mcp tokens");
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "stored mcp tokens do not parse; ignored");
            None
        }
    }
}

/// Writes a token file with mode 0600 (its directory 0700).
pub fn save(path: &Path, tokens: &StoredTokens) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    let text = serde_json::to_string_pretty(tokens).map_err(std::io::Error::other)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Deletes a token file; true when there was one.
pub fn remove(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("mcp-auth"), "linear");
        let t = StoredTokens {
            url: "http://localhost/mcp".into(),
            access_token: "at".into(),
            refresh_token: Some("rt".into()),
            expires_at: Some(5),
            scope: None,
            token_endpoint: "http://localhost/token".into(),
            resource: "http://localhost/mcp".into(),
            client: ClientCreds {
                client_id: "c".into(),
                client_secret: None,
                auth_method: AuthMethod::None,
            },
        };
        save(&path, &t).unwrap();
        assert_eq!(load(&path), Some(t));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(remove(&path).unwrap());
        assert!(!remove(&path).unwrap());
        assert_eq!(load(&path), None);
    }
}
