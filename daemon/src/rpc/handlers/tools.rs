//! Tool servers: `tools.list`, and their prompts: `prompts.list`, `prompts.get`.

use std::sync::Arc;

use tether_shared::protocol::{
    PromptGetParams, PromptGetResult, PromptsParams, PromptsResult, RpcError, ToolServerInfo,
    ToolsParams, code,
};

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

/// `prompts.list`: the prompts of every running server, or of those one session sees.
pub(crate) async fn prompts(peer: &Arc<Peer>, p: PromptsParams) -> Result<PromptsResult, RpcError> {
    let ctx = &peer.ctx;
    let id = match &p.session {
        Some(name) => Some(ctx.registry.get(name).await?.id),
        None => None,
    };
    let (prompts, errors) = ctx.shared.tools.prompts(id.as_deref()).await;
    Ok(PromptsResult { prompts, errors })
}

/// `prompts.get`: one prompt of a server the session sees, expanded. A missing
/// argument, an unknown prompt or content a message cannot carry is
/// `BAD_ARGUMENT` with a message that says what to give.
pub(crate) async fn prompt_get(
    peer: &Arc<Peer>,
    p: PromptGetParams,
) -> Result<PromptGetResult, RpcError> {
    let ctx = &peer.ctx;
    let id = ctx.registry.get(&p.session).await?.id;
    ctx.shared
        .tools
        .get_prompt(&id, &p.server, &p.prompt, &p.arguments)
        .await
        .map_err(|e| RpcError::new(code::BAD_ARGUMENT, e))
}
