//! The client's side of the stdio connection: one writer of lines on stdout, and
//! the requests `tether acp` makes of the client (permission requests), each
//! answered through a oneshot when the client's response comes in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use super::wire::{SessionNotification, SessionUpdate};

/// The client's answer to a request: its result, or its error's message.
pub type Answer = Result<Value, String>;

/// A handle on the client, cloned into each session's task.
#[derive(Clone)]
pub struct Editor {
    /// Lines for stdout; unbounded because a session must never wait on the
    /// client to go on reading the daemon (the client reads what it is sent).
    out: mpsc::UnboundedSender<String>,
    /// Requests made of the client, by id, waiting for its response.
    pending: Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>,
    next_id: Arc<AtomicU64>,
}

impl Editor {
    /// A handle writing to `out`.
    pub fn new(out: mpsc::UnboundedSender<String>) -> Self {
        Editor {
            out,
            pending: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    fn send(&self, message: Value) {
        // The writer is gone only once stdout is: nobody to tell.
        let _ = self.out.send(message.to_string());
    }

    /// Answers request `id`.
    pub fn respond(&self, id: &Value, result: impl Serialize) {
        let result = serde_json::to_value(result).unwrap_or(Value::Null);
        self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
    }

    /// Answers request `id` with an error.
    pub fn fail(&self, id: &Value, code: i64, message: impl Into<String>) {
        self.send(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code, "message": message.into()},
        }));
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: impl Serialize) {
        let params = serde_json::to_value(params).unwrap_or(Value::Null);
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends `session/update`s.
    pub fn updates(&self, session_id: &str, updates: Vec<SessionUpdate>) {
        for update in updates {
            self.notify(
                "session/update",
                SessionNotification {
                    session_id: session_id.to_string(),
                    update,
                },
            );
        }
    }

    /// Makes a request of the client; its id and where its answer will come.
    pub fn request(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> (u64, oneshot::Receiver<Answer>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, tx);
        let params = serde_json::to_value(params).unwrap_or(Value::Null);
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        (id, rx)
    }

    /// Asks the client to drop request `id` (`$/cancel_request`): its answer no
    /// longer matters. The client may ignore it; a late answer is ignored here.
    pub fn withdraw(&self, id: u64) {
        self.notify("$/cancel_request", json!({ "requestId": id }));
    }

    /// The client answered request `id` (a response line).
    pub fn answered(&self, id: &Value, answer: Answer) {
        let Some(id) = id.as_u64() else {
            return;
        };
        let waiting = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if let Some(tx) = waiting {
            // The session that asked may be gone; then nobody needs it.
            let _ = tx.send(answer);
        }
    }
}

/// Writes each line to stdout as it comes, until every handle is gone.
pub async fn write_lines(mut lines: mpsc::UnboundedReceiver<String>) -> std::io::Result<()> {
    let mut stdout = tokio::io::stdout();
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        stdout.write_all(line.as_bytes()).await?;
        stdout.flush().await?;
    }
    Ok(())
}
