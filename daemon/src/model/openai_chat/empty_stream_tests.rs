//! llama-cpp-python's overflow: a streamed request over its window gets a 200 event
//! stream with nothing in it; asked again without streaming, it says why.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::OpenAiChat;
use crate::config::{Provider, ProviderKind, ResolvedModel, Retry};
use crate::model::error::ModelErrorKind;
use crate::model::provider::ModelProvider;
use crate::model::stub::{Answer, serve};
use crate::model::{Message, ModelRequest, Part, Role};

/// llama-cpp-python 0.3.36's answer to an unstreamed request over `--n_ctx 2048`.
const OVERFLOW: &str = r#"{"error":{"message":"This model's maximum context length is 2048 tokens. However, you requested 3031 tokens (3031 in the messages, None in the completion). Please reduce the length of the messages or completion.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;

const ANSWER: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"smollm2","choices":[{"index":0,"message":{"content":"Hi there.","role":"assistant"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":33,"completion_tokens":4,"total_tokens":37}}"#;

/// A server that answers every streamed request with an empty event stream, and every
/// other one with `unstreamed`.
async fn llama_like(unstreamed: Answer) -> (OpenAiChat, crate::model::stub::Seen) {
    let (base, seen) = serve(Arc::new(move |_route, body| {
        let streamed = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|b| b["stream"].as_bool())
            == Some(true);
        if streamed {
            (200, "text/event-stream; charset=utf-8", String::new())
        } else {
            unstreamed.clone()
        }
    }))
    .await;
    let resolved = ResolvedModel {
        provider: Provider {
            name: "llama".into(),
            kind: ProviderKind::OpenAi,
            base_url: base,
            api_key_env: None,
            headers: Default::default(),
            images: true,
            audio: false,
            prompt_cache_key: false,
        },
        model: "smollm2".into(),
        settings: Default::default(),
    };
    let retry = Retry {
        stall_timeout: Duration::from_secs(5),
        ..Retry::default()
    };
    (
        OpenAiChat::new(reqwest::Client::new(), resolved, &retry),
        seen,
    )
}

fn request() -> ModelRequest {
    ModelRequest {
        messages: vec![Arc::new(Message {
            role: Role::User,
            parts: vec![Part::Text("word ".repeat(3000))],
        })],
        tools: Vec::new(),
        no_tool_calls: false,
        cache_key: None,
    }
}

fn streams(seen: &crate::model::stub::Seen) -> Vec<Option<bool>> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(_, _, body)| serde_json::from_str::<Value>(body).unwrap()["stream"].as_bool())
        .collect()
}

#[tokio::test]
async fn an_empty_stream_is_asked_again_unstreamed_and_the_overflow_named() {
    let (provider, seen) = llama_like((400, "application/json", OVERFLOW.into())).await;
    let (tx, _rx) = mpsc::unbounded_channel();
    let e = provider.stream(&request(), &tx).await.unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::ContextLength, "{e}");
    assert_eq!(e.window, Some(2048));
    assert!(!e.retryable);
    assert!(
        e.message.starts_with(
            "model endpoint returned HTTP 400: This model's maximum context length is 2048 tokens."
        ),
        "{e}"
    );
    assert_eq!(streams(&seen), [Some(true), Some(false)]);
    let unstreamed: Value = serde_json::from_str(&seen.lock().unwrap()[1].2).unwrap();
    assert!(
        unstreamed.get("stream_options").is_none(),
        "no stream_options without streaming: {unstreamed}"
    );
}

#[tokio::test]
async fn an_empty_stream_that_was_not_an_overflow_gets_the_answer() {
    let (provider, seen) = llama_like((200, "application/json", ANSWER.into())).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reply = provider.stream(&request(), &tx).await.unwrap();
    assert_eq!(reply.text, "Hi there.");
    assert_eq!(reply.finish_reason, "stop");
    assert_eq!(rx.try_recv().unwrap(), "Hi there.");
    assert_eq!(streams(&seen).len(), 2);
}

#[tokio::test]
async fn empty_both_ways_is_a_retryable_server_error() {
    let (provider, seen) =
        llama_like((200, "text/event-stream; charset=utf-8", String::new())).await;
    let (tx, _rx) = mpsc::unbounded_channel();
    let e = provider.stream(&request(), &tx).await.unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::Server);
    assert!(e.retryable);
    assert!(e.message.contains("empty event stream"), "{e}");
    assert_eq!(streams(&seen), [Some(true), Some(false)]);
}

/// Reads one request (head and body) from `conn`; false when the client closed first.
async fn read_request(conn: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < at + 4 + length {
                match conn.read(&mut chunk).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            return true;
        }
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn the_re_ask_survives_the_server_closing_the_empty_streams_connection() {
    use tokio::io::AsyncWriteExt;
    // As uvicorn does after llama-cpp-python's overflow: the empty stream is framed as
    // complete and the connection kept alive, but the next request on it is never answered.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut first, _) = listener.accept().await.unwrap();
        assert!(read_request(&mut first).await);
        first
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\
                  Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            )
            .await
            .unwrap();
        read_request(&mut first).await;
        drop(first);
        let (mut second, _) = listener.accept().await.unwrap();
        assert!(read_request(&mut second).await);
        let reply = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{OVERFLOW}",
            OVERFLOW.len()
        );
        second.write_all(reply.as_bytes()).await.unwrap();
    });
    let (mut provider, _) = llama_like((500, "application/json", String::new())).await;
    provider.resolved.provider.base_url = base;
    let (tx, _rx) = mpsc::unbounded_channel();
    let e = provider.stream(&request(), &tx).await.unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::ContextLength, "{e}");
    assert_eq!(e.window, Some(2048));
}
