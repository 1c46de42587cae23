//! A schedule's rule as the daemon computes with it: `every` periods, cron
//! expressions in a zone, file globs; checked once when a schedule is added,
//! and the next run after a firing.

use chrono::{DateTime, Utc};
use tether_shared::protocol::{MAX_EVERY_S, ScheduleRule};

use super::cron::Cron;
use super::triggers::Glob;

/// The zone a cron rule reads its times in.
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    /// The daemon's local time (`TZ`, else `/etc/localtime`).
    Local,
    /// An IANA zone.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// The zone `--tz` names; `None` is local time.
    pub fn parse(tz: Option<&str>) -> Result<Zone, String> {
        match tz {
            None => Ok(Zone::Local),
            Some(name) => name.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
                format!("unknown time zone {name:?}: use an IANA name like Europe/Berlin or UTC")
            }),
        }
    }
}

/// A rule ready to compute with.
#[derive(Debug, Clone)]
pub enum Timing {
    /// Every this many seconds.
    Every(u64),
    /// A cron expression in a zone.
    Cron(Box<Cron>, Zone),
    /// File changes matching a glob (no times of its own).
    OnChange(Glob),
}

impl Timing {
    /// Checks a rule and its zone; the error is one line for a person.
    pub fn new(rule: &ScheduleRule, tz: Option<&str>) -> Result<Timing, String> {
        match rule {
            ScheduleRule::Cron(e) => {
                let cron = Cron::parse(e).map_err(|m| format!("bad cron expression {e:?}: {m}"))?;
                Ok(Timing::Cron(Box::new(cron), Zone::parse(tz)?))
            }
            _ if tz.is_some() => Err("--tz applies only to a --cron schedule".into()),
            ScheduleRule::Every(s) if *s == 0 || *s > MAX_EVERY_S => {
                Err(format!("bad period {s}s: from 1s to 366d"))
            }
            ScheduleRule::Every(s) => Ok(Timing::Every(*s)),
            ScheduleRule::OnChange(g) => Glob::new(g).map(Timing::OnChange),
        }
    }

    /// When a schedule added (or resumed) at `now` fires first.
    pub fn first_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Timing::Every(s) => Some(now + chrono::Duration::seconds(*s as i64)),
            Timing::Cron(c, zone) => match zone {
                Zone::Local => c.next_after(now, &chrono::Local),
                Zone::Named(tz) => c.next_after(now, tz),
            },
            Timing::OnChange(_) => None,
        }
    }

    /// When a schedule that was due at `due` and fired at `now` fires next:
    /// the first time after `now` (a late or missed firing runs once, never
    /// once per period missed). `every` keeps its phase: the next multiple of
    /// the period after `due`.
    pub fn next_run(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Timing::Every(s) => {
                let period = (*s as i64) * 1000;
                let late = (now - due).num_milliseconds().max(0);
                let periods = late / period + 1;
                Some(due + chrono::Duration::milliseconds(periods * period))
            }
            Timing::Cron(..) => self.first_run(now),
            Timing::OnChange(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rules_are_checked_with_their_zone() {
        assert!(Timing::new(&ScheduleRule::Cron("0 9 * * *".into()), Some("Asia/Tokyo")).is_ok());
        assert_eq!(
            Timing::new(
                &ScheduleRule::Cron("0 9 * * *".into()),
                Some("Mars/Olympus")
            )
            .unwrap_err(),
            "unknown time zone \"Mars/Olympus\": use an IANA name like Europe/Berlin or UTC"
        );
        assert_eq!(
            Timing::new(&ScheduleRule::Cron("0 9 * *".into()), None).unwrap_err(),
            "bad cron expression \"0 9 * *\": 4 fields, not 5 (minute hour day-of-month month day-of-week)"
        );
        assert_eq!(
            Timing::new(&ScheduleRule::Every(60), Some("UTC")).unwrap_err(),
            "--tz applies only to a --cron schedule"
        );
        assert!(Timing::new(&ScheduleRule::Every(0), None).is_err());
    }

    #[test]
    fn every_keeps_its_phase_and_a_late_firing_runs_once() {
        let t = Timing::Every(60);
        let due = utc("2026-12-01T10:00:00Z");
        assert_eq!(t.first_run(due), Some(utc("2026-12-01T10:01:00Z")));
        // On time, or a little late: the next period.
        assert_eq!(t.next_run(due, due), Some(utc("2026-12-01T10:01:00Z")));
        assert_eq!(
            t.next_run(due, utc("2026-12-01T10:00:00.300Z")),
            Some(utc("2026-12-01T10:01:00Z"))
        );
        // Three hours late (the daemon was down): one firing now, then the
        // next period after now, not 180 firings.
        assert_eq!(
            t.next_run(due, utc("2026-12-01T13:00:30Z")),
            Some(utc("2026-12-01T13:01:00Z"))
        );
    }

    #[test]
    fn cron_next_run_is_after_the_firing() {
        let t = Timing::new(&ScheduleRule::Cron("0 * * * *".into()), Some("UTC")).unwrap();
        let due = utc("2026-12-01T10:00:00Z");
        assert_eq!(
            t.next_run(due, utc("2026-12-01T10:00:00.200Z")),
            Some(utc("2026-12-01T11:00:00Z"))
        );
        assert_eq!(
            t.next_run(due, utc("2026-12-01T14:20:00Z")),
            Some(utc("2026-12-01T15:00:00Z"))
        );
    }
}
