//! Tool servers: `tools.list`.

use std::sync::Arc;

use tether_shared::protocol::{RpcError, ToolServerInfo, ToolsParams};

use crate::rpc::peer::Peer;

/// `tools.list`: every server, or those one session sees.
pub(crate) fn list(peer: &Arc<Peer>, p: ToolsParams) -> Result<Vec<ToolServerInfo>, RpcError> {
    let ctx = &peer.ctx;
    let id = match &p.session {
        Some(name) => Some(ctx.registry.find(name)?.id),
        None => None,
    };
    Ok(ctx.shared.tools.servers_for(id.as_deref()))
}
