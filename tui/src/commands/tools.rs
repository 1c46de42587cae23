//! `tether tools`: the tool servers and their tools.

use std::path::Path;

use tether_shared::protocol::{ToolsParams, method};

use super::output::print_json;
use crate::client::request_once;
use crate::render;

/// `tether tools [--json]`.
pub(super) async fn tools(socket: &Path, json: bool) -> anyhow::Result<u8> {
    let list = request_once::<method::ToolsList>(socket, &ToolsParams::default()).await?;
    if json {
        print_json(&list)?;
    } else {
        print!("{}", render::tools(&list));
    }
    Ok(0)
}
