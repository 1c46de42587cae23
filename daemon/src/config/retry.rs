//! The retry policy of model calls, as `[retry]` sets it.

use std::time::Duration;

/// Retry policy for model calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time.
    pub initial_backoff: Duration,
    /// Backoff ceiling (a server's `Retry-After` is honoured beyond it, up to 300 s).
    pub max_backoff: Duration,
    /// A stream that makes no progress for this long (keep-alives do not count) is cut
    /// and retried.
    pub stall_timeout: Duration,
    /// A whole model call (response and stream) is cut after this long and retried.
    pub request_timeout: Duration,
}

impl Default for Retry {
    /// The policy when `[retry]` sets nothing.
    fn default() -> Self {
        Retry {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(600),
        }
    }
}
