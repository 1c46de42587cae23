//! Five-field cron expressions (`minute hour day-of-month month day-of-week`)
//! and the next time one matches, in a time zone.
//!
//! Each field is `*`, a number, a range `A-B`, any of them with a step (`*/15`,
//! `1-30/2`, `5/10` = `5-max/10`), or a comma list of those. Months and days of
//! the week take names (`jan`, `mon`); day of the week 0 and 7 are Sunday. As in
//! Vixie cron, when both day fields are restricted a day matching either one
//! matches. `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and
//! `@yearly` (`@annually`) stand for their usual expressions.
//!
//! Times are the zone's wall-clock times: a time that a daylight-saving jump
//! skips does not happen that day; a time that a fall-back hour repeats fires
//! once, at its first occurrence.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// How many days ahead a next time is looked for: enough for `29 2` in the
/// worst run of years without a leap day (2097 to 2104).
const HORIZON_DAYS: i64 = 366 * 9;

/// A parsed expression: for each field, which values match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: [bool; 32],
    months: [bool; 13],
    weekdays: [bool; 7],
    days_restricted: bool,
    weekdays_restricted: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value the first name stands for (1 for months, 0 for weekdays).
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_from: 1,
    },
    // 7 is Sunday too; folded into 0 below.
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
        names_from: 0,
    },
];

impl Field {
    fn value(&self, s: &str) -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + self.names_from);
        }
        let v: u32 = s
            .parse()
            .map_err(|_| format!("{}: {s:?} is not a number", self.name))?;
        if v < self.min || v > self.max {
            return Err(format!(
                "{}: {v} is out of range {}-{}",
                self.name, self.min, self.max
            ));
        }
        Ok(v)
    }

    /// The values one field's text matches, and whether it is restricted
    /// (anything but a bare `*`).
    fn parse(&self, text: &str) -> Result<(Vec<u32>, bool), String> {
        let mut out = Vec::new();
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => {
                    let step: u32 = s.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("{}: step {s:?} is not a positive number", self.name)
                    })?;
                    (r, Some(step))
                }
                None => (item, None),
            };
            let (lo, hi) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!("{}: range {range:?} runs backwards", self.name));
                }
                (a, b)
            } else if range.is_empty() {
                return Err(format!("{}: an empty item", self.name));
            } else {
                let a = self.value(range)?;
                // `5/10` runs from 5 to the end, as in Vixie cron.
                (a, if step.is_some() { self.max } else { a })
            };
            let step = step.unwrap_or(1);
            out.extend((lo..=hi).step_by(step as usize));
        }
        out.sort_unstable();
        out.dedup();
        Ok((out, text != "*"))
    }
}

impl Cron {
    /// Parses an expression; the error says which field is wrong and why.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let expanded = match expr.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => {
                return Err(format!(
                    "unknown {other:?} (known: @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually)"
                ));
            }
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "{} fields, not 5 (minute hour day-of-month month day-of-week)",
                fields.len()
            ));
        }
        let (minutes, _) = FIELDS[0].parse(fields[0])?;
        let (hours, _) = FIELDS[1].parse(fields[1])?;
        let (dom, days_restricted) = FIELDS[2].parse(fields[2])?;
        let (mon, _) = FIELDS[3].parse(fields[3])?;
        let (dow, weekdays_restricted) = FIELDS[4].parse(fields[4])?;
        let mut days = [false; 32];
        for d in dom {
            days[d as usize] = true;
        }
        let mut months = [false; 13];
        for m in mon {
            months[m as usize] = true;
        }
        let mut weekdays = [false; 7];
        for d in dow {
            weekdays[(d % 7) as usize] = true;
        }
        Ok(Cron {
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_restricted,
            weekdays_restricted,
        })
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        if !self.months[date.month() as usize] {
            return false;
        }
        let dom = self.days[date.day() as usize];
        let dow = self.weekdays[date.weekday().num_days_from_sunday() as usize];
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The first time strictly after `after` that matches, as the wall clock
    /// of `tz` reads; `None` when there is none within nine years (`31 2`).
    pub fn next_after<Tz: TimeZone>(&self, after: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
        let local: NaiveDateTime = after.with_timezone(tz).naive_local();
        // The next whole minute on the local clock.
        let start = local.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let first_day = start.date();
        for offset in 0..HORIZON_DAYS {
            let date = first_day + Duration::days(offset);
            if !self.day_matches(date) {
                continue;
            }
            for &h in &self.hours {
                for &m in &self.minutes {
                    let Some(naive) = date.and_hms_opt(h, m, 0) else {
                        continue;
                    };
                    if naive < start {
                        continue;
                    }
                    // Earliest: a repeated time fires at its first occurrence;
                    // a skipped one (no mapping) does not fire.
                    let Some(t) = tz.from_local_datetime(&naive).earliest() else {
                        continue;
                    };
                    let t = t.with_timezone(&Utc);
                    if t > after {
                        return Some(t);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Tz;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, after: &str) -> String {
        Cron::parse(expr)
            .unwrap()
            .next_after(utc(after), &Utc)
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn fields_ranges_steps_lists_and_names() {
        let c = Cron::parse("*/15 9-17 * jan,JUL mon-fri").unwrap();
        assert_eq!(c.minutes, vec![0, 15, 30, 45]);
        assert_eq!(c.hours, (9..=17).collect::<Vec<_>>());
        assert!(c.months[1] && c.months[7] && !c.months[2]);
        assert!(c.weekdays[1] && c.weekdays[5] && !c.weekdays[0] && !c.weekdays[6]);
        let c = Cron::parse("5/20 0 1-10/3 * 7").unwrap();
        assert_eq!(c.minutes, vec![5, 25, 45]);
        assert!(c.days[1] && c.days[4] && c.days[7] && c.days[10] && !c.days[2]);
        assert!(c.weekdays[0], "7 is Sunday");
        assert_eq!(
            Cron::parse("@hourly").unwrap(),
            Cron::parse("0 * * * *").unwrap()
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let err = |e: &str| Cron::parse(e).unwrap_err();
        assert_eq!(
            err("* * * *"),
            "4 fields, not 5 (minute hour day-of-month month day-of-week)"
        );
        assert_eq!(err("60 * * * *"), "minute: 60 is out of range 0-59");
        assert_eq!(err("* 24 * * *"), "hour: 24 is out of range 0-23");
        assert_eq!(err("* * 0 * *"), "day of month: 0 is out of range 1-31");
        assert_eq!(err("* * * foo *"), "month: \"foo\" is not a number");
        assert_eq!(
            err("*/0 * * * *"),
            "minute: step \"0\" is not a positive number"
        );
        assert_eq!(err("* 5-2 * * *"), "hour: range \"5-2\" runs backwards");
        assert_eq!(err("1,,2 * * * *"), "minute: an empty item");
        assert!(err("@often").starts_with("unknown \"@often\""));
    }

    #[test]
    fn next_run_with_a_fixed_clock() {
        assert_eq!(
            next("*/15 * * * *", "2026-12-01T10:07:30Z"),
            "2026-12-01T10:15:00+00:00"
        );
        // Strictly after: a time that matches now gives the next one.
        assert_eq!(
            next("*/15 * * * *", "2026-12-01T10:15:00Z"),
            "2026-12-01T10:30:00+00:00"
        );
        assert_eq!(
            next("0 9 * * 1-5", "2026-12-04T09:00:00Z"), // a Friday
            "2026-12-07T09:00:00+00:00"
        );
        assert_eq!(
            next("30 2 1 * *", "2026-12-15T00:00:00Z"),
            "2027-01-01T02:30:00+00:00"
        );
        assert_eq!(
            next("0 0 29 2 *", "2026-03-01T00:00:00Z"),
            "2028-02-29T00:00:00+00:00"
        );
        // Both day fields restricted: either matches (the 13th, or a Friday).
        assert_eq!(
            next("0 12 13 * 5", "2026-12-01T00:00:00Z"),
            "2026-12-04T12:00:00+00:00"
        );
        assert!(
            Cron::parse("0 0 31 2 *")
                .unwrap()
                .next_after(utc("2026-01-01T00:00:00Z"), &Utc)
                .is_none()
        );
    }

    #[test]
    fn next_run_in_a_time_zone_and_across_daylight_saving() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let c = Cron::parse("0 9 * * *").unwrap();
        // 09:00 in Berlin is 08:00 UTC in winter, 07:00 UTC in summer.
        assert_eq!(
            c.next_after(utc("2026-12-01T12:00:00Z"), &berlin)
                .unwrap()
                .to_rfc3339(),
            "2026-12-02T08:00:00+00:00"
        );
        assert_eq!(
            c.next_after(utc("2026-07-01T12:00:00Z"), &berlin)
                .unwrap()
                .to_rfc3339(),
            "2026-07-02T07:00:00+00:00"
        );
        // 02:30 does not exist on 2026-03-29 in Berlin: that day is skipped.
        let c = Cron::parse("30 2 * * *").unwrap();
        assert_eq!(
            c.next_after(utc("2026-03-28T12:00:00Z"), &berlin)
                .unwrap()
                .to_rfc3339(),
            "2026-03-30T00:30:00+00:00"
        );
        // 02:30 happens twice on 2026-10-25: it fires once, at the first.
        let first = c.next_after(utc("2026-10-24T12:00:00Z"), &berlin).unwrap();
        assert_eq!(first.to_rfc3339(), "2026-10-25T00:30:00+00:00");
        let second = c.next_after(first, &berlin).unwrap();
        assert_eq!(second.to_rfc3339(), "2026-10-26T01:30:00+00:00");
    }
}
