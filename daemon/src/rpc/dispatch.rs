//! A client's request, before its handler runs (`methods.rs`): the shutdown
//! gate and request keys (idempotent retries); after it, on a fleet, the relay
//! of a request for a session another node runs (`relay.rs`).

use std::sync::Arc;

use serde_json::Value;
use tether_shared::protocol::{KEY_TTL_S, Method, Request, code, method as m};
use tracing::{info, warn};

use super::methods::{Reply, run};
use super::peer::Peer;
use super::{errors, keys, relay};
use crate::store::KeyRecord;

/// Handles one request after the handshake.
pub(super) async fn handle(peer: &Arc<Peer>, req: Request) -> Reply {
    let ctx = &peer.ctx;
    // Until the sessions are restored only `session.list` is served (from the
    // restore's index when it can be, `handlers/sessions.rs`); the rest wait,
    // as they did when connections were taken only after the restore. Before
    // the shutdown gate: a stop that came meanwhile is seen.
    if req.method != m::SessionList::NAME {
        ctx.restored.cancelled().await;
    }
    if ctx.shutdown.is_cancelled() && req.method != m::DaemonStatus::NAME {
        return Err(errors::shutting_down());
    }
    let Some(key) = keys::key_of(&req)? else {
        return dispatch(peer, req, None).await;
    };
    // One request per key at a time: a retry racing its first attempt waits,
    // then finds the first attempt's result.
    let _held = ctx.keys_in_flight.hold(&key.key).await;
    let stored = ctx
        .shared
        .store
        .key(&key.key, KEY_TTL_S)
        .await
        .map_err(errors::keys_unreadable)?;
    if let Some(stored) = stored {
        info!(key = %key.key, method = %req.method, "answered a retried request from its key");
        return keys::replay(stored, &req.method, &key).map(Some);
    }
    let method = req.method.clone();
    let out = dispatch(peer, req, Some(key.record(&method, Value::Null))).await?;
    // The first result, whole; sends, creates and kills stored a provisional
    // one with their effect already, so a failure here loses nothing.
    if let Some(result) = &out
        && let Err(e) = ctx
            .shared
            .store
            .put_key(key.record(&method, result.clone()))
            .await
    {
        warn!(key = %key.key, error = %e, "could not store a request key's result");
    }
    Ok(out)
}

/// Runs `req` here, or, for a request that needs the agent of a session another
/// node of the fleet runs, relays it to that node (issue 16, `relay.rs`).
async fn dispatch(peer: &Arc<Peer>, req: Request, key: Option<KeyRecord>) -> Reply {
    let relayable = peer.ctx.shared.fleet.active() && relay::RELAYED.contains(&req.method.as_str());
    let again = relayable.then(|| (req.method.clone(), req.params.clone()));
    match (run(peer, req, key).await, again) {
        (Err(e), Some((method, params))) if e.code == code::ELSEWHERE => {
            relay::forward(peer, &method, params, e).await
        }
        (out, _) => out,
    }
}
