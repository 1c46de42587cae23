//! `tether approvals NAME [--json]` and `tether approvals NAME --rm ID`: the
//! "always allow" rules that apply to a session.

use tether_shared::protocol::{RuleRemoveParams, SessionRef, method};

use super::output::print_json;
use crate::client::Target;
use crate::retry::mutate;

/// Lists the session's rules and its project's, oldest first.
pub(super) async fn list(target: &Target, name: String, json: bool) -> anyhow::Result<u8> {
    let rules = target
        .request_once::<method::SessionRules>(&SessionRef { session: name })
        .await?;
    if json {
        print_json(&rules)?;
    } else {
        print!("{}", crate::render::rules(&rules));
    }
    Ok(0)
}

/// Removes one rule (recorded in the session's log).
pub(super) async fn remove(target: &Target, name: String, id: u64) -> anyhow::Result<u8> {
    let check = format!("`tether approvals {name}`");
    let params = RuleRemoveParams { session: name, id };
    let (r, _) = mutate::<method::SessionRuleRemove>(target, &params, None, &check).await?;
    println!("removed rule {}: {}", r.removed.id, r.removed.describe());
    Ok(0)
}
