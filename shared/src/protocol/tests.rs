//! Round trips and shape checks of the wire types.

use super::*;
use crate::event::{Delivery, Event, EventKind, Live};
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(v: T) {
    let s = serde_json::to_string(&v).unwrap();
    let back: T = serde_json::from_str(&s).unwrap();
    assert_eq!(back, v, "round trip of {s}");
}

#[test]
fn messages_round_trip() {
    round_trip(
        Request::new(
            1,
            method::HELLO,
            HelloParams {
                protocol_version: 1,
                client: "t".into(),
            },
        )
        .unwrap(),
    );
    round_trip(Response::ok(Value::from(1), serde_json::json!({"a": 1})));
    round_trip(Response::err(
        Value::Null,
        RpcError::new(code::PARSE_ERROR, "bad"),
    ));
    round_trip(
        Notification::new(
            method::SESSION_LIVE,
            LiveParams {
                session_id: "s".into(),
                live: Live::AssistantDelta { text: "hi".into() },
            },
        )
        .unwrap(),
    );
    round_trip(CreateParams {
        cwd: "/".into(),
        ..Default::default()
    });
    round_trip(DecideParams {
        session: "a".into(),
        all: true,
        ..Default::default()
    });
    round_trip(AttachParams {
        session: "a".into(),
        from_seq: Some(3),
        ..Default::default()
    });
    round_trip(LogsParams {
        session: "a".into(),
        since: Some(1),
        ..Default::default()
    });
    round_trip(SendParams {
        session: "a".into(),
        text: "x".into(),
        delivery: Delivery::Steer,
    });
    round_trip(WaitParams {
        session: "a".into(),
        timeout_s: Some(1.5),
    });
    round_trip(WaitAnyParams::default());
    round_trip(WaitAnyResult {
        waiting: None,
        timed_out: true,
    });
}

#[test]
fn a_key_is_added_to_the_params_of_mutating_methods() {
    let v = with_key(
        SessionRef {
            session: "a".into(),
        },
        "k1",
    )
    .unwrap();
    assert_eq!(v, serde_json::json!({"session": "a", "key": "k1"}));
    // The key is additive: the typed params still read.
    let back: SessionRef = serde_json::from_value(v).unwrap();
    assert_eq!(back.session, "a");
    assert!(is_mutating(method::SESSION_SEND) && is_mutating(method::SESSION_KILL));
    assert!(!is_mutating(method::SESSION_LOGS) && !is_mutating(method::SESSION_WAIT));
}

#[test]
fn server_message_distinguishes_response_and_notification() {
    let r: ServerMessage = serde_json::from_str(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#).unwrap();
    assert!(matches!(r, ServerMessage::Response(_)));
    let n: ServerMessage =
        serde_json::from_str(r#"{"jsonrpc":"2.0","method":"session.live","params":{}}"#).unwrap();
    assert!(matches!(n, ServerMessage::Notification(_)));
}

#[test]
fn live_event_notification_is_flat() {
    let p = LiveParams {
        session_id: "s1".into(),
        live: Live::Event {
            event: Event {
                seq: 4,
                ts: "t".into(),
                kind: EventKind::TurnCompleted,
            },
        },
    };
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["kind"], "event");
    assert_eq!(v["event"]["type"], "turn_completed");
}

#[test]
fn an_attach_reply_of_an_older_daemon_reads_with_nothing_queued() {
    let old = serde_json::json!({
        "info": serde_json::to_value(SessionInfo {
            id: "s-1".into(),
            name: "a".into(),
            state: crate::event::SessionState::Idle,
            model: "m/x".into(),
            cwd: "/".into(),
            created_at: "t".into(),
            updated_at: "t".into(),
            pending_approvals: vec![],
            queued_inputs: 0,
            attached_clients: 0,
            last_seq: 0,
            usage: Default::default(),
            instructions: None,
            last_error: None,
            context_tokens: 0,
            context_window: 0,
            budget: Default::default(),
            cost_usd: 0.0,
            cost_basis: Default::default(),
            waiting_since: None,
            pending_inputs: Vec::new(),
            worktree: None,
            node: None,
            portable: false,
        }).unwrap(),
        "events": [],
        "truncated": false,
        "last_seq": 0,
        "partial": {"assistant_text": ""},
    });
    let r: AttachResult = serde_json::from_value(old).unwrap();
    assert!(r.queued.is_empty());
    // And a client that does not know `queued` live messages reads them as unknown.
    let q = serde_json::json!({"kind": "queued", "inputs": [{"input_id": 3, "text": "hi", "delivery": "queue"}]});
    let live: Live = serde_json::from_value(q).unwrap();
    assert_eq!(
        live,
        Live::Queued {
            inputs: vec![QueuedInput {
                input_id: 3,
                text: "hi".into(),
                delivery: Delivery::Queue
            }]
        }
    );
}
