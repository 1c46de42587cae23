//! `tether tools`: the tool servers and their tools.

use tether_shared::protocol::{ToolsParams, method};

use super::output::print_json;
use crate::client::Target;
use crate::render;

/// `tether tools [--json]`.
pub(super) async fn tools(target: &Target, json: bool) -> anyhow::Result<u8> {
    let list = target
        .request_once::<method::ToolsList>(&ToolsParams::default())
        .await?;
    if json {
        print_json(&list)?;
    } else {
        print!("{}", render::tools(&list));
    }
    Ok(0)
}
