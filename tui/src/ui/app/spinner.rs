//! The running turn's spinner and elapsed time (`⠋ working 12s`), read off the
//! app's clock: the frame is a function of the time since the turn started,
//! and the event loop wakes at the next frame (see [`App::next_wake`]), so a
//! paused test clock gives the same frame every time and nothing sleeps.

use std::time::{Duration, Instant, SystemTime};

use tether_shared::SessionState;

use super::state::App;

/// The spinner's frames.
pub const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// How long each frame shows.
pub const FRAME: Duration = Duration::from_millis(100);

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

impl App {
    /// The spinner's frame and the turn's elapsed time, while a turn runs (and
    /// the daemon is there to say so).
    pub fn spinner(&self) -> Option<(&'static str, Option<Duration>)> {
        let v = self.session.as_ref()?;
        if v.info.state != SessionState::Running || !crate::ui::view::chrome::live(self) {
            return None;
        }
        let now = self.clock.now();
        let since = v.turn_since?;
        let run = now.saturating_duration_since(since);
        let frame = (run.as_millis() / FRAME.as_millis()) as usize % FRAMES.len();
        Some((FRAMES[frame], Some(run)))
    }

    /// When the spinner's next frame is due.
    pub(super) fn spinner_wake(&self) -> Option<Instant> {
        self.spinner()?;
        let since = self.session.as_ref()?.turn_since?;
        let run = self.clock.now().saturating_duration_since(since);
        let next = (run.as_millis() / FRAME.as_millis() + 1) * FRAME.as_millis();
        Some(since + Duration::from_millis(u64::try_from(next).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
