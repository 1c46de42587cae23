//! Reading a tool config file from disk, parsed by its name's format.

use std::path::Path;

use super::def::ServerDef;
use super::mcp_json::parse_mcp_json;
use super::tools_toml::parse_tools_toml;
use crate::config::ConfigError;

/// Reads and parses a tool config file; a missing file declares no servers.
pub fn load(path: &Path) -> Result<Vec<ServerDef>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ConfigError {
                path: path.display().to_string(),
                line: 1,
                column: 1,
                message: format!("cannot read: {e}"),
            });
        }
    };
    if path.file_name().is_some_and(|n| n == ".mcp.json") {
        parse_mcp_json(&text, path)
    } else {
        parse_tools_toml(&text, path)
    }
}
