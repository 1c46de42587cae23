//! The contract's search cases: what a search of a session's log finds, the
//! same in every store.

use tether_shared::EventKind;

use super::fixtures::{Opener, ev, result, row, user};
use crate::store::Batch;
use crate::store::types::SearchHit;

fn seqs(hits: Vec<SearchHit>) -> Vec<u64> {
    hits.iter().map(|h| h.seq).collect()
}

pub(super) async fn search_finds_a_sessions_own_events_with_their_seq_and_an_excerpt(open: Opener) {
    let store = open().await;
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
        "both words, not the history tool's: {hits:?}"
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
    assert!(hit.excerpt.len() < 400, "an excerpt: {}", hit.excerpt);
    // Any word: both of the session's events, never b's.
    let mut any = seqs(
        store
            .search_events("a", "zebra zebras", false, 10)
            .await
            .unwrap(),
    );
    any.sort();
    assert_eq!(any, [1, 2]);
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
    assert_eq!(
        store.event("a", 2).await.unwrap().unwrap(),
        result(2, "shell", &long)
    );
    assert!(store.event("a", 99).await.unwrap().is_none());
    assert!(store.event("b", 2).await.unwrap().is_none());
    // Deleting a session forgets its words, and only its own.
    store.delete_session_keyed("a", None).await.unwrap();
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

pub(super) async fn a_query_with_quotes_and_operators_is_text_never_a_syntax_error(open: Opener) {
    let store = open().await;
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
        "a & b | !c <-> d:*",
        "it's \\ back",
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

pub(super) async fn a_person_s_search_is_newest_first_every_word_and_the_last_word_a_prefix(
    open: Opener,
) {
    let store = open().await;
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

pub(super) async fn an_append_that_rolls_back_leaves_nothing_in_the_index(open: Opener) {
    let store = open().await;
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
    assert_eq!(
        seqs(store.search_newest("a", "words", 10).await.unwrap()),
        [2]
    );
}

pub(super) async fn words_match_without_case_or_diacritics(open: Opener) {
    let store = open().await;
    store
        .create_session_keyed(
            row("a", "one"),
            vec![
                user(1, "Un Café CRÈME, s'il vous plaît"),
                user(2, "snake_case_name and kebab-case"),
            ],
            None,
            None,
        )
        .await
        .unwrap();
    for q in ["cafe", "CAFÉ", "creme plait", "Crè"] {
        assert_eq!(
            seqs(store.search_newest("a", q, 10).await.unwrap()),
            [1],
            "{q:?}"
        );
    }
    for q in ["snake_case_name", "case", "kebab-case"] {
        assert_eq!(
            seqs(store.search_events("a", q, true, 10).await.unwrap()),
            [2],
            "{q:?}"
        );
    }
    assert!(
        store
            .search_events("a", "name_snake", true, 10)
            .await
            .unwrap()
            .is_empty(),
        "a word's pieces in their order"
    );
}
