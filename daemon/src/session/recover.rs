//! Restarting sessions after the daemon's end: stopping the process groups a
//! crash left behind, reading the last turn back from the store, and resuming,
//! failing or closing a turn that was cut short (DESIGN.md guarantee 3).

use std::sync::Arc;

use tether_shared::{EventKind, SessionState};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::actor::{SessionActor, spawn};
use super::handle::SessionHandle;
use super::machine::{self, CallStatus};
use super::shared::SessionShared;
use super::turn::{Phase, Turn};
use crate::config::Resume;
use crate::store::{SessionRow, StoreError};

/// How many times a turn cut short by restarts resumes before it is failed.
const MAX_RESUMES: u32 = 3;

/// The result of a call that had started when the daemon ended. It starts with
/// "interrupted: daemon restarted" (DESIGN.md guarantee 3; scripts match it), and tells
/// the model what is true: such a call usually ran to the end, so blindly repeating it
/// may do its work twice.
pub const INTERRUPTED_BY_RESTART: &str = "interrupted: daemon restarted while this call was \
    running. It may have completed and had its effects (most such calls do): check what it \
    did (files, processes, remote state) before running it again.";

/// Restores a session from the store: reads its last turn and queued inputs, and
/// recovers a turn the daemon's end cut short (DESIGN.md guarantee 3).
/// `context_use` is the context size it showed asleep ((0, 0) at start-up).
pub async fn spawn_restored(
    row: SessionRow,
    shared: Arc<SessionShared>,
    cancel: CancellationToken,
    context_use: (u64, u64),
) -> Result<SessionHandle, StoreError> {
    // A crash leaves the process groups of running calls behind: stop them before
    // recovery records those calls as interrupted.
    let leftovers = shared.store.processes(&row.id).await?;
    for (call_id, process) in &leftovers {
        if process.kill_group_if_alive() {
            info!(session = %row.name, call = %call_id, pid = process.pid, "stopped a process group left by the previous daemon");
        }
    }
    // Only a session that had some pays for a write (and its fsync) at start-up.
    if !leftovers.is_empty() {
        shared.store.remove_processes(&row.id, None).await?;
    }
    let tail = shared.store.last_turn(&row.id).await?;
    let inputs = shared.store.inputs(&row.id).await?;
    let recovered = machine::analyze(&tail);
    let last_error = tail.iter().rev().find_map(|e| match &e.kind {
        EventKind::TurnFailed { error } => Some(error.clone()),
        _ => None,
    });
    let state = recovered.last_state;
    Ok(spawn(
        row,
        shared,
        cancel,
        state,
        inputs,
        Some((recovered, last_error)),
        context_use,
    ))
}

impl SessionActor {
    /// Recovers a turn that the daemon's end cut short.
    pub(super) async fn recover(&mut self, recovered: machine::Recovered) {
        let Some(open) = recovered.open_turn else {
            return;
        };
        if self.recover_budget_stop(&open).await {
            return;
        }
        let (config, _) = self.shared.config.load();
        let mut step = open.step;
        // The servers that asked are gone with the old daemon: their questions
        // are answered cancel, with a note (issue 14).
        let mut kinds = super::questions::close(
            &mut step,
            &mut Default::default(),
            super::questions::RESTARTED,
            None,
        );
        let unfinished = machine::unfinished(&step);
        for (call_id, tool) in &unfinished {
            kinds.push(EventKind::ToolResult {
                call_id: call_id.clone(),
                tool: tool.clone(),
                output: INTERRUPTED_BY_RESTART.into(),
                is_error: true,
                images: Vec::new(),
            });
            step.set(call_id, CallStatus::Done);
        }
        let pending = step.pending();
        let generation = self.next_generation;
        self.next_generation += 1;
        let resume_needed = !unfinished.is_empty() || pending.is_empty();
        if config.resume == Resume::Manual && pending.is_empty() {
            kinds.push(EventKind::TurnInterrupted {
                reason: "daemon restarted".into(),
            });
            self.state_change(SessionState::Idle, &mut kinds);
            self.persist(kinds, vec![], None).await;
            info!("turn left interrupted after restart ([recovery] resume = \"manual\")");
            return;
        }
        if resume_needed && config.resume == Resume::Auto {
            if open.resumes >= MAX_RESUMES {
                for id in &pending {
                    if let Some(c) = step.calls.iter().find(|c| &c.call_id == id) {
                        kinds.push(EventKind::ToolResult {
                            call_id: id.clone(),
                            tool: c.tool.clone(),
                            output: "interrupted: the turn failed".into(),
                            is_error: true,
                            images: Vec::new(),
                        });
                    }
                }
                let error = format!(
                    "the turn was cut short by a daemon restart {} times; not resuming it again",
                    open.resumes + 1
                );
                self.last_error = Some(error.clone());
                kinds.push(EventKind::TurnFailed { error });
                self.state_change(SessionState::Failed, &mut kinds);
                self.persist(kinds, vec![], None).await;
                return;
            }
            kinds.push(EventKind::TurnResumed {
                attempt: open.resumes + 1,
            });
        }
        let state = if pending.is_empty() {
            SessionState::Running
        } else {
            SessionState::AwaitingApproval
        };
        self.state_change(state, &mut kinds);
        self.turn = Some(Turn::new(
            generation,
            self.cancel.child_token(),
            if step.calls.is_empty() {
                Phase::Model
            } else {
                Phase::Tools(step)
            },
        ));
        if !self.persist(kinds, vec![], None).await {
            return;
        }
        info!(
            resumes = open.resumes + 1,
            pending = pending.len(),
            "turn recovered after restart"
        );
        if pending.is_empty() {
            self.model_step().await;
        }
    }
}
