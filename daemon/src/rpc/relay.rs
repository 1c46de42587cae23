//! Requests that need a session's agent or its tool servers, sent to a daemon
//! of the fleet that does not run the session (issue 16): relayed through the store
//! (`store/relay.rs`) to the node that does, which runs each as if its own
//! client had sent it and stores the reply for the asking node. The asking
//! node checks what is its own to check first (the session exists, this client
//! did not attach it read-only); the owner checks the rest, as for a local
//! request. Wake-ups both ways come through `LISTEN/NOTIFY`; the heartbeat's
//! period is the fallback poll.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_shared::protocol::{Method, Request, RpcError, code, method as m};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::errors;
use super::methods::{Reply, run};
use super::outbox::Outbox;
use super::peer::Peer;
use crate::daemon::DaemonContext;
use crate::store::{RelayState, Relayed};

/// The methods a node relays to a session's owner; the owner runs no other.
pub(super) const RELAYED: &[&str] = &[
    m::SessionApprove::NAME,
    m::SessionDeny::NAME,
    m::SessionInterrupt::NAME,
    m::SessionAnswer::NAME,
    m::SessionCompact::NAME,
    m::SessionBudget::NAME,
    m::SessionCancelInput::NAME,
    m::SessionKill::NAME,
    // The session's tool servers run on its node.
    m::ToolsList::NAME,
    m::PromptsList::NAME,
    m::PromptsGet::NAME,
];

/// Those of [`RELAYED`] a read-only attachment may still send (they change
/// nothing), as on the session's own node.
const READS: &[&str] = &[
    m::ToolsList::NAME,
    m::PromptsList::NAME,
    m::PromptsGet::NAME,
];

/// A relayed request's reply, as stored in its row.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stored {
    Result(Value),
    Error(RpcError),
}

/// `method` with `params` for a session another node runs: `elsewhere` is
/// the local answer, returned when the request cannot be relayed.
pub(super) async fn forward(
    peer: &Arc<Peer>,
    method: &str,
    mut params: Value,
    elsewhere: RpcError,
) -> Reply {
    let ctx = &peer.ctx;
    let Some(name) = params.get("session").and_then(Value::as_str) else {
        return Err(elsewhere);
    };
    let info = ctx.registry.info(name)?;
    if !READS.contains(&method) {
        peer.writable(&info.id, &info.name)?;
    }
    // By id: the owner finds it whatever it knows of names.
    params["session"] = Value::String(info.id.clone());
    let store = &ctx.shared.store;
    let fleet = &ctx.shared.fleet;
    // Subscribed before the row exists: its reply's wake-up is not missed.
    let mut wakes = store.fleet_wakes();
    let id = store
        .relay_put(&info.id, &fleet.node, method, &params.to_string())
        .await
        .map_err(errors::storage)?;
    info!(session = %info.id, method, request = id, "relayed to the session's node");
    // Nobody claims it within two leases: its node is down and no other
    // took the session over yet.
    let patience = give_up_after(fleet.lease);
    let give_up = Instant::now() + patience;
    let mut live_check = Instant::now() + fleet.lease;
    loop {
        tokio::select! {
            _ = peer.done.cancelled() => {
                // Nobody will read the reply: withdrawn if not taken yet.
                let _ = store.relay_withdraw(id).await;
                return Ok(None);
            }
            check = next_wake(&mut wakes, id) => {
                if !check {
                    continue;
                }
            }
            _ = tokio::time::sleep(fleet.heartbeat()) => {}
        }
        match store.relay_state(id).await.map_err(errors::storage)? {
            RelayState::Answered(reply) => {
                if let Err(e) = store.relay_drop(id).await {
                    warn!(request = id, error = %e, "could not remove a relayed request's row");
                }
                return decode(&reply);
            }
            // Withdrawn only while nobody claimed it: then nothing was done.
            RelayState::Waiting
                if Instant::now() > give_up
                    && store.relay_withdraw(id).await.map_err(errors::storage)? =>
            {
                return Err(not_taken(&elsewhere, patience));
            }
            RelayState::Claimed(node) if Instant::now() > live_check => {
                live_check = Instant::now() + fleet.lease;
                let live = store
                    .live_nodes(fleet.lease_ms() * 2)
                    .await
                    .map_err(errors::storage)?;
                if !live.contains(&node) {
                    return Err(owner_gone(&info.name, &node));
                }
            }
            RelayState::Gone => {
                return Err(errors::internal(format!(
                    "the relayed request for session {:?} vanished from the store",
                    info.name
                )));
            }
            _ => {}
        }
    }
}

/// Waits for the next wake-up: true when it may be request `id`'s reply (its
/// own, or a catch-up after wake-ups were lost); never resolves once there are
/// no wake-ups (the heartbeat's poll is left).
async fn next_wake(
    wakes: &mut Option<tokio::sync::broadcast::Receiver<crate::store::FleetWake>>,
    id: i64,
) -> bool {
    use tokio::sync::broadcast::error::RecvError;
    let Some(rx) = wakes else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(w) => w.session.is_none() || w.answered == Some(id),
        Err(RecvError::Lagged(_)) => true,
        Err(RecvError::Closed) => {
            *wakes = None;
            true
        }
    }
}

/// How long a relayed request waits to be claimed: two leases (its node's
/// lease runs out, another node's heartbeat takes the session over) and 5 s.
fn give_up_after(lease: Duration) -> Duration {
    lease * 2 + Duration::from_secs(5)
}

/// The owner never took the request: nothing was done.
fn not_taken(elsewhere: &RpcError, after: Duration) -> RpcError {
    RpcError::new(
        code::ELSEWHERE,
        format!(
            "{} and did not take the request within {} s, so nothing was done: \
             is that node up? (`tether ls` shows where each session runs)",
            elsewhere
                .message
                .split(';')
                .next()
                .unwrap_or("the session runs elsewhere"),
            after.as_secs()
        ),
    )
}

/// The owner took the request and stopped before answering.
fn owner_gone(name: &str, node: &str) -> RpcError {
    RpcError::new(
        code::ELSEWHERE,
        format!(
            "node {node:?} took the request for session {name:?} and stopped before answering: \
             it may or may not have been done; check `tether logs {name}`"
        ),
    )
}

fn decode(reply: &str) -> Reply {
    match serde_json::from_str::<Stored>(reply) {
        Ok(Stored::Result(v)) => Ok(Some(v)),
        Ok(Stored::Error(e)) => Err(e),
        Err(e) => Err(errors::internal(format!(
            "the reply to a relayed request does not parse: {e}"
        ))),
    }
}

/// Takes the requests relayed to this node's sessions and answers each, from
/// its start until `stop`: woken by their notifications, and at each heartbeat
/// (a notification lost, a session taken over with requests left for it).
pub fn start(ctx: Arc<DaemonContext>, stop: CancellationToken) {
    let store = ctx.shared.store.clone();
    if !ctx.shared.fleet.active() {
        return;
    }
    let Some(mut wakes) = store.fleet_wakes() else {
        return;
    };
    let tracker = ctx.shared.tracker.clone();
    tracker.spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        let mut tick = tokio::time::interval(ctx.shared.fleet.heartbeat());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
                w = wakes.recv() => match w {
                    Ok(w) if w.session.is_some() && !w.request => continue,
                    Err(RecvError::Closed) => return,
                    _ => {}
                },
            }
            let claimed = match store.relay_claim(&ctx.shared.fleet.node).await {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "could not read the requests relayed to this node");
                    continue;
                }
            };
            for r in claimed {
                let ctx = ctx.clone();
                ctx.shared.tracker.clone().spawn(answer(ctx, r));
            }
        }
    });
}

/// Runs one relayed request and stores its reply.
async fn answer(ctx: Arc<DaemonContext>, r: Relayed) {
    info!(session = %r.session_id, method = %r.method, request = r.id, "running a relayed request");
    let out = if RELAYED.contains(&r.method.as_str()) {
        let params = serde_json::from_str(&r.params).unwrap_or(Value::Null);
        let (out, _lines) = Outbox::new();
        let peer = Arc::new(Peer::new(ctx.clone(), out, CancellationToken::new()));
        let req = Request {
            jsonrpc: "2.0".into(),
            id: Value::from(r.id),
            method: r.method.clone(),
            params,
        };
        run(&peer, req, None).await
    } else {
        Err(errors::method_not_found(&r.method))
    };
    let stored = match out {
        Ok(v) => Stored::Result(v.unwrap_or(Value::Null)),
        Err(e) => Stored::Error(e),
    };
    let reply = serde_json::to_string(&stored).unwrap_or_else(|e| {
        serde_json::to_string(&Stored::Error(errors::internal(e))).unwrap_or_default()
    });
    if let Err(e) = ctx.shared.store.relay_answer(r.id, &reply).await {
        warn!(request = r.id, error = %e, "could not store a relayed request's reply");
    }
}
