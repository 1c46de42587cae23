//! OpenAI-compatible `/chat/completions` with streaming and tools: one attempt of a
//! model call within its limits (stall and whole-call timeouts). Writing the request is
//! in `request`, assembling the answer from chunks or a JSON body in `reply`.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

mod reply;
mod request;
#[cfg(test)]
mod tests;

use reply::{ChatAccumulator, completion_reply};
use request::ChatBody;

use super::error::{ModelError, ModelErrorKind};
use super::http::{Flow, bounded, is_json, post_json, read_events, read_json_body};
use super::provider::{BoxFuture, ModelProvider};
use super::types::{ModelReply, ModelRequest};
use crate::config::{ResolvedModel, Retry};

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

    async fn run(
        &self,
        request: &ModelRequest,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<ModelReply, ModelError> {
        let p = &self.resolved.provider;
        let mut body = ChatBody::new(&self.resolved.model, &request.messages, &request.tools);
        if request.no_tool_calls {
            body = body.without_tool_calls();
        }
        if p.prompt_cache_key {
            body = body.with_cache_key(request.cache_key.as_deref());
        }
        let url = format!("{}/chat/completions", p.base_url);
        let resp = post_json(
            &self.client,
            p,
            &url,
            &body,
            self.stall_timeout,
            request.has_images(),
        )
        .await?;
        if is_json(&resp) {
            // A server that ignores `stream: true` answers with one chat.completion.
            let value = read_json_body(resp, self.stall_timeout).await?;
            return completion_reply(value, deltas);
        }
        let mut acc = ChatAccumulator::default();
        read_events(resp, self.stall_timeout, |ev| {
            let data = ev.data.trim();
            if data.is_empty() {
                return Ok(Flow::More(false));
            }
            if data == "[DONE]" {
                return Ok(Flow::Done);
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
            Ok(Flow::More(acc.progress != before))
        })
        .await?;
        acc.finish()
    }
}

impl ModelProvider for OpenAiChat {
    fn stream<'a>(
        &'a self,
        request: &'a ModelRequest,
        deltas: &'a mpsc::UnboundedSender<String>,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        Box::pin(bounded(self.request_timeout, self.run(request, deltas)))
    }
}
