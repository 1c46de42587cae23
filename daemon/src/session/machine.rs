//! The pure part of a session: the tool calls of the current step and what a
//! session's stored tail says about a turn that a restart cut short.

use serde_json::Value;
use tether_shared::{Event, EventKind, SessionState};

/// Where one tool call of the current step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Waiting for a person.
    AwaitingApproval,
    /// Running (or about to).
    Running,
    /// Has its result.
    Done,
}

/// One tool call of the current step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCall {
    /// The model's id.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
    /// Where it stands.
    pub status: CallStatus,
}

/// What a tool server asked during a call of the step (issue 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionKind {
    /// A question for a person (`input_requested`).
    Input,
    /// A completion from the session's model (`sampling_requested`).
    Sampling,
}

/// A server's question or sampling request not answered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Its id in the session.
    pub request_id: String,
    /// The call during which the server asked.
    pub call_id: Option<String>,
    /// What it is.
    pub kind: QuestionKind,
    /// Waiting for a person (an approved sampling request is not: the model runs).
    pub waiting: bool,
}

/// The tool calls the model asked for in one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    /// The calls, in the model's order.
    pub calls: Vec<StepCall>,
    /// What servers asked during them and is not answered yet.
    pub questions: Vec<Question>,
}

impl Step {
    /// Call ids waiting for approval.
    pub fn pending(&self) -> Vec<String> {
        self.calls
            .iter()
            .filter(|c| c.status == CallStatus::AwaitingApproval)
            .map(|c| c.call_id.clone())
            .collect()
    }

    /// True when every call has its result.
    pub fn all_done(&self) -> bool {
        self.calls.iter().all(|c| c.status == CallStatus::Done)
    }

    /// Sets a call's status; false if there is no such call.
    pub fn set(&mut self, call_id: &str, status: CallStatus) -> bool {
        match self.calls.iter_mut().find(|c| c.call_id == call_id) {
            Some(c) => {
                c.status = status;
                true
            }
            None => false,
        }
    }

    /// Ids of the questions and sampling requests waiting for a person.
    pub fn waiting_questions(&self) -> Vec<String> {
        self.questions
            .iter()
            .filter(|q| q.waiting)
            .map(|q| q.request_id.clone())
            .collect()
    }

    /// Takes a question out of the step.
    pub fn take_question(&mut self, request_id: &str) -> Option<Question> {
        let i = self
            .questions
            .iter()
            .position(|q| q.request_id == request_id)?;
        Some(self.questions.remove(i))
    }

    /// The state the session is in while this step runs: a call or a server's
    /// question waiting for a person makes it `awaiting_approval`.
    pub fn state(&self) -> SessionState {
        if self
            .calls
            .iter()
            .any(|c| c.status == CallStatus::AwaitingApproval)
            || self.questions.iter().any(|q| q.waiting)
        {
            SessionState::AwaitingApproval
        } else {
            SessionState::Running
        }
    }

    /// Picks the calls a decision applies to: one by id, all, or the only one.
    pub fn select(&self, call_id: Option<&str>, all: bool) -> Result<Vec<String>, String> {
        let pending = self.pending();
        if all {
            return Ok(pending);
        }
        match call_id {
            Some(id) if pending.iter().any(|p| p == id) => Ok(vec![id.to_string()]),
            Some(id) => Err(format!("no tool call {id:?} is waiting for approval")),
            None => match pending.len() {
                0 => Err("no tool call is waiting for approval".into()),
                1 => Ok(pending),
                n => Err(format!(
                    "{n} tool calls are waiting ({}); name one or use --all",
                    pending.join(", ")
                )),
            },
        }
    }
}

/// What the stored tail of a session says about its last turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// The state the log last recorded.
    pub last_state: SessionState,
    /// When the log recorded it (absent when the tail has no state event, or
    /// the state was read as `idle` for want of an open turn).
    pub last_state_at: Option<String>,
    /// The open turn, if the log has a turn with no end.
    pub open_turn: Option<OpenTurn>,
}

/// A turn that has started and not ended.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTurn {
    /// How many times it has resumed already.
    pub resumes: u32,
    /// The calls of its last step, with their status as stored. Calls that had
    /// started (not waiting for approval) and have no result are `Running`.
    pub step: Step,
}

/// Reads the events from the last `turn_started` on (see `Store::last_turn`).
pub fn analyze(tail: &[Event]) -> Recovered {
    let mut last_state = SessionState::Idle;
    let mut last_state_at = None;
    let mut open: Option<OpenTurn> = None;
    for ev in tail {
        match &ev.kind {
            EventKind::State { state } => {
                last_state = *state;
                last_state_at = Some(ev.ts.clone());
            }
            EventKind::TurnStarted => {
                open = Some(OpenTurn {
                    resumes: 0,
                    step: Step::default(),
                })
            }
            EventKind::TurnCompleted
            | EventKind::TurnInterrupted { .. }
            | EventKind::TurnFailed { .. } => open = None,
            EventKind::TurnResumed { .. } => {
                if let Some(t) = open.as_mut() {
                    t.resumes += 1;
                }
            }
            EventKind::AssistantMessage { .. } => {
                if let Some(t) = open.as_mut() {
                    t.step = Step::default();
                }
            }
            EventKind::ToolCall {
                call_id,
                tool,
                arguments,
                ..
            } => {
                if let Some(t) = open.as_mut() {
                    t.step.calls.push(StepCall {
                        call_id: call_id.clone(),
                        tool: tool.clone(),
                        arguments: arguments.clone(),
                        status: CallStatus::Running,
                    });
                }
            }
            EventKind::ApprovalRequested { call_id, .. } => {
                if let Some(t) = open.as_mut() {
                    t.step.set(call_id, CallStatus::AwaitingApproval);
                }
            }
            EventKind::ApprovalDecided { call_id, .. } => {
                if let Some(t) = open.as_mut() {
                    // Whatever the decision, the call is no longer waiting: an approved
                    // one had started, a denied one gets its result in the same batch.
                    t.step.set(call_id, CallStatus::Running);
                }
            }
            EventKind::ToolResult { call_id, .. } => {
                if let Some(t) = open.as_mut() {
                    t.step.set(call_id, CallStatus::Done);
                }
            }
            EventKind::InputRequested {
                request_id,
                call_id,
                ..
            }
            | EventKind::SamplingRequested {
                request_id,
                call_id,
                ..
            } => {
                if let Some(t) = open.as_mut() {
                    let kind = if matches!(ev.kind, EventKind::InputRequested { .. }) {
                        QuestionKind::Input
                    } else {
                        QuestionKind::Sampling
                    };
                    t.step.questions.push(Question {
                        request_id: request_id.clone(),
                        call_id: call_id.clone(),
                        kind,
                        waiting: true,
                    });
                }
            }
            EventKind::SamplingDecided { request_id, .. } => {
                if let Some(q) = open.as_mut().and_then(|t| {
                    t.step
                        .questions
                        .iter_mut()
                        .find(|q| &q.request_id == request_id)
                }) {
                    q.waiting = false;
                }
            }
            EventKind::InputAnswered { request_id, .. }
            | EventKind::SamplingAnswered { request_id, .. } => {
                if let Some(t) = open.as_mut() {
                    t.step.take_question(request_id);
                }
            }
            _ => {}
        }
    }
    if open.is_none()
        && matches!(
            last_state,
            SessionState::Running | SessionState::AwaitingApproval | SessionState::BudgetExhausted
        )
    {
        last_state = SessionState::Idle;
        last_state_at = None;
    }
    Recovered {
        last_state,
        last_state_at,
        open_turn: open,
    }
}

/// Call ids in `step` that had started and have no result.
pub fn unfinished(step: &Step) -> Vec<(String, String)> {
    step.calls
        .iter()
        .filter(|c| c.status == CallStatus::Running)
        .map(|c| (c.call_id.clone(), c.tool.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tether_shared::Decision;
    use tether_shared::event::ToolCallSpec;

    fn evs(kinds: Vec<EventKind>) -> Vec<Event> {
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                seq: i as u64 + 1,
                ts: "t".into(),
                kind,
            })
            .collect()
    }

    fn call(id: &str) -> EventKind {
        EventKind::ToolCall {
            call_id: id.into(),
            tool: "shell".into(),
            arguments: json!({}),
            rule: None,
        }
    }

    fn assistant(ids: &[&str]) -> EventKind {
        EventKind::AssistantMessage {
            text: String::new(),
            tool_calls: ids
                .iter()
                .map(|i| ToolCallSpec {
                    call_id: (*i).into(),
                    tool: "shell".into(),
                    arguments: json!({}),
                })
                .collect(),
            provider_items: Vec::new(),
            usage: None,
            partial: false,
            finish_reason: None,
        }
    }

    #[test]
    fn a_finished_turn_is_not_open() {
        let r = analyze(&evs(vec![
            EventKind::TurnStarted,
            EventKind::State {
                state: SessionState::Running,
            },
            EventKind::TurnFailed { error: "x".into() },
            EventKind::State {
                state: SessionState::Failed,
            },
        ]));
        assert_eq!(r.open_turn, None);
        assert_eq!(r.last_state, SessionState::Failed);
    }

    #[test]
    fn open_turn_sorts_calls_into_done_pending_and_started() {
        let r = analyze(&evs(vec![
            EventKind::TurnStarted,
            assistant(&["a", "b", "c", "d"]),
            call("a"),
            call("b"),
            call("c"),
            call("d"),
            EventKind::ApprovalRequested {
                call_id: "b".into(),
                tool: "shell".into(),
                diff: None,
            },
            EventKind::ApprovalRequested {
                call_id: "c".into(),
                tool: "shell".into(),
                diff: None,
            },
            EventKind::ApprovalDecided {
                call_id: "c".into(),
                decision: Decision::Approved,
                reason: None,
                rule: None,
            },
            EventKind::ToolResult {
                call_id: "d".into(),
                tool: "shell".into(),
                output: "".into(),
                is_error: false,
                images: Vec::new(),
            },
            EventKind::TurnResumed { attempt: 1 },
        ]));
        let t = r.open_turn.unwrap();
        assert_eq!(t.resumes, 1);
        assert_eq!(t.step.pending(), vec!["b".to_string()]);
        let started: Vec<String> = unfinished(&t.step).into_iter().map(|(id, _)| id).collect();
        assert_eq!(started, vec!["a".to_string(), "c".to_string()]);
        assert_eq!(t.step.state(), SessionState::AwaitingApproval);
    }

    #[test]
    fn a_new_assistant_message_starts_a_new_step() {
        let r = analyze(&evs(vec![
            EventKind::TurnStarted,
            assistant(&["a"]),
            call("a"),
            EventKind::ToolResult {
                call_id: "a".into(),
                tool: "shell".into(),
                output: "".into(),
                is_error: false,
                images: Vec::new(),
            },
            assistant(&[]),
        ]));
        assert!(r.open_turn.unwrap().step.calls.is_empty());
    }

    #[test]
    fn a_servers_question_waits_in_the_step_until_answered() {
        let asked = |id: &str| EventKind::InputRequested {
            request_id: id.into(),
            server: "s".into(),
            message: "?".into(),
            schema: json!({}),
            url: None,
            call_id: Some("a".into()),
        };
        let sampled = EventKind::SamplingRequested {
            request_id: "sm-9".into(),
            server: "s".into(),
            messages: Vec::new(),
            system_prompt: None,
            max_tokens: 5,
            call_id: Some("a".into()),
        };
        let r = analyze(&evs(vec![
            EventKind::TurnStarted,
            assistant(&["a"]),
            call("a"),
            asked("in-4"),
            asked("in-5"),
            EventKind::InputAnswered {
                request_id: "in-4".into(),
                action: tether_shared::event::InputAction::Accept,
                content: None,
                note: None,
            },
            sampled,
            EventKind::SamplingDecided {
                request_id: "sm-9".into(),
                decision: Decision::Approved,
                reason: None,
                by_policy: false,
            },
        ]));
        let step = r.open_turn.unwrap().step;
        let ids: Vec<(&str, bool)> = step
            .questions
            .iter()
            .map(|q| (q.request_id.as_str(), q.waiting))
            .collect();
        assert_eq!(ids, [("in-5", true), ("sm-9", false)]);
        assert_eq!(step.waiting_questions(), ["in-5"]);
        assert_eq!(step.state(), SessionState::AwaitingApproval);
        // The call itself is running (it waits on its server), not pending.
        assert!(step.pending().is_empty());
        assert_eq!(unfinished(&step).len(), 1);
    }

    #[test]
    fn select_one_all_or_the_only_one() {
        let mut step = Step::default();
        for id in ["a", "b"] {
            step.calls.push(StepCall {
                call_id: id.into(),
                tool: "t".into(),
                arguments: json!({}),
                status: CallStatus::AwaitingApproval,
            });
        }
        assert!(
            step.select(None, false)
                .unwrap_err()
                .contains("2 tool calls")
        );
        assert_eq!(step.select(None, true).unwrap().len(), 2);
        assert_eq!(
            step.select(Some("b"), false).unwrap(),
            vec!["b".to_string()]
        );
        assert!(step.select(Some("zz"), false).is_err());
        step.set("a", CallStatus::Done);
        assert_eq!(step.select(None, false).unwrap(), vec!["b".to_string()]);
        assert_eq!(step.state(), SessionState::AwaitingApproval);
        step.set("b", CallStatus::Running);
        assert_eq!(step.state(), SessionState::Running);
        assert!(!step.all_done());
        step.set("b", CallStatus::Done);
        assert!(step.all_done());
    }
}
