//! The live feed of one attached session to one client: the session's live
//! messages in order, each sent as the line encoded once for every client (see
//! `crate::session::Published`); a feed that lags is caught up from the store
//! in pages; `session.closed` when the session ends.
//!
//! Never a gap, never a duplicate: the feed remembers the last event seq it
//! sent and drops any event at or below it. On a lag it subscribes afresh (the
//! new receiver holds every message after the new subscription's `last_seq`),
//! sends the stored events between what it sent and that seq, then restates
//! what lagging may have skipped (the queue, the partial answer).

use bytes::Bytes;
use serde::Serialize;
use tether_shared::protocol::{NotificationMethod, SessionClosedParams, method};
use tether_shared::{Event, Live};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::outbox::WRITE_BATCH;
use super::peer::Peer;
use crate::session::{SessionHandle, Subscription};

/// Stored events read per page when a lagging feed catches up. Pages are read
/// one ahead of the one being sent.
const CATCH_UP_PAGE: usize = 512;

/// The `session.live` line of a live message: the notification that
/// `method::SessionLive::notification` builds from `LiveParams`, with the same
/// fields, serialised straight from borrowed parts (no intermediate
/// `serde_json::Value`, no copy of the message). `None`, logged, when it does
/// not serialise.
pub(super) fn live_line(session_id: &str, live: &Live) -> Option<Bytes> {
    #[derive(Serialize)]
    struct Params<'a> {
        session_id: &'a str,
        #[serde(flatten)]
        live: &'a Live,
    }
    #[derive(Serialize)]
    struct Notice<'a> {
        jsonrpc: &'static str,
        method: &'static str,
        params: Params<'a>,
    }
    let n = Notice {
        jsonrpc: "2.0",
        method: method::SessionLive::NAME,
        params: Params { session_id, live },
    };
    let mut v = Vec::with_capacity(256);
    match serde_json::to_writer(&mut v, &n) {
        Ok(()) => {
            v.push(b'\n');
            Some(v.into())
        }
        Err(e) => {
            warn!(method = method::SessionLive::NAME, error = %e, "could not encode a live message; not sent");
            None
        }
    }
}

impl Peer {
    /// Sends one live message of a session; false when the connection is gone.
    async fn send_live(&self, session_id: &str, live: &Live) -> bool {
        match live_line(session_id, live) {
            Some(l) => self.out.send(l).await.is_ok(),
            None => true,
        }
    }

    /// The feed of a session another node of the fleet runs (issue 16): its
    /// events, read from the store each time this node's view of it moves on
    /// (the heartbeat refreshes it), in their order; no streaming deltas.
    pub(super) async fn remote_feed(&self, id: String, mut last: u64, token: CancellationToken) {
        let mut changes = self.ctx.shared.list.watch();
        loop {
            let upto = match self.ctx.registry.info(&id) {
                Ok(info) => info.last_seq,
                Err(_) => {
                    if !self.ctx.closing.is_cancelled() {
                        let closed = SessionClosedParams {
                            session_id: id.clone(),
                            name: id.clone(),
                            reason: None,
                            node: None,
                        };
                        self.notify::<method::SessionClosed>(&closed).await;
                    }
                    return;
                }
            };
            if upto > last && !self.catch_up(&id, &mut last, upto).await {
                return;
            }
            tokio::select! {
                _ = token.cancelled() => return,
                r = changes.changed() => if r.is_err() { return },
            }
        }
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
                Ok(msg) => {
                    if let Live::Event { event } = &msg.live {
                        if event.seq <= last {
                            continue;
                        }
                        last = event.seq;
                    }
                    let line = msg.line(|live| live_line(&h.id, live));
                    if let Some(line) = line
                        && self.out.send(line).await.is_err()
                    {
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    debug!(
                        skipped = n,
                        "client feed lagged; catching up from the store"
                    );
                    let Ok(fresh) = h.subscribe().await else {
                        return;
                    };
                    if !self.catch_up(&h.id, &mut last, fresh.last_seq).await {
                        return;
                    }
                    // A change of the queue may have been skipped: restate it.
                    let queued = Live::Queued {
                        inputs: fresh.queued.clone(),
                    };
                    if !self.send_live(&h.id, &queued).await {
                        return;
                    }
                    // Deltas were skipped: restate the partial answer from scratch.
                    if !self.send_live(&h.id, &Live::AssistantReset).await {
                        return;
                    }
                    if !fresh.partial.assistant_text.is_empty() {
                        let delta = Live::AssistantDelta {
                            text: fresh.partial.assistant_text.clone(),
                        };
                        if !self.send_live(&h.id, &delta).await {
                            return;
                        }
                    }
                    sub = fresh;
                }
                Err(RecvError::Closed) => {
                    // The session's actor ended: it was killed (or the daemon stops).
                    if !self.ctx.closing.is_cancelled() {
                        let node = self.ctx.shared.fleet.moved_to(&h.id);
                        let closed = SessionClosedParams {
                            session_id: h.id.clone(),
                            name: h.name.clone(),
                            reason: node.as_ref().map(|n| {
                                format!("session {:?} moved to node {n:?}; attach again", h.name)
                            }),
                            node,
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

    /// Sends the stored events after `*last` up to `upto`, in order, advancing
    /// `*last`; false when the connection is gone or the store failed (the feed
    /// ends then rather than leave a gap). Each page is read while the one
    /// before is being sent, and its lines go out in chunks of several lines.
    async fn catch_up(&self, session_id: &str, last: &mut u64, upto: u64) -> bool {
        let store = &self.ctx.shared.store;
        let read = |after: u64| store.events(session_id, after, upto + 1, CATCH_UP_PAGE, false);
        if *last >= upto {
            return true;
        }
        let mut page = read(*last).await;
        loop {
            let events = match page {
                Ok(e) => e,
                Err(e) => {
                    warn!(error = %e, "could not read events to catch a client up; ending its feed");
                    return false;
                }
            };
            let Some(end) = events.last().map(|e| e.seq) else {
                return true;
            };
            let chunks = chunks(session_id, events, last);
            let sending = async {
                for chunk in chunks {
                    if self.out.send(chunk).await.is_err() {
                        return false;
                    }
                }
                true
            };
            if end >= upto {
                return sending.await;
            }
            // The next page is read while this one is sent.
            let (sent, next) = tokio::join!(sending, read(end));
            if !sent {
                return false;
            }
            page = next;
        }
    }
}

/// The live lines of `events` (those after `*last`, which advances), packed
/// into chunks of whole lines of about [`WRITE_BATCH`] bytes.
fn chunks(session_id: &str, events: Vec<Event>, last: &mut u64) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut chunk: Vec<u8> = Vec::new();
    for event in events {
        if event.seq <= *last {
            continue;
        }
        let seq = event.seq;
        let Some(line) = live_line(session_id, &Live::Event { event }) else {
            continue;
        };
        *last = seq;
        chunk.extend_from_slice(&line);
        if chunk.len() >= WRITE_BATCH {
            out.push(std::mem::take(&mut chunk).into());
        }
    }
    if !chunk.is_empty() {
        out.push(chunk.into());
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tether_shared::protocol::{LiveParams, QueuedInput};
    use tether_shared::{Delivery, EventKind};

    use super::*;

    #[test]
    fn a_live_line_is_the_notification_the_protocol_types_make() {
        let event = Event {
            seq: 7,
            ts: "2026-01-01T00:00:00Z".into(),
            kind: EventKind::UserMessage {
                text: "hi \"there\"\n".into(),
                delivery: Delivery::Steer,
            },
        };
        let all = [
            Live::Event { event },
            Live::AssistantDelta {
                text: "é\u{1}".into(),
            },
            Live::AssistantReset,
            Live::ToolOutput {
                call_id: "c1".into(),
                chunk: "out".into(),
            },
            Live::Queued {
                inputs: vec![QueuedInput {
                    input_id: 3,
                    text: "next".into(),
                    delivery: Delivery::Queue,
                }],
            },
        ];
        for live in all {
            let line = live_line("s-1", &live).unwrap();
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            let got: Value = serde_json::from_slice(&line).unwrap();
            let params = LiveParams {
                session_id: "s-1".into(),
                live,
            };
            let want = method::SessionLive::notification(&params).unwrap();
            assert_eq!(got, serde_json::to_value(want).unwrap());
        }
    }

    #[test]
    fn caught_up_lines_come_in_chunks_of_whole_lines_without_repeats() {
        let events: Vec<Event> = (1..=2000)
            .map(|seq| Event {
                seq,
                ts: "t".into(),
                kind: EventKind::TurnStarted,
            })
            .collect();
        let mut last = 10;
        let out = chunks("s", events, &mut last);
        assert_eq!(last, 2000);
        assert!(out.len() > 1, "one chunk for {} events", 2000);
        let mut seqs = Vec::new();
        for c in &out {
            assert!(c.len() < WRITE_BATCH + 1024);
            assert_eq!(c.last(), Some(&b'\n'));
            for l in c.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let v: Value = serde_json::from_slice(l).unwrap();
                seqs.push(v["params"]["event"]["seq"].as_u64().unwrap());
            }
        }
        assert_eq!(seqs, (11..=2000).collect::<Vec<_>>());
    }
}
