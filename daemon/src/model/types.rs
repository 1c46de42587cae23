//! The provider-neutral conversation: what the session says to a model and what a model
//! answers, with no wire format in it.
//!
//! A provider turns a [`ModelRequest`] into its own API's messages (see `openai_chat`)
//! and its answer into a [`ModelReply`].

use std::sync::Arc;

use serde_json::Value;
use tether_shared::Usage;
use tether_shared::event::{ProviderItemRecord, ToolCallSpec};

use crate::config::ProviderKind;
use crate::tools::ToolSpec;

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The session's instructions.
    System,
    /// The person (or the images a step's tools returned, for APIs that want them there).
    User,
    /// The model.
    Assistant,
    /// The result of one tool call.
    Tool,
}

/// An image, base64-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `image/png`, …
    pub mime_type: String,
    /// The base64 data.
    pub data: String,
}

/// A sound clip, base64-encoded (an MCP `audio` block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    /// `audio/wav`, …
    pub mime_type: String,
    /// The base64 data.
    pub data: String,
}

impl Audio {
    /// The `format` the OpenAI APIs name it by, for the two they take (`wav`,
    /// `mp3`); `None` for any other type.
    pub fn format(&self) -> Option<&'static str> {
        match self.mime_type.as_str() {
            "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => Some("wav"),
            "audio/mpeg" | "audio/mp3" | "audio/mpeg3" | "audio/x-mpeg-3" => Some("mp3"),
            _ => None,
        }
    }
}

/// Something a provider gave back that only that provider understands (an encrypted
/// reasoning item, say) and that must go back to it unchanged in the next request.
/// Other providers leave it out.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderItem {
    /// The provider kind that understands it.
    pub kind: ProviderKind,
    /// The item, as that provider sent it.
    pub item: Value,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text.
    Text(String),
    /// A tool call the model made (in an assistant message).
    ToolCall {
        /// The call's id, which its result names.
        call_id: String,
        /// The tool.
        tool: String,
        /// The arguments as the model gave them: JSON, or the raw string when they did
        /// not parse.
        arguments: Value,
    },
    /// The result of a tool call (in a tool message). Images that follow it in the same
    /// message are the images it returned.
    ToolResult {
        /// The call it answers.
        call_id: String,
        /// The text output.
        output: String,
        /// True when the call failed (or was denied).
        is_error: bool,
    },
    /// An image.
    Image(Image),
    /// A sound clip (only from tools; only APIs configured for audio get it).
    Audio(Audio),
    /// An opaque provider item (reasoning, thinking). In an assistant message these
    /// come first, before the text and tool calls, as reasoning precedes the answer.
    Provider(ProviderItem),
}

/// A message of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What it says, in order.
    pub parts: Vec<Part>,
}

impl Message {
    /// For the tool result at `parts[i]`, the caption of the images right after
    /// it (`2 images returned by tool call c1:`), for APIs whose tool results
    /// carry text only and whose images therefore go in a user message; none when
    /// no image follows.
    pub fn images_caption(&self, i: usize, call_id: &str) -> Option<String> {
        let media = self.parts[i + 1..]
            .iter()
            .take_while(|p| p.is_media())
            .collect::<Vec<_>>();
        let n = media.len();
        let s = if n == 1 { "" } else { "s" };
        let what = if media.iter().all(|p| matches!(p, Part::Image(_))) {
            "image"
        } else {
            "attachment"
        };
        (n > 0).then(|| format!("{n} {what}{s} returned by tool call {call_id}:"))
    }

    /// A message of one text part.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Message {
            role,
            parts: vec![Part::Text(text.into())],
        }
    }

    /// True when some part is an image.
    pub fn has_images(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Image(_)))
    }

    /// True when some part is an image or a sound clip.
    pub fn has_media(&self) -> bool {
        self.parts.iter().any(Part::is_media)
    }

    /// True when some part is a sound clip.
    pub fn has_audio(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Audio(_)))
    }

    /// The message without its audio, or (`all` false) without the clips no
    /// API takes (neither wav nor mp3); a tool result says what it lost.
    pub fn without_audio(&self, all: bool) -> Self {
        self.without(
            |p| matches!(p, Part::Audio(a) if all || a.format().is_none()),
            |n| {
                let s = if n == 1 { "" } else { "s" };
                if all {
                    format!(
                        "[{n} audio clip{s} not shown: this model is set to take no audio \
                         (audio = true in its provider's config sends wav and mp3)]"
                    )
                } else {
                    format!("[{n} audio clip{s} not shown: only wav and mp3 can be sent]")
                }
            },
        )
    }

    /// The message without its images, for a model that takes none: a tool
    /// result that had some says so at its end, so the model knows it was not
    /// shown them (rather than taking the placeholders for all there was).
    pub fn without_images(&self) -> Self {
        self.without_images_because(
            "this model is set to take no images (images = false in its provider's config)",
        )
    }

    /// [`Message::without_images`], saying `why` in the note.
    pub fn without_images_because(&self, why: &str) -> Self {
        self.without(
            |p| matches!(p, Part::Image(_)),
            |n| {
                let s = if n == 1 { "" } else { "s" };
                format!("[{n} image{s} not shown: {why}]")
            },
        )
    }

    /// The message without the parts `drop` picks; a tool result whose media
    /// lost some ends with `note(how many)`.
    fn without(&self, drop: impl Fn(&Part) -> bool, note: impl Fn(usize) -> String) -> Self {
        let mut parts = Vec::with_capacity(self.parts.len());
        for (i, p) in self.parts.iter().enumerate() {
            match p {
                p if drop(p) => {}
                Part::ToolResult {
                    call_id,
                    output,
                    is_error,
                } => {
                    let n = self.parts[i + 1..]
                        .iter()
                        .take_while(|p| p.is_media())
                        .filter(|p| drop(p))
                        .count();
                    let output = if n == 0 {
                        output.clone()
                    } else {
                        format!("{output}\n{}", note(n))
                    };
                    parts.push(Part::ToolResult {
                        call_id: call_id.clone(),
                        output,
                        is_error: *is_error,
                    });
                }
                other => parts.push(other.clone()),
            }
        }
        Message {
            role: self.role,
            parts,
        }
    }
}

impl Part {
    /// An image or a sound clip.
    pub fn is_media(&self) -> bool {
        matches!(self, Part::Image(_) | Part::Audio(_))
    }
}

/// What the agent asks the model.
#[derive(Debug, Clone, Default)]
pub struct ModelRequest {
    /// The conversation, instructions first (shared with the session: a request costs
    /// pointers, not a deep copy).
    pub messages: Vec<Arc<Message>>,
    /// Tools on offer.
    pub tools: Vec<ToolSpec>,
    /// The tools are listed (so the request shares its prefix with the session's
    /// other requests, for the endpoint's prompt cache) but must not be called: a
    /// compaction's summary request.
    pub no_tool_calls: bool,
    /// A key that routes a session's requests to the same prompt cache (the session
    /// id), sent as `prompt_cache_key` to providers configured for it.
    pub cache_key: Option<String>,
}

impl ProviderItem {
    /// The item as the log records it.
    pub fn record(&self) -> ProviderItemRecord {
        ProviderItemRecord {
            kind: self.kind.as_str().to_string(),
            item: self.item.clone(),
        }
    }

    /// The item a log record holds; `None` for a kind this daemon does not know.
    pub fn from_record(record: &ProviderItemRecord) -> Option<Self> {
        Some(ProviderItem {
            kind: ProviderKind::from_name(&record.kind)?,
            item: record.item.clone(),
        })
    }
}

impl ModelRequest {
    /// True when some message carries an image.
    pub fn has_images(&self) -> bool {
        self.messages.iter().any(|m| m.has_images())
    }
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// The text.
    pub text: String,
    /// Tool calls, in index order.
    pub tool_calls: Vec<ToolCallSpec>,
    /// Opaque items to replay in later requests (reasoning, thinking), in the order
    /// the provider sent them; recorded in the log with the message.
    pub provider_items: Vec<ProviderItem>,
    /// Token usage, when the server reports it.
    pub usage: Option<Usage>,
    /// Why the model stopped.
    pub finish_reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_images_keeps_every_other_part_in_order() {
        let png = Part::Image(Image {
            mime_type: "image/png".into(),
            data: "AAAA".into(),
        });
        let result = Part::ToolResult {
            call_id: "c".into(),
            output: "[image]".into(),
            is_error: false,
        };
        let m = Message {
            role: Role::Tool,
            parts: vec![result, png.clone(), png],
        };
        assert!(m.has_images());
        let stripped = m.without_images();
        assert_eq!(
            stripped.parts,
            vec![Part::ToolResult {
                call_id: "c".into(),
                output: "[image]\n[2 images not shown: this model is set to take no images \
                         (images = false in its provider's config)]"
                    .into(),
                is_error: false,
            }]
        );
        assert!(!stripped.has_images());
        let request = ModelRequest {
            messages: vec![Arc::new(Message::text(Role::User, "hi")), Arc::new(m)],
            tools: Vec::new(),
            no_tool_calls: false,
            cache_key: None,
        };
        assert!(request.has_images());
    }
}
