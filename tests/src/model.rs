//! The scripted model: an OpenAI-compatible HTTP server that end-to-end tests start
//! in-process in place of a real provider.
//!
//! It owns the HTTP/1.1 side (raw TCP, one request per connection, `Connection: close`), the
//! queue of scripted [`Reply`]s, the record of every request it received, and the rendering
//! of replies into `chat.completion.chunk` SSE streams shaped like OpenAI's (text split into
//! word pieces, tool-call arguments split mid-token, a usage chunk, `[DONE]`).

// Harness code fails the test loudly by design: a server that cannot bind or a wait that
// times out must abort the test with a clear message, not hand back a `Result` for every
// caller to unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// The one route that consumes scripted replies.
const CHAT_PATH: &str = "/v1/chat/completions";
/// Caps that keep a broken client from growing a buffer without bound.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;
/// A fixed `created` stamp keeps the streams deterministic.
const CREATED: u64 = 1_700_000_000;
/// Sizes (in bytes) that tool-call arguments are cut into, cycled. Uneven and small so
/// pieces end mid-key, mid-string and mid-escape, as real providers do.
const ARG_PIECES: [usize; 5] = [3, 5, 7, 4, 6];
/// The model name echoed when the request names none.
const DEFAULT_MODEL: &str = "scripted-model";

/// A scripted OpenAI-compatible server on `127.0.0.1`, serving until dropped.
pub struct ModelServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

/// One request as the server received it, whatever the reply was.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The request target as sent, query string included.
    pub path: String,
    /// Headers in arrival order, names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body; `Null` when empty, a `String` with the raw text when it was
    /// not JSON (the server answers 400 then).
    pub body: Value,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Authorization` header, e.g. `Bearer sk-test`.
    pub fn authorization(&self) -> Option<String> {
        self.header("authorization").map(str::to_owned)
    }

    /// The body's `messages` array (empty when absent).
    pub fn messages(&self) -> Vec<Value> {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The body's `tools` array (empty when absent).
    pub fn tools(&self) -> Vec<Value> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The body's `model` field.
    pub fn model(&self) -> Option<String> {
        self.body
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The whole body serialized, for "contains" asserts.
    pub fn request_text(&self) -> String {
        self.body.to_string()
    }
}

/// State shared between the handle and the connection tasks.
struct State {
    /// Replies in the order they will be used. A std mutex: it is only held to push or pop,
    /// never across an await.
    replies: Mutex<VecDeque<Reply>>,
    /// A watch rather than Mutex + Notify: waiters need the latest log plus a wake-up on
    /// every change, and `wait_for` gives both without a lost-wakeup race.
    log: watch::Sender<Log>,
}

#[derive(Default)]
struct Log {
    requests: Vec<RecordedRequest>,
    disconnects: usize,
}

impl State {
    fn record(&self, request: RecordedRequest) -> usize {
        let mut index = 0;
        self.log.send_modify(|log| {
            index = log.requests.len();
            log.requests.push(request);
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

    /// Every request received so far, in arrival order (all paths, not only chat).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.log.borrow().requests.clone()
    }

    /// The most recent request, if any.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.state.log.borrow().requests.last().cloned()
    }

    /// Every request body serialized, one per line, for "contains" asserts across requests.
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

    /// How many replies were cut short because the client closed the connection (an
    /// interrupted slow stream, a dropped `hang`).
    pub fn disconnects(&self) -> usize {
        self.state.log.borrow().disconnects
    }

    /// Waits until at least `n` requests have arrived and returns all of them; panics
    /// after `timeout` naming what it waited for and what it got.
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
                let got = self.requests();
                let summary: Vec<String> = got
                    .iter()
                    .map(|r| format!("{} {} {}", r.method, r.path, truncate(&r.request_text())))
                    .collect();
                panic!(
                    "timed out after {timeout:?} waiting for {n} model request(s); got {}:\n{}",
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

/// A scripted answer to one chat-completions request.
#[derive(Debug, Clone)]
pub struct Reply {
    kind: ReplyKind,
    text_prefix: Option<String>,
    chunk_delay: Duration,
    first_delay: Duration,
    retry_after: Option<u64>,
    error_message: Option<String>,
    usage: Option<(u64, u64)>,
}

#[derive(Debug, Clone)]
enum ReplyKind {
    Text(String),
    ToolCalls(Vec<ScriptedCall>),
    Status(u16),
    Truncated(String),
    Hang,
}

#[derive(Debug, Clone)]
struct ScriptedCall {
    id: String,
    name: String,
    arguments: String,
}

impl Reply {
    fn new(kind: ReplyKind) -> Self {
        Self {
            kind,
            text_prefix: None,
            chunk_delay: Duration::ZERO,
            first_delay: Duration::ZERO,
            retry_after: None,
            error_message: None,
            usage: None,
        }
    }

    /// A streamed text answer, split into word pieces, ending `finish_reason: "stop"`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(ReplyKind::Text(text.into()))
    }

    /// One streamed tool call, ending `finish_reason: "tool_calls"`. `args` is serialized
    /// as the arguments string; pass a `Value::String` to send raw (even invalid) text.
    pub fn tool_call(id: impl Into<String>, name: impl Into<String>, args: Value) -> Self {
        Self::tool_calls([(id, name, args)])
    }

    /// Parallel tool calls (indexes 0, 1, …), their deltas interleaved round-robin.
    pub fn tool_calls<I, N>(calls: impl IntoIterator<Item = (I, N, Value)>) -> Self
    where
        I: Into<String>,
        N: Into<String>,
    {
        let calls = calls
            .into_iter()
            .map(|(id, name, args)| ScriptedCall {
                id: id.into(),
                name: name.into(),
                arguments: match args {
                    Value::String(raw) => raw,
                    other => other.to_string(),
                },
            })
            .collect();
        Self::new(ReplyKind::ToolCalls(calls))
    }

    /// An HTTP error with an OpenAI-style JSON error body.
    pub fn status(code: u16) -> Self {
        Self::new(ReplyKind::Status(code))
    }

    /// Streams `text` in pieces, then closes the connection cleanly with neither a
    /// `finish_reason` nor `[DONE]`. The body is close-delimited, so the client sees an
    /// ordinary end of body: only the missing terminator tells it the answer was cut.
    pub fn truncated(text: impl Into<String>) -> Self {
        Self::new(ReplyKind::Truncated(text.into()))
    }

    /// Reads the request and never answers, until the client drops the connection.
    pub fn hang() -> Self {
        Self::new(ReplyKind::Hang)
    }

    /// Streams this text before the tool calls (or before the text) of the reply.
    pub fn with_text_prefix(mut self, text: impl Into<String>) -> Self {
        self.text_prefix = Some(text.into());
        self
    }

    /// Waits this long between SSE events, so a test can interrupt mid-stream.
    pub fn slow(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Waits this long before the first event (after the response headers, like a
    /// model's time to first token); for error replies, before the whole response.
    pub fn delay_first(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    /// Adds a `Retry-After: <secs>` header.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The `error.message` of a [`Reply::status`] body.
    pub fn with_error_message(mut self, message: impl Into<String>) -> Self {
        self.error_message = Some(message.into());
        self
    }

    /// Overrides the reported `prompt_tokens` / `completion_tokens`.
    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.usage = Some((prompt_tokens, completion_tokens));
        self
    }

    /// The assistant text: prefix, then the text of a text or truncated reply.
    fn full_text(&self) -> String {
        let mut text = self.text_prefix.clone().unwrap_or_default();
        if let ReplyKind::Text(body) | ReplyKind::Truncated(body) = &self.kind {
            text.push_str(body);
        }
        text
    }

    fn calls(&self) -> &[ScriptedCall] {
        match &self.kind {
            ReplyKind::ToolCalls(calls) => calls,
            _ => &[],
        }
    }

    fn finish_reason(&self) -> &'static str {
        if self.calls().is_empty() {
            "stop"
        } else {
            "tool_calls"
        }
    }

    fn usage_json(&self, request: &RecordedRequest) -> Value {
        let (prompt, completion) = self.usage.unwrap_or_else(|| {
            // Roughly four bytes a token; only stable, plausible numbers matter.
            let prompt = Value::Array(request.messages()).to_string().len() / 4;
            let produced = self.full_text().len()
                + self
                    .calls()
                    .iter()
                    .map(|c| c.arguments.len())
                    .sum::<usize>();
            (prompt.max(1) as u64, (produced / 4).max(1) as u64)
        });
        json!({
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        })
    }
}

/// Identity of one response, shared by all its chunks.
struct Meta<'a> {
    id: String,
    model: &'a str,
}

impl Meta<'_> {
    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> String {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        })
        .to_string()
    }
}

/// The `data:` payloads of a streamed reply, in order, `[DONE]` included when complete.
fn stream_events(reply: &Reply, meta: &Meta<'_>, usage: Value) -> Vec<String> {
    let mut events = vec![meta.chunk(json!({"role": "assistant", "content": ""}), None)];
    let text = reply.full_text();
    for piece in split_words(&text) {
        events.push(meta.chunk(json!({"content": piece}), None));
    }
    if matches!(reply.kind, ReplyKind::Truncated(_)) {
        return events;
    }

    // Per call: the header delta, then its argument pieces. Taking step k of every call in
    // turn interleaves the indexes, the case a client must not get wrong.
    let steps: Vec<Vec<Value>> = reply
        .calls()
        .iter()
        .enumerate()
        .map(|(index, call)| {
            let header = json!({"tool_calls": [{
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }]});
            std::iter::once(header)
                .chain(split_pieces(&call.arguments).into_iter().map(|piece| {
                    json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                }))
                .collect()
        })
        .collect();
    let longest = steps.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..longest {
        for call_steps in &steps {
            if let Some(delta) = call_steps.get(k) {
                events.push(meta.chunk(delta.clone(), None));
            }
        }
    }

    events.push(meta.chunk(json!({}), Some(reply.finish_reason())));
    events.push(
        json!({
            "id": meta.id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": meta.model,
            "choices": [],
            "usage": usage,
        })
        .to_string(),
    );
    events.push("[DONE]".to_owned());
    events
}

/// The non-streamed `chat.completion` for a request that did not ask for `stream: true`.
fn completion_json(reply: &Reply, meta: &Meta<'_>, usage: Value) -> Value {
    let text = reply.full_text();
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !reply.calls().is_empty() { Value::Null } else { json!(text) },
    });
    if !reply.calls().is_empty() {
        message["tool_calls"] = reply
            .calls()
            .iter()
            .map(|call| {
                json!({
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                })
            })
            .collect();
    }
    json!({
        "id": meta.id,
        "object": "chat.completion",
        "created": CREATED,
        "model": meta.model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason()}],
        "usage": usage,
    })
}

/// Splits text into word pieces, each carrying its leading whitespace, so the pieces
/// concatenate back to the input: `"hello world"` → `["hello", " world"]`.
fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut prev_is_space = true;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() && !prev_is_space && i > start {
            pieces.push(&text[start..i]);
            start = i;
        }
        prev_is_space = c.is_whitespace();
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Splits into pieces of [`ARG_PIECES`] bytes, widened only to stay on char boundaries.
fn split_pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for size in ARG_PIECES.iter().cycle() {
        if start >= text.len() {
            break;
        }
        let mut end = (start + size).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&text[start..end]);
        start = end;
    }
    pieces
}

fn error_json(status: u16, message: &str) -> Value {
    let kind = match status {
        400 | 404 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Scripted",
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

/// The client went away before the reply was complete.
struct Gone;

/// A parsed request and, when its body was not JSON, why.
struct Parsed {
    request: RecordedRequest,
    body_error: Option<String>,
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

    let reply = state.next_reply();
    let meta = Meta {
        id: format!("chatcmpl-scripted-{index}"),
        model: request
            .body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_MODEL),
    };
    let streamed = request.body.get("stream").and_then(Value::as_bool) == Some(true);
    let usage = reply.usage_json(&request);

    match &reply.kind {
        ReplyKind::Hang => Err(conn.wait_closed().await),
        ReplyKind::Status(code) => {
            conn.pause(reply.first_delay).await?;
            let message = reply
                .error_message
                .clone()
                .unwrap_or_else(|| format!("scripted error {code}"));
            conn.write_json(*code, &error_json(*code, &message), reply.retry_after)
                .await
        }
        ReplyKind::Truncated(_) if !streamed => {
            // Announce the whole body, send half of it, close.
            conn.pause(reply.first_delay).await?;
            let body = completion_json(&reply, &meta, usage).to_string();
            let head = response_head(
                200,
                "application/json",
                &format!("Content-Length: {}\r\n", body.len()),
                reply.retry_after,
            );
            conn.write(head.as_bytes()).await?;
            conn.write(&body.as_bytes()[..body.len() / 2]).await
        }
        ReplyKind::Text(_) | ReplyKind::ToolCalls(_) if !streamed => {
            conn.pause(reply.first_delay).await?;
            let body = completion_json(&reply, &meta, usage);
            conn.write_json(200, &body, reply.retry_after).await
        }
        ReplyKind::Text(_) | ReplyKind::ToolCalls(_) | ReplyKind::Truncated(_) => {
            // Complete streams use chunked framing, as real providers do; a truncated one
            // is close-delimited so its end looks like a normal end of body.
            let chunked = !matches!(reply.kind, ReplyKind::Truncated(_));
            let framing = if chunked {
                "Transfer-Encoding: chunked\r\n"
            } else {
                ""
            };
            let head = response_head(
                200,
                "text/event-stream",
                &format!("Cache-Control: no-cache\r\n{framing}"),
                reply.retry_after,
            );
            conn.write(head.as_bytes()).await?;
            conn.pause(reply.first_delay).await?;
            for (i, data) in stream_events(&reply, &meta, usage).iter().enumerate() {
                if i > 0 {
                    conn.pause(reply.chunk_delay).await?;
                }
                let event = format!("data: {data}\n\n");
                if chunked {
                    let frame = format!("{:x}\r\n{event}\r\n", event.len());
                    conn.write(frame.as_bytes()).await?;
                } else {
                    conn.write(event.as_bytes()).await?;
                }
            }
            if chunked {
                conn.write(b"0\r\n\r\n").await?;
            }
            Ok(())
        }
    }
}

fn response_head(status: u16, content_type: &str, extra: &str, retry_after: Option<u64>) -> String {
    let retry = retry_after
        .map(|secs| format!("Retry-After: {secs}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\n{extra}{retry}Connection: close\r\n\r\n",
        reason_phrase(status)
    )
}

/// One accepted connection, split so the read side can watch for the client leaving while
/// the write side streams.
struct Conn {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
}

impl Conn {
    /// Reads one request: `Ok(None)` when the client closed without sending anything,
    /// `Err` with a message for a request this server cannot parse.
    async fn read_request(&mut self) -> Result<Option<Parsed>, String> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            if buf.len() > MAX_HEAD {
                return Err(format!("request head exceeds {MAX_HEAD} bytes"));
            }
            let n = self
                .rd
                .read(&mut chunk)
                .await
                .map_err(|err| format!("failed to read the request: {err}"))?;
            if n == 0 {
                return if buf.is_empty() {
                    Ok(None)
                } else {
                    Err("connection closed inside the request head".to_owned())
                };
            }
            buf.extend_from_slice(&chunk[..n]);
        };

        let head = std::str::from_utf8(&buf[..head_end])
            .map_err(|_| "request head is not UTF-8".to_owned())?;
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(path), Some(_version)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("malformed request line: {request_line:?}"));
        };
        let mut headers = Vec::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!("malformed header line: {line:?}"));
            };
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if header("transfer-encoding").is_some() {
            return Err("chunked request bodies are not supported; send Content-Length".into());
        }
        let length = match header("content-length") {
            None => 0,
            Some(value) => value
                .parse::<usize>()
                .map_err(|_| format!("bad Content-Length: {value:?}"))?,
        };
        if length > MAX_BODY {
            return Err(format!("request body exceeds {MAX_BODY} bytes"));
        }

        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let n = self
                .rd
                .read(&mut chunk)
                .await
                .map_err(|err| format!("failed to read the request body: {err}"))?;
            if n == 0 {
                return Err(format!(
                    "connection closed after {} of {length} body bytes",
                    body.len()
                ));
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(length);

        let (body, body_error) = if body.is_empty() {
            (Value::Null, None)
        } else {
            match serde_json::from_slice(&body) {
                Ok(value) => (value, None),
                Err(err) => (
                    Value::String(String::from_utf8_lossy(&body).into_owned()),
                    Some(err.to_string()),
                ),
            }
        };
        Ok(Some(Parsed {
            request: RecordedRequest {
                method: method.to_owned(),
                path: path.to_owned(),
                headers,
                body,
            },
            body_error,
        }))
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        self.wr.write_all(bytes).await.map_err(|_| Gone)?;
        self.wr.flush().await.map_err(|_| Gone)
    }

    async fn write_json(
        &mut self,
        status: u16,
        body: &Value,
        retry_after: Option<u64>,
    ) -> Result<(), Gone> {
        let body = body.to_string();
        let head = response_head(
            status,
            "application/json",
            &format!("Content-Length: {}\r\n", body.len()),
            retry_after,
        );
        self.write(head.as_bytes()).await?;
        self.write(body.as_bytes()).await
    }

    /// Sleeps for `delay`, returning early with `Gone` if the client closes meanwhile.
    async fn pause(&mut self, delay: Duration) -> Result<(), Gone> {
        if delay.is_zero() {
            return Ok(());
        }
        let deadline = Instant::now() + delay;
        let mut scratch = [0u8; 1024];
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return Ok(()),
                read = self.rd.read(&mut scratch) => match read {
                    Ok(0) | Err(_) => return Err(Gone),
                    // Bytes after the request (pipelining) are not served; drop them.
                    Ok(_) => {}
                },
            }
        }
    }

    /// Waits, without answering, until the client closes the connection.
    async fn wait_closed(&mut self) -> Gone {
        let mut scratch = [0u8; 1024];
        loop {
            match self.rd.read(&mut scratch).await {
                Ok(0) | Err(_) => return Gone,
                Ok(_) => {}
            }
        }
    }

    /// Ends a completed response: FIN after the last byte, which also ends a
    /// close-delimited body.
    async fn finish(mut self) {
        let _ = self.wr.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    async fn post(server: &ModelServer, body: Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/chat/completions", server.base_url()))
            .bearer_auth("sk-test")
            .json(&body)
            .send()
            .await
            .expect("request to the scripted model server failed")
    }

    fn chat_body(prompt: &str) -> Value {
        json!({
            "model": "gpt-test",
            "stream": true,
            "messages": [{"role": "user", "content": prompt}],
        })
    }

    /// Reads the body to its end (or a transport error) and returns the `data:` payloads.
    async fn read_events(mut response: reqwest::Response) -> Vec<String> {
        let mut raw = Vec::new();
        while let Ok(Some(bytes)) = response.chunk().await {
            raw.extend_from_slice(&bytes);
        }
        let raw = String::from_utf8(raw).unwrap();
        raw.split("\n\n")
            .filter(|event| !event.is_empty())
            .map(|event| event.strip_prefix("data: ").unwrap().to_owned())
            .collect()
    }

    fn chunks(events: &[String]) -> Vec<Value> {
        events
            .iter()
            .filter(|data| *data != "[DONE]")
            .map(|data| serde_json::from_str(data).unwrap())
            .collect()
    }

    fn content(chunks: &[Value]) -> String {
        chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect()
    }

    fn finish_reasons(chunks: &[Value]) -> Vec<String> {
        chunks
            .iter()
            .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
            .map(str::to_owned)
            .collect()
    }

    #[tokio::test]
    async fn text_reply_streams_in_pieces_and_reassembles() {
        let server = ModelServer::start().await;
        server.push(Reply::text("hello streaming world"));

        let response = post(&server, chat_body("hi")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "SSE content type"
        );
        let events = read_events(response).await;
        let chunks = chunks(&events);

        assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
        assert_eq!(content(&chunks), "hello streaming world");
        let content_chunks = chunks
            .iter()
            .filter(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty())
            })
            .count();
        assert_eq!(content_chunks, 3, "one chunk per word");
        assert_eq!(finish_reasons(&chunks), ["stop"]);
        let usage = chunks.iter().find(|c| c.get("usage").is_some()).unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(
            usage["usage"]["total_tokens"].as_u64(),
            Some(
                usage["usage"]["prompt_tokens"].as_u64().unwrap()
                    + usage["usage"]["completion_tokens"].as_u64().unwrap()
            )
        );
        assert!(chunks.iter().all(|c| c["model"] == "gpt-test"));
        assert_eq!(server.pending_replies(), 0);
    }

    #[tokio::test]
    async fn empty_queue_answers_ok_and_requests_are_recorded() {
        let server = ModelServer::start().await;

        let events = read_events(post(&server, chat_body("first question")).await).await;
        assert_eq!(content(&chunks(&events)), "ok");

        let requests = server.wait_for_requests(1, WAIT).await;
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(request.authorization().as_deref(), Some("Bearer sk-test"));
        assert_eq!(request.header("Content-Type"), Some("application/json"));
        assert_eq!(request.model().as_deref(), Some("gpt-test"));
        assert_eq!(request.messages()[0]["content"], "first question");
        assert!(request.request_text().contains("first question"));
        assert!(server.request_text().contains("first question"));
    }

    #[tokio::test]
    async fn parallel_tool_call_arguments_split_mid_token_and_reassemble() {
        let server = ModelServer::start().await;
        let shell_args = json!({"command": "echo hi", "timeout_ms": 5000});
        let read_args = json!({"path": "/tmp/é.txt"});
        server.push(
            Reply::tool_calls(vec![
                ("call_1", "shell", shell_args.clone()),
                ("call_2", "read_file", read_args.clone()),
            ])
            .with_text_prefix("Let me check."),
        );

        let chunks = chunks(&read_events(post(&server, chat_body("go")).await).await);
        assert_eq!(content(&chunks), "Let me check.");
        assert_eq!(finish_reasons(&chunks), ["tool_calls"]);

        // index → (id, name, argument pieces), in stream order.
        let mut calls: BTreeMap<u64, (String, String, Vec<String>)> = BTreeMap::new();
        let mut index_order = Vec::new();
        for chunk in &chunks {
            let Some(deltas) = chunk["choices"][0]["delta"]["tool_calls"].as_array() else {
                continue;
            };
            for delta in deltas {
                let index = delta["index"].as_u64().unwrap();
                index_order.push(index);
                let entry = calls.entry(index).or_insert_with(|| {
                    assert_eq!(delta["type"], "function", "first delta names the type");
                    (
                        delta["id"].as_str().unwrap().to_owned(),
                        delta["function"]["name"].as_str().unwrap().to_owned(),
                        Vec::new(),
                    )
                });
                let piece = delta["function"]["arguments"].as_str().unwrap();
                if !piece.is_empty() {
                    entry.2.push(piece.to_owned());
                }
            }
        }

        let expected = [
            ("call_1", "shell", &shell_args),
            ("call_2", "read_file", &read_args),
        ];
        for (index, (id, name, args)) in expected.into_iter().enumerate() {
            let (got_id, got_name, pieces) = &calls[&(index as u64)];
            assert_eq!((got_id.as_str(), got_name.as_str()), (id, name));
            assert!(
                pieces.len() >= 3,
                "arguments split into several chunks: {pieces:?}"
            );
            assert!(
                pieces
                    .iter()
                    .any(|p| serde_json::from_str::<Value>(p).is_err()),
                "pieces are not whole JSON values"
            );
            let joined: String = pieces.concat();
            assert_eq!(&serde_json::from_str::<Value>(&joined).unwrap(), args);
        }
        assert!(
            index_order.windows(2).any(|w| w[0] > w[1]),
            "indexes interleave: {index_order:?}"
        );
    }

    #[tokio::test]
    async fn rate_limit_carries_retry_after_and_keeps_the_request() {
        let server = ModelServer::start().await;
        server.push(Reply::status(429).retry_after(1));

        let response = post(&server, chat_body("limited")).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "1");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");

        let requests = server.wait_for_requests(1, WAIT).await;
        assert_eq!(requests[0].messages()[0]["content"], "limited");
    }

    #[tokio::test]
    async fn server_error_and_unknown_path() {
        let server = ModelServer::start().await;
        server.push(Reply::status(500).with_error_message("boom"));

        let response = post(&server, chat_body("x")).await;
        assert_eq!(response.status(), 500);
        assert!(response.headers().get("retry-after").is_none());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["message"], "boom");

        let response = reqwest::get(format!("{}/models", server.base_url()))
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("/v1/models")
        );
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn truncated_stream_ends_without_finish_or_done() {
        let server = ModelServer::start().await;
        server.push(Reply::truncated("partial text here"));

        let events = read_events(post(&server, chat_body("x")).await).await;
        assert!(!events.iter().any(|e| e == "[DONE]"), "{events:?}");
        let chunks = chunks(&events);
        assert!(finish_reasons(&chunks).is_empty());
        assert_eq!(content(&chunks), "partial text here");
    }

    #[tokio::test]
    async fn slow_stream_trickles_and_an_interrupt_is_seen() {
        let server = ModelServer::start().await;
        server.push(Reply::text("never finished").slow(Duration::from_secs(3600)));

        let mut response = post(&server, chat_body("x")).await;
        let first = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("first SSE event did not arrive")
            .unwrap()
            .unwrap();
        let first = String::from_utf8(first.to_vec()).unwrap();
        assert!(first.starts_with("data: "), "{first}");
        assert!(!first.contains("[DONE]"), "{first}");

        drop(response);
        assert_eq!(server.wait_for_disconnects(1, WAIT).await, 1);
    }

    #[tokio::test]
    async fn hang_never_answers_until_dropped() {
        let server = ModelServer::start().await;
        server.push(Reply::hang());

        let pending = post(&server, chat_body("x"));
        assert!(
            tokio::time::timeout(Duration::from_millis(300), pending)
                .await
                .is_err(),
            "a hung reply must not answer"
        );
        server.wait_for_requests(1, WAIT).await;
        server.wait_for_disconnects(1, WAIT).await;
    }

    #[tokio::test]
    async fn non_streaming_request_gets_a_completion_object() {
        let server = ModelServer::start().await;
        server.push(Reply::tool_call(
            "call_9",
            "shell",
            json!({"command": "ls"}),
        ));

        let mut body = chat_body("x");
        body["stream"] = json!(false);
        let response: Value = post(&server, body).await.json().await.unwrap();
        assert_eq!(response["object"], "chat.completion");
        let call = &response["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(call["id"], "call_9");
        assert_eq!(call["function"]["arguments"], r#"{"command":"ls"}"#);
        assert_eq!(response["choices"][0]["finish_reason"], "tool_calls");
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for 1 model request(s); got 0")]
    async fn waiting_for_a_request_that_never_comes_panics_with_a_message() {
        let server = ModelServer::start().await;
        server.wait_for_requests(1, Duration::from_millis(50)).await;
    }

    #[test]
    fn split_words_keeps_whitespace_and_round_trips() {
        assert_eq!(split_words("hello world"), ["hello", " world"]);
        assert_eq!(split_words("  a  b\n"), ["  a", "  b", "\n"]);
        assert!(split_words("").is_empty());
    }

    #[test]
    fn split_pieces_respects_char_boundaries() {
        let text = r#"{"path":"/tmp/ééé"}"#;
        let pieces = split_pieces(text);
        assert!(pieces.len() > 3);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| !p.is_empty() && p.len() <= 8));
    }
}
