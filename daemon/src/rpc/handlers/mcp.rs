//! OAuth logins for HTTP tool servers: `mcp.login_start`, `mcp.login_finish`,
//! `mcp.logout` (the browser part runs in the CLI, see `tether mcp login`).

use std::sync::Arc;

use tether_shared::protocol::{
    LoginFinishParams, LoginFinishResult, LoginStartParams, LoginStartResult, LogoutParams,
    LogoutResult, RpcError, code,
};

use crate::rpc::peer::Peer;

fn failed(message: String) -> RpcError {
    RpcError::new(code::LOGIN_FAILED, message)
}

/// `mcp.login_start`: discovery and registration; the URL to open.
pub(crate) async fn login_start(
    peer: &Arc<Peer>,
    p: LoginStartParams,
) -> Result<LoginStartResult, RpcError> {
    let redirect = url::Url::parse(&p.redirect_uri)
        .map_err(|e| RpcError::new(code::BAD_ARGUMENT, format!("redirect_uri: {e}")))?;
    let loopback = matches!(
        redirect.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]")
    );
    if redirect.scheme() != "http" || !loopback {
        return Err(RpcError::new(
            code::BAD_ARGUMENT,
            "redirect_uri must be an http:// loopback URL (127.0.0.1, localhost or [::1])",
        ));
    }
    peer.ctx
        .shared
        .tools
        .login_start(&p.server, &p.redirect_uri)
        .await
        .map_err(failed)
}

/// `mcp.login_finish`: the code exchange; the daemon keeps the tokens.
pub(crate) async fn login_finish(
    peer: &Arc<Peer>,
    p: LoginFinishParams,
) -> Result<LoginFinishResult, RpcError> {
    peer.ctx
        .shared
        .tools
        .login_finish(&p.login_id, &p.code, p.state.as_deref())
        .await
        .map_err(failed)
}

/// `mcp.logout`: forgets the server's tokens.
pub(crate) fn logout(peer: &Arc<Peer>, p: LogoutParams) -> Result<LogoutResult, RpcError> {
    peer.ctx.shared.tools.logout(&p.server).map_err(failed)
}
