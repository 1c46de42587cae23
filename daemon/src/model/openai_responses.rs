//! The OpenAI Responses API (`POST {base_url}/responses`), streamed and stateless: one
//! attempt of a model call within its limits. Every request carries the whole
//! conversation with `store: false`, and asks for `reasoning.encrypted_content`, so the
//! reasoning items a model returns can be kept in tether's log and replayed in place in
//! every later request: nothing depends on the provider keeping state (no
//! `previous_response_id`). Writing the request is in `request`, reading the event
//! stream (or a non-streamed response object) in `reply`.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

mod reply;
mod request;
#[cfg(test)]
mod tests;

use reply::ResponsesAccumulator;
use request::ResponsesBody;

use super::error::{ModelError, ModelErrorKind};
use super::http::{Flow, bounded, is_json, post_json, read_events, read_json_body};
use super::provider::{BoxFuture, ModelProvider};
use super::types::{ModelReply, ModelRequest};
use crate::config::{ResolvedModel, Retry};

/// A Responses API endpoint.
pub struct OpenAiResponses {
    client: reqwest::Client,
    resolved: ResolvedModel,
    stall_timeout: Duration,
    request_timeout: Duration,
}

impl OpenAiResponses {
    /// A provider for a resolved model, with the stall and whole-call limits of `retry`.
    /// The API key is read from the environment at each call and only ever sent in the
    /// `Authorization` header.
    pub fn new(client: reqwest::Client, resolved: ResolvedModel, retry: &Retry) -> Self {
        OpenAiResponses {
            client,
            resolved,
            stall_timeout: retry.stall_timeout,
            request_timeout: retry.request_timeout,
        }
    }

    /// The request body for `request`: with the session's cache key where the
    /// provider takes it, and the model's token limit when it has one.
    fn body<'a>(&'a self, request: &'a ModelRequest) -> ResponsesBody<'a> {
        let cache_key = request
            .cache_key
            .as_deref()
            .filter(|_| self.resolved.provider.prompt_cache_key);
        ResponsesBody::new(&self.resolved.model, request, cache_key)
            .with_token_limit(self.resolved.settings.max_tokens)
    }

    async fn run(
        &self,
        request: &ModelRequest,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<ModelReply, ModelError> {
        let p = &self.resolved.provider;
        let body = self.body(request);
        let url = format!("{}/responses", p.base_url);
        let resp = post_json(
            &self.client,
            p,
            &url,
            &body,
            self.stall_timeout,
            request.has_images(),
        )
        .await?;
        let mut acc = ResponsesAccumulator::default();
        if is_json(&resp) {
            // A server that ignores `stream: true` answers with one response object.
            let value = read_json_body(resp, self.stall_timeout).await?;
            acc.push_response(&value, deltas)?;
            return acc.finish();
        }
        read_events(resp, self.stall_timeout, |ev| {
            let data = ev.data.trim();
            if data.is_empty() || data == "[DONE]" {
                return Ok(Flow::More(false));
            }
            let value: Value = serde_json::from_str(data).map_err(|e| {
                ModelError::retryable(
                    ModelErrorKind::Server,
                    format!("model sent a malformed stream event ({e})"),
                )
            })?;
            let before = acc.progress;
            acc.push(ev.event.as_deref(), &value, deltas)?;
            if acc.done() {
                return Ok(Flow::Done);
            }
            Ok(Flow::More(acc.progress != before))
        })
        .await?;
        acc.finish()
    }
}

impl ModelProvider for OpenAiResponses {
    fn stream<'a>(
        &'a self,
        request: &'a ModelRequest,
        deltas: &'a mpsc::UnboundedSender<String>,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        Box::pin(bounded(self.request_timeout, self.run(request, deltas)))
    }
}
