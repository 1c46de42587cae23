//! `schedule.add`, `schedule.list`, `schedule.remove`, `schedule.pause` and
//! `schedule.resume` (issue 15).

use std::sync::Arc;

use tether_shared::protocol::{
    RpcError, ScheduleAddParams, ScheduleInfo, ScheduleListParams, ScheduleRef, code,
};

use super::super::errors;
use super::super::peer::Peer;
use crate::schedule::{ScheduleError, Scheduler};
use crate::store::KeyRecord;

fn scheduler(peer: &Arc<Peer>) -> Result<&Arc<Scheduler>, RpcError> {
    peer.ctx
        .schedules
        .get()
        .ok_or_else(|| errors::internal("the scheduler has not started"))
}

fn wire(e: ScheduleError) -> RpcError {
    match e {
        ScheduleError::Session(e) => e.into(),
        ScheduleError::Bad(m) => RpcError::new(code::BAD_ARGUMENT, m),
        e @ ScheduleError::NoSuch(_) => RpcError::new(code::NO_SUCH_SCHEDULE, e.to_string()),
        e @ ScheduleError::Store(_) => errors::storage(e),
    }
}

/// A read-only client cannot change the schedules of a session it watches.
fn writable(peer: &Arc<Peer>, session_id: &str) -> Result<(), RpcError> {
    let name = peer
        .ctx
        .registry
        .info(session_id)
        .map(|i| i.name)
        .unwrap_or_else(|_| session_id.to_string());
    peer.writable(session_id, &name)
}

/// `schedule.add`: stores a schedule of a session (which stays asleep), and
/// `key` with it.
pub(crate) async fn add(
    peer: &Arc<Peer>,
    p: ScheduleAddParams,
    key: Option<KeyRecord>,
) -> Result<ScheduleInfo, RpcError> {
    let info = peer.ctx.registry.info(&p.session)?;
    peer.writable(&info.id, &info.name)?;
    scheduler(peer)?.add(p, key).await.map_err(wire)
}

/// `schedule.list`: every session's schedules, or one session's.
pub(crate) async fn list(
    peer: &Arc<Peer>,
    p: ScheduleListParams,
) -> Result<Vec<ScheduleInfo>, RpcError> {
    scheduler(peer)?
        .list(p.session.as_deref())
        .await
        .map_err(wire)
}

/// `schedule.remove`.
pub(crate) async fn remove(peer: &Arc<Peer>, p: ScheduleRef) -> Result<ScheduleInfo, RpcError> {
    let s = scheduler(peer)?;
    if let Some(session) = s.session_of(p.id) {
        writable(peer, &session)?;
    }
    s.remove(p.id).await.map_err(wire)
}

/// `schedule.pause` and `schedule.resume`.
pub(crate) async fn set_paused(
    peer: &Arc<Peer>,
    p: ScheduleRef,
    paused: bool,
) -> Result<ScheduleInfo, RpcError> {
    let s = scheduler(peer)?;
    if let Some(session) = s.session_of(p.id) {
        writable(peer, &session)?;
    }
    s.set_paused(p.id, paused).await.map_err(wire)
}
