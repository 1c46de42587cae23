//! Sessions as a whole: `session.create`, `session.fork`, `session.list`,
//! `sessions.subscribe`, `session.get` and `session.kill`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tether_shared::protocol::{
    CreateParams, Empty, ForkParams, KillResult, RpcError, SessionInfo, SessionRef,
};
use tracing::Instrument;

use crate::rpc::peer::Peer;
use crate::store::KeyRecord;

/// `session.create`; a keyed request stores `key` with the session.
pub(crate) async fn create(
    peer: &Arc<Peer>,
    p: CreateParams,
    key: Option<KeyRecord>,
) -> Result<SessionInfo, RpcError> {
    Ok(peer.ctx.registry.create(p, key).await?)
}

/// `session.fork`; a keyed request stores `key` with the new session. The
/// session forked is only read, so a read-only attachment to it does not matter.
pub(crate) async fn fork(
    peer: &Arc<Peer>,
    p: ForkParams,
    key: Option<KeyRecord>,
) -> Result<SessionInfo, RpcError> {
    Ok(peer.ctx.registry.fork(p, key).await?)
}

/// `session.list`.
pub(crate) fn list(peer: &Arc<Peer>, _: Empty) -> Result<Vec<SessionInfo>, RpcError> {
    Ok(peer.ctx.registry.list())
}

/// `sessions.subscribe`: the list now, then `sessions.updated` on each change
/// (one list feed per connection, however often it subscribes).
pub(crate) fn subscribe(peer: &Arc<Peer>, _: Empty) -> Result<Vec<SessionInfo>, RpcError> {
    let ctx = &peer.ctx;
    let already = peer.list_feed.swap(true, Ordering::SeqCst);
    let mut rx = ctx.shared.sessions_changed.subscribe();
    rx.mark_unchanged();
    let list = ctx.registry.list();
    if !already {
        let conn = peer.clone();
        ctx.tracker()
            .spawn(async move { conn.list_feed(rx).await }.in_current_span());
    }
    Ok(list)
}

/// `session.get`.
pub(crate) fn get(peer: &Arc<Peer>, p: SessionRef) -> Result<SessionInfo, RpcError> {
    Ok(peer.ctx.registry.find(&p.session)?.info())
}

/// `session.kill`; a keyed request stores `key` with the deletion.
pub(crate) async fn kill(
    peer: &Arc<Peer>,
    p: SessionRef,
    key: Option<KeyRecord>,
) -> Result<KillResult, RpcError> {
    let ctx = &peer.ctx;
    let h = ctx.registry.find(&p.session)?;
    peer.writable(&h)?;
    Ok(KillResult {
        id: ctx.registry.kill(&p.session, key).await?,
    })
}
