//! Snapshots of the session events added after the first protocol version,
//! each inside the `session.live` notification that carries it: context and
//! budget events (issues 9, 10) and tool servers' questions and sampling
//! requests (issue 14).

use serde_json::json;

use super::snapshot_tests::notification;
use super::*;
use crate::event::{Decision, Event, EventKind, InputAction, Live, SamplingText, Usage};

#[test]
fn the_context_events() {
    let compacted = Event {
        seq: 412,
        ts: "2026-11-30T11:02:17.004Z".into(),
        kind: EventKind::ContextCompacted {
            summary: "Fixing the flaky test in tests/recovery.rs; the user wants no sleeps.".into(),
            through_seq: 380,
            tool_outputs_through: 398,
            user_messages: vec!["REMEMBER alpha".into()],
            tokens_before: 27_300,
            tokens_after: 6_120,
            reason: crate::event::CompactReason::Auto,
            usage: None,
        },
    };
    let changed = Event {
        seq: 413,
        ts: "2026-11-30T11:05:40.310Z".into(),
        kind: EventKind::InstructionsChanged {
            path: "/home/ana/projects/tether/AGENTS.md".into(),
            removed: false,
        },
    };
    let forked = Event {
        seq: 413,
        ts: "2026-11-30T11:06:02.118Z".into(),
        kind: EventKind::SessionForked {
            from: "main".into(),
            from_id: "s-f77573dadff7".into(),
            at: 412,
        },
    };
    let exhausted = Event {
        seq: 414,
        ts: "2026-11-30T11:07:12.500Z".into(),
        kind: EventKind::BudgetExhausted {
            spent: crate::event::Spent {
                tokens: 200_410,
                cost_usd: 0.61,
            },
            limit: crate::event::Budget {
                max_tokens: Some(200_000),
                max_cost_usd: None,
            },
        },
    };
    for (name, event) in [
        ("budget_exhausted", exhausted),
        ("context_compacted", compacted),
        ("instructions_changed", changed),
        ("session_forked", forked),
    ] {
        let n = notification::<method::SessionLive>(LiveParams {
            session_id: "s-f77573dadff7".into(),
            live: Live::Event { event },
        });
        insta::assert_snapshot!(format!("session_live__{name}"), n);
    }
}

#[test]
fn the_question_and_sampling_events() {
    let ev = |seq: u64, kind: EventKind| Event {
        seq,
        ts: "2026-11-30T12:00:00.000Z".into(),
        kind,
    };
    let cases = [
        (
            "input_requested",
            ev(
                41,
                EventKind::InputRequested {
                    request_id: "in-41".into(),
                    server: "deploy".into(),
                    message: "Which environment?".into(),
                    schema: json!({"type": "object", "properties": {
                    "env": {"type": "string", "enum": ["staging", "prod"]},
                    "region": {"type": "string", "default": "eu"}
                }, "required": ["env"]}),
                    url: None,
                    call_id: Some("call_7".into()),
                },
            ),
        ),
        (
            "input_requested_url",
            ev(
                41,
                EventKind::InputRequested {
                    request_id: "in-41".into(),
                    server: "billing".into(),
                    message: "Add a card to continue".into(),
                    schema: json!({}),
                    url: Some("https://billing.example.com/cards/new?s=9f2".into()),
                    call_id: Some("call_7".into()),
                },
            ),
        ),
        (
            "input_answered",
            ev(
                43,
                EventKind::InputAnswered {
                    request_id: "in-41".into(),
                    action: InputAction::Accept,
                    content: Some(json!({"env": "staging", "region": "eu"})),
                    note: None,
                },
            ),
        ),
        (
            "input_answered_after_restart",
            ev(
                43,
                EventKind::InputAnswered {
                    request_id: "in-41".into(),
                    action: InputAction::Cancel,
                    content: None,
                    note: Some("the daemon restarted while this question waited".into()),
                },
            ),
        ),
        (
            "sampling_requested",
            ev(
                50,
                EventKind::SamplingRequested {
                    request_id: "sm-50".into(),
                    server: "summarizer".into(),
                    messages: vec![SamplingText {
                        role: "user".into(),
                        text: "Summarise: the build is green.".into(),
                    }],
                    system_prompt: Some("You write one line.".into()),
                    max_tokens: 100,
                    call_id: Some("call_9".into()),
                },
            ),
        ),
        (
            "sampling_decided",
            ev(
                52,
                EventKind::SamplingDecided {
                    request_id: "sm-50".into(),
                    decision: Decision::Approved,
                    reason: None,
                    by_policy: false,
                },
            ),
        ),
        (
            "sampling_answered",
            ev(
                54,
                EventKind::SamplingAnswered {
                    request_id: "sm-50".into(),
                    text: Some("Green build.".into()),
                    model: Some("openai/gpt-4.1-mini".into()),
                    error: None,
                    usage: Some(Usage {
                        prompt_tokens: 24,
                        completion_tokens: 3,
                        ..Default::default()
                    }),
                },
            ),
        ),
    ];
    for (name, event) in cases {
        let n = notification::<method::SessionLive>(LiveParams {
            session_id: "s-f77573dadff7".into(),
            live: Live::Event { event },
        });
        insta::assert_snapshot!(format!("session_live__{name}"), n);
    }
}
