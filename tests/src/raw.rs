//! A raw protocol peer: bytes on the socket, for malformed-input tests.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

/// A raw connection.
pub struct Raw {
    reader: BufReader<OwnedReadHalf>,
    // Notifications read while waiting for a response, kept for `read`.
    held: VecDeque<Value>,
    /// The write side.
    pub writer: OwnedWriteHalf,
}

impl Raw {
    /// Connects without a handshake.
    pub async fn connect(socket: &Path) -> Raw {
        let s = UnixStream::connect(socket)
            .await
            .expect("connect to the daemon socket");
        let (r, w) = s.into_split();
        Raw {
            reader: BufReader::new(r),
            held: VecDeque::new(),
            writer: w,
        }
    }

    /// Connects and says hello.
    pub async fn hello(socket: &Path) -> Raw {
        let mut r = Raw::connect(socket).await;
        let v = r.call(json!({"jsonrpc": "2.0", "id": 0, "method": "hello", "params": {"protocol_version": 1}})).await;
        assert_eq!(v["result"]["protocol_version"], 1, "{v}");
        r
    }

    /// Writes bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    /// Reads one line as JSON (10 s limit); `None` at EOF.
    pub async fn read(&mut self) -> Option<Value> {
        if let Some(v) = self.held.pop_front() {
            return Some(v);
        }
        self.read_wire().await
    }

    async fn read_wire(&mut self) -> Option<Value> {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
            .await
            .expect("a reply within 10 s")
            .expect("read");
        if n == 0 {
            return None;
        }
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("daemon sent non-JSON {line:?}: {e}")),
        )
    }

    /// Reads until a response; notifications on the way are kept for `read`.
    pub async fn response(&mut self) -> Value {
        loop {
            let v = self.read_wire().await.expect("a response, not EOF");
            if v.get("method").is_none() {
                return v;
            }
            self.held.push_back(v);
        }
    }

    /// Sends a message and reads its response.
    pub async fn call(&mut self, msg: Value) -> Value {
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(b'\n');
        self.send_raw(&bytes).await;
        self.response().await
    }

    /// A request by method and params.
    pub async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.call(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await
    }
}
