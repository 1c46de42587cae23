//! OpenAI-compatible `/chat/completions` with streaming and tools: one attempt of a
//! model call within its limits (stall and whole-call timeouts). Writing the request is
//! in `request`, assembling the answer from chunks or a JSON body in `reply`.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[cfg(test)]
mod empty_stream_tests;
mod reply;
mod request;
#[cfg(test)]
mod tests;

use reply::{ChatAccumulator, completion_reply};
use request::ChatBody;

use super::error::{
    ModelError, ModelErrorKind, http_error_kind, http_status_retryable, human_duration,
};
use super::provider::{BoxFuture, ModelProvider};
use super::sse::SseParser;
use super::types::{ModelReply, ModelRequest};
use crate::config::{ResolvedModel, Retry};

/// The largest non-streamed (`application/json`) answer read; a bigger body is an error.
const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

/// An OpenAI-compatible chat-completions endpoint.
pub struct OpenAiChat {
    client: reqwest::Client,
    resolved: ResolvedModel,
    stall_timeout: Duration,
    request_timeout: Duration,
}

impl OpenAiChat {
    /// A provider for a resolved model, with the stall and whole-call limits of `retry`.
    /// The API key is read from the environment at each call and only ever sent in the
    /// `Authorization` header.
    pub fn new(client: reqwest::Client, resolved: ResolvedModel, retry: &Retry) -> Self {
        OpenAiChat {
            client,
            resolved,
            stall_timeout: retry.stall_timeout,
            request_timeout: retry.request_timeout,
        }
    }

    /// One call, cut at `request_timeout` whatever the stream does meanwhile.
    async fn run_bounded(
        &self,
        request: &ModelRequest,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<ModelReply, ModelError> {
        tokio::time::timeout(self.request_timeout, self.run(request, deltas))
            .await
            .unwrap_or_else(|_| {
                Err(ModelError::retryable(ModelErrorKind::Stalled, format!(
                    "model call cut after {} ([retry] request_timeout_s): the answer did not finish in time",
                    human_duration(self.request_timeout)
                )))
            })
    }

    /// One call. A streamed request answered with an event stream that ends before its
    /// first byte is asked once more without streaming: that is how llama-cpp-python's
    /// server answers a streamed prompt over its window (HTTP 200, then nothing: the
    /// reason is only in its log), and asked without streaming it says so (HTTP 400
    /// `context_length_exceeded`, naming the window), which then reads as any other
    /// answer or error. A server that sends nothing either way gets a retryable error.
    /// A network error on the re-ask is tried once more (see below).
    async fn run(
        &self,
        request: &ModelRequest,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<ModelReply, ModelError> {
        if let Answer::Reply(reply) = self.attempt(self.body(request), request, deltas).await? {
            return Ok(reply);
        }
        let unstreamed = || self.attempt(self.body(request).unstreamed(), request, deltas);
        let answer = match unstreamed().await {
            // uvicorn (under llama-cpp-python) closes the connection just after such a
            // stream, without saying so: a request sent at once on the pooled connection
            // fails before any answer. On a new connection it does not.
            Err(e) if e.kind == ModelErrorKind::Network => unstreamed().await?,
            other => other?,
        };
        match answer {
            Answer::Reply(reply) => Ok(reply),
            Answer::Empty => Err(ModelError::retryable(
                ModelErrorKind::Server,
                "model endpoint answered with an empty event stream, and with an empty body \
                 when asked again without streaming",
            )),
        }
    }

    /// The request body for `request`.
    fn body<'a>(&'a self, request: &'a ModelRequest) -> ChatBody<'a> {
        let body = ChatBody::new(&self.resolved.model, &request.messages, &request.tools);
        if request.no_tool_calls {
            body.without_tool_calls()
        } else {
            body
        }
    }

    /// Sends `body` and reads the answer, streamed or not.
    async fn attempt(
        &self,
        body: ChatBody<'_>,
        request: &ModelRequest,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<Answer, ModelError> {
        let p = &self.resolved.provider;
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
                ModelError::retryable(
                    ModelErrorKind::Stalled,
                    format!("no response from {url} within {:?}", self.stall_timeout),
                )
            })?
            .map_err(|e| {
                ModelError::retryable(
                    ModelErrorKind::Network,
                    format!("cannot reach {url}: {}", error_chain(&e.without_url())),
                )
            })?;
        let status = resp.status();
        if status.is_success() && is_json(&resp) {
            // A server that ignores `stream: true` answers with one chat.completion.
            return self.read_json_answer(resp, deltas).await.map(Answer::Reply);
        }
        if !status.is_success() {
            return Err(http_error(resp, request).await);
        }
        self.read_stream(resp, deltas).await
    }

    /// Reads an event stream of `chat.completion.chunk`s as the answer; [`Answer::Empty`]
    /// when it ends before its first byte.
    async fn read_stream(
        &self,
        resp: reqwest::Response,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<Answer, ModelError> {
        let mut stream = resp.bytes_stream();
        let mut parser = SseParser::new();
        let mut acc = ChatAccumulator::default();
        let mut received = 0usize;
        // The stall clock restarts only when the answer advances: SSE comments, empty
        // events and chunks that add nothing (keep-alives) do not count as progress.
        let mut last_progress = Instant::now();
        loop {
            let next = tokio::time::timeout_at(last_progress + self.stall_timeout, stream.next())
                .await
                .map_err(|_| {
                    ModelError::retryable(
                        ModelErrorKind::Stalled,
                        format!(
                            "model stream stalled: no progress for {} (keep-alives do not count)",
                            human_duration(self.stall_timeout)
                        ),
                    )
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| {
                ModelError::retryable(
                    ModelErrorKind::Network,
                    format!("model stream broke: {}", error_chain(&e)),
                )
            })?;
            received += chunk.len();
            for ev in parser.push(&chunk) {
                let data = ev.data.trim();
                if data.is_empty() {
                    continue;
                }
                if data == "[DONE]" {
                    return acc.finish().map(Answer::Reply);
                }
                let value: Value = serde_json::from_str(data).map_err(|e| {
                    ModelError::retryable(
                        ModelErrorKind::Server,
                        format!("model sent a malformed stream chunk ({e})"),
                    )
                })?;
                let before = acc.progress;
                if let Some(text) = acc.push(&value)? {
                    let _ = deltas.send(text);
                }
                if acc.progress != before {
                    last_progress = Instant::now();
                }
            }
        }
        if received == 0 {
            return Ok(Answer::Empty);
        }
        acc.finish().map(Answer::Reply)
    }

    /// Reads a non-streamed `chat.completion` body as the answer.
    async fn read_json_answer(
        &self,
        resp: reqwest::Response,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<ModelReply, ModelError> {
        let mut stream = resp.bytes_stream();
        let mut body = Vec::new();
        loop {
            let next = tokio::time::timeout(self.stall_timeout, stream.next())
                .await
                .map_err(|_| {
                    ModelError::retryable(
                        ModelErrorKind::Stalled,
                        format!(
                            "model answer stalled: no bytes for {}",
                            human_duration(self.stall_timeout)
                        ),
                    )
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| {
                ModelError::retryable(
                    ModelErrorKind::Network,
                    format!("model answer broke: {}", error_chain(&e)),
                )
            })?;
            if body.len() + chunk.len() > MAX_JSON_BODY {
                return Err(ModelError::fatal(
                    ModelErrorKind::Server,
                    format!(
                        "model endpoint sent a JSON answer over {} MiB; not read",
                        MAX_JSON_BODY / (1024 * 1024)
                    ),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            ModelError::retryable(
                ModelErrorKind::Server,
                format!("model endpoint answered with JSON that does not parse ({e})"),
            )
        })?;
        completion_reply(value, deltas)
    }
}

/// What one request got: an answer, or an event stream with nothing in it.
enum Answer {
    Reply(ModelReply),
    Empty,
}

/// The error an HTTP error answer stands for: its kind (a context-length error with the
/// window it names), whether a retry may help, the server's `Retry-After`, and a message
/// with the server's own words.
async fn http_error(resp: reqwest::Response, request: &ModelRequest) -> ModelError {
    let status = resp.status();
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
    let mut message = format!(
        "model endpoint returned HTTP {}: {}",
        status.as_u16(),
        detail.trim()
    );
    if status.as_u16() == 400 && request.has_images() {
        message.push_str(
            " (the request carried images returned by tools; this model may not accept \
             image input: use a model that does, or set `images = false` in its \
             [providers.NAME] in config.toml)",
        );
    }
    let kind = http_error_kind(status.as_u16(), &text);
    if kind == ModelErrorKind::ContextLength {
        return ModelError::context_length(message, &text);
    }
    ModelError {
        kind,
        retryable: http_status_retryable(status.as_u16()),
        retry_after,
        ..ModelError::retryable(ModelErrorKind::Server, message)
    }
}

/// True when the response is a single JSON document rather than an event stream.
fn is_json(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.trim_start().to_ascii_lowercase();
            ct.starts_with("application/json") || ct.starts_with("application/problem+json")
        })
}

impl ModelProvider for OpenAiChat {
    fn stream<'a>(
        &'a self,
        request: &'a ModelRequest,
        deltas: &'a mpsc::UnboundedSender<String>,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        Box::pin(self.run_bounded(request, deltas))
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
