//! `tether tools`: the tool servers and their tools.

use std::path::Path;

use serde_json::json;
use tether_shared::protocol::*;

use super::output::print_json;
use crate::client::request_once;
use crate::render;

/// `tether tools [--json]`.
pub(super) async fn tools(socket: &Path, json: bool) -> anyhow::Result<u8> {
    let list: Vec<ToolServerInfo> = request_once(socket, method::TOOLS_LIST, json!({})).await?;
    if json {
        print_json(&list)?;
    } else {
        print!("{}", render::tools(&list));
    }
    Ok(0)
}
