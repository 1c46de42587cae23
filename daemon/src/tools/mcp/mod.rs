//! Model Context Protocol: tether's client for external MCP servers.
//!
//! `client` is the connection ([`McpClient`]: connect, list, call, shut down);
//! `types` and `error` its vocabulary; `handler` receives a server's notifications
//! (rate-limited by `notices`); `progress` routes a call's progress to it, in the
//! order sent; `supervisor` owns the rmcp service loop and the child
//! process that `stdio` starts in its own process group; `tasks` spots task-only
//! tools; `asking` routes a server's questions and sampling requests to the session
//! whose call it serves; `auth` is OAuth for HTTP servers; `content` turns a result into
//! text and images for the model; `resources` lists and reads resources and prompts.

mod asking;
pub(crate) mod auth;
mod client;
mod content;
mod error;
mod handler;
mod notices;
mod progress;
mod resources;
mod stdio;
mod supervisor;
mod tasks;
#[cfg(test)]
mod tests;
mod types;

pub use client::McpClient;
pub use content::{Converter, convert_result};
pub use error::McpError;
pub use resources::Offers;
pub use types::{McpTool, ServerEvent, ServerSpec, Transport};
