//! Model providers: OpenAI-compatible `/chat/completions` with streaming and tools,
//! and the retry policy around a call.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tether_shared::Usage;
use tether_shared::event::ToolCallSpec;
use tokio::sync::mpsc;

use crate::config::{ResolvedModel, Retry};
use crate::sse::SseParser;
use crate::tools::ToolSpec;

/// What the agent asks the model.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    /// The model name, as the provider knows it.
    pub model: String,
    /// OpenAI-format messages, system prompt first (shared with the session).
    pub messages: Vec<std::sync::Arc<Value>>,
    /// Tools on offer.
    pub tools: Vec<ToolSpec>,
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// The text.
    pub text: String,
    /// Tool calls, in index order.
    pub tool_calls: Vec<ToolCallSpec>,
    /// Token usage, when the server reports it.
    pub usage: Option<Usage>,
    /// Why the model stopped.
    pub finish_reason: String,
}

/// A failed model call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ModelError {
    /// What went wrong, for the user.
    pub message: String,
    /// Whether trying again may help.
    pub retryable: bool,
    /// The server's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

impl ModelError {
    fn retryable(message: impl Into<String>) -> Self {
        ModelError {
            message: message.into(),
            retryable: true,
            retry_after: None,
        }
    }
}

/// A boxed future, so providers can sit behind `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A model endpoint. Text deltas go to `deltas` as they arrive.
pub trait ModelProvider: Send + Sync {
    /// Streams one completion.
    fn stream<'a>(
        &'a self,
        request: &'a ModelRequest,
        deltas: &'a mpsc::UnboundedSender<String>,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>>;
}

#[derive(serde::Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// The `/chat/completions` request body.
#[derive(serde::Serialize)]
struct ChatBody<'a> {
    model: &'a str,
    messages: &'a [std::sync::Arc<Value>],
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<Value>>,
}

/// An OpenAI-compatible endpoint.
pub struct OpenAi {
    client: reqwest::Client,
    resolved: ResolvedModel,
    stall_timeout: Duration,
}

impl OpenAi {
    /// A provider for a resolved model. The API key is read from the environment at
    /// each call and only ever sent in the `Authorization` header.
    pub fn new(client: reqwest::Client, resolved: ResolvedModel, stall_timeout: Duration) -> Self {
        OpenAi {
            client,
            resolved,
            stall_timeout,
        }
    }

    async fn run(
        &self,
        request: &ModelRequest,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<ModelReply, ModelError> {
        let p = &self.resolved.provider;
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
        // Serialised straight from the shared messages, without building a Value tree.
        let body = ChatBody {
            model: &request.model,
            messages: &request.messages,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            tools: if tools.is_empty() { None } else { Some(tools) },
        };
        let url = format!("{}/chat/completions", p.base_url);
        let mut req = self.client.post(&url).json(&body);
        if let Some(var) = &p.api_key_env
            && let Ok(key) = std::env::var(var)
        {
            req = req.bearer_auth(key);
        }
        for (k, v) in &p.headers {
            req = req.header(k, v);
        }
        let resp = tokio::time::timeout(self.stall_timeout, req.send())
            .await
            .map_err(|_| {
                ModelError::retryable(format!(
                    "no response from {url} within {:?}",
                    self.stall_timeout
                ))
            })?
            .map_err(|e| {
                ModelError::retryable(format!(
                    "cannot reach {url}: {}",
                    error_chain(&e.without_url())
                ))
            })?;
        let status = resp.status();
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(crate::util::secs);
            let text = resp.text().await.unwrap_or_default();
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| text.chars().take(200).collect());
            let message = format!(
                "model endpoint returned HTTP {}: {}",
                status.as_u16(),
                detail.trim()
            );
            let retryable =
                status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error();
            return Err(ModelError {
                message,
                retryable,
                retry_after,
            });
        }
        let mut stream = resp.bytes_stream();
        let mut parser = SseParser::new();
        let mut acc = ChatAccumulator::default();
        loop {
            let next = tokio::time::timeout(self.stall_timeout, stream.next())
                .await
                .map_err(|_| {
                    ModelError::retryable(format!(
                        "model stream stalled for {:?}",
                        self.stall_timeout
                    ))
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| {
                ModelError::retryable(format!("model stream broke: {}", error_chain(&e)))
            })?;
            for ev in parser.push(&chunk) {
                if ev.data.trim() == "[DONE]" {
                    return acc.finish();
                }
                let value: Value = serde_json::from_str(&ev.data).map_err(|e| {
                    ModelError::retryable(format!("model sent a malformed stream chunk ({e})"))
                })?;
                if let Some(text) = acc.push(&value)? {
                    let _ = deltas.send(text);
                }
            }
        }
        acc.finish()
    }
}

impl ModelProvider for OpenAi {
    fn stream<'a>(
        &'a self,
        request: &'a ModelRequest,
        deltas: &'a mpsc::UnboundedSender<String>,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        Box::pin(self.run(request, deltas))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Assembles streamed `chat.completion.chunk` objects into one reply.
#[derive(Debug, Default)]
pub struct ChatAccumulator {
    text: String,
    calls: BTreeMap<u64, PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl ChatAccumulator {
    /// Takes one chunk; returns its text delta, if any.
    pub fn push(&mut self, chunk: &Value) -> Result<Option<String>, ModelError> {
        if let Some(err) = chunk.get("error").filter(|e| !e.is_null()) {
            let msg = err["message"]
                .as_str()
                .map_or_else(|| err.to_string(), str::to_string);
            return Err(ModelError::retryable(format!(
                "model stream carried an error: {msg}"
            )));
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(Usage {
                prompt_tokens: u["prompt_tokens"].as_u64().unwrap_or(0),
                completion_tokens: u["completion_tokens"].as_u64().unwrap_or(0),
            });
        }
        let mut text_delta: Option<String> = None;
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            if choice["index"].as_u64().unwrap_or(0) != 0 {
                continue;
            }
            let delta = &choice["delta"];
            if let Some(t) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                self.text.push_str(t);
                text_delta.get_or_insert_with(String::new).push_str(t);
            }
            for (pos, tc) in delta["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let index = tc["index"].as_u64().unwrap_or(pos as u64);
                let call = self.calls.entry(index).or_default();
                if let Some(id) = tc["id"].as_str().filter(|s| !s.is_empty()) {
                    call.id = id.to_string();
                }
                if let Some(name) = tc["function"]["name"].as_str() {
                    call.name.push_str(name);
                }
                if let Some(args) = tc["function"]["arguments"].as_str() {
                    call.arguments.push_str(args);
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.finish_reason = Some(reason.to_string());
            }
        }
        Ok(text_delta)
    }

    /// The reply, or an error if the stream never said it was finished.
    pub fn finish(self) -> Result<ModelReply, ModelError> {
        let Some(finish_reason) = self.finish_reason else {
            return Err(ModelError::retryable(
                "model stream ended before the answer was finished (no finish_reason)",
            ));
        };
        let mut tool_calls = Vec::new();
        for (index, c) in self.calls {
            if c.name.is_empty() {
                return Err(ModelError::retryable(format!(
                    "model sent tool call #{index} without a name"
                )));
            }
            let arguments = if c.arguments.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(&c.arguments).unwrap_or(Value::String(c.arguments))
            };
            let call_id = if c.id.is_empty() {
                crate::util::new_id("call")
            } else {
                c.id
            };
            tool_calls.push(ToolCallSpec {
                call_id,
                tool: c.name,
                arguments,
            });
        }
        Ok(ModelReply {
            text: self.text,
            tool_calls,
            usage: self.usage,
            finish_reason,
        })
    }
}

/// Progress of a call with retries, for the session to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Streamed text.
    Delta(String),
    /// The text streamed so far is void; a retry starts over.
    Reset,
    /// An attempt failed and another follows after `delay`.
    Retrying {
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Why.
        error: String,
        /// The wait before the next attempt.
        delay: Duration,
    },
}

/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The wait before retry number `attempt` (1-based): exponential from the initial
/// backoff, capped at `max_backoff`; a server's `Retry-After` wins when it is given.
pub fn backoff(retry: &Retry, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = retry
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    match retry_after {
        Some(ra) => ra.min(MAX_RETRY_AFTER),
        None => exp.min(retry.max_backoff),
    }
}

/// Calls the model, retrying retryable failures per `retry`.
pub async fn complete_with_retries(
    provider: &dyn ModelProvider,
    request: &ModelRequest,
    retry: &Retry,
    progress: &mpsc::UnboundedSender<Progress>,
) -> Result<ModelReply, String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (dtx, mut drx) = mpsc::unbounded_channel::<String>();
        let call = provider.stream(request, &dtx);
        tokio::pin!(call);
        let mut streamed = false;
        let result = loop {
            tokio::select! {
                biased;
                Some(d) = drx.recv() => {
                    streamed = true;
                    let _ = progress.send(Progress::Delta(d));
                }
                r = &mut call => break r,
            }
        };
        while let Ok(d) = drx.try_recv() {
            streamed = true;
            let _ = progress.send(Progress::Delta(d));
        }
        match result {
            Ok(reply) => return Ok(reply),
            Err(e) => {
                if streamed {
                    let _ = progress.send(Progress::Reset);
                }
                if !e.retryable || attempt >= retry.max_attempts {
                    let tries = if attempt > 1 {
                        format!(" (after {attempt} attempts)")
                    } else {
                        String::new()
                    };
                    return Err(format!("{}{tries}", e.message));
                }
                let delay = backoff(retry, attempt, e.retry_after);
                let _ = progress.send(Progress::Retrying {
                    attempt,
                    error: e.message.clone(),
                    delay,
                });
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_text_and_split_parallel_tool_calls() {
        let mut acc = ChatAccumulator::default();
        let chunks = [
            json!({"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}),
            json!({"choices":[{"index":0,"delta":{"content":"lo"}}]}),
            json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"shell","arguments":"{\"comm"}}]}}]}),
            json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"read_file","arguments":""}}]}}]}),
            json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"and\":\"ls\"}"}}]}}]}),
            json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"path\":\"x\"}"}}]}}]}),
            json!({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}),
            json!({"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}),
        ];
        let mut text = String::new();
        for c in &chunks {
            if let Some(t) = acc.push(c).unwrap() {
                text.push_str(&t);
            }
        }
        assert_eq!(text, "Hello");
        let reply = acc.finish().unwrap();
        assert_eq!(reply.text, "Hello");
        assert_eq!(reply.finish_reason, "tool_calls");
        assert_eq!(
            reply.usage,
            Some(Usage {
                prompt_tokens: 10,
                completion_tokens: 5
            })
        );
        assert_eq!(reply.tool_calls.len(), 2);
        assert_eq!(reply.tool_calls[0].arguments, json!({"command": "ls"}));
        assert_eq!(reply.tool_calls[1].tool, "read_file");
        assert_eq!(reply.tool_calls[1].call_id, "b");
    }

    #[test]
    fn stream_without_finish_reason_is_an_error() {
        let mut acc = ChatAccumulator::default();
        acc.push(&json!({"choices":[{"index":0,"delta":{"content":"cut"}}]}))
            .unwrap();
        let err = acc.finish().unwrap_err();
        assert!(err.retryable);
        assert!(err.message.contains("finish_reason"));
    }

    #[test]
    fn error_chunk_is_an_error() {
        let mut acc = ChatAccumulator::default();
        assert!(
            acc.push(&json!({"error":{"message":"overloaded"}}))
                .is_err()
        );
    }

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let r = Retry {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            stall_timeout: Duration::from_secs(1),
        };
        assert_eq!(backoff(&r, 1, None), Duration::from_millis(100));
        assert_eq!(backoff(&r, 2, None), Duration::from_millis(200));
        assert_eq!(backoff(&r, 3, None), Duration::from_millis(350));
        assert_eq!(
            backoff(&r, 1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            backoff(&r, 1, Some(Duration::from_secs(900))),
            MAX_RETRY_AFTER
        );
    }
}
