//! The scripted model: an OpenAI-compatible HTTP server that end-to-end tests start
//! in-process in place of a real provider.
//!
//! This module owns the server: the accept loop, routing, the queue of scripted [`Reply`]s
//! and the record of every request it received. The HTTP/1.1 side (raw TCP, one request per
//! connection, `Connection: close`) is in `http`; the replies and their rendering into
//! `chat.completion.chunk` SSE streams shaped like OpenAI's (text split into word pieces,
//! tool-call arguments split mid-token, a usage chunk, `[DONE]`) are in `reply`.

// Harness code fails the test loudly by design: a server that cannot bind or a wait that
// times out must abort the test with a clear message, not hand back a `Result` for every
// caller to unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http;
mod reply;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use http::RecordedRequest;
use http::{Conn, Gone, Parsed};
pub use reply::Reply;
use reply::{Meta, error_json, write_reply};

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

    write_reply(conn, &reply, &meta, streamed, usage).await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

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
    async fn keep_alive_only_sends_nothing_that_advances_an_answer() {
        let server = ModelServer::start().await;
        server.push(Reply::keep_alive_only(Duration::from_millis(5)));

        let mut response = post(&server, chat_body("x")).await;
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut raw = String::new();
        while raw.matches("\n\n").count() < 8 {
            let chunk = tokio::time::timeout(WAIT, response.chunk())
                .await
                .expect("keep-alives keep coming")
                .unwrap()
                .unwrap();
            raw.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        assert!(raw.contains(": keep-alive"), "{raw}");
        for data in raw.lines().filter_map(|l| l.strip_prefix("data:")) {
            if data.trim().is_empty() {
                continue;
            }
            let chunk: Value = serde_json::from_str(data.trim()).unwrap();
            let delta = &chunk["choices"][0]["delta"];
            assert!(delta["content"].as_str().unwrap_or("").is_empty(), "{raw}");
            assert!(chunk["choices"][0]["finish_reason"].is_null(), "{raw}");
        }
        drop(response);
        server.wait_for_disconnects(1, WAIT).await;
    }

    #[tokio::test]
    async fn ignoring_stream_answers_json_with_the_finish_reason_asked_for() {
        let server = ModelServer::start().await;
        server.push(
            Reply::text("cut")
                .with_finish_reason("length")
                .ignoring_stream(),
        );

        let response = post(&server, chat_body("x")).await;
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["choices"][0]["message"]["content"], "cut");
        assert_eq!(body["choices"][0]["finish_reason"], "length");
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for 1 model request(s); got 0")]
    async fn waiting_for_a_request_that_never_comes_panics_with_a_message() {
        let server = ModelServer::start().await;
        server.wait_for_requests(1, Duration::from_millis(50)).await;
    }
}
