//! The turn's transitions: what the model's answer, a finished tool call, a decision,
//! an interrupt or a failure do to the running turn, as events persisted in one batch
//! each, and the tool workers they start.
//!
//! These are `SessionActor` methods: the actor calls them from its loop; they change
//! its state and the log only through `persist`.

use std::sync::Arc;

use tether_shared::protocol::{AlwaysAllow, DecideResult};
use tether_shared::rules::ApprovalRule;
use tether_shared::{Decision, Delivery, EventKind, SessionState};
use tracing::{info, warn};

use super::actor::SessionActor;
use super::error::SessionError;
use super::machine::{CallStatus, Step, StepCall};
use super::rules;
use super::turn::{Phase, Turn};
use crate::config::Policy;
use crate::model::ModelReply;
use crate::tools::ToolOutput;

impl SessionActor {
    /// Starts one tool call of the running turn.
    fn run_tool(&self, call: StepCall) {
        if let Some(turn) = &self.turn {
            self.workers.run_tool(turn, call);
        }
    }

    pub(super) async fn model_reply(&mut self, reply: ModelReply) {
        let (config, _) = self.shared.config.load();
        let mut kinds = vec![EventKind::AssistantMessage {
            text: reply.text.clone(),
            tool_calls: reply.tool_calls.clone(),
            provider_items: reply.provider_items.iter().map(|p| p.record()).collect(),
            usage: reply.usage,
            partial: false,
            finish_reason: Some(reply.finish_reason.clone()),
        }];
        if reply.tool_calls.is_empty() {
            if self.inputs.iter().any(|i| i.delivery == Delivery::Steer) {
                // A steer arrived during the last call: the turn goes on with it.
                if self.persist(kinds, vec![], reply.usage).await {
                    self.model_step().await;
                }
                return;
            }
            kinds.push(EventKind::TurnCompleted);
            self.state_change(SessionState::Idle, &mut kinds);
            self.turn = None;
            self.persist(kinds, vec![], reply.usage).await;
            self.start_turn_if_idle().await;
            return;
        }
        let mut step = Step::default();
        let policies = rules::decide_policies(
            Arc::clone(&config),
            &self.shared.store,
            &self.row.id,
            &reply.tool_calls,
            &self.row.cwd,
        )
        .await;
        for (c, (policy, rule)) in reply.tool_calls.iter().zip(policies) {
            if let Some(rule) = rule {
                info!(tool = %c.tool, call = %c.call_id, rule, "an approval rule allows the call");
            }
            kinds.push(EventKind::ToolCall {
                call_id: c.call_id.clone(),
                tool: c.tool.clone(),
                arguments: c.arguments.clone(),
                rule,
            });
            let status = match policy {
                Policy::Allow => CallStatus::Running,
                Policy::Ask => {
                    let cwd = std::path::Path::new(&self.row.cwd);
                    let diff =
                        crate::tools::preview::approval_diff(&c.tool, &c.arguments, cwd).await;
                    kinds.push(EventKind::ApprovalRequested {
                        call_id: c.call_id.clone(),
                        tool: c.tool.clone(),
                        diff,
                    });
                    CallStatus::AwaitingApproval
                }
                Policy::Deny => {
                    kinds.push(EventKind::ToolResult {
                        call_id: c.call_id.clone(),
                        tool: c.tool.clone(),
                        output: format!(
                            "tool call refused: {:?} is denied by the approval policy",
                            c.tool
                        ),
                        is_error: true,
                        images: Vec::new(),
                    });
                    CallStatus::Done
                }
            };
            step.calls.push(StepCall {
                call_id: c.call_id.clone(),
                tool: c.tool.clone(),
                arguments: c.arguments.clone(),
                status,
            });
        }
        self.state_change(step.state(), &mut kinds);
        let to_run: Vec<StepCall> = step
            .calls
            .iter()
            .filter(|c| c.status == CallStatus::Running)
            .cloned()
            .collect();
        let all_done = step.all_done();
        if let Some(turn) = self.turn.as_mut() {
            turn.phase = Phase::Tools(step);
        }
        if !self.persist(kinds, vec![], reply.usage).await {
            return;
        }
        for call in to_run {
            self.run_tool(call);
        }
        if all_done {
            self.model_step().await;
        }
    }

    pub(super) async fn tool_done(&mut self, call_id: String, tool: String, output: ToolOutput) {
        self.tools_done(vec![(call_id, tool, output)]).await;
    }

    /// Records finished tool calls in one batch; the next model step starts when
    /// the last call of the step is done.
    pub(super) async fn tools_done(&mut self, results: Vec<(String, String, ToolOutput)>) {
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        // A server's question that outlived its call is closed first.
        let finished: Vec<String> = results.iter().map(|(id, _, _)| id.clone()).collect();
        let mut kinds = super::questions::close_for_calls(turn, &finished);
        let Turn {
            phase: Phase::Tools(step),
            ..
        } = turn
        else {
            return;
        };
        for (call_id, tool, output) in results {
            if !step.set(&call_id, CallStatus::Done) {
                continue;
            }
            info!(tool = %tool, call = %call_id, is_error = output.is_error, "tool call finished");
            kinds.push(EventKind::ToolResult {
                call_id,
                tool,
                output: output.output,
                is_error: output.is_error,
                images: output.images,
            });
        }
        if !kinds
            .iter()
            .any(|k| matches!(k, EventKind::ToolResult { .. }))
        {
            return;
        }
        let all_done = step.all_done();
        let next_state = step.state();
        self.state_change(next_state, &mut kinds);
        if self.persist(kinds, vec![], None).await && all_done {
            self.model_step().await;
        }
    }

    /// Approves or denies waiting calls. With `always` (approvals only), first
    /// stores the rule asked for; the other waiting calls of the step that it
    /// allows are approved by it in the same batch (their `approval_decided`
    /// names the rule).
    pub(super) async fn decide(
        &mut self,
        call_id: Option<String>,
        all: bool,
        decision: Decision,
        reason: Option<String>,
        always: Option<AlwaysAllow>,
    ) -> Result<DecideResult, SessionError> {
        let name = self.row.name.clone();
        let Some(Turn {
            phase: Phase::Tools(step),
            ..
        }) = self.turn.as_ref()
        else {
            let what = match &call_id {
                Some(id) => format!("no tool call {id:?} is"),
                None => "no tool call is".to_string(),
            };
            return Err(SessionError::NoSuchApproval(format!(
                "{what} waiting for approval in session {name:?}"
            )));
        };
        let chosen = step
            .select(call_id.as_deref(), all)
            .map_err(|e| SessionError::NoSuchApproval(format!("{e} in session {name:?}")))?;
        // The rule first, durable before anything it decides (the actor takes no
        // other command meanwhile, so the step stays as it is).
        let mut by_rule: Vec<String> = Vec::new();
        let rule = match &always {
            None => None,
            Some(_) if decision != Decision::Approved => {
                return Err(SessionError::BadRule(
                    "\"always\" adds a rule that approves: it goes with session.approve only"
                        .into(),
                ));
            }
            Some(always) => {
                let tools: Vec<&str> = step
                    .calls
                    .iter()
                    .filter(|c| chosen.contains(&c.call_id))
                    .map(|c| c.tool.as_str())
                    .collect();
                let asked = rules::rule_asked(always, &tools)?;
                let rule =
                    rules::add_rule(&self.shared.store, asked, &self.row.id, &self.row.cwd).await?;
                by_rule = step
                    .calls
                    .iter()
                    .filter(|c| {
                        c.status == CallStatus::AwaitingApproval
                            && !chosen.contains(&c.call_id)
                            && rule.allows(&c.tool, &c.arguments)
                    })
                    .map(|c| c.call_id.clone())
                    .collect();
                info!(rule = rule.id, scope = rule.scope.as_str(), tool = %rule.tool,
                    prefix = rule.prefix.as_deref().unwrap_or(""), also = by_rule.len(),
                    "approval rule added");
                Some(rule)
            }
        };
        let Some(Turn {
            phase: Phase::Tools(step),
            ..
        }) = self.turn.as_mut()
        else {
            return Err(SessionError::DecisionNotStored);
        };
        let reason = reason.filter(|r| !r.trim().is_empty());
        let mut kinds = Vec::new();
        if let Some(rule) = &rule {
            kinds.push(EventKind::ApprovalRuleAdded {
                rule: rule.clone(),
                call_id: (chosen.len() == 1).then(|| chosen[0].clone()),
            });
        }
        let mut to_run = Vec::new();
        let decisions = chosen
            .iter()
            .map(|id| (id, None))
            .chain(by_rule.iter().map(|id| (id, rule.as_ref().map(|r| r.id))));
        for (id, by) in decisions {
            kinds.push(EventKind::ApprovalDecided {
                call_id: id.clone(),
                decision,
                reason: if by.is_some() { None } else { reason.clone() },
                rule: by,
            });
            let Some(call) = step.calls.iter_mut().find(|c| &c.call_id == id) else {
                continue;
            };
            match decision {
                Decision::Approved => {
                    call.status = CallStatus::Running;
                    to_run.push(call.clone());
                }
                // Unknown cannot come from a client of this version; refusing is the safe reading.
                Decision::Denied | Decision::Unknown => {
                    call.status = CallStatus::Done;
                    let output = match &reason {
                        Some(r) => format!("the user denied this tool call: {r}"),
                        None => "the user denied this tool call".to_string(),
                    };
                    kinds.push(EventKind::ToolResult {
                        call_id: id.clone(),
                        tool: call.tool.clone(),
                        output,
                        is_error: true,
                        images: Vec::new(),
                    });
                }
            }
        }
        let all_done = step.all_done();
        let next = step.state();
        self.state_change(next, &mut kinds);
        // Persist the decision before running anything: approve runs exactly once.
        if !self.persist(kinds, vec![], None).await {
            return Err(SessionError::DecisionNotStored);
        }
        for call in to_run {
            self.run_tool(call);
        }
        if all_done {
            self.model_step().await;
        }
        let mut decided = chosen;
        decided.extend(by_rule.iter().cloned());
        Ok(DecideResult {
            decided,
            rule,
            by_rule,
        })
    }

    /// Removes rule `id` if it applies to this session, and records that in its
    /// log; the calls after it ask again.
    pub(super) async fn remove_rule(&mut self, id: u64) -> Result<ApprovalRule, SessionError> {
        let project = rules::project_string(&self.row.cwd).await;
        let removed = self
            .shared
            .store
            .remove_rule(id, &self.row.id, &project)
            .await
            .map_err(SessionError::RuleNotStored)?;
        let Some(rule) = removed else {
            return Err(SessionError::NoSuchRule {
                name: self.row.name.clone(),
                id,
            });
        };
        info!(rule = rule.id, "approval rule removed");
        self.persist(
            vec![EventKind::ApprovalRuleRemoved { rule: rule.clone() }],
            vec![],
            None,
        )
        .await;
        Ok(rule)
    }

    /// Ends the running turn: keeps the partial answer, gives every unfinished
    /// call an error result, and goes idle.
    pub(super) async fn interrupt(&mut self, reason: &str) {
        let Some(mut turn) = self.turn.take() else {
            return;
        };
        turn.cancel.cancel();
        let mut kinds = Vec::new();
        if let Phase::Tools(step) = &mut turn.phase {
            kinds.extend(super::questions::close(step, &mut turn.asks, reason, None));
        }
        if !self.partial_text.is_empty() {
            kinds.push(EventKind::AssistantMessage {
                text: std::mem::take(&mut self.partial_text),
                tool_calls: Vec::new(),
                provider_items: Vec::new(),
                usage: None,
                partial: true,
                finish_reason: None,
            });
        }
        if let Phase::Tools(step) = &turn.phase {
            for c in step.calls.iter().filter(|c| c.status != CallStatus::Done) {
                kinds.push(EventKind::ToolResult {
                    call_id: c.call_id.clone(),
                    tool: c.tool.clone(),
                    output: reason.to_string(),
                    is_error: true,
                    images: Vec::new(),
                });
            }
        }
        kinds.push(EventKind::TurnInterrupted {
            reason: reason.to_string(),
        });
        self.state_change(SessionState::Idle, &mut kinds);
        self.persist(kinds, vec![], None).await;
        info!(reason, "turn interrupted");
    }

    pub(super) async fn fail_turn(&mut self, error: String) {
        warn!(%error, "turn failed");
        if let Some(t) = self.turn.take() {
            t.cancel.cancel();
        }
        self.last_error = Some(error.clone());
        let mut kinds = vec![EventKind::TurnFailed { error }];
        self.state_change(SessionState::Failed, &mut kinds);
        self.persist(kinds, vec![], None).await;
        // Boxed: starting the next turn may fail it again (model_step ↔ fail_turn).
        Box::pin(self.start_turn_if_idle()).await;
    }

    /// A store write failed: a running turn ends now (failed, owed to the log);
    /// an idle session keeps its state and retries what it could not write.
    pub(super) fn fail_without_store(&mut self, error: String) {
        let turn = self.turn.take();
        let owed = if let Some(t) = turn {
            t.cancel.cancel();
            self.state = SessionState::Failed;
            self.waiting_since = Some(crate::util::now_rfc3339());
            self.last_error = Some(error.clone());
            Some(error)
        } else if self.store_debt.owes() {
            // Still failing to record an earlier failed turn.
            None
        } else {
            if self.state == SessionState::Failed {
                self.last_error = Some(error);
            }
            None
        };
        self.store_debt.failed(owed);
        self.publish_status();
    }

    /// The retry timer fired: record what is owed, then start what is queued.
    pub(super) async fn retry_store(&mut self) {
        if self.store_debt.owes() {
            if !self.persist(Vec::new(), vec![], None).await {
                return;
            }
        } else {
            self.store_debt.paid();
        }
        self.start_turn_if_idle().await;
    }
}
