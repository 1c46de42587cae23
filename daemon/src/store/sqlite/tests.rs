//! The SQLite store's own tests: group commit, savepoints, request keys, search, forks.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tether_shared::{Delivery, Event, EventKind, Usage};

use super::SqliteStore;
use crate::store::contract::row;
use crate::store::{Batch, KeyRecord, Store, StoreError};

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: format!("t{seq}"),
        kind,
    }
}

#[tokio::test]
async fn create_append_read_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    store
        .create_session_keyed(
            row("a", "one"),
            vec![ev(1, EventKind::TurnStarted)],
            None,
            None,
        )
        .await
        .unwrap();
    let err = store
        .create_session_keyed(row("b", "one"), vec![], None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NameTaken(_)), "{err}");
    let input = store
        .add_input_keyed("a", "hello", Delivery::Steer, None)
        .await
        .unwrap();
    assert_eq!(
        store.inputs("a").await.unwrap()[0].delivery,
        Delivery::Steer
    );
    store
        .append(
            "a",
            Batch {
                events: (2..=5).map(|s| ev(s, EventKind::TurnCompleted)).collect(),
                consume_inputs: vec![input],
                usage: Some(Usage {
                    prompt_tokens: 3,
                    completion_tokens: 4,
                    cached_tokens: 2,
                    cache_write_tokens: 1,
                    reasoning_tokens: 1,
                }),
                cost_usd: 0.25,
            },
        )
        .await
        .unwrap();
    assert!(store.inputs("a").await.unwrap().is_empty());
    let rows = store.sessions().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].last_seq, 5);
    assert_eq!(rows[0].usage.completion_tokens, 4);
    assert_eq!(
        (
            rows[0].usage.cached_tokens,
            rows[0].usage.cache_write_tokens
        ),
        (2, 1)
    );
    assert_eq!(rows[0].usage.reasoning_tokens, 1);
    assert_eq!(rows[0].cost_usd, 0.25);
    assert!(rows[0].budget.is_none());
    let budget = tether_shared::event::Budget {
        max_tokens: Some(10),
        max_cost_usd: Some(1.5),
    };
    store.set_budget("a", budget).await.unwrap();
    assert_eq!(store.sessions().await.unwrap()[0].budget, budget);
    assert!(store.set_budget("nope", budget).await.is_err());
    let newest = store.events("a", 0, u64::MAX, 2, true).await.unwrap();
    assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
    let oldest = store.events("a", 1, 5, 10, false).await.unwrap();
    assert_eq!(
        oldest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    let turn = store.last_turn("a").await.unwrap();
    assert_eq!(turn.len(), 5);
    store.delete_session_keyed("a", None).await.unwrap();
    assert!(store.sessions().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failing_op_does_not_spoil_its_batch_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    store
        .create_session_keyed(row("a", "one"), vec![], None, None)
        .await
        .unwrap();
    // Duplicate seq: the primary key refuses it.
    let dup = store.append(
        "a",
        Batch {
            events: vec![ev(1, EventKind::TurnStarted), ev(1, EventKind::TurnStarted)],
            ..Default::default()
        },
    );
    let ok = store.create_session_keyed(row("c", "two"), vec![], None, None);
    let (dup, ok) = tokio::join!(dup, ok);
    assert!(dup.is_err());
    ok.unwrap();
    assert_eq!(store.sessions().await.unwrap().len(), 2);
    assert!(
        store
            .events("a", 0, u64::MAX, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_request_key_is_stored_with_its_input_and_pruned_when_old() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .create_session_keyed(row("a", "one"), vec![], None, None)
        .await
        .unwrap();
    let key = KeyRecord::new(
        "k1",
        "session.send",
        "{}",
        serde_json::json!({"state": "running"}),
    );
    let id = store
        .add_input_keyed("a", "hi", Delivery::Queue, Some(key))
        .await
        .unwrap();
    let got = store.key("k1", 3600).await.unwrap().unwrap();
    assert_eq!(got.method, "session.send");
    assert_eq!(
        got.result["input_id"], id,
        "the input's id is in the stored result"
    );
    assert!(store.key("other", 3600).await.unwrap().is_none());
    // A second put replaces the result only.
    let mut fin = got.clone();
    fin.result = serde_json::json!({"final": true});
    fin.method = "ignored".into();
    store.put_key(fin).await.unwrap();
    let got = store.key("k1", 3600).await.unwrap().unwrap();
    assert_eq!(got.result, serde_json::json!({"final": true}));
    assert_eq!(got.method, "session.send");
    // An old key is neither served nor kept.
    let mut old = KeyRecord::new("old", "session.kill", "{}", serde_json::json!({}));
    old.created_at -= 7200;
    store.put_key(old).await.unwrap();
    assert!(store.key("old", 3600).await.unwrap().is_none());
    assert_eq!(store.prune_keys(3600).await.unwrap(), 1);
    assert!(store.key("k1", 3600).await.unwrap().is_some());
    // A failed create stores no key.
    let dup = KeyRecord::new("k2", "session.create", "{}", serde_json::json!({}));
    assert!(
        store
            .create_session_keyed(row("b", "one"), vec![], None, Some(dup))
            .await
            .is_err()
    );
    assert!(store.key("k2", 3600).await.unwrap().is_none());
    drop(store);
    // Durable: a fresh open finds the key.
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.key("k1", 3600).await.unwrap().is_some());
}

#[tokio::test]
async fn the_sqlite_store_serves_callers_that_hold_a_dyn_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    // Its log ends at seq 1: a row that disagrees with it reads as damage.
    let mut one = row("a", "one");
    one.last_seq = 1;
    store
        .create_session_keyed(one, vec![ev(1, EventKind::TurnStarted)], None, None)
        .await
        .unwrap();
    let other = store.clone();
    let appended = tokio::spawn(async move {
        other
            .append(
                "a",
                Batch {
                    events: vec![ev(2, EventKind::TurnCompleted)],
                    ..Default::default()
                },
            )
            .await
    });
    appended.await.unwrap().unwrap();
    let seqs: Vec<u64> = store
        .events("a", 0, u64::MAX, 10, false)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2]);
    assert!(store.health().damage.is_empty());
    let help = store.damage_help();
    assert!(
        help.contains(&path.display().to_string()) && help.contains(".recover"),
        "{help}"
    );
    // A damaged read carries the same help.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE sessions SET last_seq = 5 WHERE id = 'a'", [])
        .unwrap();
    let err = store.events("a", 0, u64::MAX, 10, false).await.unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    assert!(err.to_string().ends_with(&help), "{err}");
    assert_eq!(store.health().damage.len(), 1, "noted for daemon status");
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

fn result(seq: u64, tool: &str, output: &str) -> Event {
    ev(
        seq,
        EventKind::ToolResult {
            call_id: format!("c{seq}"),
            tool: tool.into(),
            output: output.into(),
            is_error: false,
            images: vec![],
        },
    )
}

fn index_rows(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM event_text_keys", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn search_finds_a_sessions_own_events_with_their_seq_and_an_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    let long = format!(
        "{}\nthe zebra count is 41\n{}",
        "line\n".repeat(200),
        "end\n".repeat(200)
    );
    store
        .create_session_keyed(
            row("a", "one"),
            vec![user(1, "count the zebras"), result(2, "shell", &long)],
            None,
            None,
        )
        .await
        .unwrap();
    store
        .create_session_keyed(
            row("b", "two"),
            vec![result(1, "shell", "zebra secret of b")],
            None,
            None,
        )
        .await
        .unwrap();
    store
        .append(
            "a",
            Batch {
                events: vec![
                    ev(3, EventKind::TurnCompleted),
                    result(4, "history_search", "seq 2 · the zebra count is 41"),
                ],
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let hits = store
        .search_events("a", "zebra count", true, 10)
        .await
        .unwrap();
    assert_eq!(
        hits.len(),
        1,
        "only events with both words, not the history tool's: {hits:?}"
    );
    let hit = &hits[0];
    assert_eq!(
        (hit.seq, hit.kind.as_str(), hit.tool.as_deref()),
        (2, "tool_result", Some("shell"))
    );
    assert_eq!(hit.ts, "t2");
    assert!(
        hit.excerpt.contains("the zebra count is 41"),
        "{}",
        hit.excerpt
    );
    assert!(
        hit.excerpt.len() < 400,
        "an excerpt, not the output: {}",
        hit.excerpt
    );
    // Any word: both of the session's events, never b's.
    let any = store
        .search_events("a", "zebra zebras", false, 10)
        .await
        .unwrap();
    let mut seqs: Vec<u64> = any.iter().map(|h| h.seq).collect();
    seqs.sort();
    assert_eq!(seqs, [1, 2], "{any:?}");
    assert!(
        store
            .search_events("a", "secret", false, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .search_events("b", "secret", true, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .search_events("a", "zebra zebras", false, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .search_events("nobody", "zebra", false, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The full event, by seq; only the session's own.
    let got = store.event("a", 2).await.unwrap().unwrap();
    assert_eq!(got, result(2, "shell", &long));
    assert!(store.event("a", 99).await.unwrap().is_none());
    assert!(
        store.event("b", 2).await.unwrap().is_none(),
        "b has no event 2"
    );
    assert_eq!(store.event("b", 1).await.unwrap().unwrap().seq, 1);

    // Deleting a session deletes its index rows, and only its own.
    assert_eq!(index_rows(&path), 3);
    store.delete_session_keyed("a", None).await.unwrap();
    assert_eq!(index_rows(&path), 1);
    assert!(
        store
            .search_events("a", "zebra", false, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .search_events("b", "zebra", false, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_query_with_quotes_and_operators_is_text_never_a_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    store
        .create_session_keyed(
            row("a", "one"),
            vec![
                user(1, r#"run "cargo test" -- --nocapture NEAR(x) AND y*"#),
                user(2, "plain words"),
            ],
            None,
            None,
        )
        .await
        .unwrap();
    for q in [
        r#""cargo test""#,
        r#"cargo" test"#,
        "--nocapture",
        "NEAR(x)",
        "AND",
        "y*",
        "OR NOT",
        "col:x",
        "^cargo",
        r#"""""#,
        "( ) * -",
        "",
        "   ",
    ] {
        let hits = store.search_events("a", q, true, 10).await;
        let hits = hits.unwrap_or_else(|e| panic!("query {q:?} failed: {e}"));
        assert!(hits.iter().all(|h| h.seq == 1), "{q:?}: {hits:?}");
    }
    let hits = store
        .search_events("a", r#""cargo test" y*"#, true, 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(
        store
            .search_events("a", "( ) * -", true, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_person_s_search_is_newest_first_every_word_and_the_last_word_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    store
        .create_session_keyed(
            row("a", "one"),
            vec![
                user(1, "the linker failed"),
                result(2, "shell", "error: linker `cc` not found"),
                user(3, "linker only"),
                user(4, "failed only"),
                result(5, "history_search", "seq 2 · linker failed"),
                user(6, r#"quotes "linker" and * NEAR( failed"#),
            ],
            None,
            None,
        )
        .await
        .unwrap();
    let seqs = |hits: Vec<crate::store::types::SearchHit>| -> Vec<u64> {
        hits.iter().map(|h| h.seq).collect()
    };
    assert_eq!(
        seqs(store.search_newest("a", "linker fail", 10).await.unwrap()),
        [6, 1],
        "both words, the last as a prefix, newest first, never the history tool's"
    );
    assert_eq!(
        seqs(store.search_newest("a", "link", 10).await.unwrap()),
        [6, 3, 2, 1]
    );
    assert_eq!(
        seqs(store.search_newest("a", "link", 2).await.unwrap()),
        [6, 3],
        "the newest `limit`"
    );
    // A prefix only at the end: `lin cc` needs the word `lin`.
    assert!(
        store
            .search_newest("a", "lin cc", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Operators are text: `NEAR(` finds the message that holds it.
    assert_eq!(
        seqs(store.search_newest("a", "NEAR(", 10).await.unwrap()),
        [6]
    );
    for q in ["", "  ", "( ) * -", r#""""#, "zz(", "*"] {
        let hits = store.search_newest("a", q, 10).await;
        assert!(
            hits.unwrap_or_else(|e| panic!("{q:?}: {e}")).is_empty(),
            "{q:?}"
        );
    }
    let hit = &store.search_newest("a", "cc", 10).await.unwrap()[0];
    assert_eq!((hit.seq, hit.tool.as_deref()), (2, Some("shell")));
    assert!(hit.excerpt.contains("linker `cc`"), "{}", hit.excerpt);
    assert!(
        store
            .search_newest("b", "linker", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_append_that_rolls_back_leaves_nothing_in_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .create_session_keyed(row("a", "one"), vec![user(1, "first")], None, None)
        .await
        .unwrap();
    // Group commit: the failing op (a duplicate seq) and a good one in one transaction.
    let bad = store.append(
        "a",
        Batch {
            events: vec![user(2, "ghost words"), user(2, "ghost words")],
            ..Default::default()
        },
    );
    let good = store.append(
        "a",
        Batch {
            events: vec![user(2, "kept words")],
            ..Default::default()
        },
    );
    let (bad, good) = tokio::join!(bad, good);
    assert!(bad.is_err());
    good.unwrap();
    assert!(
        store
            .search_events("a", "ghost", false, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.search_events("a", "kept", false, 10).await.unwrap()[0].seq,
        2
    );
    assert_eq!(index_rows(&path), 2);
}

/// A source log with a compaction in it, for the fork tests: seq 1 created, then
/// a user message, a turn, a compaction and the start of another turn.
async fn forkable(store: &SqliteStore) -> Vec<Event> {
    let kinds = vec![
        EventKind::UserMessage {
            text: "REMEMBER alpha".into(),
            delivery: Delivery::Queue,
        },
        EventKind::TurnStarted,
        EventKind::TurnCompleted,
        EventKind::ContextCompacted {
            summary: "the user said alpha".into(),
            through_seq: 4,
            tool_outputs_through: 0,
            user_messages: vec!["REMEMBER alpha".into()],
            tokens_before: 900,
            tokens_after: 100,
            reason: tether_shared::event::CompactReason::Manual,
            usage: None,
        },
        EventKind::TurnStarted,
    ];
    let mut events = vec![ev(1, EventKind::TurnCompleted)];
    events.extend(
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, k)| ev(i as u64 + 2, k)),
    );
    let mut r = row("src", "src");
    r.last_seq = 6;
    store
        .create_session_keyed(r, events.clone(), None, None)
        .await
        .unwrap();
    events
}

#[tokio::test]
async fn a_fork_copies_the_source_events_verbatim_up_to_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let source = forkable(&store).await;
    let mut r = row("f", "fork");
    r.last_seq = 6;
    let head = ev(1, EventKind::TurnStarted);
    let tail = vec![ev(6, EventKind::TurnCompleted)];
    let key = KeyRecord::new("k1", "session.fork", "{}", serde_json::json!({"id": "f"}));
    store
        .fork_session_keyed("src", 5, r, head.clone(), tail.clone(), Some(key))
        .await
        .unwrap();
    let forked = store.events("f", 0, u64::MAX, 100, false).await.unwrap();
    let mut want = vec![head];
    want.extend(source[1..5].iter().cloned());
    want.extend(tail);
    assert_eq!(
        forked, want,
        "seq 1 its own, 2..=5 the source's (the compaction too)"
    );
    assert_eq!(
        store.events("src", 0, u64::MAX, 100, false).await.unwrap(),
        source,
        "the source is untouched"
    );
    assert!(
        store.key("k1", 60).await.unwrap().is_some(),
        "the key is stored with it"
    );
    // The copied events are searchable in the fork, the source's still in the source.
    let hits = store.search_events("f", "alpha", true, 10).await.unwrap();
    assert_eq!(
        hits.iter().map(|h| h.seq).collect::<Vec<_>>(),
        [2],
        "{hits:?}"
    );
    assert_eq!(
        store
            .search_events("src", "alpha", true, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // What a fork at 3 settles: the turn started at 3, as the log stood then.
    let turn = store.turn_at("src", 3).await.unwrap();
    assert_eq!(turn.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
    let last = store.last_turn("src").await.unwrap();
    assert_eq!(last.iter().map(|e| e.seq).collect::<Vec<_>>(), [6]);
}

#[tokio::test]
async fn a_fork_stores_nothing_when_its_name_is_taken_or_its_source_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    forkable(&store).await;
    let head = ev(1, EventKind::TurnStarted);
    let err = store
        .fork_session_keyed("src", 3, row("f", "src"), head.clone(), vec![], None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NameTaken(_)), "{err}");
    let err = store
        .fork_session_keyed("gone", 3, row("f", "fork"), head, vec![], None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SessionGone(_)), "{err}");
    let names: Vec<String> = store
        .sessions()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["src"]);
    assert!(
        store
            .events("f", 0, u64::MAX, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
}

fn new_rule(
    scope: tether_shared::rules::RuleScope,
    session: Option<&str>,
    project: Option<&str>,
    prefix: Option<&str>,
) -> crate::store::NewRule {
    crate::store::NewRule {
        scope,
        session_id: session.map(str::to_string),
        project: project.map(str::to_string),
        tool: "shell".into(),
        prefix: prefix.map(str::to_string),
        created_at: "2026-01-01T00:00:00Z".into(),
    }
}

#[tokio::test]
async fn rules_apply_to_their_session_or_project_survive_a_reopen_and_go_with_the_session() {
    use tether_shared::rules::RuleScope::{Project, Session};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        for (id, name) in [("a", "one"), ("b", "two")] {
            store
                .create_session_keyed(row(id, name), vec![], None, None)
                .await
                .unwrap();
        }
        let ls = store
            .add_rule(new_rule(Session, Some("a"), None, Some("ls")))
            .await
            .unwrap();
        assert_eq!(ls.session.as_deref(), Some("a"));
        assert_eq!(ls.prefix.as_deref(), Some("ls"));
        store
            .add_rule(new_rule(Project, None, Some("/p"), None))
            .await
            .unwrap();
        store
            .add_rule(new_rule(Session, Some("b"), None, Some("cat")))
            .await
            .unwrap();
    }
    // A fresh open (what a restart or kill -9 leaves) reads them back.
    let store = SqliteStore::open(&path).unwrap();
    let of = |rules: Vec<tether_shared::rules::ApprovalRule>| -> Vec<u64> {
        rules.into_iter().map(|r| r.id).collect()
    };
    assert_eq!(of(store.rules("a", "/p").await.unwrap()), [1, 2]);
    assert_eq!(of(store.rules("a", "/q").await.unwrap()), [1]);
    assert_eq!(of(store.rules("b", "/p").await.unwrap()), [2, 3]);
    assert_eq!(of(store.rules("c", "/p").await.unwrap()), [2]);
    // Removing: only a rule that applies there.
    assert_eq!(store.remove_rule(3, "a", "/p").await.unwrap(), None);
    assert_eq!(store.remove_rule(2, "a", "/q").await.unwrap(), None);
    let removed = store.remove_rule(2, "a", "/p").await.unwrap().unwrap();
    assert_eq!(removed.scope, Project);
    assert_eq!(removed.project.as_deref(), Some("/p"));
    assert_eq!(of(store.rules("b", "/p").await.unwrap()), [3]);
    // An id is never given again.
    let next = store
        .add_rule(new_rule(Project, None, Some("/p"), None))
        .await
        .unwrap();
    assert_eq!(next.id, 4);
    // The same rule again is the rule already stored.
    let mut again = new_rule(Project, None, Some("/p"), None);
    again.created_at = "2027-01-01T00:00:00Z".into();
    let again = store.add_rule(again).await.unwrap();
    assert_eq!(again, next);
    // Deleting a session deletes its session rules, not its project's.
    store.delete_session_keyed("b", None).await.unwrap();
    assert_eq!(of(store.rules("b", "/p").await.unwrap()), [4]);
}

mod rows;
