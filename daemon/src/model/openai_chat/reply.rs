//! Reading chat-completions answers: streamed `chat.completion.chunk` objects, or one
//! non-streamed `chat.completion` body, assembled into a [`ModelReply`].

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tether_shared::Usage;
use tether_shared::event::ToolCallSpec;
use tokio::sync::mpsc;

use crate::config::ProviderKind;
use crate::model::error::{ModelError, ModelErrorKind};
use crate::model::types::{ModelReply, ProviderItem};

/// The delta fields servers stream reasoning in, in the order one is preferred when a
/// server sends both: DeepSeek, llama.cpp and vLLM's `reasoning_content`, OpenRouter's
/// and newer vLLM's `reasoning`.
const REASONING_FIELDS: [&str; 2] = ["reasoning_content", "reasoning"];

/// A non-streamed `chat.completion` object as a reply: each choice's `message` is read
/// as one big delta, so both shapes share [`ChatAccumulator`]. A complete body with a
/// message but no `finish_reason` is a finished answer (the body cannot be cut and
/// still parse).
pub fn completion_reply(
    mut value: Value,
    deltas: &mpsc::UnboundedSender<String>,
) -> Result<ModelReply, ModelError> {
    let mut has_message = false;
    for choice in value
        .get_mut("choices")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(message) = choice.get_mut("message").map(Value::take) {
            has_message |= choice["index"].as_u64().unwrap_or(0) == 0;
            choice["delta"] = message;
        }
    }
    let mut acc = ChatAccumulator::default();
    if let Some(text) = acc.push(&value)? {
        let _ = deltas.send(text);
    }
    if !has_message {
        return Err(ModelError::retryable(
            ModelErrorKind::Server,
            "model endpoint answered with JSON that is not a chat completion (no choices[0].message)",
        ));
    }
    if acc.finish_reason.is_none() {
        let reason = if acc.calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        acc.finish_reason = Some(reason.to_string());
    }
    acc.finish()
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
    /// Reasoning text by the field it came in (`reasoning_content`, `reasoning`).
    reasoning: BTreeMap<&'static str, String>,
    calls: BTreeMap<u64, PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    /// Bumped whenever a chunk adds to the answer; the stall clock watches it.
    pub(super) progress: u64,
}

impl ChatAccumulator {
    /// Takes one chunk; returns its text delta, if any.
    pub fn push(&mut self, chunk: &Value) -> Result<Option<String>, ModelError> {
        if let Some(err) = chunk.get("error").filter(|e| !e.is_null()) {
            let msg = err["message"]
                .as_str()
                .map_or_else(|| err.to_string(), str::to_string);
            return Err(ModelError::in_stream(format!(
                "model stream carried an error: {msg}"
            )));
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.progress += 1;
            self.usage = Some(Usage {
                prompt_tokens: u["prompt_tokens"].as_u64().unwrap_or(0),
                completion_tokens: u["completion_tokens"].as_u64().unwrap_or(0),
                cached_tokens: u["prompt_tokens_details"]["cached_tokens"]
                    .as_u64()
                    .unwrap_or(0),
                reasoning_tokens: u["completion_tokens_details"]["reasoning_tokens"]
                    .as_u64()
                    .unwrap_or(0),
                cache_write_tokens: 0,
            });
        }
        let mut text_delta: Option<String> = None;
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            if choice["index"].as_u64().unwrap_or(0) != 0 {
                continue;
            }
            let delta = &choice["delta"];
            if let Some(t) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                self.progress += 1;
                self.text.push_str(t);
                text_delta.get_or_insert_with(String::new).push_str(t);
            }
            for field in REASONING_FIELDS {
                if let Some(t) = delta[field].as_str().filter(|t| !t.is_empty()) {
                    self.progress += 1;
                    self.reasoning.entry(field).or_default().push_str(t);
                }
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
                    self.progress += 1;
                    call.id = id.to_string();
                }
                if let Some(name) = tc["function"]["name"].as_str().filter(|s| !s.is_empty()) {
                    self.progress += 1;
                    call.name.push_str(name);
                }
                if let Some(args) = tc["function"]["arguments"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                {
                    self.progress += 1;
                    call.arguments.push_str(args);
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.progress += 1;
                self.finish_reason = Some(reason.to_string());
            }
        }
        Ok(text_delta)
    }

    /// The reply, or an error if the stream never said it was finished.
    pub fn finish(self) -> Result<ModelReply, ModelError> {
        let Some(finish_reason) = self.finish_reason else {
            return Err(ModelError::retryable(
                ModelErrorKind::Server,
                "model stream ended before the answer was finished (no finish_reason)",
            ));
        };
        let mut tool_calls = Vec::new();
        for (index, c) in self.calls {
            if c.name.is_empty() {
                return Err(ModelError::retryable(
                    ModelErrorKind::Server,
                    format!("model sent tool call #{index} without a name"),
                ));
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
        // Servers that send both fields send the same text twice: one is kept.
        let provider_items = REASONING_FIELDS
            .iter()
            .find_map(|f| self.reasoning.get(f).map(|t| (*f, t)))
            .map(|(field, text)| ProviderItem {
                kind: ProviderKind::OpenAi,
                item: json!({ field: text }),
            })
            .into_iter()
            .collect();
        Ok(ModelReply {
            text: self.text,
            tool_calls,
            provider_items,
            usage: self.usage,
            finish_reason,
        })
    }
}

#[cfg(test)]
mod tests;
