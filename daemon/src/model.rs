//! Model providers: OpenAI-compatible `/chat/completions` with streaming and tools,
//! the limits of a call (stall and whole-call timeouts), and the retry policy around
//! it. Assembling the answer from chunks or a JSON body is in `chat`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tether_shared::Usage;
use tether_shared::event::ToolCallSpec;
use tokio::sync::mpsc;
use tokio::time::Instant;

mod chat;
mod sse;

pub use chat::{ChatAccumulator, completion_reply};

use crate::config::{ResolvedModel, Retry};
use sse::SseParser;
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

/// The largest non-streamed (`application/json`) answer read; a bigger body is an error.
const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

/// An OpenAI-compatible endpoint.
pub struct OpenAi {
    client: reqwest::Client,
    resolved: ResolvedModel,
    stall_timeout: Duration,
    request_timeout: Duration,
}

impl OpenAi {
    /// A provider for a resolved model, with the stall and whole-call limits of `retry`.
    /// The API key is read from the environment at each call and only ever sent in the
    /// `Authorization` header.
    pub fn new(client: reqwest::Client, resolved: ResolvedModel, retry: &Retry) -> Self {
        OpenAi {
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
                Err(ModelError::retryable(format!(
                    "model call cut after {} ([retry] request_timeout_s): the answer did not finish in time",
                    human_duration(self.request_timeout)
                )))
            })
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
        if status.is_success() && is_json(&resp) {
            // A server that ignores `stream: true` answers with one chat.completion.
            return self.read_json_answer(resp, deltas).await;
        }
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
            let mut message = format!(
                "model endpoint returned HTTP {}: {}",
                status.as_u16(),
                detail.trim()
            );
            if status.as_u16() == 400 && carries_images(&request.messages) {
                message.push_str(
                    " (the request carried images returned by tools; this model may not accept \
                     image input: use a model that does, or set `images = false` in its \
                     [providers.NAME] in config.toml)",
                );
            }
            // 409: a conflict some gateways return for a request racing another; a retry
            // of the same request is what they ask for.
            let retryable = matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error();
            return Err(ModelError {
                message,
                retryable,
                retry_after,
            });
        }
        let mut stream = resp.bytes_stream();
        let mut parser = SseParser::new();
        let mut acc = ChatAccumulator::default();
        // The stall clock restarts only when the answer advances: SSE comments, empty
        // events and chunks that add nothing (keep-alives) do not count as progress.
        let mut last_progress = Instant::now();
        loop {
            let next = tokio::time::timeout_at(last_progress + self.stall_timeout, stream.next())
                .await
                .map_err(|_| {
                    ModelError::retryable(format!(
                        "model stream stalled: no progress for {} (keep-alives do not count)",
                        human_duration(self.stall_timeout)
                    ))
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| {
                ModelError::retryable(format!("model stream broke: {}", error_chain(&e)))
            })?;
            for ev in parser.push(&chunk) {
                let data = ev.data.trim();
                if data.is_empty() {
                    continue;
                }
                if data == "[DONE]" {
                    return acc.finish();
                }
                let value: Value = serde_json::from_str(data).map_err(|e| {
                    ModelError::retryable(format!("model sent a malformed stream chunk ({e})"))
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
        acc.finish()
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
                    ModelError::retryable(format!(
                        "model answer stalled: no bytes for {}",
                        human_duration(self.stall_timeout)
                    ))
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| {
                ModelError::retryable(format!("model answer broke: {}", error_chain(&e)))
            })?;
            if body.len() + chunk.len() > MAX_JSON_BODY {
                return Err(ModelError {
                    message: format!(
                        "model endpoint sent a JSON answer over {} MiB; not read",
                        MAX_JSON_BODY / (1024 * 1024)
                    ),
                    retryable: false,
                    retry_after: None,
                });
            }
            body.extend_from_slice(&chunk);
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            ModelError::retryable(format!(
                "model endpoint answered with JSON that does not parse ({e})"
            ))
        })?;
        completion_reply(value, deltas)
    }
}

/// True when some message has an `image_url` part (tool images, see `session::context`).
fn carries_images(messages: &[std::sync::Arc<Value>]) -> bool {
    messages.iter().any(|m| {
        m["content"]
            .as_array()
            .is_some_and(|parts| parts.iter().any(|p| p["type"] == "image_url"))
    })
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

/// `3s`, `1.5s`, `10m`: a duration as a person writes it.
fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 && d.subsec_nanos() == 0 && d.as_secs().is_multiple_of(60) {
        format!("{}m", d.as_secs() / 60)
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{secs:.1}s")
    }
}

impl ModelProvider for OpenAi {
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
/// backoff, capped at `max_backoff`, with jitter (see [`backoff_with`]); a server's
/// `Retry-After` wins when it is given.
pub fn backoff(retry: &Retry, attempt: u32, retry_after: Option<Duration>) -> Duration {
    backoff_with(retry, attempt, retry_after, random_unit())
}

/// [`backoff`] with the jitter drawn as `unit` in `[0, 1]`: the wait is uniform in
/// `[cap / 2, cap]` for the capped exponential `cap`, so sessions that failed together
/// (one endpoint down) do not all retry in the same instant. A `Retry-After` is the
/// server's own schedule and is honoured as given.
pub fn backoff_with(
    retry: &Retry,
    attempt: u32,
    retry_after: Option<Duration>,
    unit: f64,
) -> Duration {
    if let Some(ra) = retry_after {
        return ra.min(MAX_RETRY_AFTER);
    }
    let cap = retry
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(retry.max_backoff);
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        1.0
    };
    cap / 2 + (cap / 2).mul_f64(unit)
}

/// A number in `[0, 1)` from the process's random hasher seed; good enough for jitter
/// without a random-number dependency.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
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

    fn retry() -> Retry {
        Retry {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            stall_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(60),
        }
    }

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let r = retry();
        assert_eq!(backoff_with(&r, 1, None, 1.0), Duration::from_millis(100));
        assert_eq!(backoff_with(&r, 2, None, 1.0), Duration::from_millis(200));
        assert_eq!(backoff_with(&r, 3, None, 1.0), Duration::from_millis(350));
        assert_eq!(backoff_with(&r, 9, None, 1.0), Duration::from_millis(350));
        assert_eq!(
            backoff(&r, 1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            backoff(&r, 1, Some(Duration::from_secs(900))),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn backoff_jitter_stays_between_half_and_the_whole_step() {
        let r = retry();
        assert_eq!(backoff_with(&r, 1, None, 0.0), Duration::from_millis(50));
        assert_eq!(backoff_with(&r, 2, None, 0.5), Duration::from_millis(150));
        assert_eq!(backoff_with(&r, 3, None, 0.0), Duration::from_millis(175));
        assert_eq!(
            backoff_with(&r, 1, None, f64::NAN),
            Duration::from_millis(100)
        );
        assert_eq!(backoff_with(&r, 1, None, 7.0), Duration::from_millis(100));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let d = backoff(&r, 2, None);
            assert!(
                (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&d),
                "{d:?} outside [100ms, 200ms]"
            );
            seen.insert(d);
        }
        assert!(seen.len() > 10, "the waits vary: {seen:?}");
    }
}
