//! Schema versions: a store made by the previous release (a real `tether.db`
//! that release wrote, before versions were kept) is upgraded in place; a store
//! from a newer tether is refused; migrations run once, in one transaction.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{MIGRATIONS, Step, run};
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};

/// `tether.db` as the release before schema versions (commit dcc47cf) left it
/// after `daemon stop`: sessions `old-chat` (two turns) and `old-tools` (a shell
/// call). See `tests/fixtures/store/README.md`.
const PREVIOUS_RELEASE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/store/v0-tether.db"
);

fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn count(path: &Path, table: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn previous_release_store(dir: &Path) -> PathBuf {
    let path = dir.join("tether.db");
    std::fs::copy(PREVIOUS_RELEASE, &path).unwrap();
    path
}

#[tokio::test]
async fn a_store_made_by_the_previous_release_opens_and_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let path = previous_release_store(dir.path());
    assert_eq!(
        user_version(&path),
        0,
        "the previous release kept no version"
    );
    let events_before = count(&path, "events");

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), latest());
    assert_eq!(count(&path, "events"), events_before, "no event lost");
    let rows = store.sessions().await.unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["old-chat", "old-tools"]);
    let chat = &rows[0];
    assert_eq!(chat.last_seq, 13);
    assert!(chat.usage.prompt_tokens > 0, "{chat:?}");
    let events = store
        .events(&chat.id, 0, u64::MAX, 100, false)
        .await
        .unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=13).collect::<Vec<_>>()
    );
    let texts: Vec<String> = events
        .iter()
        .filter(|e| e.kind.type_name() == "assistant_message")
        .map(|e| serde_json::to_value(e).unwrap()["text"].to_string())
        .collect();
    assert_eq!(
        texts,
        ["\"hello from the previous release\"", "\"second answer\""]
    );
    let tools = &rows[1];
    let turn = store.last_turn(&tools.id).await.unwrap();
    let result = turn
        .iter()
        .find(|e| e.kind.type_name() == "tool_result")
        .expect("the tool result");
    assert!(
        serde_json::to_string(result)
            .unwrap()
            .contains("stored by dcc47cf"),
        "{result:?}"
    );
    assert!(store.health().damage.is_empty(), "{:?}", store.health());
    // Its old events are searchable (migration 2 indexed them).
    let hits = store
        .search_events(&chat.id, "previous release", true, 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].kind, "assistant_message");
    assert!(hits[0].excerpt.contains("hello from the previous release"));
    let hits = store
        .search_events(&tools.id, "dcc47cf", true, 10)
        .await
        .unwrap();
    assert!(
        hits.iter().any(|h| h.seq == result.seq && h.tool.is_some()),
        "{hits:?}"
    );
    assert!(
        store
            .search_events(&chat.id, "dcc47cf", true, 10)
            .await
            .unwrap()
            .iter()
            .all(|h| h.kind != "tool_result"),
        "one session's search does not find another's tool output"
    );
    // The upgraded store takes writes.
    store
        .create_session_keyed(
            crate::store::SessionRow {
                name: "new".into(),
                id: "s-new".into(),
                ..chat.clone()
            },
            vec![],
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.sessions().await.unwrap().len(), 3);
}

#[test]
fn a_store_from_a_newer_tether_is_refused_naming_the_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tether.db");
    drop(SqliteStore::open(&path).unwrap());
    let newer = latest() + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let err = SqliteStore::open(&path).err().expect("refused");
    assert!(
        matches!(err, StoreError::TooNew { found, known } if found == newer && known == latest()),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("made by a newer tether"), "{msg}");
    assert!(msg.contains("upgrade tether"), "{msg}");
    assert!(msg.contains(&format!("version {newer}")), "{msg}");
    assert!(msg.contains(&format!("up to {}", latest())), "{msg}");
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert_eq!(user_version(&path), newer, "left as it was");
}

#[tokio::test]
async fn a_fresh_store_gets_the_latest_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tether.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), latest());
    assert!(store.sessions().await.unwrap().is_empty());
    for table in [
        "sessions",
        "events",
        "inputs",
        "processes",
        "store_damage",
        "request_keys",
        "event_text_keys",
    ] {
        assert_eq!(count(&path, table), 0, "{table}");
    }
}

#[tokio::test]
async fn migrations_are_idempotent_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = previous_release_store(dir.path());
    drop(SqliteStore::open(&path).unwrap());
    let events = count(&path, "events");
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(user_version(&path), latest());
        assert_eq!(store.sessions().await.unwrap().len(), 2);
        assert_eq!(count(&path, "events"), events);
    }
    let mut conn = Connection::open(&path).unwrap();
    assert_eq!(
        run(&mut conn, MIGRATIONS).unwrap(),
        latest(),
        "nothing left to run"
    );
}

#[test]
fn a_failing_migration_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = previous_release_store(dir.path());
    let mut conn = Connection::open(&path).unwrap();
    let broken: &[&[Step]] = &[
        MIGRATIONS[0],
        &[
            Step::Sql("CREATE TABLE added_by_2 (x TEXT)"),
            Step::Sql("THIS IS NOT SQL"),
        ],
    ];
    assert!(run(&mut conn, broken).is_err());
    assert_eq!(user_version(&path), 0, "not even migration 1 is recorded");
    let added: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'added_by_2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(added, 0, "the half-run migration was rolled back");
    assert_eq!(run(&mut conn, MIGRATIONS).unwrap(), 0);
    assert_eq!(user_version(&path), latest());
}

/// A store at version 1 (the schema before search) with events in it: opening it
/// runs migration 2, which indexes them, once.
#[tokio::test]
async fn a_version_1_store_gains_the_search_index_with_its_old_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tether.db");
    let mut conn = Connection::open(&path).unwrap();
    assert_eq!(run(&mut conn, &MIGRATIONS[..1]).unwrap(), 0);
    conn.execute_batch(
        "INSERT INTO sessions (id, name, model, cwd, created_at, updated_at, last_seq) \
         VALUES ('s1', 'one', 'p/m', '/', 't', 't', 3);",
    )
    .unwrap();
    let events = [
        serde_json::json!({"seq": 1, "ts": "t1", "type": "user_message", "text": "find the walrus"}),
        serde_json::json!({"seq": 2, "ts": "t2", "type": "tool_result", "call_id": "c",
            "tool": "shell", "output": "a walrus was seen at line 40", "is_error": false}),
        serde_json::json!({"seq": 3, "ts": "t3", "type": "turn_completed"}),
    ];
    for e in &events {
        conn.execute(
            "INSERT INTO events (session_id, seq, type, body) VALUES ('s1', ?1, ?2, ?3)",
            rusqlite::params![e["seq"].as_i64(), e["type"].as_str(), e.to_string()],
        )
        .unwrap();
    }
    drop(conn);
    assert_eq!(user_version(&path), 1);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), latest());
    let hits = store.search_events("s1", "walrus", true, 10).await.unwrap();
    let seqs: Vec<u64> = hits.iter().map(|h| h.seq).collect();
    assert_eq!(seqs.len(), 2, "{hits:?}");
    assert!(seqs.contains(&1) && seqs.contains(&2), "{hits:?}");
    let result = hits.iter().find(|h| h.seq == 2).unwrap();
    assert_eq!(result.tool.as_deref(), Some("shell"));
    assert_eq!(result.excerpt, "a walrus was seen at line 40");
    drop(store);
    // Reopening does not index them again.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store
            .search_events("s1", "walrus", true, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(count(&path, "event_text_keys"), 2);
}
