//! The HTTP/1.1 side of the scripted Anthropic server: raw TCP, one request per
//! connection, `Connection: close`, requests recorded as the OpenAI double records
//! them ([`RecordedRequest`]).

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use crate::model::RecordedRequest;

/// Caps that keep a broken client from growing a buffer without bound.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The client went away before the reply was complete.
pub(super) struct Gone;

/// One accepted connection.
pub(super) struct Conn {
    pub(super) stream: TcpStream,
}

impl Conn {
    /// Reads one request: `Ok(None)` when the client closed without sending anything.
    pub(super) async fn read_request(&mut self) -> Result<Option<RecordedRequest>, String> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            if buf.len() > MAX_HEAD {
                return Err(format!("request head exceeds {MAX_HEAD} bytes"));
            }
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("failed to read the request: {e}"))?;
            if n == 0 {
                return if buf.is_empty() {
                    Ok(None)
                } else {
                    Err("connection closed inside the request head".into())
                };
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&buf[..head_end])
            .map_err(|_| "request head is not UTF-8".to_string())?;
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return Err(format!("malformed request line: {request_line:?}"));
        };
        let mut headers = Vec::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!("malformed header line: {line:?}"));
            };
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(Ok(0), |(_, v)| v.parse::<usize>())
            .map_err(|_| "bad Content-Length".to_string())?;
        if length > MAX_BODY {
            return Err(format!("request body exceeds {MAX_BODY} bytes"));
        }
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("failed to read the request body: {e}"))?;
            if n == 0 {
                return Err("connection closed inside the request body".into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(length);
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
        };
        Ok(Some(RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            headers,
            body,
        }))
    }

    pub(super) async fn write(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        self.stream.write_all(bytes).await.map_err(|_| Gone)?;
        self.stream.flush().await.map_err(|_| Gone)
    }

    /// A JSON answer with `status`, and `retry-after` when given.
    pub(super) async fn write_json(
        &mut self,
        status: u16,
        body: &Value,
        retry_after: Option<u64>,
    ) -> Result<(), Gone> {
        let body = body.to_string();
        let retry = retry_after
            .map(|s| format!("retry-after: {s}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n{retry}connection: close\r\n\r\n",
            body.len()
        );
        self.write(head.as_bytes()).await?;
        self.write(body.as_bytes()).await
    }

    /// The head of a 200 event stream (close-delimited).
    pub(super) async fn start_stream(&mut self) -> Result<(), Gone> {
        self.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
              connection: close\r\n\r\n",
        )
        .await
    }

    /// One SSE event, `event:` name and JSON data.
    pub(super) async fn event(&mut self, name: &str, data: &Value) -> Result<(), Gone> {
        self.write(format!("event: {name}\ndata: {data}\n\n").as_bytes())
            .await
    }

    /// FIN after the last byte, which ends a close-delimited body.
    pub(super) async fn finish(mut self) {
        let _ = self.stream.shutdown().await;
    }
}
