//! The neutral conversation written as a Messages API request body, with the prompt
//! cache's breakpoints.
//!
//! The layout the Messages API needs:
//!
//! - the leading system messages are the top-level `system` (a list of text blocks);
//!   a system message later in the conversation is sent as user text, where it stands,
//!   so the prefix before it stays the same;
//! - an assistant message is its provider items of kind `anthropic` (thinking and
//!   redacted-thinking blocks, verbatim, first), its text, then one `tool_use` block
//!   per call (`input` is the arguments object; arguments that are not an object are
//!   wrapped as `{"arguments": …}`, since `input` must be one);
//! - the results of one step (a run of tool messages) are `tool_result` blocks in ONE
//!   user message, each with `is_error` when the call failed and its images as `image`
//!   blocks (base64 source) inside its `content`;
//! - messages of the same role that end up adjacent (tool results, then a steer) are
//!   merged: the API wants user and assistant turns to alternate;
//! - empty text is left out: the API refuses empty text blocks;
//! - a `tool_result` whose call is not in the request (a context that starts after
//!   it) becomes text: the API refuses a result it cannot match.
//!
//! Prompt caching: the API caches the prefix of a request (tools, then system, then
//! messages) up to a block marked `cache_control: {"type": "ephemeral"}`, at most 4
//! marks. tether marks, in this order of priority:
//!
//! 1. the end of the conversation so far (the last block of the last message), so the
//!    next request of the session reads everything this one sent;
//! 2. the end of the previous request's conversation (the last block of the user turn
//!    before the last one): the next request reads the cache at the exact place this
//!    one wrote it, whatever the step added since. The API looks for an earlier
//!    prefix only about 20 blocks back from a mark, and a step with many parallel
//!    tool results adds more than that;
//! 3. the system prompt and 4. the last tool: they change least, so a request whose
//!    conversation was rewritten (a compaction) still reads the tools and system
//!    prompt from the cache.
//!
//! The body is otherwise byte-stable across a session's requests: the same tools in the
//! same order, earlier messages written identically (object keys sorted), so the cache
//! always has the previous request as a prefix.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::config::ProviderKind;
use crate::model::types::{Message, ModelRequest, Part, Role};
use crate::tools::ToolSpec;

/// The most `cache_control` marks the API accepts in one request.
pub(super) const MAX_BREAKPOINTS: usize = 4;

/// What a request needs besides the conversation.
pub(super) struct Options<'a> {
    /// The model name at the provider.
    pub(super) model: &'a str,
    /// `max_tokens`.
    pub(super) max_tokens: u64,
    /// `thinking.budget_tokens`, when extended thinking is on.
    pub(super) thinking_budget: Option<u64>,
}

/// The `/v1/messages` request body for `request`.
pub(super) fn body(request: &ModelRequest, options: &Options<'_>) -> Value {
    let (system, rest) = split_system(&request.messages);
    let mut messages = messages(rest);
    let mut system: Vec<Value> = system.iter().flat_map(|m| text_blocks(&m.parts)).collect();
    let mut tools: Vec<Value> = request.tools.iter().map(tool).collect();

    let mut budget = MAX_BREAKPOINTS;
    let user_turns: Vec<usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m["role"] == "user")
        .map(|(i, _)| i)
        .collect();
    let mut marks = Vec::new();
    if let Some(last) = messages.len().checked_sub(1) {
        marks.push(last);
    }
    if user_turns.len() >= 2 {
        let before_last = user_turns[user_turns.len() - 2];
        if !marks.contains(&before_last) {
            marks.push(before_last);
        }
    }
    for i in marks {
        if budget > 0 && mark_message(&mut messages[i]) {
            budget -= 1;
        }
    }
    if budget > 0
        && let Some(last) = system.last_mut()
    {
        mark(last);
        budget -= 1;
    }
    if budget > 0
        && let Some(last) = tools.last_mut()
    {
        mark(last);
    }

    let mut body = Map::new();
    body.insert("model".into(), json!(options.model));
    body.insert("max_tokens".into(), json!(options.max_tokens));
    body.insert("stream".into(), json!(true));
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    body.insert("messages".into(), Value::Array(messages));
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        if request.no_tool_calls {
            body.insert("tool_choice".into(), json!({"type": "none"}));
        }
    }
    if let Some(budget) = options.thinking_budget {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    Value::Object(body)
}

/// The leading system messages, and the rest.
fn split_system(messages: &[Arc<Message>]) -> (&[Arc<Message>], &[Arc<Message>]) {
    let n = messages
        .iter()
        .take_while(|m| m.role == Role::System)
        .count();
    messages.split_at(n)
}

/// A tool as the API lists it.
fn tool(spec: &ToolSpec) -> Value {
    json!({
        "name": spec.name,
        "description": spec.description,
        "input_schema": spec.parameters,
    })
}

/// Marks a block as a cache breakpoint.
fn mark(block: &mut Value) {
    block["cache_control"] = json!({"type": "ephemeral"});
}

/// Marks the last block of a message that may carry a mark (thinking blocks may not);
/// false when it has none.
fn mark_message(message: &mut Value) -> bool {
    let Some(blocks) = message["content"].as_array_mut() else {
        return false;
    };
    match blocks.iter_mut().rev().find(|b| !is_thinking(b)) {
        Some(block) => {
            mark(block);
            true
        }
        None => false,
    }
}

fn is_thinking(block: &Value) -> bool {
    matches!(
        block["type"].as_str(),
        Some("thinking" | "redacted_thinking")
    )
}

/// The text parts as text blocks, empty ones left out.
fn text_blocks(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) if !t.is_empty() => Some(json!({"type": "text", "text": t})),
            _ => None,
        })
        .collect()
}

/// An image block with a base64 source.
fn image_block(image: &crate::model::Image) -> Value {
    json!({
        "type": "image",
        "source": {"type": "base64", "media_type": image.mime_type, "data": image.data},
    })
}

/// The conversation (system prompt taken out) as `messages`, adjacent turns of one
/// role merged.
pub(super) fn messages(conversation: &[Arc<Message>]) -> Vec<Value> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut calls: Vec<&str> = Vec::new();
    for m in conversation {
        let (role, mut blocks) = match m.role {
            Role::System | Role::User => ("user", user_blocks(&m.parts)),
            Role::Assistant => ("assistant", assistant_blocks(&m.parts)),
            Role::Tool => ("user", tool_blocks(&m.parts)),
        };
        if blocks.is_empty() {
            continue;
        }
        if role == "assistant" {
            calls.extend(m.parts.iter().filter_map(|p| match p {
                Part::ToolCall { call_id, .. } => Some(call_id.as_str()),
                _ => None,
            }));
        } else {
            for b in blocks.iter_mut() {
                orphan_as_text(b, &calls);
            }
        }
        match out.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => out.push((role, blocks)),
        }
    }
    out.into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect()
}

/// A `tool_result` whose `tool_use` is not in the request (the context starts after
/// it) becomes text: the API refuses a result it cannot match to a call.
fn orphan_as_text(block: &mut Value, calls: &[&str]) {
    if block["type"] != "tool_result" {
        return;
    }
    let id = block["tool_use_id"].as_str().unwrap_or("");
    if calls.contains(&id) {
        return;
    }
    let mut text = format!("[result of tool call {id}]");
    match &block["content"] {
        Value::String(s) => {
            text.push('\n');
            text.push_str(s);
        }
        Value::Array(content) => {
            for t in content.iter().filter_map(|b| b["text"].as_str()) {
                text.push('\n');
                text.push_str(t);
            }
        }
        _ => {}
    }
    *block = json!({"type": "text", "text": text});
}

fn user_blocks(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) if !t.is_empty() => Some(json!({"type": "text", "text": t})),
            Part::Image(image) => Some(image_block(image)),
            _ => None,
        })
        .collect()
}

fn assistant_blocks(parts: &[Part]) -> Vec<Value> {
    let mut blocks = Vec::with_capacity(parts.len());
    // Thinking first: the API wants an assistant turn's thinking before what it led to.
    for p in parts {
        if let Part::Provider(item) = p
            && item.kind == ProviderKind::Anthropic
        {
            blocks.push(item.item.clone());
        }
    }
    let has_content = parts
        .iter()
        .any(|p| matches!(p, Part::ToolCall { .. }) || matches!(p, Part::Text(t) if !t.is_empty()));
    if !has_content {
        // Thinking alone is no turn the API accepts.
        return Vec::new();
    }
    for p in parts {
        match p {
            Part::Text(t) if !t.is_empty() => blocks.push(json!({"type": "text", "text": t})),
            Part::ToolCall {
                call_id,
                tool,
                arguments,
            } => {
                let input = match arguments {
                    Value::Object(_) => arguments.clone(),
                    other => json!({"arguments": other}),
                };
                blocks
                    .push(json!({"type": "tool_use", "id": call_id, "name": tool, "input": input}));
            }
            _ => {}
        }
    }
    blocks
}

/// A tool message's results as `tool_result` blocks, each with the images after it.
fn tool_blocks(parts: &[Part]) -> Vec<Value> {
    let mut blocks = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let Part::ToolResult {
            call_id,
            output,
            is_error,
        } = p
        else {
            continue;
        };
        let images: Vec<Value> = parts[i + 1..]
            .iter()
            .map_while(|p| match p {
                Part::Image(image) => Some(image_block(image)),
                _ => None,
            })
            .collect();
        let mut block = json!({"type": "tool_result", "tool_use_id": call_id});
        if images.is_empty() {
            if !output.is_empty() {
                block["content"] = json!(output);
            }
        } else {
            let mut content = Vec::with_capacity(images.len() + 1);
            if !output.is_empty() {
                content.push(json!({"type": "text", "text": output}));
            }
            content.extend(images);
            block["content"] = Value::Array(content);
        }
        if *is_error {
            block["is_error"] = json!(true);
        }
        blocks.push(block);
    }
    blocks
}
