//! The inputs waiting for the agent, as clients see them (issue 11): attached
//! clients get the whole queue in a `queued` live message whenever it changes,
//! and a queued input can be cancelled until the agent takes it.
//!
//! Cancelling is race-free because the actor owns the queue: taking an input
//! (a turn's start, a steer at a step boundary) and cancelling one are both
//! commands the actor runs one at a time, so an input is either still in
//! `inputs` (and is deleted, durably, before the reply) or already taken (and
//! nothing changes).

use tether_shared::Live;
use tether_shared::protocol::QueuedInput as WireInput;
use tracing::info;

use super::actor::SessionActor;
use super::error::SessionError;
use super::live::Published;
use crate::store::Batch;

impl SessionActor {
    /// The queue as the wire shows it, oldest first.
    pub(super) fn queued(&self) -> Vec<WireInput> {
        self.inputs
            .iter()
            .map(|i| WireInput {
                input_id: i.id,
                text: i.text.clone(),
                delivery: i.recorded_delivery(),
            })
            .collect()
    }

    /// Tells attached clients the queue when it differs from what they were told last.
    pub(super) fn publish_queue(&self) {
        let ids: Vec<i64> = self.inputs.iter().map(|i| i.id).collect();
        {
            let Ok(mut sent) = self.queue_sent.lock() else {
                return;
            };
            if *sent == ids {
                return;
            }
            *sent = ids;
        }
        if let Some(tx) = self.live_sender() {
            // No receivers is fine: nobody is attached.
            let _ = tx.send(Published::new(Live::Queued {
                inputs: self.queued(),
            }));
        }
    }

    /// Cancels queued input `id`: true when it was still queued and is now
    /// deleted from the store; false when it was not queued (taken by the agent,
    /// cancelled already, or never this session's), and nothing changed.
    pub(super) async fn cancel_input(&mut self, id: i64) -> Result<bool, SessionError> {
        let Some(at) = self.inputs.iter().position(|i| i.id == id) else {
            return Ok(false);
        };
        let batch = Batch {
            consume_inputs: vec![id],
            ..Default::default()
        };
        self.shared
            .store
            .append(&self.row.id, batch)
            .await
            .map_err(SessionError::CancelNotStored)?;
        self.inputs.remove(at);
        info!(input = id, "queued input cancelled");
        self.publish_status();
        Ok(true)
    }
}
