//! Sessions as a whole: `session.create`, `session.fork`, `session.list`,
//! `sessions.subscribe`, `session.get`, `session.kill`, `session.move` and
//! `sessions.wait_any`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use std::time::Instant;
use tether_shared::notify::NotifyEvent;
use tether_shared::protocol::{
    CreateParams, ForkParams, KillResult, ListParams, ListShape, RpcError, SessionInfo, SessionRef,
    SubscribeParams, WaitAnyParams, WaitAnyResult, WaitingSession,
};

use tracing::{Instrument, debug};

use crate::rpc::errors;
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

/// `session.list`: answers request `id` itself, the list written from the
/// session table straight into the reply's line (no copy of the summaries, no
/// JSON tree), with only the `fields` asked for (issue 13). During the
/// start-up's restore: from its index as soon as that is read, when no session
/// needs its actor at start (the list is then what the table will hold);
/// otherwise once the sessions are restored.
pub(crate) async fn list(peer: &Arc<Peer>, id: Value, p: ListParams) {
    let shape = ListShape::new(&p);
    let ctx = &peer.ctx;
    let t0 = Instant::now();
    // The list kept at the last clean stop, if it is this request's and no
    // session changed since the start: the index need not even be read.
    if let Some(kept) = ctx.registry.kept_list(&p).await {
        peer.reply_json(id, |out| {
            out.extend_from_slice(&kept.body);
            Ok(())
        })
        .await;
        debug!(
            from_kept = true,
            written_us = t0.elapsed().as_micros(),
            "list answered"
        );
        return;
    }
    let mut early = None;
    if !ctx.restored.is_cancelled() {
        early = ctx.registry.early_list().await;
        if early.is_none() {
            ctx.restored.cancelled().await;
        }
    }
    let waited = t0.elapsed();
    match &early {
        Some(e) => peer.reply_json(id, |out| e.write(&shape, out)).await,
        None => {
            peer.reply_json(id, |out| ctx.registry.write_list(&shape, out))
                .await
        }
    }
    debug!(
        from_index = early.is_some(),
        waited_us = waited.as_micros(),
        written_us = (t0.elapsed() - waited).as_micros(),
        "list answered"
    );
}

/// `sessions.subscribe`: answers request `id` itself with the list now, then
/// starts the list feed (`list_feed.rs`), so every push follows the reply: whole
/// lists, or with `deltas` only what changed. One list feed per connection,
/// however often it subscribes; the last subscribe says which kind it sends.
pub(crate) async fn subscribe(
    peer: &Arc<Peer>,
    id: Value,
    p: SubscribeParams,
) -> Result<(), RpcError> {
    let ctx = &peer.ctx;
    peer.list_deltas.store(p.deltas, Ordering::SeqCst);
    let already = peer.list_feed.swap(true, Ordering::SeqCst);
    // Subscribed before the list is read, so a change in between is sent after
    // it, not missed; the version is read before the list, so the list holds
    // every change counted in it.
    let changes = ctx.shared.list.subscribe();
    let seen = ctx.shared.list.version();
    let list = serde_json::to_value(ctx.registry.list()).map_err(errors::internal)?;
    peer.reply(id, Ok(list)).await;
    if !already {
        let conn = peer.clone();
        ctx.tracker()
            .spawn(async move { conn.list_feed(changes, seen).await }.in_current_span());
    }
    Ok(())
}

/// `session.get`.
pub(crate) fn get(peer: &Arc<Peer>, p: SessionRef) -> Result<SessionInfo, RpcError> {
    Ok(peer.ctx.registry.info(&p.session)?)
}

/// `session.kill`; a keyed request stores `key` with the deletion.
pub(crate) async fn kill(
    peer: &Arc<Peer>,
    p: SessionRef,
    key: Option<KeyRecord>,
) -> Result<KillResult, RpcError> {
    let ctx = &peer.ctx;
    let info = ctx.registry.info(&p.session)?;
    peer.writable(&info.id, &info.name)?;
    let (id, worktree) = ctx.registry.kill(&p.session, key).await?;
    // The store deleted its schedules with it.
    if let Some(s) = ctx.schedules.get() {
        s.forget_session(&id);
    }
    Ok(KillResult { id, worktree })
}

/// `session.move` (issue 16): hands the session to another node of the fleet.
pub(crate) async fn move_to(
    peer: &Arc<Peer>,
    p: tether_shared::protocol::MoveParams,
) -> Result<tether_shared::protocol::MoveResult, RpcError> {
    let ctx = &peer.ctx;
    let info = ctx.registry.info(&p.session)?;
    peer.writable(&info.id, &info.name)?;
    Ok(ctx.registry.move_to(&p.session, &p.node).await?)
}

/// `sessions.wait_any`: the session that has waited longest for a person, at
/// once when one does, else the first that starts to; `None` when the
/// connection ended first. It runs beside the connection's other requests.
pub(crate) async fn wait_any(
    peer: &Arc<Peer>,
    p: WaitAnyParams,
) -> Result<Option<WaitAnyResult>, RpcError> {
    let ctx = &peer.ctx;
    let timeout = match p.timeout_s {
        Some(t) if !(t.is_finite() && t >= 0.0) => return Err(errors::bad_timeout()),
        t => t.map(crate::util::secs),
    };
    // Subscribed before the first look, so a change between the look and the
    // wait is not missed.
    let mut rx = ctx.shared.list.watch();
    let found = async {
        loop {
            rx.borrow_and_update();
            if let Some(w) = longest_waiting(&ctx.registry.list()) {
                return w;
            }
            if rx.changed().await.is_err() {
                // The daemon is going away; `closing` answers.
                std::future::pending::<()>().await;
            }
        }
    };
    let waited = async {
        match timeout {
            Some(t) => tokio::time::timeout(t, found).await.ok(),
            None => Some(found.await),
        }
    };
    tokio::select! {
        biased;
        _ = ctx.closing.cancelled() => Err(errors::shutting_down()),
        _ = peer.done.cancelled() => Ok(None),
        w = waited => Ok(Some(WaitAnyResult {
            timed_out: w.is_none(),
            waiting: w,
        })),
    }
}

/// Of the sessions that need a person, the one that has waited longest.
fn longest_waiting(list: &[SessionInfo]) -> Option<WaitingSession> {
    list.iter()
        .filter_map(|s| {
            let event = NotifyEvent::of_state(s.state)?;
            let since = s
                .waiting_since
                .clone()
                .unwrap_or_else(|| s.updated_at.clone());
            Some(WaitingSession {
                session: s.id.clone(),
                name: s.name.clone(),
                state: s.state,
                event,
                call_ids: s.pending_approvals.clone(),
                since,
            })
        })
        .min_by(|a, b| a.since.cmp(&b.since).then_with(|| a.name.cmp(&b.name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_shared::SessionState;

    fn info(name: &str, state: SessionState, since: Option<&str>) -> SessionInfo {
        SessionInfo {
            id: format!("s-{name}"),
            name: name.into(),
            state,
            model: "p/m".into(),
            cwd: "/w".into(),
            created_at: String::new(),
            updated_at: "2026-01-01T00:00:09.000Z".into(),
            pending_approvals: if state == SessionState::AwaitingApproval {
                vec!["c1".into()]
            } else {
                vec![]
            },
            queued_inputs: 0,
            attached_clients: 0,
            last_seq: 0,
            usage: Default::default(),
            instructions: None,
            last_error: None,
            context_tokens: 0,
            context_window: 0,
            budget: Default::default(),
            cost_usd: 0.0,
            cost_basis: Default::default(),
            waiting_since: since.map(str::to_string),
            pending_inputs: Vec::new(),
            worktree: None,
            node: None,
            portable: false,
        }
    }

    #[test]
    fn the_session_that_waited_longest_comes_first() {
        assert!(longest_waiting(&[]).is_none());
        let list = [
            info("busy", SessionState::Running, None),
            info("done", SessionState::Idle, None),
            info(
                "late",
                SessionState::AwaitingApproval,
                Some("2026-01-01T00:00:05.000Z"),
            ),
            info(
                "early",
                SessionState::Failed,
                Some("2026-01-01T00:00:02.000Z"),
            ),
        ];
        let w = longest_waiting(&list).unwrap();
        assert_eq!(
            (w.name.as_str(), w.event),
            ("early", NotifyEvent::TurnFailed)
        );
        assert!(w.call_ids.is_empty());
        let w = longest_waiting(&list[..3]).unwrap();
        assert_eq!(w.name, "late");
        assert_eq!(w.event, NotifyEvent::AwaitingApproval);
        assert_eq!(w.call_ids, ["c1"]);
        assert_eq!(w.since, "2026-01-01T00:00:05.000Z");
        assert!(longest_waiting(&list[..2]).is_none());
    }
}
