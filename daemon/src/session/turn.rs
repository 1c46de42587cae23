//! The running turn as the actor keeps it: its generation (a report tagged with
//! another is from an earlier turn and dropped), its cancel token, and whether it
//! waits for the model or for the tool calls of a step.

use tokio_util::sync::CancellationToken;

use super::machine::Step;

/// What a turn waits for.
pub(super) enum Phase {
    /// The model's answer.
    Model,
    /// The calls of a step (to run, or to be decided).
    Tools(Step),
}

/// The running turn.
pub(super) struct Turn {
    /// Tags the turn's worker reports.
    pub(super) generation: u64,
    /// Cancels the turn's workers.
    pub(super) cancel: CancellationToken,
    /// What it waits for.
    pub(super) phase: Phase,
}
