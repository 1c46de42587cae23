//! The scripted Anthropic Messages API: an HTTP server that end-to-end tests start
//! in-process in place of `api.anthropic.com`, one double per API as the house rule
//! says (the OpenAI-compatible one is `crate::model`).
//!
//! This module owns the server: the accept loop, the one route (`POST /v1/messages`),
//! the key check (`x-api-key`, when a test sets one), the queue of scripted
//! [`AnthropicReply`]s, the record of every request and of the usage reported for it.
//! Requests the real API would refuse (roles not alternating, a `tool_use` left
//! without its `tool_result`, more than 4 `cache_control` marks, a thinking block
//! without its signature) get its 400 `invalid_request_error`. The prompt cache and
//! those checks are in `cache`, the replies in `reply`, raw HTTP in `http`.

// Harness code fails the test loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod http;
mod reply;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use cache::{CacheUsage, LOOKBACK, PromptCache};
pub use http::RecordedRequest;
use http::{Conn, Gone};
pub use reply::AnthropicReply;

/// The one route.
const MESSAGES_PATH: &str = "/v1/messages";

/// A scripted Anthropic server on `127.0.0.1`, serving until dropped.
pub struct AnthropicServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

/// One request as served: what was asked and the usage reported for it.
#[derive(Debug, Clone)]
pub struct Served {
    /// The request.
    pub request: RecordedRequest,
    /// The cache's reading of it (`None` when the answer was an error before it).
    pub usage: Option<CacheUsage>,
}

struct State {
    /// A std mutex: held only to push or pop, never across an await.
    replies: Mutex<VecDeque<AnthropicReply>>,
    cache: Mutex<PromptCache>,
    key: Mutex<Option<String>>,
    /// A watch: waiters need the latest log and a wake-up on every change.
    log: watch::Sender<Vec<Served>>,
}

impl AnthropicServer {
    /// Binds `127.0.0.1:0` and serves in a background task until dropped.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("failed to bind the scripted Anthropic server on 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(State {
            replies: Mutex::default(),
            cache: Mutex::default(),
            key: Mutex::default(),
            log: watch::Sender::new(Vec::new()),
        });
        let task = tokio::spawn(serve(listener, Arc::clone(&state)));
        AnthropicServer { addr, state, task }
    }

    /// The base URL a provider is configured with: the host root, no `/v1`
    /// (requests go to `{base_url}/v1/messages`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers 401 `authentication_error` unless `x-api-key` is `key`.
    pub fn require_key(&self, key: &str) {
        *lock(&self.state.key) = Some(key.to_string());
    }

    /// Enqueues a reply; each request takes the oldest. With none queued the server
    /// answers a streamed `"ok"`.
    pub fn push(&self, reply: AnthropicReply) {
        lock(&self.state.replies).push_back(reply);
    }

    /// Every request served so far, in arrival order, with its reported usage.
    pub fn served(&self) -> Vec<Served> {
        self.state.log.borrow().clone()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.served().into_iter().map(|s| s.request).collect()
    }

    /// Waits until at least `n` requests have arrived; panics after `timeout` saying
    /// what it waited for and what came.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let mut rx = self.state.log.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            rx.wait_for(|log| log.len() >= n).await.map(|l| l.clone())
        })
        .await;
        match waited {
            Ok(Ok(served)) => served.into_iter().map(|s| s.request).collect(),
            _ => panic!(
                "timed out after {timeout:?} waiting for {n} Anthropic request(s); got {}",
                self.served().len()
            ),
        }
    }
}

impl Drop for AnthropicServer {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(handle(stream, Arc::clone(&state)));
                }
                Err(err) => {
                    eprintln!("scripted Anthropic server: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn error(ty: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": ty, "message": message}})
}

async fn handle(stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn { stream };
    let request = match conn.read_request().await {
        Ok(None) => return,
        Ok(Some(r)) => r,
        Err(message) => {
            let _ = conn
                .write_json(400, &error("invalid_request_error", &message), None)
                .await;
            conn.finish().await;
            return;
        }
    };
    let outcome = respond(&mut conn, &state, request).await;
    if outcome.is_ok() {
        conn.finish().await;
    }
}

async fn respond(conn: &mut Conn, state: &State, request: RecordedRequest) -> Result<(), Gone> {
    let record = |usage: Option<CacheUsage>| {
        let mut index = 0;
        state.log.send_modify(|log| {
            index = log.len();
            log.push(Served {
                request: request.clone(),
                usage,
            });
        });
        index
    };
    let route = request.path.split('?').next().unwrap_or_default();
    if request.method != "POST" || route != MESSAGES_PATH {
        record(None);
        let message = format!("no route for {} {}", request.method, request.path);
        return conn
            .write_json(404, &error("not_found_error", &message), None)
            .await;
    }
    let key = lock(&state.key).clone();
    if let Some(key) = key
        && request.header("x-api-key") != Some(key.as_str())
    {
        record(None);
        let e = error("authentication_error", "invalid x-api-key");
        return conn.write_json(401, &e, None).await;
    }
    if request.header("anthropic-version").is_none() {
        record(None);
        let e = error(
            "invalid_request_error",
            "anthropic-version: header is required",
        );
        return conn.write_json(400, &e, None).await;
    }
    if let Some(message) = cache::invalid(&request.body) {
        record(None);
        let e = error("invalid_request_error", &message);
        return conn.write_json(400, &e, None).await;
    }
    let reply = lock(&state.replies)
        .pop_front()
        .unwrap_or_else(|| AnthropicReply::text("ok"));
    // The cache is consulted (and written) only by a request that is answered.
    let usage = if reply.is_status() {
        CacheUsage::default()
    } else {
        lock(&state.cache).serve(&request.body)
    };
    let index = record((!reply.is_status()).then_some(usage));
    let model = request.body["model"].as_str().unwrap_or("claude-scripted");
    reply
        .write(conn, &format!("msg_scripted_{index}"), model, usage)
        .await
}
