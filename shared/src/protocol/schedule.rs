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
        if secs >= n && secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// The longest `every` period: 366 days.
pub const MAX_EVERY_S: u64 = 366 * 86_400;

/// Parses a duration such as `90s`, `15m`, `2h`, `1d` or `1h30m` into seconds.
/// A bare number is refused: the unit is what makes a schedule readable.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || {
        format!("bad duration {text:?}: use a number with a unit, like 90s, 15m, 2h, 1d or 1h30m")
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    if total == 0 {
        return Err(format!("bad duration {text:?}: it must be at least 1s"));
    }
    if total > MAX_EVERY_S {
        return Err(format!("bad duration {text:?}: at most 366d"));
    }
    Ok(total)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("2h"), Ok(7_200));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration(" 2s "), Ok(2));
        for bad in ["", "90", "5x", "m", "1.5h", "-5m", "h2"] {
            assert!(
                parse_duration(bad).unwrap_err().starts_with("bad duration"),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_duration("0s").unwrap_err(),
            "bad duration \"0s\": it must be at least 1s"
        );
        assert!(parse_duration("400d").unwrap_err().contains("at most 366d"));
        assert!(parse_duration("99999999999999999999s").is_err());
    }
}
