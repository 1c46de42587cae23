//! What a server says on its own while it runs: `notifications/message` (its
//! log) and `notifications/progress`. Both go to the daemon's log at DEBUG,
//! cut to [`MAX_LOGGED_CHARS`] and rate-limited per server by a token bucket,
//! with one "N notifications suppressed" line for what the bucket dropped (a
//! server can send tens of thousands a second). Progress of a call tether made
//! also reaches that call's live output, at most every [`PROGRESS_EVERY`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

/// Longer notification text is cut here in the daemon's log.
pub(super) const MAX_LOGGED_CHARS: usize = 300;
/// The bucket: this many lines at once, refilled at [`REFILL_PER_SEC`].
const BURST: f64 = 20.0;
const REFILL_PER_SEC: f64 = 5.0;
/// At most this often, a running call's live output gets a progress line
/// (the last one, `progress == total`, always).
pub(super) const PROGRESS_EVERY: Duration = Duration::from_millis(100);

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

/// The running calls that asked for progress: token -> where their live output goes.
#[derive(Debug, Clone, Default)]
pub(super) struct ProgressRoutes(Arc<Mutex<HashMap<String, Route>>>);

#[derive(Debug)]
struct Route {
    live: UnboundedSender<String>,
    last_sent: Option<Instant>,
}

impl ProgressRoutes {
    pub(super) fn add(&self, token: String, live: UnboundedSender<String>) {
        self.lock().insert(
            token,
            Route {
                live,
                last_sent: None,
            },
        );
    }

    pub(super) fn remove(&self, token: &str) {
        self.lock().remove(token);
    }

    /// Forwards one notification to its call's live output, unless one was
    /// sent less than [`PROGRESS_EVERY`] ago (the final one always goes).
    pub(super) fn forward(
        &self,
        token: &str,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
        now: Instant,
    ) {
        let mut routes = self.lock();
        let Some(route) = routes.get_mut(token) else {
            return;
        };
        let last = total.is_some_and(|t| progress >= t);
        if !last
            && route
                .last_sent
                .is_some_and(|at| now.saturating_duration_since(at) < PROGRESS_EVERY)
        {
            return;
        }
        route.last_sent = Some(now);
        // The receiver being gone only means the call has ended.
        let _ = route.live.send(progress_line(progress, total, message));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Route>> {
        // A poisoned lock only means a panic elsewhere; the map is still valid.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One line of live output: `[progress 3/10] step 3 of 10`.
pub(super) fn progress_line(progress: f64, total: Option<f64>, message: Option<&str>) -> String {
    let n = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{v:.0}")
        } else {
            format!("{v}")
        }
    };
    let amount = match total {
        Some(t) => format!("{}/{}", n(progress), n(t)),
        None => n(progress),
    };
    let message = message
        .map(|m| format!(" {}", cut(m.trim(), MAX_LOGGED_CHARS)))
        .unwrap_or_default();
    format!("[progress {amount}]{message}\n")
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn progress_reaches_its_call_at_most_every_100ms_and_always_at_the_end() {
        let routes = ProgressRoutes::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        routes.add("t1".into(), tx);
        let t0 = Instant::now();
        for i in 1..=50 {
            routes.forward("t1", f64::from(i), Some(50.0), Some("working"), t0);
        }
        routes.forward("other", 1.0, None, None, t0);
        let mut got = Vec::new();
        while let Ok(line) = rx.try_recv() {
            got.push(line);
        }
        assert_eq!(
            got,
            ["[progress 1/50] working\n", "[progress 50/50] working\n"]
        );
        routes.forward("t1", 51.5, None, None, t0 + PROGRESS_EVERY);
        assert_eq!(rx.try_recv().unwrap(), "[progress 51.5]\n");
        routes.remove("t1");
        routes.forward("t1", 60.0, None, None, t0 + PROGRESS_EVERY * 3);
        assert!(rx.try_recv().is_err());
    }
}
