//! The tools a session can call: the builtins and the tools of MCP servers from
//! the watched tool config files, behind one manager.
//!
//! `manager` decides which servers run for whom from the config files (parsed in
//! `config`); `server` is one server's definition and live state, which its task in
//! `supervisor` keeps running and writes; `calls` routes what a session sees and
//! calls; `change` is what sessions are told when their tool set changes; `names`
//! the names the model knows MCP tools by; `login` the OAuth logins of HTTP servers. `builtin` and `mcp` are the two kinds
//! of tool.

pub(crate) mod builtin;
mod calls;
mod change;
mod config;
mod login;
mod manager;
mod mcp;
mod names;
pub(crate) mod preview;
mod server;
mod supervisor;
mod types;

pub use change::ToolChange;
pub use manager::ToolManager;
pub use types::{SessionLog, ToolContext, ToolOutput, ToolSpec};
