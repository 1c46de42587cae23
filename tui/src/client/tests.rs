//! The client over a test pipe: a fake daemon on the other end of a
//! `tokio::io::duplex`, so the client is checked without a socket or a daemon.

use serde_json::{Value, json};
use tether_shared::protocol::{
    Empty, LiveParams, Method, NotificationMethod, ServerMessage, SessionRef, method,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

use super::{Client, ClientError};

/// The daemon's end of the pipe: reads requests, writes what the test says.
struct Peer {
    lines: Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
    writer: tokio::io::WriteHalf<DuplexStream>,
}

impl Peer {
    async fn request(&mut self) -> Value {
        let line = self.lines.next_line().await.unwrap().expect("a request");
        serde_json::from_str(&line).unwrap()
    }

    async fn send(&mut self, v: Value) {
        self.send_raw(format!("{v}\n").as_bytes()).await;
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    async fn answer(&mut self, id: &Value, result: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}))
            .await;
    }

    /// Answers the hello, checking what the client says in it.
    async fn hello(&mut self) {
        let r = self.request().await;
        assert_eq!(r["method"], method::HELLO, "{r}");
        assert_eq!(r["params"]["protocol_version"], 1, "{r}");
        assert_eq!(r["params"]["client"], "tether-cli", "{r}");
        self.answer(
            &r["id"],
            json!({"protocol_version": 1, "daemon_version": "0.0.0", "pid": 7}),
        )
        .await;
    }
}

/// A client and its fake daemon, past the handshake.
async fn pair() -> (Client<DuplexStream>, Peer) {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (r, w) = tokio::io::split(theirs);
    let mut peer = Peer {
        lines: BufReader::new(r).lines(),
        writer: w,
    };
    let (client, ()) = tokio::join!(Client::handshake(ours), peer.hello());
    (client.unwrap(), peer)
}

fn live(text: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": method::SESSION_LIVE,
        "params": {"session_id": "s1", "kind": "assistant_delta", "text": text}})
}

/// The text of a `session.live` delta, decoded by its typed definition.
fn delta(n: &tether_shared::protocol::Notification) -> String {
    match method::SessionLive::params_of(n) {
        Some(Ok(LiveParams {
            live: tether_shared::Live::AssistantDelta { text },
            ..
        })) => text,
        other => panic!("expected a delta, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_gets_its_answer_and_notifications_meanwhile_are_kept() {
    let (mut c, mut peer) = pair().await;
    let daemon = async {
        let r = peer.request().await;
        assert_eq!(r["method"], method::DAEMON_STOP, "{r}");
        assert_eq!(r["params"], json!({}), "{r}");
        peer.send(live("one")).await;
        // An answer to some other request is not this one's.
        peer.answer(&json!(999), json!("not this")).await;
        peer.answer(&r["id"], json!({"stopping": true})).await;
        peer.send(live("two")).await;
        peer
    };
    let (got, mut peer) = tokio::join!(c.call::<method::DaemonStop>(&Empty {}), daemon);
    assert!(got.unwrap().stopping);
    let first = c.next_notification().await.unwrap().unwrap();
    assert_eq!(delta(&first), "one");
    assert!(method::SessionClosed::params_of(&first).is_none());
    let second = c.next_notification().await.unwrap().unwrap();
    assert_eq!(delta(&second), "two");
    // The daemon hangs up: no more notifications, and no error.
    peer.writer.shutdown().await.unwrap();
    drop(peer);
    assert!(c.next_notification().await.unwrap().is_none());
}

#[tokio::test]
async fn an_error_answer_is_the_daemons_error() {
    let (mut c, mut peer) = pair().await;
    let daemon = async {
        let r = peer.request().await;
        peer.send(json!({"jsonrpc": "2.0", "id": r["id"], "error": {"code": -32001, "message": "no session named x"}}))
            .await;
    };
    let x = SessionRef {
        session: "x".into(),
    };
    let (got, ()) = tokio::join!(c.call::<method::SessionGet>(&x), daemon);
    match got {
        Err(ClientError::Rpc(e)) => {
            assert_eq!((e.code, e.message.as_str()), (-32001, "no session named x"));
        }
        other => panic!("expected the daemon's error, got {other:?}"),
    }
}

#[tokio::test]
async fn sent_requests_get_ids_and_their_answers_come_as_messages() {
    let (mut c, mut peer) = pair().await;
    let a = c
        .send::<method::SessionList>(&Default::default())
        .await
        .unwrap();
    let b = c
        .send::<method::ToolsList>(&Default::default())
        .await
        .unwrap();
    assert_ne!(a, b);
    let (ra, rb) = (peer.request().await, peer.request().await);
    assert_eq!((ra["id"].clone(), rb["id"].clone()), (json!(a), json!(b)));
    assert_eq!(rb["method"], method::TOOLS_LIST);
    peer.answer(&rb["id"], json!([])).await;
    match c.next_message().await.unwrap() {
        Some(ServerMessage::Response(r)) => {
            assert_eq!(r.id, json!(b));
            assert!(method::ToolsList::result(r.result).unwrap().is_empty());
        }
        other => panic!("expected the answer to {b}, got {other:?}"),
    }
    drop(peer);
    assert!(c.next_message().await.unwrap().is_none());
}

#[tokio::test]
async fn what_the_client_cannot_read_is_a_protocol_error() {
    let (mut c, mut peer) = pair().await;
    peer.send_raw(b"this is not json\n").await;
    match c.next_message().await {
        Err(ClientError::Protocol(_)) => {}
        other => panic!("expected a protocol error, got {other:?}"),
    }
    // A wrong result type is one too.
    let daemon = async {
        let r = peer.request().await;
        peer.answer(&r["id"], json!("a string")).await;
    };
    let params = Default::default();
    let (got, ()) = tokio::join!(c.call::<method::SessionList>(&params), daemon);
    assert!(matches!(got, Err(ClientError::Protocol(_))), "{got:?}");
}

#[tokio::test]
async fn a_daemon_that_hangs_up_during_the_hello_is_a_lost_connection() {
    let (ours, theirs) = tokio::io::duplex(1024);
    drop(theirs);
    match Client::handshake(ours).await {
        Err(ClientError::Io(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::BrokenPipe
            ),
            "{e:?}"
        ),
        Err(e) => panic!("expected a lost connection, got {e:?}"),
        Ok(_) => panic!("expected a lost connection"),
    }
}

#[tokio::test]
async fn a_keyed_call_carries_its_key_beside_the_params() {
    let (mut c, mut peer) = pair().await;
    let daemon = async {
        let r = peer.request().await;
        assert_eq!(r["method"], method::SESSION_KILL, "{r}");
        assert_eq!(r["params"], json!({"session": "x", "key": "k1"}), "{r}");
        peer.answer(&r["id"], json!({"id": "s1"})).await;
    };
    let x = SessionRef {
        session: "x".into(),
    };
    let (got, ()) = tokio::join!(c.call_keyed::<method::SessionKill>(&x, "k1"), daemon);
    assert_eq!(got.unwrap().id, "s1");
}

/// The handshake against a daemon that answers `hello` with `answer` (its id filled in).
async fn hello_answered_with(answer: Value) -> Result<Client<DuplexStream>, ClientError> {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (r, w) = tokio::io::split(theirs);
    let mut peer = Peer {
        lines: BufReader::new(r).lines(),
        writer: w,
    };
    let daemon = async {
        let r = peer.request().await;
        let mut a = answer.clone();
        a["id"] = r["id"].clone();
        peer.send(a).await;
    };
    let (got, ()) = tokio::join!(Client::handshake(ours), daemon);
    got
}

#[tokio::test]
async fn the_hello_result_is_kept_with_the_daemons_home() {
    let c = hello_answered_with(json!({"jsonrpc": "2.0", "result":
        {"protocol_version": 1, "daemon_version": "0.1.0", "pid": 9, "home": "/home/ana"}}))
    .await
    .unwrap();
    assert_eq!(c.hello().home.as_deref(), Some("/home/ana"));
    assert_eq!(c.hello().pid, 9);
}

#[tokio::test]
async fn a_daemon_of_another_version_is_a_version_error_naming_both() {
    // A newer daemon that answers with its own version (and another shape).
    let newer = hello_answered_with(
        json!({"jsonrpc": "2.0", "result": {"protocol_version": 2, "daemon_version": "9.9.9"}}),
    )
    .await;
    match newer {
        Err(ClientError::Version {
            ours: 1,
            theirs: Some(2),
            daemon_version: Some(v),
        }) => assert_eq!(v, "9.9.9"),
        other => panic!("expected a version error, got {:?}", other.err()),
    }
    // An older or newer daemon that refuses, with its version in `data`, or
    // (daemons before `data`) only in its message.
    let refused = hello_answered_with(json!({"jsonrpc": "2.0", "error": {"code": -32006,
        "message": "protocol version mismatch: the client speaks 1, the daemon speaks 0; restart",
        "data": {"protocol_version": 0, "daemon_version": "0.0.1"}}}))
    .await;
    assert!(matches!(
        refused,
        Err(ClientError::Version {
            theirs: Some(0),
            ..
        })
    ));
    let said = hello_answered_with(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32006,
        "message": "protocol version mismatch: the client speaks 1, the daemon speaks 3; restart"}}))
    .await;
    let e = said.err().unwrap();
    assert!(matches!(
        e,
        ClientError::Version {
            theirs: Some(3),
            daemon_version: None,
            ..
        }
    ));
    let text = e.to_string();
    assert!(
        text.contains("speaks protocol 1") && text.contains("speaks protocol 3"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}
