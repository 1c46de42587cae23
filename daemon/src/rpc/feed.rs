//! Stopping a client's session feeds. Each attached session's feed is in
//! `session_feed.rs`; the session-list feed of `sessions.subscribe` in `list_feed.rs`.

use tokio_util::sync::CancellationToken;

use super::peer::Peer;

impl Peer {
    /// Ends every session feed of the client and counts it out of each session.
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
