//! Steering a session: `session.send`, `session.interrupt`, `session.approve` /
//! `session.deny` (with "always allow" rules: `session.rules`,
//! `session.rule_remove`) and `session.wait`.

use std::sync::Arc;

use tether_shared::event::Budget;
use tether_shared::protocol::{
    ApprovalRule, BudgetParams, CancelInputParams, CancelInputResult, CompactParams, CompactResult,
    DecideParams, DecideResult, InterruptResult, RpcError, RuleRemoveParams, RuleRemoveResult,
    SendParams, SendResult, SessionRef, WaitParams, WaitResult,
};
use tether_shared::{Decision, Delivery};

use crate::rpc::errors;
use crate::rpc::peer::Peer;
use crate::store::KeyRecord;

/// `session.send`; the input is durable when this returns. A keyed request
/// stores `key` with the input.
pub(crate) async fn send(
    peer: &Arc<Peer>,
    p: SendParams,
    key: Option<KeyRecord>,
) -> Result<SendResult, RpcError> {
    let registry = &peer.ctx.registry;
    let h = match registry.get(&p.session).await {
        Ok(h) => Some(h),
        // Another node of the fleet runs it: the input is stored for it (issue 16).
        Err(crate::session::SessionError::Elsewhere { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let info = registry.info(&p.session)?;
    peer.writable(&info.id, &info.name)?;
    if matches!(p.delivery, Delivery::Unknown | Delivery::Schedule) {
        return Err(errors::bad_delivery());
    }
    if p.text.trim().is_empty() {
        return Err(errors::empty_message());
    }
    match h {
        Some(h) => Ok(h.send(p.text, p.delivery, key).await?),
        None => Ok(registry
            .send_elsewhere(&p.session, &p.text, p.delivery, key)
            .await?),
    }
}

/// `session.cancel_input`: deletes a queued input the agent has not taken;
/// `cancelled: false` (and nothing changed) when it is not queued any more.
pub(crate) async fn cancel_input(
    peer: &Arc<Peer>,
    p: CancelInputParams,
) -> Result<CancelInputResult, RpcError> {
    let h = peer.ctx.registry.get(&p.session).await?;
    peer.writable(&h.id, &h.name)?;
    Ok(CancelInputResult {
        cancelled: h.cancel_input(p.input_id).await?,
    })
}

/// `session.interrupt`.
pub(crate) async fn interrupt(
    peer: &Arc<Peer>,
    p: SessionRef,
) -> Result<InterruptResult, RpcError> {
    let h = peer.ctx.registry.get(&p.session).await?;
    peer.writable(&h.id, &h.name)?;
    Ok(InterruptResult {
        interrupted: h.interrupt().await?,
    })
}

/// `session.compact`.
pub(crate) async fn compact(peer: &Arc<Peer>, p: CompactParams) -> Result<CompactResult, RpcError> {
    let h = peer.ctx.registry.get(&p.session).await?;
    peer.writable(&h.id, &h.name)?;
    Ok(h.compact(p.instructions).await?)
}

/// `session.budget`: `none` clears both limits; otherwise the limits given
/// replace those in force and the others stay. Returns once a session stopped on
/// its budget that the new one lets go on is running again.
pub(crate) async fn budget(
    peer: &Arc<Peer>,
    p: BudgetParams,
) -> Result<tether_shared::protocol::SessionInfo, RpcError> {
    let h = peer.ctx.registry.get(&p.session).await?;
    peer.writable(&h.id, &h.name)?;
    let budget = if p.none {
        if p.max_tokens.is_some() || p.max_cost_usd.is_some() {
            return Err(RpcError::new(
                tether_shared::protocol::code::BAD_ARGUMENT,
                "`none` clears the budget: give it alone, or give max_tokens / max_cost_usd",
            ));
        }
        Budget::default()
    } else {
        if p.max_tokens.is_none() && p.max_cost_usd.is_none() {
            return Err(RpcError::new(
                tether_shared::protocol::code::BAD_ARGUMENT,
                "give max_tokens, max_cost_usd or none",
            ));
        }
        let mut b = h.info().budget;
        if p.max_tokens.is_some() {
            b.max_tokens = p.max_tokens;
        }
        if p.max_cost_usd.is_some() {
            b.max_cost_usd = p.max_cost_usd;
        }
        b
    };
    Ok(h.set_budget(budget).await?)
}

/// `session.approve` (`Approved`) and `session.deny` (`Denied`).
pub(crate) async fn decide(
    peer: &Arc<Peer>,
    p: DecideParams,
    decision: Decision,
) -> Result<DecideResult, RpcError> {
    let h = peer.ctx.registry.get(&p.session).await?;
    peer.writable(&h.id, &h.name)?;
    Ok(h.decide(p.call_id, p.all, decision, p.reason, p.always)
        .await?)
}

/// `session.answer`: answers a tool server's question (issue 14).
pub(crate) async fn answer(
    peer: &Arc<Peer>,
    p: tether_shared::protocol::AnswerParams,
) -> Result<tether_shared::protocol::AnswerResult, RpcError> {
    let h = peer.ctx.registry.get(&p.session).await?;
    peer.writable(&h.id, &h.name)?;
    Ok(h.answer(p.request_id, p.action, p.content).await?)
}

/// `session.rules`: the session's own rules and its project's, oldest first.
pub(crate) async fn rules(peer: &Arc<Peer>, p: SessionRef) -> Result<Vec<ApprovalRule>, RpcError> {
    let info = peer.ctx.registry.info(&p.session)?;
    let project = crate::session::rules::project_string(&info.cwd).await;
    peer.ctx
        .shared
        .store
        .rules(&info.id, &project)
        .await
        .map_err(errors::storage)
}

/// `session.rule_remove`: removes a rule that applies to the session, recorded
/// in its log.
pub(crate) async fn rule_remove(
    peer: &Arc<Peer>,
    p: RuleRemoveParams,
) -> Result<RuleRemoveResult, RpcError> {
    let h = peer.ctx.registry.get(&p.session).await?;
    peer.writable(&h.id, &h.name)?;
    Ok(RuleRemoveResult {
        removed: h.remove_rule(p.id).await?,
    })
}

/// `session.wait`; `None` when the connection ended first (nobody to answer).
/// It runs beside the connection's other requests (see `connection.rs`).
pub(crate) async fn wait(peer: &Arc<Peer>, p: WaitParams) -> Result<Option<WaitResult>, RpcError> {
    let ctx = &peer.ctx;
    // Checked before the timeout, as before: an unknown session is the error.
    ctx.registry.info(&p.session)?;
    let timeout = match p.timeout_s {
        Some(t) if !(t.is_finite() && t >= 0.0) => return Err(errors::bad_timeout()),
        t => t.map(crate::util::secs),
    };
    let (state, timed_out) = tokio::select! {
        biased;
        _ = ctx.closing.cancelled() => return Err(errors::shutting_down()),
        _ = peer.done.cancelled() => return Ok(None),
        r = ctx.registry.wait(&p.session, timeout) => r?,
    };
    Ok(Some(WaitResult { state, timed_out }))
}
