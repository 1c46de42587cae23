//! The model's view of a session: the provider-neutral conversation rebuilt from the
//! event log.
//!
//! The log is the source of truth; this is a pure projection of it, applied from
//! the latest compaction on when a session first calls the model and then event by
//! event. How a provider lays the conversation out on its wire (where tool images
//! go, how a failed result is marked) is the provider's business, not this folder's.
//!
//! - this file: what one event adds to the conversation ([`apply`]), the request's
//!   messages ([`request_messages`]);
//! - `view`: the [`view::Context`] projection, with compactions replayed;
//! - `compact`: planning a compaction and its summary requests;
//! - `tokens`: estimates, corrected by the endpoint's reported usage;
//! - `window`: how big a model's window is.

pub mod compact;
#[cfg(test)]
mod compaction_tests;
pub mod tokens;
pub mod view;
pub mod window;

use std::sync::Arc;

use tether_shared::EventKind;

use crate::model::{Audio, Image, Message, Part, ProviderItem, Role};

/// Appends what `kind` adds to the conversation, if anything.
pub fn apply(messages: &mut Vec<Arc<Message>>, kind: &EventKind) {
    match kind {
        EventKind::UserMessage { text, .. } => {
            messages.push(Arc::new(Message::text(Role::User, text.clone())))
        }
        EventKind::AssistantMessage {
            text,
            tool_calls,
            provider_items,
            ..
        } => {
            if text.is_empty() && tool_calls.is_empty() && provider_items.is_empty() {
                return;
            }
            let mut parts = Vec::with_capacity(provider_items.len() + tool_calls.len() + 1);
            // Reasoning precedes the answer it led to.
            parts.extend(
                provider_items
                    .iter()
                    .filter_map(ProviderItem::from_record)
                    .map(Part::Provider),
            );
            if !text.is_empty() {
                parts.push(Part::Text(text.clone()));
            }
            parts.extend(tool_calls.iter().map(|c| Part::ToolCall {
                call_id: c.call_id.clone(),
                tool: c.tool.clone(),
                arguments: c.arguments.clone(),
            }));
            messages.push(Arc::new(Message {
                role: Role::Assistant,
                parts,
            }));
        }
        EventKind::ToolResult {
            call_id,
            output,
            is_error,
            images,
            ..
        } => {
            let mut parts = Vec::with_capacity(images.len() + 1);
            parts.push(Part::ToolResult {
                call_id: call_id.clone(),
                output: output.clone(),
                is_error: *is_error,
            });
            // `images` holds the result's media: audio too, by its MIME type.
            parts.extend(images.iter().map(|i| {
                if i.mime_type.starts_with("audio/") {
                    Part::Audio(Audio {
                        mime_type: i.mime_type.clone(),
                        data: i.data.clone(),
                    })
                } else {
                    Part::Image(Image {
                        mime_type: i.mime_type.clone(),
                        data: i.data.clone(),
                    })
                }
            }));
            messages.push(Arc::new(Message {
                role: Role::Tool,
                parts,
            }));
        }
        _ => {}
    }
}

/// Leaves out the media `provider`'s `model` does not take (see [`drop_images`],
/// [`drop_audio`], and models known to take no images): for every request, the
/// session's and a compaction's.
pub fn fit_media(messages: &mut [Arc<Message>], provider: &crate::config::Provider, model: &str) {
    if !provider.images {
        drop_images(messages);
    } else if crate::model::known_text_only(model) {
        let why = format!("{model} takes no images");
        for m in messages.iter_mut().filter(|m| m.has_images()) {
            *m = Arc::new(m.without_images_because(&why));
        }
    }
    let no_audio = !provider.audio || provider.kind == crate::config::ProviderKind::Anthropic;
    drop_audio(messages, no_audio);
}

/// Leaves out the audio a provider cannot take: all of it for one without
/// `audio = true` (and for Anthropic, whose API has no audio input), else the
/// clips that are neither wav nor mp3. Messages without audio stay shared.
pub fn drop_audio(messages: &mut [Arc<Message>], all: bool) {
    for m in messages.iter_mut().filter(|m| m.has_audio()) {
        *m = Arc::new(m.without_audio(all));
    }
}

/// Leaves out the images, for a provider configured with `images = false`: its models
/// see only the placeholders in the tool results. Messages without images stay shared.
pub fn drop_images(messages: &mut [Arc<Message>]) {
    for m in messages.iter_mut().filter(|m| m.has_images()) {
        *m = Arc::new(m.without_images());
    }
}

/// The full request messages: the system prompt, then the conversation. Messages
/// are shared, not copied: a long session's request costs pointers, not a deep clone.
pub fn request_messages(
    instructions: Option<&str>,
    conversation: &[Arc<Message>],
) -> Vec<Arc<Message>> {
    let mut out = Vec::with_capacity(conversation.len() + 1);
    if let Some(sys) = instructions.filter(|s| !s.trim().is_empty()) {
        out.push(Arc::new(Message::text(Role::System, sys)));
    }
    out.extend_from_slice(conversation);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tether_shared::Delivery;
    use tether_shared::event::{ToolCallSpec, ToolImage};

    use super::*;

    #[test]
    fn events_become_neutral_messages() {
        let mut m = Vec::new();
        let png = ToolImage {
            mime_type: "image/png".into(),
            data: "AAAA".into(),
        };
        for k in [
            EventKind::UserMessage {
                text: "hi".into(),
                delivery: Delivery::Queue,
            },
            EventKind::TurnStarted,
            EventKind::AssistantMessage {
                text: String::new(),
                tool_calls: vec![],
                provider_items: Vec::new(),
                usage: None,
                partial: true,
                finish_reason: None,
            },
            EventKind::AssistantMessage {
                text: "looking".into(),
                tool_calls: vec![ToolCallSpec {
                    call_id: "c".into(),
                    tool: "shell".into(),
                    arguments: json!({"command": "ls"}),
                }],
                provider_items: Vec::new(),
                usage: None,
                partial: false,
                finish_reason: None,
            },
            EventKind::ToolResult {
                call_id: "c".into(),
                tool: "shell".into(),
                output: "no".into(),
                is_error: true,
                images: vec![png],
            },
        ] {
            apply(&mut m, &k);
        }
        let roles: Vec<Role> = m.iter().map(|x| x.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool]);
        assert_eq!(m[0].parts, [Part::Text("hi".into())]);
        assert_eq!(
            m[1].parts,
            [
                Part::Text("looking".into()),
                Part::ToolCall {
                    call_id: "c".into(),
                    tool: "shell".into(),
                    arguments: json!({"command": "ls"}),
                }
            ]
        );
        assert_eq!(
            m[2].parts[0],
            Part::ToolResult {
                call_id: "c".into(),
                output: "no".into(),
                is_error: true,
            }
        );
        assert!(m[2].has_images());

        let mut request = request_messages(Some("be brief"), &m);
        assert_eq!(*request[0], Message::text(Role::System, "be brief"));
        assert!(Arc::ptr_eq(&request[1], &m[0]), "shared, not copied");
        drop_images(&mut request);
        assert!(!request[3].has_images());
        assert_eq!(request[3].parts.len(), 1);
        assert!(m[2].has_images(), "the conversation keeps its images");
        assert!(Arc::ptr_eq(&request[2], &m[1]));
        assert_eq!(request_messages(Some("  "), &m).len(), 3);
    }

    #[test]
    fn provider_items_come_back_first_and_unknown_kinds_are_left_out() {
        use tether_shared::event::ProviderItemRecord;
        let reasoning = json!({"type": "reasoning", "encrypted_content": "opaque"});
        let kind = EventKind::AssistantMessage {
            text: "answer".into(),
            tool_calls: vec![],
            provider_items: vec![
                ProviderItemRecord {
                    kind: "openai".into(),
                    item: reasoning.clone(),
                },
                ProviderItemRecord {
                    kind: "no-such-kind".into(),
                    item: json!({}),
                },
            ],
            usage: None,
            partial: false,
            finish_reason: None,
        };
        let mut m = Vec::new();
        apply(&mut m, &kind);
        assert_eq!(
            m[0].parts,
            [
                Part::Provider(ProviderItem {
                    kind: crate::config::ProviderKind::OpenAi,
                    item: reasoning,
                }),
                Part::Text("answer".into()),
            ]
        );
    }

    #[test]
    fn a_model_known_to_take_no_images_gets_the_note_without_config() {
        let mut m = Vec::new();
        apply(
            &mut m,
            &EventKind::ToolResult {
                call_id: "c".into(),
                tool: "ev__shot".into(),
                output: "[image: image/png, 4 bytes base64]".into(),
                is_error: false,
                images: vec![ToolImage {
                    mime_type: "image/png".into(),
                    data: "AAAA".into(),
                }],
            },
        );
        let openai = crate::config::Config::default().providers["openai"].clone();
        let mut sent = m.clone();
        fit_media(&mut sent, &openai, "gpt-4.1-mini");
        assert!(sent[0].has_images(), "a model that takes images keeps them");
        fit_media(&mut sent, &openai, "deepseek-chat");
        assert!(!sent[0].has_images());
        assert_eq!(
            sent[0].parts[0],
            Part::ToolResult {
                call_id: "c".into(),
                output: "[image: image/png, 4 bytes base64]\n[1 image not shown: deepseek-chat \
                         takes no images]"
                    .into(),
                is_error: false,
            }
        );
    }
}
