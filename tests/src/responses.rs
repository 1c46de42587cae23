//! The scripted OpenAI Responses API: an HTTP server that end-to-end tests start
//! in-process in place of `POST /v1/responses`.
//!
//! It records every `POST /v1/responses` request (headers, the raw body text and its
//! JSON; anything else, such as the daemon's window probes, gets a 404 and is not
//! recorded) and answers
//! each with the oldest queued [`ResponsesReply`], streamed as OpenAI streams it:
//! `response.created`, then per output item `response.output_item.added`, its deltas
//! (`response.output_text.delta` in word pieces, `response.function_call_arguments.delta`
//! cut mid-token) and `response.output_item.done`, then `response.completed` with the
//! usage (cached and reasoning tokens included). Reasoning items carry an
//! `encrypted_content`; errors are an HTTP status or a `response.failed` event.
//! One request per connection, `Connection: close`.
//!
//! With [`ResponsesServer::simulate_cache`] it has OpenAI's automatic prompt cache, the
//! model the chat-completions double uses ([`PrefixCache`]): the prompt is the tools,
//! then `instructions`, then the `input` items, and the usage reports
//! `input_tokens_details.cached_tokens`, with `input_tokens` the cache's count of the
//! whole prompt. Without it, `input_tokens` is a quarter of the body's bytes and nothing
//! is cached.

// Harness code fails the test loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::model::{CachedPrompt, PrefixCache};

/// Sizes that function-call arguments are cut into, cycled: pieces end mid-key.
const ARG_PIECES: [usize; 4] = [3, 5, 2, 7];

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct ResponsesRequest {
    /// The request target, e.g. `/v1/responses`.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body exactly as sent.
    pub raw: String,
    /// The body parsed (`Null` when it is not JSON).
    pub body: Value,
}

impl ResponsesRequest {
    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's `input` array.
    pub fn input(&self) -> Vec<Value> {
        self.body["input"].as_array().cloned().unwrap_or_default()
    }

    /// The `input` items of one `type` (`message`, `function_call`, `reasoning`, ...).
    pub fn items_of(&self, ty: &str) -> Vec<Value> {
        self.input()
            .into_iter()
            .filter(|i| i["type"] == ty)
            .collect()
    }
}

/// One output item of a scripted reply.
#[derive(Debug, Clone)]
enum Output {
    Reasoning {
        id: String,
        encrypted: String,
    },
    Text(String),
    Call {
        call_id: String,
        name: String,
        arguments: String,
    },
}

/// A scripted answer to one Responses request.
#[derive(Debug, Clone)]
pub struct ResponsesReply {
    output: Vec<Output>,
    status: Option<(u16, String)>,
    failed: Option<(String, String)>,
    usage: Option<[u64; 4]>,
}

impl ResponsesReply {
    fn of(output: Output) -> Self {
        ResponsesReply {
            output: vec![output],
            status: None,
            failed: None,
            usage: None,
        }
    }

    /// An answer of one text message.
    pub fn text(text: &str) -> Self {
        Self::of(Output::Text(text.into()))
    }

    /// An answer of one function call; `arguments` is the JSON text.
    pub fn call(call_id: &str, name: &str, arguments: &str) -> Self {
        Self::of(Output::Call {
            call_id: call_id.into(),
            name: name.into(),
            arguments: arguments.into(),
        })
    }

    /// An HTTP error answer with an OpenAI-style error body.
    pub fn http_error(status: u16, message: &str) -> Self {
        ResponsesReply {
            output: Vec::new(),
            status: Some((status, message.into())),
            failed: None,
            usage: None,
        }
    }

    /// A stream that ends in `response.failed` with `{code, message}`.
    pub fn failed(code: &str, message: &str) -> Self {
        ResponsesReply {
            output: Vec::new(),
            status: None,
            failed: Some((code.into(), message.into())),
            usage: None,
        }
    }

    /// A reasoning item (`id`, `encrypted_content`) before the rest of the output.
    pub fn after_reasoning(mut self, id: &str, encrypted: &str) -> Self {
        self.output.insert(
            0,
            Output::Reasoning {
                id: id.into(),
                encrypted: encrypted.into(),
            },
        );
        self
    }

    /// Another function call after the output so far.
    pub fn and_call(mut self, call_id: &str, name: &str, arguments: &str) -> Self {
        self.output.push(Output::Call {
            call_id: call_id.into(),
            name: name.into(),
            arguments: arguments.into(),
        });
        self
    }

    /// The usage `response.completed` reports (else one derived from the sizes).
    pub fn usage(mut self, input: u64, cached: u64, output: u64, reasoning: u64) -> Self {
        self.usage = Some([input, cached, output, reasoning]);
        self
    }
}

/// The reasoning item a reply with `after_reasoning(id, encrypted)` streams, as the
/// model sends it (and as a stateless client must replay it).
pub fn reasoning_item(id: &str, encrypted: &str) -> Value {
    json!({"type": "reasoning", "id": id, "summary": [], "encrypted_content": encrypted})
}

fn item_json(o: &Output, index: usize) -> Value {
    match o {
        Output::Reasoning { id, encrypted } => reasoning_item(id, encrypted),
        Output::Text(text) => json!({"type": "message", "id": format!("msg_{index}"),
            "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}),
        Output::Call {
            call_id,
            name,
            arguments,
        } => json!({"type": "function_call", "id": format!("fc_{index}"), "call_id": call_id,
            "name": name, "arguments": arguments, "status": "completed"}),
    }
}

/// The SSE events of a reply; `cache` is what the simulated cache made of the request.
fn events(reply: &ResponsesReply, request: &Value, cache: Option<CachedPrompt>) -> Vec<Value> {
    let mut out = vec![json!({"type": "response.created", "response": {"status": "in_progress"}})];
    if let Some((code, message)) = &reply.failed {
        out.push(
            json!({"type": "response.failed", "response": {"status": "failed",
            "error": {"code": code, "message": message}}}),
        );
        return out;
    }
    for (i, o) in reply.output.iter().enumerate() {
        let done = item_json(o, i);
        let mut added = done.clone();
        match o {
            Output::Text(text) => {
                added["content"] = json!([]);
                out.push(
                    json!({"type": "response.output_item.added", "output_index": i, "item": added}),
                );
                for piece in text.split_inclusive(' ') {
                    out.push(
                        json!({"type": "response.output_text.delta", "output_index": i,
                        "content_index": 0, "delta": piece}),
                    );
                }
            }
            Output::Call { arguments, .. } => {
                added["arguments"] = json!("");
                out.push(
                    json!({"type": "response.output_item.added", "output_index": i, "item": added}),
                );
                let (mut rest, mut k) = (arguments.as_str(), 0);
                while !rest.is_empty() {
                    let mut n = ARG_PIECES[k % ARG_PIECES.len()].min(rest.len());
                    while !rest.is_char_boundary(n) {
                        n += 1;
                    }
                    let (piece, tail) = rest.split_at(n);
                    out.push(json!({"type": "response.function_call_arguments.delta",
                        "output_index": i, "item_id": done["id"], "delta": piece}));
                    rest = tail;
                    k += 1;
                }
                out.push(json!({"type": "response.function_call_arguments.done",
                    "output_index": i, "item_id": done["id"], "arguments": arguments}));
            }
            Output::Reasoning { .. } => {
                added["encrypted_content"] = Value::Null;
                out.push(
                    json!({"type": "response.output_item.added", "output_index": i, "item": added}),
                );
            }
        }
        out.push(json!({"type": "response.output_item.done", "output_index": i, "item": done}));
    }
    let [input, cached, output, reasoning] = reply.usage.unwrap_or(match cache {
        Some(c) => [c.prompt, c.cached, 10, 0],
        None => [(request.to_string().len() / 4) as u64, 0, 10, 0],
    });
    let items: Vec<Value> = reply
        .output
        .iter()
        .enumerate()
        .map(|(i, o)| item_json(o, i))
        .collect();
    out.push(
        json!({"type": "response.completed", "response": {"status": "completed",
        "output": items, "usage": {
            "input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input + output}}}),
    );
    out
}

/// The simulated prompt cache: whether it is on, and what it served.
#[derive(Default)]
struct Cache {
    on: bool,
    prefixes: PrefixCache,
    served: Vec<CachedPrompt>,
}

struct State {
    replies: Mutex<VecDeque<ResponsesReply>>,
    /// A std mutex: held only while it serves one request.
    cache: Mutex<Cache>,
    /// The latest log and a wake-up on every change, without a lost-wakeup race.
    log: watch::Sender<Vec<ResponsesRequest>>,
}

/// A scripted Responses server on `127.0.0.1`, serving until dropped.
pub struct ResponsesServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl ResponsesServer {
    /// Binds `127.0.0.1:0` and serves in a background task.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("failed to bind the scripted Responses server");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            replies: Mutex::default(),
            cache: Mutex::default(),
            log: watch::Sender::new(Vec::new()),
        });
        let task = tokio::spawn(serve(listener, Arc::clone(&state)));
        ResponsesServer { addr, state, task }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Enqueues a reply; with the queue empty the server answers the text `ok`.
    pub fn push(&self, reply: ResponsesReply) {
        self.state
            .replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(reply);
    }

    /// From now on, serve every answered request through OpenAI's automatic prompt cache
    /// (see [`PrefixCache`]): the usage reports `input_tokens_details.cached_tokens`, and
    /// `input_tokens` counts the serialised prompt, 4 bytes a token. An HTTP error answer
    /// neither reads nor fills the cache.
    pub fn simulate_cache(&self) {
        lock(&self.state.cache).on = true;
    }

    /// What the simulated cache made of each request it served, in arrival order.
    pub fn cache_usage(&self) -> Vec<CachedPrompt> {
        lock(&self.state.cache).served.clone()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<ResponsesRequest> {
        self.state.log.borrow().clone()
    }

    /// Waits until at least `n` requests have arrived; panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<ResponsesRequest> {
        let mut rx = self.state.log.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            rx.wait_for(|log| log.len() >= n)
                .await
                .map(|log| log.clone())
        })
        .await;
        match waited {
            Ok(Ok(requests)) => requests,
            _ => panic!(
                "timed out after {timeout:?} waiting for {n} Responses request(s); got {}",
                self.requests().len()
            ),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for ResponsesServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(handle(stream, Arc::clone(&state)));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads one HTTP/1.1 request with a `Content-Length` body.
async fn read_request(stream: &mut TcpStream) -> Option<ResponsesRequest> {
    let raw = crate::model::http::read_raw(stream).await.ok()??;
    Some(ResponsesRequest {
        body: raw.json().unwrap_or(Value::Null),
        raw: String::from_utf8_lossy(&raw.body).into_owned(),
        path: raw.path,
        headers: raw.headers,
    })
}

async fn handle(mut stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let other = request.path != "/v1/responses";
    if !other {
        state.log.send_modify(|log| log.push(request.clone()));
    }
    let (status, content_type, body) = if other {
        let e = json!({"error": {"message": format!("no route for {}", request.path)}});
        (404, "application/json", e.to_string())
    } else {
        let reply = state
            .replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
            .unwrap_or_else(|| ResponsesReply::text("ok"));
        match &reply.status {
            Some((status, message)) => {
                let e = json!({"error": {"message": message, "type": "invalid_request_error"}});
                (*status, "application/json", e.to_string())
            }
            None => {
                let cache = {
                    let mut c = lock(&state.cache);
                    let c = &mut *c;
                    c.on.then(|| {
                        let served = c.prefixes.serve(&request.body, &["instructions", "input"]);
                        c.served.push(served);
                        served
                    })
                };
                let sse: String = events(&reply, &request.body, cache)
                    .iter()
                    .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
                    .collect();
                (200, "text/event-stream", sse)
            }
        }
    };
    let head = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}
