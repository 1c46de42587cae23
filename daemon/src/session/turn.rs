//! The running turn as the actor keeps it: its generation (a report tagged with
//! another is from an earlier turn and dropped), its cancel token, and whether it
//! waits for the model, for the tool calls of a step, or for a compaction; and a
//! compaction under way, inside a turn or on its own (`tether compact`).

use std::collections::HashMap;

use tether_shared::protocol::CompactResult;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::context::compact::Plan;
use super::error::SessionError;
use super::machine::Step;
use crate::tools::ServerAsk;

/// What a turn waits for.
pub(super) enum Phase {
    /// The model's answer.
    Model,
    /// The calls of a step (to run, or to be decided).
    Tools(Step),
    /// A compaction of the context before the next model call.
    Compacting,
    /// Nothing: the session reached its budget before the next model call, which
    /// is made when the budget is raised (issue 10).
    Budget,
}

/// The running turn.
pub(super) struct Turn {
    /// Tags the turn's worker reports.
    pub(super) generation: u64,
    /// Cancels the turn's workers.
    pub(super) cancel: CancellationToken,
    /// What it waits for.
    pub(super) phase: Phase,
    /// The current step already compacted after an overflow: a second overflow
    /// fails the turn instead of compacting in a loop.
    pub(super) overflow_retried: bool,
    /// The servers' questions and sampling requests of the current step not
    /// answered yet, by request id, with where their answers go (issue 14).
    /// Dropping one answers `cancel` (a question) or an error (sampling).
    pub(super) asks: HashMap<String, ServerAsk>,
}

impl Turn {
    /// A turn tagged `generation` whose workers stop with `cancel`.
    pub(super) fn new(generation: u64, cancel: CancellationToken, phase: Phase) -> Self {
        Turn {
            generation,
            cancel,
            phase,
            overflow_retried: false,
            asks: HashMap::new(),
        }
    }
}

/// Where the answer to `tether compact` goes.
pub(super) type CompactReply = oneshot::Sender<Result<CompactResult, SessionError>>;

/// A `tether compact` waiting for the running turn's next model call.
pub(super) struct CompactRequest {
    /// What the summary should also keep.
    pub(super) instructions: Option<String>,
    /// Where the result goes.
    pub(super) reply: CompactReply,
}

/// A compaction whose summary is being written.
pub(super) struct Compaction {
    /// Tags the summary worker's report.
    pub(super) generation: u64,
    /// The turn it runs in; `None` for a compaction of an idle session.
    pub(super) turn: Option<u64>,
    /// Cancels the summary worker.
    pub(super) cancel: CancellationToken,
    /// What it does.
    pub(super) plan: Plan,
    /// Tokens of the request besides the conversation (system prompt, tools).
    pub(super) fixed: u64,
    /// The window and the threshold it worked to, in the endpoint's tokens.
    pub(super) window: u64,
    /// See [`Compaction::window`].
    pub(super) threshold: u64,
    /// `tether compact` requests waiting for it.
    pub(super) replies: Vec<CompactReply>,
}
