//! Model Context Protocol: tether's client for external MCP servers.

pub mod client;

pub use client::{McpClient, McpError, McpTool, ServerEvent, ServerSpec, Transport};
