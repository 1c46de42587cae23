//! `[servers.NAME.oauth]` of an HTTP server in tools.toml.

use serde::Deserialize;

/// `[servers.NAME.oauth]` in tools.toml: all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// A client id registered by hand at the authorization server (skips
    /// dynamic registration).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Its secret, for a confidential client (prefer `client_secret_env`).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The environment variable of the daemon holding the secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The scopes to ask for, instead of those the server names.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// An HTTPS URL serving tether's client ID metadata document, used as the
    /// client id where the authorization server accepts those.
    #[serde(default)]
    pub client_metadata_url: Option<String>,
    /// `"authorization_code"` (the default: a person logs in) or
    /// `"client_credentials"`: the daemon gets tokens itself with `client_id` and
    /// the secret (a machine-to-machine client; no login).
    #[serde(default)]
    pub grant: Option<String>,
    /// With `grant = "client_credentials"`: a PKCS#8 PEM file holding an ES256
    /// (P-256) private key; the client then authenticates with a signed JWT
    /// assertion (`private_key_jwt`, RFC 7523) instead of a secret.
    #[serde(default)]
    pub private_key_file: Option<std::path::PathBuf>,
}

impl OAuthConfig {
    /// Whether the daemon gets its own tokens (client credentials grant).
    pub(super) fn client_credentials(&self) -> bool {
        self.grant.as_deref() == Some("client_credentials")
    }

    /// The client secret, from the config or its environment variable.
    pub(super) fn secret(&self) -> Result<Option<String>, String> {
        if let Some(s) = &self.client_secret {
            return Ok(Some(s.clone()));
        }
        match &self.client_secret_env {
            Some(var) => std::env::var(var).map(Some).map_err(|_| {
                format!(
                    "client_secret_env names {var}, which is not set in the daemon's environment"
                )
            }),
            None => Ok(None),
        }
    }
}
