//! The neutral conversation written as a Responses API request, serialised straight
//! from the shared messages.
//!
//! The layout:
//!
//! - text messages are `{"type": "message", role, content}` with the text as a string;
//!   a user message with images has `input_text` / `input_image` parts;
//! - an assistant message is its `openai-responses` provider items first (reasoning
//!   items, replayed exactly as the model sent them, so with their
//!   `encrypted_content`; one without it is left out, since with `store: false` the
//!   server could not resolve it), then its text as a message, then one
//!   `function_call` item per tool call;
//! - a tool result is a `function_call_output`, its output prefixed `error: ` when the
//!   call failed; the images of a run of results ride in one `user` message after the
//!   run, as in chat completions;
//! - tools are `{"type": "function", name, description, parameters, "strict": false}`
//!   (strict schemas would refuse most MCP tools' schemas).
//!
//! Every object's keys are written in sorted order and the same message is always
//! written the same way, so a session's requests share their prefix byte for byte.

use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};
use serde_json::Value;

use crate::config::ProviderKind;
use crate::model::audio::InputAudio;
use crate::model::types::{Image, Message, ModelRequest, Part, ProviderItem, Role};
use crate::tools::ToolSpec;

/// What `include` asks for: the reasoning, encrypted, so it can be replayed statelessly.
const INCLUDE: [&str; 1] = ["reasoning.encrypted_content"];

/// The `/responses` request body.
#[derive(Serialize)]
pub(super) struct ResponsesBody<'a> {
    model: &'a str,
    input: Input<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    /// `"none"` when tools are listed but must not be called.
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    store: bool,
    stream: bool,
    include: [&'static str; 1],
    /// Routes the session's requests to one prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_key: Option<&'a str>,
    /// The answer's token limit (reasoning included).
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u64>,
}

impl<'a> ResponsesBody<'a> {
    /// A streamed, stateless request for `model`.
    pub(super) fn new(
        model: &'a str,
        request: &'a ModelRequest,
        cache_key: Option<&'a str>,
    ) -> Self {
        let tools: Vec<Tool<'a>> = request.tools.iter().map(Tool::new).collect();
        ResponsesBody {
            model,
            input: Input(&request.messages),
            tool_choice: (request.no_tool_calls && !tools.is_empty()).then_some("none"),
            tools,
            store: false,
            stream: true,
            include: INCLUDE,
            prompt_cache_key: cache_key,
            max_output_tokens: None,
        }
    }

    /// Limits the answer to `limit` tokens (`max_output_tokens`).
    pub(super) fn with_token_limit(mut self, limit: Option<u64>) -> Self {
        self.max_output_tokens = limit;
        self
    }
}

#[derive(Serialize)]
struct Tool<'a> {
    description: &'a str,
    name: &'a str,
    parameters: &'a Value,
    strict: bool,
    r#type: &'static str,
}

impl<'a> Tool<'a> {
    fn new(spec: &'a ToolSpec) -> Self {
        Tool {
            description: &spec.description,
            name: &spec.name,
            parameters: &spec.parameters,
            strict: false,
            r#type: "function",
        }
    }
}

/// A conversation as the `input` array.
pub(super) struct Input<'a>(pub(super) &'a [Arc<Message>]);

impl Serialize for Input<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut rest = self.0;
        while let Some(first) = rest.first() {
            if first.role == Role::Tool {
                let n = rest.iter().take_while(|m| m.role == Role::Tool).count();
                let (run, after) = rest.split_at(n);
                for part in run.iter().flat_map(|m| &m.parts) {
                    if let Part::ToolResult {
                        call_id,
                        output,
                        is_error,
                    } = part
                    {
                        let output = if *is_error {
                            format!("error: {output}")
                        } else {
                            output.clone()
                        };
                        seq.serialize_element(&CallOutput {
                            call_id,
                            output,
                            r#type: "function_call_output",
                        })?;
                    }
                }
                if run.iter().any(|m| m.has_media()) {
                    seq.serialize_element(&TextMessage {
                        content: Content::Carrier(run),
                        role: "user",
                        r#type: "message",
                    })?;
                }
                rest = after;
                continue;
            }
            rest = &rest[1..];
            let role = match first.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => {
                    assistant(&mut seq, &first.parts)?;
                    continue;
                }
                Role::Tool => continue,
            };
            let content = if first.has_media() {
                Content::Parts(&first.parts)
            } else {
                Content::Text(&first.parts)
            };
            seq.serialize_element(&TextMessage {
                content,
                role,
                r#type: "message",
            })?;
        }
        seq.end()
    }
}

/// Writes an assistant message's items: reasoning, text, function calls.
fn assistant<S: SerializeSeq>(seq: &mut S, parts: &[Part]) -> Result<(), S::Error> {
    for p in parts {
        if let Part::Provider(ProviderItem {
            kind: ProviderKind::OpenAiResponses,
            item,
        }) = p
            && replayable(item)
        {
            seq.serialize_element(item)?;
        }
    }
    if parts
        .iter()
        .any(|p| matches!(p, Part::Text(t) if !t.is_empty()))
    {
        seq.serialize_element(&TextMessage {
            content: Content::Text(parts),
            role: "assistant",
            r#type: "message",
        })?;
    }
    for p in parts {
        if let Part::ToolCall {
            call_id,
            tool,
            arguments,
        } = p
        {
            seq.serialize_element(&FunctionCall {
                arguments: Arguments(arguments),
                call_id,
                name: tool,
                r#type: "function_call",
            })?;
        }
    }
    Ok(())
}

/// A reasoning item goes back only with its encrypted content: with `store: false`
/// the server cannot look up one that lacks it, and refuses the request.
fn replayable(item: &Value) -> bool {
    item["type"] != "reasoning" || item["encrypted_content"].is_string()
}

#[derive(Serialize)]
struct TextMessage<'a> {
    content: Content<'a>,
    role: &'static str,
    r#type: &'static str,
}

#[derive(Serialize)]
struct CallOutput<'a> {
    call_id: &'a str,
    output: String,
    r#type: &'static str,
}

#[derive(Serialize)]
struct FunctionCall<'a> {
    arguments: Arguments<'a>,
    call_id: &'a str,
    name: &'a str,
    r#type: &'static str,
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

/// A message's `content`.
enum Content<'a> {
    /// The text parts joined, as a string.
    Text(&'a [Part]),
    /// `input_text` and `input_image` parts.
    Parts(&'a [Part]),
    /// The images of a run of tool results, each call's introduced by a text.
    Carrier(&'a [Arc<Message>]),
}

impl Serialize for Content<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Content::Text(parts) => {
                let text: String = parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                serializer.serialize_str(&text)
            }
            Content::Parts(parts) => {
                let mut seq = serializer.serialize_seq(None)?;
                for p in parts.iter() {
                    match p {
                        Part::Text(text) => seq.serialize_element(&InputText::new(text))?,
                        Part::Image(image) => seq.serialize_element(&InputImage::new(image))?,
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
                                    seq.serialize_element(&InputText::new(&text))?;
                                }
                            }
                            Part::Image(image) => seq.serialize_element(&InputImage::new(image))?,
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

#[derive(Serialize)]
struct InputText<'a> {
    text: &'a str,
    r#type: &'static str,
}

impl<'a> InputText<'a> {
    fn new(text: &'a str) -> Self {
        InputText {
            text,
            r#type: "input_text",
        }
    }
}

#[derive(Serialize)]
struct InputImage {
    image_url: String,
    r#type: &'static str,
}

impl InputImage {
    fn new(image: &Image) -> Self {
        InputImage {
            image_url: format!("data:{};base64,{}", image.mime_type, image.data),
            r#type: "input_image",
        }
    }
}
