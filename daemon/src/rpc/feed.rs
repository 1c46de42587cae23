//! Live streaming to a client: the feed of each attached session (live
//! messages in order, a lagging feed caught up from the store, `session.closed`
//! when the session ends) and the session-list feed of `sessions.subscribe`.

use std::time::Duration;

use tether_shared::Live;
use tether_shared::protocol::{LiveParams, SessionClosedParams, SessionsUpdatedParams, method};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::peer::Peer;
use crate::session::{SessionHandle, Subscription};

impl Peer {
    /// Pushes the session list whenever it changes, at most every 100 ms.
    pub(super) async fn list_feed(&self, mut rx: tokio::sync::watch::Receiver<u64>) {
        loop {
            tokio::select! {
                _ = self.done.cancelled() => return,
                r = rx.changed() => if r.is_err() { return },
            }
            // Coalesce a burst (a streaming turn changes state several times).
            tokio::select! {
                _ = self.done.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            rx.mark_unchanged();
            let list = SessionsUpdatedParams {
                sessions: self.ctx.registry.list(),
            };
            if !self.notify::<method::SessionsUpdated>(&list).await {
                return;
            }
        }
    }

    /// Sends one live message of a session; false when the connection is gone.
    async fn send_live(&self, session_id: &str, live: Live) -> bool {
        let p = LiveParams {
            session_id: session_id.to_string(),
            live,
        };
        self.notify::<method::SessionLive>(&p).await
    }

    /// Forwards a session's live messages; a lagging feed catches up from the store.
    pub(super) async fn feed(
        &self,
        h: SessionHandle,
        mut sub: Subscription,
        token: CancellationToken,
    ) {
        let mut last = sub.last_seq;
        loop {
            let msg = tokio::select! {
                _ = token.cancelled() => return,
                m = sub.live.recv() => m,
            };
            match msg {
                Ok(Live::Event { event }) => {
                    if event.seq <= last {
                        continue;
                    }
                    last = event.seq;
                    if !self.send_live(&h.id, Live::Event { event }).await {
                        return;
                    }
                }
                Ok(other) => {
                    if !self.send_live(&h.id, other).await {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    debug!(
                        skipped = n,
                        "client feed lagged; catching up from the store"
                    );
                    let Ok(fresh) = h.subscribe().await else {
                        return;
                    };
                    while last < fresh.last_seq {
                        let Ok(events) = self
                            .ctx
                            .shared
                            .store
                            .events(&h.id, last, fresh.last_seq + 1, 1000, false)
                            .await
                        else {
                            return;
                        };
                        if events.is_empty() {
                            break;
                        }
                        for event in events {
                            last = event.seq;
                            if !self.send_live(&h.id, Live::Event { event }).await {
                                return;
                            }
                        }
                    }
                    // A change of the queue may have been skipped: restate it.
                    let queued = Live::Queued {
                        inputs: fresh.queued.clone(),
                    };
                    if !self.send_live(&h.id, queued).await {
                        return;
                    }
                    // Deltas were skipped: restate the partial answer from scratch.
                    if !self.send_live(&h.id, Live::AssistantReset).await {
                        return;
                    }
                    if !fresh.partial.assistant_text.is_empty()
                        && !self
                            .send_live(
                                &h.id,
                                Live::AssistantDelta {
                                    text: fresh.partial.assistant_text.clone(),
                                },
                            )
                            .await
                    {
                        return;
                    }
                    sub = fresh;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    // The session's actor ended: it was killed (or the daemon stops).
                    if !self.ctx.closing.is_cancelled() {
                        let closed = SessionClosedParams {
                            session_id: h.id.clone(),
                            name: h.name.clone(),
                        };
                        self.notify::<method::SessionClosed>(&closed).await;
                    }
                    if let Ok(mut f) = self.feeds.lock() {
                        f.remove(&h.id);
                    }
                    return;
                }
            }
        }
    }

    pub(super) async fn stop_feeds(&self) {
        let feeds: Vec<(String, CancellationToken)> = self
            .feeds
            .lock()
            .map(|mut f| f.drain().collect())
            .unwrap_or_default();
        for (id, token) in feeds {
            token.cancel();
            if let Some(h) = self.ctx.registry.awake(&id) {
                h.clients(-1).await;
            }
        }
    }
}
