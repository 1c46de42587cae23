//! OAuth 2.1 for streamable HTTP servers, as the MCP authorization spec
//! (2025-11-25) describes it.
//!
//! [`ServerAuth`] is one server's login state, shared by its HTTP transport
//! (`http`: puts the bearer token on every request, refreshes it before it
//! expires and once on a 401, and records a 401's or 403's challenge), its
//! supervisor (which shows `needs login` while it waits) and the `mcp.*` RPC
//! methods (which run a login). `challenge` reads `WWW-Authenticate`,
//! `discovery` finds the authorization server, `config` is `[servers.NAME.oauth]`, `flow` registers the client
//! and makes the token requests, `tokens` keeps them in the state dir.
//!
//! A login is two steps because the daemon may be headless: `start_login`
//! discovers, registers and returns the authorization URL for a redirect URI
//! the CLI listens on; `finish_login` exchanges the code the redirect carried.

mod challenge;
mod config;
mod discovery;
mod flow;
mod http;
mod jwt;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
mod tokens;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tether_shared::protocol::{LoginFinishResult, LoginNeeded, LoginStartResult};
use tokio::sync::Notify;

pub use challenge::Challenge;
pub use config::OAuthConfig;
pub use http::AuthHttp;
use tokens::StoredTokens;

/// After this many logins that still get `insufficient_scope` for the same
/// scope, the server is not offered another (the spec asks for a limit).
pub const MAX_STEP_UPS: u32 = 3;
/// Tokens are refreshed this long before they expire.
const REFRESH_MARGIN_S: u64 = 60;

/// What the server's last refusal said.
#[derive(Debug, Default)]
struct State {
    tokens: Option<StoredTokens>,
    /// The last 401's challenge (used by the next login).
    challenge: Option<Challenge>,
    needs: Option<LoginNeeded>,
    /// The scope of the last `insufficient_scope` and how many in a row.
    insufficient: Option<(String, u32)>,
    /// Set when the step-up limit is reached.
    gave_up: Option<String>,
    pending: BTreeMap<String, flow::Pending>,
}

/// One HTTP server's OAuth state.
pub struct ServerAuth {
    server: String,
    url: String,
    config: OAuthConfig,
    file: Option<PathBuf>,
    http: reqwest::Client,
    state: Mutex<State>,
    /// One refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
    /// Woken when a login finishes or the tokens are removed, so a supervisor
    /// waiting in `needs login` reconnects.
    pub changed: Notify,
    /// Woken when a request is refused (the server now needs a login, or the
    /// step-up limit is reached), so a running server shows it.
    pub refused: Notify,
}

impl std::fmt::Debug for ServerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerAuth")
            .field("server", &self.server)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ServerAuth {
    /// The state of `server` at `url`, with its stored tokens from `dir` (when
    /// they are for this URL).
    pub fn new(server: &str, url: &str, config: OAuthConfig, dir: Option<PathBuf>) -> ServerAuth {
        let file = dir.map(|d| tokens::path_for(&d, server));
        let stored = file
            .as_deref()
            .and_then(tokens::load)
            .filter(|t| t.url == url);
        ServerAuth {
            server: server.to_string(),
            url: url.to_string(),
            config,
            file,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::limited(5))
                .build()
                .unwrap_or_default(),
            state: Mutex::new(State {
                tokens: stored,
                ..State::default()
            }),
            refreshing: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
            refused: Notify::new(),
        }
    }

    /// Whether it was made for this URL and config.
    pub fn is_for(&self, url: &str, config: &OAuthConfig) -> bool {
        self.url == url && &self.config == config
    }

    /// Why the server waits for a login, if it does.
    pub fn needs_login(&self) -> Option<LoginNeeded> {
        lock(&self.state).needs.clone()
    }

    /// Set when step-ups stopped helping (the server keeps refusing the scope).
    pub fn gave_up(&self) -> Option<String> {
        lock(&self.state).gave_up.clone()
    }

    fn login_needed(&self, reason: String, scope: Option<String>) -> LoginNeeded {
        LoginNeeded {
            command: format!("tether mcp login {}", self.server),
            scope,
            reason,
        }
    }

    /// The access token for the next request, refreshed first when it is about
    /// to expire (a failed refresh keeps the old one: the server decides).
    pub async fn bearer(&self) -> Option<String> {
        let current = lock(&self.state).tokens.clone()?;
        if current.refresh_token.is_some() && flow::expiring(&current, REFRESH_MARGIN_S) {
            let _ = self.refresh(&current.access_token).await;
        }
        lock(&self.state)
            .tokens
            .as_ref()
            .map(|t| t.access_token.clone())
    }

    /// Refreshes unless another task already replaced `stale`. True when a
    /// fresh token is in place.
    async fn refresh(&self, stale: &str) -> bool {
        let _one = self.refreshing.lock().await;
        let Some(current) = lock(&self.state).tokens.clone() else {
            return false;
        };
        if current.access_token != stale {
            return true;
        }
        match flow::refresh(&self.http, &current).await {
            Ok(fresh) => {
                tracing::info!(server = %self.server, "mcp access token refreshed");
                self.store(Some(fresh));
                true
            }
            Err(e) => {
                tracing::warn!(server = %self.server, error = %e, "mcp token refresh failed");
                false
            }
        }
    }

    fn store(&self, tokens: Option<StoredTokens>) {
        if let Some(file) = &self.file {
            let r = match &tokens {
                Some(t) => tokens::save(file, t),
                None => tokens::remove(file).map(|_| ()),
            };
            if let Err(e) = r {
                tracing::warn!(server = %self.server, file = %file.display(), error = %e, "cannot write mcp tokens");
            }
        }
        lock(&self.state).tokens = tokens;
    }

    /// A request got 401. With `sent` (the token it carried) and a refresh
    /// token, refreshes: true means retry once. Otherwise the server needs a
    /// login.
    pub async fn unauthorized(&self, header: &str, sent: Option<&str>) -> bool {
        let challenge = Challenge::parse(header);
        let refreshable = lock(&self.state)
            .tokens
            .as_ref()
            .is_some_and(|t| t.refresh_token.is_some());
        if let Some(sent) = sent
            && refreshable
            && self.refresh(sent).await
        {
            return true;
        }
        if self.config.own_grant() {
            let grant = if self.config.cross_app_access() {
                "cross-app access"
            } else {
                "the client credentials grant"
            };
            match self.own_token(&challenge, sent).await {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(server = %self.server, error = %e, "{grant} failed");
                    let mut st = lock(&self.state);
                    st.gave_up = Some(format!("{grant} failed: {e}"));
                    drop(st);
                    self.refused.notify_waiters();
                    return false;
                }
            }
        }
        let reason = match (sent, refreshable) {
            (None, _) => "the server answered 401 and there is no token".to_string(),
            (Some(_), true) => "the server refused the token and refreshing it failed".to_string(),
            (Some(_), false) => "the server refused the token (expired or revoked)".to_string(),
        };
        let mut st = lock(&self.state);
        st.needs = Some(self.login_needed(reason, challenge.scope.clone()));
        st.challenge = Some(challenge);
        drop(st);
        self.refused.notify_waiters();
        false
    }

    /// Gets a token with the client credentials grant or cross-app access, unless another request
    /// already replaced `sent`.
    async fn own_token(&self, challenge: &Challenge, sent: Option<&str>) -> Result<(), String> {
        let _one = self.refreshing.lock().await;
        let current = lock(&self.state)
            .tokens
            .as_ref()
            .map(|t| t.access_token.clone());
        if current.is_some() && current.as_deref() != sent {
            return Ok(());
        }
        let found = discovery::discover(&self.http, &self.url, challenge).await?;
        let scope = flow::choose_scope(&self.config, challenge.scope.as_deref(), &found, None);
        let (http, url, server, config) = (&self.http, &self.url, &self.server, &self.config);
        let scope = scope.as_deref();
        let (tokens, grant) = if config.cross_app_access() {
            let t = flow::cross_app_access(http, url, server, config, &found, scope).await?;
            (t, "cross-app access (ID-JAG)")
        } else {
            let t = flow::client_credentials(http, url, server, config, &found, scope).await?;
            (t, "the client credentials grant")
        };
        tracing::info!(server = %self.server, grant, "mcp token from a machine-client grant");
        self.store(Some(tokens));
        let mut st = lock(&self.state);
        st.needs = None;
        st.gave_up = None;
        Ok(())
    }

    /// A request got 403 `insufficient_scope`: the server needs a login with
    /// more scope, until [`MAX_STEP_UPS`] logins in a row did not help.
    pub fn insufficient_scope(&self, header: &str) {
        let challenge = Challenge::parse(header);
        let mut st = lock(&self.state);
        let held = st.tokens.as_ref().and_then(|t| t.scope.clone());
        let required = challenge.scope.clone().unwrap_or_default();
        let count = match &st.insufficient {
            Some((s, n)) if *s == required => n + 1,
            _ => 1,
        };
        st.insufficient = Some((required.clone(), count));
        if count >= MAX_STEP_UPS {
            st.needs = None;
            st.gave_up = Some(format!(
                "the server still answers insufficient_scope (scope {required:?}) after {count} logins; giving up (run `tether mcp login {}` to try again)",
                self.server
            ));
        } else {
            let mut scope = held.unwrap_or_default();
            for s in required.split_whitespace() {
                if !scope.split_whitespace().any(|x| x == s) {
                    if !scope.is_empty() {
                        scope.push(' ');
                    }
                    scope.push_str(s);
                }
            }
            st.needs = Some(self.login_needed(
                format!("the server needs more scope ({required}): insufficient_scope"),
                Some(scope).filter(|s| !s.is_empty()),
            ));
        }
        st.challenge = Some(challenge);
        drop(st);
        self.refused.notify_waiters();
    }

    /// Discovers, registers and returns the URL to open for `redirect_uri`.
    pub async fn start_login(&self, redirect_uri: &str) -> Result<LoginStartResult, String> {
        let known = lock(&self.state).challenge.clone();
        let challenge = match known {
            Some(c) => c,
            None => self.probe().await,
        };
        let found = discovery::discover(&self.http, &self.url, &challenge).await?;
        let client = flow::client_for(
            &self.http,
            &self.server,
            &self.config,
            &found.server,
            redirect_uri,
        )
        .await?;
        let (previous, step_up) = {
            let st = lock(&self.state);
            let step = st.needs.as_ref().and_then(|n| n.scope.clone());
            (st.tokens.as_ref().and_then(|t| t.scope.clone()), step)
        };
        let wanted = step_up.or(challenge.scope.clone());
        let scope =
            flow::choose_scope(&self.config, wanted.as_deref(), &found, previous.as_deref());
        let verifier = flow::random_token(32)?;
        let state = flow::random_token(16)?;
        let login_id = format!("l-{}", flow::random_token(9)?);
        let url = flow::authorization_url(
            &found.server,
            &client,
            redirect_uri,
            &flow::challenge_of(&verifier),
            &state,
            &found.resource,
            scope.as_deref(),
        )?;
        lock(&self.state).pending.insert(
            login_id.clone(),
            flow::Pending {
                verifier,
                state,
                redirect_uri: redirect_uri.to_string(),
                client,
                token_endpoint: found.server.token_endpoint.clone(),
                resource: found.resource.clone(),
                scope: scope.clone(),
            },
        );
        Ok(LoginStartResult {
            login_id,
            authorization_url: url,
            scope,
        })
    }

    /// An unauthenticated `initialize`, to read the server's 401 challenge when
    /// no request has had one yet (an empty challenge when it does not refuse).
    async fn probe(&self) -> Challenge {
        let body = serde_json::json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "tether", "version": env!("CARGO_PKG_VERSION")}}
        });
        let resp = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .json(&body)
            .send()
            .await;
        match resp {
            Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED => r
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|h| h.to_str().ok())
                .map(Challenge::parse)
                .unwrap_or_default(),
            _ => Challenge::default(),
        }
    }

    /// Exchanges the code of a started login and keeps the tokens.
    pub async fn finish_login(
        &self,
        login_id: &str,
        code: &str,
        state: Option<&str>,
    ) -> Result<LoginFinishResult, String> {
        let pending = lock(&self.state)
            .pending
            .get(login_id)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no login {login_id:?} is pending for {} (start again)",
                    self.server
                )
            })?;
        if let Some(s) = state
            && s != pending.state
        {
            return Err(
                "the redirect's state does not match this login: not using its code".into(),
            );
        }
        let tokens = flow::exchange(&self.http, &self.url, &pending, code).await?;
        let result = LoginFinishResult {
            server: self.server.clone(),
            scope: tokens.scope.clone(),
            refreshable: tokens.refresh_token.is_some(),
            status: None,
            error: None,
        };
        self.store(Some(tokens));
        {
            let mut st = lock(&self.state);
            st.pending.remove(login_id);
            st.needs = None;
            st.gave_up = None;
        }
        tracing::info!(server = %self.server, "mcp login finished");
        self.changed.notify_waiters();
        Ok(result)
    }

    /// Forgets the tokens (file included); true when there were some.
    pub fn logout(&self) -> bool {
        let had_file = self
            .file
            .as_deref()
            .is_some_and(|f| tokens::remove(f).unwrap_or(false));
        let had = {
            let mut st = lock(&self.state);
            let had = st.tokens.take().is_some();
            st.insufficient = None;
            st.gave_up = None;
            had
        };
        self.changed.notify_waiters();
        had || had_file
    }
}

/// Every HTTP server's [`ServerAuth`], by server name, and where tokens live.
#[derive(Debug, Default)]
pub struct AuthBook {
    dir: Mutex<Option<PathBuf>>,
    servers: Mutex<BTreeMap<String, Arc<ServerAuth>>>,
    /// Started logins, by id.
    logins: Mutex<BTreeMap<String, Arc<ServerAuth>>>,
}

impl AuthBook {
    /// Keeps tokens under `dir` (the state dir's `mcp-auth`).
    pub fn set_dir(&self, dir: PathBuf) {
        *self.dir.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir);
    }

    /// Remembers which server a started login belongs to.
    pub fn remember_login(&self, login_id: &str, auth: Arc<ServerAuth>) {
        let mut logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        // Abandoned attempts are not kept forever.
        if logins.len() > 64 {
            logins.clear();
        }
        logins.insert(login_id.to_string(), auth);
    }

    /// The server a started login belongs to.
    pub fn login(&self, login_id: &str) -> Option<Arc<ServerAuth>> {
        let logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        logins.get(login_id).cloned()
    }

    /// The state of `server` at `url`; a changed URL or config starts afresh.
    pub fn for_server(&self, server: &str, url: &str, config: &OAuthConfig) -> Arc<ServerAuth> {
        let dir = self.dir.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = servers.get(server)
            && a.is_for(url, config)
        {
            return a.clone();
        }
        let a = Arc::new(ServerAuth::new(server, url, config.clone(), dir));
        servers.insert(server.to_string(), a.clone());
        a
    }
}
