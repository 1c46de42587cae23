//! Anthropic's Messages API (`kind = "anthropic"`): one attempt of a model call,
//! streamed, within its limits (stall and whole-call timeouts). Writing the request
//! (prompt-cache breakpoints included) is in `request`, reading the event stream in
//! `reply`.
//!
//! `POST {base_url}/v1/messages`, so `base_url` is the host root
//! (`https://api.anthropic.com`), with the key in `x-api-key` and
//! `anthropic-version: 2023-06-01`. `max_tokens`, which the API requires, comes from
//! `[models."provider/model"] max_tokens`, else from [`default_max_tokens`].

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

mod reply;
mod request;
#[cfg(test)]
mod tests;

use reply::MessageAccumulator;
use request::Options;

use super::error::{ModelError, ModelErrorKind, http_error_kind, http_status_retryable};
use super::http::{Flow, bounded, read_events};
use super::provider::{BoxFuture, ModelProvider};
use super::types::{ModelReply, ModelRequest};
use crate::config::{ResolvedModel, Retry};

/// The API version tether speaks.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// `max_tokens` for a model the config says nothing about, by its name: the model's
/// own output limit, capped at 32 000 (one step of an agent rarely needs more, and a
/// runaway answer stops sooner).
///
/// | model                                            | default |
/// |--------------------------------------------------|---------|
/// | `claude-opus-4*`, `claude-sonnet-4*`, `claude-haiku-4*`, `claude-3-7-sonnet*` | 32 000 |
/// | `claude-3-5-*`                                   | 8 192   |
/// | `claude-3-*` (opus, sonnet, haiku)               | 4 096   |
/// | anything else                                    | 8 192   |
pub fn default_max_tokens(model: &str) -> u64 {
    let m = model.to_ascii_lowercase();
    let table: &[(&str, u64)] = &[
        ("claude-opus-4", 32_000),
        ("claude-sonnet-4", 32_000),
        ("claude-haiku-4", 32_000),
        ("claude-3-7-sonnet", 32_000),
        ("claude-3-5-", 8_192),
        ("claude-3-", 4_096),
    ];
    table
        .iter()
        .find(|(prefix, _)| m.starts_with(prefix))
        .map_or(8_192, |(_, n)| *n)
}

/// An Anthropic Messages endpoint.
pub struct AnthropicMessages {
    client: reqwest::Client,
    resolved: ResolvedModel,
    stall_timeout: Duration,
    request_timeout: Duration,
}

impl AnthropicMessages {
    /// A provider for a resolved model, with the stall and whole-call limits of `retry`.
    /// The API key is read from the environment at each call and only ever sent in the
    /// `x-api-key` header.
    pub fn new(client: reqwest::Client, resolved: ResolvedModel, retry: &Retry) -> Self {
        AnthropicMessages {
            client,
            resolved,
            stall_timeout: retry.stall_timeout,
            request_timeout: retry.request_timeout,
        }
    }

    /// The request body for `request`.
    fn body(&self, request: &ModelRequest) -> Value {
        let settings = &self.resolved.settings;
        let max_tokens = settings
            .max_tokens
            .unwrap_or_else(|| default_max_tokens(&self.resolved.model));
        // The budget must stay below max_tokens; a default max_tokens below a
        // configured budget grows to make room for an answer after the thinking.
        let max_tokens = match settings.thinking_budget {
            Some(b) if b >= max_tokens => b + default_max_tokens(&self.resolved.model),
            _ => max_tokens,
        };
        request::body(
            request,
            &Options {
                model: &self.resolved.model,
                max_tokens,
                thinking_budget: settings.thinking_budget,
            },
        )
    }

    async fn run(
        &self,
        request: &ModelRequest,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<ModelReply, ModelError> {
        let p = &self.resolved.provider;
        let url = format!("{}/v1/messages", p.base_url);
        let mut req = self
            .client
            .post(&url)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&self.body(request));
        if let Some(var) = &p.api_key_env
            && let Ok(key) = std::env::var(var)
        {
            req = req.header("x-api-key", key);
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
        if !status.is_success() {
            return Err(http_error(resp, request).await);
        }
        let mut acc = MessageAccumulator::default();
        // The stall clock restarts only when the answer advances: `ping` events and SSE
        // comments do not count as progress.
        read_events(resp, self.stall_timeout, |ev| {
            let data = ev.data.trim();
            if data.is_empty() {
                return Ok(Flow::More(false));
            }
            let value: Value = serde_json::from_str(data).map_err(|e| {
                ModelError::retryable(
                    ModelErrorKind::Server,
                    format!("model sent a malformed stream event ({e})"),
                )
            })?;
            let before = acc.progress;
            if let Some(text) = acc.push(ev.event.as_deref(), &value)? {
                let _ = deltas.send(text);
            }
            if acc.done() {
                return Ok(Flow::Done);
            }
            Ok(Flow::More(acc.progress != before))
        })
        .await?;
        acc.finish()
    }
}

/// An HTTP error answer as a typed error: 429 and 529 (overloaded) and other 5xx are
/// retried, honouring `retry-after`; 401 and 403 are auth errors; a 400 saying
/// `prompt is too long` is a context-length error.
async fn http_error(resp: reqwest::Response, request: &ModelRequest) -> ModelError {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(crate::util::secs);
    let text = resp.text().await.unwrap_or_default();
    let parsed = serde_json::from_str::<Value>(&text).ok();
    let detail = parsed
        .as_ref()
        .and_then(|v| {
            let e = &v["error"];
            let message = e["message"].as_str()?;
            Some(match e["type"].as_str() {
                Some(ty) => format!("{ty}: {message}"),
                None => message.to_string(),
            })
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    let mut message = format!("model endpoint returned HTTP {status}: {}", detail.trim());
    if status == 400 && request.has_images() && !detail.contains("prompt is too long") {
        message.push_str(
            " (the request carried images returned by tools; this model may not accept \
             image input: use a model that does, or set `images = false` in its \
             [providers.NAME] in config.toml)",
        );
    }
    let kind = http_error_kind(status, &text);
    if kind == ModelErrorKind::ContextLength {
        return ModelError::context_length(message, &text);
    }
    let overloaded = parsed
        .as_ref()
        .is_some_and(|v| v["error"]["type"] == "overloaded_error");
    ModelError {
        kind,
        retryable: http_status_retryable(status) || overloaded,
        retry_after,
        ..ModelError::retryable(ModelErrorKind::Server, message)
    }
}

impl ModelProvider for AnthropicMessages {
    fn stream<'a>(
        &'a self,
        request: &'a ModelRequest,
        deltas: &'a mpsc::UnboundedSender<String>,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        Box::pin(bounded(self.request_timeout, self.run(request, deltas)))
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
