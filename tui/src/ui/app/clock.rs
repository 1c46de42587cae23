//! The time the app reads, the delays the approval prompt measures on it, and
//! the daemon's timestamps read as ages (`age_of`) and shown (`elapsed`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How long a new approval prompt ignores the decision keys, so a key pressed
/// a moment before the prompt appeared cannot decide the call it did not see.
pub const ARM_DELAY: Duration = Duration::from_millis(750);

/// A decision key this soon after another key (or a paste) is taken as part of
/// a burst: a paste that the terminal did not mark as one arrives as keys a few
/// microseconds apart, and a control byte inside it must not decide a call.
/// People do not press a chord within 25 ms of the key before it.
pub const BURST_GAP: Duration = Duration::from_millis(25);

/// Where the app reads the time: the system clock, or one that tests move.
#[derive(Debug, Clone)]
pub enum Clock {
    /// `Instant::now()`.
    System,
    /// A start instant plus milliseconds that [`Clock::advance`] adds.
    Manual {
        /// The time at zero.
        base: Instant,
        /// Milliseconds since `base`.
        millis: Arc<AtomicU64>,
        /// The wall-clock time at zero ([`MANUAL_WALL`]).
        wall: SystemTime,
    },
}

/// A manual clock's wall-clock time at zero: 2026-03-01T10:01:00Z, a minute
/// after the test fixtures' first events.
pub const MANUAL_WALL: Duration = Duration::from_secs(1_772_359_260);

impl Clock {
    /// A clock that moves only when told to.
    pub fn manual() -> Clock {
        Clock::Manual {
            base: Instant::now(),
            millis: Arc::new(AtomicU64::new(0)),
            wall: SystemTime::UNIX_EPOCH + MANUAL_WALL,
        }
    }

    /// The wall-clock time now (to date the daemon's timestamps).
    pub fn wall(&self) -> SystemTime {
        match self {
            Clock::System => SystemTime::now(),
            Clock::Manual { millis, wall, .. } => {
                *wall + Duration::from_millis(millis.load(Ordering::SeqCst))
            }
        }
    }

    /// Now.
    pub fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            Clock::Manual { base, millis, .. } => {
                *base + Duration::from_millis(millis.load(Ordering::SeqCst))
            }
        }
    }

    /// Moves a manual clock on (the system clock moves by itself).
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual { millis, .. } = self {
            let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
            millis.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// The zone the TUI shows times in (`[tui] time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeZone {
    /// The machine's local time (`TZ`, else `/etc/localtime`): the default.
    #[default]
    Local,
    /// UTC, as the daemon stores times; labelled `UTC` where shown.
    Utc,
    /// A fixed offset: local time in tests, which must not depend on the machine.
    Fixed(chrono::FixedOffset),
}

impl TimeZone {
    /// Reads `[tui] time`: `"local"` or `"utc"`.
    pub fn parse(s: &str) -> Option<TimeZone> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Some(TimeZone::Local),
            "utc" => Some(TimeZone::Utc),
            _ => None,
        }
    }

    /// `[tui] time` from a parsed config.toml: local when it is not set; an
    /// error that says what is wrong with a value it cannot use.
    pub fn from_config(config: &toml::Table) -> Result<TimeZone, String> {
        match config.get("tui").and_then(|t| t.get("time")) {
            None => Ok(TimeZone::Local),
            Some(v) => v.as_str().and_then(TimeZone::parse).ok_or_else(|| {
                format!("[tui] time: expected \"local\" or \"utc\", not {v}; showing local time")
            }),
        }
    }

    /// The label to show with times, when they are not local.
    pub fn label(self) -> Option<&'static str> {
        match self {
            TimeZone::Utc => Some("UTC"),
            TimeZone::Local | TimeZone::Fixed(_) => None,
        }
    }

    /// An RFC 3339 timestamp from the daemon as `MM-DD HH:MM` in this zone
    /// (as it came, cut, when it does not parse).
    pub fn short(self, ts: &str) -> String {
        let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
            return ts.get(5..16).unwrap_or("").replace('T', " ");
        };
        const SHORT: &str = "%m-%d %H:%M";
        match self {
            TimeZone::Local => t.with_timezone(&chrono::Local).format(SHORT).to_string(),
            TimeZone::Utc => t.with_timezone(&chrono::Utc).format(SHORT).to_string(),
            TimeZone::Fixed(o) => t.with_timezone(&o).format(SHORT).to_string(),
        }
    }
}

/// How long before `now` an RFC 3339 UTC time (`2026-03-01T10:00:00.250Z`)
/// was; `None` when it does not read or is after `now`.
pub fn age_of(ts: &str, now: SystemTime) -> Option<Duration> {
    let then = parse_utc(ts)?;
    now.duration_since(then).ok()
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fff]Z` (what the daemon writes).
fn parse_utc(ts: &str) -> Option<SystemTime> {
    let b = ts.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !ts.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = match ts.get(19..ts.len() - 1) {
        Some(frac) if frac.starts_with('.') && frac.len() > 1 => {
            let digits: String = frac[1..].chars().take(3).collect();
            let n: u64 = digits.parse().ok()?;
            n * 10u64.pow(3 - digits.len() as u32)
        }
        _ => 0,
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
}

/// `12s`, `3m 05s`, `2h 07m`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_in_the_zone_chosen() {
        let ts = "2026-03-01T23:58:12Z";
        assert_eq!(TimeZone::Utc.short(ts), "03-01 23:58");
        let plus2 = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        assert_eq!(TimeZone::Fixed(plus2).short(ts), "03-02 01:58");
        let minus5 = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        assert_eq!(TimeZone::Fixed(minus5).short(ts), "03-01 18:58");
        // Fractions of a second and offsets are read too.
        assert_eq!(
            TimeZone::Utc.short("2026-03-01T10:00:05.123+01:00"),
            "03-01 09:00"
        );
        assert_eq!(TimeZone::Utc.short("soon"), "", "what does not parse, cut");
        assert_eq!(TimeZone::parse(" UTC "), Some(TimeZone::Utc));
        assert_eq!(TimeZone::parse("local"), Some(TimeZone::Local));
        assert_eq!(TimeZone::parse("gmt"), None);
        let config = |s: &str| toml::from_str::<toml::Table>(s).unwrap();
        assert_eq!(TimeZone::from_config(&config("")), Ok(TimeZone::Local));
        assert_eq!(
            TimeZone::from_config(&config("[tui]\ntime = \"utc\"")),
            Ok(TimeZone::Utc)
        );
        let e = TimeZone::from_config(&config("[tui]\ntime = \"gmt\"")).unwrap_err();
        assert!(e.contains("[tui] time") && e.contains("\"gmt\""), "{e}");
        assert!(TimeZone::from_config(&config("[tui]\ntime = 3")).is_err());
        assert_eq!(TimeZone::Utc.label(), Some("UTC"));
        assert_eq!(TimeZone::Local.label(), None);
    }

    #[test]
    fn reads_the_daemon_s_times() {
        let t = parse_utc("1970-01-02T00:00:01.250Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_millis(86_401_250)
        );
        let t = parse_utc("2026-03-01T10:00:00Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_772_359_200
        );
        assert!(parse_utc("yesterday").is_none());
        assert!(
            age_of("2999-01-01T00:00:00Z", SystemTime::now()).is_none(),
            "the future has no age"
        );
        assert_eq!(elapsed(Duration::from_secs(12)), "12s");
        assert_eq!(elapsed(Duration::from_secs(185)), "3m 05s");
        assert_eq!(elapsed(Duration::from_secs(7620)), "2h 07m");
    }
}
