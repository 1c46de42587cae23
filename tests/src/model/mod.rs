//! The scripted model: an OpenAI-compatible HTTP server that end-to-end tests start
//! in-process in place of a real provider.
//!
//! This module owns the server: the accept loop, routing, the queue of scripted [`Reply`]s
//! and the record of every request it received. The HTTP/1.1 side (raw TCP, one request per
//! connection, `Connection: close`) is in `http`; the replies and their rendering into
//! `chat.completion.chunk` SSE streams shaped like OpenAI's (text split into word pieces,
//! tool-call arguments split mid-token, a usage chunk, `[DONE]`) are in `reply`.
//!
//! Two policies make it behave like a model with a window, for compaction tests:
//!
//! - [`ModelServer::context_window`]: a request whose prompt counts more tokens than the
//!   window (by [`count_tokens`], the rule in `window`) is refused as a real server
//!   refuses it ([`Overflow`]: OpenAI's HTTP 400 by default), and takes no scripted reply;
//! - [`ModelServer::summarise_when`]: a request the test's predicate takes for a summary
//!   request (e.g. [`asks_for_summary`]) is answered with [`summary_of`] the request (its
//!   `REMEMBER` lines), ahead of the queue and without taking a scripted reply.
//!
//! Every answer reports `usage.prompt_tokens` by the same count (in a stream only when
//! the request asked for it with `stream_options.include_usage`, as OpenAI does).
//!
//! With [`ModelServer::simulate_cache`] it also has OpenAI's automatic prompt cache
//! (`cache`, shared with the Responses double): the usage then reports
//! `prompt_tokens_details.cached_tokens`, and `prompt_tokens` is the cache's count of the
//! prompt (its serialised tools and messages, 4 bytes a token) so that the cached part
//! is a part of it. The window policy still counts by [`count_tokens`].

// Harness code fails the test loudly by design: a server that cannot bind or a wait that
// times out must abort the test with a clear message, not hand back a `Result` for every
// caller to unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
pub(crate) mod http;
mod reply;
mod summary;
mod window;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use cache::{CachedPrompt, INCREMENT, MIN_TOKENS, PrefixCache, assert_steady};
pub use http::RecordedRequest;
use http::{Conn, Gone, Parsed};
pub use reply::Reply;
use reply::{Meta, error_json, write_reply};
use summary::SummaryPredicate;
pub use summary::{SUMMARY_HEADING, asks_for_summary, summary_of};
use window::overflow_body;
pub use window::{Overflow, count_tokens};

/// The one route that consumes scripted replies.
const CHAT_PATH: &str = "/v1/chat/completions";
/// The model name echoed when the request names none.
const DEFAULT_MODEL: &str = "scripted-model";

/// A scripted OpenAI-compatible server on `127.0.0.1`, serving until dropped.
pub struct ModelServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

/// State shared between the handle and the connection tasks.
struct State {
    /// Replies in the order they will be used. A std mutex: it is only held to push or pop,
    /// never across an await.
    replies: Mutex<VecDeque<Reply>>,
    /// A watch rather than Mutex + Notify: waiters need the latest log plus a wake-up on
    /// every change, and `wait_for` gives both without a lost-wakeup race.
    log: watch::Sender<Log>,
    /// The window and summary policies; a std mutex, held only to read or set them.
    policy: Mutex<Policy>,
    /// The prompt cache, consulted only with [`Policy::simulate_cache`]; a std mutex,
    /// held only while it serves one request.
    cache: Mutex<PrefixCache>,
}

#[derive(Default)]
struct Log {
    /// Chat-completions requests (`POST /v1/chat/completions`), the ones tests count.
    requests: Vec<RecordedRequest>,
    /// Every request, any path: the daemon also asks other routes (its window probe's
    /// `GET /v1/models`, `/props`, `/api/ps`, `POST /api/show`), answered 404.
    all: Vec<RecordedRequest>,
    disconnects: usize,
    overflows: usize,
    summaries: usize,
    /// What the simulated cache made of each request it served, in order.
    cache: Vec<CachedPrompt>,
}

#[derive(Default, Clone)]
struct Policy {
    window: Option<u64>,
    overflow: Overflow,
    summarise: Option<Arc<SummaryPredicate>>,
    no_stream_usage: bool,
    simulate_cache: bool,
}

impl State {
    fn record(&self, request: RecordedRequest) -> usize {
        let mut index = 0;
        let chat = request.method == "POST" && request.path.split('?').next() == Some(CHAT_PATH);
        self.log.send_modify(|log| {
            index = log.all.len();
            if chat {
                log.requests.push(request.clone());
            }
            log.all.push(request);
        });
        index
    }

    fn next_reply(&self) -> Reply {
        self.replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
            .unwrap_or_else(|| Reply::text("ok"))
    }

    fn policy(&self) -> Policy {
        self.policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_policy(&self, change: impl FnOnce(&mut Policy)) {
        change(&mut self.policy.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl ModelServer {
    /// Binds `127.0.0.1:0` and serves in a background task until the server is dropped.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("failed to bind the scripted model server on 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("failed to read the scripted model server's address");
        let state = Arc::new(State {
            replies: Mutex::default(),
            log: watch::Sender::new(Log::default()),
            policy: Mutex::default(),
            cache: Mutex::default(),
        });
        let task = tokio::spawn(serve(listener, Arc::clone(&state)));
        Self { addr, state, task }
    }

    /// The OpenAI-style base URL, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Enqueues a reply; each chat-completions request takes the oldest. With the queue
    /// empty the server answers a streamed `"ok"`.
    pub fn push(&self, reply: Reply) {
        self.state
            .replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(reply);
    }

    /// How many pushed replies no request has taken yet.
    pub fn pending_replies(&self) -> usize {
        self.state
            .replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Every chat-completions request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.log.borrow().requests.clone()
    }

    /// Every request received so far, in arrival order, on any path (the window probe's
    /// requests included).
    pub fn all_requests(&self) -> Vec<RecordedRequest> {
        self.state.log.borrow().all.clone()
    }

    /// Every chat request body serialized, one per line, for "contains" asserts across
    /// requests.
    pub fn request_text(&self) -> String {
        self.state
            .log
            .borrow()
            .requests
            .iter()
            .map(RecordedRequest::request_text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// From now on, refuse every chat request whose prompt counts more than `tokens`
    /// (by [`count_tokens`]) the way [`ModelServer::overflow_style`] says (OpenAI's HTTP
    /// 400 `context_length_exceeded` unless changed). A refused request is recorded but
    /// takes no scripted reply: the retry after a compaction gets it.
    pub fn context_window(&self, tokens: u64) {
        self.state.set_policy(|p| p.window = Some(tokens));
    }

    /// How an over-window request is refused (see [`Overflow`]).
    pub fn overflow_style(&self, style: Overflow) {
        self.state.set_policy(|p| p.overflow = style);
    }

    /// From now on, answer every chat request for which `predicate` holds with
    /// [`summary_of`] that request (streamed text, `finish_reason: "stop"`), ahead of the
    /// queue and without taking a scripted reply. The window is checked first: a summary
    /// request over the window is refused like any other.
    /// `server.summarise_when(asks_for_summary)` takes a last user message that mentions a
    /// summary for a summary request.
    pub fn summarise_when(
        &self,
        predicate: impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static,
    ) {
        self.state
            .set_policy(|p| p.summarise = Some(Arc::new(predicate)));
    }

    /// From now on, streams carry no usage chunk even when the request asks for one
    /// (`stream_options.include_usage`), as llama-cpp-python's server does: the client
    /// must estimate the context size. Non-streamed answers still carry `usage`.
    pub fn omit_stream_usage(&self) {
        self.state.set_policy(|p| p.no_stream_usage = true);
    }

    /// From now on, serve every answered chat request through OpenAI's automatic prompt
    /// cache (see `cache`): the usage reports `prompt_tokens_details.cached_tokens`, and
    /// `prompt_tokens` counts the serialised prompt, 4 bytes a token (so with the cached
    /// part in it). An error reply neither reads nor fills the cache.
    pub fn simulate_cache(&self) {
        self.state.set_policy(|p| p.simulate_cache = true);
    }

    /// What the simulated cache made of each request it served, in arrival order.
    pub fn cache_usage(&self) -> Vec<CachedPrompt> {
        self.state.log.borrow().cache.clone()
    }

    /// How many requests were refused for being over the window.
    pub fn overflows(&self) -> usize {
        self.state.log.borrow().overflows
    }

    /// How many requests were answered by the summary policy.
    pub fn summaries(&self) -> usize {
        self.state.log.borrow().summaries
    }

    /// How many replies were cut short because the client closed the connection (an
    /// interrupted slow stream, a dropped `hang`).
    pub fn disconnects(&self) -> usize {
        self.state.log.borrow().disconnects
    }

    /// Waits until at least `n` chat requests have arrived and returns all of them;
    /// panics after `timeout` naming what it waited for and what it got.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let mut rx = self.state.log.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            // The Ref is cloned out at once so no borrow of the watch lives across an await.
            rx.wait_for(|log| log.requests.len() >= n)
                .await
                .map(|log| log.requests.clone())
        })
        .await;
        match waited {
            Ok(Ok(requests)) => requests,
            _ => {
                let got = self.all_requests();
                let summary: Vec<String> = got
                    .iter()
                    .map(|r| format!("{} {} {}", r.method, r.path, truncate(&r.request_text())))
                    .collect();
                panic!(
                    "timed out after {timeout:?} waiting for {n} model request(s); got {} \
                     ({} on any path):\n{}",
                    self.requests().len(),
                    got.len(),
                    summary.join("\n")
                );
            }
        }
    }

    /// Waits until at least `n` client disconnects have been seen (see
    /// [`ModelServer::disconnects`]); panics after `timeout`.
    pub async fn wait_for_disconnects(&self, n: usize, timeout: Duration) -> usize {
        let mut rx = self.state.log.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            rx.wait_for(|log| log.disconnects >= n)
                .await
                .map(|log| log.disconnects)
        })
        .await;
        match waited {
            Ok(Ok(count)) => count,
            _ => panic!(
                "timed out after {timeout:?} waiting for {n} client disconnect(s) from the \
                 model server; saw {}",
                self.disconnects()
            ),
        }
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection task,
        // hung and slow replies included.
        self.task.abort();
    }
}

fn truncate(text: &str) -> String {
    const LIMIT: usize = 300;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
async fn serve(listener: TcpListener, state: Arc<State>) {
    // Connection tasks live in this set, so aborting this task (on Drop) ends them too.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(handle_connection(stream, Arc::clone(&state)));
                }
                Err(err) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    eprintln!("scripted model server: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle_connection(stream: TcpStream, state: Arc<State>) {
    // Small SSE writes must leave at once for `slow` streams to trickle.
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let mut conn = Conn { rd, wr };
    let outcome = match conn.read_request().await {
        Ok(None) => return,
        Ok(Some(parsed)) => {
            // Record before answering, so the body is kept whatever the reply is.
            let index = state.record(parsed.request.clone());
            respond(&mut conn, &state, parsed, index).await
        }
        Err(message) => conn.write_json(400, &error_json(400, &message), None).await,
    };
    match outcome {
        Ok(()) => conn.finish().await,
        Err(Gone) => state.log.send_modify(|log| log.disconnects += 1),
    }
}

async fn respond(conn: &mut Conn, state: &State, parsed: Parsed, index: usize) -> Result<(), Gone> {
    let request = parsed.request;
    let route = request.path.split('?').next().unwrap_or_default();
    if request.method != "POST" || route != CHAT_PATH {
        let message = format!("no route for {} {}", request.method, request.path);
        return conn.write_json(404, &error_json(404, &message), None).await;
    }
    if let Some(err) = parsed.body_error {
        let message = format!("request body is not JSON: {err}");
        return conn.write_json(400, &error_json(400, &message), None).await;
    }

    let policy = state.policy();
    let streamed = request.body.get("stream").and_then(Value::as_bool) == Some(true);
    let tokens = count_tokens(&request.body);
    if let Some(window) = policy.window
        && tokens > window
    {
        state.log.send_modify(|log| log.overflows += 1);
        if policy.overflow == Overflow::SilentStream && streamed {
            return conn.write_silent_stream().await;
        }
        let body = overflow_body(policy.overflow, window, tokens);
        return conn.write_json(400, &body, None).await;
    }

    let reply = match &policy.summarise {
        Some(asks) if asks(&request) => {
            state.log.send_modify(|log| log.summaries += 1);
            Reply::text(summary_of(&request))
        }
        _ => state.next_reply(),
    };
    let meta = Meta {
        id: format!("chatcmpl-scripted-{index}"),
        model: request
            .body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_MODEL),
    };
    let include_usage = !policy.no_stream_usage
        && request.body["stream_options"]["include_usage"].as_bool() == Some(true);
    let cached = (policy.simulate_cache && !reply.is_status()).then(|| {
        let served = state
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .serve(&request.body, &["messages"]);
        state.log.send_modify(|log| log.cache.push(served));
        served
    });
    let usage = reply.usage_json(tokens, cached);

    write_reply(conn, &reply, &meta, streamed, usage, include_usage).await
}

#[cfg(test)]
mod tests;
