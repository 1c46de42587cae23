//! The contract's fork cases: a fork copies its source's log verbatim up to a
//! seq, in one transaction, or stores nothing.

use tether_shared::{Delivery, Event, EventKind};

use super::fixtures::{Opener, ev, row, sessions};
use crate::store::{KeyRecord, Store, StoreError};

/// A source log with a compaction in it: seq 1 created, then a user message, a
/// turn, a compaction and the start of another turn.
async fn forkable(store: &dyn Store) -> Vec<Event> {
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

pub(super) async fn a_fork_copies_the_source_events_verbatim_up_to_its_seq(open: Opener) {
    let store = open().await;
    let source = forkable(&*store).await;
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
        "seq 1 its own, 2..=5 the source's, then its tail"
    );
    assert_eq!(
        store.events("src", 0, u64::MAX, 100, false).await.unwrap(),
        source,
        "the source is untouched"
    );
    assert!(store.key("k1", 60).await.unwrap().is_some());
    // The copied events are searchable in the fork, the source's still in the source.
    let hits = store.search_events("f", "alpha", true, 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.seq).collect::<Vec<_>>(), [2]);
    assert_eq!(
        store
            .search_events("src", "alpha", true, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // Its list columns come from its whole log: the turn started at 3 ended at 6.
    let index = store.index().await.unwrap();
    let f = index.iter().find(|e| e.row.id == "f").unwrap();
    assert!(!f.turn_open, "{f:?}");
    let src = index.iter().find(|e| e.row.id == "src").unwrap();
    assert!(src.turn_open, "{src:?}");
    let turn = store.turn_at("src", 3).await.unwrap();
    assert_eq!(turn.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
    let last = store.last_turn("src").await.unwrap();
    assert_eq!(last.iter().map(|e| e.seq).collect::<Vec<_>>(), [6]);
}

pub(super) async fn a_fork_stores_nothing_when_its_name_is_taken_or_its_source_is_gone(
    open: Opener,
) {
    let store = open().await;
    forkable(&*store).await;
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
    let names: Vec<String> = sessions(&*store)
        .await
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
