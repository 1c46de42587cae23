//! Typed dispatch: a request's method name picks its entry in the request table
//! (`tether_shared::protocol::requests`), its params are decoded as that
//! method's `Params`, one handler function per method runs, and its `Result` is
//! encoded. Before that: the shutdown gate and request keys (idempotent retries).

use std::sync::Arc;

use serde_json::Value;
use tether_shared::Decision;
use tether_shared::protocol::{KEY_TTL_S, Method, Request, RpcError, method as m};
use tracing::{info, warn};

use super::handlers::{daemon, logs, mcp, schedules, sessions, steer, tools};
use super::peer::Peer;
use super::{errors, keys};
use crate::store::KeyRecord;

/// What a request gets: a result to send, or `None` when the handler answered
/// itself (`session.attach`, `sessions.subscribe`) or the connection ended first (`session.wait`,
/// `sessions.wait_any`).
pub(super) type Reply = Result<Option<Value>, RpcError>;

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

/// Runs the handler of `req`'s method; `key` is the record a keyed mutating
/// request stores with its effect.
async fn dispatch(peer: &Arc<Peer>, req: Request, key: Option<KeyRecord>) -> Reply {
    let Request {
        id, method, params, ..
    } = req;
    match method.as_str() {
        m::Hello::NAME => Err(errors::already_said_hello()),
        m::DaemonStatus::NAME => {
            let p = decode::<m::DaemonStatus>(params)?;
            encode::<m::DaemonStatus>(daemon::status(peer, p))
        }
        m::DaemonStop::NAME => {
            let p = decode::<m::DaemonStop>(params)?;
            encode::<m::DaemonStop>(daemon::stop(peer, p))
        }
        m::SessionCreate::NAME => {
            let p = decode::<m::SessionCreate>(params)?;
            encode::<m::SessionCreate>(sessions::create(peer, p, key).await)
        }
        m::SessionFork::NAME => {
            let p = decode::<m::SessionFork>(params)?;
            encode::<m::SessionFork>(sessions::fork(peer, p, key).await)
        }
        m::SessionList::NAME => {
            let p = decode::<m::SessionList>(params)?;
            // Encoded straight into the reply's line (no JSON tree of the
            // whole list in between): answered here.
            sessions::list(peer, id, p).await;
            Ok(None)
        }
        m::SessionsSubscribe::NAME => {
            let p = decode::<m::SessionsSubscribe>(params)?;
            sessions::subscribe(peer, id, p).await.map(|()| None)
        }
        m::SessionGet::NAME => {
            let p = decode::<m::SessionGet>(params)?;
            encode::<m::SessionGet>(sessions::get(peer, p))
        }
        m::SessionSend::NAME => {
            let p = decode::<m::SessionSend>(params)?;
            encode::<m::SessionSend>(steer::send(peer, p, key).await)
        }
        m::SessionInterrupt::NAME => {
            let p = decode::<m::SessionInterrupt>(params)?;
            encode::<m::SessionInterrupt>(steer::interrupt(peer, p).await)
        }
        m::SessionApprove::NAME => {
            let p = decode::<m::SessionApprove>(params)?;
            encode::<m::SessionApprove>(steer::decide(peer, p, Decision::Approved).await)
        }
        m::SessionDeny::NAME => {
            let p = decode::<m::SessionDeny>(params)?;
            encode::<m::SessionDeny>(steer::decide(peer, p, Decision::Denied).await)
        }
        m::SessionAnswer::NAME => {
            let p = decode::<m::SessionAnswer>(params)?;
            encode::<m::SessionAnswer>(steer::answer(peer, p).await)
        }
        m::SessionWait::NAME => {
            let p = decode::<m::SessionWait>(params)?;
            match steer::wait(peer, p).await? {
                Some(r) => encode::<m::SessionWait>(Ok(r)),
                None => Ok(None),
            }
        }
        m::SessionLogs::NAME => {
            let p = decode::<m::SessionLogs>(params)?;
            encode::<m::SessionLogs>(logs::logs(peer, p).await)
        }
        m::SessionAttach::NAME => {
            let p = decode::<m::SessionAttach>(params)?;
            logs::attach(peer, id, p).await.map(|()| None)
        }
        m::SessionDetach::NAME => {
            let p = decode::<m::SessionDetach>(params)?;
            encode::<m::SessionDetach>(logs::detach(peer, p).await)
        }
        m::SessionKill::NAME => {
            let p = decode::<m::SessionKill>(params)?;
            encode::<m::SessionKill>(sessions::kill(peer, p, key).await)
        }
        m::ToolsList::NAME => {
            let p = decode::<m::ToolsList>(params)?;
            encode::<m::ToolsList>(tools::list(peer, p).await)
        }
        m::PromptsList::NAME => {
            let p = decode::<m::PromptsList>(params)?;
            encode::<m::PromptsList>(tools::prompts(peer, p).await)
        }
        m::PromptsGet::NAME => {
            let p = decode::<m::PromptsGet>(params)?;
            encode::<m::PromptsGet>(tools::prompt_get(peer, p).await)
        }
        m::SessionCompact::NAME => {
            let p = decode::<m::SessionCompact>(params)?;
            encode::<m::SessionCompact>(steer::compact(peer, p).await)
        }
        m::SessionBudget::NAME => {
            let p = decode::<m::SessionBudget>(params)?;
            encode::<m::SessionBudget>(steer::budget(peer, p).await)
        }
        m::SessionRules::NAME => {
            let p = decode::<m::SessionRules>(params)?;
            encode::<m::SessionRules>(steer::rules(peer, p).await)
        }
        m::SessionRuleRemove::NAME => {
            let p = decode::<m::SessionRuleRemove>(params)?;
            encode::<m::SessionRuleRemove>(steer::rule_remove(peer, p).await)
        }
        m::SessionsWaitAny::NAME => {
            let p = decode::<m::SessionsWaitAny>(params)?;
            match sessions::wait_any(peer, p).await? {
                Some(r) => encode::<m::SessionsWaitAny>(Ok(r)),
                None => Ok(None),
            }
        }
        m::SessionSearch::NAME => {
            let p = decode::<m::SessionSearch>(params)?;
            encode::<m::SessionSearch>(logs::search(peer, p).await)
        }
        m::SessionCancelInput::NAME => {
            let p = decode::<m::SessionCancelInput>(params)?;
            encode::<m::SessionCancelInput>(steer::cancel_input(peer, p).await)
        }
        m::McpLoginStart::NAME => {
            let p = decode::<m::McpLoginStart>(params)?;
            encode::<m::McpLoginStart>(mcp::login_start(peer, p).await)
        }
        m::McpLoginFinish::NAME => {
            let p = decode::<m::McpLoginFinish>(params)?;
            encode::<m::McpLoginFinish>(mcp::login_finish(peer, p).await)
        }
        m::McpLogout::NAME => {
            let p = decode::<m::McpLogout>(params)?;
            encode::<m::McpLogout>(mcp::logout(peer, p))
        }
        m::ScheduleAdd::NAME => {
            let p = decode::<m::ScheduleAdd>(params)?;
            encode::<m::ScheduleAdd>(schedules::add(peer, p, key).await)
        }
        m::ScheduleList::NAME => {
            let p = decode::<m::ScheduleList>(params)?;
            encode::<m::ScheduleList>(schedules::list(peer, p).await)
        }
        m::ScheduleRemove::NAME => {
            let p = decode::<m::ScheduleRemove>(params)?;
            encode::<m::ScheduleRemove>(schedules::remove(peer, p).await)
        }
        m::SchedulePause::NAME => {
            let p = decode::<m::SchedulePause>(params)?;
            encode::<m::SchedulePause>(schedules::set_paused(peer, p, true).await)
        }
        m::ScheduleResume::NAME => {
            let p = decode::<m::ScheduleResume>(params)?;
            encode::<m::ScheduleResume>(schedules::set_paused(peer, p, false).await)
        }
        other => Err(errors::method_not_found(other)),
    }
}

/// `M`'s params; ones that do not match are `-32602`.
fn decode<M: Method>(params: Value) -> Result<M::Params, RpcError> {
    M::params(params).map_err(errors::invalid_params)
}

/// `M`'s result as the reply's JSON.
pub(super) fn encode<M: Method>(result: Result<M::Result, RpcError>) -> Reply {
    serde_json::to_value(result?)
        .map(Some)
        .map_err(errors::internal)
}
