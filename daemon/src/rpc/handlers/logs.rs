//! Reading a session's log: `session.logs` (pages of stored events), and
//! `session.attach` / `session.detach` (a page, then the live feed in
//! `rpc/feed.rs`).

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tether_shared::protocol::{
    AttachParams, AttachResult, Empty, LogsParams, LogsResult, RpcError, SearchHit, SearchParams,
    SearchResult, SessionRef,
};
use tracing::{Instrument, debug};

use crate::rpc::errors;
use crate::rpc::paging::{self, DEFAULT_PAGE, MAX_PAGE, fit_page};
use crate::rpc::peer::Peer;

/// `session.logs`: events after `since` (oldest first) or before `before`
/// (the newest of them), at most `limit` and within the page's byte budget.
pub(crate) async fn logs(peer: &Arc<Peer>, p: LogsParams) -> Result<LogsResult, RpcError> {
    let ctx = &peer.ctx;
    // Read from the store: an asleep session stays asleep.
    let h = ctx.registry.info(&p.session)?;
    let limit = p.limit.unwrap_or(1000).clamp(1, MAX_PAGE) as usize;
    let since = p.since.unwrap_or(0);
    let before = p.before.unwrap_or(u64::MAX);
    let newest = p.before.is_some() && p.since.is_none();
    let mut events = ctx
        .shared
        .store
        .events(&h.id, since, before, limit + 1, newest)
        .await
        .map_err(errors::storage)?;
    let mut more = events.len() > limit;
    if more {
        if newest {
            events.remove(0);
        } else {
            events.truncate(limit);
        }
    }
    more |= fit_page(&mut events, newest);
    Ok(LogsResult {
        events,
        last_seq: h.last_seq,
        more,
    })
}

/// Hits `session.search` returns unless asked for another number, and at most.
const SEARCH_DEFAULT: u32 = 200;
const SEARCH_MAX: u32 = 1000;

/// `session.search`: the session's stored events that hold every word of the
/// query (the last also as a prefix), newest first.
pub(crate) async fn search(peer: &Arc<Peer>, p: SearchParams) -> Result<SearchResult, RpcError> {
    let ctx = &peer.ctx;
    let h = ctx.registry.info(&p.session)?;
    let limit = p.limit.unwrap_or(SEARCH_DEFAULT).clamp(1, SEARCH_MAX) as usize;
    let mut found = ctx
        .shared
        .store
        .search_newest(&h.id, &p.query, limit + 1)
        .await
        .map_err(errors::storage)?;
    let more = found.len() > limit;
    found.truncate(limit);
    let hits = found
        .into_iter()
        .map(|h| SearchHit {
            seq: h.seq,
            ts: h.ts,
            kind: h.kind,
            tool: h.tool,
            excerpt: h.excerpt,
        })
        .collect();
    Ok(SearchResult { hits, more })
}

/// `session.attach`: answers request `id` itself with the page, then starts the
/// session's live feed, so live messages follow the reply.
pub(crate) async fn attach(peer: &Arc<Peer>, id: Value, p: AttachParams) -> Result<(), RpcError> {
    let ctx = &peer.ctx;
    // Each step's time, for the debug log below (what a TUI's first frame waits on).
    let t0 = Instant::now();
    let h = match ctx.registry.get(&p.session).await {
        Ok(h) => h,
        // Another node of the fleet runs it: its stored events, from here (issue 16).
        Err(crate::session::SessionError::Elsewhere { .. }) => {
            return attach_elsewhere(peer, id, p).await;
        }
        Err(e) => return Err(e.into()),
    };
    let got = t0.elapsed();
    let sub = h.subscribe().await?;
    let subscribed = t0.elapsed();
    let from = p.from_seq.unwrap_or(0);
    let page = p.page_size.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE) as usize;
    let (events, truncated) = paging::page(ctx, &h.id, from, sub.last_seq, page).await?;
    let read = t0.elapsed();
    let count = events.len();
    let result = AttachResult {
        info: sub.info.clone(),
        events,
        truncated,
        last_seq: sub.last_seq,
        partial: sub.partial.clone(),
        queued: sub.queued.clone(),
    };
    if let Ok(mut ro) = peer.read_only.lock() {
        if p.read_only {
            ro.insert(h.id.clone());
        } else {
            ro.remove(&h.id);
        }
    }
    // A second attach to the same session replaces the first feed; stop the old
    // one before replying so it cannot forward events the new reply also holds.
    let token = peer.done.child_token();
    let previous = peer
        .feeds
        .lock()
        .ok()
        .and_then(|mut f| f.insert(h.id.clone(), token.clone()));
    match previous {
        Some(old) => old.cancel(),
        None => h.clients(1).await,
    }
    // The reply goes out before the feed starts, so live messages follow it.
    // Written straight into the line: no JSON tree of the page to build, walk
    // and drop (a TUI's first frame waits on this reply).
    peer.reply_json(id, |out| serde_json::to_writer(out, &result))
        .await;
    debug!(
        session = %h.id,
        events = count,
        get_us = got.as_micros(),
        subscribe_us = (subscribed - got).as_micros(),
        page_us = (read - subscribed).as_micros(),
        reply_us = (t0.elapsed() - read).as_micros(),
        "attach answered"
    );
    let conn = peer.clone();
    ctx.tracker()
        .spawn(async move { conn.feed(h, sub, token).await }.in_current_span());
    Ok(())
}

/// `session.attach` of a session another node runs (issue 16): the page from
/// the store, then its events as they are stored (`remote_feed`). Read-only in
/// effect for what needs the agent; `send` through this node still works.
async fn attach_elsewhere(peer: &Arc<Peer>, id: Value, p: AttachParams) -> Result<(), RpcError> {
    let ctx = &peer.ctx;
    let info = ctx.registry.info(&p.session)?;
    let from = p.from_seq.unwrap_or(0);
    let page = p.page_size.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE) as usize;
    let last_seq = info.last_seq;
    let (events, truncated) = paging::page(ctx, &info.id, from, last_seq, page).await?;
    let queued = ctx
        .shared
        .store
        .inputs(&info.id)
        .await
        .map_err(errors::internal)?
        .into_iter()
        .map(|i| tether_shared::protocol::QueuedInput {
            input_id: i.id,
            text: i.text,
            delivery: i.delivery,
        })
        .collect();
    let result = AttachResult {
        info: info.clone(),
        events,
        truncated,
        last_seq,
        partial: Default::default(),
        queued,
    };
    let token = peer.done.child_token();
    if let Some(old) = peer
        .feeds
        .lock()
        .ok()
        .and_then(|mut f| f.insert(info.id.clone(), token.clone()))
    {
        old.cancel();
    }
    let reply = serde_json::to_value(result).map_err(errors::internal)?;
    peer.reply(id, Ok(reply)).await;
    let conn = peer.clone();
    ctx.tracker()
        .spawn(async move { conn.remote_feed(info.id, last_seq, token).await }.in_current_span());
    Ok(())
}

/// `session.detach`: ends this client's feed of the session.
pub(crate) async fn detach(peer: &Arc<Peer>, p: SessionRef) -> Result<Empty, RpcError> {
    let id = peer.ctx.registry.info(&p.session)?.id;
    let token = peer.feeds.lock().ok().and_then(|mut f| f.remove(&id));
    if let Some(t) = token {
        t.cancel();
        // Attached, so awake: a session asleep has no client to count out.
        if let Some(h) = peer.ctx.registry.awake(&id) {
            h.clients(-1).await;
        }
    }
    Ok(Empty {})
}
