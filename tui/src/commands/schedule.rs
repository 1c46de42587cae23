//! `tether schedule add | ls | rm | pause | resume` (issue 15).

use tether_shared::Delivery;
use tether_shared::protocol::{
    ScheduleAddParams, ScheduleInfo, ScheduleListParams, ScheduleRef, ScheduleRule, method,
    parse_duration,
};

use super::output::{print_json, print_out};
use crate::cli::{ScheduleAction, ScheduleAddArgs, ScheduleDelivery};
use crate::client::Target;
use crate::retry::mutate;

/// Runs one `tether schedule` action.
pub(super) async fn run(target: &Target, action: ScheduleAction) -> anyhow::Result<u8> {
    match action {
        ScheduleAction::Add(args) => add(target, args).await,
        ScheduleAction::Ls { name, json } => list(target, name, json).await,
        ScheduleAction::Rm { id, json } => {
            let p = ScheduleRef { id };
            let (s, _) = mutate::<method::ScheduleRemove>(target, &p, None, CHECK).await?;
            said(&s, json, "removed")
        }
        ScheduleAction::Pause { id, json } => {
            let p = ScheduleRef { id };
            let (s, _) = mutate::<method::SchedulePause>(target, &p, None, CHECK).await?;
            said(&s, json, "paused")
        }
        ScheduleAction::Resume { id, json } => {
            let p = ScheduleRef { id };
            let (s, _) = mutate::<method::ScheduleResume>(target, &p, None, CHECK).await?;
            said(&s, json, "resumed")
        }
    }
}

/// Prints what a change did: the schedule as JSON, or a line.
fn said(s: &ScheduleInfo, json: bool, what: &str) -> anyhow::Result<u8> {
    if json {
        print_json(s)?;
    } else {
        println!("{what} {}", line(s));
    }
    Ok(0)
}

/// `schedule ID: RULE for SESSION, next run TIME`.
fn line(s: &ScheduleInfo) -> String {
    format!(
        "schedule {}: {} for {}{}",
        s.id,
        s.rule_text,
        s.session_name,
        s.next_run
            .as_deref()
            .map(|n| format!(", next run {}", crate::render::schedule_time(n)))
            .unwrap_or_default()
    )
}

/// How a person checks whether a change took effect.
const CHECK: &str = "`tether schedule ls`";

async fn add(target: &Target, args: ScheduleAddArgs) -> anyhow::Result<u8> {
    if args.tz.is_some() && args.cron.is_none() {
        eprintln!("tether: --tz applies only to --cron");
        return Ok(2);
    }
    let rule = match (args.every, args.cron, args.on_change) {
        (Some(d), _, _) => match parse_duration(&d) {
            Ok(secs) => ScheduleRule::Every(secs),
            Err(e) => {
                eprintln!("tether: {e}");
                return Ok(1);
            }
        },
        (_, Some(e), _) => ScheduleRule::Cron(e),
        (_, _, Some(g)) => ScheduleRule::OnChange(g),
        // clap requires one of them.
        (None, None, None) => {
            eprintln!("tether: schedule add needs --every, --cron or --on-change");
            return Ok(2);
        }
    };
    let params = ScheduleAddParams {
        session: args.name,
        rule,
        tz: args.tz,
        text: args.text.join(" "),
        delivery: match args.delivery {
            ScheduleDelivery::Queue => Delivery::Queue,
            ScheduleDelivery::Steer => Delivery::Steer,
        },
        skip_missed: args.skip_missed,
    };
    let (s, _) = mutate::<method::ScheduleAdd>(target, &params, args.key, CHECK).await?;
    if args.json {
        print_json(&s)?;
    } else {
        println!("{}", line(&s));
    }
    Ok(0)
}

async fn list(target: &Target, name: Option<String>, json: bool) -> anyhow::Result<u8> {
    let p = ScheduleListParams { session: name };
    let list = target.request_once::<method::ScheduleList>(&p).await?;
    if json {
        print_json(&list)?;
    } else {
        print_out(&crate::render::schedules(&list))?;
    }
    Ok(0)
}
