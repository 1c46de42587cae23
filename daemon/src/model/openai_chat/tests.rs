//! The wire JSON of a session's conversation: event log -> neutral conversation
//! (`session::context`) -> chat-completions messages, as the scripted model servers of
//! the end-to-end tests receive them.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_shared::event::{ToolCallSpec, ToolImage};
use tether_shared::{Delivery, EventKind};

use super::request::{ChatBody, ChatMessages};
use crate::model::{Message, ModelRequest, Part, Role};
use crate::session::context::{apply, drop_images, request_messages};

/// The `messages` array a conversation is sent as.
fn chat(conversation: &[Arc<Message>]) -> Vec<Value> {
    match serde_json::to_value(ChatMessages(conversation)).unwrap() {
        Value::Array(messages) => messages,
        other => panic!("not an array: {other}"),
    }
}

#[test]
fn builds_a_tool_round_trip() {
    let mut conv = Vec::new();
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
            provider_items: Vec::new(),
            usage: None,
            partial: false,
            finish_reason: None,
        },
        EventKind::ToolCall {
            call_id: "c".into(),
            tool: "shell".into(),
            arguments: json!({}),
            rule: None,
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
            provider_items: Vec::new(),
            usage: None,
            partial: false,
            finish_reason: None,
        },
    ] {
        apply(&mut conv, &k);
    }
    let m = chat(&conv);
    assert_eq!(m.len(), 4);
    assert_eq!(
        m[1]["tool_calls"][0]["function"]["arguments"],
        "{\"command\":\"ls\"}"
    );
    assert_eq!(m[2]["role"], "tool");
    let full = chat(&request_messages(Some("be brief"), &conv));
    assert_eq!(full[0]["role"], "system");
    assert_eq!(full.len(), 5);
    assert_eq!(chat(&request_messages(None, &conv)).len(), 4);
}

#[test]
fn images_of_a_step_follow_all_its_tool_messages_in_one_user_message() {
    let mut conv = Vec::new();
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
    apply(&mut conv, &result("a", vec![png.clone()]));
    apply(&mut conv, &result("b", vec![]));
    apply(&mut conv, &result("c", vec![png.clone(), png]));
    let m = chat(&conv);
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
        &mut conv,
        &EventKind::UserMessage {
            text: "thanks".into(),
            delivery: Delivery::Queue,
        },
    );
    apply(&mut conv, &result("d", vec![]));
    let m = chat(&conv);
    assert_eq!(m.last().unwrap()["role"], "tool");
    assert_eq!(m[4]["content"], "thanks");
}

#[test]
fn an_error_result_reaches_the_model_marked_as_an_error() {
    let mut conv = Vec::new();
    for (output, is_error) in [("no such file", true), ("fine", false)] {
        apply(
            &mut conv,
            &EventKind::ToolResult {
                call_id: "c".into(),
                tool: "read_file".into(),
                output: output.into(),
                is_error,
                images: Vec::new(),
            },
        );
    }
    let m = chat(&conv);
    assert_eq!(m[0]["content"], "error: no such file");
    assert_eq!(m[1]["content"], "fine");
}

#[test]
fn the_request_body_is_byte_for_byte_the_chat_json_of_the_log() {
    let png = ToolImage {
        mime_type: "image/png".into(),
        data: "AAAA".into(),
    };
    let call = |id: &str, arguments: Value| ToolCallSpec {
        call_id: id.into(),
        tool: "shell".into(),
        arguments,
    };
    let result =
        |id: &str, output: &str, is_error: bool, images: Vec<ToolImage>| EventKind::ToolResult {
            call_id: id.into(),
            tool: "shell".into(),
            output: output.into(),
            is_error,
            images,
        };
    let assistant = |text: &str, tool_calls: Vec<ToolCallSpec>| EventKind::AssistantMessage {
        text: text.into(),
        tool_calls,
        provider_items: Vec::new(),
        usage: None,
        partial: false,
        finish_reason: None,
    };
    let mut conv = Vec::new();
    for k in [
        EventKind::UserMessage {
            text: "hi \"there\"\n".into(),
            delivery: Delivery::Queue,
        },
        assistant(
            "",
            vec![
                call("a", json!({"z": 1, "a": [true]})),
                call("b", json!("{not json")),
            ],
        ),
        result("a", "[image: image/png]", false, vec![png.clone()]),
        result("b", "bad", true, vec![]),
        assistant("seen", vec![]),
        assistant("", vec![]),
        EventKind::UserMessage {
            text: "again".into(),
            delivery: Delivery::Steer,
        },
        assistant("one", vec![call("c", json!({}))]),
        result("c", "two images", false, vec![png.clone(), png]),
    ] {
        apply(&mut conv, &k);
    }
    let tools = vec![crate::tools::ToolSpec {
        name: "shell".into(),
        description: "Runs a command.".into(),
        parameters: json!({"type": "object", "properties": {"command": {"type": "string"}}}),
    }];
    let request = ModelRequest {
        messages: request_messages(Some("be brief"), &conv),
        tools,
        no_tool_calls: false,
        cache_key: None,
    };
    let url = "data:image/png;base64,AAAA";
    let expected = json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi \"there\"\n"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "a", "type": "function",
                 "function": {"name": "shell", "arguments": "{\"a\":[true],\"z\":1}"}},
                {"id": "b", "type": "function",
                 "function": {"name": "shell", "arguments": "{not json"}}]},
            {"role": "tool", "tool_call_id": "a", "content": "[image: image/png]"},
            {"role": "tool", "tool_call_id": "b", "content": "error: bad"},
            {"role": "user", "content": [
                {"type": "text", "text": "1 image returned by tool call a:"},
                {"type": "image_url", "image_url": {"url": url}}]},
            {"role": "assistant", "content": "seen"},
            {"role": "user", "content": "again"},
            {"role": "assistant", "content": "one", "tool_calls": [
                {"id": "c", "type": "function",
                 "function": {"name": "shell", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "two images"},
            {"role": "user", "content": [
                {"type": "text", "text": "2 images returned by tool call c:"},
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "image_url", "image_url": {"url": url}}]},
        ],
        "stream": true,
        "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "shell",
            "description": "Runs a command.",
            "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}}],
    });
    // The body's own fields keep their struct order; every object inside is written
    // as a `Value` writes it.
    let mut want = String::from("{\"model\":\"m\",\"messages\":");
    want += &expected["messages"].to_string();
    want += ",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"tools\":";
    want += &expected["tools"].to_string();
    want += "}";
    let body = ChatBody::new("m", &request.messages, &request.tools);
    assert_eq!(serde_json::to_string(&body).unwrap(), want);
    assert!(request.has_images());

    // `images = false`: the carriers go, the placeholders stay, and each result
    // says its images were not shown.
    let mut messages = request.messages.clone();
    drop_images(&mut messages);
    let sent = chat(&messages);
    let mut without = expected["messages"].as_array().unwrap().clone();
    without.remove(10);
    without.remove(5);
    let note = |n: &str| {
        format!(
            "\n[{n} not shown: this model is set to take no images (images = false in its \
             provider's config)]"
        )
    };
    for (at, n) in [(3, "1 image"), (8, "2 images")] {
        let content = without[at]["content"].as_str().unwrap().to_string();
        without[at]["content"] = Value::from(content + &note(n));
    }
    assert_eq!(sent, without);
    let body = ChatBody::new("m", &messages, &[]);
    let text = serde_json::to_string(&body).unwrap();
    assert!(
        text.ends_with("\"stream_options\":{\"include_usage\":true}}"),
        "{text}"
    );
}

#[test]
fn reasoning_goes_back_on_its_assistant_message_and_the_cache_key_when_asked() {
    use tether_shared::event::ProviderItemRecord;
    let mut conv = Vec::new();
    apply(
        &mut conv,
        &EventKind::AssistantMessage {
            text: String::new(),
            tool_calls: vec![ToolCallSpec {
                call_id: "c".into(),
                tool: "shell".into(),
                arguments: json!({}),
            }],
            provider_items: vec![
                ProviderItemRecord {
                    kind: "openai".into(),
                    item: json!({"reasoning_content": "I should look."}),
                },
                ProviderItemRecord {
                    kind: "openai-responses".into(),
                    item: json!({"type": "reasoning", "encrypted_content": "x"}),
                },
            ],
            usage: None,
            partial: false,
            finish_reason: None,
        },
    );
    let m = chat(&conv);
    assert_eq!(m[0]["reasoning_content"], "I should look.");
    assert!(m[0].get("reasoning").is_none());
    assert!(!m[0].to_string().contains("encrypted_content"), "{}", m[0]);
    let body = |key: Option<&str>| {
        serde_json::to_value(ChatBody::new("m", &conv, &[]).with_cache_key(key)).unwrap()
    };
    assert_eq!(body(Some("s1"))["prompt_cache_key"], "s1");
    assert!(body(None).get("prompt_cache_key").is_none());
}

#[test]
fn messages_that_hold_only_text_are_plain_strings() {
    // A system prompt built from several texts, as every compatible server accepts it.
    let system = Arc::new(Message {
        role: Role::System,
        parts: vec![
            Part::Text("You are an agent.\n\n".into()),
            Part::Text("## Project instructions".into()),
        ],
    });
    let user = Arc::new(Message::text(Role::User, "hi"));
    let sent = chat(&[system, user]);
    assert_eq!(
        sent,
        [
            json!({"role": "system", "content": "You are an agent.\n\n## Project instructions"}),
            json!({"role": "user", "content": "hi"}),
        ]
    );
}

/// A step whose tool returned an image, a wav clip and an ogg clip.
fn media_conversation() -> Vec<Arc<Message>> {
    let media = |mime: &str, data: &str| ToolImage {
        mime_type: mime.into(),
        data: data.into(),
    };
    let mut conv = Vec::new();
    for k in [
        EventKind::AssistantMessage {
            text: String::new(),
            tool_calls: vec![ToolCallSpec {
                call_id: "c".into(),
                tool: "ev__media".into(),
                arguments: json!({}),
            }],
            provider_items: Vec::new(),
            usage: None,
            partial: false,
            finish_reason: None,
        },
        EventKind::ToolResult {
            call_id: "c".into(),
            tool: "ev__media".into(),
            output: "three".into(),
            is_error: false,
            images: vec![
                media("image/png", "iVBOR"),
                media("audio/wav", "UklGR"),
                media("audio/ogg", "T2dnUw"),
            ],
        },
    ] {
        apply(&mut conv, &k);
    }
    conv
}

#[test]
fn tool_audio_goes_as_input_audio_when_the_provider_takes_it() {
    use crate::session::context::drop_audio;
    // `audio = true`: wav and mp3 go, another clip is named as not sent.
    let mut messages = media_conversation();
    drop_audio(&mut messages, false);
    let sent = chat(&messages);
    assert_eq!(
        sent[1],
        json!({"role": "tool", "tool_call_id": "c",
               "content": "three\n[1 audio clip not shown: only wav and mp3 can be sent]"})
    );
    assert_eq!(
        sent[2],
        json!({"role": "user", "content": [
            {"type": "text", "text": "2 attachments returned by tool call c:"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
            {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}}
        ]})
    );
    // Without it: no audio at all, and the result says so.
    let mut messages = media_conversation();
    drop_audio(&mut messages, true);
    let sent = chat(&messages);
    assert!(
        sent[1]["content"]
            .as_str()
            .unwrap()
            .ends_with("[2 audio clips not shown: this model is set to take no audio (audio = true in its provider's config sends wav and mp3)]"),
        "{}",
        sent[1]
    );
    assert_eq!(
        sent[2]["content"][0]["text"],
        "1 image returned by tool call c:"
    );
    assert_eq!(sent[2]["content"].as_array().unwrap().len(), 2);
}

/// The provider for `base_url` with `[models."t/m"] max_tokens` when given.
fn chat_provider(base_url: &str, max_tokens: Option<u64>) -> super::OpenAiChat {
    let limit = max_tokens
        .map(|n| format!("\n[models.\"t/m\"]\nmax_tokens = {n}\n"))
        .unwrap_or_default();
    let config = crate::config::parse(
        &format!("[providers.t]\nkind = \"openai\"\nbase_url = \"{base_url}\"\n{limit}"),
        std::path::Path::new("/c/config.toml"),
    )
    .unwrap();
    let resolved = config.resolve("t/m", std::path::Path::new("/c")).unwrap();
    super::OpenAiChat::new(reqwest::Client::new(), resolved, &config.retry)
}

#[test]
fn a_token_limit_is_sent_as_max_completion_tokens_to_openai_and_max_tokens_elsewhere() {
    let request = ModelRequest {
        messages: vec![Arc::new(Message::text(Role::User, "hi"))],
        tools: Vec::new(),
        no_tool_calls: false,
        cache_key: None,
    };
    let wire = |p: &super::OpenAiChat| serde_json::to_value(p.body(&request)).unwrap();
    let openai = wire(&chat_provider("https://api.openai.com/v1", Some(256)));
    assert_eq!(openai["max_completion_tokens"], 256);
    assert!(openai.get("max_tokens").is_none(), "{openai}");
    let local = wire(&chat_provider("http://127.0.0.1:8080/v1", Some(64)));
    assert_eq!(local["max_tokens"], 64);
    assert!(local.get("max_completion_tokens").is_none(), "{local}");
    // Unstreamed (the re-ask) keeps it.
    let p = chat_provider("http://127.0.0.1:8080/v1", Some(64));
    let again = serde_json::to_value(p.body(&request).unstreamed()).unwrap();
    assert_eq!(again["max_tokens"], 64);
    let unlimited = wire(&chat_provider("https://api.openai.com/v1", None));
    assert!(
        unlimited.get("max_tokens").is_none() && unlimited.get("max_completion_tokens").is_none()
    );
}
