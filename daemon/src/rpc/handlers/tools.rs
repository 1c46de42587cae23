//! Tool servers: `tools.list`.

use std::sync::Arc;

use tether_shared::protocol::{RpcError, ToolServerInfo, ToolsParams};

use crate::rpc::peer::Peer;

/// `tools.list`: every server, or those one session sees (woken for it: the
/// servers of its `.mcp.json` run only while it is awake).
pub(crate) async fn list(
    peer: &Arc<Peer>,
    p: ToolsParams,
) -> Result<Vec<ToolServerInfo>, RpcError> {
    let ctx = &peer.ctx;
    let id = match &p.session {
        Some(name) => Some(ctx.registry.get(name).await?.id),
        None => None,
    };
    Ok(ctx.shared.tools.servers_for(id.as_deref()))
}
