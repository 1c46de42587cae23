//! OpenAI-compatible `/chat/completions` with streaming and tools: one attempt of a
//! model call within its limits (stall and whole-call timeouts). Writing the request is
//! in `request`, assembling the answer from chunks or a JSON body in `reply`.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

#[cfg(test)]
mod empty_stream_tests;
mod reply;
mod request;
#[cfg(test)]
mod tests;

use reply::{ChatAccumulator, completion_reply};
use request::ChatBody;

use super::error::{ModelError, ModelErrorKind};
use super::http::{End, Flow, bounded, is_json, post_json, read_events, read_json_body};
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
        let mut body = ChatBody::new(&self.resolved.model, &request.messages, &request.tools);
        if request.no_tool_calls {
            body = body.without_tool_calls();
        }
        body = body.with_token_limit(
            self.resolved.settings.max_tokens,
            self.resolved.provider.is_openai_api(),
        );
        if self.resolved.provider.prompt_cache_key {
            body = body.with_cache_key(request.cache_key.as_deref());
        }
        body
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
            return completion_reply(value, deltas).map(Answer::Reply);
        }
        let mut acc = ChatAccumulator::default();
        let end = read_events(resp, self.stall_timeout, |ev| {
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
        match end {
            End::Eof { bytes: 0 } => Ok(Answer::Empty),
            End::Done | End::Eof { .. } => acc.finish().map(Answer::Reply),
        }
    }
}

/// What one request got: an answer, or an event stream with nothing in it.
enum Answer {
    Reply(ModelReply),
    Empty,
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
