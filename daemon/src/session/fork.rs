//! What a fork records after the events it copies: a note naming where it came
//! from, and the closing of whatever was open at the seq it was cut at (a turn,
//! tool calls without results, approvals), so the fork starts settled and idle and
//! a restart finds nothing to resume or re-run. Pure: the registry stores it.

use std::collections::BTreeSet;

use tether_shared::{Event, EventKind, SessionState};

/// The result recorded for a call the fork cut off. It starts with "not run"
/// (this session never ran it); the original may have, in the same directory.
pub const NOT_RUN_FORKED: &str = "not run: the session was forked before this call finished. \
    The session it was forked from may have run it: check its effects (files, processes) \
    before running it again.";

/// The reason of the turn a fork cut in the middle.
pub const TURN_CUT_BY_FORK: &str = "forked mid-turn";

/// The events a fork records after its copy of `from`'s log up to `at`: `tail` is
/// that log's last turn up to `at` (see `Store::turn_at`).
pub fn settle(tail: &[Event], from: &str, from_id: &str, at: u64) -> Vec<EventKind> {
    let mut kinds = vec![EventKind::SessionForked {
        from: from.to_string(),
        from_id: from_id.to_string(),
        at,
    }];
    let mut open = false;
    let mut last_state = SessionState::Idle;
    // Calls of the current step, in the model's order, and those answered.
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut answered: BTreeSet<String> = BTreeSet::new();
    for ev in tail {
        match &ev.kind {
            EventKind::State { state } => last_state = *state,
            EventKind::TurnStarted => open = true,
            EventKind::TurnCompleted
            | EventKind::TurnInterrupted { .. }
            | EventKind::TurnFailed { .. } => open = false,
            EventKind::AssistantMessage { tool_calls, .. } => {
                // The message names its calls; its `tool_call` events may be cut off.
                calls = tool_calls
                    .iter()
                    .map(|c| (c.call_id.clone(), c.tool.clone()))
                    .collect();
                answered.clear();
            }
            EventKind::ToolCall { call_id, tool, .. }
                if !calls.iter().any(|(id, _)| id == call_id) =>
            {
                calls.push((call_id.clone(), tool.clone()));
            }
            EventKind::ToolResult { call_id, .. } => {
                answered.insert(call_id.clone());
            }
            _ => {}
        }
    }
    for (call_id, tool) in calls.iter().filter(|(id, _)| !answered.contains(id)) {
        kinds.push(EventKind::ToolResult {
            call_id: call_id.clone(),
            tool: tool.clone(),
            output: NOT_RUN_FORKED.into(),
            is_error: true,
            images: Vec::new(),
        });
    }
    if open {
        kinds.push(EventKind::TurnInterrupted {
            reason: TURN_CUT_BY_FORK.into(),
        });
    }
    if last_state != SessionState::Idle {
        kinds.push(EventKind::State {
            state: SessionState::Idle,
        });
    }
    kinds
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tether_shared::event::ToolCallSpec;

    use super::*;
    use crate::session::machine;

    fn log(kinds: Vec<EventKind>) -> Vec<Event> {
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                seq: i as u64 + 2,
                ts: "t".into(),
                kind,
            })
            .collect()
    }

    fn call(id: &str) -> ToolCallSpec {
        ToolCallSpec {
            call_id: id.into(),
            tool: "shell".into(),
            arguments: json!({"command": "true"}),
        }
    }

    fn state(state: SessionState) -> EventKind {
        EventKind::State { state }
    }

    /// The fork's log as recovery reads it: its tail plus what `settle` adds.
    fn recovered(tail: &[Event], kinds: Vec<EventKind>) -> machine::Recovered {
        let mut all = tail.to_vec();
        let next = all.last().map_or(2, |e| e.seq + 1);
        all.extend(kinds.into_iter().enumerate().map(|(i, kind)| Event {
            seq: next + i as u64,
            ts: "t".into(),
            kind,
        }));
        machine::analyze(&all)
    }

    #[test]
    fn a_settled_log_gets_only_the_note() {
        let tail = log(vec![
            EventKind::TurnStarted,
            state(SessionState::Running),
            EventKind::AssistantMessage {
                provider_items: vec![],
                text: "done".into(),
                tool_calls: vec![],
                usage: None,
                partial: false,
                finish_reason: Some("stop".into()),
            },
            EventKind::TurnCompleted,
            state(SessionState::Idle),
        ]);
        let kinds = settle(&tail, "main", "s-1", 6);
        assert_eq!(
            kinds,
            vec![EventKind::SessionForked {
                from: "main".into(),
                from_id: "s-1".into(),
                at: 6
            }]
        );
    }

    #[test]
    fn a_cut_turn_is_closed_with_every_call_answered_and_nothing_to_resume() {
        // Cut after the assistant message and one of its two tool_call events, with
        // an approval pending: every call gets a result, the turn ends, state idle.
        let tail = log(vec![
            EventKind::TurnStarted,
            state(SessionState::Running),
            EventKind::AssistantMessage {
                provider_items: vec![],
                text: String::new(),
                tool_calls: vec![call("c1"), call("c2")],
                usage: None,
                partial: false,
                finish_reason: Some("tool_calls".into()),
            },
            EventKind::ToolCall {
                call_id: "c1".into(),
                tool: "shell".into(),
                arguments: json!({}),
                rule: None,
            },
            EventKind::ApprovalRequested {
                call_id: "c1".into(),
                tool: "shell".into(),
                diff: None,
            },
            state(SessionState::AwaitingApproval),
        ]);
        let kinds = settle(&tail, "main", "s-1", 7);
        let results: Vec<&str> = kinds
            .iter()
            .filter_map(|k| match k {
                EventKind::ToolResult {
                    call_id,
                    output,
                    is_error: true,
                    ..
                } if output.starts_with("not run") => Some(call_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(results, ["c1", "c2"]);
        assert!(kinds.contains(&EventKind::TurnInterrupted {
            reason: TURN_CUT_BY_FORK.into()
        }));
        assert_eq!(kinds.last(), Some(&state(SessionState::Idle)));
        let r = recovered(&tail, kinds);
        assert_eq!(r.open_turn, None, "recovery finds no turn to resume");
        assert_eq!(r.last_state, SessionState::Idle);
    }

    #[test]
    fn calls_with_results_are_left_alone() {
        let tail = log(vec![
            EventKind::TurnStarted,
            state(SessionState::Running),
            EventKind::AssistantMessage {
                provider_items: vec![],
                text: String::new(),
                tool_calls: vec![call("c1"), call("c2")],
                usage: None,
                partial: false,
                finish_reason: None,
            },
            EventKind::ToolResult {
                call_id: "c1".into(),
                tool: "shell".into(),
                output: "ok".into(),
                is_error: false,
                images: vec![],
            },
        ]);
        let kinds = settle(&tail, "main", "s-1", 6);
        let answered: Vec<&str> = kinds
            .iter()
            .filter_map(|k| match k {
                EventKind::ToolResult { call_id, .. } => Some(call_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(answered, ["c2"]);
    }

    #[test]
    fn a_turn_cut_right_after_it_started_ends_without_a_state_change() {
        let tail = log(vec![EventKind::TurnStarted]);
        let kinds = settle(&tail, "main", "s-1", 2);
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert!(matches!(kinds[1], EventKind::TurnInterrupted { .. }));
        assert_eq!(recovered(&tail, kinds).open_turn, None);
    }
}
