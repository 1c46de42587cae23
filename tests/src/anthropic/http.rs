//! The HTTP/1.1 side of the scripted Anthropic server: raw TCP, one request per
//! connection, `Connection: close`, requests recorded as the OpenAI double records
//! them ([`RecordedRequest`]).

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub use crate::model::RecordedRequest;

/// The client went away before the reply was complete.
pub(super) struct Gone;

/// One accepted connection.
pub(super) struct Conn {
    pub(super) stream: TcpStream,
}

impl Conn {
    /// Reads one request: `Ok(None)` when the client closed without sending anything.
    pub(super) async fn read_request(&mut self) -> Result<Option<RecordedRequest>, String> {
        let Some(raw) = crate::model::http::read_raw(&mut self.stream).await? else {
            return Ok(None);
        };
        let body = raw
            .json()
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw.body).into_owned()));
        Ok(Some(RecordedRequest {
            method: raw.method,
            path: raw.path,
            headers: raw.headers,
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
