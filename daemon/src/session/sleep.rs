//! Falling asleep (issue 13): an actor whose session is settled and unwatched
//! for `[sessions] sleep_after_s` ends, leaving only its summary in the
//! registry (`slots.rs`); the next use wakes the session through the restore
//! path (`wake.rs`).
//!
//! Race-free by construction: the actor flips its slot to asleep under the
//! registry's waking lock (so no other actor of the session can start before
//! its tools are detached), then closes its command channel and hands every
//! command still in it back to the registry, which wakes the session again
//! and delivers them. A sender that finds the channel closed does the same
//! (`SessionHandle::deliver`). Nothing sent is lost or answered "stopped".

use std::time::{Duration, Instant};

use tether_shared::SessionState;
use tokio::sync::mpsc;
use tracing::info;

use super::actor::SessionActor;
use super::handle::{Command, hand_back};
use super::turn::{Phase, Turn};

/// How often a session that may sleep but has sleeping turned off looks at the
/// config again.
const RECHECK: Duration = Duration::from_secs(60);

impl SessionActor {
    /// True when nothing would be lost if the actor ended now: the session is
    /// settled, with no turn (or one stopped on its budget, which a wake
    /// restores as it was), no input, no compaction, no client, no store debt.
    pub(super) fn can_sleep(&self) -> bool {
        let settled = matches!(
            (&self.turn, self.state),
            (None, SessionState::Idle | SessionState::Failed)
                | (
                    Some(Turn {
                        phase: Phase::Budget,
                        ..
                    }),
                    SessionState::BudgetExhausted,
                )
        );
        settled
            && self.inputs.is_empty()
            && self.compaction.is_none()
            && self.compact_requests.is_empty()
            && self.attached() == 0
            && self.live_sender().is_none_or(|tx| tx.receiver_count() == 0)
            && !self.store_debt.owes()
            && !self.store_debt.retrying()
    }

    /// Notes the end of something the actor did: the idle clock starts now
    /// if the session may sleep, and stops if it may not.
    pub(super) fn touch(&mut self) {
        self.idle_since = self.can_sleep().then(Instant::now);
    }

    /// When the idle timer fires (meaningful while `idle_since` is set).
    pub(super) fn sleep_deadline(&self) -> tokio::time::Instant {
        let since = self.idle_since.unwrap_or_else(Instant::now);
        tokio::time::Instant::from_std(since + self.sleep_after.unwrap_or(RECHECK))
    }

    /// The idle timer fired: falls asleep if the config (read again now) says
    /// the session has idled long enough and nothing is waiting for it; true
    /// when the actor must end.
    pub(super) async fn idle_timer(&mut self, cmd_rx: &mut mpsc::Receiver<Command>) -> bool {
        self.sleep_after = self.shared.config.load().0.sleep_after;
        let idle = self.idle_since.map(|t| t.elapsed());
        match (self.sleep_after, idle) {
            (Some(after), Some(idle)) if idle >= after => {}
            // Sleeping was turned off, or lengthened: look again later.
            (None, _) => {
                self.idle_since = Some(Instant::now());
                return false;
            }
            _ => return false,
        }
        if !self.can_sleep() || !cmd_rx.is_empty() {
            self.touch();
            return false;
        }
        let slots = self.shared.slots.clone();
        {
            let _one_at_a_time = slots.waking.lock().await;
            if !slots.fall_asleep(&self.row.id, self.epoch, self.info()) {
                // Killed meanwhile: the stop is on its way.
                self.idle_since = None;
                return false;
            }
            self.shared.tools.detach_session(&self.row.id).await;
            self.shared.project.detach(&self.row.id).await;
        }
        cmd_rx.close();
        let redeliver = slots.redeliver();
        while let Some(cmd) = cmd_rx.recv().await {
            hand_back(&redeliver, &self.row.id, cmd, 0);
        }
        info!("session asleep");
        true
    }
}

#[cfg(test)]
mod tests;
