//! Model Context Protocol: tether's client for external MCP servers.
//!
//! `client` is the connection ([`McpClient`]: connect, list, call, shut down);
//! `types` and `error` its vocabulary; `handler` receives a server's notifications
//! (rate-limited by `notices`); `supervisor` owns the rmcp service loop and the child
//! process that `stdio` starts in its own process group; `tasks` spots task-only
//! tools; `auth` is OAuth for HTTP servers; `content` turns a result into text and images for the model.

pub(crate) mod auth;
mod client;
mod content;
mod error;
mod handler;
mod notices;
mod stdio;
mod supervisor;
mod tasks;
#[cfg(test)]
mod tests;
mod types;

pub use client::McpClient;
pub use error::McpError;
pub use types::{McpTool, ServerEvent, ServerSpec, Transport};
