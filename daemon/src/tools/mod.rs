//! The tools a session can call: the builtins and the tools of MCP servers from
//! the watched tool config files, behind one manager.
//!
//! `manager` decides which servers run for whom from the config files (parsed in
//! `config`); `server` is one server's definition and live state, which its task in
//! `supervisor` keeps running and writes; `calls` routes what a session sees and
//! calls; `change` is what sessions are told when their tool set changes; `names`
//! the names the model knows MCP tools by; `asks` what a server asks of the session
//! whose call it serves (questions, sampling); `resources` the resource tools
//! (`mcp_resources`, `mcp_read_resource`) over what `resource_state` keeps of each
//! server's resources; `prompts` the servers' prompts for `tether prompts`; `login` the
//! OAuth logins of HTTP servers. `builtin` and `mcp` are the two kinds
//! of tool.

mod asks;
pub(crate) mod builtin;
mod calls;
mod change;
mod config;
mod login;
mod manager;
mod mcp;
mod names;
pub(crate) mod preview;
mod prompts;
mod resource_state;
mod resources;
mod server;
mod supervisor;
mod types;

pub use asks::{AskKind, AskReply, Sampled, ServerAsk};
pub use change::ToolChange;
pub use manager::ToolManager;
pub use types::{SessionLog, ToolContext, ToolOutput, ToolSpec};
