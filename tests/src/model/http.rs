//! The HTTP/1.1 side of the scripted model: raw TCP, one request per connection,
//! `Connection: close`. It parses a request into a [`RecordedRequest`] and writes
//! responses, noticing when the client leaves mid-reply.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::Instant;

/// Caps that keep a broken client from growing a buffer without bound.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;

/// One request as the server received it, whatever the reply was.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The request target as sent, query string included.
    pub path: String,
    /// Headers in arrival order, names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body; `Null` when empty, a `String` with the raw text when it was
    /// not JSON (the server answers 400 then).
    pub body: Value,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Authorization` header, e.g. `Bearer sk-test`.
    pub fn authorization(&self) -> Option<String> {
        self.header("authorization").map(str::to_owned)
    }

    /// The body's `messages` array (empty when absent).
    pub fn messages(&self) -> Vec<Value> {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The body's `tools` array (empty when absent).
    pub fn tools(&self) -> Vec<Value> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The body's `model` field.
    pub fn model(&self) -> Option<String> {
        self.body
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The whole body serialized, for "contains" asserts.
    pub fn request_text(&self) -> String {
        self.body.to_string()
    }

    /// The prompt tokens of this request as the server counts them (see
    /// [`count_tokens`](super::count_tokens)).
    pub fn prompt_tokens(&self) -> u64 {
        super::count_tokens(&self.body)
    }

    /// The text of the last `user` message (a string content, or its text parts joined);
    /// `None` when there is no user message.
    pub fn last_user_text(&self) -> Option<String> {
        let messages = self.messages();
        let last = messages.iter().rev().find(|m| m["role"] == "user")?;
        Some(match &last["content"] {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        })
    }

    /// The text of the `system` messages, joined by newlines (empty when none).
    pub fn system_text(&self) -> String {
        self.messages()
            .iter()
            .filter(|m| m["role"] == "system")
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The client went away before the reply was complete.
pub(super) struct Gone;

/// One HTTP/1.1 request as it came off the wire, its body as bytes: what every
/// scripted server of the harness reads (chat completions, Anthropic, Responses).
pub(crate) struct RawRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    /// Names lowercased, values trimmed, in arrival order.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl RawRequest {
    /// The body as JSON: `Null` when empty.
    pub(crate) fn json(&self) -> Result<Value, serde_json::Error> {
        if self.body.is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_slice(&self.body)
        }
    }
}

/// Reads one request with a `Content-Length` body: `Ok(None)` when the client
/// closed without sending anything, `Err` with a message for a request that
/// cannot be read (a head or body over the caps, a chunked body, a cut).
pub(crate) async fn read_raw<R: AsyncRead + Unpin>(
    rd: &mut R,
) -> Result<Option<RawRequest>, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("request head exceeds {MAX_HEAD} bytes"));
        }
        let n = rd
            .read(&mut chunk)
            .await
            .map_err(|err| format!("failed to read the request: {err}"))?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err("connection closed inside the request head".to_owned())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };

    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| "request head is not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path), Some(_version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("malformed request line: {request_line:?}"));
    };
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("malformed header line: {line:?}"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if header("transfer-encoding").is_some() {
        return Err("chunked request bodies are not supported; send Content-Length".into());
    }
    let length = match header("content-length") {
        None => 0,
        Some(value) => value
            .parse::<usize>()
            .map_err(|_| format!("bad Content-Length: {value:?}"))?,
    };
    if length > MAX_BODY {
        return Err(format!("request body exceeds {MAX_BODY} bytes"));
    }

    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = rd
            .read(&mut chunk)
            .await
            .map_err(|err| format!("failed to read the request body: {err}"))?;
        if n == 0 {
            return Err(format!(
                "connection closed after {} of {length} body bytes",
                body.len()
            ));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(RawRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body,
    }))
}

/// A parsed request and, when its body was not JSON, why.
pub(super) struct Parsed {
    pub(super) request: RecordedRequest,
    pub(super) body_error: Option<String>,
}
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Scripted",
    }
}
/// The status line and headers of a response.
pub(super) fn response_head(
    status: u16,
    content_type: &str,
    extra: &str,
    retry_after: Option<u64>,
) -> String {
    let retry = retry_after
        .map(|secs| format!("Retry-After: {secs}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\n{extra}{retry}Connection: close\r\n\r\n",
        reason_phrase(status)
    )
}

/// One accepted connection, split so the read side can watch for the client leaving while
/// the write side streams.
pub(super) struct Conn {
    pub(super) rd: OwnedReadHalf,
    pub(super) wr: OwnedWriteHalf,
}

impl Conn {
    /// Reads one request: `Ok(None)` when the client closed without sending anything,
    /// `Err` with a message for a request this server cannot parse.
    pub(super) async fn read_request(&mut self) -> Result<Option<Parsed>, String> {
        let Some(raw) = read_raw(&mut self.rd).await? else {
            return Ok(None);
        };
        let (body, body_error) = match raw.json() {
            Ok(value) => (value, None),
            Err(err) => (
                Value::String(String::from_utf8_lossy(&raw.body).into_owned()),
                Some(err.to_string()),
            ),
        };
        Ok(Some(Parsed {
            request: RecordedRequest {
                method: raw.method,
                path: raw.path,
                headers: raw.headers,
                body,
            },
            body_error,
        }))
    }

    pub(super) async fn write(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        self.wr.write_all(bytes).await.map_err(|_| Gone)?;
        self.wr.flush().await.map_err(|_| Gone)
    }

    pub(super) async fn write_json(
        &mut self,
        status: u16,
        body: &Value,
        retry_after: Option<u64>,
    ) -> Result<(), Gone> {
        let body = body.to_string();
        let head = response_head(
            status,
            "application/json",
            &format!("Content-Length: {}\r\n", body.len()),
            retry_after,
        );
        self.write(head.as_bytes()).await?;
        self.write(body.as_bytes()).await
    }

    /// What llama-cpp-python's server sends for a streamed request over its window: a 200
    /// event stream that ends at once, with no event at all.
    pub(super) async fn write_silent_stream(&mut self) -> Result<(), Gone> {
        let head = response_head(
            200,
            "text/event-stream",
            "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n",
            None,
        );
        self.write(head.as_bytes()).await?;
        self.write(b"0\r\n\r\n").await
    }

    /// Sleeps for `delay`, returning early with `Gone` if the client closes meanwhile.
    pub(super) async fn pause(&mut self, delay: Duration) -> Result<(), Gone> {
        if delay.is_zero() {
            return Ok(());
        }
        let deadline = Instant::now() + delay;
        let mut scratch = [0u8; 1024];
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return Ok(()),
                read = self.rd.read(&mut scratch) => match read {
                    Ok(0) | Err(_) => return Err(Gone),
                    // Bytes after the request (pipelining) are not served; drop them.
                    Ok(_) => {}
                },
            }
        }
    }

    /// Waits, without answering, until the client closes the connection.
    pub(super) async fn wait_closed(&mut self) -> Gone {
        let mut scratch = [0u8; 1024];
        loop {
            match self.rd.read(&mut scratch).await {
                Ok(0) | Err(_) => return Gone,
                Ok(_) => {}
            }
        }
    }

    /// Ends a completed response: FIN after the last byte, which also ends a
    /// close-delimited body.
    pub(super) async fn finish(mut self) {
        let _ = self.wr.shutdown().await;
    }
}
