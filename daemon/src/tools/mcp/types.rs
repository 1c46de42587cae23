//! The MCP client's vocabulary: how to reach a server, the tools it offers, what a call
//! answered, and what the client reports asynchronously.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rmcp::model::Tool;

/// How to reach a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A child process speaking newline-delimited JSON-RPC on stdin/stdout.
    Stdio {
        /// The program, looked up in `PATH` unless it contains a `/`.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Added to (or overriding) the daemon's own environment.
        env: BTreeMap<String, String>,
        /// Working directory; the daemon's own when `None`.
        cwd: Option<PathBuf>,
    },
    /// A streamable HTTP endpoint.
    Http {
        /// The endpoint URL, e.g. `http://127.0.0.1:3001/mcp`.
        url: String,
        /// Sent with every request (e.g. `Authorization`).
        headers: BTreeMap<String, String>,
    },
}

/// One server definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// The name the user gave the server; used in every message about it.
    pub name: String,
    /// How to reach it.
    pub transport: Transport,
    /// Limit for each request (`tools/list` with all its pages, `tools/call`).
    /// Startup gets at least [`MIN_STARTUP_TIMEOUT`](super::client::MIN_STARTUP_TIMEOUT).
    pub timeout: Duration,
}

/// A tool a server offers.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTool {
    /// The tool's name on the server.
    pub name: String,
    /// Its description (empty when the server gives none).
    pub description: String,
    /// JSON Schema of its arguments.
    pub input_schema: serde_json::Value,
}

/// What the client reports asynchronously.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The server sent `notifications/tools/list_changed`.
    ToolsChanged,
    /// The server sent `notifications/resources/list_changed`.
    ResourcesChanged,
    /// The server sent `notifications/resources/updated` for a resource tether
    /// subscribed to.
    ResourceUpdated {
        /// The resource.
        uri: String,
    },
    /// The connection ended (transport closed, process exited) other than by
    /// [`McpClient::shutdown`](super::McpClient::shutdown). Sent once. `error`
    /// is `None` only when a stdio server exited with status 0.
    Closed {
        /// Why, in one line for users.
        error: Option<String>,
    },
}

impl From<Tool> for McpTool {
    fn from(tool: Tool) -> Self {
        McpTool {
            name: tool.name.into_owned(),
            description: tool.description.map(|d| d.into_owned()).unwrap_or_default(),
            input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
        }
    }
}
