//! Live streaming to a client: the session-list feed of `sessions.subscribe`,
//! and stopping a client's session feeds (each in `session_feed.rs`).

use std::time::Duration;

use tether_shared::protocol::{SessionsUpdatedParams, method};
use tokio_util::sync::CancellationToken;

use super::peer::Peer;

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

    pub(super) async fn stop_feeds(&self) {
        let feeds: Vec<(String, CancellationToken)> = self
            .feeds
            .lock()
            .map(|mut f| f.drain().collect())
            .unwrap_or_default();
        for (id, token) in feeds {
            token.cancel();
            if let Ok(h) = self.ctx.registry.find(&id) {
                h.clients(-1).await;
            }
        }
    }
}
