//! What a session with no actor here shows (issue 13): one asleep, from the
//! store's index, and (issue 16) one another node of the fleet runs.

use tether_shared::SessionState;
use tether_shared::protocol::{CostBasis, SessionInfo};

use crate::config::Config;
use crate::store::IndexEntry;

/// True when the session needs its actor at start: a turn to recover (one
/// stopped on its budget waits for a person, like a failed one), queued
/// inputs, or process groups a crash left (a pending approval is an open turn).
pub(super) fn has_work(e: &IndexEntry) -> bool {
    e.queued_inputs > 0 || e.processes || (e.turn_open && e.state != SessionState::BudgetExhausted)
}

/// [`asleep_info`] of an entry that is kept, with its model's price source.
pub(super) fn asleep_info_of(e: &IndexEntry, config: &Config) -> SessionInfo {
    asleep_info(e.clone(), config.cost_basis(&e.row.model))
}

/// The summary of a session that sleeps from the start: what its actor would
/// show once restored (`recover.rs` reads the same from the log: a state
/// recorded during a turn that has no end reads as `idle`). The entry's strings
/// are moved into it, not copied (issue 13: 100,000 of them at start).
pub(super) fn asleep_info(e: IndexEntry, cost_basis: CostBasis) -> SessionInfo {
    let mut state = e.state;
    let mut state_at = e.state_at;
    if !e.turn_open
        && matches!(
            state,
            SessionState::Running | SessionState::AwaitingApproval | SessionState::BudgetExhausted
        )
    {
        state = SessionState::Idle;
        state_at = None;
    }
    let row = e.row;
    let waiting_since = state
        .needs_person()
        .then(|| state_at.unwrap_or_else(|| row.updated_at.clone()));
    SessionInfo {
        id: row.id,
        name: row.name,
        state,
        model: row.model,
        cwd: row.cwd,
        created_at: row.created_at,
        updated_at: row.updated_at,
        pending_approvals: e.pending_approvals,
        // Asleep here with inputs queued: another node runs it (an asleep
        // session of this node's with inputs has an actor).
        queued_inputs: e.queued_inputs,
        attached_clients: 0,
        last_seq: row.last_seq,
        usage: row.usage,
        instructions: row.instructions,
        last_error: e.last_error.filter(|_| state == SessionState::Failed),
        context_tokens: 0,
        context_window: 0,
        budget: row.budget,
        cost_usd: row.cost_usd,
        cost_basis,
        waiting_since,
        pending_inputs: Vec::new(),
        worktree: row.worktree,
        // Which node holds it and whether it may move are the fleet's to
        // fill in (from its leases), as for a summary of a live session.
        node: None,
        portable: false,
    }
}
