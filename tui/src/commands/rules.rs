//! `tether approvals NAME [--json]` and `tether approvals NAME --rm ID`: the
//! "always allow" rules that apply to a session.

use std::path::Path;

use tether_shared::protocol::{RuleRemoveParams, SessionRef, method};

use super::output::print_json;
use crate::client::request_once;
use crate::retry::mutate;

/// Lists the session's rules and its project's, oldest first.
pub(super) async fn list(socket: &Path, name: String, json: bool) -> anyhow::Result<u8> {
    let rules = request_once::<method::SessionRules>(socket, &SessionRef { session: name }).await?;
    if json {
        print_json(&rules)?;
    } else {
        print!("{}", crate::render::rules(&rules));
    }
    Ok(0)
}

/// Removes one rule (recorded in the session's log).
pub(super) async fn remove(socket: &Path, name: String, id: u64) -> anyhow::Result<u8> {
    let check = format!("`tether approvals {name}`");
    let params = RuleRemoveParams { session: name, id };
    let (r, _) = mutate::<method::SessionRuleRemove>(socket, &params, None, &check).await?;
    println!("removed rule {}: {}", r.removed.id, r.removed.describe());
    Ok(0)
}
