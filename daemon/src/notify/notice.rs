//! What a batch of stored events says a person should hear about: the
//! [`Notice`]s of its `state: awaiting_approval`, `turn_failed`, `turn_completed`
//! and `budget_exhausted` events, each with one readable summary line. Pure, so
//! the session actor can call it on every batch it persists.

use serde_json::Value;
use tether_shared::event::{Budget, Spent};
use tether_shared::notify::{Notice, NoticeCall, NotifyEvent};
use tether_shared::{Event, EventKind, SessionState};

/// The longest summary, in characters (a phone notification shows less).
const SUMMARY_MAX: usize = 200;

/// A tool call waiting for approval, as the actor knows it.
#[derive(Debug, Clone, Copy)]
pub struct PendingCall<'a> {
    /// The model's id.
    pub call_id: &'a str,
    /// The tool.
    pub tool: &'a str,
    /// Its arguments (for the summary).
    pub arguments: &'a Value,
}

/// The session a batch belongs to and where it stands after it.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The session's id.
    pub session: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its state once the batch is applied.
    pub state: SessionState,
    /// The calls waiting for approval once the batch is applied.
    pub pending: &'a [PendingCall<'a>],
}

/// The notices of `events`, in their order.
pub fn notices(batch: Batch<'_>, events: &[Event]) -> Vec<Notice> {
    let mut out = Vec::new();
    let mut answer: Option<&str> = None;
    for ev in events {
        let (event, summary, state) = match &ev.kind {
            EventKind::AssistantMessage { text, .. } => {
                answer = Some(text);
                continue;
            }
            EventKind::State {
                state: SessionState::AwaitingApproval,
            } => (
                NotifyEvent::AwaitingApproval,
                wants_to_run(batch.pending),
                SessionState::AwaitingApproval,
            ),
            EventKind::TurnFailed { error } => (
                NotifyEvent::TurnFailed,
                format!("turn failed: {}", one_line(error)),
                batch.state,
            ),
            EventKind::TurnCompleted => {
                let summary = match answer.map(one_line).filter(|a| !a.is_empty()) {
                    Some(a) => format!("turn completed: {a}"),
                    None => "turn completed".to_string(),
                };
                (NotifyEvent::TurnCompleted, summary, batch.state)
            }
            EventKind::BudgetExhausted { spent, limit } => (
                NotifyEvent::BudgetExhausted,
                format!("budget exhausted: {}", budget_line(spent, limit)),
                SessionState::BudgetExhausted,
            ),
            _ => continue,
        };
        let awaiting = event == NotifyEvent::AwaitingApproval;
        let first = batch.pending.first().filter(|_| awaiting);
        out.push(Notice {
            session: batch.session.to_string(),
            name: batch.name.to_string(),
            event,
            state,
            tool: first.map(|c| c.tool.to_string()),
            call_id: first.map(|c| c.call_id.to_string()),
            calls: if awaiting {
                batch
                    .pending
                    .iter()
                    .map(|c| NoticeCall {
                        call_id: c.call_id.to_string(),
                        tool: c.tool.to_string(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            summary: cut(&summary, SUMMARY_MAX),
            ts: ev.ts.clone(),
            count: 1,
        });
    }
    out
}

/// `wants to run shell: rm -rf build (and 1 more call)`.
fn wants_to_run(pending: &[PendingCall<'_>]) -> String {
    let Some(first) = pending.first() else {
        return "waits for approval".to_string();
    };
    let what = brief(first.tool, first.arguments);
    let mut s = if what.is_empty() {
        format!("wants to run {}", first.tool)
    } else {
        format!("wants to run {}: {what}", first.tool)
    };
    match pending.len() - 1 {
        0 => {}
        1 => s.push_str(" (and 1 more call)"),
        n => s.push_str(&format!(" (and {n} more calls)")),
    }
    s
}

/// The gist of a call's arguments: a shell call's command, a file tool's path,
/// else the arguments as compact JSON.
fn brief(tool: &str, arguments: &Value) -> String {
    let field = |name: &str| arguments.get(name).and_then(Value::as_str);
    let text = if tool == "shell" {
        field("command").map(str::to_string)
    } else {
        field("path").map(str::to_string)
    };
    let text = text.unwrap_or_else(|| match arguments {
        Value::Object(m) if m.is_empty() => String::new(),
        Value::Null => String::new(),
        v => v.to_string(),
    });
    one_line(&text)
}

/// `1100 of 1000 tokens`, or `$0.0560 of $0.05`: the limit that was reached.
fn budget_line(spent: &Spent, limit: &Budget) -> String {
    match (limit.max_tokens, limit.max_cost_usd) {
        (Some(max), _) if spent.tokens >= max => format!("{} of {max} tokens", spent.tokens),
        (_, Some(max)) => format!("${:.4} of ${max}", spent.cost_usd),
        (Some(max), None) => format!("{} of {max} tokens", spent.tokens),
        (None, None) => format!("{} tokens", spent.tokens),
    }
}

/// The first non-empty line of `text`, trimmed, with `…` when more followed.
fn one_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first.to_string()
    }
}

/// `text` cut to `max` characters, the cut marked with `…`.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            ts: format!("2026-11-30T09:00:0{seq}.000Z"),
            kind,
        }
    }

    fn batch<'a>(state: SessionState, pending: &'a [PendingCall<'a>]) -> Batch<'a> {
        Batch {
            session: "s-1",
            name: "fix",
            state,
            pending,
        }
    }

    #[test]
    fn awaiting_approval_names_the_first_call_and_counts_the_others() {
        let rm = json!({"command": "rm -rf build\necho done"});
        let write = json!({"path": "src/lib.rs", "content": "x"});
        let pending = [
            PendingCall {
                call_id: "c1",
                tool: "shell",
                arguments: &rm,
            },
            PendingCall {
                call_id: "c2",
                tool: "write_file",
                arguments: &write,
            },
        ];
        let events = [
            ev(
                1,
                EventKind::ApprovalRequested {
                    call_id: "c1".into(),
                    tool: "shell".into(),
                    diff: None,
                },
            ),
            ev(
                2,
                EventKind::State {
                    state: SessionState::AwaitingApproval,
                },
            ),
        ];
        let n = notices(batch(SessionState::AwaitingApproval, &pending), &events);
        assert_eq!(n.len(), 1);
        let n = &n[0];
        assert_eq!(n.event, NotifyEvent::AwaitingApproval);
        assert_eq!(
            (n.tool.as_deref(), n.call_id.as_deref()),
            (Some("shell"), Some("c1"))
        );
        assert_eq!(n.calls.len(), 2);
        assert_eq!(n.calls[1].tool, "write_file");
        assert_eq!(
            n.summary,
            "wants to run shell: rm -rf build … (and 1 more call)"
        );
        assert_eq!(n.ts, "2026-11-30T09:00:02.000Z");
        assert_eq!((n.name.as_str(), n.count), ("fix", 1));

        let one = [pending[1]];
        let n = notices(batch(SessionState::AwaitingApproval, &one), &events);
        assert_eq!(n[0].summary, "wants to run write_file: src/lib.rs");
    }

    #[test]
    fn failed_completed_and_budget_each_say_what_happened() {
        let events = [
            ev(
                1,
                EventKind::AssistantMessage {
                    text: "\nAll 12 tests pass.\nDetails follow.".into(),
                    tool_calls: vec![],
                    provider_items: vec![],
                    usage: None,
                    partial: false,
                    finish_reason: Some("stop".into()),
                },
            ),
            ev(2, EventKind::TurnCompleted),
            ev(
                3,
                EventKind::State {
                    state: SessionState::Idle,
                },
            ),
        ];
        let n = notices(batch(SessionState::Idle, &[]), &events);
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(n[0].event, NotifyEvent::TurnCompleted);
        assert_eq!(n[0].state, SessionState::Idle);
        assert_eq!(n[0].summary, "turn completed: All 12 tests pass. …");
        assert!(n[0].tool.is_none() && n[0].calls.is_empty());

        let failed = [
            ev(
                1,
                EventKind::TurnFailed {
                    error: "model endpoint returned HTTP 500".into(),
                },
            ),
            ev(
                2,
                EventKind::State {
                    state: SessionState::Failed,
                },
            ),
        ];
        let n = notices(batch(SessionState::Failed, &[]), &failed);
        assert_eq!(n.len(), 1);
        assert_eq!(
            n[0].summary,
            "turn failed: model endpoint returned HTTP 500"
        );
        assert_eq!(n[0].state, SessionState::Failed);

        let budget = |max_tokens, max_cost_usd, tokens, cost_usd| {
            let events = [ev(
                1,
                EventKind::BudgetExhausted {
                    spent: Spent { tokens, cost_usd },
                    limit: Budget {
                        max_tokens,
                        max_cost_usd,
                    },
                },
            )];
            notices(batch(SessionState::BudgetExhausted, &[]), &events)[0]
                .summary
                .clone()
        };
        assert_eq!(
            budget(Some(1000), None, 1100, 0.0),
            "budget exhausted: 1100 of 1000 tokens"
        );
        assert_eq!(
            budget(Some(100_000), Some(0.05), 10, 0.056),
            "budget exhausted: $0.0560 of $0.05"
        );
    }

    #[test]
    fn other_events_say_nothing_and_long_lines_are_cut() {
        let events = [
            ev(1, EventKind::TurnStarted),
            ev(
                2,
                EventKind::State {
                    state: SessionState::Running,
                },
            ),
        ];
        assert!(notices(batch(SessionState::Running, &[]), &events).is_empty());
        let long = "x".repeat(500);
        let failed = [ev(1, EventKind::TurnFailed { error: long })];
        let n = notices(batch(SessionState::Failed, &[]), &failed);
        assert_eq!(n[0].summary.chars().count(), SUMMARY_MAX);
        assert!(n[0].summary.ends_with('…'));
    }
}
