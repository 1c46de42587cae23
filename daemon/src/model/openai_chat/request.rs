//! The neutral conversation written as chat-completions JSON, serialised straight from
//! the shared messages without building a `Value` tree for them.
//!
//! The layout chat completions needs:
//!
//! - a tool result is a `tool` message; with `is_error` its content is prefixed
//!   `error: ` (a chat `tool` message has no error flag);
//! - a `tool` message cannot carry images, and the tool messages of one step must follow
//!   their assistant message without a break, so the images of a run of tool messages
//!   ride in one `user` message after the run's last tool message (a text naming the
//!   call, then `image_url` data URLs);
//! - the reasoning a server streamed (`reasoning_content` from DeepSeek, vLLM and
//!   llama.cpp, `reasoning` from OpenRouter and newer vLLM) is an `openai` provider item
//!   `{FIELD: text}` and goes back under the same field on its assistant message:
//!   DeepSeek requires it after tool calls and ignores it otherwise, and replaying it
//!   always keeps earlier messages byte-identical; items of other kinds are left out;
//! - `prompt_cache_key` (the session id) only where the provider is configured for it.
//!
//! Keys are written in the order a `serde_json::Value` writes them (sorted), so the
//! bytes on the wire are those of the `json!` objects this replaced.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};
use serde_json::Value;

use crate::config::ProviderKind;
use crate::model::audio::InputAudio;
use crate::model::types::{Image, Message, Part, ProviderItem, Role};
use crate::tools::ToolSpec;

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// The `/chat/completions` request body.
#[derive(Serialize)]
pub(super) struct ChatBody<'a> {
    model: &'a str,
    messages: ChatMessages<'a>,
    stream: bool,
    /// Only with `stream: true` (OpenAI refuses it otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<Value>>,
    /// `"none"` when tools are listed but must not be called.
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    /// Routes the session's requests to one prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_key: Option<&'a str>,
    /// The answer's token limit, as OpenAI's own API names it now (its
    /// reasoning models refuse `max_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u64>,
    /// The same limit, as other OpenAI-compatible servers (llama.cpp, vLLM,
    /// Ollama) take it.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
}

impl<'a> ChatBody<'a> {
    /// A streamed request for `model` with `messages` and `tools`.
    pub(super) fn new(model: &'a str, messages: &'a [Arc<Message>], tools: &[ToolSpec]) -> Self {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                serde_json::json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
        ChatBody {
            model,
            messages: ChatMessages(messages),
            stream: true,
            stream_options: Some(StreamOptions {
                include_usage: true,
            }),
            tool_choice: None,
            prompt_cache_key: None,
            max_completion_tokens: None,
            max_tokens: None,
            tools: if tools.is_empty() { None } else { Some(tools) },
        }
    }

    /// Limits the answer to `limit` tokens: `max_completion_tokens` for
    /// OpenAI's own API (`openai_api`), else `max_tokens`.
    pub(super) fn with_token_limit(mut self, limit: Option<u64>, openai_api: bool) -> Self {
        if openai_api {
            self.max_completion_tokens = limit;
        } else {
            self.max_tokens = limit;
        }
        self
    }

    /// Sends `prompt_cache_key`.
    pub(super) fn with_cache_key(mut self, key: Option<&'a str>) -> Self {
        self.prompt_cache_key = key;
        self
    }

    /// The same request, answered in one `chat.completion` body instead of a stream.
    pub(super) fn unstreamed(mut self) -> Self {
        self.stream = false;
        self.stream_options = None;
        self
    }

    /// Lists the tools but forbids calling them (`tool_choice: "none"`).
    pub(super) fn without_tool_calls(mut self) -> Self {
        if self.tools.is_some() {
            self.tool_choice = Some("none");
        }
        self
    }
}

/// A conversation as the `messages` array.
pub(super) struct ChatMessages<'a>(pub(super) &'a [Arc<Message>]);

impl Serialize for ChatMessages<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut rest = self.0;
        while let Some(first) = rest.first() {
            if first.role == Role::Tool {
                let n = rest.iter().take_while(|m| m.role == Role::Tool).count();
                let (run, after) = rest.split_at(n);
                for m in run {
                    for part in &m.parts {
                        if let Part::ToolResult {
                            call_id,
                            output,
                            is_error,
                        } = part
                        {
                            seq.serialize_element(&ToolMessage {
                                content: ToolContent {
                                    output,
                                    is_error: *is_error,
                                },
                                role: "tool",
                                tool_call_id: call_id,
                            })?;
                        }
                    }
                }
                if run.iter().any(|m| m.has_media()) {
                    seq.serialize_element(&TextMessage {
                        content: Content::Carrier(run),
                        role: "user",
                    })?;
                }
                rest = after;
                continue;
            }
            rest = &rest[1..];
            match first.role {
                Role::System | Role::User => {
                    let role = if first.role == Role::System {
                        "system"
                    } else {
                        "user"
                    };
                    let content = if first.parts.iter().all(|p| matches!(p, Part::Text(_))) {
                        Content::Text(&first.parts)
                    } else {
                        Content::Parts(&first.parts)
                    };
                    seq.serialize_element(&TextMessage { content, role })?;
                }
                Role::Assistant => {
                    let calls = first
                        .parts
                        .iter()
                        .any(|p| matches!(p, Part::ToolCall { .. }));
                    let text = first
                        .parts
                        .iter()
                        .any(|p| matches!(p, Part::Text(t) if !t.is_empty()));
                    if calls || text {
                        seq.serialize_element(&AssistantMessage {
                            content: Content::Text(&first.parts),
                            reasoning: reasoning(&first.parts, "reasoning"),
                            reasoning_content: reasoning(&first.parts, "reasoning_content"),
                            role: "assistant",
                            tool_calls: calls.then_some(ToolCalls(&first.parts)),
                        })?;
                    }
                }
                Role::Tool => {}
            }
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct TextMessage<'a> {
    content: Content<'a>,
    role: &'static str,
}

/// The reasoning text a server sent under `field`, kept as an `openai` provider item.
fn reasoning<'a>(parts: &'a [Part], field: &str) -> Option<&'a str> {
    parts.iter().find_map(|p| match p {
        Part::Provider(ProviderItem {
            kind: ProviderKind::OpenAi,
            item,
        }) => item.get(field).and_then(Value::as_str),
        _ => None,
    })
}

#[derive(Serialize)]
struct AssistantMessage<'a> {
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<ToolCalls<'a>>,
}

#[derive(Serialize)]
struct ToolMessage<'a> {
    content: ToolContent<'a>,
    role: &'static str,
    tool_call_id: &'a str,
}

/// A message's `content`.
enum Content<'a> {
    /// The text parts joined, as a string.
    Text(&'a [Part]),
    /// A list of text and `image_url` parts.
    Parts(&'a [Part]),
    /// The images of a run of tool messages, each call's introduced by a text.
    Carrier(&'a [Arc<Message>]),
}

impl Serialize for Content<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Content::Text(parts) => {
                let mut texts = parts.iter().filter_map(|p| match p {
                    Part::Text(t) => Some(t.as_str()),
                    _ => None,
                });
                match (texts.next(), texts.next()) {
                    (None, _) => serializer.serialize_str(""),
                    (Some(one), None) => serializer.serialize_str(one),
                    (Some(_), Some(_)) => serializer.collect_str(&JoinedText(parts)),
                }
            }
            Content::Parts(parts) => {
                let mut seq = serializer.serialize_seq(None)?;
                for p in parts.iter() {
                    match p {
                        Part::Text(text) => seq.serialize_element(&TextPart {
                            text,
                            r#type: "text",
                        })?,
                        Part::Image(image) => seq.serialize_element(&ImagePart::new(image))?,
                        Part::Audio(audio) => {
                            if let Some(part) = InputAudio::new(audio) {
                                seq.serialize_element(&part)?;
                            }
                        }
                        _ => {}
                    }
                }
                seq.end()
            }
            Content::Carrier(run) => {
                let mut seq = serializer.serialize_seq(None)?;
                for m in run.iter() {
                    for (i, p) in m.parts.iter().enumerate() {
                        match p {
                            Part::ToolResult { call_id, .. } => {
                                if let Some(text) = m.images_caption(i, call_id) {
                                    seq.serialize_element(&TextPart {
                                        text: &text,
                                        r#type: "text",
                                    })?;
                                }
                            }
                            Part::Image(image) => seq.serialize_element(&ImagePart::new(image))?,
                            Part::Audio(audio) => {
                                if let Some(part) = InputAudio::new(audio) {
                                    seq.serialize_element(&part)?;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                seq.end()
            }
        }
    }
}

/// The text parts of a message, one after the other.
struct JoinedText<'a>(&'a [Part]);

impl fmt::Display for JoinedText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            if let Part::Text(t) = p {
                f.write_str(t)?;
            }
        }
        Ok(())
    }
}

/// A tool message's content: the output, marked when the call failed.
struct ToolContent<'a> {
    output: &'a str,
    is_error: bool,
}

impl Serialize for ToolContent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_error {
            serializer.collect_str(&format_args!("error: {}", self.output))
        } else {
            serializer.serialize_str(self.output)
        }
    }
}

#[derive(Serialize)]
struct TextPart<'a> {
    text: &'a str,
    r#type: &'static str,
}

#[derive(Serialize)]
struct ImagePart<'a> {
    image_url: ImageUrl<'a>,
    r#type: &'static str,
}

impl<'a> ImagePart<'a> {
    fn new(image: &'a Image) -> Self {
        ImagePart {
            image_url: ImageUrl {
                url: DataUrl(image),
            },
            r#type: "image_url",
        }
    }
}

#[derive(Serialize)]
struct ImageUrl<'a> {
    url: DataUrl<'a>,
}

/// `data:MIME;base64,DATA`, written without building the string.
struct DataUrl<'a>(&'a Image);

impl Serialize for DataUrl<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!(
            "data:{};base64,{}",
            self.0.mime_type, self.0.data
        ))
    }
}

/// An assistant message's `tool_calls`.
struct ToolCalls<'a>(&'a [Part]);

impl Serialize for ToolCalls<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for p in self.0 {
            if let Part::ToolCall {
                call_id,
                tool,
                arguments,
            } = p
            {
                seq.serialize_element(&ToolCall {
                    function: Function {
                        arguments: Arguments(arguments),
                        name: tool,
                    },
                    id: call_id,
                    r#type: "function",
                })?;
            }
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct ToolCall<'a> {
    function: Function<'a>,
    id: &'a str,
    r#type: &'static str,
}

#[derive(Serialize)]
struct Function<'a> {
    arguments: Arguments<'a>,
    name: &'a str,
}

/// Arguments go as a JSON string: the raw text when they did not parse, else the JSON.
struct Arguments<'a>(&'a Value);

impl Serialize for Arguments<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::String(raw) => serializer.serialize_str(raw),
            other => serializer.collect_str(other),
        }
    }
}
