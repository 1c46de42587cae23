//! Tests of the Messages API provider: the request body (system, tool results grouped,
//! images, thinking sent back, cache breakpoints) and the stream reader.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_shared::event::{ToolCallSpec, ToolImage};
use tether_shared::{Delivery, EventKind};

use super::reply::MessageAccumulator;
use super::request::{MAX_BREAKPOINTS, Options, body};
use super::*;
use crate::model::types::{Message, ModelRequest, ProviderItem, Role};
use crate::session::context::{apply, request_messages};
use crate::tools::ToolSpec;

const OPTIONS: Options<'static> = Options {
    model: "claude-sonnet-4-5",
    max_tokens: 1000,
    thinking_budget: None,
};

fn thinking() -> Value {
    json!({"type": "thinking", "thinking": "Let me look.", "signature": "sig-abc"})
}

fn assistant(text: &str, calls: Vec<ToolCallSpec>, items: Vec<Value>) -> EventKind {
    EventKind::AssistantMessage {
        text: text.into(),
        tool_calls: calls,
        usage: None,
        partial: false,
        finish_reason: None,
        provider_items: items
            .into_iter()
            .map(|item| {
                ProviderItem {
                    kind: crate::config::ProviderKind::Anthropic,
                    item,
                }
                .record()
            })
            .collect(),
    }
}

fn call(id: &str, command: &str) -> ToolCallSpec {
    ToolCallSpec {
        call_id: id.into(),
        tool: "shell".into(),
        arguments: json!({"command": command}),
    }
}

fn result(id: &str, output: &str, is_error: bool, images: Vec<ToolImage>) -> EventKind {
    EventKind::ToolResult {
        call_id: id.into(),
        tool: "shell".into(),
        output: output.into(),
        is_error,
        images,
    }
}

fn user(text: &str) -> EventKind {
    EventKind::UserMessage {
        text: text.into(),
        delivery: Delivery::Queue,
    }
}

fn request(events: &[EventKind], system: Option<&str>, tools: usize) -> ModelRequest {
    let mut conv = Vec::new();
    for k in events {
        apply(&mut conv, k);
    }
    ModelRequest {
        messages: request_messages(system, &conv),
        tools: (0..tools)
            .map(|i| ToolSpec {
                name: format!("tool{i}"),
                description: "d".into(),
                parameters: json!({"type": "object"}),
            })
            .collect(),
        no_tool_calls: false,
        cache_key: None,
    }
}

/// Paths of the blocks marked `cache_control`, e.g. `messages[2][0]`, `system[0]`.
fn marks(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in body["tools"].as_array().into_iter().flatten().enumerate() {
        if t.get("cache_control").is_some() {
            out.push(format!("tools[{i}]"));
        }
    }
    for (i, s) in body["system"].as_array().into_iter().flatten().enumerate() {
        if s.get("cache_control").is_some() {
            out.push(format!("system[{i}]"));
        }
    }
    for (i, m) in body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (j, b) in m["content"].as_array().into_iter().flatten().enumerate() {
            if b.get("cache_control").is_some() {
                out.push(format!("messages[{i}][{j}]"));
            }
        }
    }
    out
}

#[test]
fn a_parallel_step_goes_back_as_one_user_message_with_images_inside_results() {
    let png = ToolImage {
        mime_type: "image/png".into(),
        data: "iVBORw0K".into(),
    };
    let events = [
        user("look at both"),
        assistant(
            "Checking.",
            vec![call("toolu_1", "ls"), call("toolu_2", "shot")],
            vec![thinking()],
        ),
        result("toolu_1", "a b", false, vec![]),
        result("toolu_2", "[image]", true, vec![png]),
        user("and hurry"),
    ];
    let b = body(&request(&events, Some("be brief"), 2), &OPTIONS);
    assert_eq!(b["model"], "claude-sonnet-4-5");
    assert_eq!(b["max_tokens"], 1000);
    assert_eq!(b["stream"], true);
    assert_eq!(b["system"][0]["text"], "be brief");
    let m = b["messages"].as_array().unwrap();
    assert_eq!(m.len(), 3, "{m:#?}");
    assert_eq!(m[0]["role"], "user");
    let a = m[1]["content"].as_array().unwrap();
    assert_eq!(m[1]["role"], "assistant");
    assert_eq!(
        a[0],
        thinking(),
        "thinking first, verbatim with its signature"
    );
    assert_eq!(a[1], json!({"type": "text", "text": "Checking."}));
    assert_eq!(
        a[2],
        json!({"type": "tool_use", "id": "toolu_1", "name": "shell", "input": {"command": "ls"}})
    );
    assert_eq!(a[3]["id"], "toolu_2");
    // Both results, then the steer, in one user turn.
    assert_eq!(m[2]["role"], "user");
    let u = m[2]["content"].as_array().unwrap();
    assert_eq!(u.len(), 3, "{u:#?}");
    assert_eq!(u[0]["type"], "tool_result");
    assert_eq!(u[0]["tool_use_id"], "toolu_1");
    assert_eq!(u[0]["content"], "a b");
    assert!(u[0].get("is_error").is_none());
    assert_eq!(u[1]["tool_use_id"], "toolu_2");
    assert_eq!(u[1]["is_error"], true);
    assert_eq!(
        u[1]["content"],
        json!([
            {"type": "text", "text": "[image]"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
        ])
    );
    assert_eq!(u[2]["text"], "and hurry");
    assert!(b.get("tool_choice").is_none());
    assert!(b.get("thinking").is_none());
}

#[test]
fn breakpoints_mark_the_end_the_previous_end_the_system_and_the_tools() {
    let events = [
        user("one"),
        assistant("", vec![call("t1", "ls")], vec![]),
        result("t1", "out", false, vec![]),
        assistant("two", vec![], vec![]),
        user("three"),
    ];
    let b = body(&request(&events, Some("sys"), 3), &OPTIONS);
    assert_eq!(
        marks(&b),
        ["tools[2]", "system[0]", "messages[2][0]", "messages[4][0]"]
    );
    assert!(marks(&b).len() <= MAX_BREAKPOINTS);
    assert_eq!(
        b["messages"][4]["content"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );

    // The next request marks this one's end again: the cache is read where it was
    // written, and the earlier messages are sent byte for byte as before.
    let mut next = events.to_vec();
    next.push(assistant("four", vec![], vec![]));
    next.push(user("five"));
    let b2 = body(&request(&next, Some("sys"), 3), &OPTIONS);
    assert_eq!(
        marks(&b2),
        ["tools[2]", "system[0]", "messages[4][0]", "messages[6][0]"]
    );
    assert_eq!(b["messages"][4], b2["messages"][4]);
    assert_eq!(b["tools"], b2["tools"]);
    assert_eq!(b["system"], b2["system"]);

    // A first message: one mark on it, then system and tools.
    let b = body(&request(&[user("hi")], None, 1), &OPTIONS);
    assert_eq!(marks(&b), ["tools[0]", "messages[0][0]"]);
    assert!(b.get("system").is_none());
}

#[test]
fn thinking_blocks_are_never_marked_and_thinking_alone_is_left_out() {
    let events = [
        user("q"),
        assistant("", vec![], vec![thinking()]),
        user("again"),
    ];
    let b = body(&request(&events, None, 0), &OPTIONS);
    let m = b["messages"].as_array().unwrap();
    assert_eq!(
        m.len(),
        1,
        "an assistant turn of thinking only is dropped: {m:#?}"
    );
    assert_eq!(m[0]["content"].as_array().unwrap().len(), 2);
    assert_eq!(marks(&b), ["messages[0][1]"]);
}

#[test]
fn no_tool_calls_and_thinking_budget_reach_the_body() {
    let mut r = request(&[user("summarise")], None, 1);
    r.no_tool_calls = true;
    let b = body(
        &r,
        &Options {
            thinking_budget: Some(2048),
            ..OPTIONS
        },
    );
    assert_eq!(b["tool_choice"], json!({"type": "none"}));
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    // Arguments that are not an object are wrapped: `input` must be one.
    let events = [
        user("x"),
        assistant(
            "",
            vec![ToolCallSpec {
                call_id: "t".into(),
                tool: "shell".into(),
                arguments: json!("{not json"),
            }],
            vec![],
        ),
    ];
    let b = body(&request(&events, None, 0), &OPTIONS);
    assert_eq!(
        b["messages"][1]["content"][0]["input"],
        json!({"arguments": "{not json"})
    );
    // A system message after the start stays where it is, as user text.
    let r = ModelRequest {
        messages: vec![
            Arc::new(Message::text(Role::System, "sys")),
            Arc::new(Message::text(Role::User, "a")),
            Arc::new(Message::text(Role::System, "note")),
        ],
        tools: Vec::new(),
        no_tool_calls: false,
        cache_key: None,
    };
    let b = body(&r, &OPTIONS);
    assert_eq!(b["system"][0]["text"], "sys");
    assert_eq!(b["messages"][0]["content"][1]["text"], "note");
}

#[test]
fn a_result_whose_call_is_not_in_view_is_sent_as_text() {
    let events = [
        result("toolu_gone", "old output", false, vec![]),
        user("next"),
        assistant("", vec![call("toolu_1", "ls")], vec![]),
        result("toolu_1", "a", false, vec![]),
    ];
    let b = body(&request(&events, None, 0), &OPTIONS);
    let m = b["messages"].as_array().unwrap();
    assert_eq!(m[0]["content"][0]["type"], "text");
    assert_eq!(
        m[0]["content"][0]["text"],
        "[result of tool call toolu_gone]\nold output"
    );
    assert_eq!(m[0]["content"][1]["text"], "next");
    assert_eq!(m[2]["content"][0]["type"], "tool_result");
}

/// Feeds `events` (`event:` name, data) and finishes.
fn read(events: &[(&str, Value)]) -> (Result<ModelReply, ModelError>, String) {
    let mut acc = MessageAccumulator::default();
    let mut text = String::new();
    for (name, data) in events {
        match acc.push(Some(name), data) {
            Ok(Some(d)) => text.push_str(&d),
            Ok(None) => {}
            Err(e) => return (Err(e), text),
        }
    }
    (acc.finish(), text)
}

fn start(usage: Value) -> (&'static str, Value) {
    (
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": [], "usage": usage}}),
    )
}

fn delta(index: u64, delta: Value) -> (&'static str, Value) {
    (
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

fn block_start(index: u64, block: Value) -> (&'static str, Value) {
    (
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": block}),
    )
}

fn stop(index: u64) -> (&'static str, Value) {
    (
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    )
}

#[test]
fn a_stream_of_thinking_text_and_split_tool_input_reassembles() {
    let (reply, streamed) = read(&[
        start(
            json!({"input_tokens": 10, "cache_read_input_tokens": 900, "cache_creation_input_tokens": 90, "output_tokens": 1}),
        ),
        ("ping", json!({"type": "ping"})),
        block_start(0, json!({"type": "thinking", "thinking": ""})),
        delta(0, json!({"type": "thinking_delta", "thinking": "Let me "})),
        delta(0, json!({"type": "thinking_delta", "thinking": "look."})),
        delta(
            0,
            json!({"type": "signature_delta", "signature": "sig-abc"}),
        ),
        stop(0),
        block_start(1, json!({"type": "text", "text": ""})),
        delta(1, json!({"type": "text_delta", "text": "Look"})),
        delta(1, json!({"type": "text_delta", "text": "ing."})),
        stop(1),
        block_start(
            2,
            json!({"type": "tool_use", "id": "toolu_1", "name": "shell", "input": {}}),
        ),
        delta(2, json!({"type": "input_json_delta", "partial_json": ""})),
        delta(
            2,
            json!({"type": "input_json_delta", "partial_json": "{\"comm"}),
        ),
        delta(
            2,
            json!({"type": "input_json_delta", "partial_json": "and\": \"l"}),
        ),
        delta(
            2,
            json!({"type": "input_json_delta", "partial_json": "s\"}"}),
        ),
        stop(2),
        block_start(
            3,
            json!({"type": "tool_use", "id": "toolu_2", "name": "list_dir", "input": {}}),
        ),
        stop(3),
        block_start(4, json!({"type": "redacted_thinking", "data": "opaque"})),
        stop(4),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 42}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    let reply = reply.unwrap();
    assert_eq!(streamed, "Looking.");
    assert_eq!(reply.text, "Looking.");
    assert_eq!(reply.finish_reason, "tool_calls");
    assert_eq!(reply.tool_calls.len(), 2);
    assert_eq!(reply.tool_calls[0].call_id, "toolu_1");
    assert_eq!(reply.tool_calls[0].arguments, json!({"command": "ls"}));
    assert_eq!(reply.tool_calls[1].tool, "list_dir");
    assert_eq!(reply.tool_calls[1].arguments, json!({}));
    let items: Vec<&Value> = reply.provider_items.iter().map(|i| &i.item).collect();
    assert_eq!(
        items,
        [
            &json!({"type": "thinking", "thinking": "Let me look.", "signature": "sig-abc"}),
            &json!({"type": "redacted_thinking", "data": "opaque"}),
        ]
    );
    let u = reply.usage.unwrap();
    assert_eq!(u.prompt_tokens, 1000, "input + cache read + cache write");
    assert_eq!(u.cached_tokens, 900);
    assert_eq!(u.cache_write_tokens, 90);
    assert_eq!(u.completion_tokens, 42);
}

#[test]
fn stream_ends_and_errors_are_typed() {
    let (r, _) = read(&[
        start(json!({"input_tokens": 1})),
        block_start(0, json!({"type": "text", "text": ""})),
        delta(0, json!({"type": "text_delta", "text": "cut"})),
    ]);
    let e = r.unwrap_err();
    assert!(e.retryable && e.message.contains("no message_stop"), "{e}");

    let (r, streamed) = read(&[
        start(json!({"input_tokens": 1})),
        block_start(0, json!({"type": "text", "text": ""})),
        delta(0, json!({"type": "text_delta", "text": "par"})),
        (
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
    ]);
    assert_eq!(streamed, "par");
    let e = r.unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::Server);
    assert!(e.retryable);
    assert!(e.message.contains("overloaded_error: Overloaded"), "{e}");

    let e = reply::stream_error(
        &json!({"type": "invalid_request_error", "message": "prompt is too long: 201000 tokens > 200000 maximum"}),
    );
    assert_eq!(e.kind, ModelErrorKind::ContextLength);
    assert!(!e.retryable);
    assert_eq!(e.window, Some(200_000), "the window the message names");
    let e = reply::stream_error(&json!({"type": "invalid_request_error", "message": "bad"}));
    assert_eq!(e.kind, ModelErrorKind::BadRequest);
    assert!(!e.retryable);
    let e = reply::stream_error(&json!({"type": "rate_limit_error", "message": "slow"}));
    assert_eq!(e.kind, ModelErrorKind::RateLimited);
    assert!(e.retryable);

    let (r, _) = read(&[delta(5, json!({"type": "text_delta", "text": "x"}))]);
    assert!(r.unwrap_err().message.contains("never started"));

    let (r, _) = read(&[
        start(json!({"input_tokens": 3})),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 7}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    let r = r.unwrap();
    assert_eq!(r.finish_reason, "length");
    assert_eq!(r.usage.unwrap().prompt_tokens, 3);
}

#[test]
fn max_tokens_defaults_follow_the_model_family() {
    assert_eq!(default_max_tokens("claude-sonnet-4-5"), 32_000);
    assert_eq!(default_max_tokens("claude-opus-4-1-20250805"), 32_000);
    assert_eq!(default_max_tokens("claude-3-7-sonnet-latest"), 32_000);
    assert_eq!(default_max_tokens("claude-3-5-haiku-latest"), 8_192);
    assert_eq!(default_max_tokens("claude-3-opus-20240229"), 4_096);
    assert_eq!(default_max_tokens("some-proxy-model"), 8_192);
}

#[test]
fn tool_audio_never_reaches_anthropic_and_the_result_says_so() {
    let media = |mime: &str, data: &str| ToolImage {
        mime_type: mime.into(),
        data: data.into(),
    };
    let events = [
        user("listen"),
        assistant("", vec![call("toolu_1", "rec")], vec![]),
        result(
            "toolu_1",
            "a clip",
            false,
            vec![media("audio/wav", "UklGR"), media("image/png", "iVBOR")],
        ),
    ];
    let mut r = request(&events, None, 0);
    // What the session does for an Anthropic provider, whatever its config.
    crate::session::context::drop_audio(&mut r.messages, true);
    let b = body(&r, &OPTIONS);
    let m = b["messages"].as_array().unwrap();
    let block = &m[2]["content"][0];
    assert_eq!(block["type"], "tool_result", "{block}");
    assert_eq!(
        block["content"],
        json!([
            {"type": "text", "text": "a clip\n[1 audio clip not shown: this model is set to take no audio (audio = true in its provider's config sends wav and mp3)]"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
        ])
    );
    assert!(!b.to_string().contains("UklGR"), "no audio data: {b}");
}
