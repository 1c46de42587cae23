//! Reading a Messages API stream: its events (`message_start`, `content_block_start`,
//! `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`,
//! `ping`, `error`) assembled into a [`ModelReply`].
//!
//! Text deltas stream to the session as they come; a tool call's `input` arrives as
//! `input_json_delta` pieces that only parse once joined; a thinking block's text and
//! its `signature` arrive as `thinking_delta` and `signature_delta` and the whole block
//! is kept, verbatim, as a provider item for later requests. The stop reason is given
//! in the names chat completions uses (`end_turn` → `stop`, `tool_use` →
//! `tool_calls`, `max_tokens` → `length`; others as the API says them).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tether_shared::Usage;
use tether_shared::event::ToolCallSpec;

use crate::config::ProviderKind;
use crate::model::error::{ModelError, ModelErrorKind};
use crate::model::types::{ModelReply, ProviderItem};

/// One content block as it streams.
#[derive(Debug)]
enum Block {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        /// The `input_json_delta` pieces joined.
        json: String,
        /// The `input` of `content_block_start`, used when no delta comes.
        start_input: Value,
    },
    /// A thinking block: the `thinking` text and `signature` are appended to it.
    Thinking(Value),
    /// A block kept as it came (`redacted_thinking`) or one this reader does not know.
    Opaque(Value),
}

/// Assembles one streamed message.
#[derive(Debug, Default)]
pub(super) struct MessageAccumulator {
    blocks: BTreeMap<u64, Block>,
    stop_reason: Option<String>,
    usage: Usage,
    saw_usage: bool,
    done: bool,
    /// Bumped whenever an event adds to the answer; the stall clock watches it (a
    /// `ping` does not count).
    pub(super) progress: u64,
}

impl MessageAccumulator {
    /// Takes one event (its `event:` name and its data); returns its text delta, if any.
    pub(super) fn push(
        &mut self,
        event: Option<&str>,
        data: &Value,
    ) -> Result<Option<String>, ModelError> {
        let ty = data["type"].as_str().or(event).unwrap_or("");
        match ty {
            "ping" => Ok(None),
            "error" => Err(stream_error(&data["error"])),
            "message_start" => {
                self.progress += 1;
                self.read_usage(&data["message"]["usage"]);
                Ok(None)
            }
            "content_block_start" => {
                self.progress += 1;
                let index = data["index"].as_u64().unwrap_or(self.blocks.len() as u64);
                let block = &data["content_block"];
                let b = match block["type"].as_str() {
                    Some("text") => Block::Text(block["text"].as_str().unwrap_or("").to_string()),
                    Some("tool_use") => Block::ToolUse {
                        id: block["id"].as_str().unwrap_or("").to_string(),
                        name: block["name"].as_str().unwrap_or("").to_string(),
                        json: String::new(),
                        start_input: block["input"].clone(),
                    },
                    Some("thinking") => {
                        let mut b = block.clone();
                        if !b["thinking"].is_string() {
                            b["thinking"] = json!("");
                        }
                        if !b["signature"].is_string() {
                            b["signature"] = json!("");
                        }
                        Block::Thinking(b)
                    }
                    _ => Block::Opaque(block.clone()),
                };
                let text = match &b {
                    Block::Text(t) if !t.is_empty() => Some(t.clone()),
                    _ => None,
                };
                self.blocks.insert(index, b);
                Ok(text)
            }
            "content_block_delta" => self.delta(data),
            "content_block_stop" => {
                self.progress += 1;
                Ok(None)
            }
            "message_delta" => {
                self.progress += 1;
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(reason.to_string());
                }
                self.read_usage(&data["usage"]);
                Ok(None)
            }
            "message_stop" => {
                self.progress += 1;
                self.done = true;
                Ok(None)
            }
            // New event types are to be expected; they carry nothing we use.
            _ => Ok(None),
        }
    }

    fn delta(&mut self, data: &Value) -> Result<Option<String>, ModelError> {
        let index = data["index"].as_u64().unwrap_or(0);
        let delta = &data["delta"];
        let Some(block) = self.blocks.get_mut(&index) else {
            return Err(ModelError::retryable(
                ModelErrorKind::Server,
                format!(
                    "model stream sent a delta for content block {index}, which it never started"
                ),
            ));
        };
        let piece = |key: &str| delta[key].as_str().unwrap_or("");
        let mut text = None;
        match (delta["type"].as_str().unwrap_or(""), block) {
            ("text_delta", Block::Text(t)) => {
                let d = piece("text");
                if !d.is_empty() {
                    t.push_str(d);
                    text = Some(d.to_string());
                }
            }
            ("input_json_delta", Block::ToolUse { json, .. }) => {
                json.push_str(piece("partial_json"))
            }
            ("thinking_delta", Block::Thinking(b)) => append(b, "thinking", piece("thinking")),
            ("signature_delta", Block::Thinking(b)) => append(b, "signature", piece("signature")),
            (other, _) => {
                return Err(ModelError::retryable(
                    ModelErrorKind::Server,
                    format!(
                        "model stream sent a {other:?} delta for content block {index} of another type"
                    ),
                ));
            }
        }
        self.progress += 1;
        Ok(text)
    }

    /// Usage fields present in `u` replace the ones known: `message_start` gives the
    /// input side, `message_delta` the (cumulative) output and sometimes the input again.
    fn read_usage(&mut self, u: &Value) {
        if !u.is_object() {
            return;
        }
        self.saw_usage = true;
        let get = |key: &str| u[key].as_u64();
        let input = get("input_tokens");
        let read = get("cache_read_input_tokens");
        let write = get("cache_creation_input_tokens");
        if input.is_some() || read.is_some() || write.is_some() {
            let prompt = input.unwrap_or(0) + read.unwrap_or(0) + write.unwrap_or(0);
            self.usage.prompt_tokens = prompt.max(self.usage.prompt_tokens);
            if let Some(r) = read {
                self.usage.cached_tokens = r;
            }
            if let Some(w) = write {
                self.usage.cache_write_tokens = w;
            }
        }
        if let Some(out) = get("output_tokens") {
            self.usage.completion_tokens = out;
        }
    }

    /// True once `message_stop` came: the answer is complete.
    pub(super) fn done(&self) -> bool {
        self.done
    }

    /// The reply, or an error if the stream never said it was finished.
    pub(super) fn finish(self) -> Result<ModelReply, ModelError> {
        if !self.done {
            return Err(ModelError::retryable(
                ModelErrorKind::Server,
                "model stream ended before the answer was finished (no message_stop)",
            ));
        }
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        let mut provider_items = Vec::new();
        for (index, block) in self.blocks {
            match block {
                Block::Text(t) => text.push_str(&t),
                Block::ToolUse {
                    id,
                    name,
                    json,
                    start_input,
                } => {
                    if name.is_empty() {
                        return Err(ModelError::retryable(
                            ModelErrorKind::Server,
                            format!("model sent tool call #{index} without a name"),
                        ));
                    }
                    let arguments = if json.trim().is_empty() {
                        if start_input.is_object() {
                            start_input
                        } else {
                            json!({})
                        }
                    } else {
                        serde_json::from_str(&json).unwrap_or(Value::String(json))
                    };
                    let call_id = if id.is_empty() {
                        crate::util::new_id("toolu")
                    } else {
                        id
                    };
                    tool_calls.push(ToolCallSpec {
                        call_id,
                        tool: name,
                        arguments,
                    });
                }
                Block::Thinking(item) | Block::Opaque(item) => {
                    provider_items.push(ProviderItem {
                        kind: ProviderKind::Anthropic,
                        item,
                    });
                }
            }
        }
        let finish_reason = match self.stop_reason.as_deref() {
            Some("end_turn") | Some("stop_sequence") | None => "stop".to_string(),
            Some("tool_use") => "tool_calls".to_string(),
            Some("max_tokens") => "length".to_string(),
            Some(other) => other.to_string(),
        };
        Ok(ModelReply {
            text,
            tool_calls,
            usage: self.saw_usage.then_some(self.usage),
            finish_reason,
            provider_items,
        })
    }
}

fn append(block: &mut Value, key: &str, piece: &str) {
    let mut s = block[key].as_str().unwrap_or("").to_string();
    s.push_str(piece);
    block[key] = json!(s);
}

/// An `error` event as a typed error: `overloaded_error` and the API's own failures are
/// worth retrying, a rate limit too; `prompt is too long` is a context-length error.
pub(super) fn stream_error(error: &Value) -> ModelError {
    let ty = error["type"].as_str().unwrap_or("error");
    let message = error["message"].as_str().unwrap_or("");
    let text = format!("model stream carried an error: {ty}: {message}");
    match ty {
        "overloaded_error" | "api_error" => ModelError::retryable(ModelErrorKind::Server, text),
        "rate_limit_error" => ModelError::retryable(ModelErrorKind::RateLimited, text),
        "authentication_error" | "permission_error" => {
            ModelError::fatal(ModelErrorKind::Auth, text)
        }
        "invalid_request_error" | "request_too_large" => {
            let e = ModelError::in_stream(text);
            if e.kind == ModelErrorKind::ContextLength {
                e
            } else {
                ModelError::fatal(ModelErrorKind::BadRequest, e.message)
            }
        }
        _ => ModelError::in_stream(text),
    }
}
