//! The spending commands: `budget` and `usage` (issue 10).

use anyhow::bail;
use serde::Serialize;
use tether_shared::Usage;
use tether_shared::protocol::{BudgetParams, CostBasis, SessionInfo, method};

use super::output::print_json;
use crate::client::Target;
use crate::render;
use crate::retry::mutate;

/// `tether budget NAME (--cost USD | --tokens N | --none) [--json]`: returns
/// once a session stopped on its budget is going again (or is still stopped,
/// when the new budget does not let it: that is said, not an error).
pub(super) async fn budget(
    target: &Target,
    params: BudgetParams,
    json: bool,
    key: Option<String>,
) -> anyhow::Result<u8> {
    let (info, _) = mutate::<method::SessionBudget>(target, &params, key, "`tether ls`").await?;
    if json {
        print_json(&info)?;
    } else {
        println!("{}", render::budget_line(&info));
    }
    Ok(0)
}

/// One session's spending, as `usage --json` prints it.
#[derive(Debug, Serialize)]
struct SessionUsage<'a> {
    name: &'a str,
    model: &'a str,
    usage: Usage,
    cost_usd: f64,
    /// `config`, `estimate` (tether's built-in prices) or `unknown` (cost 0).
    cost_basis: CostBasis,
    cache_hit_share: f64,
}

/// The sum over the sessions listed.
#[derive(Debug, Serialize)]
struct Total {
    usage: Usage,
    cost_usd: f64,
    /// True when a listed session's model has no price: `cost_usd` leaves it out.
    cost_partial: bool,
    cache_hit_share: f64,
}

#[derive(Debug, Serialize)]
struct UsageReport<'a> {
    sessions: Vec<SessionUsage<'a>>,
    total: Total,
}

/// `tether usage [NAME] [--json]`.
pub(super) async fn usage(target: &Target, name: Option<String>, json: bool) -> anyhow::Result<u8> {
    let mut list = target
        .request_once::<method::SessionList>(&Default::default())
        .await?;
    if let Some(n) = &name {
        list.retain(|s| &s.name == n || &s.id == n);
        if list.is_empty() {
            bail!("no session named {n:?}; `tether ls` lists the sessions");
        }
    }
    if json {
        print_json(&report(&list))?;
    } else {
        print!("{}", render::usage(&list));
    }
    Ok(0)
}

fn report(list: &[SessionInfo]) -> UsageReport<'_> {
    let mut total = Usage::default();
    let mut cost = 0.0;
    let sessions = list
        .iter()
        .map(|s| {
            total += s.usage;
            cost += s.cost_usd;
            SessionUsage {
                name: &s.name,
                model: &s.model,
                usage: s.usage,
                cost_usd: s.cost_usd,
                cost_basis: s.cost_basis,
                cache_hit_share: render::cache_hit_share(&s.usage),
            }
        })
        .collect();
    UsageReport {
        sessions,
        total: Total {
            usage: total,
            cost_usd: cost,
            cost_partial: list.iter().any(|s| s.cost_basis == CostBasis::Unknown),
            cache_hit_share: render::cache_hit_share(&total),
        },
    }
}
