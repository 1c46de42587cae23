//! What a server says on its own while it runs: `notifications/message` (its
//! log) and `notifications/progress`. Both go to the daemon's log at DEBUG,
//! cut to [`MAX_LOGGED_CHARS`] and rate-limited per server by a token bucket,
//! with one "N notifications suppressed" line for what the bucket dropped (a
//! server can send tens of thousands a second). Progress of a call tether made
//! also reaches that call's live output (see `progress`).

use std::time::Instant;

/// Longer notification text is cut here in the daemon's log.
pub(super) const MAX_LOGGED_CHARS: usize = 300;
/// The bucket: this many lines at once, refilled at [`REFILL_PER_SEC`].
const BURST: f64 = 20.0;
const REFILL_PER_SEC: f64 = 5.0;

/// A per-server token bucket with a count of what it dropped.
#[derive(Debug)]
pub(super) struct Limiter {
    tokens: f64,
    last: Instant,
    suppressed: u64,
}

impl Limiter {
    pub(super) fn new(now: Instant) -> Limiter {
        Limiter {
            tokens: BURST,
            last: now,
            suppressed: 0,
        }
    }

    /// Whether a line may be logged now; if so, how many were dropped since
    /// the last one logged (to say so first).
    pub(super) fn admit(&mut self, now: Instant) -> Option<u64> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * REFILL_PER_SEC).min(BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }

    /// What was dropped and not yet reported; resets the count.
    pub(super) fn take_suppressed(&mut self) -> u64 {
        std::mem::take(&mut self.suppressed)
    }
}

/// `text` cut to `max` characters, with a note of the full length.
pub(super) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_bucket_lets_a_burst_through_then_counts_what_it_drops() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        let admitted = (0..20_000).filter(|_| l.admit(t0).is_some()).count();
        assert_eq!(admitted, 20);
        // A second later, 5 more, the first saying how many were dropped.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(l.admit(t1), Some(19_980));
        assert_eq!(l.admit(t1), Some(0));
        for _ in 0..3 {
            assert!(l.admit(t1).is_some());
        }
        assert_eq!(l.admit(t1), None);
        assert_eq!(l.take_suppressed(), 1);
        assert_eq!(l.take_suppressed(), 0);
    }

    #[test]
    fn long_text_is_cut() {
        assert_eq!(cut("short", 10), "short");
        let long = "é".repeat(500);
        let c = cut(&long, 300);
        assert!(
            c.starts_with(&"é".repeat(300)) && c.ends_with("(1000 bytes)"),
            "{c}"
        );
    }
}
