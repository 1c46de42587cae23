//! Errors from connecting to or calling an MCP server, and the one-line texts they are
//! made from (rmcp's errors and their causes).

use std::time::Duration;

use rmcp::service::ClientInitializeError;
use rmcp::transport::DynamicTransportError;
use rmcp::transport::streamable_http_client::StreamableHttpError;

/// Errors from connecting to or calling an MCP server. Each displays as one
/// line naming the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The stdio command does not exist.
    #[error("cannot start server {server}: command `{command}` not found")]
    CommandNotFound {
        /// Server name.
        server: String,
        /// The command as configured.
        command: String,
    },
    /// A stdio server could not be started or failed during `initialize`.
    #[error("cannot start server {server}: {reason}{}", stderr_suffix(stderr))]
    Start {
        /// Server name.
        server: String,
        /// What went wrong.
        reason: String,
        /// The last lines it wrote to stderr (up to 20), oldest first.
        stderr: Vec<String>,
    },
    /// An HTTP server could not be reached or failed during `initialize`.
    #[error("cannot connect to server {server} at {url}: {reason}")]
    Connect {
        /// Server name.
        server: String,
        /// The configured URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server definition cannot be used.
    #[error("invalid configuration for server {server}: {reason}")]
    InvalidConfig {
        /// Server name.
        server: String,
        /// What is wrong.
        reason: String,
    },
    /// No answer within the server's timeout; the request was cancelled.
    #[error("server {server} did not answer {request} within {timeout:?}")]
    Timeout {
        /// Server name.
        server: String,
        /// The request, e.g. "tools/call `echo`".
        request: String,
        /// The limit that passed.
        timeout: Duration,
    },
    /// The connection is gone (server exited, transport closed, or shut down).
    #[error("server {server} is not connected: its connection closed")]
    Closed {
        /// Server name.
        server: String,
    },
    /// The server answered with a JSON-RPC error.
    #[error("server {server} rejected {request}: {message} (error {code})")]
    Rpc {
        /// Server name.
        server: String,
        /// The request, e.g. "tools/call `echo`".
        request: String,
        /// The JSON-RPC error code.
        code: i32,
        /// The server's message.
        message: String,
    },
    /// The arguments cannot be sent as tool arguments.
    #[error("invalid arguments for tool `{tool}` of server {server}: {reason}")]
    InvalidArguments {
        /// Server name.
        server: String,
        /// Tool name.
        tool: String,
        /// What is wrong.
        reason: String,
    },
    /// The request could not be sent (the connection is broken).
    #[error("server {server}: {request} failed: {reason}")]
    Transport {
        /// Server name.
        server: String,
        /// The request, e.g. "tools/call `echo`".
        request: String,
        /// What went wrong.
        reason: String,
    },
    /// The server broke the protocol.
    #[error("server {server}: {request} failed: {reason}")]
    Protocol {
        /// Server name.
        server: String,
        /// The request, e.g. "tools/list".
        request: String,
        /// What went wrong.
        reason: String,
    },
}

/// At most this many stderr lines go into an error's one-line message; the
/// `stderr` field keeps them all.
const STDERR_LINES_IN_MESSAGE: usize = 5;

fn stderr_suffix(stderr: &[String]) -> String {
    let shown: Vec<&str> = stderr
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let from = shown.len().saturating_sub(STDERR_LINES_IN_MESSAGE);
    format!("; stderr: {}", shown[from..].join(" | "))
}

pub(super) fn init_error_reason(error: &ClientInitializeError) -> String {
    match error {
        ClientInitializeError::ConnectionClosed(_) => {
            "the server closed the connection during initialize".to_string()
        }
        ClientInitializeError::JsonRpcError(data) => format!(
            "initialize was rejected: {} (error {})",
            data.message, data.code.0
        ),
        ClientInitializeError::TransportError { error, context } => {
            format!("cannot {context}: {}", transport_error_text(error))
        }
        other => error_chain(other),
    }
}

/// A transport error for users: without rmcp's wrapper (which names the
/// transport's Rust type) and with the HTTP client's causes, which rmcp does
/// not chain as sources (e.g. "Connection refused").
pub(super) fn transport_error_text(error: &DynamicTransportError) -> String {
    match error
        .error
        .downcast_ref::<StreamableHttpError<reqwest::Error>>()
    {
        Some(StreamableHttpError::Client(e)) => error_chain(e),
        _ => error_chain(&*error.error),
    }
}

/// An error and its sources in one line, skipping a source whose text the
/// previous message already contains.
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}
