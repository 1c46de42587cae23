//! The scripted answers of the Anthropic double: the [`AnthropicReply`] builders tests
//! queue, rendered as a Messages API event stream (`message_start`, `ping`,
//! `content_block_start` / `_delta` / `_stop` with text in word pieces, tool input split
//! mid-token over `input_json_delta`s, thinking and its signature, `message_delta` with
//! the stop reason and usage, `message_stop`) or as an HTTP error.

use serde_json::{Value, json};

use super::cache::CacheUsage;
use super::http::{Conn, Gone};

/// Sizes (in bytes) tool input is cut into, cycled: pieces end mid-key and mid-string.
const PIECES: [usize; 4] = [3, 7, 2, 5];

/// One content block of a scripted answer.
#[derive(Debug, Clone)]
enum Block {
    Thinking {
        text: String,
        signature: String,
    },
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: String,
    },
}

#[derive(Debug, Clone)]
enum Kind {
    Message(Vec<Block>),
    /// An HTTP error: status, error type, message, retry-after.
    Status(u16, String, String, Option<u64>),
    /// An `error` event after a text delta.
    StreamError(String, String),
}

/// A scripted answer to one `/v1/messages` request.
#[derive(Debug, Clone)]
pub struct AnthropicReply {
    kind: Kind,
    output_tokens: u64,
}

impl AnthropicReply {
    fn message(blocks: Vec<Block>) -> Self {
        AnthropicReply {
            kind: Kind::Message(blocks),
            output_tokens: 12,
        }
    }

    /// A text answer, `stop_reason: "end_turn"`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::message(vec![Block::Text(text.into())])
    }

    /// One tool call, `stop_reason: "tool_use"`.
    pub fn tool_use(id: impl Into<String>, name: impl Into<String>, input: Value) -> Self {
        Self::tool_uses([(id, name, input)])
    }

    /// Parallel tool calls: one `tool_use` block each, in order.
    pub fn tool_uses<I: Into<String>, N: Into<String>>(
        calls: impl IntoIterator<Item = (I, N, Value)>,
    ) -> Self {
        Self::message(
            calls
                .into_iter()
                .map(|(id, name, input)| Block::ToolUse {
                    id: id.into(),
                    name: name.into(),
                    input: input.to_string(),
                })
                .collect(),
        )
    }

    /// Text before the other blocks.
    pub fn with_text_prefix(mut self, text: impl Into<String>) -> Self {
        if let Kind::Message(blocks) = &mut self.kind {
            blocks.insert(0, Block::Text(text.into()));
        }
        self
    }

    /// A thinking block (its text and signature streamed as deltas) before the others.
    pub fn with_thinking(mut self, text: impl Into<String>, signature: impl Into<String>) -> Self {
        if let Kind::Message(blocks) = &mut self.kind {
            blocks.insert(
                0,
                Block::Thinking {
                    text: text.into(),
                    signature: signature.into(),
                },
            );
        }
        self
    }

    /// An HTTP error with an Anthropic error body, e.g. `(529, "overloaded_error")`.
    pub fn status(code: u16, error_type: &str, message: &str) -> Self {
        AnthropicReply {
            kind: Kind::Status(code, error_type.into(), message.into(), None),
            output_tokens: 0,
        }
    }

    /// `529 overloaded_error`.
    pub fn overloaded() -> Self {
        Self::status(529, "overloaded_error", "Overloaded")
    }

    /// `400 prompt is too long`, as the API says it.
    pub fn prompt_too_long() -> Self {
        Self::status(
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
        )
    }

    /// A `retry-after` header (seconds) on an HTTP error.
    pub fn retry_after(mut self, secs: u64) -> Self {
        if let Kind::Status(_, _, _, retry) = &mut self.kind {
            *retry = Some(secs);
        }
        self
    }

    /// A 200 stream that breaks off with an `error` event, e.g. `overloaded_error`.
    pub fn stream_error(error_type: &str, message: &str) -> Self {
        AnthropicReply {
            kind: Kind::StreamError(error_type.into(), message.into()),
            output_tokens: 0,
        }
    }

    /// True for an HTTP error answer.
    pub(super) fn is_status(&self) -> bool {
        matches!(self.kind, Kind::Status(..))
    }

    /// Writes the answer; `cache` is what the prompt cache made of the request.
    pub(super) async fn write(
        &self,
        conn: &mut Conn,
        id: &str,
        model: &str,
        cache: CacheUsage,
    ) -> Result<(), Gone> {
        let blocks = match &self.kind {
            Kind::Status(code, ty, message, retry) => {
                let body = json!({"type": "error", "error": {"type": ty, "message": message}});
                return conn.write_json(*code, &body, *retry).await;
            }
            Kind::StreamError(ty, message) => {
                conn.start_stream().await?;
                conn.event("message_start", &start(id, model, cache))
                    .await?;
                conn.event("content_block_start", &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})).await?;
                conn.event("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Partial "}})).await?;
                let error = json!({"type": "error", "error": {"type": ty, "message": message}});
                return conn.event("error", &error).await;
            }
            Kind::Message(blocks) => blocks,
        };
        conn.start_stream().await?;
        conn.event("message_start", &start(id, model, cache))
            .await?;
        conn.event("ping", &json!({"type": "ping"})).await?;
        for (index, block) in blocks.iter().enumerate() {
            let (start_block, deltas) = render(block);
            conn.event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": start_block}),
            )
            .await?;
            for delta in deltas {
                conn.event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index, "delta": delta}),
                )
                .await?;
            }
            conn.event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            )
            .await?;
        }
        let calls = blocks.iter().any(|b| matches!(b, Block::ToolUse { .. }));
        let stop_reason = if calls { "tool_use" } else { "end_turn" };
        conn.event(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                    "usage": {"output_tokens": self.output_tokens}}),
        )
        .await?;
        conn.event("message_stop", &json!({"type": "message_stop"}))
            .await
    }
}

fn start(id: &str, model: &str, cache: CacheUsage) -> Value {
    json!({"type": "message_start", "message": {
        "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": cache.input, "cache_creation_input_tokens": cache.write,
                  "cache_read_input_tokens": cache.read, "output_tokens": 1}}})
}

/// A block's `content_block_start` payload and its deltas.
fn render(block: &Block) -> (Value, Vec<Value>) {
    match block {
        Block::Text(text) => (
            json!({"type": "text", "text": ""}),
            words(text)
                .into_iter()
                .map(|w| json!({"type": "text_delta", "text": w}))
                .collect(),
        ),
        Block::Thinking { text, signature } => {
            let mut deltas: Vec<Value> = words(text)
                .into_iter()
                .map(|w| json!({"type": "thinking_delta", "thinking": w}))
                .collect();
            deltas.push(json!({"type": "signature_delta", "signature": signature}));
            (json!({"type": "thinking", "thinking": ""}), deltas)
        }
        Block::ToolUse { id, name, input } => {
            let mut deltas = vec![json!({"type": "input_json_delta", "partial_json": ""})];
            deltas.extend(
                pieces(input)
                    .into_iter()
                    .map(|p| json!({"type": "input_json_delta", "partial_json": p})),
            );
            (
                json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                deltas,
            )
        }
    }
}

/// `text` in pieces that each start at a word (whitespace kept).
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == ' ' && i > start {
            out.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// `text` cut into pieces of [`PIECES`] bytes (on char boundaries).
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut n = 0;
    while start < text.len() {
        let mut end = (start + PIECES[n % PIECES.len()]).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(&text[start..end]);
        start = end;
        n += 1;
    }
    out
}
