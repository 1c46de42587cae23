//! The session-list feed of `sessions.subscribe`: after the reply, whole lists
//! (`sessions.updated`) or, for a client that asked for `deltas`, only the
//! sessions that changed and those removed (`sessions.changed`, issue 13).
//!
//! Both are coalesced per client: after a change the feed waits 100 ms and
//! sends what gathered, so a burst of changes to one session is one entry (or
//! one list) with its latest summary. Changed sessions are looked up when the
//! delta is sent; one gone by then is a removal. A delta feed that falls behind
//! (the change broadcast lagged, which is also what happens while its outbox is
//! full and it waits for room) is sent a fresh whole list, never a gap.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tether_shared::protocol::{SessionsChangedParams, method};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::peer::Peer;
use crate::session::ListChange;

/// The most one client is sent per session per this long.
const COALESCE: Duration = Duration::from_millis(100);

impl Peer {
    /// Pushes list changes until the connection ends. `seen` is the list
    /// version the subscribe reply was read at.
    pub(super) async fn list_feed(&self, mut changes: Receiver<ListChange>, mut seen: u64) {
        let ctx = &self.ctx;
        let mut pending: BTreeSet<Arc<str>> = BTreeSet::new();
        let mut lagged = false;
        loop {
            tokio::select! {
                _ = self.done.cancelled() => return,
                r = changes.recv() => match r {
                    Ok(c) => { pending.insert(c.id); }
                    Err(RecvError::Lagged(_)) => lagged = true,
                    Err(RecvError::Closed) => return,
                },
            }
            // Coalesce a burst (a streaming turn changes its session often).
            tokio::select! {
                _ = self.done.cancelled() => return,
                _ = tokio::time::sleep(COALESCE) => {}
            }
            loop {
                match changes.try_recv() {
                    Ok(c) => {
                        pending.insert(c.id);
                    }
                    Err(TryRecvError::Lagged(_)) => lagged = true,
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
            let deltas = self.list_deltas.load(Ordering::SeqCst);
            if deltas && lagged {
                // What was skipped is unknown: start again from a whole list,
                // read after the changes that follow it are received.
                changes = changes.resubscribe();
            }
            // Every change received so far is counted in `now`.
            let now = ctx.shared.list.version();
            let sent = if deltas && !lagged {
                let mut delta = SessionsChangedParams::default();
                for id in std::mem::take(&mut pending) {
                    match ctx.registry.info_of(&id) {
                        Some(info) => delta.sessions.push(info),
                        None => delta.removed.push(id.to_string()),
                    }
                }
                seen = now;
                self.notify::<method::SessionsChanged>(&delta).await
            } else {
                pending.clear();
                // A whole-list client's `seen` is the version its last list was
                // read at: that list holds every change counted up to it.
                if !deltas && !lagged && now == seen {
                    continue;
                }
                lagged = false;
                match ctx
                    .list_cache
                    .at_least(now, &ctx.shared.list, &ctx.registry)
                    .await
                {
                    Some((v, bytes)) => {
                        seen = v;
                        self.out.send(bytes.as_ref().clone()).await.is_ok()
                    }
                    None => true,
                }
            };
            if !sent {
                return;
            }
        }
    }
}
