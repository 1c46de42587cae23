//! Reading Responses API answers: the streamed events, or one non-streamed response
//! object, assembled into a [`ModelReply`].
//!
//! Output items are kept by their `output_index`: text from
//! `response.output_text.delta`, function calls from `response.output_item.added` and
//! `response.function_call_arguments.delta`, and every item's final form from
//! `response.output_item.done` (which wins over the deltas). `reasoning` items are kept
//! whole, as provider items to replay. `response.completed` (or `response.incomplete`)
//! ends the answer and carries the usage; `response.failed` and `error` are errors.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tether_shared::Usage;
use tether_shared::event::ToolCallSpec;
use tokio::sync::mpsc;

use crate::config::ProviderKind;
use crate::model::error::{ModelError, ModelErrorKind};
use crate::model::types::{ModelReply, ProviderItem};

/// One output item as far as it has arrived.
#[derive(Debug)]
enum Item {
    /// An assistant message: its text, and whether deltas carried it.
    Message { text: String, streamed: bool },
    /// A function call.
    Call {
        call_id: String,
        name: String,
        arguments: String,
    },
    /// A reasoning item, whole (with its `encrypted_content`).
    Reasoning(Value),
    /// Anything else: not part of the answer tether records.
    Other,
}

/// Assembles streamed Responses events into one reply.
#[derive(Debug, Default)]
pub struct ResponsesAccumulator {
    items: BTreeMap<u64, Item>,
    usage: Option<Usage>,
    finish_reason: Option<String>,
    /// Bumped whenever an event adds to the answer; the stall clock watches it.
    pub(super) progress: u64,
}

impl ResponsesAccumulator {
    /// True once the response is complete.
    pub fn done(&self) -> bool {
        self.finish_reason.is_some()
    }

    /// Takes one event (`event` is the SSE event name, used when the data has no
    /// `type`); text deltas go to `deltas`.
    pub fn push(
        &mut self,
        event: Option<&str>,
        data: &Value,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<(), ModelError> {
        let kind = data["type"].as_str().or(event).unwrap_or_default();
        let index = data["output_index"].as_u64().unwrap_or(0);
        match kind {
            "response.output_text.delta" => {
                if let Some(t) = data["delta"].as_str().filter(|t| !t.is_empty()) {
                    self.progress += 1;
                    match self.items.entry(index).or_insert(Item::Message {
                        text: String::new(),
                        streamed: true,
                    }) {
                        Item::Message { text, streamed } => {
                            text.push_str(t);
                            *streamed = true;
                        }
                        other => {
                            *other = Item::Message {
                                text: t.to_string(),
                                streamed: true,
                            }
                        }
                    }
                    let _ = deltas.send(t.to_string());
                }
            }
            "response.function_call_arguments.delta" => {
                if let Some(d) = data["delta"].as_str().filter(|t| !t.is_empty()) {
                    self.progress += 1;
                    let item = self.items.entry(index).or_insert(Item::Call {
                        call_id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                    if let Item::Call { arguments, .. } = item {
                        arguments.push_str(d);
                    }
                }
            }
            "response.output_item.added" => {
                self.progress += 1;
                let item = &data["item"];
                if item["type"] == "function_call" {
                    self.items.insert(
                        index,
                        Item::Call {
                            call_id: str_of(item, "call_id"),
                            name: str_of(item, "name"),
                            arguments: str_of(item, "arguments"),
                        },
                    );
                }
            }
            "response.output_item.done" => {
                self.progress += 1;
                self.item_done(index, &data["item"], deltas);
            }
            "response.completed" | "response.incomplete" => {
                self.progress += 1;
                self.completed(&data["response"], deltas);
            }
            "response.failed" => {
                let error = &data["response"]["error"];
                return Err(stream_error(error));
            }
            "error" => {
                let error = if data["error"].is_object() {
                    &data["error"]
                } else {
                    data
                };
                return Err(stream_error(error));
            }
            // Keep-alives and bookkeeping say nothing new.
            "keepalive" | "response.created" | "response.in_progress" | "" => {}
            // Reasoning summaries, content parts and the like: the model is working.
            _ => self.progress += 1,
        }
        Ok(())
    }

    /// Takes a non-streamed response object as the whole answer.
    pub fn push_response(
        &mut self,
        response: &Value,
        deltas: &mpsc::UnboundedSender<String>,
    ) -> Result<(), ModelError> {
        if response["status"] == "failed" || response["error"].is_object() {
            return Err(stream_error(&response["error"]));
        }
        if !response["output"].is_array() {
            return Err(ModelError::retryable(
                ModelErrorKind::Server,
                "model endpoint answered with JSON that is not a response (no output)",
            ));
        }
        self.completed(response, deltas);
        Ok(())
    }

    /// An item in its final form.
    fn item_done(&mut self, index: u64, item: &Value, deltas: &mpsc::UnboundedSender<String>) {
        let done = match item["type"].as_str().unwrap_or_default() {
            "message" => {
                if let Some(Item::Message { streamed: true, .. }) = self.items.get(&index) {
                    return;
                }
                let text: String = item["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| c["type"] == "output_text")
                    .filter_map(|c| c["text"].as_str())
                    .collect();
                if !text.is_empty() {
                    let _ = deltas.send(text.clone());
                }
                Item::Message {
                    text,
                    streamed: false,
                }
            }
            "function_call" => {
                let (mut call_id, mut name, mut arguments) = match self.items.remove(&index) {
                    Some(Item::Call {
                        call_id,
                        name,
                        arguments,
                    }) => (call_id, name, arguments),
                    _ => Default::default(),
                };
                for (field, slot) in [
                    ("call_id", &mut call_id),
                    ("name", &mut name),
                    ("arguments", &mut arguments),
                ] {
                    if let Some(v) = item[field].as_str().filter(|v| !v.is_empty()) {
                        *slot = v.to_string();
                    }
                }
                Item::Call {
                    call_id,
                    name,
                    arguments,
                }
            }
            "reasoning" => Item::Reasoning(item.clone()),
            _ => Item::Other,
        };
        self.items.insert(index, done);
    }

    /// The end of the answer: items the stream did not finish, usage, why it stopped.
    fn completed(&mut self, response: &Value, deltas: &mpsc::UnboundedSender<String>) {
        for (i, item) in response["output"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let finished = matches!(
                self.items.get(&(i as u64)),
                Some(Item::Reasoning(_) | Item::Other | Item::Message { .. })
            ) || (item["type"] == "function_call"
                && matches!(self.items.get(&(i as u64)), Some(Item::Call { name, .. }) if !name.is_empty()));
            if !finished {
                self.item_done(i as u64, item, deltas);
            }
        }
        if let Some(u) = response.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(Usage {
                prompt_tokens: u["input_tokens"].as_u64().unwrap_or(0),
                completion_tokens: u["output_tokens"].as_u64().unwrap_or(0),
                cached_tokens: u["input_tokens_details"]["cached_tokens"]
                    .as_u64()
                    .unwrap_or(0),
                reasoning_tokens: u["output_tokens_details"]["reasoning_tokens"]
                    .as_u64()
                    .unwrap_or(0),
                cache_write_tokens: 0,
            });
        }
        let calls = self.items.values().any(|i| matches!(i, Item::Call { .. }));
        let reason = match response["incomplete_details"]["reason"].as_str() {
            Some("max_output_tokens") => "length",
            Some(other) if response["status"] == "incomplete" => other,
            _ if calls => "tool_calls",
            _ => "stop",
        };
        self.finish_reason = Some(reason.to_string());
    }

    /// The reply, or an error if the stream never said it was finished.
    pub fn finish(self) -> Result<ModelReply, ModelError> {
        let Some(finish_reason) = self.finish_reason else {
            return Err(ModelError::retryable(
                ModelErrorKind::Server,
                "model stream ended before the answer was finished (no response.completed)",
            ));
        };
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        let mut provider_items = Vec::new();
        for (index, item) in self.items {
            match item {
                Item::Message { text: t, .. } => text.push_str(&t),
                Item::Call {
                    call_id,
                    name,
                    arguments,
                } => {
                    if name.is_empty() {
                        return Err(ModelError::retryable(
                            ModelErrorKind::Server,
                            format!("model sent function call #{index} without a name"),
                        ));
                    }
                    let arguments = if arguments.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&arguments).unwrap_or(Value::String(arguments))
                    };
                    let call_id = if call_id.is_empty() {
                        crate::util::new_id("call")
                    } else {
                        call_id
                    };
                    tool_calls.push(ToolCallSpec {
                        call_id,
                        tool: name,
                        arguments,
                    });
                }
                Item::Reasoning(item) => provider_items.push(ProviderItem {
                    kind: ProviderKind::OpenAiResponses,
                    item,
                }),
                Item::Other => {}
            }
        }
        Ok(ModelReply {
            text,
            tool_calls,
            provider_items,
            usage: self.usage,
            finish_reason,
        })
    }
}

fn str_of(item: &Value, field: &str) -> String {
    item[field].as_str().unwrap_or_default().to_string()
}

/// An error the stream carried (`{code, message}`), as a typed error.
fn stream_error(error: &Value) -> ModelError {
    let message = error["message"]
        .as_str()
        .map_or_else(|| error.to_string(), str::to_string);
    let code = error["code"].as_str().unwrap_or_default();
    let text = if code.is_empty() {
        format!("model stream carried an error: {message}")
    } else {
        format!("model stream carried an error: {message} ({code})")
    };
    match code {
        "rate_limit_exceeded" => ModelError::retryable(ModelErrorKind::RateLimited, text),
        _ => ModelError::in_stream(text),
    }
}
