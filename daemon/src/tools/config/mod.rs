//! Tool config files: the global `tools.toml` and a session directory's
//! `.mcp.json`, parsed into server definitions with file/line/column errors.
//!
//! `tools_toml` and `mcp_json` are the two formats (`.mcp.json` in Claude Code's
//! `mcpServers` or VS Code's `servers`); both check their entries through `entry`,
//! which expands `${VAR}` references (see `expand`); `load` reads a file by its name;
//! `def` is what they produce.

mod def;
mod entry;
mod expand;
mod load;
mod mcp_json;
#[cfg(test)]
mod tests;
mod tools_toml;

pub use def::ServerDef;
pub use entry::{SESSION_SOURCE, session_defs};
pub use load::load;
