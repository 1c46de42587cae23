//! Streamable HTTP servers: against server-everything's HTTP mode, an unreachable
//! one, and headers the transport owns.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;

use super::support::*;
use crate::tools::mcp::{McpClient, McpError, ServerSpec, Transport};

/// server-everything's streamable HTTP mode, on a free port; killed on drop.
struct HttpServer {
    child: tokio::process::Child,
    url: String,
}

impl HttpServer {
    async fn start() -> Option<HttpServer> {
        let bin = npm_server("mcp-server-everything")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new(bin)
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "server-everything did not listen on port {port} within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(HttpServer {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        })
    }
}

#[tokio::test]
async fn streamable_http_lists_and_echoes() {
    let Some(mut server) = HttpServer::start().await else {
        return;
    };
    let spec = ServerSpec {
        name: "everything-http".to_string(),
        transport: Transport::Http {
            url: server.url.clone(),
            headers: BTreeMap::from([("X-Tether-Test".to_string(), "1".to_string())]),
        },
        timeout: Duration::from_secs(20),
    };
    let (client, _rx) = connect(&spec).await;
    assert_eq!(client.pid(), None);
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let (text, is_error) = client
        .call_tool("echo", json!({"message": "over http"}))
        .await
        .unwrap();
    assert_eq!((text.as_str(), is_error), ("Echo: over http", false));
    client.shutdown().await;
    server.child.kill().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_http_server_fails_clearly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let spec = ServerSpec {
        name: "nowhere".to_string(),
        transport: Transport::Http {
            url: url.clone(),
            headers: BTreeMap::new(),
        },
        timeout: Duration::from_secs(5),
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = McpClient::connect(&spec, tx).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot connect to server nowhere at {url}: ")),
        "{text}"
    );
    assert!(text.contains("Connection refused"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn reserved_http_headers_are_rejected() {
    let spec = ServerSpec {
        name: "h".to_string(),
        transport: Transport::Http {
            url: "http://127.0.0.1:1/mcp".to_string(),
            headers: BTreeMap::from([("Mcp-Session-Id".to_string(), "x".to_string())]),
        },
        timeout: Duration::from_secs(5),
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = McpClient::connect(&spec, tx).await.unwrap_err();
    assert!(matches!(err, McpError::InvalidConfig { .. }), "{err}");
}
