//! The model's view of a session: OpenAI-format messages rebuilt from the event log.
//!
//! The log is the source of truth; this is a pure projection of it, applied to the
//! whole log when a session first calls the model and then event by event.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_shared::EventKind;

/// Appends what `kind` adds to the conversation, if anything.
pub fn apply(messages: &mut Vec<Arc<Value>>, kind: &EventKind) {
    match kind {
        EventKind::UserMessage { text, .. } => {
            messages.push(Arc::new(json!({"role": "user", "content": text})))
        }
        EventKind::AssistantMessage {
            text, tool_calls, ..
        } => {
            if text.is_empty() && tool_calls.is_empty() {
                return;
            }
            let mut m = json!({"role": "assistant", "content": text});
            if !tool_calls.is_empty() {
                m["tool_calls"] = tool_calls
                    .iter()
                    .map(|c| {
                        let args = match &c.arguments {
                            Value::String(raw) => raw.clone(),
                            other => other.to_string(),
                        };
                        json!({"id": c.call_id, "type": "function",
                               "function": {"name": c.tool, "arguments": args}})
                    })
                    .collect();
            }
            messages.push(Arc::new(m));
        }
        EventKind::ToolResult {
            call_id,
            output,
            is_error,
            images,
            ..
        } => {
            // A chat `tool` message has no error flag: the model learns of a failure
            // (an MCP `isError`, a builtin's error, a denial) only from the text.
            let content = if *is_error {
                format!("error: {output}")
            } else {
                output.clone()
            };
            let tool =
                Arc::new(json!({"role": "tool", "tool_call_id": call_id, "content": content}));
            // A tool message cannot carry images, and the tool messages of one step must
            // follow their assistant message without a break: the images of a step ride
            // in one user message after the step's last tool message.
            let carrier = messages.last().is_some_and(|m| is_image_carrier(m));
            if carrier {
                let at = messages.len() - 1;
                messages.insert(at, tool);
            } else {
                messages.push(tool);
            }
            if images.is_empty() {
                return;
            }
            if !carrier {
                messages.push(Arc::new(json!({"role": "user", "content": []})));
            }
            if let Some(last) = messages.last_mut()
                && let Some(parts) = Arc::make_mut(last)["content"].as_array_mut()
            {
                let n = images.len();
                let s = if n == 1 { "" } else { "s" };
                parts.push(json!({"type": "text",
                    "text": format!("{n} image{s} returned by tool call {call_id}:")}));
                for image in images {
                    parts.push(json!({"type": "image_url", "image_url": {
                        "url": format!("data:{};base64,{}", image.mime_type, image.data)}}));
                }
            }
        }
        _ => {}
    }
}

/// True for the user message that carries a step's tool images: user messages written
/// from `user_message` events have string content, this one a list of parts.
fn is_image_carrier(m: &Value) -> bool {
    m["role"] == "user" && m["content"].is_array()
}

/// Leaves out the image carriers, for a provider configured with `images = false`: its
/// models see only the placeholders in the tool messages.
pub fn drop_images(messages: &mut Vec<Arc<Value>>) {
    messages.retain(|m| !is_image_carrier(m));
}

/// The full request messages: the system prompt, then the conversation. Messages
/// are shared, not copied: a long session's request costs pointers, not a deep clone.
pub fn request_messages(
    instructions: Option<&str>,
    conversation: &[Arc<Value>],
) -> Vec<Arc<Value>> {
    let mut out = Vec::with_capacity(conversation.len() + 1);
    if let Some(sys) = instructions.filter(|s| !s.trim().is_empty()) {
        out.push(Arc::new(json!({"role": "system", "content": sys})));
    }
    out.extend_from_slice(conversation);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_shared::Delivery;
    use tether_shared::event::{ToolCallSpec, ToolImage};

    #[test]
    fn builds_a_tool_round_trip() {
        let mut m = Vec::new();
        for k in [
            EventKind::UserMessage {
                text: "hi".into(),
                delivery: Delivery::Queue,
            },
            EventKind::TurnStarted,
            EventKind::AssistantMessage {
                text: String::new(),
                tool_calls: vec![ToolCallSpec {
                    call_id: "c".into(),
                    tool: "shell".into(),
                    arguments: json!({"command": "ls"}),
                }],
                usage: None,
                partial: false,
                finish_reason: None,
            },
            EventKind::ToolCall {
                call_id: "c".into(),
                tool: "shell".into(),
                arguments: json!({}),
            },
            EventKind::ToolResult {
                call_id: "c".into(),
                tool: "shell".into(),
                output: "a b".into(),
                is_error: false,
                images: Vec::new(),
            },
            EventKind::AssistantMessage {
                text: "done".into(),
                tool_calls: vec![],
                usage: None,
                partial: false,
                finish_reason: None,
            },
        ] {
            apply(&mut m, &k);
        }
        assert_eq!(m.len(), 4);
        assert_eq!(
            m[1]["tool_calls"][0]["function"]["arguments"],
            "{\"command\":\"ls\"}"
        );
        assert_eq!(m[2]["role"], "tool");
        let full = request_messages(Some("be brief"), &m);
        assert_eq!(full[0]["role"], "system");
        assert_eq!(full.len(), 5);
        assert_eq!(request_messages(None, &m).len(), 4);
    }

    #[test]
    fn images_of_a_step_follow_all_its_tool_messages_in_one_user_message() {
        let mut m = Vec::new();
        let result = |id: &str, images: Vec<ToolImage>| EventKind::ToolResult {
            call_id: id.into(),
            tool: "ev__get-tiny-image".into(),
            output: "[image: image/png, 4 bytes base64]".into(),
            is_error: false,
            images,
        };
        let png = ToolImage {
            mime_type: "image/png".into(),
            data: "AAAA".into(),
        };
        apply(&mut m, &result("a", vec![png.clone()]));
        apply(&mut m, &result("b", vec![]));
        apply(&mut m, &result("c", vec![png.clone(), png]));
        let roles: Vec<&str> = m.iter().map(|x| x["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["tool", "tool", "tool", "user"]);
        let ids: Vec<&str> = m[..3]
            .iter()
            .map(|x| x["tool_call_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let parts = m[3]["content"].as_array().unwrap();
        let urls: Vec<&str> = parts
            .iter()
            .filter_map(|p| p["image_url"]["url"].as_str())
            .collect();
        assert_eq!(urls, ["data:image/png;base64,AAAA"; 3]);
        assert_eq!(parts[0]["text"], "1 image returned by tool call a:");
        // The next user message starts a new message, not part of the carrier.
        apply(
            &mut m,
            &EventKind::UserMessage {
                text: "thanks".into(),
                delivery: Delivery::Queue,
            },
        );
        apply(&mut m, &result("d", vec![]));
        assert_eq!(m.last().unwrap()["role"], "tool");
        assert_eq!(m[4]["content"], "thanks");
    }

    #[test]
    fn an_error_result_reaches_the_model_marked_as_an_error() {
        let mut m = Vec::new();
        for (output, is_error) in [("no such file", true), ("fine", false)] {
            apply(
                &mut m,
                &EventKind::ToolResult {
                    call_id: "c".into(),
                    tool: "read_file".into(),
                    output: output.into(),
                    is_error,
                    images: Vec::new(),
                },
            );
        }
        assert_eq!(m[0]["content"], "error: no such file");
        assert_eq!(m[1]["content"], "fine");
    }
}
