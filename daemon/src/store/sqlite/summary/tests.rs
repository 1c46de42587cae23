//! The list columns of a session's row: kept by the writer as events are
//! stored, filled by migration 6 from the logs of a store made before it, and
//! in both cases what recovery's own reading of the log
//! (`session::machine::analyze` over the last turn) says.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rusqlite::Connection;
use serde_json::{Value, json};
use tether_shared::{Event, SessionState, Usage};

use crate::os::procs::ProcessIdentity;
use crate::session::machine::analyze;
use crate::store::sqlite::SqliteStore;
use crate::store::sqlite::migrations::{MIGRATIONS, run};
use crate::store::{Batch, IndexEntry, SessionRow, Store};

fn event(seq: u64, body: Value) -> Event {
    let mut v = body;
    v["seq"] = json!(seq);
    v["ts"] = json!(format!("2026-01-01T00:00:{seq:02}.000Z"));
    serde_json::from_value(v).unwrap()
}

fn row(id: &str) -> SessionRow {
    SessionRow {
        id: id.into(),
        name: format!("n-{id}"),
        model: "p/m".into(),
        cwd: "/".into(),
        instructions: None,
        created_at: format!("t-{id}"),
        updated_at: "t0".into(),
        last_seq: 1,
        usage: Usage::default(),
        cost_usd: 0.0,
        budget: Default::default(),
        mcp_servers: Vec::new(),
        worktree: None,
    }
}

/// Sessions in the shapes that matter: never ran, done, failed, failed then
/// ran again, cut short mid-call, waiting for approval.
fn logs() -> Vec<(&'static str, Vec<Value>)> {
    let started = || {
        vec![
            json!({"type": "user_message", "text": "hi", "delivery": "queue"}),
            json!({"type": "turn_started"}),
            json!({"type": "state", "state": "running"}),
        ]
    };
    let failed = || {
        let mut v = started();
        v.push(json!({"type": "turn_failed", "error": "the model said no"}));
        v.push(json!({"type": "state", "state": "failed"}));
        v
    };
    let call = json!({"type": "tool_call", "call_id": "c1", "tool": "shell",
        "arguments": {"command": "ls"}});
    vec![
        ("fresh", vec![]),
        ("done", {
            let mut v = started();
            v.push(json!({"type": "assistant_message", "text": "hello"}));
            v.push(json!({"type": "turn_completed"}));
            v.push(json!({"type": "state", "state": "idle"}));
            v
        }),
        ("failed", failed()),
        ("failed-then-open", {
            let mut v = failed();
            v.extend(started());
            v
        }),
        ("mid-call", {
            let mut v = started();
            v.push(call.clone());
            v
        }),
        ("approval", {
            let mut v = started();
            v.push(call.clone());
            v.push(json!({"type": "approval_requested", "call_id": "c1", "tool": "shell"}));
            v.push(json!({"type": "state", "state": "awaiting_approval"}));
            v
        }),
    ]
}

fn session_created(id: &str) -> Value {
    json!({"type": "session_created", "name": format!("n-{id}"), "model": "p/m", "cwd": "/"})
}

/// What recovery reads from the session's log, in the index's terms.
async fn expected(
    store: &SqliteStore,
    id: &str,
) -> (SessionState, Option<String>, bool, Option<String>) {
    let tail = store.last_turn(id).await.unwrap();
    let r = analyze(&tail);
    let last_error = tail.iter().rev().find_map(|e| match &e.kind {
        tether_shared::EventKind::TurnFailed { error } => Some(error.clone()),
        _ => None,
    });
    let state_at = tail.iter().rev().find_map(|e| match e.kind {
        tether_shared::EventKind::State { .. } => Some(e.ts.clone()),
        _ => None,
    });
    (r.last_state, state_at, r.open_turn.is_some(), last_error)
}

/// The index's word, read as recovery would (a state without an open turn
/// that only a turn can have reads as idle).
fn read(e: &IndexEntry) -> (SessionState, Option<String>, bool, Option<String>) {
    let state = match e.state {
        SessionState::Running | SessionState::AwaitingApproval if !e.turn_open => {
            SessionState::Idle
        }
        s => s,
    };
    (state, e.state_at.clone(), e.turn_open, e.last_error.clone())
}

async fn check_against_logs(store: &SqliteStore) {
    let index = store.index().await.unwrap();
    assert_eq!(index.len(), logs().len());
    for e in &index {
        assert_eq!(read(e), expected(store, &e.row.id).await, "{}", e.row.id);
    }
    let by_id = |id: &str| index.iter().find(|e| e.row.id == id).unwrap();
    assert_eq!(by_id("failed").state, SessionState::Failed);
    assert_eq!(
        by_id("failed").last_error.as_deref(),
        Some("the model said no")
    );
    assert_eq!(
        by_id("failed-then-open").last_error,
        None,
        "cleared by the new turn"
    );
    assert!(by_id("mid-call").turn_open && by_id("approval").turn_open);
    assert!(!by_id("done").turn_open && !by_id("fresh").turn_open);
    assert_eq!(by_id("approval").state, SessionState::AwaitingApproval);
    assert_eq!(by_id("fresh").state, SessionState::Idle);
    assert_eq!(by_id("fresh").state_at, None);
}

#[tokio::test]
async fn the_writer_keeps_the_columns_as_recovery_reads_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    for (id, log) in logs() {
        store
            .create_session_keyed(row(id), vec![event(1, session_created(id))], None, None)
            .await
            .unwrap();
        // One event per batch, the way a slow turn stores them.
        for (i, body) in log.into_iter().enumerate() {
            let batch = Batch {
                events: vec![event(i as u64 + 2, body)],
                ..Default::default()
            };
            store.append(id, batch).await.unwrap();
        }
    }
    check_against_logs(&store).await;
    let id = store.add_input_keyed("done", "more", tether_shared::Delivery::Queue, None);
    id.await.unwrap();
    let process = ProcessIdentity {
        pid: 1,
        start_ticks: 2,
        boot_id: "b".into(),
    };
    store.add_process("failed", "c1", process).await.unwrap();
    let index = store.index().await.unwrap();
    let by_id = |id: &str| index.iter().find(|e| e.row.id == id).unwrap();
    assert_eq!(by_id("done").queued_inputs, 1);
    assert!(by_id("failed").processes && !by_id("done").processes);
    assert_eq!(by_id("failed").queued_inputs, 0);
}

/// A store at version 5 with logs in it: migration 6 fills the columns from
/// them, once.
#[tokio::test]
async fn migration_6_fills_the_columns_from_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tether.db");
    let mut conn = Connection::open(&path).unwrap();
    assert_eq!(run(&mut conn, &MIGRATIONS[..5]).unwrap(), 0);
    for (id, log) in logs() {
        let mut events = vec![event(1, session_created(id))];
        events.extend(
            log.into_iter()
                .enumerate()
                .map(|(i, b)| event(i as u64 + 2, b)),
        );
        conn.execute(
            "INSERT INTO sessions (id, name, model, cwd, created_at, updated_at, last_seq) \
             VALUES (?1, ?2, 'p/m', '/', ?3, 't0', ?4)",
            rusqlite::params![
                id,
                format!("n-{id}"),
                format!("t-{id}"),
                events.len() as i64
            ],
        )
        .unwrap();
        for e in &events {
            conn.execute(
                "INSERT INTO events (session_id, seq, type, body) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    id,
                    e.seq as i64,
                    e.kind.type_name(),
                    serde_json::to_string(e).unwrap()
                ],
            )
            .unwrap();
        }
    }
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    check_against_logs(&store).await;
}
