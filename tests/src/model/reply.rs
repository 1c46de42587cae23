//! The scripted replies: the [`Reply`] builders tests queue, and their rendering as an
//! OpenAI-style response (an error body, a `chat.completion` object, or a stream of
//! `chat.completion.chunk` SSE events with text in word pieces and tool-call arguments
//! split mid-token).

use std::time::Duration;

use serde_json::{Value, json};

use super::cache::CachedPrompt;
use super::http::{Conn, Gone, response_head};

/// A fixed `created` stamp keeps the streams deterministic.
const CREATED: u64 = 1_700_000_000;
/// Sizes (in bytes) that tool-call arguments are cut into, cycled. Uneven and small so
/// pieces end mid-key, mid-string and mid-escape, as real providers do.
const ARG_PIECES: [usize; 5] = [3, 5, 7, 4, 6];

/// A scripted answer to one chat-completions request.
#[derive(Debug, Clone)]
pub struct Reply {
    kind: ReplyKind,
    text_prefix: Option<String>,
    chunk_delay: Duration,
    first_delay: Duration,
    retry_after: Option<u64>,
    error_message: Option<String>,
    usage: Option<(u64, u64)>,
    finish_reason: Option<String>,
    ignore_stream: bool,
    one_write: bool,
}

#[derive(Debug, Clone)]
enum ReplyKind {
    Text(String),
    ToolCalls(Vec<ScriptedCall>),
    Status(u16),
    Truncated(String),
    Hang,
    KeepAliveOnly,
    Endless,
}

#[derive(Debug, Clone)]
struct ScriptedCall {
    id: String,
    name: String,
    arguments: String,
}

impl Reply {
    fn new(kind: ReplyKind) -> Self {
        Self {
            kind,
            text_prefix: None,
            chunk_delay: Duration::ZERO,
            first_delay: Duration::ZERO,
            retry_after: None,
            error_message: None,
            usage: None,
            finish_reason: None,
            ignore_stream: false,
            one_write: false,
        }
    }

    /// A streamed text answer, split into word pieces, ending `finish_reason: "stop"`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(ReplyKind::Text(text.into()))
    }

    /// One streamed tool call, ending `finish_reason: "tool_calls"`. `args` is serialized
    /// as the arguments string; pass a `Value::String` to send raw (even invalid) text.
    pub fn tool_call(id: impl Into<String>, name: impl Into<String>, args: Value) -> Self {
        Self::tool_calls([(id, name, args)])
    }

    /// Parallel tool calls (indexes 0, 1, …), their deltas interleaved round-robin.
    pub fn tool_calls<I, N>(calls: impl IntoIterator<Item = (I, N, Value)>) -> Self
    where
        I: Into<String>,
        N: Into<String>,
    {
        let calls = calls
            .into_iter()
            .map(|(id, name, args)| ScriptedCall {
                id: id.into(),
                name: name.into(),
                arguments: match args {
                    Value::String(raw) => raw,
                    other => other.to_string(),
                },
            })
            .collect();
        Self::new(ReplyKind::ToolCalls(calls))
    }

    /// An HTTP error with an OpenAI-style JSON error body.
    pub fn status(code: u16) -> Self {
        Self::new(ReplyKind::Status(code))
    }

    /// Streams `text` in pieces, then closes the connection cleanly with neither a
    /// `finish_reason` nor `[DONE]`. The body is close-delimited, so the client sees an
    /// ordinary end of body: only the missing terminator tells it the answer was cut.
    pub fn truncated(text: impl Into<String>) -> Self {
        Self::new(ReplyKind::Truncated(text.into()))
    }

    /// Reads the request and never answers, until the client drops the connection.
    pub fn hang() -> Self {
        Self::new(ReplyKind::Hang)
    }

    /// Opens a 200 event stream and then sends only SSE keep-alives, every `every`, until
    /// the client leaves: `: keep-alive` comments, empty `data:` events and chunks with an
    /// empty delta. Nothing that advances an answer ever comes.
    pub fn keep_alive_only(every: Duration) -> Self {
        Self::new(ReplyKind::KeepAliveOnly).slow(every)
    }

    /// Streams text deltas (`"more "`) every `every`, forever: an answer that keeps
    /// advancing and never finishes, until the client leaves.
    pub fn endless(every: Duration) -> Self {
        Self::new(ReplyKind::Endless).slow(every)
    }

    /// Answers with one `application/json` `chat.completion` body even when the request
    /// asked for `stream: true`, as some servers do.
    pub fn ignoring_stream(mut self) -> Self {
        self.ignore_stream = true;
        self
    }

    /// Writes the whole stream in one socket write (no delays), so that a benchmark of
    /// what the daemon does with many tiny deltas does not time the server's writes.
    pub fn in_one_write(mut self) -> Self {
        self.one_write = true;
        self
    }

    /// Overrides the `finish_reason` (e.g. `"length"` for an answer cut at the token limit).
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    /// Streams this text before the tool calls (or before the text) of the reply.
    pub fn with_text_prefix(mut self, text: impl Into<String>) -> Self {
        self.text_prefix = Some(text.into());
        self
    }

    /// Waits this long between SSE events, so a test can interrupt mid-stream.
    pub fn slow(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Waits this long before the first event (after the response headers, like a
    /// model's time to first token); for error replies, before the whole response.
    pub fn delay_first(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    /// Adds a `Retry-After: <secs>` header.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The `error.message` of a [`Reply::status`] body.
    pub fn with_error_message(mut self, message: impl Into<String>) -> Self {
        self.error_message = Some(message.into());
        self
    }

    /// Overrides the reported `prompt_tokens` / `completion_tokens`.
    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.usage = Some((prompt_tokens, completion_tokens));
        self
    }

    /// The assistant text: prefix, then the text of a text or truncated reply.
    fn full_text(&self) -> String {
        let mut text = self.text_prefix.clone().unwrap_or_default();
        if let ReplyKind::Text(body) | ReplyKind::Truncated(body) = &self.kind {
            text.push_str(body);
        }
        text
    }

    fn calls(&self) -> &[ScriptedCall] {
        match &self.kind {
            ReplyKind::ToolCalls(calls) => calls,
            _ => &[],
        }
    }

    fn finish_reason(&self) -> &str {
        if let Some(reason) = &self.finish_reason {
            reason
        } else if self.calls().is_empty() {
            "stop"
        } else {
            "tool_calls"
        }
    }

    /// True for an HTTP error answer.
    pub(super) fn is_status(&self) -> bool {
        matches!(self.kind, ReplyKind::Status(_))
    }

    /// The `usage` object: `prompt_tokens` as counted by the server (unless overridden),
    /// completion tokens at about four bytes a token. With the cache simulated, its count
    /// of the prompt and `prompt_tokens_details.cached_tokens` (an override of the counts
    /// keeps the cached part).
    pub(super) fn usage_json(&self, prompt_tokens: u64, cache: Option<CachedPrompt>) -> Value {
        let prompt_tokens = cache.map_or(prompt_tokens, |c| c.prompt);
        let (prompt, completion) = self.usage.unwrap_or_else(|| {
            let produced = self.full_text().len()
                + self
                    .calls()
                    .iter()
                    .map(|c| c.arguments.len())
                    .sum::<usize>();
            (prompt_tokens, (produced as u64).div_ceil(4).max(1))
        });
        let mut usage = json!({
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        });
        if let Some(cache) = cache {
            usage["prompt_tokens_details"] = json!({"cached_tokens": cache.cached});
        }
        usage
    }
}

/// Identity of one response, shared by all its chunks.
pub(super) struct Meta<'a> {
    pub(super) id: String,
    pub(super) model: &'a str,
}

impl Meta<'_> {
    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> String {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        })
        .to_string()
    }
}

/// The `data:` payloads of a streamed reply, in order, `[DONE]` included when complete;
/// the usage chunk only when `usage` is given.
fn stream_events(reply: &Reply, meta: &Meta<'_>, usage: Option<Value>) -> Vec<String> {
    let mut events = vec![meta.chunk(json!({"role": "assistant", "content": ""}), None)];
    let text = reply.full_text();
    for piece in split_words(&text) {
        events.push(meta.chunk(json!({"content": piece}), None));
    }
    if matches!(reply.kind, ReplyKind::Truncated(_)) {
        return events;
    }

    // Per call: the header delta, then its argument pieces. Taking step k of every call in
    // turn interleaves the indexes, the case a client must not get wrong.
    let steps: Vec<Vec<Value>> = reply
        .calls()
        .iter()
        .enumerate()
        .map(|(index, call)| {
            let header = json!({"tool_calls": [{
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }]});
            std::iter::once(header)
                .chain(split_pieces(&call.arguments).into_iter().map(|piece| {
                    json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                }))
                .collect()
        })
        .collect();
    let longest = steps.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..longest {
        for call_steps in &steps {
            if let Some(delta) = call_steps.get(k) {
                events.push(meta.chunk(delta.clone(), None));
            }
        }
    }

    events.push(meta.chunk(json!({}), Some(reply.finish_reason())));
    if let Some(usage) = usage {
        events.push(
            json!({
                "id": meta.id,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": meta.model,
                "choices": [],
                "usage": usage,
            })
            .to_string(),
        );
    }
    events.push("[DONE]".to_owned());
    events
}

/// The non-streamed `chat.completion` for a request that did not ask for `stream: true`.
fn completion_json(reply: &Reply, meta: &Meta<'_>, usage: Value) -> Value {
    let text = reply.full_text();
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !reply.calls().is_empty() { Value::Null } else { json!(text) },
    });
    if !reply.calls().is_empty() {
        message["tool_calls"] = reply
            .calls()
            .iter()
            .map(|call| {
                json!({
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                })
            })
            .collect();
    }
    json!({
        "id": meta.id,
        "object": "chat.completion",
        "created": CREATED,
        "model": meta.model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason()}],
        "usage": usage,
    })
}

/// Splits text into word pieces, each carrying its leading whitespace, so the pieces
/// concatenate back to the input: `"hello world"` → `["hello", " world"]`.
fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut prev_is_space = true;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() && !prev_is_space && i > start {
            pieces.push(&text[start..i]);
            start = i;
        }
        prev_is_space = c.is_whitespace();
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Splits into pieces of [`ARG_PIECES`] bytes, widened only to stay on char boundaries.
fn split_pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for size in ARG_PIECES.iter().cycle() {
        if start >= text.len() {
            break;
        }
        let mut end = (start + size).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&text[start..end]);
        start = end;
    }
    pieces
}
/// An OpenAI-style error body.
pub(super) fn error_json(status: u16, message: &str) -> Value {
    let kind = match status {
        400 | 404 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}
/// Writes `reply` as the response to a chat request: an error status, a `chat.completion`
/// object, or an SSE stream (chunked when complete, close-delimited when truncated), with
/// the reply's delays. A stream carries `usage` only when `include_usage`.
pub(super) async fn write_reply(
    conn: &mut Conn,
    reply: &Reply,
    meta: &Meta<'_>,
    streamed: bool,
    usage: Value,
    include_usage: bool,
) -> Result<(), Gone> {
    let streamed = streamed && !reply.ignore_stream;
    match &reply.kind {
        ReplyKind::Hang => Err(conn.wait_closed().await),
        ReplyKind::KeepAliveOnly | ReplyKind::Endless => {
            let head = response_head(
                200,
                "text/event-stream",
                "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n",
                None,
            );
            conn.write(head.as_bytes()).await?;
            let every = reply.chunk_delay.max(Duration::from_millis(10));
            let keep_alives = [
                ": keep-alive\n\n".to_owned(),
                "data:\n\n".to_owned(),
                format!("data: {}\n\n", meta.chunk(json!({}), None)),
                format!(
                    "data: {}\n\n",
                    meta.chunk(json!({"role": "assistant", "content": ""}), None)
                ),
            ];
            // Until the client leaves: a write or a pause then returns `Gone`.
            for keep_alive in keep_alives.iter().cycle() {
                let event = match reply.kind {
                    ReplyKind::Endless => format!(
                        "data: {}\n\n",
                        meta.chunk(json!({"content": "more "}), None)
                    ),
                    _ => keep_alive.clone(),
                };
                let frame = format!("{:x}\r\n{event}\r\n", event.len());
                conn.write(frame.as_bytes()).await?;
                conn.pause(every).await?;
            }
            Ok(())
        }
        ReplyKind::Status(code) => {
            conn.pause(reply.first_delay).await?;
            let message = reply
                .error_message
                .clone()
                .unwrap_or_else(|| format!("scripted error {code}"));
            conn.write_json(*code, &error_json(*code, &message), reply.retry_after)
                .await
        }
        ReplyKind::Truncated(_) if !streamed => {
            // Announce the whole body, send half of it, close.
            conn.pause(reply.first_delay).await?;
            let body = completion_json(reply, meta, usage).to_string();
            let head = response_head(
                200,
                "application/json",
                &format!("Content-Length: {}\r\n", body.len()),
                reply.retry_after,
            );
            conn.write(head.as_bytes()).await?;
            conn.write(&body.as_bytes()[..body.len() / 2]).await
        }
        ReplyKind::Text(_) | ReplyKind::ToolCalls(_) if !streamed => {
            conn.pause(reply.first_delay).await?;
            let body = completion_json(reply, meta, usage);
            conn.write_json(200, &body, reply.retry_after).await
        }
        ReplyKind::Text(_) | ReplyKind::ToolCalls(_) | ReplyKind::Truncated(_) => {
            // Complete streams use chunked framing, as real providers do; a truncated one
            // is close-delimited so its end looks like a normal end of body.
            let chunked = !matches!(reply.kind, ReplyKind::Truncated(_));
            let framing = if chunked {
                "Transfer-Encoding: chunked\r\n"
            } else {
                ""
            };
            let head = response_head(
                200,
                "text/event-stream",
                &format!("Cache-Control: no-cache\r\n{framing}"),
                reply.retry_after,
            );
            conn.write(head.as_bytes()).await?;
            conn.pause(reply.first_delay).await?;
            let usage = include_usage.then_some(usage);
            let mut held = Vec::new();
            for (i, data) in stream_events(reply, meta, usage).iter().enumerate() {
                if i > 0 && !reply.one_write {
                    conn.pause(reply.chunk_delay).await?;
                }
                let event = format!("data: {data}\n\n");
                let frame = if chunked {
                    format!("{:x}\r\n{event}\r\n", event.len())
                } else {
                    event
                };
                if reply.one_write {
                    held.extend_from_slice(frame.as_bytes());
                } else {
                    conn.write(frame.as_bytes()).await?;
                }
            }
            if chunked {
                held.extend_from_slice(b"0\r\n\r\n");
            }
            conn.write(&held).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_words_keeps_whitespace_and_round_trips() {
        assert_eq!(split_words("hello world"), ["hello", " world"]);
        assert_eq!(split_words("  a  b\n"), ["  a", "  b", "\n"]);
        assert!(split_words("").is_empty());
    }

    #[test]
    fn split_pieces_respects_char_boundaries() {
        let text = r#"{"path":"/tmp/ééé"}"#;
        let pieces = split_pieces(text);
        assert!(pieces.len() > 3);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| !p.is_empty() && p.len() <= 8));
    }
}
