//! A session whose store write failed (a full or failing disk): the turn ends at
//! once, and why it ended is written to the log as soon as the store takes
//! writes again, so the log never keeps a `turn_started` without an end.
//!
//! The actor retries on a timer (and before any other write), so freeing space is
//! enough: no restart, no new message needed. Queued inputs wait in the store and
//! start their turns once the record is written.

use std::time::Duration;

use tether_shared::{EventKind, SessionState};
use tokio::time::Instant;
use tracing::info;

/// The first retry comes this soon after a failed write; later ones back off.
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// Retries never wait longer than this, so a freed disk is noticed quickly.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// What a failed store write left to do.
#[derive(Debug, Default)]
pub(super) struct StoreDebt {
    /// The error of a turn that the store failed, not yet recorded.
    owed: Option<String>,
    /// When to try the store again, and the wait after that.
    retry: Option<(Instant, Duration)>,
}

impl StoreDebt {
    /// When the next retry is due (now when none is).
    pub(super) fn retry_at(&self) -> Instant {
        self.retry.map_or_else(Instant::now, |(at, _)| at)
    }

    /// Whether a retry is scheduled.
    pub(super) fn retrying(&self) -> bool {
        self.retry.is_some()
    }

    /// Whether a failed turn waits to be recorded.
    pub(super) fn owes(&self) -> bool {
        self.owed.is_some()
    }

    /// `kinds` with the owed `turn_failed` (and its state) in front.
    pub(super) fn owed_first(&self, kinds: Vec<EventKind>) -> Vec<EventKind> {
        let Some(error) = &self.owed else {
            return kinds;
        };
        let mut all = vec![
            EventKind::TurnFailed {
                error: error.clone(),
            },
            EventKind::State {
                state: SessionState::Failed,
            },
        ];
        all.extend(kinds);
        all
    }

    /// A write succeeded: whatever was owed is now in the log.
    pub(super) fn paid(&mut self) {
        if self.owed.take().is_some() {
            info!("the store takes writes again; the failed turn is recorded");
        }
        self.retry = None;
    }

    /// A write failed: `owed` is the error of the turn it ended, if it ended one.
    pub(super) fn failed(&mut self, owed: Option<String>) {
        if owed.is_some() {
            self.owed = owed;
        }
        let wait = self
            .retry
            .map_or(FIRST_RETRY, |(_, w)| (w * 2).min(MAX_RETRY));
        self.retry = Some((Instant::now() + wait, wait));
    }
}
