//! The inputs waiting for the agent, as clients see them (issue 11): attached
//! clients get the whole queue in a `queued` live message whenever it changes,
//! and a queued input can be cancelled until the agent takes it.
//!
//! Cancelling is race-free because the actor owns the queue: taking an input
//! (a turn's start, a steer at a step boundary) and cancelling one are both
//! commands the actor runs one at a time, so an input is either still in
//! `inputs` (and is deleted, durably, before the reply) or already taken (and
//! nothing changes).

use tether_shared::protocol::QueuedInput as WireInput;
use tether_shared::protocol::SendResult;
use tether_shared::{Delivery, Live, SessionState};
use tracing::info;

use super::actor::SessionActor;
use super::error::SessionError;
use super::live::Published;
use crate::store::{Batch, KeyRecord, QueuedInput};

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

    /// Stores a client's input (with its request key) and queues it: at the
    /// front for an interrupt, which also interrupts the turn; then starts a
    /// turn if none runs.
    pub(super) async fn take_input(
        &mut self,
        text: String,
        delivery: Delivery,
        key: Option<KeyRecord>,
    ) -> Result<SendResult, SessionError> {
        // What a retry is answered with should the daemon die before the final
        // result is stored: the state this input is about to put the session in.
        let key = key.map(|mut k| {
            let state = if self.turn.is_none() || delivery == Delivery::Interrupt {
                SessionState::Running
            } else {
                self.state
            };
            k.result = serde_json::to_value(SendResult { input_id: 0, state }).unwrap_or_default();
            k
        });
        let id = self
            .shared
            .store
            .add_input_keyed(&self.row.id, &text, delivery, key)
            .await
            .map_err(SessionError::InputNotStored)?;
        let input = QueuedInput::sent(id, text, delivery);
        self.known_inputs.insert(id);
        info!(input = id, delivery = delivery.as_str(), "input stored");
        match delivery {
            Delivery::Interrupt => {
                self.inputs.push_front(input);
                if self.turn.is_some() {
                    self.interrupt("interrupted by a new message").await;
                }
            }
            _ => self.inputs.push_back(input),
        }
        self.publish_status();
        self.start_turn_if_idle().await;
        Ok(SendResult {
            input_id: id,
            state: self.state,
        })
    }
}
