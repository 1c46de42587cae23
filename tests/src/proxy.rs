//! A recording HTTP proxy: it keeps each request's target and body exactly as the
//! client wrote them
//! (the scripted model servers keep the parsed JSON, which loses key order and
//! spacing) and passes the request on to an upstream server, piping its answer back.
//! For tests that compare requests byte for byte. One request per connection.

// Harness code fails the test loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// One request that passed through.
#[derive(Debug, Clone)]
pub struct Proxied {
    /// The request target, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The body exactly as written.
    pub body: String,
}

/// A proxy on `127.0.0.1` in front of `upstream`, serving until dropped.
pub struct RecordingProxy {
    addr: SocketAddr,
    bodies: Arc<watch::Sender<Vec<Proxied>>>,
    task: JoinHandle<()>,
}

impl RecordingProxy {
    /// Starts a proxy that forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("failed to bind the recording proxy");
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(watch::Sender::new(Vec::new()));
        let task = tokio::spawn(serve(listener, upstream, Arc::clone(&bodies)));
        RecordingProxy { addr, bodies, task }
    }

    /// The OpenAI-style base URL through the proxy.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The raw bodies of the requests to `path` so far, in arrival order.
    pub fn bodies(&self, path: &str) -> Vec<String> {
        of(&self.bodies.borrow(), path)
    }

    /// Waits until at least `n` requests to `path` have passed and returns their
    /// bodies; panics after `timeout`.
    pub async fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<String> {
        let mut rx = self.bodies.subscribe();
        match tokio::time::timeout(timeout, async {
            rx.wait_for(|b| of(b, path).len() >= n)
                .await
                .map(|b| of(&b, path))
        })
        .await
        {
            Ok(Ok(bodies)) => bodies,
            _ => panic!(
                "timed out after {timeout:?} waiting for {n} proxied request(s); saw {}",
                self.bodies(path).len()
            ),
        }
    }
}

fn of(all: &[Proxied], path: &str) -> Vec<String> {
    all.iter()
        .filter(|p| p.path == path)
        .map(|p| p.body.clone())
        .collect()
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    upstream: SocketAddr,
    bodies: Arc<watch::Sender<Vec<Proxied>>>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(forward(stream, upstream, Arc::clone(&bodies)));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    bodies: Arc<watch::Sender<Vec<Proxied>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + 4 + length {
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end + 4..head_end + 4 + length]).into_owned();
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    bodies.send_modify(|b| b.push(Proxied { path, body }));
    let Ok(mut up) = TcpStream::connect(upstream).await else {
        return;
    };
    if up.write_all(&buf).await.is_err() {
        return;
    }
    let _ = tokio::io::copy(&mut up, &mut client).await;
    let _ = client.shutdown().await;
}
