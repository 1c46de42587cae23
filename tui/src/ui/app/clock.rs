//! The time the app reads, and the delays the approval prompt measures on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    },
}

impl Clock {
    /// A clock that moves only when told to.
    pub fn manual() -> Clock {
        Clock::Manual {
            base: Instant::now(),
            millis: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Now.
    pub fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            Clock::Manual { base, millis } => {
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
}
