//! The tools a session can call: the builtins now, MCP servers later, behind one
//! router that lists what is on offer and runs a call by name.

pub mod builtin;

pub use builtin::{ToolContext, ToolOutput, ToolSpec};
use tether_shared::protocol::{ServerStatus, ToolServerInfo};

/// Routes tool calls to their implementation.
#[derive(Debug, Default)]
pub struct ToolRouter {}

impl ToolRouter {
    /// A router with the builtin tools.
    pub fn new() -> Self {
        ToolRouter {}
    }

    /// The tools offered to a session's model.
    pub fn specs(&self) -> Vec<ToolSpec> {
        builtin::builtin_specs()
    }

    /// Runs one call.
    pub async fn call(
        &self,
        tool: &str,
        arguments: &serde_json::Value,
        ctx: &ToolContext,
    ) -> ToolOutput {
        if builtin::is_builtin(tool) {
            builtin::run_builtin(tool, arguments, ctx).await
        } else {
            ToolOutput {
                output: format!("unknown tool {tool:?}"),
                is_error: true,
            }
        }
    }

    /// Tool servers and their state, for `tether tools`.
    pub fn servers(&self) -> Vec<ToolServerInfo> {
        vec![ToolServerInfo {
            name: "builtin".into(),
            source: "builtin".into(),
            status: ServerStatus::Running,
            tools: builtin::BUILTIN_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            error: None,
        }]
    }
}
