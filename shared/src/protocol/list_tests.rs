//! The session-list deltas of issue 13: `sessions.subscribe` with `deltas`, and
//! `sessions.changed`. Snapshots of their JSON, and the old params still read
//! as a subscription to whole lists.

use serde_json::{Value, json};

use super::*;
use crate::event::SessionState;

fn info(id: &str, name: &str) -> SessionInfo {
    SessionInfo {
        id: id.into(),
        name: name.into(),
        state: SessionState::Running,
        model: "openai/gpt-4.1-mini".into(),
        cwd: "/home/me/proj".into(),
        created_at: "2026-11-30T09:12:00.000Z".into(),
        updated_at: "2026-11-30T09:14:09.004Z".into(),
        pending_approvals: vec![],
        pending_inputs: vec![],
        worktree: None,
        node: None,
        portable: false,
        queued_inputs: 0,
        attached_clients: 1,
        last_seq: 12,
        usage: Default::default(),
        instructions: None,
        last_error: None,
        context_tokens: 0,
        context_window: 0,
        budget: Default::default(),
        cost_usd: 0.0,
        cost_basis: Default::default(),
        waiting_since: None,
    }
}

fn pretty(msg: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(msg).unwrap()
}

#[test]
fn a_delta_subscription_and_a_change_have_snapshots() {
    let req = method::SessionsSubscribe::request(7, &SubscribeParams { deltas: true }).unwrap();
    insta::assert_snapshot!("sessions_subscribe_deltas__params", pretty(&req));
    let n = method::SessionsChanged::notification(&SessionsChangedParams {
        sessions: vec![info("s-f77573dadff7", "fix-tests")],
        removed: vec!["s-2d4b7d80418b".into()],
    })
    .unwrap();
    insta::assert_snapshot!("sessions_changed", pretty(&n));
}

#[test]
fn old_subscribe_params_still_mean_whole_lists() {
    for v in [
        json!({}),
        Value::Null,
        json!([1, 2]),
        json!(3),
        json!({"deltas": false}),
        json!({"deltas": "yes"}),
        json!({"key": "k"}),
    ] {
        assert_eq!(
            method::SessionsSubscribe::params(v.clone()).unwrap(),
            SubscribeParams { deltas: false },
            "{v}"
        );
    }
    assert!(
        method::SessionsSubscribe::params(json!({"deltas": true}))
            .unwrap()
            .deltas
    );
    // The default is sent as `{}`, the params every older daemon ignored.
    assert_eq!(
        serde_json::to_value(SubscribeParams::default()).unwrap(),
        json!({})
    );
}

#[test]
fn a_change_round_trips_and_reads_with_members_missing() {
    let c = SessionsChangedParams {
        sessions: vec![info("s-1", "a")],
        removed: vec!["s-2".into()],
    };
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(
        serde_json::from_value::<SessionsChangedParams>(v).unwrap(),
        c
    );
    let only_removed: SessionsChangedParams =
        serde_json::from_value(json!({"removed": ["s-2"]})).unwrap();
    assert!(only_removed.sessions.is_empty());
    assert_eq!(only_removed.removed, ["s-2"]);
}

#[test]
fn a_list_of_rows_is_asked_for_with_fields_and_has_a_snapshot() {
    let p = ListParams {
        fields: Some(vec![
            "name".into(),
            "state".into(),
            "nonsense".into(),
            "worktree".into(),
        ]),
        rows: true,
        table: false,
    };
    let req = method::SessionList::request(3, &p).unwrap();
    insta::assert_snapshot!("session_list_rows__params", pretty(&req));
    assert_eq!(method::SessionList::params(req.params.clone()).unwrap(), p);
    // Without `rows` (every client before it), nothing of it is sent.
    let objects = ListParams {
        fields: Some(vec!["name".into()]),
        rows: false,
        table: false,
    };
    assert_eq!(
        serde_json::to_value(&objects).unwrap(),
        json!({"fields": ["name"]})
    );
    for v in [json!({"rows": "yes"}), json!({"rows": 1}), json!({})] {
        assert!(!method::SessionList::params(v).unwrap().rows);
    }
}

#[test]
fn a_row_has_the_named_fields_in_the_order_named_and_null_for_unknown_names() {
    let mut s = info("s-1", "a\"b");
    s.pending_approvals = vec!["c1".into()];
    let names = [
        "worktree",
        "state",
        "nonsense",
        "name",
        "pending_approvals",
        "instructions",
    ];
    let p = ListParams {
        fields: Some(names.map(String::from).to_vec()),
        rows: true,
        table: false,
    };
    let shape = ListShape::new(&p);
    assert_eq!(
        serde_json::to_value(ListItem(&s, &shape)).unwrap(),
        json!([null, "running", null, "a\"b", ["c1"], null])
    );
    // Each value is the object form's, field by field.
    let object = serde_json::to_value(&s).unwrap();
    for (i, n) in names.iter().enumerate() {
        let row = serde_json::to_value(ListItem(&s, &shape)).unwrap();
        assert_eq!(
            row[i],
            object.get(*n).cloned().unwrap_or(Value::Null),
            "{n}"
        );
    }
    // Without `rows`, or without `fields`, objects as before.
    for p in [
        ListParams {
            fields: Some(names.map(String::from).to_vec()),
            rows: false,
            table: false,
        },
        ListParams {
            fields: None,
            rows: true,
            table: false,
        },
    ] {
        let shape = ListShape::new(&p);
        let mask = FieldMask::new(p.fields.as_deref());
        assert_eq!(
            serde_json::to_string(&ListItem(&s, &shape)).unwrap(),
            serde_json::to_string(&PartialInfo(&s, mask)).unwrap()
        );
    }
}

#[test]
fn a_row_of_every_field_has_each_field_s_value() {
    // Every field set to something other than its default, so a field the
    // row form forgets (written as null) fails here.
    let mut s = info("s-1", "all");
    s.pending_approvals = vec!["c1".into()];
    s.pending_inputs = vec!["q1".into()];
    s.instructions = Some("be brief".into());
    s.last_error = Some("boom".into());
    s.waiting_since = Some("2026-11-30T09:15:00.000Z".into());
    s.node = Some("build-2".into());
    s.portable = true;
    s.worktree = Some(WorktreeInfo {
        path: "/r/.tether/worktrees/all".into(),
        branch: "tether/all".into(),
        repo: "/r".into(),
        base_commit: "abc".into(),
    });
    let p = ListParams {
        fields: Some(SESSION_INFO_FIELDS.map(String::from).to_vec()),
        rows: true,
        table: false,
    };
    let row = serde_json::to_value(ListItem(&s, &ListShape::new(&p))).unwrap();
    let object = serde_json::to_value(&s).unwrap();
    for (i, n) in SESSION_INFO_FIELDS.iter().enumerate() {
        let want = object.get(*n).cloned().unwrap_or(Value::Null);
        assert_eq!(row[i], want, "field {n}");
    }
}

#[test]
fn ls_reads_the_daemon_s_table_or_makes_it_of_an_older_daemon_s_rows() {
    let mut a = info("s-1", "alpha");
    // Escaped in JSON: read into text of its own, not borrowed.
    a.cwd = "/w/\"quoted\" \\ dir\t".into();
    a.context_tokens = 51_234;
    a.context_window = 200_000;
    let b = info("s-2", "ünïcødé-名前");
    let list = vec![a, b];
    let want = list_table(&list.iter().map(ListRow::from).collect::<Vec<_>>());
    assert!(want.contains("/w/\"quoted\" \\ dir"), "{want}");
    assert!(want.contains("26%"), "{want}");
    // A daemon with `table` sends the table made, a string per line.
    let made = serde_json::to_string(&LsTable::of(&want)).unwrap();
    assert!(made.starts_with("{\"lines\":[\"NAME"), "{made}");
    let reply: LsReply = serde_json::from_str(&made).unwrap();
    let LsReply::Table(lines) = &reply else {
        panic!("{reply:?}")
    };
    assert!(
        matches!(lines[2], std::borrow::Cow::Borrowed(_)),
        "a line with nothing escaped is borrowed from the reply"
    );
    assert!(matches!(lines[1], std::borrow::Cow::Owned(_)), "{lines:?}");
    assert_eq!(reply.into_table(), want);
    let none = list_table(&[]);
    let made = serde_json::to_string(&LsTable::of(&none)).unwrap();
    let reply: LsReply = serde_json::from_str(&made).unwrap();
    assert_eq!(reply.into_table(), none, "no sessions, said so");
    // One before it ignores `table` and sends rows, made a table here.
    let mut p = ListParams::ls();
    p.table = false;
    let shape = ListShape::new(&p);
    let items: Vec<ListItem> = list.iter().map(|s| ListItem(s, &shape)).collect();
    let rows = serde_json::to_string(&items).unwrap();
    let reply: LsReply = serde_json::from_str(&rows).unwrap();
    assert!(matches!(reply, LsReply::Rows(_)), "{reply:?}");
    assert_eq!(reply.into_table(), want);
    // And one before `rows`, whole objects.
    let objects = serde_json::to_string(&list).unwrap();
    let reply: LsReply = serde_json::from_str(&objects).unwrap();
    assert_eq!(reply.into_table(), want);
    // `table` reads back as it was sent, and makes the table shape.
    let sent: ListParams =
        serde_json::from_value(serde_json::to_value(ListParams::ls()).unwrap()).unwrap();
    assert_eq!(sent, ListParams::ls());
    assert_eq!(ListShape::new(&sent), ListShape::Table);
}
