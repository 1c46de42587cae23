//! Schedules and file triggers (issue 15): `schedule.add`, `schedule.list`,
//! `schedule.remove`, `schedule.pause`, `schedule.resume`. A schedule sends a
//! session a message (a `user_message` with delivery `schedule`) at times a rule
//! says, or when files under its directory change.

use serde::{Deserialize, Serialize};

use crate::event::Delivery;

/// When a schedule fires: exactly one of the three rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleRule {
    /// Every this many seconds (at least 1), from when it was added.
    Every(u64),
    /// A 5-field cron expression (minute hour day-of-month month day-of-week),
    /// in the daemon's local time or the schedule's `tz`.
    Cron(String),
    /// When files matching this glob under the session's directory change
    /// (debounced; `.git/` and `.tether/` are ignored). A glob without `/`
    /// matches a file's name at any depth; one with `/` matches its path
    /// relative to the directory.
    OnChange(String),
}

impl ScheduleRule {
    /// The rule as a person reads it: `every 90s`, `cron 0 9 * * 1-5`,
    /// `on change *.txt`.
    pub fn describe(&self) -> String {
        match self {
            ScheduleRule::Every(s) => format!("every {}", duration_text(*s)),
            ScheduleRule::Cron(e) => format!("cron {e}"),
            ScheduleRule::OnChange(g) => format!("on change {g}"),
        }
    }
}

/// Seconds as the shortest of `90s`, `15m`, `2h`, `1d` that says them exactly.
pub fn duration_text(secs: u64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= n && secs % n == 0 {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// `schedule.add` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleAddParams {
    /// The session (name or id).
    pub session: String,
    /// When it fires.
    pub rule: ScheduleRule,
    /// An IANA time zone (`Europe/Berlin`, `UTC`) for a `cron` rule; absent:
    /// the daemon's local time. Refused with another rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// The message each firing sends.
    pub text: String,
    /// `queue` (default: a turn of its own after the running one) or `steer`
    /// (joins a running turn at its next step).
    #[serde(default)]
    pub delivery: Delivery,
    /// A firing missed while the daemon was down is dropped instead of run
    /// once at start.
    #[serde(default)]
    pub skip_missed: bool,
}

/// `schedule.list` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleListParams {
    /// Only this session's schedules (name or id); absent: every session's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// `schedule.remove`, `schedule.pause` and `schedule.resume` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRef {
    /// The schedule's id (from `schedule.add` or `schedule.list`).
    pub id: u64,
}

/// One schedule, as `schedule.list` and the other methods return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleInfo {
    /// Its id: never reused, so removing an id never removes a newer schedule.
    pub id: u64,
    /// The session's id.
    pub session: String,
    /// The session's name.
    pub session_name: String,
    /// When it fires.
    pub rule: ScheduleRule,
    /// The rule as a person reads it (see [`ScheduleRule::describe`]).
    pub rule_text: String,
    /// The time zone of a `cron` rule; absent: the daemon's local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// The message each firing sends.
    pub text: String,
    /// `queue` or `steer`.
    pub delivery: Delivery,
    /// Missed firings are dropped rather than run once at start.
    pub skip_missed: bool,
    /// Paused: it does not fire until resumed.
    pub paused: bool,
    /// When it was added (RFC 3339).
    pub created_at: String,
    /// When it fires next (RFC 3339, UTC); absent when paused or for an
    /// `on_change` rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
    /// When it last fired (RFC 3339, UTC); absent when it never did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// What its last firing did: `delivered` (the message was stored for the
    /// session), `pending` (one of its messages still waited, so none was
    /// added), `skipped_missed` (missed while the daemon was down, dropped by
    /// `skip_missed`) or `failed: REASON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<String>,
    /// How many of its firings delivered a message.
    pub fired: u64,
}
