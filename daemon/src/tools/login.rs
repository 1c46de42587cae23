//! OAuth logins for the manager's HTTP servers: `mcp.login_start`,
//! `mcp.login_finish` and `mcp.logout` find the server's [`ServerAuth`] here.

use std::path::PathBuf;
use std::sync::Arc;

use tether_shared::protocol::{LoginFinishResult, LoginStartResult, LogoutResult};

use super::ToolManager;
use super::server::{Server, lock};

/// How long `mcp.login_finish` waits for the server to come up with the token.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(15);
use crate::tools::mcp::auth::ServerAuth;

impl ToolManager {
    /// Keeps OAuth tokens under `dir` (call before [`ToolManager::start`]).
    pub fn set_auth_dir(&self, dir: PathBuf) {
        self.auth.set_dir(dir);
    }

    /// The OAuth state of the HTTP server `name`.
    fn auth_of(&self, name: &str) -> Result<Arc<ServerAuth>, String> {
        let inner = lock(&self.inner);
        let mut known = Vec::new();
        for s in inner.servers.values() {
            if let Some(a) = &s.auth {
                if s.key.name == name {
                    return Ok(a.clone());
                }
                known.push(s.key.name.clone());
            }
        }
        known.sort();
        known.dedup();
        let list = if known.is_empty() {
            "there is none".to_string()
        } else {
            format!("there are: {}", known.join(", "))
        };
        Err(format!(
            "no HTTP tool server named {name:?} that can log in ({list}; `tether tools` lists the servers)"
        ))
    }

    /// Begins a login: the URL to open, for a browser that comes back to
    /// `redirect_uri`.
    pub async fn login_start(
        &self,
        server: &str,
        redirect_uri: &str,
    ) -> Result<LoginStartResult, String> {
        let auth = self.auth_of(server)?;
        let started = auth.start_login(redirect_uri).await?;
        self.auth.remember_login(&started.login_id, auth);
        Ok(started)
    }

    /// Finishes a login with the code from the redirect.
    pub async fn login_finish(
        &self,
        login_id: &str,
        code: &str,
        state: Option<&str>,
    ) -> Result<LoginFinishResult, String> {
        let auth = self.auth.login(login_id).ok_or_else(|| {
            format!("no login {login_id:?} is pending (run `tether mcp login` again)")
        })?;
        let servers: Vec<Arc<Server>> = lock(&self.inner)
            .servers
            .values()
            .filter(|s| s.auth.as_ref().is_some_and(|a| Arc::ptr_eq(a, &auth)))
            .cloned()
            .collect();
        let before: Vec<u64> = servers.iter().map(|s| lock(&s.state).settles).collect();
        let mut done = auth.finish_login(login_id, code, state).await?;
        // The supervisor reconnects (or, running, takes the new token): answer
        // with what came of it, so `tether mcp login` can say.
        if let Some((server, before)) = servers.first().zip(before.first()) {
            let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
            loop {
                let woken = server.changed.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let (settles, status, error) = {
                    let st = lock(&server.state);
                    (st.settles, st.status, st.error.clone())
                };
                if settles > *before {
                    done.status = Some(status);
                    done.error = error;
                    break;
                }
                tokio::select! {
                    _ = &mut woken => {}
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
        }
        Ok(done)
    }

    /// Forgets a server's tokens.
    pub fn logout(&self, server: &str) -> Result<LogoutResult, String> {
        let auth = self.auth_of(server)?;
        Ok(LogoutResult {
            server: server.to_string(),
            removed: auth.logout(),
        })
    }
}
