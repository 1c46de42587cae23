//! A context window for the scripted model: how many tokens a request's prompt counts,
//! and how a server answers a prompt over its window.
//!
//! # The token count
//!
//! No real tokenizer, but one that moves like one: about four bytes of text a token, plus
//! a fixed cost per message, as OpenAI documents for its chat format. For a request body:
//!
//! ```text
//! tokens = 3                                        (the reply's priming)
//!        + Σ messages ( 4                           (role and separators)
//!                     + t(content)                  (a string, or the text parts of a list;
//!                                                    85 per image part)
//!                     + Σ tool_calls ( t(function.name) + t(function.arguments) ) )
//!        + t(the `tools` array serialized as JSON)  (when present)
//! t(s)   = ceil(bytes(s) / 4)
//! ```
//!
//! [`count_tokens`] is that rule; the server reports it as `usage.prompt_tokens` and
//! compares it with the window, so a test can compute what the server saw.

use serde_json::{Value, json};

/// Tokens an image part counts (OpenAI's low-detail image cost).
const IMAGE_TOKENS: u64 = 85;
/// Tokens every message costs besides its text.
const PER_MESSAGE: u64 = 4;
/// Tokens every prompt costs for the reply's priming.
const PRIMING: u64 = 3;

/// The prompt tokens of a chat-completions request body, by the rule in the module doc.
pub fn count_tokens(body: &Value) -> u64 {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map(|messages| messages.iter().map(message_tokens).sum::<u64>())
        .unwrap_or(0);
    let tools = body
        .get("tools")
        .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
        .map_or(0, |t| text_tokens(&t.to_string()));
    PRIMING + messages + tools
}

fn message_tokens(message: &Value) -> u64 {
    let content = match message.get("content") {
        Some(Value::String(text)) => text_tokens(text),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|part| match part.get("type").and_then(Value::as_str) {
                Some("image_url") => IMAGE_TOKENS,
                _ => text_tokens(part.get("text").and_then(Value::as_str).unwrap_or("")),
            })
            .sum(),
        _ => 0,
    };
    let calls: u64 = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|call| {
            let function = &call["function"];
            text_tokens(function["name"].as_str().unwrap_or(""))
                + text_tokens(function["arguments"].as_str().unwrap_or(""))
        })
        .sum();
    PER_MESSAGE + content + calls
}

fn text_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// How the server answers a prompt over its window: each as a real server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// OpenAI: HTTP 400, `code: "context_length_exceeded"`, the window and the count in
    /// the message ("This model's maximum context length is N tokens. However, your
    /// messages resulted in M tokens. …").
    #[default]
    OpenAi,
    /// vLLM: HTTP 400, `type: "BadRequestError"`, "This model's maximum context length
    /// is N tokens. However, you requested M tokens (M in the messages, 0 in the
    /// completion). …", no `context_length_exceeded` code.
    Vllm,
    /// llama.cpp's `llama-server`: HTTP 400, `type: "exceed_context_size_error"`,
    /// "request (M tokens) exceeds the available context size (N tokens), try increasing
    /// it", with `n_prompt_tokens` and `n_ctx` beside the message.
    LlamaCpp,
    /// llama-cpp-python's server asked to stream: HTTP 200 and an event stream that ends
    /// at once, with no chunk, no `finish_reason`, no error event and no `[DONE]`; the
    /// reason is only in the server's own log (checked against llama-cpp-python 0.3.36: a
    /// chunked `text/event-stream; charset=utf-8` body of zero bytes). A request that does
    /// not ask to stream gets llama-cpp-python's HTTP 400 ("This model's maximum context
    /// length is N tokens. However, you requested M tokens (M in the messages, None in the
    /// completion). …", `code: "context_length_exceeded"`).
    SilentStream,
}

/// The HTTP 400 body a server of `style` answers for a prompt of `tokens` over `window`.
pub(super) fn overflow_body(style: Overflow, window: u64, tokens: u64) -> Value {
    match style {
        Overflow::OpenAi => json!({"error": {
            "message": format!(
                "This model's maximum context length is {window} tokens. However, your \
                 messages resulted in {tokens} tokens. Please reduce the length of the messages."
            ),
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }}),
        Overflow::Vllm => json!({"error": {
            "message": format!(
                "This model's maximum context length is {window} tokens. However, you \
                 requested {tokens} tokens ({tokens} in the messages, 0 in the completion). \
                 Please reduce the length of the messages or completion."
            ),
            "type": "BadRequestError",
            "param": null,
            "code": 400,
        }}),
        Overflow::LlamaCpp => json!({"error": {
            "code": 400,
            "message": format!(
                "request ({tokens} tokens) exceeds the available context size ({window} \
                 tokens), try increasing it"
            ),
            "type": "exceed_context_size_error",
            "n_prompt_tokens": tokens,
            "n_ctx": window,
        }}),
        Overflow::SilentStream => json!({"error": {
            "message": format!(
                "This model's maximum context length is {window} tokens. However, you \
                 requested {tokens} tokens ({tokens} in the messages, None in the completion). \
                 Please reduce the length of the messages or completion."
            ),
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_costs_four_plus_a_quarter_of_its_bytes_rounded_up() {
        let body = json!({"messages": [{"role": "user", "content": "12345"}]});
        assert_eq!(count_tokens(&body), 3 + 4 + 2);
        let empty = json!({"messages": []});
        assert_eq!(count_tokens(&empty), 3);
        assert_eq!(count_tokens(&Value::Null), 3);
    }

    #[test]
    fn tool_calls_tools_parts_and_images_all_count() {
        let body = json!({
            "messages": [
                {"role": "system", "content": "x".repeat(400)},
                {"role": "assistant", "content": "", "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": {"name": "shell", "arguments": "{\"command\":\"ls\"}"},
                }]},
                {"role": "tool", "tool_call_id": "call_1", "content": "y".repeat(41)},
                {"role": "user", "content": [
                    {"type": "text", "text": "abcd"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ]},
            ],
            "tools": [{"type": "function", "function": {"name": "shell"}}],
        });
        let tools = json!([{"type": "function", "function": {"name": "shell"}}]).to_string();
        let want = 3
            + (4 + 100)
            + (4 + 2 + 4) // "shell" is 5 bytes, the arguments 16
            + (4 + 11)
            + (4 + 1 + 85)
            + (tools.len() as u64).div_ceil(4);
        assert_eq!(count_tokens(&body), want);
    }

    #[test]
    fn a_longer_prompt_counts_more() {
        let short = json!({"messages": [{"role": "user", "content": "a".repeat(4096)}]});
        let long = json!({"messages": [{"role": "user", "content": "a".repeat(8192)}]});
        assert_eq!(count_tokens(&long) - count_tokens(&short), 1024);
    }

    #[test]
    fn openai_overflow_names_the_window_and_the_count() {
        let body = overflow_body(Overflow::OpenAi, 6000, 7123);
        assert_eq!(
            body["error"]["message"],
            "This model's maximum context length is 6000 tokens. However, your messages \
             resulted in 7123 tokens. Please reduce the length of the messages."
        );
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "messages");
        assert_eq!(body["error"]["code"], "context_length_exceeded");
    }

    #[test]
    fn other_servers_word_it_their_own_way() {
        let vllm = overflow_body(Overflow::Vllm, 2048, 3000);
        assert!(
            vllm["error"]["message"]
                .as_str()
                .unwrap()
                .contains("you requested 3000 tokens (3000 in the messages, 0 in the completion)")
        );
        assert_eq!(vllm["error"]["code"], 400);
        let llama = overflow_body(Overflow::LlamaCpp, 4096, 4390);
        assert_eq!(
            llama["error"]["message"],
            "request (4390 tokens) exceeds the available context size (4096 tokens), try \
             increasing it"
        );
        assert_eq!(llama["error"]["n_ctx"], 4096);
        assert_eq!(llama["error"]["type"], "exceed_context_size_error");
    }
}
