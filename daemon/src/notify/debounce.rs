//! The debounce of notifications, per session and event: the first notice of a
//! burst goes out at once, the later ones within the window are held, and the
//! last of them goes out when the window ends, counting them all. So a burst is
//! at most two notifications, no event type is ever swallowed by another (each
//! has its own window), and the last state always gets through. Pure: the
//! caller passes the time, and asks [`Debouncer::due`] when
//! [`Debouncer::next_due`] comes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tether_shared::notify::{Notice, NotifyEvent};

/// One session's window for one event.
#[derive(Debug)]
struct Window {
    /// When it ends.
    until: Instant,
    /// The latest notice held back, and how many were.
    held: Option<Notice>,
}

/// Every open window, by session id and event.
#[derive(Debug, Default)]
pub struct Debouncer {
    windows: HashMap<(String, NotifyEvent), Window>,
}

impl Debouncer {
    /// Offers `notice` at `now`: returns it when it goes out now (it opens a
    /// window of `window`), or holds it back inside an open window. Call
    /// [`Debouncer::due`] first, so a window past its end is closed.
    pub fn offer(&mut self, notice: Notice, now: Instant, window: Duration) -> Option<Notice> {
        let key = (notice.session.clone(), notice.event);
        match self.windows.get_mut(&key) {
            Some(w) if now < w.until => {
                let count = w.held.as_ref().map_or(0, |h| h.count) + notice.count;
                w.held = Some(Notice { count, ..notice });
                None
            }
            _ => {
                if !window.is_zero() {
                    self.windows.insert(
                        key,
                        Window {
                            until: now + window,
                            held: None,
                        },
                    );
                }
                Some(notice)
            }
        }
    }

    /// When the next window ends, if one is open.
    pub fn next_due(&self) -> Option<Instant> {
        self.windows.values().map(|w| w.until).min()
    }

    /// Closes the windows that ended by `now` and returns what they held, oldest
    /// first. A window that held something goes out now and opens a new window
    /// of `window`, so a steady stream is one notification per window.
    pub fn due(&mut self, now: Instant, window: Duration) -> Vec<Notice> {
        let mut out = Vec::new();
        self.windows.retain(|_, w| {
            if now < w.until {
                return true;
            }
            match w.held.take() {
                Some(n) => {
                    out.push(n);
                    w.until = now + window;
                    !window.is_zero()
                }
                None => false,
            }
        });
        out.sort_by(|a, b| a.ts.cmp(&b.ts));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_shared::SessionState;

    fn notice(session: &str, event: NotifyEvent, ts: &str) -> Notice {
        Notice {
            session: session.into(),
            name: session.into(),
            event,
            state: SessionState::Idle,
            tool: None,
            call_id: None,
            calls: Vec::new(),
            summary: ts.into(),
            ts: ts.into(),
            count: 1,
        }
    }

    const W: Duration = Duration::from_millis(1000);

    #[test]
    fn a_burst_is_the_first_at_once_and_the_last_at_the_end_with_the_count() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        let done = NotifyEvent::TurnCompleted;
        let first = d.offer(notice("a", done, "1"), t0, W).unwrap();
        assert_eq!((first.summary.as_str(), first.count), ("1", 1));
        for (i, ts) in ["2", "3", "4", "5"].into_iter().enumerate() {
            let at = t0 + Duration::from_millis(100 * (i as u64 + 1));
            assert!(d.due(at, W).is_empty());
            assert!(d.offer(notice("a", done, ts), at, W).is_none());
        }
        assert_eq!(d.next_due(), Some(t0 + W));
        assert!(d.due(t0 + W - Duration::from_millis(1), W).is_empty());
        let trailing = d.due(t0 + W, W);
        assert_eq!(trailing.len(), 1);
        assert_eq!((trailing[0].summary.as_str(), trailing[0].count), ("5", 4));
        // The trailing one opened a new window, which ends empty and closes.
        assert_eq!(d.next_due(), Some(t0 + W + W));
        assert!(d.due(t0 + W + W, W).is_empty());
        assert_eq!(d.next_due(), None);
        // After that, the next one goes out at once again.
        assert!(d.offer(notice("a", done, "6"), t0 + W * 3, W).is_some());
    }

    #[test]
    fn each_session_and_event_has_its_own_window() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        let done = NotifyEvent::TurnCompleted;
        assert!(d.offer(notice("a", done, "1"), t0, W).is_some());
        assert!(d.offer(notice("a", done, "2"), t0, W).is_none());
        assert!(
            d.offer(notice("a", NotifyEvent::AwaitingApproval, "3"), t0, W)
                .is_some(),
            "another event of the same session is not swallowed"
        );
        assert!(
            d.offer(notice("b", done, "4"), t0, W).is_some(),
            "the same event of another session is not swallowed"
        );
        let trailing = d.due(t0 + W, W);
        assert_eq!(trailing.len(), 1);
        assert_eq!(trailing[0].summary, "2");
    }

    #[test]
    fn a_zero_window_sends_everything() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        for ts in ["1", "2", "3"] {
            assert!(
                d.offer(notice("a", NotifyEvent::TurnFailed, ts), t0, Duration::ZERO)
                    .is_some()
            );
        }
        assert_eq!(d.next_due(), None);
    }
}
