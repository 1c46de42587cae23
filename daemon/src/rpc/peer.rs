//! What the daemon holds for one connected client: its outbox, the sessions it
//! attached to (read-only or not) with the feed of each, and whether it follows
//! the session list. Handlers get a `&Arc<Peer>`; through it they reach the
//! daemon's context.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tether_shared::protocol::{NotificationMethod, Response, RpcError};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::errors;
use super::outbox::{Outbox, line};
use crate::daemon::DaemonContext;

/// One connected client.
pub(super) struct Peer {
    /// The daemon.
    pub(super) ctx: Arc<DaemonContext>,
    /// Every line to the client.
    pub(super) out: Outbox,
    /// Sessions (by id) this client attached to read-only.
    pub(super) read_only: Mutex<HashSet<String>>,
    /// The live feed of each attached session (by id).
    pub(super) feeds: Mutex<HashMap<String, CancellationToken>>,
    /// Fires when the connection ends.
    pub(super) done: CancellationToken,
    /// This client subscribed to session list changes.
    pub(super) list_feed: AtomicBool,
    /// ... and asked for them as deltas (`sessions.changed`), at its last subscribe.
    pub(super) list_deltas: AtomicBool,
}

impl Peer {
    /// A client with nothing attached yet.
    pub(super) fn new(ctx: Arc<DaemonContext>, out: Outbox, done: CancellationToken) -> Self {
        Peer {
            ctx,
            out,
            read_only: Mutex::new(HashSet::new()),
            feeds: Mutex::new(HashMap::new()),
            done,
            list_feed: AtomicBool::new(false),
            list_deltas: AtomicBool::new(false),
        }
    }

    /// Answers request `id`. A result that does not serialise is answered with
    /// an internal error, never with an empty value.
    pub(super) async fn reply(&self, id: Value, result: Result<Value, RpcError>) {
        let msg = match result {
            Ok(v) => Response::ok(id, v),
            Err(e) => Response::err(id, e),
        };
        let bytes = match line(&msg) {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "could not encode a reply; answering with an error");
                match line(&Response::err(msg.id, errors::unencodable_reply(e))) {
                    Ok(l) => l,
                    Err(_) => return,
                }
            }
        };
        let _ = self.out.send(bytes).await;
    }

    /// Answers request `id` with the result `write` appends to the line (the
    /// largest results, `session.list`'s: written in parts at once, no JSON
    /// tree). The line is what [`Peer::reply`] sends for the same result.
    pub(super) async fn reply_json(
        &self,
        id: Value,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) {
        let mut line = b"{\"jsonrpc\":\"2.0\",\"id\":".to_vec();
        let written = serde_json::to_writer(&mut line, &id).and_then(|()| {
            line.extend_from_slice(b",\"result\":");
            write(&mut line)
        });
        match written {
            Ok(()) => {
                line.extend_from_slice(b"}\n");
                let _ = self.out.send(line).await;
            }
            Err(e) => {
                warn!(error = %e, "could not encode a reply; answering with an error");
                self.reply(id, Err(errors::unencodable_reply(e))).await;
            }
        }
    }

    /// Sends a notification; false when the connection is gone. One that does
    /// not serialise is logged and not sent.
    pub(super) async fn notify<N: NotificationMethod>(&self, params: &N::Params) -> bool {
        match notice::<N>(params) {
            Some(l) => self.out.send(l).await.is_ok(),
            None => true,
        }
    }

    /// Refuses a change to a session this client attached to read-only.
    pub(super) fn writable(&self, id: &str, name: &str) -> Result<(), RpcError> {
        let ro = self
            .read_only
            .lock()
            .map(|s| s.contains(id))
            .unwrap_or(false);
        if ro {
            return Err(errors::read_only(name));
        }
        Ok(())
    }
}

/// A notification as one line; one that does not serialise is logged and not sent.
pub(super) fn notice<N: NotificationMethod>(params: &N::Params) -> Option<Vec<u8>> {
    match N::notification(params).and_then(|n| line(&n)) {
        Ok(l) => Some(l),
        Err(e) => {
            warn!(method = N::NAME, error = %e, "could not encode a notification; not sent");
            None
        }
    }
}
