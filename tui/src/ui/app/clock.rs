//! The time the app reads, and the delays the approval prompt measures on it.

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
