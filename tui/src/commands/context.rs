//! The context commands: `compact`.

use tether_shared::protocol::{CompactParams, method};

use super::output::print_json;
use crate::client::Target;
use crate::retry::mutate;

/// `tether compact NAME [--instructions TEXT] [--json]`: prints what the daemon
/// says it did (also when there was nothing to compact: that is not an error).
pub(super) async fn compact(
    target: &Target,
    params: CompactParams,
    json: bool,
    key: Option<String>,
) -> anyhow::Result<u8> {
    let check = format!("`tether logs {}`", params.session);
    let (result, _) = mutate::<method::SessionCompact>(target, &params, key, &check).await?;
    if json {
        print_json(&result)?;
    } else {
        println!("{}", result.message);
    }
    Ok(0)
}
