//! Finding a server's authorization server: protected resource metadata
//! (RFC 9728), then authorization server metadata (RFC 8414 and OpenID Connect
//! Discovery), in the order of the MCP authorization spec (2025-11-25), with the
//! 2025-03-26 fallbacks for servers that publish neither.

use serde::Deserialize;
use url::Url;

use super::challenge::Challenge;

/// Protected resource metadata (the fields tether uses).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResourceMetadata {
    /// The resource identifier; must name the MCP server.
    #[serde(default)]
    pub resource: Option<String>,
    /// Issuer URLs of the authorization servers.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes the resource knows.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// Authorization server metadata (the fields tether uses).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerMetadata {
    /// The issuer identifier (the audience of a client assertion).
    #[serde(default)]
    pub issuer: Option<String>,
    /// Where the browser goes.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: String,
    /// Dynamic client registration (RFC 7591), when offered.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// Scopes the server knows.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// `none`, `client_secret_basic`, `client_secret_post`, ...
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Client ID metadata documents (a URL as the client id) are accepted.
    #[serde(default)]
    pub client_id_metadata_document_supported: Option<bool>,
    /// Must list S256 when present.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// Everything discovery found for one MCP server.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The `resource` parameter (RFC 8707) for authorization and token requests.
    pub resource: String,
    /// The resource's `scopes_supported`, when it has metadata listing them.
    pub resource_scopes: Option<Vec<String>>,
    /// The authorization server's metadata.
    pub server: ServerMetadata,
}

/// Runs discovery for the MCP server at `mcp_url`, given the challenge of its
/// last 401 (or an empty one). Errors are one line for users.
pub async fn discover(
    http: &reqwest::Client,
    mcp_url: &str,
    challenge: &Challenge,
) -> Result<Discovered, String> {
    let mcp = Url::parse(mcp_url).map_err(|e| format!("the server URL does not parse: {e}"))?;
    let prm = resource_metadata(http, &mcp, challenge).await?;
    let canonical = canonical(&mcp);
    let (resource, resource_scopes, issuer) = match prm {
        Some(prm) => {
            let resource = match &prm.resource {
                Some(r) => {
                    if !resource_matches(r, &canonical) {
                        return Err(format!(
                            "the server's protected resource metadata names another resource ({r}), not {canonical}: not logging in"
                        ));
                    }
                    r.clone()
                }
                None => canonical.clone(),
            };
            let Some(issuer) = prm.authorization_servers.first() else {
                return Err(
                    "the server's protected resource metadata lists no authorization server".into(),
                );
            };
            let issuer =
                Url::parse(issuer).map_err(|e| format!("authorization server {issuer:?}: {e}"))?;
            (resource, prm.scopes_supported, Some(issuer))
        }
        None => (canonical, None, None),
    };
    let server = match issuer {
        Some(issuer) => match server_metadata(http, &issuer).await? {
            Some(m) => m,
            None => {
                return Err(format!(
                    "no authorization server metadata found for {issuer} (tried RFC 8414 and OpenID Connect locations)"
                ));
            }
        },
        // 2025-03-26: the MCP server's origin is the authorization server,
        // and without metadata its endpoints sit at the origin's root.
        None => {
            let base = origin(&mcp);
            match server_metadata(http, &base).await? {
                Some(m) => m,
                None => ServerMetadata {
                    authorization_endpoint: join(&base, "/authorize"),
                    token_endpoint: join(&base, "/token"),
                    registration_endpoint: Some(join(&base, "/register")),
                    ..ServerMetadata::default()
                },
            }
        }
    };
    if let Some(methods) = &server.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err("the authorization server does not support PKCE with S256".into());
    }
    Ok(Discovered {
        resource,
        resource_scopes,
        server,
    })
}

/// The resource metadata: from the challenge's URL, else the path-based and then
/// the root well-known URL. `None` when the server publishes none.
async fn resource_metadata(
    http: &reqwest::Client,
    mcp: &Url,
    challenge: &Challenge,
) -> Result<Option<ResourceMetadata>, String> {
    let mut candidates = Vec::new();
    if let Some(url) = &challenge.resource_metadata {
        candidates.push(url.clone());
    } else {
        let path = mcp.path().trim_end_matches('/');
        let base = origin(mcp);
        if !path.is_empty() {
            candidates.push(join(
                &base,
                &format!("/.well-known/oauth-protected-resource{path}"),
            ));
        }
        candidates.push(join(&base, "/.well-known/oauth-protected-resource"));
    }
    for url in candidates {
        if let Some(m) = fetch_json::<ResourceMetadata>(http, &url).await? {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// Authorization server metadata for `issuer`, trying in order (spec
/// 2025-11-25): with a path, RFC 8414 path-inserted, OIDC path-inserted, OIDC
/// path-appended; without one, RFC 8414 then OIDC at the root.
async fn server_metadata(
    http: &reqwest::Client,
    issuer: &Url,
) -> Result<Option<ServerMetadata>, String> {
    let base = origin(issuer);
    let path = issuer.path().trim_end_matches('/');
    let candidates = if path.is_empty() {
        vec![
            join(&base, "/.well-known/oauth-authorization-server"),
            join(&base, "/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            join(
                &base,
                &format!("/.well-known/oauth-authorization-server{path}"),
            ),
            join(&base, &format!("/.well-known/openid-configuration{path}")),
            join(&base, &format!("{path}/.well-known/openid-configuration")),
        ]
    };
    for url in candidates {
        if let Some(m) = fetch_json::<ServerMetadata>(http, &url).await? {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// GETs JSON; a 4xx or a body that is not the expected JSON means "not here"
/// (`None`), a connection failure is an error.
async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<Option<T>, String> {
    let resp = http
        .get(url)
        .header("accept", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    if !resp.status().is_success() {
        tracing::debug!(%url, status = %resp.status(), "no metadata here");
        return Ok(None);
    }
    match resp.json::<T>().await {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            tracing::debug!(%url, error = %e, "metadata did not parse");
            Ok(None)
        }
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &Url) -> Url {
    let mut o = url.clone();
    o.set_path("");
    o.set_query(None);
    o.set_fragment(None);
    o
}

fn join(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

/// The canonical resource URI of an MCP server URL (RFC 8707: no fragment;
/// lowercase scheme and host, which `Url` gives; no trailing slash).
pub fn canonical(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    u.as_str().trim_end_matches('/').to_string()
}

/// A metadata `resource` names the server when it is the server's URL or a
/// prefix of it on a path boundary (a resource at the origin covers `/mcp`).
fn resource_matches(resource: &str, canonical: &str) -> bool {
    let r = resource.trim_end_matches('/');
    canonical == r
        || canonical
            .strip_prefix(r)
            .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_matches_the_url_or_a_parent_path() {
        let c = canonical(&Url::parse("http://localhost:3000/mcp").unwrap());
        assert_eq!(c, "http://localhost:3000/mcp");
        assert!(resource_matches("http://localhost:3000/mcp", &c));
        assert!(resource_matches("http://localhost:3000", &c));
        assert!(resource_matches("http://localhost:3000/", &c));
        assert!(!resource_matches("https://evil.example.com/mcp", &c));
        assert!(!resource_matches("http://localhost:3000/m", &c));
    }
}
