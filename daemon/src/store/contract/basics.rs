//! The contract's basic cases: sessions, appends, inputs, request keys, rules,
//! process groups and the start-up index.

use tether_shared::rules::RuleScope::{Project, Session};
use tether_shared::{Delivery, EventKind, SessionState, Usage};

use super::fixtures::{Opener, ev, row, sessions, user};
use crate::os::procs::ProcessIdentity;
use crate::store::{Batch, KeyRecord, NewRule, StoreError};

pub(super) async fn create_append_read_and_delete(open: Opener) {
    let store = open().await;
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
    let rows = sessions(&*store).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].last_seq, 5);
    assert_eq!(rows[0].updated_at, "t5");
    let u = &rows[0].usage;
    assert_eq!(
        (
            u.prompt_tokens,
            u.completion_tokens,
            u.cached_tokens,
            u.cache_write_tokens,
            u.reasoning_tokens
        ),
        (3, 4, 2, 1, 1)
    );
    assert_eq!(rows[0].cost_usd, 0.25);
    assert!(rows[0].budget.is_none());
    let budget = tether_shared::event::Budget {
        max_tokens: Some(10),
        max_cost_usd: Some(1.5),
    };
    store.set_budget("a", budget).await.unwrap();
    assert_eq!(sessions(&*store).await[0].budget, budget);
    assert_eq!(store.session("a").await.unwrap().unwrap().budget, budget);
    assert!(store.session("nope").await.unwrap().is_none());
    assert!(store.set_budget("nope", budget).await.is_err());
    let newest = store.events("a", 0, u64::MAX, 2, true).await.unwrap();
    assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
    let oldest = store.events("a", 1, 5, 10, false).await.unwrap();
    assert_eq!(
        oldest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert_eq!(store.last_turn("a").await.unwrap().len(), 5);
    assert_eq!(
        store.last_seq_of("a", "turn_completed").await.unwrap(),
        Some(5)
    );
    assert_eq!(store.last_seq_of("a", "state").await.unwrap(), None);
    store.delete_session_keyed("a", None).await.unwrap();
    assert!(sessions(&*store).await.is_empty());
    assert!(
        store
            .events("a", 0, u64::MAX, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
    // Durable: a fresh open finds what the first one stored.
    store
        .create_session_keyed(row("c", "kept"), vec![user(1, "hi")], None, None)
        .await
        .unwrap();
    drop(store);
    let store = open().await;
    assert_eq!(store.event("c", 1).await.unwrap().unwrap(), user(1, "hi"));
}

pub(super) async fn a_failing_op_does_not_spoil_its_batch_neighbours(open: Opener) {
    let store = open().await;
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
    assert_eq!(sessions(&*store).await.len(), 2);
    assert!(
        store
            .events("a", 0, u64::MAX, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(super) async fn a_request_key_is_stored_with_its_input_and_pruned_when_old(open: Opener) {
    let store = open().await;
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
        "the input's id is in the result"
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
    // A create with a first input gives the input's id.
    let first = store
        .create_session_keyed(
            row("c", "three"),
            vec![],
            Some(("go".into(), Delivery::Queue)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(first, Some(store.inputs("c").await.unwrap()[0].id));
    // A deletion keeps its key.
    let kill = KeyRecord::new("k3", "session.kill", "{}", serde_json::json!({}));
    store.delete_session_keyed("c", Some(kill)).await.unwrap();
    drop(store);
    // Durable: a fresh open finds the keys.
    let store = open().await;
    assert!(store.key("k1", 3600).await.unwrap().is_some());
    assert!(store.key("k3", 3600).await.unwrap().is_some());
}

pub(super) async fn concurrent_appends_all_commit_in_order(open: Opener) {
    let store = open().await;
    for i in 0..8 {
        store
            .create_session_keyed(row(&format!("s{i}"), &format!("n{i}")), vec![], None, None)
            .await
            .unwrap();
    }
    // Eight sessions appending at once (what group commit is for); each
    // session's own appends in order.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = format!("s{i}");
                for seq in 1..=20 {
                    store
                        .append(
                            &id,
                            Batch {
                                events: vec![user(seq, &format!("m{seq}"))],
                                ..Default::default()
                            },
                        )
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for i in 0..8 {
        let id = format!("s{i}");
        let seqs: Vec<u64> = store
            .events(&id, 0, u64::MAX, 100, false)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
        assert_eq!(store.session(&id).await.unwrap().unwrap().last_seq, 20);
    }
}

fn new_rule(
    scope: tether_shared::rules::RuleScope,
    session: Option<&str>,
    project: Option<&str>,
    prefix: Option<&str>,
) -> NewRule {
    NewRule {
        scope,
        session_id: session.map(str::to_string),
        project: project.map(str::to_string),
        tool: "shell".into(),
        prefix: prefix.map(str::to_string),
        created_at: "2026-01-01T00:00:00Z".into(),
    }
}

pub(super) async fn rules_apply_to_their_session_or_project_and_go_with_the_session(open: Opener) {
    let ids = {
        let store = open().await;
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
        let p = store
            .add_rule(new_rule(Project, None, Some("/p"), None))
            .await
            .unwrap();
        let cat = store
            .add_rule(new_rule(Session, Some("b"), None, Some("cat")))
            .await
            .unwrap();
        assert!(ls.id < p.id && p.id < cat.id, "ids increase");
        [ls.id, p.id, cat.id]
    };
    let [ls, p, cat] = ids;
    // A fresh open (what a restart or kill -9 leaves) reads them back.
    let store = open().await;
    let of = |rules: Vec<tether_shared::rules::ApprovalRule>| -> Vec<u64> {
        rules.into_iter().map(|r| r.id).collect()
    };
    assert_eq!(of(store.rules("a", "/p").await.unwrap()), [ls, p]);
    assert_eq!(of(store.rules("a", "/q").await.unwrap()), [ls]);
    assert_eq!(of(store.rules("b", "/p").await.unwrap()), [p, cat]);
    assert_eq!(of(store.rules("c", "/p").await.unwrap()), [p]);
    // Removing: only a rule that applies there.
    assert_eq!(store.remove_rule(cat, "a", "/p").await.unwrap(), None);
    assert_eq!(store.remove_rule(p, "a", "/q").await.unwrap(), None);
    let removed = store.remove_rule(p, "a", "/p").await.unwrap().unwrap();
    assert_eq!(removed.scope, Project);
    assert_eq!(removed.project.as_deref(), Some("/p"));
    assert_eq!(of(store.rules("b", "/p").await.unwrap()), [cat]);
    // An id is never given again.
    let next = store
        .add_rule(new_rule(Project, None, Some("/p"), None))
        .await
        .unwrap();
    assert!(next.id > cat, "{} after {cat}", next.id);
    // The same rule again is the rule already stored.
    let mut again = new_rule(Project, None, Some("/p"), None);
    again.created_at = "2027-01-01T00:00:00Z".into();
    let again = store.add_rule(again).await.unwrap();
    assert_eq!(again, next);
    // Deleting a session deletes its session rules, not its project's.
    store.delete_session_keyed("b", None).await.unwrap();
    assert_eq!(of(store.rules("b", "/p").await.unwrap()), [next.id]);
}

pub(super) async fn a_sessions_own_servers_are_kept_with_it(open: Opener) {
    let store = open().await;
    let servers = vec![tether_shared::protocol::SessionServer {
        name: "fs".into(),
        command: Some("/bin/fs".into()),
        env: [("TOKEN".to_string(), "t".to_string())].into(),
        ..Default::default()
    }];
    let mut with = row("a", "with");
    with.mcp_servers = servers.clone();
    let mut without = row("b", "without");
    without.created_at = "t1".into();
    for r in [with, without] {
        store
            .create_session_keyed(r, vec![], None, None)
            .await
            .unwrap();
    }
    let rows = sessions(&*store).await;
    assert_eq!(rows[0].mcp_servers, servers);
    assert!(rows[1].mcp_servers.is_empty());
}

pub(super) async fn process_groups_are_kept_until_removed(open: Opener) {
    let store = open().await;
    store
        .create_session_keyed(row("a", "one"), vec![], None, None)
        .await
        .unwrap();
    let p = |pid: u32| ProcessIdentity {
        pid,
        start_ticks: 7,
        boot_id: "boot".into(),
    };
    store.add_process("a", "c1", p(10)).await.unwrap();
    store.add_process("a", "c2", p(11)).await.unwrap();
    let mut got = store.processes("a").await.unwrap();
    got.sort_by_key(|(c, _)| c.clone());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "c1");
    assert_eq!(got[0].1.pid, 10);
    assert_eq!(got[0].1.boot_id, "boot");
    assert!(store.index().await.unwrap()[0].processes);
    store.remove_processes("a", Some("c1")).await.unwrap();
    assert_eq!(store.processes("a").await.unwrap().len(), 1);
    store.remove_processes("a", None).await.unwrap();
    assert!(store.processes("a").await.unwrap().is_empty());
    assert!(!store.index().await.unwrap()[0].processes);
}

pub(super) async fn the_index_keeps_what_a_list_shows(open: Opener) {
    let store = open().await;
    let state = |seq, s| ev(seq, EventKind::State { state: s });
    store
        .create_session_keyed(
            row("a", "one"),
            vec![
                ev(1, EventKind::TurnStarted),
                state(2, SessionState::Running),
            ],
            Some(("queued".into(), Delivery::Queue)),
            None,
        )
        .await
        .unwrap();
    let e = store.index().await.unwrap().remove(0);
    assert_eq!(e.state, SessionState::Running);
    assert_eq!(e.state_at.as_deref(), Some("t2"));
    assert!(e.turn_open);
    assert_eq!(e.queued_inputs, 1);
    store
        .append(
            "a",
            Batch {
                events: vec![
                    ev(
                        3,
                        EventKind::TurnFailed {
                            error: "the model said no".into(),
                        },
                    ),
                    state(4, SessionState::Failed),
                ],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let e = store.index().await.unwrap().remove(0);
    assert_eq!(
        (e.state, e.turn_open, e.last_error.as_deref()),
        (SessionState::Failed, false, Some("the model said no"))
    );
    store
        .append(
            "a",
            Batch {
                events: vec![ev(5, EventKind::TurnStarted)],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let e = store.index().await.unwrap().remove(0);
    assert!(e.turn_open);
    assert_eq!(e.last_error, None, "cleared by the new turn");
    assert_eq!(e.state_at.as_deref(), Some("t4"));
}
