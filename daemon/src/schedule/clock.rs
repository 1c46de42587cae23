//! The scheduler's clock, injectable so tests run schedules on a clock of
//! their own: [`SystemClock`] in the daemon, a `ManualClock` that moves only
//! when a test says so in the unit tests (hours pass in no time, and every
//! time a test checks is exact).

use chrono::{DateTime, Utc};

/// Wall-clock time for schedules. Waiting is tokio's: the scheduler sleeps
/// with `tokio::time` and asks the clock what time it is when it wakes.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told (tests): after [`ManualClock::advance`]
/// the test pokes the scheduler ([`super::Scheduler::poke`]) to look again.
#[cfg(test)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

#[cfg(test)]
impl ManualClock {
    /// A clock that reads `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        ManualClock(std::sync::Mutex::new(at))
    }

    /// Moves the clock on.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += chrono::Duration::from_std(by).unwrap_or_default();
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Milliseconds since the Unix epoch, as the store keeps times.
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time back as a `DateTime` (the epoch for one out of range).
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A stored time as the wire shows it (RFC 3339, UTC, milliseconds).
pub fn rfc3339(ms: i64) -> String {
    crate::util::format_rfc3339(ms.div_euclid(1000), ms.rem_euclid(1000) as u32)
}
