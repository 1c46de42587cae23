//! A schedule's firing as the actor takes it (issue 15): the actor owns the
//! queue of inputs, so the firing is stored (input and schedule state in one
//! transaction) and queued by it, one command at a time, never twice.

use tracing::info;

use super::actor::SessionActor;
use super::error::SessionError;
use crate::store::{Fired, Firing, QueuedInput};

impl SessionActor {
    /// Stores a firing and, when it delivered, queues its input and starts a
    /// turn if none runs.
    pub(super) async fn fire(&mut self, firing: Firing) -> Result<Fired, SessionError> {
        let (text, delivery, schedule) = (firing.text.clone(), firing.delivery, firing.schedule_id);
        let fired = self
            .shared
            .store
            .fire_schedule(&self.row.id, firing)
            .await
            .map_err(SessionError::InputNotStored)?;
        if let Fired::Delivered(id) = fired {
            info!(input = id, schedule, "scheduled input stored");
            // Known: a fleet's heartbeat, which hands the actor the inputs
            // stored for it, does not queue it a second time.
            self.known_inputs.insert(id);
            self.inputs.push_back(QueuedInput {
                id,
                text,
                delivery,
                schedule: Some(schedule),
            });
            self.publish_status();
            self.start_turn_if_idle().await;
        }
        Ok(fired)
    }
}
