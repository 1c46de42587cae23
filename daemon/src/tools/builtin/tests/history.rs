//! `history_search` and `history_read` through `run_builtin`, over a real SQLite
//! store holding two sessions.

use std::sync::Arc;

use serde_json::json;
use tempfile::{TempDir, tempdir};
use tether_shared::{Delivery, Event, EventKind, Usage};

use super::support::{assert_error, context, run};
use crate::store::{SessionRow, SqliteStore, Store};
use crate::tools::types::{SessionLog, ToolContext};

fn row(id: &str, last_seq: u64) -> SessionRow {
    SessionRow {
        id: id.into(),
        name: id.into(),
        model: "p/m".into(),
        cwd: "/".into(),
        instructions: None,
        created_at: "t0".into(),
        updated_at: "t0".into(),
        last_seq,
        usage: Usage::default(),
        cost_usd: 0.0,
        budget: Default::default(),
        mcp_servers: Vec::new(),
        worktree: None,
    }
}

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: format!("t{seq}"),
        kind,
    }
}

fn output(seq: u64, text: &str) -> Event {
    ev(
        seq,
        EventKind::ToolResult {
            call_id: format!("c{seq}"),
            tool: "shell".into(),
            output: text.into(),
            is_error: false,
            images: vec![],
        },
    )
}

/// A store with session `a` (a question, a long shell output, an answer) and
/// session `b` (one secret of its own at seq 4), and a context for `a`.
async fn two_sessions(dir: &TempDir) -> (ToolContext, String) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("s.db")).unwrap());
    let long = format!(
        "{}build failed: linker `cc` not found\n{}",
        "compiling crate\n".repeat(2000),
        "note: done\n".repeat(10)
    );
    let a = vec![
        ev(
            1,
            EventKind::UserMessage {
                text: "why does the build fail?".into(),
                delivery: Delivery::Queue,
            },
        ),
        output(2, &long),
        ev(
            3,
            EventKind::AssistantMessage {
                text: "The linker is missing.".into(),
                tool_calls: vec![],
                usage: None,
                partial: false,
                finish_reason: None,
                provider_items: vec![],
            },
        ),
    ];
    store
        .create_session_keyed(row("a", 3), a, None, None)
        .await
        .unwrap();
    let b = (1..=3)
        .map(|s| ev(s, EventKind::TurnStarted))
        .chain([output(4, "the password of b is hunter2")])
        .collect();
    store
        .create_session_keyed(row("b", 4), b, None, None)
        .await
        .unwrap();
    let mut ctx = context(dir);
    ctx.log = Some(SessionLog {
        session_id: "a".into(),
        store,
    });
    (ctx, long)
}

#[tokio::test]
async fn a_search_finds_a_tool_output_by_its_words_and_read_shows_it_in_parts() {
    let dir = tempdir().unwrap();
    let (ctx, long) = two_sessions(&dir).await;
    let out = run("history_search", json!({"query": "linker not found"}), &ctx).await;
    assert!(!out.is_error, "{}", out.output);
    assert!(
        out.output
            .starts_with("1 event match \"linker not found\", best first:"),
        "{}",
        out.output
    );
    assert!(
        out.output
            .contains("seq 2 · tool_result of shell · t2\n  …"),
        "{}",
        out.output
    );
    assert!(
        out.output.contains("build failed: linker `cc` not found"),
        "{}",
        out.output
    );
    assert!(
        out.output.len() < 1000,
        "excerpts, not outputs: {}",
        out.output
    );

    // Several words that no one event holds all of: the events with some.
    let out = run(
        "history_search",
        json!({"query": "linker fail zzz", "limit": 5}),
        &ctx,
    )
    .await;
    assert!(
        out.output.contains("no event holds every word"),
        "{}",
        out.output
    );
    assert!(
        out.output.contains("seq 3 · assistant_message"),
        "{}",
        out.output
    );

    let out = run("history_read", json!({"seq": 2}), &ctx).await;
    assert!(!out.is_error, "{}", out.output);
    assert!(
        out.output
            .starts_with("seq 2 · tool_result of shell (call c2) · t2\ncompiling crate\n"),
        "{}",
        &out.output[..100]
    );
    assert!(
        out.output.ends_with(&format!(
            "[bytes 0..30000 of {}; history_read {{\"seq\": 2, \"offset\": 30000}} shows the rest]",
            long.len()
        )),
        "{}",
        &out.output[out.output.len() - 200..]
    );
    let rest = run(
        "history_read",
        json!({"seq": 2, "offset": 30000, "length": 100000}),
        &ctx,
    )
    .await;
    assert!(rest.output.contains("build failed: linker `cc` not found"));
    assert!(rest.output.ends_with("that is the end]"), "{}", rest.output);
}

#[tokio::test]
async fn another_sessions_events_are_never_found_or_read() {
    let dir = tempdir().unwrap();
    let (ctx, _) = two_sessions(&dir).await;
    let out = run("history_search", json!({"query": "hunter2"}), &ctx).await;
    assert!(!out.is_error, "{}", out.output);
    assert!(
        out.output
            .starts_with("no event in this session's log matches"),
        "{}",
        out.output
    );
    // Seq 4 is b's secret; a has no event 4.
    let out = run("history_read", json!({"seq": 4}), &ctx).await;
    assert_error(
        &out,
        "there is no event 4 in this session's log (its events are 1 to 3)",
    );
    assert!(!out.output.contains("hunter2"));
}

#[tokio::test]
async fn bad_arguments_are_clear_errors() {
    let dir = tempdir().unwrap();
    let (ctx, _) = two_sessions(&dir).await;
    let cases = [
        ("history_search", json!({}), "missing string field `query`"),
        ("history_search", json!({"query": "  "}), "`query` is empty"),
        (
            "history_search",
            json!({"query": "\" * -"}),
            "has no words to look for",
        ),
        (
            "history_search",
            json!({"query": "x", "limit": 0}),
            "`limit` must be a positive integer",
        ),
        ("history_read", json!({}), "missing integer field `seq`"),
        (
            "history_read",
            json!({"seq": 0}),
            "`seq` must be a positive integer",
        ),
        (
            "history_read",
            json!({"seq": "2"}),
            "`seq` must be a positive integer",
        ),
        (
            "history_read",
            json!({"seq": 2, "offset": -1}),
            "`offset` must be a non-negative integer",
        ),
        (
            "history_read",
            json!({"seq": 1, "offset": 500}),
            "past the end of event 1",
        ),
        ("history_read", json!({"seq": 99}), "there is no event 99"),
    ];
    for (tool, args, needle) in cases {
        let out = run(tool, args.clone(), &ctx).await;
        assert!(out.is_error, "{tool} {args}: {}", out.output);
        assert!(out.output.contains(needle), "{tool} {args}: {}", out.output);
    }
    // Quotes and operators are words like any other, never a query syntax error.
    for q in [
        "\"linker",
        "NEAR(linker",
        "linker*",
        "-linker",
        "a:linker",
        "linker OR",
    ] {
        let out = run("history_search", json!({"query": q}), &ctx).await;
        assert!(!out.is_error, "{q}: {}", out.output);
    }
    // Outside a session there is no log to read.
    let out = run("history_read", json!({"seq": 1}), &context(&dir)).await;
    assert_error(
        &out,
        "history_read reads the session's log, which this call has no access to",
    );
}
