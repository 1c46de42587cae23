//! The Responses wire format: the request a conversation is sent as, and the reply
//! assembled from a scripted event stream.

use serde_json::{Value, json};
use tether_shared::event::{ProviderItemRecord, ToolCallSpec};
use tether_shared::{Delivery, EventKind};
use tokio::sync::mpsc;

use super::reply::ResponsesAccumulator;
use super::request::ResponsesBody;
use crate::model::error::ModelErrorKind;
use crate::model::{ModelReply, ModelRequest};
use crate::session::context::{apply, request_messages};
use crate::tools::ToolSpec;

fn reasoning() -> Value {
    json!({"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA-opaque"})
}

fn conversation() -> Vec<EventKind> {
    vec![
        EventKind::UserMessage {
            text: "list files".into(),
            delivery: Delivery::Queue,
        },
        EventKind::AssistantMessage {
            text: "Looking.".into(),
            tool_calls: vec![ToolCallSpec {
                call_id: "call_1".into(),
                tool: "shell".into(),
                arguments: json!({"command": "ls"}),
            }],
            provider_items: vec![
                ProviderItemRecord {
                    kind: "openai-responses".into(),
                    item: reasoning(),
                },
                ProviderItemRecord {
                    kind: "openai-responses".into(),
                    item: json!({"type": "reasoning", "id": "rs_2", "summary": []}),
                },
                ProviderItemRecord {
                    kind: "openai".into(),
                    item: json!({"reasoning_content": "chat reasoning"}),
                },
            ],
            usage: None,
            partial: false,
            finish_reason: None,
        },
        EventKind::ToolResult {
            call_id: "call_1".into(),
            tool: "shell".into(),
            output: "denied".into(),
            is_error: true,
            images: Vec::new(),
        },
    ]
}

fn body(request: &ModelRequest, cache_key: Option<&str>) -> Value {
    serde_json::to_value(ResponsesBody::new("o3", request, cache_key)).unwrap()
}

#[test]
fn a_tool_round_trip_is_sent_statelessly_with_its_reasoning_in_place() {
    let mut conv = Vec::new();
    for k in conversation() {
        apply(&mut conv, &k);
    }
    let request = ModelRequest {
        messages: request_messages(Some("be brief"), &conv),
        tools: vec![ToolSpec {
            name: "shell".into(),
            description: "run".into(),
            parameters: json!({"type": "object"}),
        }],
        no_tool_calls: false,
        cache_key: Some("s1".into()),
    };
    let b = body(&request, Some("s1"));
    assert_eq!(b["store"], false);
    assert_eq!(b["stream"], true);
    assert_eq!(b["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(b["prompt_cache_key"], "s1");
    assert!(b.get("tool_choice").is_none());
    assert_eq!(
        b["tools"],
        json!([{"type": "function", "name": "shell", "description": "run",
                "parameters": {"type": "object"}, "strict": false}])
    );
    assert_eq!(
        b["input"],
        json!([
            {"type": "message", "role": "system", "content": "be brief"},
            {"type": "message", "role": "user", "content": "list files"},
            // Reasoning first, as sent; the one without encrypted content and the chat
            // item are left out.
            reasoning(),
            {"type": "message", "role": "assistant", "content": "Looking."},
            {"type": "function_call", "call_id": "call_1", "name": "shell",
             "arguments": "{\"command\":\"ls\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "error: denied"},
        ])
    );
    let quiet = ModelRequest {
        no_tool_calls: true,
        ..request
    };
    let b = body(&quiet, None);
    assert_eq!(b["tool_choice"], "none");
    assert!(b.get("prompt_cache_key").is_none());
}

fn run(events: &[Value]) -> (Result<ModelReply, crate::model::ModelError>, String) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut acc = ResponsesAccumulator::default();
    for e in events {
        if let Err(err) = acc.push(None, e, &tx) {
            return (Err(err), String::new());
        }
    }
    let mut streamed = String::new();
    while let Ok(d) = rx.try_recv() {
        streamed.push_str(&d);
    }
    (acc.finish(), streamed)
}

#[test]
fn a_stream_assembles_text_split_calls_reasoning_and_usage() {
    let (reply, streamed) = run(&[
        json!({"type": "response.created", "response": {}}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1"}}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": reasoning()}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "message"}}),
        json!({"type": "response.output_text.delta", "output_index": 1, "delta": "Hel"}),
        json!({"type": "response.output_text.delta", "output_index": 1, "delta": "lo"}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "message", "content": [{"type": "output_text", "text": "Hello"}]}}),
        json!({"type": "response.output_item.added", "output_index": 2, "item": {"type": "function_call", "call_id": "call_9", "name": "shell", "arguments": ""}}),
        json!({"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{\"comm"}),
        json!({"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "and\":\"ls\"}"}),
        json!({"type": "response.completed", "response": {"status": "completed", "usage": {
            "input_tokens": 1000, "input_tokens_details": {"cached_tokens": 800},
            "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 30}}}}),
    ]);
    let reply = reply.unwrap();
    assert_eq!(streamed, "Hello");
    assert_eq!(reply.text, "Hello");
    assert_eq!(reply.finish_reason, "tool_calls");
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(reply.tool_calls[0].call_id, "call_9");
    assert_eq!(reply.tool_calls[0].arguments, json!({"command": "ls"}));
    assert_eq!(reply.provider_items.len(), 1);
    assert_eq!(reply.provider_items[0].item, reasoning());
    let u = reply.usage.unwrap();
    assert_eq!(
        (
            u.prompt_tokens,
            u.cached_tokens,
            u.completion_tokens,
            u.reasoning_tokens
        ),
        (1000, 800, 50, 30)
    );
}

#[test]
fn failures_and_unfinished_streams_are_errors() {
    let (r, _) = run(&[json!({"type": "response.failed", "response": {"error": {
        "code": "context_length_exceeded", "message": "Your input exceeds the context window"}}})]);
    assert_eq!(r.unwrap_err().kind, ModelErrorKind::ContextLength);
    let (r, _) =
        run(&[json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"})]);
    let e = r.unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::RateLimited);
    assert!(e.message.contains("slow down"), "{e}");
    let (r, _) =
        run(&[json!({"type": "response.output_text.delta", "output_index": 0, "delta": "cut"})]);
    assert!(r.unwrap_err().message.contains("no response.completed"));
    let (r, _) = run(&[json!({"type": "response.incomplete", "response": {
        "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}})]);
    assert_eq!(r.unwrap().finish_reason, "length");
}

#[test]
fn a_non_streamed_response_is_read_whole() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut acc = ResponsesAccumulator::default();
    acc.push_response(
        &json!({"status": "completed", "output": [
            reasoning(),
            {"type": "message", "content": [{"type": "output_text", "text": "Hi."}]},
            {"type": "function_call", "call_id": "c", "name": "shell", "arguments": "{}"},
        ]}),
        &tx,
    )
    .unwrap();
    let reply = acc.finish().unwrap();
    assert_eq!(rx.try_recv().unwrap(), "Hi.");
    assert_eq!(reply.text, "Hi.");
    assert_eq!(reply.tool_calls[0].tool, "shell");
    assert_eq!(reply.provider_items[0].item, reasoning());
}

#[test]
fn tool_images_and_audio_follow_the_output_in_a_user_message() {
    use tether_shared::event::ToolImage;
    let media = |mime: &str, data: &str| ToolImage {
        mime_type: mime.into(),
        data: data.into(),
    };
    let mut conv = Vec::new();
    let mut events = conversation();
    if let Some(EventKind::ToolResult { images, .. }) = events.last_mut() {
        *images = vec![media("image/png", "iVBOR"), media("audio/mpeg", "SUQz")];
    }
    for k in events {
        apply(&mut conv, &k);
    }
    let request = ModelRequest {
        messages: request_messages(None, &conv),
        ..Default::default()
    };
    let input = body(&request, None)["input"].as_array().unwrap().clone();
    let at = input
        .iter()
        .position(|i| i["type"] == "function_call_output")
        .unwrap();
    assert_eq!(
        input[at + 1],
        json!({"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "2 attachments returned by tool call call_1:"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBOR"},
            {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}}
        ]})
    );
}

#[test]
fn a_token_limit_is_sent_as_max_output_tokens() {
    let provider = |limit: &str| {
        let config = crate::config::parse(
            &format!(
                "[providers.t]\nkind = \"openai-responses\"\nbase_url = \"https://api.openai.com/v1\"\n{limit}"
            ),
            std::path::Path::new("/c/config.toml"),
        )
        .unwrap();
        let resolved = config.resolve("t/m", std::path::Path::new("/c")).unwrap();
        super::OpenAiResponses::new(reqwest::Client::new(), resolved, &config.retry)
    };
    let request = ModelRequest {
        messages: Vec::new(),
        tools: Vec::new(),
        no_tool_calls: false,
        cache_key: None,
    };
    let limited = provider("[models.\"t/m\"]\nmax_tokens = 300\n");
    let b = serde_json::to_value(limited.body(&request)).unwrap();
    assert_eq!(b["max_output_tokens"], 300);
    assert!(b.get("max_tokens").is_none(), "{b}");
    let unlimited = provider("");
    let b = serde_json::to_value(unlimited.body(&request)).unwrap();
    assert!(b.get("max_output_tokens").is_none(), "{b}");
}
