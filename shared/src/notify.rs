//! Notifications (issue 11): the events that tell a person a session needs them
//! or finished, and the JSON object a `[notify] command` reads on its standard
//! input. The names are the contract: `[notify] on` lists them, the object
//! carries one under `event`, and `tether wait --any --json` prints one.

use serde::{Deserialize, Serialize};

use crate::event::SessionState;

/// An event that notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// The session started waiting for a person to approve a tool call.
    AwaitingApproval,
    /// A turn failed (after retries); the session is `failed`.
    TurnFailed,
    /// A turn ended with an answer.
    TurnCompleted,
    /// The running turn reached the session's budget.
    BudgetExhausted,
    /// An event this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

impl NotifyEvent {
    /// Every event that notifies, in the order the docs list them.
    pub const ALL: [NotifyEvent; 4] = [
        NotifyEvent::AwaitingApproval,
        NotifyEvent::TurnFailed,
        NotifyEvent::TurnCompleted,
        NotifyEvent::BudgetExhausted,
    ];

    /// The name in config, in the JSON object and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::AwaitingApproval => "awaiting_approval",
            NotifyEvent::TurnFailed => "turn_failed",
            NotifyEvent::TurnCompleted => "turn_completed",
            NotifyEvent::BudgetExhausted => "budget_exhausted",
            NotifyEvent::Unknown => "unknown",
        }
    }

    /// The event named `name`, one of [`NotifyEvent::ALL`].
    pub fn from_name(name: &str) -> Option<NotifyEvent> {
        NotifyEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The event by which a session entered `state`, when in that state it
    /// needs a person (see [`SessionState::needs_person`]).
    pub fn of_state(state: SessionState) -> Option<NotifyEvent> {
        match state {
            SessionState::AwaitingApproval => Some(NotifyEvent::AwaitingApproval),
            SessionState::Failed => Some(NotifyEvent::TurnFailed),
            SessionState::BudgetExhausted => Some(NotifyEvent::BudgetExhausted),
            _ => None,
        }
    }
}

impl std::fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tool call waiting for approval, in a [`Notice`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeCall {
    /// The model's id for the call (what `tether approve NAME CALL_ID` takes).
    pub call_id: String,
    /// Its tool.
    pub tool: String,
}

/// What a `[notify] command` gets on its standard input: one JSON object, then
/// a newline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The session's id.
    pub session: String,
    /// The session's name.
    pub name: String,
    /// What happened.
    pub event: NotifyEvent,
    /// The session's state after it.
    pub state: SessionState,
    /// For `awaiting_approval`: the tool of the first call waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// For `awaiting_approval`: the id of the first call waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// For `awaiting_approval`: every call waiting, in the model's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<NoticeCall>,
    /// One readable line: `wants to run shell: rm -rf build`, `turn failed: ...`,
    /// `turn completed: <the answer's first line>`, `budget exhausted: 1100 of
    /// 1000 tokens`.
    pub summary: String,
    /// When it happened (the event's time in the log), RFC 3339 UTC.
    pub ts: String,
    /// How many events of this kind in this session the notification stands for:
    /// 1, or more for the one that closes a debounce window (it carries the last
    /// of them).
    pub count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_tolerated() {
        for e in NotifyEvent::ALL {
            assert_eq!(NotifyEvent::from_name(e.as_str()), Some(e));
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.as_str()));
        }
        assert_eq!(NotifyEvent::from_name("bogus"), None);
        let e: NotifyEvent = serde_json::from_str("\"from_the_future\"").unwrap();
        assert_eq!(e, NotifyEvent::Unknown);
    }

    #[test]
    fn the_states_that_need_a_person_have_an_event() {
        for s in [
            SessionState::Idle,
            SessionState::Running,
            SessionState::AwaitingApproval,
            SessionState::Failed,
            SessionState::BudgetExhausted,
        ] {
            assert_eq!(s.needs_person(), NotifyEvent::of_state(s).is_some(), "{s}");
        }
    }

    #[test]
    fn the_object_a_command_reads() {
        let n = Notice {
            session: "s-f77573dadff7".into(),
            name: "fix-tests".into(),
            event: NotifyEvent::AwaitingApproval,
            state: SessionState::AwaitingApproval,
            tool: Some("shell".into()),
            call_id: Some("call_3".into()),
            calls: vec![
                NoticeCall {
                    call_id: "call_3".into(),
                    tool: "shell".into(),
                },
                NoticeCall {
                    call_id: "call_4".into(),
                    tool: "write_file".into(),
                },
            ],
            summary: "wants to run shell: rm -rf build (and 1 more call)".into(),
            ts: "2026-11-30T09:14:02.518Z".into(),
            count: 1,
        };
        let v = serde_json::to_value(&n).unwrap();
        insta::assert_snapshot!(
            "notice_awaiting_approval",
            serde_json::to_string_pretty(&v).unwrap()
        );
        let back: Notice = serde_json::from_value(v).unwrap();
        assert_eq!(back, n);
        let done = Notice {
            event: NotifyEvent::TurnCompleted,
            state: SessionState::Idle,
            tool: None,
            call_id: None,
            calls: Vec::new(),
            summary: "turn completed: All 12 tests pass.".into(),
            count: 4,
            ..n
        };
        insta::assert_snapshot!(
            "notice_turn_completed",
            serde_json::to_string_pretty(&serde_json::to_value(&done).unwrap()).unwrap()
        );
    }
}
