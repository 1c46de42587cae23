//! The HTTP side shared by the providers: sending a JSON request within the stall
//! limit, turning an error answer into a typed [`ModelError`], reading a streamed body
//! as Server-Sent Events with the stall clock, and reading a JSON body whole.

use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::error::{
    ModelError, ModelErrorKind, http_error_kind, http_status_retryable, human_duration,
};
use super::sse::{SseEvent, SseParser};
use crate::config::Provider;

/// The largest non-streamed (`application/json`) answer read; a bigger body is an error.
const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

/// Posts `body` to `url` with the provider's key (as a bearer token) and headers, and
/// waits at most `stall` for the answer's head. An error status becomes a
/// [`ModelError`]; `has_images` adds a hint to a 400.
pub async fn post_json(
    client: &reqwest::Client,
    provider: &Provider,
    url: &str,
    body: &impl Serialize,
    stall: Duration,
    has_images: bool,
) -> Result<reqwest::Response, ModelError> {
    let mut req = client.post(url).json(body);
    if let Some(var) = &provider.api_key_env
        && let Ok(key) = std::env::var(var)
    {
        req = req.bearer_auth(key);
    }
    for (k, v) in &provider.headers {
        req = req.header(k, v);
    }
    let resp = tokio::time::timeout(stall, req.send())
        .await
        .map_err(|_| {
            ModelError::retryable(
                ModelErrorKind::Stalled,
                format!("no response from {url} within {stall:?}"),
            )
        })?
        .map_err(|e| {
            ModelError::retryable(
                ModelErrorKind::Network,
                format!("cannot reach {url}: {}", error_chain(&e.without_url())),
            )
        })?;
    if resp.status().is_success() {
        Ok(resp)
    } else {
        Err(error_answer(resp, has_images).await)
    }
}

/// An HTTP error answer as a typed error: its kind from the status and body (a
/// context-length error with the window it names), whether a retry may help, the
/// server's `Retry-After`, and a message with the server's own words.
async fn error_answer(resp: reqwest::Response, has_images: bool) -> ModelError {
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
    if status.as_u16() == 400 && has_images {
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
pub fn is_json(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.trim_start().to_ascii_lowercase();
            ct.starts_with("application/json") || ct.starts_with("application/problem+json")
        })
}

/// What a stream's consumer says after each event.
pub enum Flow {
    /// Keep reading; `true` when the event advanced the answer (restarting the stall
    /// clock: keep-alives and empty events do not).
    More(bool),
    /// The answer is complete.
    Done,
}

/// How an event stream ended.
pub enum End {
    /// The consumer said the answer was complete.
    Done,
    /// The body ended first, after `bytes` bytes: the consumer decides whether an
    /// unfinished stream is an error (and what an empty one means).
    Eof {
        /// The body's length.
        bytes: usize,
    },
}

/// Reads `resp` as Server-Sent Events, handing each to `on_event` until it says
/// [`Flow::Done`] or the body ends. Fails when no event advances the answer for `stall`.
pub async fn read_events(
    resp: reqwest::Response,
    stall: Duration,
    mut on_event: impl FnMut(&SseEvent) -> Result<Flow, ModelError>,
) -> Result<End, ModelError> {
    let mut stream = resp.bytes_stream();
    let mut parser = SseParser::new();
    let mut bytes = 0usize;
    let mut last_progress = Instant::now();
    loop {
        let next = tokio::time::timeout_at(last_progress + stall, stream.next())
            .await
            .map_err(|_| {
                ModelError::retryable(
                    ModelErrorKind::Stalled,
                    format!(
                        "model stream stalled: no progress for {} (keep-alives do not count)",
                        human_duration(stall)
                    ),
                )
            })?;
        let Some(chunk) = next else {
            return Ok(End::Eof { bytes });
        };
        let chunk = chunk.map_err(|e| {
            ModelError::retryable(
                ModelErrorKind::Network,
                format!("model stream broke: {}", error_chain(&e)),
            )
        })?;
        bytes += chunk.len();
        for ev in parser.push(&chunk) {
            match on_event(&ev)? {
                Flow::Done => return Ok(End::Done),
                Flow::More(true) => last_progress = Instant::now(),
                Flow::More(false) => {}
            }
        }
    }
}

/// Reads a non-streamed JSON body whole (at most 32 MiB), each chunk within `stall`.
pub async fn read_json_body(resp: reqwest::Response, stall: Duration) -> Result<Value, ModelError> {
    let mut stream = resp.bytes_stream();
    let mut body = Vec::new();
    loop {
        let next = tokio::time::timeout(stall, stream.next())
            .await
            .map_err(|_| {
                ModelError::retryable(
                    ModelErrorKind::Stalled,
                    format!(
                        "model answer stalled: no bytes for {}",
                        human_duration(stall)
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
    serde_json::from_slice(&body).map_err(|e| {
        ModelError::retryable(
            ModelErrorKind::Server,
            format!("model endpoint answered with JSON that does not parse ({e})"),
        )
    })
}

/// The call cut at `limit` whatever the stream does meanwhile.
pub async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, ModelError>>,
) -> Result<T, ModelError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(ModelError::retryable(
            ModelErrorKind::Stalled,
            format!(
                "model call cut after {} ([retry] request_timeout_s): the answer did not finish in time",
                human_duration(limit)
            ),
        ))
    })
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
