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
    /// `"authorization_code"` (the default: a person logs in),
    /// `"client_credentials"`: the daemon gets tokens itself with `client_id` and
    /// the secret (a machine-to-machine client; no login), or
    /// `"cross_app_access"`: enterprise-managed authorization, the daemon
    /// exchanges the user's ID token from the enterprise identity provider for
    /// an ID-JAG there (RFC 8693) and presents that to the server's
    /// authorization server (JWT bearer grant, RFC 7523) as `client_id`.
    #[serde(default)]
    pub grant: Option<String>,
    /// With `grant = "client_credentials"`: a PKCS#8 PEM file holding an ES256
    /// (P-256) private key; the client then authenticates with a signed JWT
    /// assertion (`private_key_jwt`, RFC 7523) instead of a secret.
    #[serde(default)]
    pub private_key_file: Option<std::path::PathBuf>,
    /// With `grant = "cross_app_access"`: the identity provider's token
    /// endpoint, where the ID token is exchanged for an ID-JAG.
    #[serde(default)]
    pub idp_token_url: Option<String>,
    /// tether's client id at the identity provider.
    #[serde(default)]
    pub idp_client_id: Option<String>,
    /// The environment variable of the daemon holding tether's secret at the
    /// identity provider (for a confidential client there).
    #[serde(default)]
    pub idp_client_secret_env: Option<String>,
    /// A file holding the user's ID token from the identity provider (read
    /// at each exchange, so whatever renews it can rewrite it).
    #[serde(default)]
    pub id_token_file: Option<std::path::PathBuf>,
    /// The environment variable of the daemon holding that ID token.
    #[serde(default)]
    pub id_token_env: Option<String>,
}

impl OAuthConfig {
    /// Whether the daemon gets its own tokens (client credentials grant).
    pub(super) fn client_credentials(&self) -> bool {
        self.grant.as_deref() == Some("client_credentials")
    }

    /// Whether the daemon exchanges an enterprise ID token (cross-app access).
    pub(super) fn cross_app_access(&self) -> bool {
        self.grant.as_deref() == Some("cross_app_access")
    }

    /// Whether the daemon gets its tokens itself (no login).
    pub(super) fn own_grant(&self) -> bool {
        self.client_credentials() || self.cross_app_access()
    }

    /// The user's ID token, from `id_token_file` or `id_token_env`.
    pub(super) fn id_token(&self, server: &str) -> Result<String, String> {
        let token = if let Some(file) = &self.id_token_file {
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read id_token_file {}: {e}", file.display()))?
        } else if let Some(var) = &self.id_token_env {
            std::env::var(var).map_err(|_| {
                format!("id_token_env names {var}, which is not set in the daemon's environment")
            })?
        } else {
            return Err(format!(
                "grant = \"cross_app_access\" needs id_token_file or id_token_env under [servers.{server}.oauth]"
            ));
        };
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err("the ID token for cross-app access is empty".into());
        }
        Ok(token)
    }

    /// tether's secret at the identity provider, from `idp_client_secret_env`.
    pub(super) fn idp_secret(&self) -> Result<Option<String>, String> {
        match &self.idp_client_secret_env {
            Some(var) => std::env::var(var).map(Some).map_err(|_| {
                format!(
                    "idp_client_secret_env names {var}, which is not set in the daemon's environment"
                )
            }),
            None => Ok(None),
        }
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
