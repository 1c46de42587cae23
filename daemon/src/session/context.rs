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
            ..
        } => {
            // A chat `tool` message has no error flag: the model learns of a failure
            // (an MCP `isError`, a builtin's error, a denial) only from the text.
            let content = if *is_error {
                format!("error: {output}")
            } else {
                output.clone()
            };
            messages.push(Arc::new(
                json!({"role": "tool", "tool_call_id": call_id, "content": content}),
            ))
        }
        _ => {}
    }
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
    use tether_shared::event::ToolCallSpec;

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
                },
            );
        }
        assert_eq!(m[0]["content"], "error: no such file");
        assert_eq!(m[1]["content"], "fine");
    }
}
