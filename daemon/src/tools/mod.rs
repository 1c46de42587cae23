//! The tools a session can call: the builtins and the tools of MCP servers from
//! the watched tool config files, behind one manager.

pub mod builtin;
pub mod manager;

pub use builtin::{ToolContext, ToolOutput, ToolSpec};
pub use manager::{Scope, ToolChange, ToolManager};
