//! The projection with compactions replayed, and compaction plans.

use serde_json::json;
use tether_shared::event::{CompactReason, ToolCallSpec};
use tether_shared::{Delivery, Event, EventKind};

use super::compact::{self, Limits};
use super::view::Context;
use crate::model::{Part, Role};

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: String::new(),
        kind,
    }
}

fn user(seq: u64, text: &str) -> Event {
    ev(
        seq,
        EventKind::UserMessage {
            text: text.into(),
            delivery: Delivery::Queue,
        },
    )
}

fn answer(seq: u64, text: &str) -> Event {
    ev(
        seq,
        EventKind::AssistantMessage {
            text: text.into(),
            tool_calls: vec![],
            provider_items: Vec::new(),
            usage: None,
            partial: false,
            finish_reason: None,
        },
    )
}

/// A log: "REMEMBER alpha", then twelve long answers to twelve questions, with
/// a tool call and its long output in the middle.
fn long_log() -> Vec<Event> {
    let mut log = vec![user(1, "REMEMBER alpha"), answer(2, "noted")];
    let mut seq = 3;
    for i in 0..12 {
        log.push(user(seq, &format!("question {i}")));
        seq += 1;
        if i == 5 {
            log.push(ev(
                seq,
                EventKind::AssistantMessage {
                    text: String::new(),
                    tool_calls: vec![ToolCallSpec {
                        call_id: "c1".into(),
                        tool: "shell".into(),
                        arguments: json!({"command": "cat big"}),
                    }],
                    provider_items: Vec::new(),
                    usage: None,
                    partial: false,
                    finish_reason: None,
                },
            ));
            log.push(ev(
                seq + 1,
                EventKind::ToolResult {
                    call_id: "c1".into(),
                    tool: "shell".into(),
                    output: "y".repeat(8000),
                    is_error: false,
                    images: vec![],
                },
            ));
            seq += 2;
        }
        log.push(answer(seq, &"x".repeat(4096)));
        seq += 1;
    }
    log.push(user(seq, "REMEMBER beta"));
    log
}

fn limits() -> Limits {
    Limits {
        window: 6000,
        target: 3600,
        keep_recent: 1500,
    }
}

#[test]
fn a_compaction_replays_to_the_same_context_and_keeps_the_users_words() {
    let log = long_log();
    let ctx = Context::from_events(&log, 0);
    let before = ctx.tokens();
    assert!(before > 12 * 1000, "{before}");
    let plan = compact::plan(&ctx, 300, &limits(), CompactReason::Auto, false).unwrap();
    assert!(
        plan.summarises(),
        "stubs alone cannot bring twelve long answers under"
    );
    assert!(plan.user_messages.iter().any(|m| m == "REMEMBER alpha"));
    let kind = compact::event(
        &ctx,
        &plan,
        "the user is asking questions".into(),
        300,
        |t| t,
    );
    let EventKind::ContextCompacted {
        tokens_before,
        tokens_after,
        through_seq,
        ..
    } = &kind
    else {
        panic!("{kind:?}")
    };
    assert_eq!(*tokens_before, before + 300);
    assert!(*tokens_after <= 3600, "{tokens_after}");
    assert!(*through_seq > 10);
    // The live projection and a replay from the log agree.
    let mut live = ctx.clone();
    let compaction = ev(log.len() as u64 + 1, kind.clone());
    live.apply(&compaction);
    let mut replay_log = log.clone();
    replay_log.push(compaction.clone());
    let replayed = Context::from_events(&replay_log, 0);
    assert_eq!(live.messages(), replayed.messages());
    // Loading from the compaction on gives the same as the whole log.
    let tail: Vec<Event> = replay_log
        .iter()
        .filter(|e| e.seq > *through_seq)
        .cloned()
        .collect();
    let mut from_tail = vec![compaction];
    from_tail.extend(tail.into_iter().filter(|e| e.seq <= log.len() as u64));
    let mut sorted = from_tail;
    sorted.sort_by_key(|e| e.seq);
    let loaded = Context::from_events(&sorted, 0);
    assert_eq!(loaded.messages(), live.messages());
    // The model sees the summary, then "REMEMBER beta" verbatim at the end.
    let msgs = live.messages();
    let Part::Text(first) = &msgs[0].parts[0] else {
        panic!()
    };
    assert!(first.contains("the user is asking questions"), "{first}");
    assert!(first.contains("REMEMBER alpha"), "{first}");
    let Part::Text(last) = &msgs.last().unwrap().parts[0] else {
        panic!()
    };
    assert_eq!(last, "REMEMBER beta");
    assert!(
        msgs.iter()
            .all(|m| m.role != Role::Tool || !msgs.is_empty())
    );
}

#[test]
fn stubs_come_first_and_name_the_seq_to_read() {
    // One exchange with a huge tool output, then enough recent talk.
    let mut log = vec![
        user(1, "look at the file"),
        ev(
            2,
            EventKind::AssistantMessage {
                text: String::new(),
                tool_calls: vec![ToolCallSpec {
                    call_id: "c1".into(),
                    tool: "read_file".into(),
                    arguments: json!({"path": "big.txt"}),
                }],
                provider_items: Vec::new(),
                usage: None,
                partial: false,
                finish_reason: None,
            },
        ),
        ev(
            3,
            EventKind::ToolResult {
                call_id: "c1".into(),
                tool: "read_file".into(),
                output: "z".repeat(12_000),
                is_error: false,
                images: vec![],
            },
        ),
        answer(4, "it is long"),
    ];
    log.push(user(5, &"w".repeat(2000)));
    log.push(answer(6, &"v".repeat(2000)));
    let ctx = Context::from_events(&log, 0);
    let plan = compact::plan(&ctx, 100, &limits(), CompactReason::Auto, false).unwrap();
    assert!(!plan.summarises(), "{plan:?}");
    assert_eq!(plan.tool_outputs_through, 3);
    let kind = compact::event(&ctx, &plan, String::new(), 100, |t| t);
    let mut after = ctx.clone();
    after.apply(&ev(7, kind));
    let tool = after
        .messages()
        .into_iter()
        .find(|m| m.role == Role::Tool)
        .unwrap();
    let Part::ToolResult { output, .. } = &tool.parts[0] else {
        panic!()
    };
    assert!(output.contains("history_read {\"seq\": 3}"), "{output}");
    assert!(after.tokens() < ctx.tokens() / 2);
}

#[test]
fn a_manual_compaction_keeps_only_the_latest_exchange_and_an_empty_one_has_nothing_to_do() {
    let log = vec![
        user(1, "REMEMBER alpha"),
        answer(2, "noted"),
        user(3, "and now?"),
        answer(4, "now this"),
    ];
    let ctx = Context::from_events(&log, 0);
    assert!(compact::plan(&ctx, 10, &limits(), CompactReason::Auto, false).is_none());
    let plan = compact::plan(&ctx, 10, &limits(), CompactReason::Manual, true).unwrap();
    assert_eq!(plan.through_seq, 2);
    assert_eq!(plan.user_messages, ["REMEMBER alpha"]);
    let one = Context::from_events(&log[..2], 0);
    assert!(compact::plan(&one, 10, &limits(), CompactReason::Manual, true).is_none());
    assert!(
        compact::plan(
            &Context::default(),
            10,
            &limits(),
            CompactReason::Manual,
            true
        )
        .is_none()
    );
}

#[test]
fn a_summary_that_does_not_fit_is_asked_for_in_chunks() {
    let log = long_log();
    let ctx = Context::from_events(&log, 0);
    let small = Limits {
        window: 3000,
        target: 1800,
        keep_recent: 750,
    };
    let plan = compact::plan(&ctx, 300, &small, CompactReason::Overflow, false).unwrap();
    let system = std::sync::Arc::new(crate::model::Message::text(Role::System, "sys"));
    let job = compact::summary_job(&ctx, &plan, system, 300, &small, Some("keep names"));
    assert!(!job.shares_prefix);
    assert!(job.chunks.len() > 1, "{}", job.chunks.len());
    for i in 0..job.chunks.len() {
        let msgs = job.messages(i, "so far");
        let total: u64 = msgs.iter().map(|m| super::tokens::message(m)).sum();
        assert!(total + 300 < small.window, "chunk {i}: {total}");
        let Part::Text(p) = &msgs.last().unwrap().parts[0] else {
            panic!()
        };
        assert!(p.starts_with("Summarise") && p.contains("keep names"));
    }
    let big = Limits {
        window: 100_000,
        target: 60_000,
        keep_recent: 2000,
    };
    let plan = compact::plan(&ctx, 300, &big, CompactReason::Manual, true).unwrap();
    let system = std::sync::Arc::new(crate::model::Message::text(Role::System, "sys"));
    let job = compact::summary_job(&ctx, &plan, system.clone(), 300, &big, None);
    assert!(job.shares_prefix && job.chunks.len() == 1);
    let sent = job.messages(0, "");
    let view = ctx.messages();
    assert_eq!(
        &sent[1..sent.len() - 1],
        &view[..sent.len() - 2],
        "the session's own prefix"
    );
}
