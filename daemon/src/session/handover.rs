//! An actor leaving its node (issue 16): at a `move`'s step boundary, handing
//! the lease to the target node, or at once, writing nothing, when the lease
//! was lost (the store fenced a write, or the heartbeat found another owner).
//! Either way the session stays in the table, asleep, showing its new node;
//! commands still queued for the actor are handed back to the registry, whose
//! next wake finds the lease elsewhere and says so.

use tokio::sync::mpsc;
use tracing::{info, warn};

use super::actor::SessionActor;
use super::handle::{Command, hand_back};
use super::machine::CallStatus;
use super::turn::{Phase, Turn};

impl SessionActor {
    /// True once the session is leaving this node: no new turn or step starts.
    pub(super) fn leaving_soon(&self) -> bool {
        self.hand_over.is_some() || self.moved.is_some()
    }

    /// True between two steps: no model call or tool call is under way.
    fn at_boundary(&self) -> bool {
        if self.compaction.is_some() {
            return false;
        }
        match &self.turn {
            None => true,
            Some(_) if self.parked => true,
            Some(Turn {
                phase: Phase::Budget,
                ..
            }) => true,
            Some(Turn {
                phase: Phase::Tools(step),
                ..
            }) => !step.calls.iter().any(|c| c.status == CallStatus::Running),
            Some(_) => false,
        }
    }

    /// Ends the actor if the session is leaving now; true when it ended.
    pub(super) async fn leaving(&mut self, cmd_rx: &mut mpsc::Receiver<Command>) -> bool {
        if let Some(to) = self.moved.take() {
            warn!(to = %to, "the session moved to another node; its actor here stops");
            self.end_compactions();
            if let Some(turn) = self.turn.take() {
                turn.cancel.cancel();
            }
            self.leave(cmd_rx, to).await;
            return true;
        }
        let Some(to) = self.hand_over.clone() else {
            return false;
        };
        if !self.at_boundary() {
            return false;
        }
        // The turn stays open in the log: the target resumes it at this step.
        self.stop().await;
        let fleet = &self.shared.fleet;
        if let Err(e) = self
            .shared
            .store
            .lease_release(Some(&self.row.id), &fleet.node, Some(&to), fleet.lease_ms())
            .await
        {
            // Still ours: the heartbeat asks again while the move stands.
            warn!(error = %e, "could not hand the lease over; the session stays here for now");
            self.hand_over = None;
            self.parked = false;
            self.start_turn_if_idle().await;
            return false;
        }
        info!(to = %to, "session handed over at a step boundary");
        self.leave(cmd_rx, to).await;
        true
    }

    /// Takes the inputs another node stored for the session (in the store's
    /// order), each once, as if sent here.
    pub(super) async fn pick_up(&mut self, inputs: Vec<crate::store::QueuedInput>) {
        let new: Vec<_> = inputs
            .into_iter()
            .filter(|i| self.known_inputs.insert(i.id))
            .collect();
        if new.is_empty() {
            return;
        }
        for input in new {
            info!(
                input = input.id,
                delivery = input.delivery.as_str(),
                "input from another node"
            );
            match input.delivery {
                tether_shared::Delivery::Interrupt => {
                    self.inputs.push_front(input);
                    if self.turn.is_some() {
                        self.interrupt("interrupted by a new message").await;
                    }
                }
                _ => self.inputs.push_back(input),
            }
        }
        self.publish_status();
        self.start_turn_if_idle().await;
    }

    /// The session is asleep here now, on node `to`: tools detached, queued
    /// commands handed back, the live channel closed (attached clients hear
    /// `session.closed` saying where it went).
    async fn leave(&mut self, cmd_rx: &mut mpsc::Receiver<Command>, to: String) {
        let id = self.row.id.clone();
        self.shared.fleet.lose(&id, Some(&to));
        let slots = self.shared.slots.clone();
        {
            let _one_at_a_time = slots.waking.lock().await;
            let mut info = self.info();
            info.node = Some(to);
            info.attached_clients = 0;
            slots.fall_asleep(&id, self.epoch, info);
            self.shared.tools.detach_session(&id).await;
            self.shared.project.detach(&id).await;
        }
        self.shared.list_changed(&id);
        cmd_rx.close();
        let redeliver = slots.redeliver();
        while let Some(cmd) = cmd_rx.recv().await {
            hand_back(&redeliver, &id, cmd, 0);
        }
    }
}
