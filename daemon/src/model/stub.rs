//! A tiny HTTP server for the model module's tests: it answers each request from a
//! table of routes, or from a function of the request, and records what it received.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// `METHOD /path` → (status, JSON text); anything else is a 404. Status 0 never answers.
pub type Routes = BTreeMap<&'static str, (u16, &'static str)>;

/// The requests received: `METHOD /path`, the `Authorization` header, the body.
pub type Seen = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

/// An answer: status (0: never answer), content type, body.
pub type Answer = (u16, &'static str, String);

/// A function from (`METHOD /path`, body) to the answer.
pub type Handler = Arc<dyn Fn(&str, &str) -> Answer + Send + Sync>;

/// Serves `routes` on 127.0.0.1 until the test ends; returns the base URL (`…/v1`) and
/// the record of requests.
pub async fn stub(routes: Routes) -> (String, Seen) {
    serve(Arc::new(move |route, _body| {
        let (status, text) = routes.get(route).copied().unwrap_or((404, "{}"));
        (status, "application/json", text.to_string())
    }))
    .await
}

/// Serves `handler` on 127.0.0.1 until the test ends (see [`stub`]).
pub async fn serve(handler: Handler) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let handler = Arc::clone(&handler);
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at;
                    }
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let header = |name: &str| {
                    head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                    })
                };
                let length: usize = header("content-length")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let mut body = buf[head_end + 4..].to_vec();
                while body.len() < length {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => body.extend_from_slice(&chunk[..n]),
                    }
                }
                let mut words = head.split_whitespace();
                let route = format!(
                    "{} {}",
                    words.next().unwrap_or(""),
                    words.next().unwrap_or("")
                );
                let body = String::from_utf8_lossy(&body).to_string();
                let (status, content_type, text) = handler(&route, &body);
                record
                    .lock()
                    .unwrap()
                    .push((route, header("authorization"), body));
                if status == 0 {
                    std::future::pending::<()>().await;
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (format!("http://{addr}/v1"), seen)
}
