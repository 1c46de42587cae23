//! The tools a session can call: the builtins and the tools of MCP servers from
//! the watched tool config files, behind one manager.

pub mod builtin;
mod files;
pub mod manager;
pub mod preview;
mod shell;
mod supervisor;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod test_support;

pub use builtin::{ToolContext, ToolOutput, ToolSpec};
pub use manager::{Scope, ToolChange, ToolManager};
