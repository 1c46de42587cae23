//! The OAuth 2.1 steps after discovery: choosing the client (pre-registered,
//! a client ID metadata document, or dynamic registration, RFC 7591), the
//! authorization URL with PKCE S256 (RFC 7636), `resource` (RFC 8707) and the
//! scope, and the token requests (code exchange and refresh) with the client
//! authentication the server's metadata names.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::config::OAuthConfig;
use super::discovery::{Discovered, ServerMetadata};
use super::tokens::{AuthMethod, ClientCreds, StoredTokens};

/// `count` random bytes, base64url: PKCE verifiers, `state`, login ids.
pub fn random_token(count: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The S256 challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The scope to ask for: the configured one, else the challenge's, else the
/// resource's `scopes_supported`, else none (the parameter is left out);
/// `offline_access` is added when the authorization server lists it, for a
/// refresh token. On a step-up `previous` (the scope held) is kept too.
pub fn choose_scope(
    config: &OAuthConfig,
    challenge_scope: Option<&str>,
    found: &Discovered,
    previous: Option<&str>,
) -> Option<String> {
    fn add(scopes: &mut Vec<String>, s: &str) {
        for part in s.split_whitespace() {
            if !scopes.iter().any(|x| x == part) {
                scopes.push(part.to_string());
            }
        }
    }
    let mut scopes: Vec<String> = Vec::new();
    if let Some(p) = previous {
        add(&mut scopes, p);
    }
    if let Some(c) = &config.scopes {
        add(&mut scopes, &c.join(" "));
    } else if let Some(s) = challenge_scope {
        add(&mut scopes, s);
    } else if let Some(s) = &found.resource_scopes {
        add(&mut scopes, &s.join(" "));
    }
    if scopes.is_empty() {
        return None;
    }
    if found
        .server
        .scopes_supported
        .as_ref()
        .is_some_and(|s| s.iter().any(|x| x == "offline_access"))
    {
        add(&mut scopes, "offline_access");
    }
    Some(scopes.join(" "))
}

/// How to authenticate with a secret, by what the server supports (RFC 8414:
/// `client_secret_basic` when it says nothing).
fn secret_method(server: &ServerMetadata) -> AuthMethod {
    match &server.token_endpoint_auth_methods_supported {
        Some(m) if !m.iter().any(|x| x == "client_secret_basic") => {
            if m.iter().any(|x| x == "client_secret_post") {
                AuthMethod::ClientSecretPost
            } else {
                AuthMethod::ClientSecretBasic
            }
        }
        _ => AuthMethod::ClientSecretBasic,
    }
}

fn method_name(m: AuthMethod) -> &'static str {
    match m {
        AuthMethod::None => "none",
        AuthMethod::ClientSecretBasic => "client_secret_basic",
        AuthMethod::ClientSecretPost => "client_secret_post",
    }
}

fn method_from(name: &str) -> Option<AuthMethod> {
    match name {
        "none" => Some(AuthMethod::None),
        "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
        "client_secret_post" => Some(AuthMethod::ClientSecretPost),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Registered {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// The client to log in as: the configured id, else a client ID metadata
/// document URL (when configured and the server accepts them), else one
/// registered dynamically for `redirect_uri`.
pub async fn client_for(
    http: &reqwest::Client,
    server_name: &str,
    config: &OAuthConfig,
    server: &ServerMetadata,
    redirect_uri: &str,
) -> Result<ClientCreds, String> {
    if let Some(id) = &config.client_id {
        let secret = config.secret()?;
        let auth_method = match &secret {
            Some(_) => secret_method(server),
            None => AuthMethod::None,
        };
        return Ok(ClientCreds {
            client_id: id.clone(),
            client_secret: secret,
            auth_method,
        });
    }
    if let Some(url) = &config.client_metadata_url
        && server.client_id_metadata_document_supported == Some(true)
    {
        return Ok(ClientCreds {
            client_id: url.clone(),
            client_secret: None,
            auth_method: AuthMethod::None,
        });
    }
    let Some(endpoint) = &server.registration_endpoint else {
        return Err(format!(
            "the authorization server offers no dynamic client registration: register tether there and set client_id (and client_secret_env) under [servers.{server_name}.oauth] in tools.toml"
        ));
    };
    let wanted = match &server.token_endpoint_auth_methods_supported {
        Some(m) if !m.iter().any(|x| x == "none") => secret_method(server),
        _ => AuthMethod::None,
    };
    let body = serde_json::json!({
        "client_name": "tether",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method_name(wanted),
    });
    let resp = http
        .post(endpoint)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("client registration at {endpoint} failed: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        return Err(format!(
            "client registration at {endpoint} was refused ({status}): {}",
            text.trim()
        ));
    }
    let reg: Registered = resp
        .json()
        .await
        .map_err(|e| format!("the client registration answer does not parse: {e}"))?;
    let auth_method = match reg
        .token_endpoint_auth_method
        .as_deref()
        .and_then(method_from)
    {
        Some(m) => m,
        None if reg.client_secret.is_some() && wanted == AuthMethod::None => secret_method(server),
        None => wanted,
    };
    Ok(ClientCreds {
        client_id: reg.client_id,
        client_secret: reg.client_secret,
        auth_method,
    })
}

/// The URL the browser opens.
pub fn authorization_url(
    server: &ServerMetadata,
    client: &ClientCreds,
    redirect_uri: &str,
    challenge: &str,
    state: &str,
    resource: &str,
    scope: Option<&str>,
) -> Result<String, String> {
    let mut url = url::Url::parse(&server.authorization_endpoint)
        .map_err(|e| format!("authorization endpoint: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &client.client_id);
        q.append_pair("redirect_uri", redirect_uri);
        q.append_pair("code_challenge", challenge);
        q.append_pair("code_challenge_method", "S256");
        q.append_pair("state", state);
        q.append_pair("resource", resource);
        if let Some(s) = scope {
            q.append_pair("scope", s);
        }
    }
    Ok(url.into())
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    /// Set by a token exchange (RFC 8693).
    #[serde(default)]
    issued_token_type: Option<String>,
}

/// Posts a token request whose `form` carries the client's authentication.
async fn plain_token_request(
    http: &reqwest::Client,
    token_endpoint: &str,
    form: Vec<(&str, String)>,
) -> Result<TokenAnswer, String> {
    send_token_request(http.post(token_endpoint), token_endpoint, form).await
}

/// Posts a token request (`form` without the client's credentials, which are
/// added here) and reads the answer into tokens.
async fn token_request(
    http: &reqwest::Client,
    token_endpoint: &str,
    client: &ClientCreds,
    mut form: Vec<(&str, String)>,
) -> Result<TokenAnswer, String> {
    let mut req = http.post(token_endpoint);
    match client.auth_method {
        AuthMethod::ClientSecretBasic => {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let secret = client.client_secret.as_deref().unwrap_or_default();
            let pair = format!("{}:{}", enc(&client.client_id), enc(secret));
            req = req.header("authorization", format!("Basic {}", STANDARD.encode(pair)));
        }
        AuthMethod::ClientSecretPost => {
            form.push(("client_id", client.client_id.clone()));
            form.push((
                "client_secret",
                client.client_secret.clone().unwrap_or_default(),
            ));
        }
        AuthMethod::None => form.push(("client_id", client.client_id.clone())),
    }
    send_token_request(req, token_endpoint, form).await
}

async fn send_token_request(
    req: reqwest::RequestBuilder,
    token_endpoint: &str,
    form: Vec<(&str, String)>,
) -> Result<TokenAnswer, String> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let resp = req
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("the token request to {token_endpoint} failed: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        return Err(format!(
            "the token endpoint refused ({status}): {}",
            text.trim()
        ));
    }
    resp.json()
        .await
        .map_err(|e| format!("the token answer does not parse: {e}"))
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What a pending login remembers between the URL and the code.
#[derive(Debug, Clone)]
pub struct Pending {
    pub verifier: String,
    pub state: String,
    pub redirect_uri: String,
    pub client: ClientCreds,
    pub token_endpoint: String,
    pub resource: String,
    pub scope: Option<String>,
}

/// Exchanges an authorization code.
pub async fn exchange(
    http: &reqwest::Client,
    url: &str,
    pending: &Pending,
    code: &str,
) -> Result<StoredTokens, String> {
    let form = vec![
        ("grant_type", "authorization_code".to_string()),
        ("code", code.to_string()),
        ("redirect_uri", pending.redirect_uri.clone()),
        ("code_verifier", pending.verifier.clone()),
        ("resource", pending.resource.clone()),
    ];
    let t = token_request(http, &pending.token_endpoint, &pending.client, form).await?;
    Ok(StoredTokens {
        url: url.to_string(),
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        expires_at: t.expires_in.map(|s| now_s() + s),
        scope: t.scope.or_else(|| pending.scope.clone()),
        token_endpoint: pending.token_endpoint.clone(),
        resource: pending.resource.clone(),
        client: pending.client.clone(),
    })
}

/// The client credentials grant: a token for the client itself, no browser.
pub async fn client_credentials(
    http: &reqwest::Client,
    url: &str,
    server_name: &str,
    config: &OAuthConfig,
    found: &Discovered,
    scope: Option<&str>,
) -> Result<StoredTokens, String> {
    let Some(client_id) = &config.client_id else {
        return Err(format!(
            "grant = \"client_credentials\" needs client_id (and a secret) under [servers.{server_name}.oauth]"
        ));
    };
    let secret = config.secret()?;
    let client = ClientCreds {
        client_id: client_id.clone(),
        auth_method: match &secret {
            Some(_) => secret_method(&found.server),
            None => AuthMethod::None,
        },
        client_secret: secret,
    };
    let mut form = vec![
        ("grant_type", "client_credentials".to_string()),
        ("resource", found.resource.clone()),
    ];
    if let Some(key) = &config.private_key_file {
        let audience = found
            .server
            .issuer
            .clone()
            .unwrap_or_else(|| found.server.token_endpoint.clone());
        let assertion = super::jwt::client_assertion(key, client_id, &audience)?;
        form.push((
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
        ));
        form.push(("client_assertion", assertion));
        form.push(("client_id", client_id.clone()));
        if let Some(s) = scope {
            form.push(("scope", s.to_string()));
        }
        let t = plain_token_request(http, &found.server.token_endpoint, form).await?;
        return Ok(StoredTokens {
            url: url.to_string(),
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: t.expires_in.map(|s| now_s() + s),
            scope: t.scope.or_else(|| scope.map(String::from)),
            token_endpoint: found.server.token_endpoint.clone(),
            resource: found.resource.clone(),
            client,
        });
    }
    if let Some(s) = scope {
        form.push(("scope", s.to_string()));
    }
    let t = token_request(http, &found.server.token_endpoint, &client, form).await?;
    Ok(StoredTokens {
        url: url.to_string(),
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        expires_at: t.expires_in.map(|s| now_s() + s),
        scope: t.scope.or_else(|| scope.map(String::from)),
        token_endpoint: found.server.token_endpoint.clone(),
        resource: found.resource.clone(),
        client,
    })
}

/// The token exchange grant (RFC 8693).
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// An OpenID Connect ID token as the subject token.
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// An Identity Assertion JWT Authorization Grant, the token asked for.
const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The JWT bearer authorization grant (RFC 7523).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The form of the token exchange at the identity provider: the user's ID
/// token for an ID-JAG naming the MCP server's authorization server
/// (`audience`, its issuer) and the MCP server (`resource`).
pub fn id_jag_form(
    id_token: &str,
    audience: &str,
    resource: &str,
    scope: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE.to_string()),
        ("requested_token_type", ID_JAG_TYPE.to_string()),
        ("subject_token", id_token.to_string()),
        ("subject_token_type", ID_TOKEN_TYPE.to_string()),
        ("audience", audience.to_string()),
        ("resource", resource.to_string()),
    ];
    if let Some(s) = scope {
        form.push(("scope", s.to_string()));
    }
    form
}

/// The form of the JWT bearer grant presenting an ID-JAG.
pub fn jwt_bearer_form(assertion: &str, scope: Option<&str>) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("grant_type", JWT_BEARER.to_string()),
        ("assertion", assertion.to_string()),
    ];
    if let Some(s) = scope {
        form.push(("scope", s.to_string()));
    }
    form
}

/// Enterprise-managed authorization (the MCP extension, SEP-990): the user's
/// ID token is exchanged at the identity provider for an ID-JAG, which the
/// MCP server's authorization server takes in a JWT bearer grant from the
/// client `client_id`. No browser; repeated whenever the token is refused.
pub async fn cross_app_access(
    http: &reqwest::Client,
    url: &str,
    server_name: &str,
    config: &OAuthConfig,
    found: &Discovered,
    scope: Option<&str>,
) -> Result<StoredTokens, String> {
    let section = format!("[servers.{server_name}.oauth]");
    let Some(idp_url) = &config.idp_token_url else {
        return Err(format!(
            "grant = \"cross_app_access\" needs idp_token_url (the identity provider's token endpoint) under {section}"
        ));
    };
    let Some(idp_client_id) = &config.idp_client_id else {
        return Err(format!(
            "grant = \"cross_app_access\" needs idp_client_id (tether's client id at the identity provider) under {section}"
        ));
    };
    let Some(client_id) = &config.client_id else {
        return Err(format!(
            "grant = \"cross_app_access\" needs client_id (tether's client id at the MCP server's authorization server) under {section}"
        ));
    };
    let id_token = config.id_token(server_name)?;
    let idp_secret = config.idp_secret()?;
    let idp_client = ClientCreds {
        client_id: idp_client_id.clone(),
        auth_method: match &idp_secret {
            Some(_) => AuthMethod::ClientSecretBasic,
            None => AuthMethod::None,
        },
        client_secret: idp_secret,
    };
    let audience = found
        .server
        .issuer
        .clone()
        .unwrap_or_else(|| found.server.token_endpoint.clone());
    let form = id_jag_form(&id_token, &audience, &found.resource, scope);
    let jag = token_request(http, idp_url, &idp_client, form)
        .await
        .map_err(|e| format!("the identity provider's token exchange: {e}"))?;
    if let Some(t) = &jag.issued_token_type
        && t != ID_JAG_TYPE
    {
        return Err(format!(
            "the identity provider issued a {t}, not an ID-JAG ({ID_JAG_TYPE})"
        ));
    }
    let secret = config.secret()?;
    let client = ClientCreds {
        client_id: client_id.clone(),
        auth_method: match &secret {
            Some(_) => secret_method(&found.server),
            None => AuthMethod::None,
        },
        client_secret: secret,
    };
    let form = jwt_bearer_form(&jag.access_token, scope);
    let t = token_request(http, &found.server.token_endpoint, &client, form)
        .await
        .map_err(|e| format!("the JWT bearer grant with the ID-JAG: {e}"))?;
    Ok(StoredTokens {
        url: url.to_string(),
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        expires_at: t.expires_in.map(|s| now_s() + s),
        scope: t.scope.or_else(|| scope.map(String::from)),
        token_endpoint: found.server.token_endpoint.clone(),
        resource: found.resource.clone(),
        client,
    })
}

/// Renews `old` with its refresh token; the answer may rotate the refresh token.
pub async fn refresh(http: &reqwest::Client, old: &StoredTokens) -> Result<StoredTokens, String> {
    let Some(rt) = &old.refresh_token else {
        return Err("no refresh token".into());
    };
    let form = vec![
        ("grant_type", "refresh_token".to_string()),
        ("refresh_token", rt.clone()),
        ("resource", old.resource.clone()),
    ];
    let t = token_request(http, &old.token_endpoint, &old.client, form).await?;
    Ok(StoredTokens {
        access_token: t.access_token,
        refresh_token: t.refresh_token.or_else(|| old.refresh_token.clone()),
        expires_at: t.expires_in.map(|s| now_s() + s),
        scope: t.scope.or_else(|| old.scope.clone()),
        ..old.clone()
    })
}

/// Whether `tokens` expire within `margin_s` seconds.
pub fn expiring(tokens: &StoredTokens, margin_s: u64) -> bool {
    tokens.expires_at.is_some_and(|t| now_s() + margin_s >= t)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_is_the_base64url_sha256_of_the_verifier() {
        // Expected value computed with Python hashlib + base64.urlsafe_b64encode.
        assert_eq!(
            challenge_of("tether-pkce-verifier-0123456789-abcdefghijklmnop"),
            "gEVi5eT4u4kNcQpm9nbuehxx4HIaPhoorCZUEvsswH0"
        );
        assert_eq!(random_token(32).unwrap().len(), 43);
    }

    fn found(resource_scopes: Option<Vec<&str>>, as_scopes: Option<Vec<&str>>) -> Discovered {
        let v = |o: Option<Vec<&str>>| o.map(|v| v.into_iter().map(String::from).collect());
        Discovered {
            resource: "http://x/mcp".into(),
            resource_scopes: v(resource_scopes),
            server: ServerMetadata {
                scopes_supported: v(as_scopes),
                ..ServerMetadata::default()
            },
        }
    }

    #[test]
    fn the_scope_comes_from_config_challenge_or_metadata_else_none() {
        let none = OAuthConfig::default();
        let f = found(Some(vec!["a", "b"]), None);
        assert_eq!(
            choose_scope(&none, Some("c"), &f, None).as_deref(),
            Some("c")
        );
        assert_eq!(choose_scope(&none, None, &f, None).as_deref(), Some("a b"));
        assert_eq!(choose_scope(&none, None, &found(None, None), None), None);
        let cfg = OAuthConfig {
            scopes: Some(vec!["z".into()]),
            ..OAuthConfig::default()
        };
        assert_eq!(
            choose_scope(&cfg, Some("c"), &f, None).as_deref(),
            Some("z")
        );
        let step = choose_scope(&none, Some("a w"), &f, Some("a"));
        assert_eq!(step.as_deref(), Some("a w"));
        let offline = found(Some(vec!["a"]), Some(vec!["a", "offline_access"]));
        assert_eq!(
            choose_scope(&none, None, &offline, None).as_deref(),
            Some("a offline_access")
        );
    }

    #[test]
    fn cross_app_access_asks_the_idp_for_an_id_jag_then_presents_it_as_a_jwt_bearer_grant() {
        let form = id_jag_form("idt", "https://as.example", "https://mcp.example/mcp", None);
        let get = |k: &str| form.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("grant_type"),
            Some("urn:ietf:params:oauth:grant-type:token-exchange")
        );
        assert_eq!(
            get("requested_token_type"),
            Some("urn:ietf:params:oauth:token-type:id-jag")
        );
        assert_eq!(get("subject_token"), Some("idt"));
        assert_eq!(
            get("subject_token_type"),
            Some("urn:ietf:params:oauth:token-type:id_token")
        );
        assert_eq!(get("audience"), Some("https://as.example"));
        assert_eq!(get("resource"), Some("https://mcp.example/mcp"));
        assert_eq!(get("scope"), None);
        let bearer = jwt_bearer_form("jag", Some("a b"));
        assert_eq!(
            bearer,
            vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string()
                ),
                ("assertion", "jag".to_string()),
                ("scope", "a b".to_string()),
            ]
        );
    }

    #[test]
    fn cross_app_access_reads_the_id_token_from_its_file_and_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("id-token");
        std::fs::write(&file, "tok\n").unwrap();
        let cfg = OAuthConfig {
            grant: Some("cross_app_access".into()),
            id_token_file: Some(file),
            ..OAuthConfig::default()
        };
        assert!(cfg.own_grant());
        assert_eq!(cfg.id_token("s").unwrap(), "tok");
        let none = OAuthConfig {
            grant: Some("cross_app_access".into()),
            ..OAuthConfig::default()
        };
        assert!(none.id_token("s").unwrap_err().contains("id_token_file"));
    }
}
