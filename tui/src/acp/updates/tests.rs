//! The mapping of events to updates, event by event and over a whole turn.

use serde_json::{Value, json};
use tether_shared::event::{Decision, EventKind, ProviderItemRecord};

use super::*;
use crate::acp::wire::ToolKind;

fn to_json(updates: &[SessionUpdate]) -> Vec<Value> {
    updates
        .iter()
        .map(|u| serde_json::to_value(u).unwrap())
        .collect()
}

fn assistant(text: &str, items: Vec<ProviderItemRecord>) -> EventKind {
    EventKind::AssistantMessage {
        text: text.into(),
        tool_calls: vec![],
        provider_items: items,
        usage: None,
        partial: false,
        finish_reason: Some("stop".into()),
    }
}

#[test]
fn streamed_text_is_sent_once_and_the_stored_message_adds_what_did_not_stream() {
    let mut m = Mapper::new("/p");
    assert_eq!(
        to_json(&m.delta("Hello")),
        [
            json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "Hello"}})
        ]
    );
    // The stored message says no more than what streamed: nothing is repeated.
    assert!(m.event(&assistant("Hello", vec![]), false).is_empty());
    // A client that attached after the stream gets the text whole.
    assert_eq!(
        to_json(&m.event(&assistant("Hi there", vec![]), false)),
        [
            json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "Hi there"}})
        ]
    );
    // A retried call: what streamed is void; the retry's text follows a blank line.
    m.delta("Hel");
    assert_eq!(m.reset(), [SessionUpdate::agent("\n\n")]);
    assert!(m.reset().is_empty(), "nothing streamed since");
    m.delta("Hello, ");
    assert_eq!(
        m.event(&assistant("Hello, world", vec![]), false),
        [SessionUpdate::agent("world")]
    );
}

#[test]
fn reasoning_is_a_thought_before_the_answer_in_a_replay_and_after_it_live() {
    let items = vec![ProviderItemRecord {
        kind: "openai".into(),
        item: json!({"reasoning_content": "The user greets me."}),
    }];
    let mut m = Mapper::new("/p");
    assert_eq!(
        m.event(&assistant("Hi", items.clone()), true),
        [
            SessionUpdate::thought("The user greets me."),
            SessionUpdate::agent("Hi")
        ]
    );
    m.delta("Hi");
    assert_eq!(
        m.event(&assistant("Hi", items), false),
        [SessionUpdate::thought("The user greets me.")]
    );
    let anthropic = ProviderItemRecord {
        kind: "anthropic".into(),
        item: json!({"type": "thinking", "thinking": "Hmm.", "signature": "sig"}),
    };
    let responses = ProviderItemRecord {
        kind: "openai-responses".into(),
        item: json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan."}], "encrypted_content": "x"}),
    };
    let hidden = ProviderItemRecord {
        kind: "anthropic".into(),
        item: json!({"type": "redacted_thinking", "data": "x"}),
    };
    assert_eq!(reasoning(&[anthropic, responses, hidden]), "Hmm.\n\nPlan.");
}

#[test]
fn a_shell_call_is_pending_runs_with_its_output_and_completes() {
    let mut m = Mapper::new("/p");
    let call = EventKind::ToolCall {
        call_id: "c1".into(),
        tool: "shell".into(),
        arguments: json!({"command": "echo hi"}),
        rule: None,
    };
    assert_eq!(
        to_json(&m.event(&call, false)),
        [json!({
            "sessionUpdate": "tool_call",
            "toolCallId": "c1",
            "title": "echo hi",
            "kind": "execute",
            "status": "pending",
            "rawInput": {"command": "echo hi"},
        })]
    );
    let approved = EventKind::ApprovalDecided {
        call_id: "c1".into(),
        decision: Decision::Approved,
        reason: None,
        rule: None,
    };
    assert_eq!(
        to_json(&m.event(&approved, false)),
        [json!({"sessionUpdate": "tool_call_update", "toolCallId": "c1", "status": "in_progress"})]
    );
    m.tool_output("c1", "h");
    assert_eq!(
        to_json(&m.tool_output("c1", "i\n")),
        [json!({
            "sessionUpdate": "tool_call_update",
            "toolCallId": "c1",
            "status": "in_progress",
            "content": [{"type": "content", "content": {"type": "text", "text": "hi\n"}}],
        })]
    );
    let result = EventKind::ToolResult {
        call_id: "c1".into(),
        tool: "shell".into(),
        output: "hi\n[exit code 0]".into(),
        is_error: false,
        images: vec![],
    };
    assert_eq!(
        to_json(&m.event(&result, false)),
        [json!({
            "sessionUpdate": "tool_call_update",
            "toolCallId": "c1",
            "status": "completed",
            "content": [{"type": "content", "content": {"type": "text", "text": "hi\n[exit code 0]"}}],
            "rawOutput": {"output": "hi\n[exit code 0]", "is_error": false},
        })]
    );
    assert!(m.call("c1").unwrap().done);
}

#[test]
fn a_file_edit_shows_its_diff_and_location_and_a_failure_its_error() {
    let mut m = Mapper::new("/p");
    let args = json!({"path": "src/a.rs", "old_string": "a()", "new_string": "b()"});
    let call = EventKind::ToolCall {
        call_id: "e1".into(),
        tool: "edit_file".into(),
        arguments: args.clone(),
        rule: Some(3),
    };
    let diff = json!({"type": "diff", "path": "/p/src/a.rs", "oldText": "a()", "newText": "b()"});
    let got = to_json(&m.event(&call, false));
    assert_eq!(got[0]["kind"], "edit");
    assert_eq!(got[0]["status"], "in_progress", "a rule let it run at once");
    assert_eq!(got[0]["locations"], json!([{"path": "/p/src/a.rs"}]));
    assert_eq!(got[0]["content"], json!([diff]));
    let done = EventKind::ToolResult {
        call_id: "e1".into(),
        tool: "edit_file".into(),
        output: "edited /p/src/a.rs".into(),
        is_error: false,
        images: vec![],
    };
    let got = to_json(&m.event(&done, false));
    assert_eq!(
        got[0]["content"],
        json!([diff, {"type": "content", "content": {"type": "text", "text": "edited /p/src/a.rs"}}])
    );
    // A denied call fails, and its result says why, without a diff.
    m.event(
        &EventKind::ToolCall {
            call_id: "e2".into(),
            tool: "edit_file".into(),
            arguments: args,
            rule: None,
        },
        false,
    );
    let denied = EventKind::ApprovalDecided {
        call_id: "e2".into(),
        decision: Decision::Denied,
        reason: None,
        rule: None,
    };
    assert_eq!(to_json(&m.event(&denied, false))[0]["status"], "failed");
    let result = EventKind::ToolResult {
        call_id: "e2".into(),
        tool: "edit_file".into(),
        output: "the user denied this tool call".into(),
        is_error: true,
        images: vec![],
    };
    let got = to_json(&m.event(&result, false));
    assert_eq!(got[0]["status"], "failed");
    assert_eq!(got[0]["content"].as_array().unwrap().len(), 1);
}

#[test]
fn write_file_diffs_against_the_file_read_while_the_call_waited() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("n.txt"), "old\n").unwrap();
    let mut m = Mapper::new(dir.path());
    m.event(
        &EventKind::ToolCall {
            call_id: "w".into(),
            tool: "write_file".into(),
            arguments: json!({"path": "n.txt", "content": "new\n"}),
            rule: None,
        },
        false,
    );
    m.remember_old_text("w");
    std::fs::write(dir.path().join("n.txt"), "new\n").unwrap();
    let got = m.event(
        &EventKind::ToolResult {
            call_id: "w".into(),
            tool: "write_file".into(),
            output: "wrote 4 bytes".into(),
            is_error: false,
            images: vec![],
        },
        false,
    );
    let SessionUpdate::ToolCallUpdate(u) = &got[0] else {
        panic!("{got:?}");
    };
    assert_eq!(
        u.content.as_ref().unwrap()[0],
        ToolCallContent::Diff {
            path: dir.path().join("n.txt").display().to_string(),
            old_text: Some("old\n".into()),
            new_text: "new\n".into(),
        }
    );
}

#[test]
fn user_messages_and_turn_ends_are_shown_and_bookkeeping_is_not() {
    let mut m = Mapper::new("/p");
    assert_eq!(
        m.event(
            &EventKind::UserMessage {
                text: "hi".into(),
                delivery: Default::default()
            },
            true
        ),
        [SessionUpdate::user("hi")]
    );
    assert!(m.event(&EventKind::TurnStarted, true).is_empty());
    assert!(m.event(&EventKind::TurnCompleted, true).is_empty());
    assert_eq!(
        Mapper::turn_note(&EventKind::TurnFailed {
            error: "HTTP 500".into()
        }),
        Some(SessionUpdate::agent("\n\n[the turn failed: HTTP 500]"))
    );
    assert_eq!(Mapper::turn_note(&EventKind::TurnCompleted), None);
    assert_eq!(tools::kind("list_dir"), ToolKind::Read);
}
