//! The list kept from a clean stop to the next start (`kept.rs`): had once,
//! by the next open, and dropped by any write after it.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::SqliteStore;
use crate::store::contract::row;
use crate::store::{ListSnapshot, Store, StoreError};

fn list(body: &str) -> ListSnapshot {
    ListSnapshot {
        key: "k".into(),
        body: body.as_bytes().to_vec(),
    }
}

async fn reopened(path: &std::path::Path) -> (SqliteStore, Option<ListSnapshot>) {
    let store = SqliteStore::open(path).unwrap();
    let kept = store.kept_list().await.unwrap();
    // Had once: asking again gets nothing.
    assert_eq!(store.kept_list().await.unwrap(), None);
    // The writer drops it from the file right after handing it over.
    let conn = rusqlite::Connection::open(path).unwrap();
    let t0 = std::time::Instant::now();
    loop {
        let n: i64 = conn
            .query_row("SELECT count(*) FROM list_snapshot", [], |r| r.get(0))
            .unwrap();
        if n == 0 {
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "the kept list was not dropped from the store"
        );
        tokio::task::yield_now().await;
    }
    (store, kept)
}

#[tokio::test]
async fn a_kept_list_is_had_by_the_next_open_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.kept_list().await.unwrap(), None, "none kept yet");
    store
        .create_session_keyed(row("a", "one"), vec![], None, None)
        .await
        .unwrap();
    store.keep_list(list("[1]")).await.unwrap();
    // Kept again: the last one counts.
    store.keep_list(list("[2]")).await.unwrap();
    drop(store);
    let (store, kept) = reopened(&path).await;
    assert_eq!(kept, Some(list("[2]")));
    drop(store);
    // Taken by the open before: a start after a crash finds none.
    let (_store, kept) = reopened(&path).await;
    assert_eq!(kept, None);
}

#[tokio::test]
async fn a_change_to_a_session_after_the_list_was_kept_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    store.keep_list(list("[]")).await.unwrap();
    store
        .create_session_keyed(row("a", "one"), vec![], None, None)
        .await
        .unwrap();
    drop(store);
    let (store, kept) = reopened(&path).await;
    assert_eq!(kept, None, "the session written drops the list");
    store.keep_list(list("[\"x\"]")).await.unwrap();
    let err = store
        .create_session_keyed(row("b", "one"), vec![], None, None)
        .await
        .unwrap_err();
    // A write that fails changes nothing: the list is still what is stored.
    assert!(matches!(err, StoreError::NameTaken(_)), "{err}");
    drop(store);
    let (store, kept) = reopened(&path).await;
    assert_eq!(
        kept,
        Some(list("[\"x\"]")),
        "a write that failed wrote nothing: the list still holds"
    );
    store.keep_list(list("[\"y\"]")).await.unwrap();
    // A request key is not what a list is made of: the list holds.
    store
        .put_key(crate::store::KeyRecord {
            key: "key-1".into(),
            method: "session.send".into(),
            params: "{}".into(),
            result: serde_json::Value::Null,
            created_at: 0,
        })
        .await
        .unwrap();
    drop(store);
    let (store, kept) = reopened(&path).await;
    assert_eq!(kept, Some(list("[\"y\"]")));
    // A queued input is.
    store.keep_list(list("[\"z\"]")).await.unwrap();
    store
        .add_input_keyed("a", "hi", tether_shared::Delivery::Queue, None)
        .await
        .unwrap();
    drop(store);
    let (_store, kept) = reopened(&path).await;
    assert_eq!(kept, None, "a queued input drops the list");
}

#[tokio::test]
async fn a_change_by_another_writer_of_the_file_drops_it_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .create_session_keyed(row("a", "one"), vec![], None, None)
        .await
        .unwrap();
    store.keep_list(list("[1]")).await.unwrap();
    drop(store);
    // `sqlite3 tether.db "UPDATE ..."` while no daemon runs.
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute("UPDATE sessions SET name = 'renamed' WHERE id = 'a'", [])
        .unwrap();
    drop(other);
    let (store, kept) = reopened(&path).await;
    assert_eq!(kept, None, "the rename drops the list");
    store.keep_list(list("[2]")).await.unwrap();
    drop(store);
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute("DELETE FROM sessions", []).unwrap();
    drop(other);
    let (_store, kept) = reopened(&path).await;
    assert_eq!(kept, None, "the delete drops the list");
}

#[tokio::test]
async fn a_kept_file_that_is_not_the_one_its_row_names_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let file = dir.path().join("s.db.list");
    let store = SqliteStore::open(&path).unwrap();
    store.keep_list(list("[1,2,3]")).await.unwrap();
    drop(store);
    // Cut short (a disk that lost its end): its length is not the row's.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 2]).unwrap();
    let (store, kept) = reopened(&path).await;
    assert_eq!(kept, None);
    assert!(!file.exists(), "read once, then removed");
    // Another file's body under this row's length: not its token.
    store.keep_list(list("[1,2,3]")).await.unwrap();
    drop(store);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] = if bytes[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(&file, &bytes).unwrap();
    let (store, kept) = reopened(&path).await;
    assert_eq!(kept, None);
    // Whole again: served.
    store.keep_list(list("[1,2,3]")).await.unwrap();
    drop(store);
    let (_store, kept) = reopened(&path).await;
    assert_eq!(kept, Some(list("[1,2,3]")));
}
